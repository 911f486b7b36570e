-- Search reads a stored tsvector instead of computing to_tsvector per row. With the GIN index
-- on the expression, the planner could (and at a million tickets did) answer "newest first,
-- LIMIT n" by walking ticket ids backwards and computing to_tsvector for every row it passed
-- (75 ms for a common word). PostgreSQL keeps the column in step with `document` itself.
ALTER TABLE ticket_search
    ADD COLUMN vector tsvector GENERATED ALWAYS AS (to_tsvector('simple', document)) STORED;
CREATE INDEX ticket_search_vector_idx ON ticket_search USING GIN (vector);
DROP INDEX ticket_search_document_idx;
