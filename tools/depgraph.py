#!/usr/bin/env python3
"""Dependencies between the C files of src/ (and its folders), and the cycles
among them.

A file A depends on a file B when A names a function that B defines and
exports (a call, or a hook or callback taken by address).  The script prints
every edge "A -> B (functions)", then every cycle (a strongly connected
component of more than one file), and exits 1 if there is a cycle, if any
file depends on the library's entry file (src/pg_migrate.c, whose _PG_init
only calls down), or if a file of the ground floor (src/core) depends on a
file outside it.

    python3 tools/depgraph.py [--edges] [SRCDIR]

bash test/run.sh runs it as the test "layout".

Comments, string and character literals are removed before scanning, so a
name mentioned in a comment is not a dependency.  Function definitions are
found in the PostgreSQL layout: the name at the start of a line, its return
type on the line before.
"""
import os
import re
import sys

ENTRY = "pg_migrate.c"
GROUND = "core"


def strip(text):
    """Blank out comments and literals, keeping line structure."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(c + " " * 0 + c)
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


DEF = re.compile(r"^([A-Za-z_]\w*)\s*\(", re.M)
IDENT = re.compile(r"\b([A-Za-z_]\w*)\b")


def definitions(code):
    """(exported, static) function names defined in one stripped file."""
    exported, static = set(), set()
    lines = code.split("\n")
    for m in DEF.finditer(code):
        name = m.group(1)
        # A definition: the parameter list is followed by a body, not ';'.
        rest = code[m.end():]
        depth, k = 1, 0
        while k < len(rest) and depth:
            depth += {"(": 1, ")": -1}.get(rest[k], 0)
            k += 1
        tail = rest[k:].lstrip()
        if not tail.startswith("{"):
            continue
        lineno = code.count("\n", 0, m.start())
        prev = lines[lineno - 1] if lineno > 0 else ""
        if name in ("if", "while", "for", "switch", "return", "sizeof"):
            continue
        (static if re.search(r"\bstatic\b", prev) else exported).add(name)
    return exported, static


def main(argv):
    show_edges = "--edges" in argv
    args = [a for a in argv if not a.startswith("--")]
    top = args[0] if args else os.path.join(os.path.dirname(__file__), "..", "src")
    files = {}
    for root, _, names in os.walk(top):
        for name in names:
            if name.endswith(".c"):
                path = os.path.join(root, name)
                with open(path, encoding="utf-8") as f:
                    files[os.path.relpath(path, top)] = strip(f.read())
    owner = {}
    local = {}
    for path, code in files.items():
        exported, static = definitions(code)
        local[path] = exported | static
        for name in exported:
            owner.setdefault(name, path)
    edges = {}
    for path, code in files.items():
        for name in set(IDENT.findall(code)):
            target = owner.get(name)
            if target and target != path and name not in local[path]:
                edges.setdefault(path, {}).setdefault(target, set()).add(name)

    if show_edges:
        for a in sorted(edges):
            for b in sorted(edges[a]):
                print("%s -> %s (%s)" % (a, b, ", ".join(sorted(edges[a][b]))))

    # Tarjan's strongly connected components.
    index, low, stack, on, sccs = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                sccs.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(files):
        if v not in index:
            visit(v)

    bad = 0
    for comp in sccs:
        bad += 1
        print("cycle: " + " ".join(comp))
        for a in comp:
            for b in sorted(edges.get(a, {})):
                if b in comp:
                    print("    %s -> %s (%s)" % (a, b, ", ".join(sorted(edges[a][b]))))
    callers = sorted(a for a in edges if any(os.path.basename(b) == ENTRY for b in edges[a]))
    for a in callers:
        bad += 1
        print("%s depends on the entry file %s" % (a, ENTRY))
    upward = []
    for a in sorted(edges):
        if a.split(os.sep)[0] != GROUND:
            continue
        for b in sorted(edges[a]):
            if b.split(os.sep)[0] != GROUND:
                upward.append((a, b))
                print("%s (ground floor) depends on %s (%s)"
                      % (a, b, ", ".join(sorted(edges[a][b]))))
    bad += len(upward)
    print("%d files, %d dependencies, %d cycles, %d callers of %s, %d calls out of %s/"
          % (len(files), sum(len(v) for v in edges.values()), len(sccs), len(callers), ENTRY,
             len(upward), GROUND))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
