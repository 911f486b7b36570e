//! Storage: one code path for queries on SQLite and PostgreSQL.
//!
//! `DbConnection` is diesel's `MultiConnection` over both backends, so a query is written
//! once. Where the two dialects differ (full-text search, upserts, locking), a query matches
//! on the variant. This module never imports actix.

pub mod app_settings;
pub mod attachments;
pub mod canned;
pub mod customers;
pub mod events;
pub mod outbox;
pub mod pool;
pub mod promises;
pub mod replacements;
pub mod reports;
pub mod schema;
pub mod search;
pub mod throttle;
pub mod tickets;
pub mod users;

pub use pool::{connect_pool, DbPool};

#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgres(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

/// The current time as stored: UTC, microsecond precision (what both backends keep).
pub fn now() -> chrono::NaiveDateTime {
    use chrono::{SubsecRound, Utc};
    Utc::now().naive_utc().trunc_subsecs(6)
}
