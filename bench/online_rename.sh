#!/usr/bin/env bash
# What an online RENAME COLUMN and an online ADD COLUMN cost, measured side
# by side in one run on one cluster:
#   1. the mirror trigger alone: single-row UPDATE throughput (pgbench) on a
#      table with a column and its old name, with no trigger and with
#      migrate_online_mirror, writing the new name and the old name, in
#      alternating rounds; ratios to no trigger; and the time of one UPDATE
#      of all 100000 rows, which shows the trigger's own cost per row
#      without the commit of every row around it
#   2. readers after the cut-over: single-row SELECT by the new name (the
#      real column and its index) and by the old name (the copy and the
#      index copy), alternating rounds; ratio
#   3. the whole online RENAME COLUMN of a table of ROWS rows: how long the
#      job runs, the table's size before, while both names exist and after
#      complete and VACUUM; a plain RENAME takes no time and no space
#   4. ADD COLUMN ... NOT NULL DEFAULT clock_timestamp() of ROWS rows, plain
#      against migrate_online: relfilenode changed or not, and the longest
#      statement that held a lock blocking reads and writes (from
#      migrate_ddl_history)
# Not a timed test: it prints figures.
#
#   bash bench/online_rename.sh [--results FILE] [ROWS] [SECONDS] [ROUNDS]
set -euo pipefail
PGM_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$PGM_TOP/test/lib.sh"
pgm_drop_root bench/online_rename.sh "$@"
. "$PGM_TOP/bench/lib.sh"

bench_online_start 1000000 "$@"

psql -Xq -v ON_ERROR_STOP=1 postgres <<SQL
CREATE EXTENSION pg_migrate;
-- 1. the trigger alone
CREATE TABLE w (id int PRIMARY KEY, points int NOT NULL, score int);
INSERT INTO w SELECT g, g, g FROM generate_series(1, 100000) g;
CREATE TRIGGER mirror BEFORE INSERT OR UPDATE ON w FOR EACH ROW
  EXECUTE FUNCTION migrate_online_mirror('score', 'points');
ALTER TABLE w DISABLE TRIGGER mirror;
VACUUM ANALYZE w;
SQL
cat >"$PGM_WORK/update_new.sql" <<'SQL'
\set id random(1, 100000)
UPDATE w SET points = points + 1 WHERE id = :id;
SQL
cat >"$PGM_WORK/update_old.sql" <<'SQL'
\set id random(1, 100000)
UPDATE w SET score = score + 1 WHERE id = :id;
SQL

# trigger_round none|new|old: TPS of $secs seconds of single-row UPDATEs
trigger_round() {
	local file=update_new.sql
	if [ "$1" = none ]; then
		psql -Xq -c "ALTER TABLE w DISABLE TRIGGER mirror" postgres
	else
		psql -Xq -c "ALTER TABLE w ENABLE TRIGGER mirror" postgres
		[ "$1" = old ] && file=update_old.sql
	fi
	psql -Xq -c "VACUUM w" -c "CHECKPOINT" postgres
	pgbench -n -c "$clients" -j "$clients" -T "$secs" -f "$PGM_WORK/$file" postgres 2>/dev/null | bench_tps
}
declare -A trig
for r in $(seq 1 "$rounds"); do
	order="none new old"
	[ $((r % 2)) -eq 0 ] && order="old new none"
	for k in $order; do
		bench_progress "trigger round $r: $k"
		trig[$k]="${trig[$k]:-} $(trigger_round "$k")"
	done
done
# shellcheck disable=SC2086
{
	t_none=$(bench_median ${trig[none]})
	t_new=$(bench_median ${trig[new]})
	t_old=$(bench_median ${trig[old]})
}
# bulk_round none|new|old: milliseconds of one UPDATE of every row
bulk_round() {
	local col=points
	if [ "$1" = none ]; then
		psql -Xq -c "ALTER TABLE w DISABLE TRIGGER mirror" postgres
	else
		psql -Xq -c "ALTER TABLE w ENABLE TRIGGER mirror" postgres
		[ "$1" = old ] && col=score
	fi
	psql -Xq -c "VACUUM w" postgres
	psql -XAtq -c "\\timing on" -c "UPDATE w SET $col = $col + 1" postgres |
		sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p'
}
declare -A bulk
for r in $(seq 1 "$rounds"); do
	order="none new old"
	[ $((r % 2)) -eq 0 ] && order="old new none"
	for k in $order; do
		bench_progress "bulk round $r: $k"
		bulk[$k]="${bulk[$k]:-} $(bulk_round "$k")"
	done
