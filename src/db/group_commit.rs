//! Group commit for SQLite: the writers of one database share one connection and, under
//! load, one transaction.
//!
//! A durable SQLite commit (WAL, synchronous=FULL) waits for the disk; on this class of
//! machine that allows about 1,900 commits a second, whatever the transactions hold. So each
//! database gets one writer connection (`Group`), and each `db::write` runs its closure there
//! as a savepoint inside an open transaction. A write queues its closure; whichever writer
//! finds the connection free runs the queue (flat combining: the batch's closures run back to
//! back on that one thread, with no hand-off between threads for each), and commits for
//! everyone in the batch once the queue is empty. Each writer returns after that commit, so an
//! answered write is still a durable write. With one client every write commits alone, as
//! before; with sixteen, one fsync covers many requests.
//!
//! A closure that fails rolls back its own savepoint only. A commit that fails fails every
//! member of its batch (none of them has answered yet, and none of their rows stay).
//!
//! The scheduler's writes (`Durability::Redoable`) form batches of their own, committed with
//! synchronous=NORMAL: no fsync per commit. An answered write never joins such a batch: it
//! commits the open one first and opens its own at the configured level (FULL by default; at
//! a configured NORMAL all batches are alike).

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, TryLockError, Weak};
use std::time::{Duration, Instant};

use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::result::{DatabaseErrorKind, Error};
use diesel::{Connection, ExpressionMethods, QueryDsl, RunQueryDsl};

use super::{DbConnection, Durability};
use crate::config::{DatabaseUrl, Synchronous};

type Manager = <DbConnection as Connection>::TransactionManager;

/// A combiner's turn ends when nobody is queued, or when it has run this many writes or lasted
/// this long, so that under endless load no early member waits long.
const MAX_MEMBERS: usize = 64;
const MAX_OPEN: Duration = Duration::from_millis(10);

/// The shared writer of one SQLite database. The connection pool owns it (through its
/// connection manager); a registry finds it by the database's file name.
pub struct Group {
    url: DatabaseUrl,
    /// The writer connection and its open batch, held by the writer running the queue.
    state: Mutex<State>,
    /// Writes waiting to be run, oldest first.
    queue: Mutex<VecDeque<Ticket>>,
}

#[derive(Default)]
struct State {
    conn: Option<DbConnection>,
    /// The level the connection commits at now (set before each batch).
    level: Option<Synchronous>,
    /// When the open batch began (`BEGIN IMMEDIATE`), if one is open.
    open: Option<Instant>,
    /// Whether the open batch holds only redoable writes (and so commits without an fsync).
    open_redoable: bool,
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

diesel::table! {
    /// SQLite's table-valued pragma: the databases a connection has open, and their files.
    pragma_database_list (name) {
        name -> Text,
        file -> Text,
    }
}

/// The file behind a SQLite connection's main database (empty for an in-memory one). A typed
/// query, so that the connection keeps it prepared: every write asks.
fn main_file(conn: &mut diesel::SqliteConnection) -> Result<PathBuf, Error> {
    let main: String = pragma_database_list::table
        .filter(pragma_database_list::name.eq("main"))
        .select(pragma_database_list::file)
        .first(conn)?;
    Ok(PathBuf::from(main))
}

impl Group {
    pub fn new(url: DatabaseUrl) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(State::default()),
            url,
            queue: Mutex::new(VecDeque::new()),
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
    ///
    /// The write is queued; whichever writer holds the connection runs it (flat combining), so
    /// a batch's members run back to back on one thread, without a hand-off between threads
    /// for each. A writer that finds the connection free runs the queue itself.
    pub fn write<T, E, F>(&self, durability: Durability, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send,
        T: Send,
        E: From<Error> + Send,
    {
        let mut f = Some(f);
        let mut result: Option<Result<T, E>> = None;
        let mut panic = None;
        // The closure may run on another writer's thread: it logs in its own request's span.
        let span = tracing::Span::current();
        let mut job = |conn: &mut DbConnection| {
            let _entered = span.enter();
            let f = f.take().expect("a queued write runs once");
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| savepoint(conn, f))) {
                Ok(Ok(value)) => {
                    result = Some(value);
                    Ran::Closed
                }
                Ok(Err(value)) => {
                    result = Some(value);
                    Ran::Broken
                }
                Err(payload) => {
                    panic = Some(payload);
                    Ran::Panicked
                }
            }
        };
        let job: *mut Job<'_> = &mut job;
        // SAFETY: only the lifetime is erased. Another thread calls the job through this
        // pointer until it tells the write's outcome, and `wait` does not return or unwind
        // before it has (see `Queued`), so `job` and what it borrows outlive every use.
        let job = unsafe { std::mem::transmute::<*mut Job<'_>, *mut Job<'static>>(job) };
        let outcome = self.wait(Ticket {
            durability,
            job,
            waiter: Arc::new(Waiter {
                thread: std::thread::current(),
                outcome: Mutex::new(None),
            }),
        });
        if let Some(payload) = panic {
            std::panic::resume_unwind(payload);
        }
        match outcome {
            Outcome::Committed => result.expect("a committed write ran"),
            Outcome::Broke => {
                let result = result.expect("a write that broke its savepoint ran");
                result.and(Err(Error::BrokenTransactionManager.into()))
            }
            // A failed batch first: a member's own error may rest on another member's rows,
            // which are gone now too.
            Outcome::Failed(why) => Err(Error::DatabaseError(
                DatabaseErrorKind::Unknown,
                Box::new(format!("the write was not committed: {why}")),
            )
            .into()),
            Outcome::NotBegun(error) => Err(error.into()),
        }
    }

