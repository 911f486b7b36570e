-- A queued mail keeps its template variables; its bodies are rendered when it is sent. A
-- scheduler pass that queues 50,000 alerts then writes ~1 kB per mail instead of ~6 kB.
ALTER TABLE outbox ADD COLUMN template_data TEXT;
-- The scheduler's questions at a million tickets, each answered from an index range instead
-- of every ticket or promise whose due time has passed (a pass with nothing to do took 3.5 s).
-- Open promises not yet alerted, by due time (the overdue alerts).
CREATE INDEX promises_unalerted_idx ON promises (status, overdue_alerted_at, due_at);
-- Alerted promises not yet climbed a level, by when the manager was told.
CREATE INDEX promises_climb_idx ON promises (status, escalation_alerted_at, overdue_alerted_at);
-- Tickets whose first-response or resolution target is still running, by due time.
CREATE INDEX tickets_first_response_open_idx ON tickets (first_response_breached, acknowledged_at, stage, first_response_due_at);
CREATE INDEX tickets_resolution_open_idx ON tickets (resolution_breached, clock_paused_at, stage, resolution_due_at);
