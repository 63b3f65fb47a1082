--
-- The verdict corpus: DDL on populated tables, one case per row.  The
-- harness (harness.sql) measures each on the server and compares with
-- migrate_check.  "setup" runs first and is committed; "script" is what is
-- checked and then run, statement by statement.
--
-- Most cases start from table t (10000 rows):
--   id int PRIMARY KEY, a int (nullable, no NULLs), b text, c varchar(50),
--   d timestamp, e int NOT NULL
--
\set t_setup 'CREATE TABLE t (id int PRIMARY KEY, a int, b text, c varchar(50), d timestamp, e int NOT NULL); INSERT INTO t SELECT g, g, ''x'' || g, ''c'' || g, ''2024-01-01''::timestamp + g * interval ''1 minute'', g FROM generate_series(1, 10000) g;'

INSERT INTO verdicts.cases (name, class, setup, script) VALUES
-- Plain statements: each rule once, with the measurement that proves it.
('basic_add_column_const', 'basics', :'t_setup',
 ARRAY['ALTER TABLE t ADD COLUMN f int DEFAULT 0']),
('basic_add_column_volatile', 'basics', :'t_setup',
 ARRAY['ALTER TABLE t ADD COLUMN f float8 DEFAULT random()']),
('basic_add_column_not_null', 'basics', :'t_setup',
 ARRAY['ALTER TABLE t ADD COLUMN f int NOT NULL']),
('basic_add_check', 'basics', :'t_setup',
 ARRAY['ALTER TABLE t ADD CONSTRAINT t_a_pos CHECK (a > 0)']),
('basic_add_check_not_valid', 'basics', :'t_setup',
 ARRAY['ALTER TABLE t ADD CONSTRAINT t_a_pos CHECK (a > 0) NOT VALID']),
('basic_create_index', 'basics', :'t_setup',
 ARRAY['CREATE INDEX t_a ON t (a)']),
('basic_reindex', 'basics', :'t_setup',
 ARRAY['REINDEX TABLE t']),
('basic_drop_index', 'basics', :'t_setup' || ' CREATE INDEX t_a ON t (a);',
 ARRAY['DROP INDEX t_a']),
('basic_drop_table', 'basics', :'t_setup',
 ARRAY['DROP TABLE t']),
('basic_truncate', 'basics', :'t_setup',
 ARRAY['TRUNCATE t']),
('basic_drop_column', 'basics', :'t_setup',
 ARRAY['ALTER TABLE t DROP COLUMN b']),
('basic_rename_column', 'basics', :'t_setup',
 ARRAY['ALTER TABLE t RENAME COLUMN b TO bb']),
('basic_rename_table', 'basics', :'t_setup',
 ARRAY['ALTER TABLE t RENAME TO t2']),
('basic_cluster', 'basics', :'t_setup',
 ARRAY['CLUSTER t USING t_pkey']),
('basic_set_unlogged', 'basics', :'t_setup',
 ARRAY['ALTER TABLE t SET UNLOGGED']),
('basic_set_tablespace', 'basics', :'t_setup',
 ARRAY['ALTER TABLE t SET TABLESPACE verdicts_ts']),
('basic_add_column_check', 'basics', :'t_setup',
 ARRAY['ALTER TABLE t ADD COLUMN f int CHECK (f > 0)']),
('basic_add_column_identity', 'basics', :'t_setup',
 ARRAY['ALTER TABLE t ADD COLUMN f int GENERATED ALWAYS AS IDENTITY']),
('basic_add_column_stored', 'basics', :'t_setup',
 ARRAY['ALTER TABLE t ADD COLUMN f int GENERATED ALWAYS AS (a * 2) STORED']),
('basic_unique_concurrently_then_constraint', 'basics', :'t_setup' || ' CREATE UNIQUE INDEX t_e_key ON t (e);',
 ARRAY['ALTER TABLE t ADD CONSTRAINT t_e_key UNIQUE USING INDEX t_e_key']),
('basic_add_unique', 'basics', :'t_setup',
 ARRAY['ALTER TABLE t ADD CONSTRAINT t_e_key UNIQUE (e)']),

-- Type changes: the heap kept or rewritten, indexes reused or rebuilt,
-- constraints re-checked.
('type_int_bigint', 'type', :'t_setup',
 ARRAY['ALTER TABLE t ALTER COLUMN a TYPE bigint']),
('type_varchar_widen_indexed', 'type', :'t_setup' || ' CREATE INDEX t_c ON t (c);',
 ARRAY['ALTER TABLE t ALTER COLUMN c TYPE varchar(100)']),
('type_varchar_text_indexed', 'type', :'t_setup' || ' CREATE INDEX t_c ON t (c);',
 ARRAY['ALTER TABLE t ALTER COLUMN c TYPE text']),