    /// Queues a write and waits for its outcome, running the queue whenever the connection
    /// is free.
    fn wait(&self, ticket: Ticket) -> Outcome {
        let waiter = ticket.waiter.clone();
        lock(&self.queue).push_back(ticket);
        let mut queued = Queued {
            group: self,
            waiter: &waiter,
            armed: true,
        };
        loop {
            if let Some(outcome) = lock(&waiter.outcome).take() {
                queued.armed = false;
                return outcome;
            }
            match self.try_turn() {
                Some(turn) => self.combine(turn),
                // Woken by the combiner that runs this write, or by one that leaves the queue
                // non-empty; the timeout only guards against a wake-up missed by a bug.
                None => std::thread::park_timeout(Duration::from_millis(20)),
            }
        }
    }

    /// Runs queued writes into batches and commits them, until the queue is empty or this turn
    /// has run `MAX_MEMBERS` writes or lasted `MAX_OPEN` (then the next writer in the queue
    /// takes over: each combiner's own write is answered soon). Usually one batch; an answered
    /// write after redoable ones, or a write that breaks the batch, ends one early.
    fn combine(&self, mut turn: Turn<'_>) {
        let mut batch = Members::default();
        let started = Instant::now();
        let mut ran = 0;
        while ran < MAX_MEMBERS && started.elapsed() < MAX_OPEN {
            // Only this turn takes tickets from the queue: the front one stays until popped.
            let Some(durability) = lock(&self.queue).front().map(|t| t.durability) else {
                break;
            };
            let state = turn.state();
            if durability == Durability::Answered && state.open.is_some() && state.open_redoable {
                // Its commit would not wait for the disk: let it go first, on its own.
                batch.finish(state.commit());
            }
            let ticket = lock(&self.queue)
                .pop_front()
                .expect("the front ticket is still queued");
            // From here on the ticket is told its outcome, should this turn panic too.
            batch.0.push(ticket.waiter.clone());
            ran += 1;
            if let Err(error) = state.join(&self.url, ticket.durability) {
                batch.0.pop();
                ticket.waiter.tell(Outcome::NotBegun(error));
                continue;
            }
            let conn = state
                .conn
                .as_mut()
                .expect("a batch is open on a connection");
            // SAFETY: the job's thread waits in `wait` until it is told this write's outcome.
            let ran = unsafe { (*ticket.job)(conn) };
            match ran {
                Ran::Closed if state.savepoint_closed() => {}
                Ran::Closed | Ran::Broken => {
                    // The savepoint could not be released or rolled back: the whole batch goes.
                    batch.0.pop();
                    ticket.waiter.tell(Outcome::Broke);
                    state.abandon();
                    batch.finish(Err("a write left its transaction broken".to_owned()));
                }
                Ran::Panicked => {
                    state.abandon();
                    batch.finish(Err("a write panicked".to_owned()));
                }
            }
        }
        let committed = turn.state().commit();
        // Let the next combiner in before waking this batch's writers.
        drop(turn);
        batch.finish(committed);
    }

