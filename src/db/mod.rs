//! Storage: one code path for queries on SQLite and PostgreSQL.
//!
//! `DbConnection` is diesel's `MultiConnection` over both backends, so a query is written
//! once. Where the two dialects differ (full-text search, upserts, locking), a query matches
//! on the variant. This module never imports actix.

/// Rows per multi-row INSERT: a PostgreSQL statement takes at most 65,535 parameters and a
/// SQLite one 32,766, and no table here has 32 columns.
pub const ROWS_PER_INSERT: usize = 1000;

/// Inserts many rows, one multi-row statement per `ROWS_PER_INSERT` rows, and returns the
/// `$returning` id column of each, in row order. Neither backend promises the order of
/// RETURNING's rows (SQLite says it is arbitrary), but both number a statement's rows in the
/// order they are written, so the ids are sorted. (A multi-row INSERT on SQLite needs an
/// `Insertable` that writes `None` as NULL: `treat_none_as_default_value = false`.)
macro_rules! insert_many {
    ($conn:expr, $table:expr, $rows:expr, $returning:expr) => {{
        let mut ids: Vec<i64> = Vec::with_capacity($rows.len());
        for chunk in $rows.chunks($crate::db::ROWS_PER_INSERT) {
            let insert = diesel::insert_into($table)
                .values(chunk)
                .returning($returning);
            let mut chunk_ids: Vec<i64> = match $conn {
                $crate::db::DbConnection::Postgres(c) => insert.get_results(c)?,
                $crate::db::DbConnection::Sqlite(c) => insert.get_results(c)?,
            };
            chunk_ids.sort_unstable();
            ids.extend(chunk_ids);
        }
        Ok(ids)
    }};
}

/// Runs a query on the backend's own connection. Through `DbConnection` (diesel's
/// `MultiConnection`) every execution writes the statement's SQL out again, twice, even when
/// the statement is prepared already; on the backend's connection a cached statement is found
/// by its type. For the statements every request runs (measured: the SQL writing was a fifth
/// of the shared writer's time in intake).
macro_rules! on_backend {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            $crate::db::DbConnection::Postgres($c) => $body,
            $crate::db::DbConnection::Sqlite($c) => $body,
        }
    };
}
pub(crate) use on_backend;

pub mod any_of;
pub mod app_settings;
pub mod attachments;
pub mod canned;
pub mod customers;
pub mod events;
pub mod explain;
pub mod group_commit;
pub mod outbox;
pub mod pool;
pub mod promises;
pub mod replacements;
pub mod reports;
pub mod schema;
pub mod search;
pub mod stamp;
pub mod subquery;
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

/// The queue of this process's SQLite writers (see `write`).
static SQLITE_WRITER: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// How much a write's commit must wait for the disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// Somebody is answered once it is committed: it must survive a power loss (with the
    /// default settings).
    Answered,
    /// Nobody is answered, and the next pass redoes it if it is lost and still due: the
    /// scheduler finds its work by what is not yet marked done and marks it in the same
    /// transaction. Its commit does not wait for the disk. A power loss can lose the last of
    /// these, each whole (a mark never without its mails); the next pass writes them again
    /// unless the moment passed meanwhile (a breach the agent answered since, a reminder whose
    /// promise fell due), as if that pass had not run. The first commit that waits for the disk
    /// after them makes them durable too (the log is flushed in order).
    Redoable,
}

/// Runs `f` as one transaction that is going to write.
///
/// On SQLite it opens with `BEGIN IMMEDIATE`: the write lock is taken first, so concurrent
/// writers queue on the busy timeout. A plain (deferred) transaction that reads before it
/// writes would instead be refused at once with "database is locked" when another connection
/// committed in between (SQLITE_BUSY_SNAPSHOT), and the whole request would have to be run
/// again. Inside an open transaction this is a savepoint; on PostgreSQL a plain transaction.
///
/// A SQLite database opened through a pool has one writer connection, and `f` runs there,
/// not on `conn` (see `group_commit`): concurrent writes share one commit, and `f` may run on
/// another writer's thread (hence `Send`; it keeps its caller's tracing span). Connections
/// opened outside a pool queue on a process-wide lock instead.
pub fn write<T, E, F>(conn: &mut DbConnection, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E> + Send,
    T: Send,
    E: From<diesel::result::Error> + Send,
{
    write_as(conn, Durability::Answered, f)
}

/// `write` for the scheduler's passes (see `Durability::Redoable`): on SQLite such a batch
/// commits with synchronous=NORMAL and never carries an answered write; on PostgreSQL the
/// transaction runs with `synchronous_commit` off.
pub fn write_redoable<T, E, F>(conn: &mut DbConnection, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E> + Send,
    T: Send,
    E: From<diesel::result::Error> + Send,
{
    write_as(conn, Durability::Redoable, f)
}

fn write_as<T, E, F>(conn: &mut DbConnection, durability: Durability, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E> + Send,
    T: Send,
    E: From<diesel::result::Error> + Send,
{
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    use diesel::{Connection, RunQueryDsl};
    type Manager = <DbConnection as Connection>::TransactionManager;

    let outermost = match conn {
        DbConnection::Sqlite(c) => AnsiTransactionManager::transaction_manager_status_mut(c)
            .transaction_depth()?
            .is_none(),
        DbConnection::Postgres(c) => AnsiTransactionManager::transaction_manager_status_mut(c)
            .transaction_depth()?
            .is_none(),
    };
    if !outermost {
        return conn.transaction(f);
    }
    match conn {
        DbConnection::Postgres(_) => {
            return conn.transaction(|conn| {
                if durability == Durability::Redoable {
                    diesel::sql_query("SET LOCAL synchronous_commit = off").execute(conn)?;
                }
                f(conn)
            });
        }
        DbConnection::Sqlite(sqlite) => {
            if let Some(group) = group_commit::Group::of(sqlite)? {
                return group.write(durability, f);
            }
        }
    }
    // SQLite has one writer at a time. Writers of this process queue here, woken in turn,
    // rather than on SQLite's busy handler, which sleeps and retries and so lets an unlucky
    // writer wait seconds under load. (Other processes still meet the busy timeout.) Such a
    // connection keeps its own settings: every write is as durable as an answered one.
    let _turn = SQLITE_WRITER
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let DbConnection::Sqlite(sqlite) = conn {
        AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE")?;
    }
    // From here on as diesel's own `transaction`, with the transaction already open.
    match f(conn) {
        Ok(value) => {
            Manager::commit_transaction(conn)?;
            Ok(value)
        }
        Err(error) => match Manager::rollback_transaction(conn) {
            Ok(()) | Err(diesel::result::Error::BrokenTransactionManager) => Err(error),
            Err(rollback_error) => Err(rollback_error.into()),
        },
    }
}

/// The longest SQLite's write lock was held by one commit of this pool's writer since the last
/// call (`None` on PostgreSQL, which has no such lock).
pub fn take_longest_write_hold(
    conn: &mut DbConnection,
) -> Result<Option<std::time::Duration>, diesel::result::Error> {
    match conn {
        DbConnection::Sqlite(sqlite) => {
            Ok(group_commit::Group::of(sqlite)?.map(|group| group.take_longest_hold()))
        }
        DbConnection::Postgres(_) => Ok(None),
    }
}