('type_varchar_shrink', 'type', :'t_setup',
 ARRAY['ALTER TABLE t ALTER COLUMN c TYPE varchar(20)']),
('type_collation_indexed', 'type', :'t_setup' || ' CREATE INDEX t_b ON t (b);',
 ARRAY['ALTER TABLE t ALTER COLUMN b TYPE text COLLATE "C"']),
('type_collation_unindexed', 'type', :'t_setup',
 ARRAY['ALTER TABLE t ALTER COLUMN b TYPE text COLLATE "C"']),
('type_expression_index', 'type', :'t_setup' || ' CREATE INDEX t_lower_c ON t (lower(c));',
 ARRAY['ALTER TABLE t ALTER COLUMN c TYPE varchar(100)']),
('type_partial_index', 'type', :'t_setup' || ' CREATE INDEX t_a_partial ON t (a) WHERE c IS NOT NULL;',
 ARRAY['ALTER TABLE t ALTER COLUMN c TYPE varchar(100)']),
('type_opclass_int_oid', 'type', :'t_setup' || ' CREATE INDEX t_a ON t (a);',
 ARRAY['ALTER TABLE t ALTER COLUMN a TYPE oid']),
('type_explicit_opclass', 'type', :'t_setup' || ' CREATE INDEX t_c_pattern ON t (c varchar_pattern_ops);',
 ARRAY['ALTER TABLE t ALTER COLUMN c TYPE text']),
('type_check_constraint', 'type', :'t_setup' || ' ALTER TABLE t ADD CONSTRAINT t_c_len CHECK (length(c) > 1);',
 ARRAY['ALTER TABLE t ALTER COLUMN c TYPE varchar(100)']),
('type_check_not_valid', 'type', :'t_setup' || ' ALTER TABLE t ADD CONSTRAINT t_c_len CHECK (length(c) > 1) NOT VALID;',
 ARRAY['ALTER TABLE t ALTER COLUMN c TYPE varchar(100)']),
('type_check_other_column', 'type', :'t_setup' || ' ALTER TABLE t ADD CONSTRAINT t_a_pos CHECK (a > 0);',
 ARRAY['ALTER TABLE t ALTER COLUMN c TYPE varchar(100)']),
('type_fk_referencing', 'type',
 'CREATE TABLE p (code varchar(20) PRIMARY KEY); INSERT INTO p SELECT ''k'' || g FROM generate_series(1, 1000) g;'
 ' CREATE TABLE ch (id int PRIMARY KEY, code varchar(20) REFERENCES p); INSERT INTO ch SELECT g, ''k'' || (g % 1000 + 1) FROM generate_series(1, 10000) g;',
 ARRAY['ALTER TABLE ch ALTER COLUMN code TYPE varchar(40)']),
('type_fk_referencing_text', 'type',
 'CREATE TABLE p (code varchar(20) PRIMARY KEY); INSERT INTO p SELECT ''k'' || g FROM generate_series(1, 1000) g;'
 ' CREATE TABLE ch (id int PRIMARY KEY, code varchar(20) REFERENCES p); INSERT INTO ch SELECT g, ''k'' || (g % 1000 + 1) FROM generate_series(1, 10000) g;',
 ARRAY['ALTER TABLE ch ALTER COLUMN code TYPE text']),
('type_fk_int_bigint', 'type',
 'CREATE TABLE p (id int PRIMARY KEY); INSERT INTO p SELECT g FROM generate_series(1, 1000) g;'
 ' CREATE TABLE ch (id int PRIMARY KEY, p_id int REFERENCES p); INSERT INTO ch SELECT g, g % 1000 + 1 FROM generate_series(1, 10000) g;',
 ARRAY['ALTER TABLE ch ALTER COLUMN p_id TYPE bigint']),
('type_fk_referenced_widen', 'type',
 'CREATE TABLE p (code varchar(20) PRIMARY KEY); INSERT INTO p SELECT ''k'' || g FROM generate_series(1, 1000) g;'
 ' CREATE TABLE ch (id int PRIMARY KEY, code varchar(20) REFERENCES p); INSERT INTO ch SELECT g, ''k'' || (g % 1000 + 1) FROM generate_series(1, 10000) g;',
 ARRAY['ALTER TABLE p ALTER COLUMN code TYPE varchar(40)']),
('type_fk_referenced_int_bigint', 'type',
 'CREATE TABLE p (id int PRIMARY KEY); INSERT INTO p SELECT g FROM generate_series(1, 1000) g;'
 ' CREATE TABLE ch (id int PRIMARY KEY, p_id int REFERENCES p); INSERT INTO ch SELECT g, g % 1000 + 1 FROM generate_series(1, 10000) g;',
 ARRAY['ALTER TABLE p ALTER COLUMN id TYPE bigint']),
