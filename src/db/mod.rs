//! Storage: one code path for queries on SQLite and PostgreSQL.
//!
//! `DbConnection` is diesel's `MultiConnection` over both backends, so a query is written
//! once. Where the two dialects differ (upserts, locking), a query matches on the variant.
//! This module never imports actix.

pub mod pool;
pub mod schema;
pub mod throttle;
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
