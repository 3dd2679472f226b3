//! Database access for dealerpay on the native drivers: `rusqlite` for an embedded SQLite
//! file and `tokio-postgres` (pooled by `deadpool-postgres`) for PostgreSQL.
//!
//! One enum of pools ([`Db`]) and one connection type ([`Conn`]) serve both backends, so
//! every repository is written once in SQL both databases accept (`$1` placeholders, BIGINT
//! cents and flags, TEXT everywhere else). Work is handed over as a closure:
//!
//! - [`Db::read`] runs a closure on a read connection. On SQLite it runs right on the
//!   calling thread (a read of a few rows takes microseconds; handing it to another thread
//!   would cost more than the read); on PostgreSQL on a pooled connection.
//! - [`Db::write`] runs a closure as one transaction. On SQLite every write goes to one
//!   writer thread that owns the only write connection and runs a whole transaction per
//!   hand-off, several of them per commit (group commit, see [`sqlite`]); on PostgreSQL it
//!   runs between `BEGIN` and `COMMIT` on a pooled connection and the server's own WAL
//!   group commit applies.
//!
//! Every statement is counted per task ([`counting`]) so the HTTP layer can report
//! statements per route.

mod conn;
mod counter;
mod error;
mod migrate;
mod pg_conn;
mod postgres;
mod row;
pub mod sqlite;
mod value;

pub use conn::Conn;
pub use counter::{counting, statements_in_task};
pub use error::DbError;
pub use migrate::Migration;
pub use row::{Cols, Decode, FromRow, RowRef};
pub use value::Value;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

pub type Result<T, E = DbError> = std::result::Result<T, E>;
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Counters of what the database layer did since start, for `/metrics` and the benchmark.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Statements executed (queries and DML; not BEGIN/COMMIT/SAVEPOINT).
    pub statements: u64,
    /// Write transactions committed (or rolled back) through [`Db::write`].
    pub transactions: u64,
    /// SQLite: commits of the writer, each one fsync of the WAL (`synchronous=FULL`); the
    /// transactions above share them. PostgreSQL: equal to `transactions`.
    pub commits: u64,
}

/// Tunables of a connection; the defaults are what `dealerpay serve` uses.
#[derive(Debug, Clone)]
pub struct Options {
    /// PostgreSQL: pooled connections.
    pub pg_max_connections: usize,
    /// PostgreSQL: how long a caller waits for a pooled connection (opening one included)
    /// before the database counts as unavailable.
    pub pg_acquire_timeout: Duration,
    /// PostgreSQL: the longest one statement may take on the wire before its connection is
    /// given up (a frozen connection answers nothing and would hold a request forever).
    pub pg_statement_timeout: Duration,
    /// SQLite: most transactions made durable by one commit.
    pub sqlite_max_batch: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            pg_max_connections: 32,
            pg_acquire_timeout: Duration::from_secs(3),
            pg_statement_timeout: Duration::from_secs(10),
            sqlite_max_batch: 128,
        }
    }
}

/// A connection pool on SQLite or PostgreSQL. Cheap to clone.
#[derive(Clone)]
pub struct Db(Arc<Inner>);

enum Inner {
    Sqlite(sqlite::Sqlite),
    Postgres(postgres::Postgres),
}

impl Db {
    /// Connects to `url`: `sqlite://path`, `sqlite:path`, a bare file path (SQLite, created
    /// when missing), or `postgres://…`.
    pub async fn connect(url: &str) -> Result<Db> {
        Db::connect_with(url, Options::default()).await
    }

    pub async fn connect_with(url: &str, opts: Options) -> Result<Db> {
        let inner = match parse_url(url) {
            Target::Postgres(u) => Inner::Postgres(postgres::Postgres::connect(&u, &opts).await?),
            Target::Sqlite(path) => Inner::Sqlite(sqlite::Sqlite::open(&path, &opts)?),
        };
        Ok(Db(Arc::new(inner)))
    }

    pub fn backend(&self) -> Backend {
        match &*self.0 {
            Inner::Sqlite(_) => Backend::Sqlite,
            Inner::Postgres(_) => Backend::Postgres,
        }
    }

    /// Runs `f` on a read connection (no transaction; on SQLite one consistent snapshot per
    /// statement). Keep it short: on SQLite it runs on the calling thread.
    pub async fn read<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: for<'c> FnOnce(&'c mut Conn) -> BoxFuture<'c, Result<T, E>> + Send,
        E: From<DbError>,
    {
        match &*self.0 {
            Inner::Sqlite(s) => s.read(f),
            Inner::Postgres(p) => p.read(f).await,
        }
    }

    /// Runs `f` as one transaction: committed when it returns `Ok`, rolled back when it
    /// returns `Err` (nothing it wrote stays). The result is returned only once the commit
    /// is durable.
    pub async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: for<'c> FnOnce(&'c mut Conn) -> BoxFuture<'c, Result<T, E>> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        match &*self.0 {
            Inner::Sqlite(s) => s.write(f).await,
            Inner::Postgres(p) => p.write(f).await,
        }
    }

    /// Applies the migrations not applied yet, each in its own transaction. On PostgreSQL an
    /// advisory lock makes concurrent starts of several servers safe.
    pub async fn migrate(&self, migrations: &'static [Migration]) -> Result<()> {
        self.migrate_table("schema_migrations", migrations).await
    }

    /// Like [`Db::migrate`], keeping track in `table` (for a schema of another owner sharing
    /// the database, such as the sandbox processor's ledger).
    pub async fn migrate_table(
        &self,
        table: &'static str,
        migrations: &'static [Migration],
    ) -> Result<()> {
        match &*self.0 {
            Inner::Sqlite(_) => migrate::sqlite(self, table, migrations).await,
            Inner::Postgres(p) => p.migrate(table, migrations).await,
        }
    }

    /// A cheap round trip for readiness checks.
    pub async fn ping(&self) -> Result<()> {
        self.read(|c| Box::pin(async move { c.query_one::<(i64,)>("SELECT 1", &[]).await }))
            .await
            .map(|_| ())
    }

    pub fn stats(&self) -> Stats {
        match &*self.0 {
            Inner::Sqlite(s) => s.stats(),
            Inner::Postgres(p) => p.stats(),
        }
    }

    /// Stops accepting work; on SQLite the writer finishes what it has and stops.
    pub async fn close(&self) {
        match &*self.0 {
            Inner::Sqlite(s) => s.close(),
            Inner::Postgres(p) => p.close(),
        }
    }
}

enum Target {
    Sqlite(String),
    Postgres(String),
}

fn parse_url(url: &str) -> Target {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Target::Postgres(url.to_string());
    }
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    // Query parameters of the old sqlx URLs (`?mode=rwc`) mean nothing here.
    let path = path.split('?').next().unwrap_or(path);
    Target::Sqlite(path.to_string())
}

/// The file path of a SQLite URL (`None` for PostgreSQL).
pub fn sqlite_path(url: &str) -> Option<String> {
    match parse_url(url) {
        Target::Sqlite(p) => Some(p),
        Target::Postgres(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            sqlite_path("./dealerpay.db").as_deref(),
            Some("./dealerpay.db")
        );
        assert_eq!(
            sqlite_path("sqlite:///tmp/x.db?mode=rwc").as_deref(),
            Some("/tmp/x.db")
        );
        assert_eq!(sqlite_path("sqlite:x.db").as_deref(), Some("x.db"));
        assert_eq!(sqlite_path("postgres://u@h/db"), None);
    }
}