('type_timestamptz_utc_indexed', 'type', :'t_setup' || ' CREATE INDEX t_d ON t (d);',
 ARRAY['SET TimeZone = ''UTC''', 'ALTER TABLE t ALTER COLUMN d TYPE timestamptz', 'RESET TimeZone']),
('type_timestamptz_other_zone', 'type', :'t_setup',
 ARRAY['SET TimeZone = ''Europe/Paris''', 'ALTER TABLE t ALTER COLUMN d TYPE timestamptz', 'RESET TimeZone']),

('type_column_in_view', 'type', :'t_setup' || ' CREATE VIEW tv AS SELECT id, a FROM t;',
 ARRAY['ALTER TABLE t ALTER COLUMN a TYPE bigint']),
('type_column_in_generated', 'type', :'t_setup' || ' ALTER TABLE t ADD COLUMN g int GENERATED ALWAYS AS (a * 2) STORED;',
 ARRAY['ALTER TABLE t ALTER COLUMN a TYPE bigint']),

-- USING expressions that are binary-coercible casts of the column.
('using_cast_text', 'using', :'t_setup' || ' CREATE INDEX t_c ON t (c);',
 ARRAY['ALTER TABLE t ALTER COLUMN c TYPE text USING c::text']),
('using_cast_qualified', 'using', :'t_setup',
 ARRAY['ALTER TABLE t ALTER COLUMN c TYPE varchar(100) USING t.c::varchar(100)']),
