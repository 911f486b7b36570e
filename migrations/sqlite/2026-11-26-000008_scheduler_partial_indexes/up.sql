-- Each scheduler index holds only the promises its question is about, so that an overdue
-- alert (which sets overdue_alerted_at) deletes one entry from the first and adds one to the
-- second, instead of moving an entry within each of them (measured in BENCHMARKS.md §3).
-- Open promises not yet alerted, by due time (the reminders and the overdue alerts).
DROP INDEX promises_unalerted_idx;
CREATE INDEX promises_unalerted_idx ON promises (status, due_at) WHERE overdue_alerted_at IS NULL;
-- Alerted promises not yet climbed a level, by when the manager was told.
DROP INDEX promises_climb_idx;
CREATE INDEX promises_climb_idx ON promises (status, overdue_alerted_at)
    WHERE escalation_alerted_at IS NULL AND overdue_alerted_at IS NOT NULL;
