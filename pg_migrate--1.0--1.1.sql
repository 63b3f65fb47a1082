/* pg_migrate--1.0--1.1.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION pg_migrate UPDATE TO '1.1'" to load this file. \quit

/*
 * The house rules of pg_migrate--1.0.sql apply here too: no CREATE OR
 * REPLACE, every function pinned to search_path = pg_catalog, pg_temp, every
 * reference to our own objects qualified with @extschema@.  A fresh
 * installation of 1.1 runs pg_migrate--1.0.sql and then this script, so an
 * upgraded database and a fresh one are built by the same statements.
 */
