//! SQLite: one writer thread with group commit, reads on the caller's thread.
//!
//! SQLite allows one writer at a time. Instead of every request taking turns on a write
//! connection (a thread hand-off per statement, one fsync per transaction), one thread owns
//! the write connection and runs whole transactions handed to it as closures:
//!
//! 1. it takes every transaction waiting in its queue (at most `sqlite_max_batch`);
//! 2. `BEGIN IMMEDIATE`, then each transaction inside a `SAVEPOINT` of its own: one that
//!    fails (returns `Err` or panics) is rolled back to its savepoint alone, the others keep
//!    their writes;
//! 3. one `COMMIT`, i.e. one fsync of the WAL (`synchronous=FULL`: a commit survives power
//!    loss), for the whole batch; only then does each caller get its answer.
//!
//! Each transaction still runs alone, start to finish, so it is as isolated as if it had its
//! own commit; a batch is one transaction only in how it is made durable. If the commit
//! fails, every transaction of the batch gets the error and none of them happened.
//!
//! Checkpoints (copying the WAL back into the database file) run on a thread of their own
//! (`PASSIVE`: never blocking the writer or readers), so no request waits behind one.

use crate::conn::{Conn, Savepoint};
use crate::{counter, BoxFuture, DbError, Options, Result, Stats};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

/// What a finished transaction tells the writer, and how its caller is answered once the
/// batch's commit is known.
struct Finish {
    ok: bool,
    answer: Box<dyn FnOnce(Option<DbError>) + Send>,
}

/// A transaction waiting for the writer.
trait Transaction: Send {
    fn run(self: Box<Self>, conn: &mut Conn) -> Finish;
    /// Answers without running (the batch could not begin).
    fn fail(self: Box<Self>, e: DbError);
}

type Job = Box<dyn Transaction>;

struct WriteJob<F, T, E> {
    f: F,
    answer: tokio::sync::oneshot::Sender<(Result<T, E>, u32)>,
}

impl<F, T, E> Transaction for WriteJob<F, T, E>
where
    F: for<'c> FnOnce(&'c mut Conn) -> BoxFuture<'c, Result<T, E>> + Send + 'static,
    T: Send + 'static,
    E: From<DbError> + Send + 'static,
{
    fn run(self: Box<Self>, conn: &mut Conn) -> Finish {
        let WriteJob { f, answer } = *self;
        let before = conn.statements;
        let r = poll_once(f(conn)).unwrap_or_else(|e| Err(e.into()));
        let n = conn.statements - before;
        Finish {
            ok: r.is_ok(),
            answer: Box::new(move |commit_failed: Option<DbError>| {
                let r = match (r, commit_failed) {
                    (Ok(_), Some(e)) => Err(E::from(e)),
                    (r, _) => r,
                };
                let _ = answer.send((r, n));
            }),
        }
    }

    fn fail(self: Box<Self>, e: DbError) {
        let _ = self.answer.send((Err(E::from(e)), 0));
    }
}

enum Msg {
    Job(Job),
    Stop,
}

#[derive(Default)]
struct Counters {
    statements: AtomicU64,
    transactions: AtomicU64,
    commits: AtomicU64,
}

pub struct Sqlite {
    path: String,
    writer: mpsc::Sender<Msg>,
    reads: Mutex<Vec<Conn>>,
    counters: Arc<Counters>,
    stopped: Arc<AtomicBool>,
}

const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

/// SQLite's global allocation statistics take a global mutex on every allocation; nothing
/// here reads them.
fn configure_library() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Safety: called once, before any connection is opened (sqlite3_config must precede
        // sqlite3_initialize; if it does not, SQLite refuses it harmlessly with MISUSE).
        unsafe {
            rusqlite::ffi::sqlite3_config(rusqlite::ffi::SQLITE_CONFIG_MEMSTATUS, 0);
        }
    });
}

