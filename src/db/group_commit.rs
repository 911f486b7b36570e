//! Group commit for SQLite: the writers of one database share one connection and, under
//! load, one transaction.
//!
//! A durable SQLite commit (WAL, synchronous=FULL) waits for the disk; on this class of
//! machine that allows about 1,900 commits a second, whatever the transactions hold. So each
//! database gets one writer connection (`Group`), and each `db::write` runs its closure there
//! as a savepoint inside an open transaction. The writer that finds nobody queued behind it
//! commits for everyone in the batch; the others wait for that commit before they return, so
//! an answered write is still a durable write. With one client every write commits alone, as
//! before; with sixteen, one fsync covers many requests.
//!
//! A closure that fails rolls back its own savepoint only. A commit that fails fails every
//! member of its batch (none of them has answered yet, and none of their rows stay).
//!
//! The scheduler's writes (`Durability::Redoable`) form batches of their own, committed with
//! synchronous=NORMAL: no fsync per commit. An answered write never joins such a batch: it
//! commits the open one first and opens its own at the configured level (FULL by default; at
//! a configured NORMAL all batches are alike).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, Weak};
use std::time::{Duration, Instant};

use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::result::{DatabaseErrorKind, Error};
use diesel::sql_types::Text;
use diesel::{Connection, QueryableByName, RunQueryDsl};

use super::{DbConnection, Durability};
use crate::config::{DatabaseUrl, Synchronous};

type Manager = <DbConnection as Connection>::TransactionManager;

/// A batch commits when nobody is queued, or when it holds this many writes or is this old,
/// so that under endless load no early member waits long.
const MAX_MEMBERS: usize = 64;
const MAX_OPEN: Duration = Duration::from_millis(10);

/// The shared writer of one SQLite database. The connection pool owns it (through its
/// connection manager); a registry finds it by the database's file name.
pub struct Group {
    url: DatabaseUrl,
    state: Mutex<State>,
    /// Writers waiting for the state lock: while any are, the open batch waits for them.
    queued: AtomicUsize,
    committed: Condvar,
}

#[derive(Default)]
struct State {
    conn: Option<DbConnection>,
    /// The level the connection commits at now (set before each batch).
    level: Option<Synchronous>,
    /// The open batch: its number, when it began, and how many writes it holds.
    open: Option<(u64, Instant, usize)>,
    /// Whether the open batch holds only redoable writes (and so commits without an fsync).
    open_redoable: bool,
    last_batch: u64,
    /// The latest finished batch, and the failures among the latest ones.
    finished: u64,
    failed: BTreeMap<u64, String>,
    /// The longest a batch held the write lock, from `BEGIN IMMEDIATE` to its commit's end.
    longest_hold: Duration,
}

impl std::fmt::Debug for Group {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Group")
            .field("url", &self.url.redacted())
            .finish()
    }
}

static REGISTRY: Mutex<Vec<(PathBuf, Weak<Group>)>> = Mutex::new(Vec::new());

#[derive(QueryableByName)]
struct MainFile {
    #[diesel(sql_type = Text)]
    file: String,
}

/// The file behind a SQLite connection's main database (empty for an in-memory one).
fn main_file(conn: &mut diesel::SqliteConnection) -> Result<PathBuf, Error> {
    let row: MainFile =
        diesel::sql_query("SELECT file FROM pragma_database_list WHERE name = 'main'")
            .get_result(conn)?;
    Ok(PathBuf::from(row.file))
}