done
# shellcheck disable=SC2086
{
	b_none=$(bench_median ${bulk[none]})
	b_new=$(bench_median ${bulk[new]})
	b_old=$(bench_median ${bulk[old]})
}
psql -Xq -c "ALTER TABLE w ENABLE TRIGGER mirror" -c "UPDATE w SET points = points" postgres
w_out=$(psql -XAtq -c "SELECT count(*) FROM w WHERE score IS DISTINCT FROM points" postgres)

# 3. the whole change (2. reads the table it leaves)
psql -Xq -v ON_ERROR_STOP=1 postgres <<SQL
SET pg_migrate.enforce = off;
CREATE TABLE big (id int PRIMARY KEY, score int NOT NULL, pad text);
INSERT INTO big SELECT g, g, md5(g::text) FROM generate_series(1, $rows) g;
CREATE INDEX big_score ON big (score);
VACUUM ANALYZE big;
CHECKPOINT;
SQL
size_before=$(psql -XAtq -c "SELECT pg_total_relation_size('big')" postgres)
bench_progress "online RENAME COLUMN of $rows rows"
started=$(bench_now)
job=$(psql -XAtq -c "SELECT migrate_online('ALTER TABLE big RENAME COLUMN score TO points')" postgres)
psql -XAtq -c "CALL migrate_job_wait($job, '60 min')" postgres >/dev/null
job_secs=$(bench_since "$started")
job_state=$(psql -XAtq -c "SELECT state || '/' || phase FROM migrate_jobs WHERE id = $job" postgres)
size_both=$(psql -XAtq -c "SELECT pg_total_relation_size('big')" postgres)
big_out=$(psql -XAtq -c "SELECT count(*) FROM big WHERE score IS DISTINCT FROM points" postgres)
psql -Xq -c "VACUUM ANALYZE big" postgres

# 2. readers of either name
cat >"$PGM_WORK/read_new.sql" <<SQL
\\set id random(1, $rows)
SELECT id FROM big WHERE points = :id;
SQL
cat >"$PGM_WORK/read_old.sql" <<SQL
\\set id random(1, $rows)
SELECT id FROM big WHERE score = :id;
SQL
declare -A rd
for r in $(seq 1 "$rounds"); do
	order="new old"
	[ $((r % 2)) -eq 0 ] && order="old new"
	for k in $order; do
		bench_progress "read round $r: $k name"
		rd[$k]="${rd[$k]:-} $(pgbench -n -c "$clients" -j "$clients" -T "$secs" -f "$PGM_WORK/read_$k.sql" postgres 2>/dev/null | bench_tps)"
	done
done
# shellcheck disable=SC2086
{
	r_new=$(bench_median ${rd[new]})
	r_old=$(bench_median ${rd[old]})
}

psql -XAtq -c "SELECT migrate_online_complete($job)" postgres >/dev/null
psql -XAtq -c "CALL migrate_job_wait($job, '60 min')" postgres >/dev/null
psql -Xq -c "VACUUM ANALYZE big" postgres
size_after=$(psql -XAtq -c "SELECT pg_total_relation_size('big')" postgres)

# 4. ADD COLUMN with a volatile default, plain and online
add_table() {
	psql -Xq -v ON_ERROR_STOP=1 postgres <<SQL
SET pg_migrate.enforce = off;
DROP TABLE IF EXISTS ev;
CREATE TABLE ev (id int PRIMARY KEY, pad text);
INSERT INTO ev SELECT g, md5(g::text) FROM generate_series(1, $rows) g;
VACUUM ANALYZE ev;
CHECKPOINT;
SQL
	psql -XAtq -c "SELECT pg_relation_filenode('ev')" postgres
}
# the longest statement that held a lock blocking reads and writes, in ms
longest_blocking() {
	psql -XAtq -c "SELECT round(extract(epoch FROM max(duration)) * 1000, 1) FROM migrate_ddl_history
		WHERE id > $1 AND lock_mode = 'AccessExclusiveLock'" postgres
}
node=$(add_table)
hist=$(psql -XAtq -c "SELECT COALESCE(max(id), 0) FROM migrate_ddl_history" postgres)
bench_progress "plain ADD COLUMN ... DEFAULT clock_timestamp() of $rows rows"
psql -Xq -c "SET pg_migrate.enforce = off" \
	-c "ALTER TABLE ev ADD COLUMN seen timestamptz NOT NULL DEFAULT clock_timestamp()" postgres