fn open(path: &str) -> Result<rusqlite::Connection> {
    configure_library();
    let c = rusqlite::Connection::open(path)?;
    // WAL with synchronous=FULL: a commit is durable once it returns. busy_timeout covers
    // other processes (the admin CLI) writing the same file.
    c.execute_batch(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; \
         PRAGMA busy_timeout=5000; PRAGMA temp_store=MEMORY; PRAGMA cache_size=-16000; \
",
    )?;
    c.set_prepared_statement_cache_capacity(256);
    // Query planner stability: plans never depend on the values bound. Without it, a bound
    // value compared with a partial index's condition (`status = $1` against `WHERE status =
    // 'Failed'`) makes SQLite re-compile the statement on every execution.
    c.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    Ok(c)
}

impl Sqlite {
    pub(crate) fn open(path: &str, opts: &Options) -> Result<Sqlite> {
        if path.is_empty() {
            return Err(DbError::Config("empty SQLite path".into()));
        }
        let writer_conn = open(path)?;
        // The checkpoint thread does this work, off the writer.
        writer_conn.execute_batch("PRAGMA wal_autocheckpoint=0;")?;
        let counters = Arc::new(Counters::default());
        let stopped = Arc::new(AtomicBool::new(false));
        let (tx, rx) = mpsc::channel::<Msg>();
        let max_batch = opts.sqlite_max_batch.max(1);
        let c = counters.clone();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || writer(Conn::sqlite(writer_conn), rx, max_batch, c))
            .map_err(|e| DbError::Config(format!("starting the SQLite writer: {e}")))?;
        let checkpoint_conn = open(path)?;
        let stop = stopped.clone();
        std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || checkpointer(checkpoint_conn, stop))
            .map_err(|e| DbError::Config(format!("starting the SQLite checkpointer: {e}")))?;
        Ok(Sqlite {
            path: path.to_string(),
            writer: tx,
            reads: Mutex::new(Vec::new()),
            counters,
            stopped,
        })
    }

    pub(crate) fn read<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: for<'c> FnOnce(&'c mut Conn) -> BoxFuture<'c, Result<T, E>> + Send,
        E: From<DbError>,
    {
        if self.stopped.load(Ordering::Relaxed) {
            return Err(DbError::Unavailable("the database is closed".into()).into());
        }
        let pooled = self.reads.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let mut conn = match pooled {
            Some(c) => c,
            None => Conn::sqlite(open(&self.path)?),
        };
        let before = conn.statements;
        let r = poll_once(f(&mut conn)).unwrap_or_else(|e| Err(e.into()));
        let n = conn.statements - before;
        self.counters
            .statements
            .fetch_add(n.into(), Ordering::Relaxed);
        counter::add(n);
        self.reads
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(conn);
        r
    }

    pub(crate) async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: for<'c> FnOnce(&'c mut Conn) -> BoxFuture<'c, Result<T, E>> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        if self.stopped.load(Ordering::Relaxed) {
            return Err(DbError::Unavailable("the database is closed".into()).into());
        }
        let (tx, rx) = tokio::sync::oneshot::channel::<(Result<T, E>, u32)>();
        let job: Job = Box::new(WriteJob { f, answer: tx });
        if self.writer.send(Msg::Job(job)).is_err() {
            return Err(DbError::Unavailable("the SQLite writer has stopped".into()).into());
        }
        match rx.await {
            Ok((r, n)) => {
                self.counters
                    .statements
                    .fetch_add(n.into(), Ordering::Relaxed);
                counter::add(n);
                r
            }
            // The closure panicked (its answer was dropped); the writer rolled it back.
            Err(_) => Err(DbError::Internal("a write transaction panicked".into()).into()),
        }
    }

    pub(crate) fn stats(&self) -> Stats {
        Stats {
            statements: self.counters.statements.load(Ordering::Relaxed),
            transactions: self.counters.transactions.load(Ordering::Relaxed),
            commits: self.counters.commits.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn close(&self) {
        self.stopped.store(true, Ordering::Relaxed);
        let _ = self.writer.send(Msg::Stop);
        self.reads.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

impl Drop for Sqlite {
    fn drop(&mut self) {
        self.close();
    }
}

/// Polls a closure's future once: on SQLite every await in it is on a [`Conn`] method that
/// completes at once, so it is ready on the first poll.
fn poll_once<T>(mut fut: BoxFuture<'_, T>) -> Result<T> {
    let mut cx = Context::from_waker(Waker::noop());
    match fut.as_mut().poll(&mut cx) {
        Poll::Ready(v) => Ok(v),
        Poll::Pending => Err(DbError::Internal(
            "a SQLite transaction awaited something other than the database".into(),
        )),
    }
}

fn writer(mut conn: Conn, rx: mpsc::Receiver<Msg>, max_batch: usize, counters: Arc<Counters>) {
    let mut batch: Vec<Job> = Vec::with_capacity(max_batch);
    let mut stop = false;
    while !stop {
        match rx.recv() {
            Ok(Msg::Job(j)) => batch.push(j),
            Ok(Msg::Stop) | Err(_) => break,
        }
        while batch.len() < max_batch {
            match rx.try_recv() {
                Ok(Msg::Job(j)) => batch.push(j),
                Ok(Msg::Stop) => {
                    stop = true;
                    break;
                }
                Err(_) => break,
            }
        }
        // Counted before the answers go out, so a caller that got its answer sees it counted.
        counters
            .transactions
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        counters.commits.fetch_add(1, Ordering::Relaxed);
        run_batch(&mut conn, batch.drain(..));
    }
}

fn exec(conn: &mut Conn, sql: &str) -> Result<()> {
    match conn.raw_sqlite() {
        Some(c) => Ok(c.execute_batch(sql)?),
        None => Err(DbError::Internal("not a SQLite connection".into())),
    }
}

fn run_batch(conn: &mut Conn, jobs: impl ExactSizeIterator<Item = Job>) {
    let single = jobs.len() == 1;
    if let Err(e) = exec(conn, "BEGIN IMMEDIATE") {
        tracing::warn!(error = %e, "SQLite BEGIN failed");
        for job in jobs {
            job.fail(e.for_commit());
        }
        return;
    }
    let mut answers: Vec<Finish> = Vec::with_capacity(jobs.len());
    for job in jobs {
        // Alone in the batch, a failure rolls back the whole transaction; otherwise the job
        // gets a savepoint of its own at its first write.
        conn.savepoint = if single {
            Savepoint::None
        } else {
            Savepoint::Pending
        };
        let outcome = catch_unwind(AssertUnwindSafe(|| job.run(conn)));
        let wrote = std::mem::replace(&mut conn.savepoint, Savepoint::None) == Savepoint::Open;
        let ok = matches!(&outcome, Ok(f) if f.ok);
        if single && !ok {
            let _ = exec(conn, "ROLLBACK");
            if let Ok(f) = outcome {
                (f.answer)(None);
            }
            return;
        }
        if wrote {
            let _ = exec(
                conn,
                if ok {
                    "RELEASE tx"
                } else {
                    "ROLLBACK TO tx; RELEASE tx"
                },
            );
        }
        // A panicking job's caller was answered by the panic itself (its answer is gone).
        if let Ok(f) = outcome {
            answers.push(f);
        }
    }
    match exec(conn, "COMMIT") {
        Ok(()) => {
            for f in answers {
                (f.answer)(None);
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "SQLite group commit failed");
            let _ = exec(conn, "ROLLBACK");
            for f in answers {
                (f.answer)(Some(e.for_commit()));
            }
        }
    }
}

fn checkpointer(conn: rusqlite::Connection, stopped: Arc<AtomicBool>) {
    while !stopped.load(Ordering::Relaxed) {
        std::thread::sleep(CHECKPOINT_EVERY);
        if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::debug!(error = %e, "SQLite checkpoint");
        }
    }
}
