-- Follow-up: service targets, business calendar, reminders and the mail outbox.
-- Keep in step with the other backend's set (tests/api/schema.rs compares the two).

-- Every email, written in the same transaction as the event that causes it. The unique
-- idempotency key makes "exactly once" a database fact.
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY NOT NULL,
    idempotency_key TEXT NOT NULL,
    kind TEXT NOT NULL,
    ticket_id BIGINT REFERENCES tickets (id),
    to_address TEXT NOT NULL,
    to_name TEXT,
    subject TEXT NOT NULL,
    text_body TEXT NOT NULL,
    html_body TEXT NOT NULL,
    message_id TEXT NOT NULL,
    in_reply_to TEXT,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'dead')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    last_error TEXT,
    locked_by TEXT,
    locked_until TIMESTAMP,
    sent_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX outbox_idempotency_key_key ON outbox (idempotency_key);
CREATE INDEX outbox_due_idx ON outbox (status, next_attempt_at);

-- Targets per priority, in business minutes.
CREATE TABLE target_policies (
    priority TEXT PRIMARY KEY NOT NULL CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    first_response_minutes INTEGER NOT NULL,
    next_response_minutes INTEGER NOT NULL,
    resolution_minutes INTEGER NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- Working hours per weekday (0 = Monday); NULL hours mean closed.
CREATE TABLE business_hours (
    weekday INTEGER PRIMARY KEY NOT NULL CHECK (weekday BETWEEN 0 AND 6),
    open_minute INTEGER,
    close_minute INTEGER
);

CREATE TABLE holidays (
    holiday_date DATE PRIMARY KEY NOT NULL,
    name TEXT NOT NULL
);

-- Jobs done once (a manager's digest for one local day …).
CREATE TABLE job_marks (
    mark TEXT PRIMARY KEY NOT NULL,
    created_at TIMESTAMP NOT NULL
);

ALTER TABLE tickets ADD COLUMN first_response_due_at TIMESTAMP;
ALTER TABLE tickets ADD COLUMN resolution_due_at TIMESTAMP;
ALTER TABLE tickets ADD COLUMN first_response_warned BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE tickets ADD COLUMN first_response_breached BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE tickets ADD COLUMN resolution_warned BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE tickets ADD COLUMN resolution_breached BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE tickets ADD COLUMN clock_paused_at TIMESTAMP;
ALTER TABLE tickets ADD COLUMN paused_minutes INTEGER NOT NULL DEFAULT 0;
CREATE INDEX tickets_first_response_due_idx ON tickets (first_response_due_at);
CREATE INDEX tickets_resolution_due_idx ON tickets (resolution_due_at);

ALTER TABLE promises ADD COLUMN reminded_at TIMESTAMP;
ALTER TABLE promises ADD COLUMN overdue_alerted_at TIMESTAMP;
ALTER TABLE promises ADD COLUMN escalation_alerted_at TIMESTAMP;
