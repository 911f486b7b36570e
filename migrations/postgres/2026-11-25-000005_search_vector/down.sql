CREATE INDEX ticket_search_document_idx ON ticket_search USING GIN (to_tsvector('simple', document));
DROP INDEX ticket_search_vector_idx;
ALTER TABLE ticket_search DROP COLUMN vector;
