//! The connection pool, connection set-up per backend, and the embedded migrations.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use diesel::connection::SimpleConnection;
use diesel::r2d2::{self, ManageConnection, R2D2Connection};
use diesel::sql_types::Integer;
use diesel::Connection;
use diesel::RunQueryDsl;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use super::group_commit::Group;
use super::DbConnection;
use crate::config::DatabaseUrl;

pub type DbPool = r2d2::Pool<Manager>;
pub type PooledConnection = r2d2::PooledConnection<Manager>;

pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Opens connections of the backend the URL names (diesel's own `establish` would guess,
/// and SQLite accepts any string as a file name).
#[derive(Clone, Debug)]
pub struct Manager {
    url: DatabaseUrl,
    /// SQLite only: the one writer connection of this pool's database (group commit).
    group: Option<Arc<Group>>,
}

impl Manager {
    pub fn new(url: DatabaseUrl) -> Self {
        let group = matches!(url, DatabaseUrl::Sqlite { .. }).then(|| Group::new(url.clone()));
        Self { url, group }
    }
}

/// SQLite settings applied to every connection: WAL so readers never block the writer,
/// foreign keys enforced, and a busy timeout so concurrent writers queue instead of failing
/// with "database is locked". `synchronous` follows the URL: FULL (the default) so an
/// answered write survives a power loss.
///
/// `temp_store` keeps a savepoint's journal in memory: each group-commit member writes in a
/// savepoint (see `group_commit`), and SQLite spilled those journals past 64 KiB into a
/// temporary file, one `pwrite` per page, inside the write lock (measured: ~7 % of intake's
/// CPU at 16 clients).
const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode = WAL;
PRAGMA foreign_keys = ON;
PRAGMA busy_timeout = 10000;
PRAGMA temp_store = MEMORY;";

/// Sets SQLite up for this process, once, before its first connection.
///
/// Connections are opened without their own mutexes (multi-thread mode) and SQLite keeps no
/// memory statistics: each connection is used by one thread at a time (diesel's connection is
/// not `Sync`), and the statistics took a process-wide mutex on every allocation, which the
/// writer's batch and the readers beside it contended for (measured: intake at 16 clients
/// +6 to +8 %). SQLite refuses both once it has started; nothing here opens it before.
///
/// And every connection turns on the query planner stability guarantee. Without it SQLite
/// plans with the values bound to a statement where they might change the plan — a bound
/// `LIMIT` (diesel binds every LIMIT, `first()` too) or a value compared with a partial
/// index's condition — and a statement so planned expires at each new binding: every
/// execution of a cached statement was prepared again (measured: a fifth of intake's CPU at
/// 16 clients, in `sqlite3Reprepare`). With the guarantee a statement is planned once, from
/// its SQL. Done by an automatic extension, SQLite's hook for each new connection, because
/// diesel does not hand out its connection's raw handle.
fn configure_sqlite() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: both options take the arguments given (an int; none), and SQLite checks
        // that it has not started yet (else it refuses with SQLITE_MISUSE and keeps its mode).
        // No other thread is inside SQLite now: every connection of this program is opened
        // by `establish`, after this. (A test that opens one by hand before any `establish`
        // only makes SQLite refuse, harmlessly.)
        let configured = unsafe {
            [
                libsqlite3_sys::sqlite3_config(
                    libsqlite3_sys::SQLITE_CONFIG_MEMSTATUS,
                    0 as std::os::raw::c_int,
                ),
                libsqlite3_sys::sqlite3_config(libsqlite3_sys::SQLITE_CONFIG_MULTITHREAD),
            ]
        };
        if configured.iter().any(|rc| *rc != libsqlite3_sys::SQLITE_OK) {
            tracing::warn!(
                ?configured,
                "SQLite had started: it keeps its mutexes and memory statistics"
            );
        }
        // SAFETY: `plan_once` has the entry-point signature SQLite calls with a connection it
        // has just opened, and only sets a flag on that connection.
        let rc = unsafe { libsqlite3_sys::sqlite3_auto_extension(Some(plan_once)) };
        if rc != libsqlite3_sys::SQLITE_OK {
            tracing::warn!(
                rc,
                "SQLite refused the planner setting: statements are re-planned"
            );
        }
    });
}

