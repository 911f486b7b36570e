-- Users of the desk and the counters that slow down password guessing.
-- Keep in step with migrations/postgres (tests/api/schema.rs compares the two).
CREATE TABLE users (
    id INTEGER PRIMARY KEY NOT NULL,
    email TEXT NOT NULL,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('agent', 'manager', 'admin')),
    password_hash TEXT NOT NULL,
    manager_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    locale TEXT NOT NULL DEFAULT 'id' CHECK (locale IN ('id', 'en')),
    active BOOLEAN NOT NULL DEFAULT TRUE,
    away BOOLEAN NOT NULL DEFAULT FALSE,
    must_change_password BOOLEAN NOT NULL DEFAULT FALSE,
    token_version INTEGER NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX users_email_key ON users (email);
CREATE INDEX users_manager_id_idx ON users (manager_id);

CREATE TABLE login_throttle (
    throttle_key TEXT PRIMARY KEY NOT NULL,
    failures INTEGER NOT NULL,
    window_started_at TIMESTAMP NOT NULL,
    locked_until TIMESTAMP
);