impl Group {
    pub fn new(url: DatabaseUrl) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(State::default()),
            url,
            queued: AtomicUsize::new(0),
            committed: Condvar::new(),
        })
    }

    /// Makes this group the writer of the database `conn` is open on, unless another live one
    /// already is (two pools on one file share the first one's writer).
    pub fn register(self: &Arc<Self>, conn: &mut diesel::SqliteConnection) -> Result<(), Error> {
        let file = main_file(conn)?;
        if file.as_os_str().is_empty() {
            return Ok(());
        }
        let mut registry = REGISTRY.lock().unwrap_or_else(|p| p.into_inner());
        registry.retain(|(_, group)| group.strong_count() > 0);
        if !registry.iter().any(|(f, _)| *f == file) {
            registry.push((file, Arc::downgrade(self)));
        }
        Ok(())
    }

    /// The group writing the database `conn` is open on, if its pool registered one.
    pub fn of(conn: &mut diesel::SqliteConnection) -> Result<Option<Arc<Self>>, Error> {
        let file = main_file(conn)?;
        let registry = REGISTRY.lock().unwrap_or_else(|p| p.into_inner());
        Ok(registry
            .iter()
            .find(|(f, _)| *f == file)
            .and_then(|(_, group)| group.upgrade()))
    }

    /// Runs `f` in the shared transaction and returns once its batch is committed.
    pub fn write<T, E, F>(&self, durability: Durability, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E>,
        E: From<Error>,
    {
        self.queued.fetch_add(1, Ordering::SeqCst);
        let mut state = self.lock();
        self.queued.fetch_sub(1, Ordering::SeqCst);
        if durability == Durability::Answered && state.open.is_some() && state.open_redoable {
            // Its commit would not wait for the disk: let it go first, on its own.
            state.commit();
            self.committed.notify_all();
        }
        let batch = state.join(&self.url, durability)?;
        let conn = state
            .conn
            .as_mut()
            .expect("a batch is open on a connection");
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| savepoint(conn, f)));
        let result = match outcome {
            Ok(Ok(result)) if state.savepoint_closed() => result,
            Ok(Ok(result)) | Ok(Err(result)) => {
                // The savepoint could not be released or rolled back: the whole batch goes.
                state.abandon("a write left its transaction broken");
                self.committed.notify_all();
                return result.and(Err(Error::BrokenTransactionManager.into()));
            }
            Err(panic) => {
                state.abandon("a write panicked");
                self.committed.notify_all();
                // Unlock first, so the panic does not poison the writer for everyone after.
                drop(state);
                std::panic::resume_unwind(panic);
            }
        };
        let (_, began, members) = state.open.as_mut().expect("the batch is still open");
        *members += 1;
        let full = *members >= MAX_MEMBERS || began.elapsed() >= MAX_OPEN;
        if full || self.queued.load(Ordering::SeqCst) == 0 {
            state.commit();
            self.committed.notify_all();
        } else {
            // A failed write waits too: its error may rest on rows of this batch that are not
            // committed yet (a unique key taken by another member), and the caller may look.
            while state.finished < batch {
                state = self
                    .committed
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
            }
        }
        // A failed batch first: a member's own error may rest on another member's rows,
        // which are gone now too.
        match state.failed.get(&batch) {
            Some(why) => Err(Error::DatabaseError(
                DatabaseErrorKind::Unknown,
                Box::new(format!("the write was not committed: {why}")),
            )
            .into()),
            None => result,
        }
    }

    /// The longest any batch held SQLite's write lock since the last call (zero if none).
    pub fn take_longest_hold(&self) -> Duration {
        std::mem::take(&mut self.lock().longest_hold)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| {
            self.state.clear_poison();
            let mut state = poisoned.into_inner();
            state.abandon("a writer panicked");
            self.committed.notify_all();
            state
        })
    }
}

/// Runs `f` in a savepoint of the open batch. The outer `Err` means the savepoint could not be
/// released or rolled back, so the batch's transaction can no longer be trusted.
#[allow(clippy::type_complexity)]
fn savepoint<T, E, F>(conn: &mut DbConnection, f: F) -> Result<Result<T, E>, Result<T, E>>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<Error>,
{
    if let Err(error) = Manager::begin_transaction(conn) {
        return Err(Err(error.into()));
    }
    match f(conn) {
        Ok(value) => match Manager::commit_transaction(conn) {
            Ok(()) => Ok(Ok(value)),
            Err(error) => Err(Err(error.into())),
        },
        Err(error) => match Manager::rollback_transaction(conn) {
            Ok(()) => Ok(Err(error)),
            Err(_) => Err(Err(error)),
        },
    }
}