unsafe extern "C" fn plan_once(
    db: *mut libsqlite3_sys::sqlite3,
    _error: *mut *mut std::os::raw::c_char,
    _api: *const libsqlite3_sys::sqlite3_api_routines,
) -> std::os::raw::c_int {
    // SAFETY: `db` is the open connection SQLite passes to its automatic extensions; the
    // option takes an int (1: on) and a pointer for the new state, which may be null.
    unsafe {
        libsqlite3_sys::sqlite3_db_config(
            db,
            libsqlite3_sys::SQLITE_DBCONFIG_ENABLE_QPSG,
            1 as std::os::raw::c_int,
            std::ptr::null_mut::<std::os::raw::c_int>(),
        );
    }
    libsqlite3_sys::SQLITE_OK
}

pub fn establish(url: &DatabaseUrl) -> diesel::ConnectionResult<DbConnection> {
    match url {
        DatabaseUrl::Postgres(raw) => {
            diesel::PgConnection::establish(raw).map(DbConnection::Postgres)
        }
        DatabaseUrl::Sqlite { path, synchronous } => {
            configure_sqlite();
            let path = path.to_string_lossy();
            let mut conn = diesel::SqliteConnection::establish(&path)?;
            let pragmas = format!(
                "{SQLITE_PRAGMAS}\nPRAGMA synchronous = {};",
                synchronous.as_str()
            );
            conn.batch_execute(&pragmas)
                .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))?;
            Ok(DbConnection::Sqlite(conn))
        }
    }
}

impl ManageConnection for Manager {
    type Connection = Pooled;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<Pooled, Self::Error> {
        let mut conn = establish(&self.url).map_err(diesel::r2d2::Error::ConnectionError)?;
        if let (Some(group), DbConnection::Sqlite(sqlite)) = (&self.group, &mut conn) {
            group
                .register(sqlite)
                .map_err(diesel::r2d2::Error::QueryError)?;
        }
        Ok(Pooled {
            conn,
            answered_at: Instant::now(),
        })
    }

    /// A PostgreSQL connection is pinged at checkout (the server may have restarted) unless it
    /// answered within `PING_AFTER` (a ping, or a request's work through `AppState::db`); a
    /// SQLite connection is a file handle in this process and cannot go stale, so it is not.
    fn is_valid(&self, pooled: &mut Pooled) -> Result<(), Self::Error> {
        if matches!(pooled.conn, DbConnection::Sqlite(_)) || pooled.answered_recently() {
            return Ok(());
        }
        pooled
            .conn
            .ping()
            .map_err(diesel::r2d2::Error::QueryError)?;
        pooled.answered_at = Instant::now();
        Ok(())
    }

    fn has_broken(&self, pooled: &mut Pooled) -> bool {
        pooled.conn.is_broken()
    }
}

/// How long a PostgreSQL connection that answered is trusted without a ping.
///
/// A ping at every checkout was one more round trip on every request (a JSON queue read is
/// three statements on PostgreSQL); now a busy connection is not pinged at all, an idle one
/// at its first checkout after a second. A connection whose server went away in the meantime
/// fails the request it serves (503 `unavailable`) — as the ping itself could have passed just
/// before the server went — and is not handed out again: libpq then reports no transaction
/// status, diesel marks the connection broken, and r2d2 drops it (`has_broken`).
pub const PING_AFTER: Duration = Duration::from_secs(1);

/// A pooled connection and, for PostgreSQL, when it last answered. Derefs to the
/// `DbConnection` it holds.
pub struct Pooled {
    conn: DbConnection,
    answered_at: Instant,
}

impl Pooled {
    /// The connection just did its work: trust it for another `PING_AFTER`.
    pub fn answered(&mut self) {
        self.answered_at = Instant::now();
    }

    fn answered_recently(&self) -> bool {
        self.answered_at.elapsed() < PING_AFTER
    }
}

impl Deref for Pooled {
    type Target = DbConnection;

    fn deref(&self) -> &DbConnection {
        &self.conn
    }
}

impl DerefMut for Pooled {
    fn deref_mut(&mut self) -> &mut DbConnection {
        &mut self.conn
    }
}

/// Creates the SQLite directory if needed, applies pending migrations, and returns a pool.
pub fn connect_pool(url: &DatabaseUrl, size: u32) -> anyhow::Result<DbPool> {
    if let DatabaseUrl::Sqlite { path, .. } = url {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
    }
    let mut conn = establish(url).with_context(|| format!("connecting to {}", url.redacted()))?;
    run_migrations(&mut conn)?;
    drop(conn);
    r2d2::Pool::builder()
        .max_size(size)
        .min_idle(Some(1))
        .connection_timeout(Duration::from_secs(5))
        .test_on_check_out(true)
        .build(Manager::new(url.clone()))
        .context("building the connection pool")
}

