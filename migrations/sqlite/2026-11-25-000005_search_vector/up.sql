-- PostgreSQL's search gets a stored tsvector column here; SQLite's FTS5 table already stores
-- its index, so nothing changes. The migration exists so both sets keep the same list.
SELECT 1;