impl State {
    /// The open batch's number, opening one (`BEGIN IMMEDIATE`) if none is. A new batch
    /// commits at the configured level, or at NORMAL if it opens for a redoable write (the
    /// level cannot change inside a transaction).
    fn join(&mut self, url: &DatabaseUrl, durability: Durability) -> Result<u64, Error> {
        if let Some((batch, _, _)) = self.open {
            return Ok(batch);
        }
        let DatabaseUrl::Sqlite {
            synchronous: configured,
            ..
        } = url
        else {
            unreachable!("a group writes SQLite only");
        };
        if self.conn.is_none() {
            let conn = super::pool::establish(url).map_err(|e| {
                Error::DatabaseError(DatabaseErrorKind::Unknown, Box::new(e.to_string()))
            })?;
            self.conn = Some(conn);
            self.level = Some(*configured);
        }
        let Some(DbConnection::Sqlite(sqlite)) = self.conn.as_mut() else {
            unreachable!("a group writes SQLite only");
        };
        let level = match durability {
            Durability::Answered => *configured,
            Durability::Redoable => Synchronous::Normal,
        };
        if self.level != Some(level) {
            let set = format!("PRAGMA synchronous = {}", level.as_str());
            if let Err(error) = diesel::sql_query(set).execute(sqlite) {
                self.conn = None;
                return Err(error);
            }
            self.level = Some(level);
        }
        if let Err(error) = AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE")
        {
            self.conn = None;
            return Err(error);
        }
        self.last_batch += 1;
        self.open = Some((self.last_batch, Instant::now(), 0));
        // At a configured NORMAL every batch commits alike: nothing to keep apart.
        self.open_redoable =
            durability == Durability::Redoable && *configured != Synchronous::Normal;
        Ok(self.last_batch)
    }

    /// Whether the connection is back at the batch's own level (the write's savepoint is gone:
    /// a closure that left one open would otherwise have its writes released into the batch).
    fn savepoint_closed(&mut self) -> bool {
        match self.conn.as_mut() {
            Some(DbConnection::Sqlite(sqlite)) => matches!(
                AnsiTransactionManager::transaction_manager_status_mut(sqlite).transaction_depth(),
                Ok(Some(depth)) if depth.get() == 1
            ),
            _ => false,
        }
    }

    fn commit(&mut self) {
        let Some((batch, began, _)) = self.open.take() else {
            return;
        };
        let conn = self.conn.as_mut().expect("an open batch has a connection");
        if let Err(error) = Manager::commit_transaction(conn) {
            self.fail(batch, error.to_string());
        }
        self.longest_hold = self.longest_hold.max(began.elapsed());
        self.finished = batch;
    }

    /// Rolls the open batch back and fails every member; a connection that cannot roll back
    /// is closed (the next write opens a new one).
    fn abandon(&mut self, why: &str) {
        let Some((batch, _, _)) = self.open.take() else {
            return;
        };
        if let Some(conn) = self.conn.as_mut() {
            if Manager::rollback_transaction(conn).is_err() || !self.is_idle() {
                self.conn = None;
            }
        }
        self.fail(batch, why.to_owned());
        self.finished = batch;
    }

    fn is_idle(&mut self) -> bool {
        match self.conn.as_mut() {
            Some(DbConnection::Sqlite(sqlite)) => matches!(
                AnsiTransactionManager::transaction_manager_status_mut(sqlite).transaction_depth(),
                Ok(None)
            ),
            _ => false,
        }
    }