('using_expression', 'using', :'t_setup',
 ARRAY['ALTER TABLE t ALTER COLUMN c TYPE text USING c || ''''']),
('using_other_column', 'using', :'t_setup',
 ARRAY['ALTER TABLE t ALTER COLUMN c TYPE text USING b']),
('using_int_to_bigint', 'using', :'t_setup',
 ARRAY['ALTER TABLE t ALTER COLUMN a TYPE bigint USING a::bigint']),

-- NOT NULL: PostgreSQL proves only what a validated CHECK makes certain.
('nn_plain', 'not_null', :'t_setup',
 ARRAY['ALTER TABLE t ALTER COLUMN a SET NOT NULL']),
('nn_check_is_not_null', 'not_null', :'t_setup' || ' ALTER TABLE t ADD CONSTRAINT t_a_nn CHECK (a IS NOT NULL);',
 ARRAY['ALTER TABLE t ALTER COLUMN a SET NOT NULL']),
('nn_check_positive', 'not_null', :'t_setup' || ' ALTER TABLE t ADD CONSTRAINT t_a_pos CHECK (a > 0);',
 ARRAY['ALTER TABLE t ALTER COLUMN a SET NOT NULL']),
('nn_check_not_valid', 'not_null', :'t_setup' || ' ALTER TABLE t ADD CONSTRAINT t_a_nn CHECK (a IS NOT NULL) NOT VALID;',
 ARRAY['ALTER TABLE t ALTER COLUMN a SET NOT NULL']),
('nn_check_and', 'not_null', :'t_setup' || ' ALTER TABLE t ADD CONSTRAINT t_a_nn CHECK (a IS NOT NULL AND a > 0);',
 ARRAY['ALTER TABLE t ALTER COLUMN a SET NOT NULL']),
('nn_already', 'not_null', :'t_setup',
 ARRAY['ALTER TABLE t ALTER COLUMN e SET NOT NULL']),
('nn_pk_using_index_nullable', 'not_null', :'t_setup' || ' ALTER TABLE t DROP CONSTRAINT t_pkey; CREATE UNIQUE INDEX t_a_key ON t (a);',
 ARRAY['ALTER TABLE t ADD CONSTRAINT t_pk PRIMARY KEY USING INDEX t_a_key']),
('nn_pk_using_index_not_null', 'not_null', :'t_setup' || ' ALTER TABLE t DROP CONSTRAINT t_pkey; CREATE UNIQUE INDEX t_e_key ON t (e);',
 ARRAY['ALTER TABLE t ADD CONSTRAINT t_pk PRIMARY KEY USING INDEX t_e_key']),
('nn_pk_using_index_proven', 'not_null', :'t_setup' || ' ALTER TABLE t DROP CONSTRAINT t_pkey; CREATE UNIQUE INDEX t_a_key ON t (a); ALTER TABLE t ADD CONSTRAINT t_a_nn CHECK (a IS NOT NULL);',
 ARRAY['ALTER TABLE t ADD CONSTRAINT t_pk PRIMARY KEY USING INDEX t_a_key']),
('nn_add_pk_nullable', 'not_null', :'t_setup' || ' ALTER TABLE t DROP CONSTRAINT t_pkey;',
 ARRAY['ALTER TABLE t ADD PRIMARY KEY (a)']),
('nn_unique_using_index', 'not_null', :'t_setup' || ' CREATE UNIQUE INDEX t_a_key ON t (a);',
 ARRAY['ALTER TABLE t ADD CONSTRAINT t_a_uq UNIQUE USING INDEX t_a_key']),

-- Partitions.
('part_attach_scans', 'partition',
 'CREATE TABLE pt (id int, a int) PARTITION BY RANGE (id); CREATE TABLE pt1 PARTITION OF pt FOR VALUES FROM (1) TO (10001);'
 ' INSERT INTO pt SELECT g, g FROM generate_series(1, 10000) g;'
 ' CREATE TABLE pt2 (id int, a int); INSERT INTO pt2 SELECT g, g FROM generate_series(10001, 20000) g;',
 ARRAY['ALTER TABLE pt ATTACH PARTITION pt2 FOR VALUES FROM (10001) TO (20001)']),
('part_attach_proven', 'partition',
 'CREATE TABLE pt (id int, a int) PARTITION BY RANGE (id); CREATE TABLE pt1 PARTITION OF pt FOR VALUES FROM (1) TO (10001);'
 ' INSERT INTO pt SELECT g, g FROM generate_series(1, 10000) g;'
 ' CREATE TABLE pt2 (id int NOT NULL, a int, CONSTRAINT pt2_bound CHECK (id >= 10001 AND id < 20001)); INSERT INTO pt2 SELECT g, g FROM generate_series(10001, 20000) g;',
 ARRAY['ALTER TABLE pt ATTACH PARTITION pt2 FOR VALUES FROM (10001) TO (20001)']),
('part_attach_default_populated', 'partition',
 'CREATE TABLE pt (id int, a int) PARTITION BY RANGE (id); CREATE TABLE pt1 PARTITION OF pt FOR VALUES FROM (1) TO (10001);'
 ' CREATE TABLE ptd PARTITION OF pt DEFAULT;'
 ' INSERT INTO pt SELECT g, g FROM generate_series(1, 20000) g;'
 ' CREATE TABLE pt3 (id int NOT NULL, a int, CONSTRAINT pt3_bound CHECK (id >= 30001 AND id < 40001));',
 ARRAY['ALTER TABLE pt ATTACH PARTITION pt3 FOR VALUES FROM (30001) TO (40001)']),
('part_create_with_default', 'partition',
 'CREATE TABLE pt (id int, a int) PARTITION BY RANGE (id); CREATE TABLE pt1 PARTITION OF pt FOR VALUES FROM (1) TO (10001);'
 ' CREATE TABLE ptd PARTITION OF pt DEFAULT;'
 ' INSERT INTO pt SELECT g, g FROM generate_series(1, 20000) g;',
 ARRAY['CREATE TABLE pt3 PARTITION OF pt FOR VALUES FROM (30001) TO (40001)']),
('part_create_without_default', 'partition',
 'CREATE TABLE pt (id int, a int) PARTITION BY RANGE (id); CREATE TABLE pt1 PARTITION OF pt FOR VALUES FROM (1) TO (10001);'
 ' INSERT INTO pt SELECT g, g FROM generate_series(1, 10000) g;',
 ARRAY['CREATE TABLE pt3 PARTITION OF pt FOR VALUES FROM (30001) TO (40001)']),
('part_index_on_only', 'partition',
 'CREATE TABLE pt (id int, a int) PARTITION BY RANGE (id); CREATE TABLE pt1 PARTITION OF pt FOR VALUES FROM (1) TO (10001);'
 ' INSERT INTO pt SELECT g, g FROM generate_series(1, 10000) g;',
 ARRAY['CREATE INDEX pt_a ON ONLY pt (a)']),
('part_index_on_parent', 'partition',
 'CREATE TABLE pt (id int, a int) PARTITION BY RANGE (id); CREATE TABLE pt1 PARTITION OF pt FOR VALUES FROM (1) TO (10001);'
 ' INSERT INTO pt SELECT g, g FROM generate_series(1, 10000) g;',
 ARRAY['CREATE INDEX pt_a ON pt (a)']),
('part_detach', 'partition',
 'CREATE TABLE pt (id int, a int) PARTITION BY RANGE (id); CREATE TABLE pt1 PARTITION OF pt FOR VALUES FROM (1) TO (10001);'
 ' INSERT INTO pt SELECT g, g FROM generate_series(1, 10000) g;',
 ARRAY['ALTER TABLE pt DETACH PARTITION pt1']),
('part_set_not_null', 'partition', 'CREATE TABLE pt (id int, a int) PARTITION BY RANGE (id); CREATE TABLE pt1 PARTITION OF pt FOR VALUES FROM (1) TO (10001);'
 ' INSERT INTO pt SELECT g, g FROM generate_series(1, 10000) g;',
 ARRAY['ALTER TABLE pt ALTER COLUMN a SET NOT NULL']),
('part_add_check', 'partition', 'CREATE TABLE pt (id int, a int) PARTITION BY RANGE (id); CREATE TABLE pt1 PARTITION OF pt FOR VALUES FROM (1) TO (10001);'
 ' INSERT INTO pt SELECT g, g FROM generate_series(1, 10000) g;',
 ARRAY['ALTER TABLE pt ADD CONSTRAINT pt_a_pos CHECK (a > 0)']),
('part_add_check_not_valid', 'partition', 'CREATE TABLE pt (id int, a int) PARTITION BY RANGE (id); CREATE TABLE pt1 PARTITION OF pt FOR VALUES FROM (1) TO (10001);'
 ' INSERT INTO pt SELECT g, g FROM generate_series(1, 10000) g;',
 ARRAY['ALTER TABLE pt ADD CONSTRAINT pt_a_pos CHECK (a > 0) NOT VALID']),
('part_drop_column', 'partition', 'CREATE TABLE pt (id int, a int) PARTITION BY RANGE (id); CREATE TABLE pt1 PARTITION OF pt FOR VALUES FROM (1) TO (10001);'
 ' INSERT INTO pt SELECT g, g FROM generate_series(1, 10000) g;',
 ARRAY['ALTER TABLE pt DROP COLUMN a']),
('part_set_default', 'partition', 'CREATE TABLE pt (id int, a int) PARTITION BY RANGE (id); CREATE TABLE pt1 PARTITION OF pt FOR VALUES FROM (1) TO (10001);'
 ' INSERT INTO pt SELECT g, g FROM generate_series(1, 10000) g;',
 ARRAY['ALTER TABLE pt ALTER COLUMN a SET DEFAULT 0']),
('part_alter_type', 'partition', 'CREATE TABLE pt (id int, a int) PARTITION BY RANGE (id); CREATE TABLE pt1 PARTITION OF pt FOR VALUES FROM (1) TO (10001);'
 ' INSERT INTO pt SELECT g, g FROM generate_series(1, 10000) g;',
 ARRAY['ALTER TABLE pt ALTER COLUMN a TYPE bigint']),
('part_add_column_const', 'partition', 'CREATE TABLE pt (id int, a int) PARTITION BY RANGE (id); CREATE TABLE pt1 PARTITION OF pt FOR VALUES FROM (1) TO (10001);'
 ' INSERT INTO pt SELECT g, g FROM generate_series(1, 10000) g;',
 ARRAY['ALTER TABLE pt ADD COLUMN f int DEFAULT 0']),
('part_add_primary_key', 'partition', 'CREATE TABLE pt (id int, a int) PARTITION BY RANGE (id); CREATE TABLE pt1 PARTITION OF pt FOR VALUES FROM (1) TO (10001);'
 ' INSERT INTO pt SELECT g, g FROM generate_series(1, 10000) g;',
 ARRAY['ALTER TABLE pt ADD PRIMARY KEY (id)']),
('part_detach_with_default', 'partition',
 'CREATE TABLE pt (id int, a int) PARTITION BY RANGE (id); CREATE TABLE pt1 PARTITION OF pt FOR VALUES FROM (1) TO (10001);'
 ' CREATE TABLE ptd PARTITION OF pt DEFAULT;'
 ' INSERT INTO pt SELECT g, g FROM generate_series(1, 20000) g;',
 ARRAY['ALTER TABLE pt DETACH PARTITION pt1']),
('part_attach_partitioned', 'partition',
 'CREATE TABLE pt (id int, a int) PARTITION BY RANGE (id); CREATE TABLE pt1 PARTITION OF pt FOR VALUES FROM (1) TO (10001);'
 ' INSERT INTO pt SELECT g, g FROM generate_series(1, 10000) g;'
 ' CREATE TABLE pt2 (id int, a int) PARTITION BY RANGE (id); CREATE TABLE pt2a PARTITION OF pt2 FOR VALUES FROM (10001) TO (15001);'
 ' CREATE TABLE pt2b PARTITION OF pt2 FOR VALUES FROM (15001) TO (20001); INSERT INTO pt2 SELECT g, g FROM generate_series(10001, 20000) g;',
 ARRAY['ALTER TABLE pt ATTACH PARTITION pt2 FOR VALUES FROM (10001) TO (20001)']),
('part_attach_function_bound', 'partition',
 'CREATE TABLE pt (id int, a int) PARTITION BY RANGE (id); CREATE TABLE pt1 PARTITION OF pt FOR VALUES FROM (1) TO (10001);'
 ' INSERT INTO pt SELECT g, g FROM generate_series(1, 10000) g;'
 ' CREATE TABLE pt2 (id int, a int); INSERT INTO pt2 SELECT g, g FROM generate_series(10001, 20000) g;',
 ARRAY['ALTER TABLE pt ATTACH PARTITION pt2 FOR VALUES FROM (abs(-10001)) TO (20001)']),
('part_attach_list', 'partition',
 'CREATE TABLE pl (region text, a int) PARTITION BY LIST (region); CREATE TABLE pl_eu PARTITION OF pl FOR VALUES IN (''eu'');'
 ' CREATE TABLE pl_other PARTITION OF pl DEFAULT; INSERT INTO pl SELECT CASE WHEN g % 2 = 0 THEN ''eu'' ELSE ''us'' END, g FROM generate_series(1, 10000) g;'
 ' CREATE TABLE pl_asia (region text, a int); INSERT INTO pl_asia SELECT ''asia'', g FROM generate_series(1, 5000) g;',
 ARRAY['ALTER TABLE pl ATTACH PARTITION pl_asia FOR VALUES IN (''asia'')']),
('part_create_list_default_proven', 'partition',
 'CREATE TABLE pl (region text NOT NULL, a int) PARTITION BY LIST (region); CREATE TABLE pl_eu PARTITION OF pl FOR VALUES IN (''eu'');'
 ' CREATE TABLE pl_other PARTITION OF pl DEFAULT; INSERT INTO pl SELECT CASE WHEN g % 2 = 0 THEN ''eu'' ELSE ''us'' END, g FROM generate_series(1, 10000) g;'
 ' ALTER TABLE pl_other ADD CONSTRAINT pl_other_us CHECK (region = ''us'');',
 ARRAY['CREATE TABLE pl_asia PARTITION OF pl FOR VALUES IN (''asia'')']),
('part_create_default', 'partition', 'CREATE TABLE pt (id int, a int) PARTITION BY RANGE (id); CREATE TABLE pt1 PARTITION OF pt FOR VALUES FROM (1) TO (10001);'
 ' INSERT INTO pt SELECT g, g FROM generate_series(1, 10000) g;',
 ARRAY['CREATE TABLE ptd PARTITION OF pt DEFAULT']),
('inherit_add_column', 'partition',
 'CREATE TABLE ip (id int, a int); CREATE TABLE ic (b int) INHERITS (ip); INSERT INTO ip SELECT g, g FROM generate_series(1, 5000) g;'
 ' INSERT INTO ic SELECT g, g, g FROM generate_series(1, 5000) g;',
 ARRAY['ALTER TABLE ip ADD COLUMN f float8 DEFAULT random()']),
('inherit_add_column_only', 'partition',
 'CREATE TABLE ip (id int, a int); CREATE TABLE ic (b int) INHERITS (ip); INSERT INTO ip SELECT g, g FROM generate_series(1, 5000) g;'
 ' INSERT INTO ic SELECT g, g, g FROM generate_series(1, 5000) g;',
 ARRAY['ALTER TABLE ONLY ip ALTER COLUMN a SET DEFAULT 0']),
('inherit_add_check', 'partition', 'CREATE TABLE ip (id int, a int); CREATE TABLE ic (b int) INHERITS (ip); INSERT INTO ip SELECT g, g FROM generate_series(1, 5000) g;'
 ' INSERT INTO ic SELECT g, g, g FROM generate_series(1, 5000) g;',
 ARRAY['ALTER TABLE ip ADD CONSTRAINT ip_a_pos CHECK (a > 0)']),
('inherit_add_unique', 'partition', 'CREATE TABLE ip (id int, a int); CREATE TABLE ic (b int) INHERITS (ip); INSERT INTO ip SELECT g, g FROM generate_series(1, 5000) g;'
 ' INSERT INTO ic SELECT g, g, g FROM generate_series(1, 5000) g;',
 ARRAY['ALTER TABLE ip ADD CONSTRAINT ip_a_key UNIQUE (a)']),
('inherit_add_primary_key', 'partition', 'CREATE TABLE ip (id int, a int); CREATE TABLE ic (b int) INHERITS (ip); INSERT INTO ip SELECT g, g FROM generate_series(1, 5000) g;'
 ' INSERT INTO ic SELECT g, g, g FROM generate_series(1, 5000) g;',
 ARRAY['ALTER TABLE ip ADD PRIMARY KEY (id)']),
('part_add_column_volatile', 'partition',
 'CREATE TABLE pt (id int, a int) PARTITION BY RANGE (id); CREATE TABLE pt1 PARTITION OF pt FOR VALUES FROM (1) TO (10001);'
 ' INSERT INTO pt SELECT g, g FROM generate_series(1, 10000) g;',
 ARRAY['ALTER TABLE pt ADD COLUMN f float8 DEFAULT random()']),

-- Materialized views, domains, index tablespaces.
('mv_refresh', 'other',
 :'t_setup' || ' CREATE MATERIALIZED VIEW mv AS SELECT id, a FROM t;',
 ARRAY['REFRESH MATERIALIZED VIEW mv']),
('mv_refresh_concurrently', 'other',
 :'t_setup' || ' CREATE MATERIALIZED VIEW mv AS SELECT id, a FROM t; CREATE UNIQUE INDEX mv_id ON mv (id);',
 ARRAY['REFRESH MATERIALIZED VIEW CONCURRENTLY mv']),
('domain_add_check', 'other',
 'CREATE DOMAIN posint AS int; CREATE TABLE t1 (id int, v posint); CREATE TABLE t2 (id int, w posint);'
 ' INSERT INTO t1 SELECT g, g FROM generate_series(1, 10000) g; INSERT INTO t2 SELECT g, g FROM generate_series(1, 10000) g;',
 ARRAY['ALTER DOMAIN posint ADD CONSTRAINT posint_pos CHECK (VALUE > 0)']),
('domain_add_check_not_valid', 'other',
 'CREATE DOMAIN posint AS int; CREATE TABLE t1 (id int, v posint); CREATE TABLE t2 (id int, w posint);'
 ' INSERT INTO t1 SELECT g, g FROM generate_series(1, 10000) g; INSERT INTO t2 SELECT g, g FROM generate_series(1, 10000) g;',
 ARRAY['ALTER DOMAIN posint ADD CONSTRAINT posint_pos CHECK (VALUE > 0) NOT VALID']),
('domain_validate', 'other',
 'CREATE DOMAIN posint AS int; CREATE TABLE t1 (id int, v posint); CREATE TABLE t2 (id int, w posint);'
 ' INSERT INTO t1 SELECT g, g FROM generate_series(1, 10000) g; INSERT INTO t2 SELECT g, g FROM generate_series(1, 10000) g;'
 ' ALTER DOMAIN posint ADD CONSTRAINT posint_pos CHECK (VALUE > 0) NOT VALID;',
 ARRAY['ALTER DOMAIN posint VALIDATE CONSTRAINT posint_pos']),
('domain_set_not_null', 'other',
 'CREATE DOMAIN posint AS int; CREATE TABLE t1 (id int, v posint); CREATE TABLE t2 (id int, w posint);'
 ' INSERT INTO t1 SELECT g, g FROM generate_series(1, 10000) g; INSERT INTO t2 SELECT g, g FROM generate_series(1, 10000) g;',
 ARRAY['ALTER DOMAIN posint SET NOT NULL']),
('mv_refresh_with_no_data', 'other',
 :'t_setup' || ' CREATE MATERIALIZED VIEW mv AS SELECT id, a FROM t;',
 ARRAY['REFRESH MATERIALIZED VIEW mv WITH NO DATA']),
('domain_derived', 'other',
 'CREATE DOMAIN anint AS int; CREATE DOMAIN posint AS anint; CREATE TABLE t1 (id int, v posint);'
 ' INSERT INTO t1 SELECT g, g FROM generate_series(1, 10000) g;',
 ARRAY['ALTER DOMAIN anint ADD CONSTRAINT anint_pos CHECK (VALUE > 0)']),
('domain_partitioned', 'other',
 'CREATE DOMAIN posint AS int; CREATE TABLE pt (id int, v posint) PARTITION BY RANGE (id);'
 ' CREATE TABLE pt1 PARTITION OF pt FOR VALUES FROM (1) TO (10001); INSERT INTO pt SELECT g, g FROM generate_series(1, 10000) g;',
 ARRAY['ALTER DOMAIN posint ADD CONSTRAINT posint_pos CHECK (VALUE > 0)']),
('reindex_index', 'basics', :'t_setup' || ' CREATE INDEX t_a ON t (a);',
 ARRAY['REINDEX INDEX t_a']),
('index_set_tablespace', 'other', :'t_setup' || ' CREATE INDEX t_a ON t (a);',
 ARRAY['ALTER INDEX t_a SET TABLESPACE verdicts_ts']),

-- Foreign keys on new columns.
('fk_new_column', 'fk',
 'CREATE TABLE p (id int PRIMARY KEY); INSERT INTO p SELECT g FROM generate_series(1, 1000) g; ' || :'t_setup',
 ARRAY['ALTER TABLE t ADD COLUMN p_id int REFERENCES p (id)']),
('fk_new_column_default', 'fk',
 'CREATE TABLE p (id int PRIMARY KEY); INSERT INTO p SELECT g FROM generate_series(1, 1000) g; ' || :'t_setup',
 ARRAY['ALTER TABLE t ADD COLUMN p_id int DEFAULT 1 REFERENCES p (id)']),
('fk_new_column_and_default', 'fk',
 'CREATE TABLE p (id int PRIMARY KEY); INSERT INTO p SELECT g FROM generate_series(1, 1000) g; ' || :'t_setup',
 ARRAY['ALTER TABLE t ADD COLUMN p_id int REFERENCES p (id), ADD COLUMN f int DEFAULT 0']),
('fk_existing_column', 'fk',
 'CREATE TABLE p (id int PRIMARY KEY); INSERT INTO p SELECT g FROM generate_series(1, 10000) g; ' || :'t_setup',
 ARRAY['ALTER TABLE t ADD CONSTRAINT t_a_fk FOREIGN KEY (a) REFERENCES p (id)']),
('fk_not_valid_then_validate', 'fk',
 'CREATE TABLE p (id int PRIMARY KEY); INSERT INTO p SELECT g FROM generate_series(1, 10000) g; ' || :'t_setup',
 ARRAY['ALTER TABLE t ADD CONSTRAINT t_a_fk FOREIGN KEY (a) REFERENCES p (id) NOT VALID',
       'ALTER TABLE t VALIDATE CONSTRAINT t_a_fk']),

-- Scripts: transaction blocks, objects the script itself created.
('script_validate_own_transaction', 'script', :'t_setup',
 ARRAY['BEGIN', 'ALTER TABLE t ADD CONSTRAINT t_a_pos CHECK (a > 0) NOT VALID', 'COMMIT',
       'ALTER TABLE t VALIDATE CONSTRAINT t_a_pos']),
('script_validate_same_transaction', 'script', :'t_setup',
 ARRAY['BEGIN', 'ALTER TABLE t ADD CONSTRAINT t_a_pos CHECK (a > 0) NOT VALID',
       'ALTER TABLE t VALIDATE CONSTRAINT t_a_pos', 'COMMIT']),
('script_two_blocks', 'script', :'t_setup',
 ARRAY['BEGIN', 'ALTER TABLE t ADD COLUMN f int', 'COMMIT',
       'BEGIN', 'SET LOCAL lock_timeout = ''1s''', 'ALTER TABLE t ADD CONSTRAINT t_f_pos CHECK (f > 0) NOT VALID', 'COMMIT',
       'ALTER TABLE t VALIDATE CONSTRAINT t_f_pos']),
