DROP INDEX promises_climb_idx;
CREATE INDEX promises_climb_idx ON promises (status, escalation_alerted_at, overdue_alerted_at);
DROP INDEX promises_unalerted_idx;
CREATE INDEX promises_unalerted_idx ON promises (status, overdue_alerted_at, due_at);