    /// The longest any batch held SQLite's write lock since the last call (zero if none).
    pub fn take_longest_hold(&self) -> Duration {
        let mut turn = self.turn();
        std::mem::take(&mut turn.state().longest_hold)
    }

    /// The writer connection, waiting for it.
    fn turn(&self) -> Turn<'_> {
        let state = self.state.lock().unwrap_or_else(|poisoned| {
            self.state.clear_poison();
            poisoned.into_inner()
        });
        Turn::new(self, state)
    }

    /// The writer connection, if no other thread holds it.
    fn try_turn(&self) -> Option<Turn<'_>> {
        match self.state.try_lock() {
            Ok(state) => Some(Turn::new(self, state)),
            Err(TryLockError::WouldBlock) => None,
            Err(TryLockError::Poisoned(poisoned)) => {
                self.state.clear_poison();
                Some(Turn::new(self, poisoned.into_inner()))
            }
        }
    }
}

/// How a queued write's closure ran.
enum Ran {
    /// It returned, and its savepoint was released or rolled back.
    Closed,
    /// It returned, but its savepoint could be neither released nor rolled back.
    Broken,
    Panicked,
}

/// What became of a write, told to its own thread by the combiner that ran it.
enum Outcome {
    /// Its batch committed: the closure's own result stands.
    Committed,
    /// Its batch was rolled back, or its commit failed.
    Failed(String),
    /// It left its savepoint broken, and so the batch was rolled back.
    Broke,
    /// No batch could be begun for it (it did not run).
    NotBegun(Error),
}

type Job<'a> = dyn FnMut(&mut DbConnection) -> Ran + Send + 'a;

/// A queued write: its closure (borrowed from its waiting thread) and where its outcome goes.
struct Ticket {
    durability: Durability,
    job: *mut Job<'static>,
    waiter: Arc<Waiter>,
}

// SAFETY: the job is `Send`; the pointer is only followed while its thread waits (see `write`).
unsafe impl Send for Ticket {}

struct Waiter {
    thread: std::thread::Thread,
    outcome: Mutex<Option<Outcome>>,
}

impl Waiter {
    fn tell(&self, outcome: Outcome) {
        *lock(&self.outcome) = Some(outcome);
        self.thread.unpark();
    }
}

/// The writers of the open batch, each told its outcome when it ends. Dropped untold (the
/// combiner panicked), they are told their write failed rather than left waiting.
#[derive(Default)]
struct Members(Vec<Arc<Waiter>>);

impl Members {
    fn finish(&mut self, committed: Result<(), String>) {
        for waiter in self.0.drain(..) {
            waiter.tell(match &committed {
                Ok(()) => Outcome::Committed,
                Err(why) => Outcome::Failed(why.clone()),
            });
        }
    }
}

impl Drop for Members {
    fn drop(&mut self) {
        self.finish(Err("the writer panicked".to_owned()));
    }
}

/// A waiting write's ticket while it may be queued. Should its thread unwind (a panic in its
/// turn as combiner), the ticket leaves the queue, or, if a combiner has taken it (another
/// thread's, or this one's, which told it while unwinding), the thread waits until it is told:
/// its job lives on this stack.
struct Queued<'a> {
    group: &'a Group,
    waiter: &'a Arc<Waiter>,
    armed: bool,
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let mut queue = lock(&self.group.queue);
        let before = queue.len();
        queue.retain(|ticket| !Arc::ptr_eq(&ticket.waiter, self.waiter));
        let removed = queue.len() < before;
        drop(queue);
        while !removed && lock(&self.waiter.outcome).is_none() {
            std::thread::park_timeout(Duration::from_millis(20));
        }
    }
}

/// Holding the writer connection. Letting go wakes a queued writer, if any, to take it next.
struct Turn<'a> {
    group: &'a Group,
    state: Option<MutexGuard<'a, State>>,
}

impl<'a> Turn<'a> {
    fn new(group: &'a Group, mut state: MutexGuard<'a, State>) -> Self {
        if state.open.is_some() {
            // Left open by a combiner that panicked (its writers were told so).
            state.abandon();
        }
        Self {
            group,
            state: Some(state),
        }
    }

    fn state(&mut self) -> &mut State {
        self.state.as_mut().expect("a turn holds the state")
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        drop(self.state.take());
        if let Some(next) = lock(&self.group.queue).front() {
            next.waiter.thread.unpark();
        }
    }
}