p_rewrote=$(psql -XAtq -c "SELECT pg_relation_filenode('ev') <> $node" postgres)
p_block=$(longest_blocking "$hist")
node=$(add_table)
hist=$(psql -XAtq -c "SELECT COALESCE(max(id), 0) FROM migrate_ddl_history" postgres)
bench_progress "online ADD COLUMN ... DEFAULT clock_timestamp() of $rows rows"
started=$(bench_now)
job=$(psql -XAtq -c "SELECT migrate_online('ALTER TABLE ev ADD COLUMN seen timestamptz NOT NULL DEFAULT clock_timestamp()')" postgres)
psql -XAtq -c "CALL migrate_job_wait($job, '60 min')" postgres >/dev/null
a_secs=$(bench_since "$started")
a_state=$(psql -XAtq -c "SELECT state || '/' || phase FROM migrate_jobs WHERE id = $job" postgres)
o_rewrote=$(psql -XAtq -c "SELECT pg_relation_filenode('ev') <> $node" postgres)
o_block=$(longest_blocking "$hist")
o_nulls=$(psql -XAtq -c "SELECT count(*) FROM ev WHERE seen IS NULL" postgres)

mb() { awk -v b="$1" 'BEGIN {printf "%.1f", b / 1048576}'; }
echo
bench_machine
echo "$clients pgbench clients; pg_migrate settings: defaults"
echo
echo "1. Write cost of the mirror trigger: single-row UPDATEs, ${secs}s x $rounds rounds (median)"
printf '%-44s %9s %6s\n' "" "TPS" "ratio"
printf '%-44s %9.1f %6s\n' "no trigger" "$t_none" "1.00"
printf '%-44s %9.1f %6s\n' "migrate_online_mirror, writing the new name" "$t_new" "$(bench_ratio "$t_new" "$t_none")"
printf '%-44s %9.1f %6s\n' "migrate_online_mirror, writing the old name" "$t_old" "$(bench_ratio "$t_old" "$t_none")"
printf '%-44s %9s %6s\n' "one UPDATE of 100000 rows" "ms" "ratio"
printf '%-44s %9.1f %6s\n' "no trigger" "$b_none" "1.00"
printf '%-44s %9.1f %6s\n' "migrate_online_mirror, writing the new name" "$b_new" "$(bench_ratio "$b_new" "$b_none")"
printf '%-44s %9.1f %6s\n' "migrate_online_mirror, writing the old name" "$b_old" "$(bench_ratio "$b_old" "$b_none")"
echo "rows whose two names differ after an UPDATE of every row: $w_out"
bench_result rename_trigger none "$t_none" 1.00
bench_result rename_trigger new "$t_new" "$(bench_ratio "$t_new" "$t_none")"
bench_result rename_trigger old "$t_old" "$(bench_ratio "$t_old" "$t_none")"
bench_result rename_bulk none "$b_none" 1.00
bench_result rename_bulk new "$b_new" "$(bench_ratio "$b_new" "$b_none")"
bench_result rename_bulk old "$b_old" "$(bench_ratio "$b_old" "$b_none")"
echo
echo "2. Readers after the cut-over: single-row SELECT by an indexed column, ${secs}s x $rounds rounds (median)"
printf '%-44s %9s %6s\n' "" "TPS" "ratio"
printf '%-44s %9.1f %6s\n' "by the new name (real column, its index)" "$r_new" "1.00"
printf '%-44s %9.1f %6s\n' "by the old name (copy, index copy)" "$r_old" "$(bench_ratio "$r_old" "$r_new")"
bench_result rename_read new "$r_new" 1.00
bench_result rename_read old "$r_old" "$(bench_ratio "$r_old" "$r_new")"
echo
echo "3. Online RENAME COLUMN of an indexed NOT NULL int column, $rows rows"
echo "job to its cut-over: ${job_secs}s, ends $job_state; rows whose names differ: $big_out"
printf '%-44s %9s\n' "" "MB"
printf '%-44s %9s\n' "table with indexes, before" "$(mb "$size_before")"
printf '%-44s %9s\n' "while both names exist (before VACUUM)" "$(mb "$size_both")"
printf '%-44s %9s\n' "after complete and VACUUM" "$(mb "$size_after")"
bench_result rename_size "$size_before" "$size_both" "$size_after" "$job_secs"
echo
echo "4. ADD COLUMN seen timestamptz NOT NULL DEFAULT clock_timestamp(), $rows rows"
printf '%-44s %9s %22s\n' "" "rewrote" "longest ACCESS EXCL. ms"
printf '%-44s %9s %22s\n' "plain ALTER TABLE" "$p_rewrote" "$p_block"
printf '%-44s %9s %22s\n' "migrate_online (${a_secs}s, $a_state)" "$o_rewrote" "$o_block"
echo "rows left NULL after the online change: $o_nulls"
bench_result addcol plain "$p_rewrote" "$p_block"
bench_result addcol online "$o_rewrote" "$o_block" "$a_secs"
