-- Column order around an online type change.  PostgreSQL keeps a column's
-- place (attnum) for its life: the new column is added last, so after the
-- cut-over SELECT * and INSERT without a column list see the changed
-- column last.  Submission says so with a NOTICE when the column is not
-- already the last one.
\set VERBOSITY default
CREATE EXTENSION pg_migrate;
SET pg_migrate.small_table_size = 0;
CREATE TABLE ord (id int PRIMARY KEY, n int NOT NULL, label text);
INSERT INTO ord SELECT g, g * 10, 'l' || g FROM generate_series(1, 500) g;
-- a dropped column after it is no column: the NOTICE counts live ones
CREATE TABLE lastcol (id int PRIMARY KEY, gone int, n int);
ALTER TABLE lastcol DROP COLUMN gone;
INSERT INTO lastcol SELECT g, g FROM generate_series(1, 500) g;

-- The last column: no NOTICE.
SELECT migrate_online('ALTER TABLE lastcol ALTER COLUMN n TYPE bigint', complete => true) AS job \gset
CALL migrate_job_wait(:job, '120s');
SELECT state, last_error FROM migrate_jobs WHERE id = :job;
SELECT * FROM lastcol WHERE id = 1;

-- Not the last column: a NOTICE that says what changes.
SELECT migrate_online('ALTER TABLE ord ALTER COLUMN n TYPE bigint') AS job \gset
\set VERBOSITY terse
CALL migrate_job_wait(:job, '120s');
SELECT state, phase, last_error FROM migrate_jobs WHERE id = :job;

-- Between cut-over and complete: the old column keeps its place under its
-- new name, the new one is last.
SELECT * FROM ord WHERE id = 1;
-- A positional INSERT written for the old order gives its second value to
-- the old column and none to the new one; the old column has no default,
-- so the sync trigger refuses the row rather than overwrite the value ...
INSERT INTO ord VALUES (1001, 5, 'x');
-- ... for a nullable column too, which would otherwise lose the value.
CREATE TABLE nul (id int PRIMARY KEY, n int, label text);
INSERT INTO nul SELECT g, g, 'l' || g FROM generate_series(1, 100) g;
SELECT migrate_online('ALTER TABLE nul ALTER COLUMN n TYPE bigint') AS nuljob \gset
CALL migrate_job_wait(:nuljob, '120s');
INSERT INTO nul VALUES (1001, 5, 'x');
SELECT * FROM nul WHERE id = 1001;
SELECT migrate_online_abort(:nuljob);
CALL migrate_job_wait(:nuljob, '120s');
-- Four values fill the four columns: two values for one column that
-- differ are refused, equal ones are taken.
INSERT INTO ord VALUES (1002, 99, 'y', 6);
INSERT INTO ord VALUES (1002, 6, 'y', 6);
SELECT * FROM ord WHERE id = 1002;
-- With a column list nothing changes for the application.
INSERT INTO ord (id, n, label) VALUES (1003, 7, 'z');
SELECT id, n, label FROM ord WHERE id = 1003;

-- After complete: three columns again, the changed one last.
SELECT migrate_online_complete(:job);
CALL migrate_job_wait(:job, '120s');
SELECT state, phase, last_error FROM migrate_jobs WHERE id = :job;
SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute
 WHERE attrelid = 'ord'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum;
SELECT * FROM ord WHERE id = 1;
-- The old positional INSERT: label's value goes to the bigint column.
INSERT INTO ord VALUES (1004, 8, 'w');
INSERT INTO ord VALUES (1004, 'w', 8);
SELECT * FROM ord WHERE id = 1004;
INSERT INTO ord (id, n, label) VALUES (1005, 9, 'v');
SELECT * FROM ord WHERE id = 1005;

-- A plain ALTER TYPE, by contrast, keeps the column's place.
CREATE TABLE plainord (id int PRIMARY KEY, n int NOT NULL, label text);
SET pg_migrate.enforce = off;
ALTER TABLE plainord ALTER COLUMN n TYPE bigint;
RESET pg_migrate.enforce;
SELECT attname FROM pg_attribute
 WHERE attrelid = 'plainord'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum;

SET pg_migrate.enforce = off;  -- the extension's history goes with it (drop_table)
DROP TABLE ord, lastcol, plainord, nul;
DROP EXTENSION pg_migrate;
