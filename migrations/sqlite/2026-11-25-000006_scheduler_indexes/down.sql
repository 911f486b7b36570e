DROP INDEX tickets_resolution_open_idx;
DROP INDEX tickets_first_response_open_idx;
DROP INDEX promises_climb_idx;
DROP INDEX promises_unalerted_idx;
ALTER TABLE outbox DROP COLUMN template_data;