('script_new_table_filled', 'script', :'t_setup',
 ARRAY['CREATE TABLE n (id int, a int)', 'INSERT INTO n SELECT id, a FROM t',
       'CREATE INDEX n_a ON n (a)', 'ALTER TABLE n ADD PRIMARY KEY (id)', 'UPDATE n SET a = a + 1',
       'DROP TABLE n']),
('script_new_table_blocks', 'script', :'t_setup',
 ARRAY['BEGIN', 'CREATE TABLE n (id int, a int)', 'COMMIT',
       'BEGIN', 'INSERT INTO n SELECT id, a FROM t', 'CREATE INDEX n_a ON n (a)', 'COMMIT',
       'ALTER TABLE n ALTER COLUMN a TYPE bigint', 'DELETE FROM n', 'DROP TABLE n']),
('script_create_table_as', 'script', :'t_setup',
 ARRAY['CREATE TABLE n AS SELECT id, a FROM t', 'ALTER TABLE n ADD PRIMARY KEY (id)',
       'CREATE INDEX n_a ON n (a)', 'DROP TABLE n']),

-- large_dml: the planner's estimate and what the statement really changes.
('dml_large_estimated', 'large_dml', :'t_setup',
 ARRAY['UPDATE t SET a = a + 1 WHERE id <= 5000']),
