-- The "waiting for the customer" tab sorts by id within awaiting_customer: without this index
-- it sorted every waiting ticket on each view (0.2-0.4 s at a million tickets).
CREATE INDEX tickets_waiting_idx ON tickets (awaiting_customer, id);
-- The overdue tab (an open promise due before now), newest first: a partial index of the
-- tickets that hold a promise, covering the due time, so the tab walks promised tickets only.
CREATE INDEX tickets_promised_idx ON tickets (id, next_promise_due_at) WHERE next_promise_due_at IS NOT NULL;
