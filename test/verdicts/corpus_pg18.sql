--
-- Verdict corpus cases for PostgreSQL 18's own features: NOT NULL
-- constraints that can be NOT VALID, NOT ENFORCED constraints, virtual
-- generated columns.  Same table t as corpus.sql.
--
\set t_setup 'CREATE TABLE t (id int PRIMARY KEY, a int, b text, c varchar(50), d timestamp, e int NOT NULL); INSERT INTO t SELECT g, g, ''x'' || g, ''c'' || g, ''2024-01-01''::timestamp + g * interval ''1 minute'', g FROM generate_series(1, 10000) g;'

INSERT INTO verdicts.cases (name, class, setup, script, min_version) VALUES
('pg18_add_not_null', 'pg18', :'t_setup',
 ARRAY['ALTER TABLE t ADD CONSTRAINT t_a_nn NOT NULL a'], 180000),
('pg18_add_not_null_not_valid', 'pg18', :'t_setup',
 ARRAY['ALTER TABLE t ADD CONSTRAINT t_a_nn NOT NULL a NOT VALID'], 180000),
('pg18_validate_not_null', 'pg18', :'t_setup' || ' ALTER TABLE t ADD CONSTRAINT t_a_nn NOT NULL a NOT VALID;',
 ARRAY['ALTER TABLE t VALIDATE CONSTRAINT t_a_nn'], 180000),
('pg18_set_not_null_over_not_valid', 'pg18', :'t_setup' || ' ALTER TABLE t ADD CONSTRAINT t_a_nn NOT NULL a NOT VALID;',
 ARRAY['ALTER TABLE t ALTER COLUMN a SET NOT NULL'], 180000),
('pg18_not_null_then_validate_same_transaction', 'pg18', :'t_setup',
 ARRAY['ALTER TABLE t ADD CONSTRAINT t_a_nn NOT NULL a NOT VALID',
       'ALTER TABLE t VALIDATE CONSTRAINT t_a_nn'], 180000),
('pg18_not_null_then_validate_own_transaction', 'pg18', :'t_setup',
 ARRAY['BEGIN', 'ALTER TABLE t ADD CONSTRAINT t_a_nn NOT NULL a NOT VALID', 'COMMIT',
       'ALTER TABLE t VALIDATE CONSTRAINT t_a_nn'], 180000),
('pg18_check_not_enforced', 'pg18', :'t_setup',
 ARRAY['ALTER TABLE t ADD CONSTRAINT t_a_pos CHECK (a > 0) NOT ENFORCED'], 180000),
('pg18_check_enforced_later', 'pg18', :'t_setup' || ' ALTER TABLE t ADD CONSTRAINT t_a_pos CHECK (a > 0) NOT ENFORCED;',
 ARRAY['ALTER TABLE t ALTER CONSTRAINT t_a_pos ENFORCED'], 180000),
('pg18_fk_not_enforced', 'pg18',
 'CREATE TABLE p (id int PRIMARY KEY); INSERT INTO p SELECT g FROM generate_series(1, 10000) g; ' || :'t_setup',
 ARRAY['ALTER TABLE t ADD CONSTRAINT t_a_fk FOREIGN KEY (a) REFERENCES p (id) NOT ENFORCED'], 180000),
('pg18_fk_enforced_later', 'pg18',
 'CREATE TABLE p (id int PRIMARY KEY); INSERT INTO p SELECT g FROM generate_series(1, 10000) g; ' || :'t_setup'
 || ' ALTER TABLE t ADD CONSTRAINT t_a_fk FOREIGN KEY (a) REFERENCES p (id) NOT ENFORCED;',
 ARRAY['ALTER TABLE t ALTER CONSTRAINT t_a_fk ENFORCED'], 180000),
('pg18_virtual_column', 'pg18', :'t_setup',
 ARRAY['ALTER TABLE t ADD COLUMN v int GENERATED ALWAYS AS (a * 2) VIRTUAL'], 180000),
('pg18_virtual_column_fk', 'pg18',
 'CREATE TABLE p (id int PRIMARY KEY); INSERT INTO p SELECT g FROM generate_series(1, 20000) g; ' || :'t_setup',
 ARRAY['ALTER TABLE t ADD COLUMN v int GENERATED ALWAYS AS (a * 2) STORED REFERENCES p (id)'], 180000),
('pg18_pk_using_index_not_valid_not_null', 'pg18',
 :'t_setup' || ' ALTER TABLE t DROP CONSTRAINT t_pkey; CREATE UNIQUE INDEX t_a_key ON t (a); ALTER TABLE t ADD CONSTRAINT t_a_nn NOT NULL a NOT VALID;',
 ARRAY['ALTER TABLE t ADD CONSTRAINT t_pk PRIMARY KEY USING INDEX t_a_key'], 180000),
('pg18_type_change_virtual_source', 'pg18',
 :'t_setup' || ' ALTER TABLE t ADD COLUMN v bigint GENERATED ALWAYS AS (a * 2) VIRTUAL;',
 ARRAY['ALTER TABLE t ALTER COLUMN a TYPE bigint'], 180000);