('dml_small', 'large_dml', :'t_setup',
 ARRAY['UPDATE t SET a = a + 1 WHERE id <= 10']),
('dml_underestimated_like', 'large_dml', :'t_setup',
 ARRAY['UPDATE t SET a = a + 1 WHERE lower(b) LIKE ''x%''']),
('dml_underestimated_equal', 'large_dml', :'t_setup',
 ARRAY['DELETE FROM t WHERE abs(a) = a']),
('dml_underestimated_and', 'large_dml', :'t_setup',
 ARRAY['UPDATE t SET b = b WHERE id > 0 AND length(c) = length(c)']),
('dml_expression_index', 'large_dml', :'t_setup' || ' CREATE INDEX t_lower_b ON t (lower(b));',
 ARRAY['UPDATE t SET a = a + 1 WHERE lower(b) LIKE ''x%''']),
('dml_expression_index_small', 'large_dml', :'t_setup' || ' CREATE INDEX t_lower_b ON t (lower(b));',
 ARRAY['UPDATE t SET a = a + 1 WHERE lower(b) = ''x10''']),
('dml_new_table', 'large_dml', :'t_setup',
 ARRAY['CREATE TABLE n AS SELECT * FROM t', 'ANALYZE n', 'UPDATE n SET a = a + 1', 'DELETE FROM n WHERE id > 10']),
('dml_small_with_expression', 'large_dml', :'t_setup',
 ARRAY['UPDATE t SET a = a + 1 WHERE id <= 10 AND lower(b) LIKE ''x%''']);