/// A pool that does not connect until asked, so the service can start (and answer /readyz
/// with 503) while the database is away.
pub fn lazy_pool(url: &DatabaseUrl, size: u32) -> DbPool {
    r2d2::Pool::builder()
        .max_size(size)
        .min_idle(Some(0))
        .connection_timeout(Duration::from_secs(5))
        .build_unchecked(Manager::new(url.clone()))
}

pub fn run_migrations(conn: &mut DbConnection) -> anyhow::Result<()> {
    let applied = match conn {
        DbConnection::Postgres(c) => c
            .run_pending_migrations(POSTGRES_MIGRATIONS)
            .map(|v| v.len()),
        DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|v| v.len()),
    }
    .map_err(|e| anyhow::anyhow!("applying migrations: {e}"))?;
    if applied > 0 {
        tracing::info!(migrations.applied = applied, "database schema updated");
    }
    Ok(())
}

/// SQLite's own checkpoint after a commit: each this many pages of log (its default).
pub const AUTOCHECKPOINT_PAGES: i32 = 1000;

#[derive(diesel::QueryableByName)]
struct Checkpoint {
    #[diesel(sql_type = Integer)]
    checkpointed: i32,
}

#[derive(diesel::QueryableByName)]
struct Autocheckpoint {
    #[diesel(sql_type = Integer)]
    wal_autocheckpoint: i32,
}

/// While `hold`, the writer's commits leave the log's checkpoints to whoever calls `checkpoint`
/// (unless the log passes ten times the usual size, a bound should nobody call it); then back
/// to SQLite's default. The setting is the writer connection's, which a pool's writes share
/// (see `group_commit`): in a server, intake's commits skip their checkpoints too. Nothing on
/// PostgreSQL.
pub fn hold_checkpoints(conn: &mut DbConnection, hold: bool) -> diesel::QueryResult<()> {
    if let DbConnection::Postgres(_) = conn {
        return Ok(());
    }
    let pages = if hold {
        10 * AUTOCHECKPOINT_PAGES
    } else {
        AUTOCHECKPOINT_PAGES
    };
    super::write_redoable(conn, |c| {
        diesel::sql_query(format!("PRAGMA wal_autocheckpoint = {pages}"))
            .execute(c)
            .map(|_| ())
    })
}

/// The writer's `wal_autocheckpoint`, in pages of log (`None` on PostgreSQL).
pub fn autocheckpoint_pages(conn: &mut DbConnection) -> diesel::QueryResult<Option<i32>> {
    if let DbConnection::Postgres(_) = conn {
        return Ok(None);
    }
    super::write(conn, |c| {
        diesel::sql_query("PRAGMA wal_autocheckpoint")
            .get_result::<Autocheckpoint>(c)
            .map(|setting| Some(setting.wal_autocheckpoint))
    })
}

