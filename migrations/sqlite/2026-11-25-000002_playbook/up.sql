-- The playbook: customers, partners, tickets and everything that hangs off them.
-- Keep in step with migrations/postgres (tests/api/schema.rs compares the two).
CREATE TABLE customers (
    id INTEGER PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    email TEXT,
    phone TEXT,
    whatsapp TEXT,
    instagram TEXT,
    locale TEXT NOT NULL DEFAULT 'id' CHECK (locale IN ('id', 'en')),
    notes TEXT NOT NULL DEFAULT '',
    email_opt_out BOOLEAN NOT NULL DEFAULT FALSE,
    version INTEGER NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
-- One person is one customer: each way of reaching them belongs to one customer only.
CREATE UNIQUE INDEX customers_email_key ON customers (email);
CREATE UNIQUE INDEX customers_phone_key ON customers (phone);
CREATE UNIQUE INDEX customers_whatsapp_key ON customers (whatsapp);
CREATE UNIQUE INDEX customers_instagram_key ON customers (instagram);
CREATE INDEX customers_name_idx ON customers (name);

CREATE TABLE partners (
    id INTEGER PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('reseller', 'dropshipper', 'stockist', 'agent')),
    contact TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX partners_name_key ON partners (name);

CREATE TABLE tickets (
    id INTEGER PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    channel TEXT NOT NULL,
    customer_id BIGINT NOT NULL REFERENCES customers (id),
    partner_id BIGINT REFERENCES partners (id),
    subject TEXT NOT NULL,
    customer_words TEXT NOT NULL,
    product TEXT,
    order_ref TEXT,
    category TEXT,
    details TEXT,
    root_cause TEXT,
    solution_type TEXT,
    solution TEXT,
    proposal_state TEXT,
    customer_comment TEXT,
    priority TEXT NOT NULL,
    stage TEXT NOT NULL,
    escalated_from TEXT,
    escalated_to BIGINT REFERENCES users (id),
    escalation_reason TEXT,
    assignee_id BIGINT REFERENCES users (id),
    created_by BIGINT REFERENCES users (id),
    resolution_summary TEXT,
    satisfaction INTEGER,
    next_promise_due_at TIMESTAMP,
    awaiting_customer BOOLEAN NOT NULL DEFAULT FALSE,
    version INTEGER NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    acknowledged_at TIMESTAMP,
    resolved_at TIMESTAMP,
    closed_at TIMESTAMP
);
-- One index per queue filter, each ending in id for keyset pagination (newest first).
CREATE INDEX tickets_stage_idx ON tickets (stage, id);
CREATE INDEX tickets_assignee_idx ON tickets (assignee_id, stage, id);
CREATE INDEX tickets_escalated_to_idx ON tickets (escalated_to, stage, id);
CREATE INDEX tickets_promise_due_idx ON tickets (next_promise_due_at, id);
CREATE INDEX tickets_customer_idx ON tickets (customer_id, id);
CREATE INDEX tickets_partner_idx ON tickets (partner_id, id);
CREATE INDEX tickets_channel_idx ON tickets (channel, id);
CREATE INDEX tickets_category_idx ON tickets (category, id);
CREATE INDEX tickets_priority_idx ON tickets (priority, id);
CREATE INDEX tickets_kind_idx ON tickets (kind, id);
CREATE INDEX tickets_awaiting_idx ON tickets (awaiting_customer, stage, id);

-- The timeline: append-only. Public replies, internal notes and system events are kept
-- apart by `visibility`.
CREATE TABLE ticket_events (
    id INTEGER PRIMARY KEY NOT NULL,
    ticket_id BIGINT NOT NULL REFERENCES tickets (id),
    actor_id BIGINT REFERENCES users (id),
    kind TEXT NOT NULL,
    visibility TEXT NOT NULL CHECK (visibility IN ('public', 'internal', 'system')),
    body TEXT,
    data TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX ticket_events_ticket_idx ON ticket_events (ticket_id, id);

CREATE TABLE promises (
    id INTEGER PRIMARY KEY NOT NULL,
    ticket_id BIGINT NOT NULL REFERENCES tickets (id),
    what TEXT NOT NULL,
    due_at TIMESTAMP NOT NULL,
    promised_by BIGINT NOT NULL REFERENCES users (id),
    status TEXT NOT NULL CHECK (status IN ('open', 'kept', 'broken')),
    note TEXT,
    replaced_by BIGINT,
    closed_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX promises_ticket_idx ON promises (ticket_id, id);
CREATE INDEX promises_open_due_idx ON promises (status, due_at);

CREATE TABLE replacements (
    id INTEGER PRIMARY KEY NOT NULL,
    ticket_id BIGINT NOT NULL REFERENCES tickets (id),
    item TEXT NOT NULL,
    quantity INTEGER NOT NULL CHECK (quantity > 0),
    reason TEXT NOT NULL,
    cost BIGINT NOT NULL CHECK (cost >= 0),
    status TEXT NOT NULL CHECK (status IN ('requested', 'approved', 'shipped', 'delivered', 'cancelled')),
    needs_approval BOOLEAN NOT NULL,
    approved_by BIGINT REFERENCES users (id),
    courier TEXT,
    tracking_number TEXT,
    cancel_reason TEXT,
    requested_by BIGINT NOT NULL REFERENCES users (id),
    version INTEGER NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    shipped_at TIMESTAMP,
    delivered_at TIMESTAMP
);
CREATE INDEX replacements_ticket_idx ON replacements (ticket_id, id);
CREATE INDEX replacements_status_idx ON replacements (status, created_at);

CREATE TABLE canned_responses (
    id INTEGER PRIMARY KEY NOT NULL,
    key TEXT,
    step TEXT NOT NULL,
    locale TEXT NOT NULL CHECK (locale IN ('id', 'en')),
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    version INTEGER NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX canned_responses_key_locale_key ON canned_responses (key, locale);
CREATE INDEX canned_responses_step_idx ON canned_responses (step, locale);

CREATE TABLE attachments (
    id INTEGER PRIMARY KEY NOT NULL,
    ticket_id BIGINT NOT NULL REFERENCES tickets (id),
    event_id BIGINT REFERENCES ticket_events (id),
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    uploaded_by BIGINT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX attachments_ticket_idx ON attachments (ticket_id, id);

-- Desk-wide settings an admin changes at run time (auto-assignment, approval threshold …).
CREATE TABLE app_settings (
    key TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- Full-text search over subject, the customer's words, customer name and order reference.
-- SQLite: an FTS5 table whose rowid is the ticket id (PostgreSQL: a tsvector GIN index).
CREATE VIRTUAL TABLE ticket_search USING fts5 (document, tokenize = 'unicode61 remove_diacritics 2');