/// Locks a mutex that a panic cannot leave inconsistent.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
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
    /// Opens a batch (`BEGIN IMMEDIATE`) unless one is open. A new batch commits at the
    /// configured level, or at NORMAL if it opens for a redoable write (the level cannot
    /// change inside a transaction).
    fn join(&mut self, url: &DatabaseUrl, durability: Durability) -> Result<(), Error> {
        if self.open.is_some() {
            return Ok(());
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
        self.open = Some(Instant::now());
        // At a configured NORMAL every batch commits alike: nothing to keep apart.
        self.open_redoable =
            durability == Durability::Redoable && *configured != Synchronous::Normal;
        Ok(())
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

    /// Commits the open batch, if any: `Err` says why it did not commit.
    fn commit(&mut self) -> Result<(), String> {
        let Some(began) = self.open.take() else {
            return Ok(());
        };
        let conn = self.conn.as_mut().expect("an open batch has a connection");
        let committed = Manager::commit_transaction(conn).map_err(|error| error.to_string());
        if committed.is_err() && !self.is_idle() {
            // A failed commit leaves the connection as diesel's rollback left it.
            self.conn = None;
        }
        self.longest_hold = self.longest_hold.max(began.elapsed());
        committed
    }

    /// Rolls the open batch back (its writers are told by the combiner); a connection that
    /// cannot roll back is closed (the next write opens a new one).
    fn abandon(&mut self) {
        if self.open.take().is_none() {
            return;
        }
        if let Some(conn) = self.conn.as_mut() {
            if Manager::rollback_transaction(conn).is_err() || !self.is_idle() {
                self.conn = None;
            }
        }
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
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use diesel::connection::SimpleConnection;
    use diesel::r2d2::{self, Pool};
    use diesel::sql_types::BigInt;
    use diesel::QueryableByName;

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
        let group = match &mut **conn {
            DbConnection::Sqlite(sqlite) => Group::of(sqlite).unwrap().expect("registered"),
            DbConnection::Postgres(_) => unreachable!(),
        };
        assert!(!group.state.is_poisoned());
        crate::db::write(&mut conn, |c| insert(c, 100_000)).unwrap();
        assert_eq!(count(&mut conn, 100_000), 1);
    }

    /// A write that panics, whichever thread ran it (under load it is another writer's),
    /// panics in its own thread with its own message; its batch-mates are told they were not
    /// committed and left nothing, the others stand, and the writer keeps working.
    #[test]
    fn a_panic_reaches_the_writer_that_panicked_and_only_its_batch() {
        let dir = tempfile::tempdir().unwrap();
        let pool = pool_with_table(&dir, 9);
        let threads: Vec<_> = (0..8i64)
            .map(|n| {
                let pool = pool.clone();
                std::thread::spawn(move || {
                    let mut conn = pool.get().unwrap();
                    let mut outcomes = Vec::new();
                    for i in 0..40i64 {
                        let id = n * 1000 + i;
                        let outcome =
                            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                                crate::db::write(&mut conn, |c| -> Result<(), Error> {
                                    insert(c, id)?;
                                    if n == 0 && i == 20 {
                                        panic!("writer {n} fails at {i}");
                                    }
                                    Ok(())
                                })
                            }));
                        outcomes.push((id, outcome));
                    }
                    outcomes
                })
            })
            .collect();
        let mut conn = pool.get().unwrap();
        let (mut panics, mut failed) = (0, 0);
        for t in threads {
            for (id, outcome) in t.join().unwrap() {
                match outcome {
                    Err(payload) => {
                        panics += 1;
                        assert_eq!(id, 20, "only writer 0's 20th write panics");
                        assert_eq!(
                            payload.downcast_ref::<String>().map(String::as_str),
                            Some("writer 0 fails at 20")
                        );
                        assert_eq!(count(&mut conn, id), 0);
                    }
                    Ok(Err(error)) => {
                        failed += 1;
                        assert!(error.to_string().contains("not committed"), "{error}");
                        assert_eq!(count(&mut conn, id), 0, "a failed write left row {id}");
                    }
                    Ok(Ok(())) => assert_eq!(count(&mut conn, id), 1, "row {id} was lost"),
                }
            }
        }
        assert_eq!(panics, 1);
        assert!(
            failed < 8,
            "only the panicking write's batch fails ({failed})"
        );
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
        let group = match &mut **conn {
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
                    while group.queue.lock().unwrap().is_empty()
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