/// Copies the SQLite log's committed pages into the database file on this connection, without
/// waiting for any reader or writer (a passive checkpoint): work that otherwise runs after a
/// writer's commit, each 1,000 pages of log, while everyone's next write waits. Returns how
/// many pages of the log are in the database file now (0 on PostgreSQL, which has no such log,
/// and while another checkpoint runs).
pub fn checkpoint(conn: &mut DbConnection) -> diesel::QueryResult<i32> {
    match conn {
        DbConnection::Sqlite(c) => Ok(diesel::sql_query("PRAGMA wal_checkpoint(PASSIVE)")
            .get_result::<Checkpoint>(c)?
            .checkpointed
            .max(0)),
        DbConnection::Postgres(_) => Ok(0),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::config::Synchronous;

    #[derive(diesel::QueryableByName)]
    struct Setting {
        #[diesel(sql_type = Integer)]
        synchronous: i32,
    }

    /// The connection's `PRAGMA synchronous`: SQLite numbers the levels, 1 is NORMAL, 2 is FULL.
    pub(crate) fn synchronous_of(conn: &mut DbConnection) -> diesel::QueryResult<i32> {
        Ok(diesel::sql_query("PRAGMA synchronous")
            .get_result::<Setting>(conn)?
            .synchronous)
    }

    fn synchronous_of_writes(synchronous: Synchronous) -> i32 {
        let dir = tempfile::tempdir().unwrap();
        let url = DatabaseUrl::Sqlite {
            path: dir.path().join("sync.db"),
            synchronous,
        };
        let pool = connect_pool(&url, 2).unwrap();
        let mut conn = pool.get().unwrap();
        // Writes run on the pool's writer connection: the setting must hold there too.
        crate::db::write(&mut conn, synchronous_of).unwrap()
    }

    #[derive(diesel::QueryableByName)]
    struct PlanDetail {
        #[diesel(sql_type = diesel::sql_types::Text)]
        detail: String,
    }

    /// SQLite counts no memory (`configure_sqlite`): with the statistics on (its default), the
    /// bytes in use are never zero once a connection is open.
    #[test]
    fn sqlite_keeps_no_memory_statistics() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = establish(&DatabaseUrl::sqlite(dir.path().join("m.db"))).unwrap();
        conn.batch_execute("CREATE TABLE t (a TEXT); INSERT INTO t VALUES ('x');")
            .unwrap();
        let (mut current, mut highest) = (-1i64, -1i64);
        // SAFETY: two valid pointers for the counter's current and highest values.
        let rc = unsafe {
            libsqlite3_sys::sqlite3_status64(
                libsqlite3_sys::SQLITE_STATUS_MEMORY_USED,
                &mut current,
                &mut highest,
                0,
            )
        };
        assert_eq!(rc, libsqlite3_sys::SQLITE_OK);
        assert_eq!((current, highest), (0, 0));
    }

    /// A statement is planned from its SQL alone (`configure_sqlite`). The probe: a value
    /// bound where a partial index's condition has a constant. Without the guarantee SQLite
    /// plans again with the bound value and takes the index (which is how every execution of
    /// a cached statement with a bound LIMIT came to be prepared again); with it, a scan. The
    /// control writes the constant into the SQL and must take the index.
    #[test]
    fn statements_are_planned_from_their_sql_alone() {
        let dir = tempfile::tempdir().unwrap();
        let url = DatabaseUrl::sqlite(dir.path().join("plans.db"));
        let mut conn = establish(&url).unwrap();
        conn.batch_execute(
            "CREATE TABLE t (a INTEGER, b INTEGER); CREATE INDEX t_one ON t (b) WHERE a = 1;",
        )
        .unwrap();
        let plan = |conn: &mut DbConnection, sql: &str, bound: Option<i32>| -> String {
            let query = diesel::sql_query(format!("EXPLAIN QUERY PLAN {sql}"));
            let rows: Vec<PlanDetail> = match bound {
                Some(value) => query.bind::<Integer, _>(value).load(conn),
                None => query.load(conn),
            }
            .unwrap();
            rows.into_iter()
                .map(|r| r.detail)
                .collect::<Vec<_>>()
                .join("; ")
        };
        let literal = plan(&mut conn, "SELECT b FROM t WHERE a = 1 AND b = 2", None);
        assert!(literal.contains("t_one"), "control: {literal}");
        let bound = plan(&mut conn, "SELECT b FROM t WHERE a = ? AND b = 2", Some(1));
        assert!(
            !bound.contains("t_one"),
            "planned with the bound value: {bound}"
        );
    }

    #[test]
    fn a_held_writer_leaves_checkpoints_to_another_connection() {
        let dir = tempfile::tempdir().unwrap();
        let url = DatabaseUrl::sqlite(dir.path().join("checkpoint.db"));
        let pool = connect_pool(&url, 2).unwrap();
        let (mut conn, mut other) = (pool.get().unwrap(), pool.get().unwrap());
        assert_eq!(autocheckpoint_pages(&mut conn).unwrap(), Some(1000));
        hold_checkpoints(&mut conn, true).unwrap();
        assert_eq!(autocheckpoint_pages(&mut conn).unwrap(), Some(10_000));
        crate::db::write(&mut conn, |c| {
            diesel::sql_query("CREATE TABLE written (x INTEGER)").execute(c)
        })
        .unwrap();
        assert!(
            checkpoint(&mut other).unwrap() > 0,
            "the write's pages copied"
        );
        hold_checkpoints(&mut conn, false).unwrap();
        assert_eq!(autocheckpoint_pages(&mut conn).unwrap(), Some(1000));
    }

    #[test]
    fn the_writer_commits_with_the_configured_durability() {
        assert_eq!(synchronous_of_writes(Synchronous::Full), 2);
        assert_eq!(synchronous_of_writes(Synchronous::Normal), 1);
    }
}