    fn fail(&mut self, batch: u64, why: String) {
        // A failed commit leaves the connection as diesel's rollback left it; check it.
        if !self.is_idle() {
            self.conn = None;
        }
        self.failed.insert(batch, why);
        // A waiter reads its batch's entry as soon as it has the lock back; keep a wide margin.
        let keep_from = batch.saturating_sub(100_000);
        while self
            .failed
            .first_key_value()
            .is_some_and(|(b, _)| *b < keep_from)
        {
            self.failed.pop_first();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use diesel::connection::SimpleConnection;
    use diesel::r2d2::{self, Pool};
    use diesel::sql_types::BigInt;

    use super::*;
    use crate::db::pool::tests::synchronous_of;
    use crate::db::pool::Manager;

    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }

    fn insert(conn: &mut DbConnection, id: i64) -> Result<usize, Error> {
        diesel::sql_query("INSERT INTO t (id) VALUES (?)")
            .bind::<BigInt, _>(id)
            .execute(conn)
    }

    fn count(conn: &mut DbConnection, id: i64) -> i64 {
        diesel::sql_query("SELECT COUNT(*) AS n FROM t WHERE id = ?")
            .bind::<BigInt, _>(id)
            .get_result::<Count>(conn)
            .unwrap()
            .n
    }

    /// A pool on a new database in `dir` with one table, `t`.
    fn pool_with_table(dir: &tempfile::TempDir, size: u32) -> Arc<Pool<Manager>> {
        let url = DatabaseUrl::sqlite(dir.path().join("group.db"));
        let pool: Pool<Manager> = r2d2::Pool::builder()
            .max_size(size)
            .build(Manager::new(url))
            .unwrap();
        pool.get()
            .unwrap()
            .batch_execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
            .unwrap();
        Arc::new(pool)
    }

    /// Sixteen threads write at once through the shared writer: every write that answered Ok
    /// is on disk, a write that failed left nothing (its savepoint only), and a write that
    /// panicked does not break the writes after it.
    #[test]
    fn concurrent_writes_share_commits_and_fail_alone() {
        let dir = tempfile::tempdir().unwrap();
        let pool = pool_with_table(&dir, 17);
        let threads: Vec<_> = (0..16i64)
            .map(|n| {
                let pool = pool.clone();
                std::thread::spawn(move || {
                    let mut conn = pool.get().unwrap();
                    for i in 0..50i64 {
                        let id = n * 1000 + i;
                        let result = crate::db::write(&mut conn, |c| {
                            insert(c, id)?;
                            if i % 10 == 9 {
                                // Fails after writing: its row must not stay.
                                return Err(Error::RollbackTransaction);
                            }
                            Ok(())
                        });
                        assert_eq!(result.is_ok(), i % 10 != 9, "write {id}");
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let mut conn = pool.get().unwrap();
        for n in 0..16i64 {
            for i in 0..50i64 {
                let expected = i64::from(i % 10 != 9);
                assert_eq!(count(&mut conn, n * 1000 + i), expected, "row {n}/{i}");
            }
        }
        // A panicking write: rolled back, and the writer keeps working for everyone.
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _ = crate::db::write(&mut conn, |c| -> Result<(), Error> {
                insert(c, 99_999)?;
                panic!("a bug in a handler");
            });
        }));
        assert!(panicked.is_err());
        assert_eq!(count(&mut conn, 99_999), 0);
        let group = match &mut *conn {
            DbConnection::Sqlite(sqlite) => Group::of(sqlite).unwrap().expect("registered"),
            DbConnection::Postgres(_) => unreachable!(),
        };
        assert!(!group.state.is_poisoned());
        crate::db::write(&mut conn, |c| insert(c, 100_000)).unwrap();
        assert_eq!(count(&mut conn, 100_000), 1);
    }

    /// A redoable write commits without an fsync (NORMAL = 1); an answered write that arrives
    /// while such a batch is open does not join it: it commits at FULL (2), and both are kept.
    #[test]
    fn answered_writes_never_share_a_commit_that_skips_the_disk() {
        let dir = tempfile::tempdir().unwrap();
        let pool = pool_with_table(&dir, 3);
        let mut conn = pool.get().unwrap();
        let group = match &mut *conn {
            DbConnection::Sqlite(sqlite) => Group::of(sqlite).unwrap().expect("registered"),
            DbConnection::Postgres(_) => unreachable!(),
        };
        let (inside, go) = std::sync::mpsc::channel::<()>();
        let scheduler = {
            let (pool, group) = (pool.clone(), group.clone());
            std::thread::spawn(move || {
                let mut conn = pool.get().unwrap();
                crate::db::write_redoable(&mut conn, |c| {
                    insert(c, 1)?;
                    inside.send(()).unwrap();
                    // Ends once the answered write queues behind it, so that its batch is
                    // still open (younger than MAX_OPEN) when that one takes the writer.
                    let waited = Instant::now();
                    while group.queued.load(Ordering::SeqCst) == 0
                        && waited.elapsed() < Duration::from_secs(5)
                    {
                        std::thread::yield_now();
                    }
                    synchronous_of(c)
                })
                .unwrap()
            })
        };
        go.recv().unwrap();
        let answered = crate::db::write(&mut conn, |c| {
            insert(c, 2)?;
            synchronous_of(c)
        })
        .unwrap();
        assert_eq!(
            scheduler.join().unwrap(),
            1,
            "the redoable batch skips the fsync"
        );
        assert_eq!(answered, 2, "the answered write commits at FULL");
        assert_eq!(count(&mut conn, 1) + count(&mut conn, 2), 2);
        // The writer is back at FULL for answered writes that come alone.
        assert_eq!(crate::db::write(&mut conn, synchronous_of).unwrap(), 2);
    }
}
