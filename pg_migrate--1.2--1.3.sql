/* pg_migrate--1.2--1.3.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION pg_migrate UPDATE TO '1.3'" to load this file. \quit

-- Placeholder: version 1.3's objects are defined on another line of work;
-- this file keeps the upgrade chain 1.0 -> 1.4 whole until it arrives.
