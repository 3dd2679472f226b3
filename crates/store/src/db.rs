//! Connection pools for SQLite and PostgreSQL behind one type.
//!
//! The same SQL runs on both through sqlx's `Any` driver; `$N` placeholders work on both.
//! SQLite allows one writer at a time, so on SQLite writes go through a one-connection pool
//! (no lock-upgrade deadlocks between our own connections) while reads use several
//! connections in WAL mode. On PostgreSQL both are the same pool and row locks
//! (`SELECT … FOR UPDATE`) order concurrent writers across processes.

use crate::StoreError;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};
use std::str::FromStr;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub struct Db {
    read: AnyPool,
    write: AnyPool,
    backend: Backend,
}

/// How long a caller waits for a pooled connection — opening a new one included — before the
/// database counts as unavailable (`StoreError::is_unavailable`: 503 with Retry-After).
/// On PostgreSQL this is what bounds a request while the server refuses connections (sqlx
/// retries a refused connect until this deadline) or accepts them and never answers (a
/// partition, a wedged server). Far above any healthy wait for one of 32 connections.
const PG_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);
/// SQLite queues every writer on one connection (and waits `busy_timeout` for other
/// processes), so its callers may legitimately wait longer.
const SQLITE_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/0001_foundation.sql")),
    (2, include_str!("../migrations/0002_card_payments.sql")),
    (3, include_str!("../migrations/0003_checkout.sql")),
];

impl Db {
    /// Connects to `url` (`sqlite://path`, a bare file path, or `postgres://…`).
    pub async fn connect(url: &str) -> Result<Db, StoreError> {
        sqlx::any::install_default_drivers();
        let (url, backend) = normalise_url(url);
        let opts =
            AnyConnectOptions::from_str(&url).map_err(|e| StoreError::Config(e.to_string()))?;
        let db = match backend {
            Backend::Sqlite => {
                let acquire = SQLITE_ACQUIRE_TIMEOUT;
                let pragmas = sqlite_pragmas;
                let write = AnyPoolOptions::new()
                    .max_connections(1)
                    .acquire_timeout(acquire)
                    .after_connect(pragmas)
                    .connect_with(opts.clone())
                    .await?;
                let read = AnyPoolOptions::new()
                    .max_connections(8)
                    .acquire_timeout(acquire)
                    .after_connect(pragmas)
                    .connect_with(opts)
                    .await?;
                Db {
                    read,
                    write,
                    backend,
                }
            }
            Backend::Postgres => {
                let pool = AnyPoolOptions::new()
                    .max_connections(32)
                    .acquire_timeout(PG_ACQUIRE_TIMEOUT)
                    .after_connect(postgres_session)
                    .connect_with(opts)
                    .await?;
                Db {
                    read: pool.clone(),
                    write: pool,
                    backend,
                }
            }
        };
        Ok(db)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }
    pub fn read(&self) -> &AnyPool {
        &self.read
    }
    pub fn write(&self) -> &AnyPool {
        &self.write
    }

    /// Starts a write transaction.
    pub async fn begin(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, StoreError> {
        Ok(self.write.begin().await?)
    }

    /// ` FOR UPDATE` on PostgreSQL; nothing on SQLite, where the single writer already
    /// serialises every write transaction.
    pub fn for_update(&self) -> &'static str {
        match self.backend {
            Backend::Postgres => " FOR UPDATE",
            Backend::Sqlite => "",
        }
    }

    /// Applies pending migrations. On PostgreSQL an advisory lock makes concurrent
    /// starts of several servers safe.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let mut conn = self.write.acquire().await?;
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_lock(727274)")
                .execute(&mut *conn)
                .await?;
        }
        let result = async {
            sqlx::raw_sql(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
            )
            .execute(&mut *conn)
            .await?;
            for (version, sql) in MIGRATIONS {
                let done: Option<i64> = sqlx::query_scalar("SELECT version FROM schema_migrations WHERE version = $1")
                    .bind(*version)
                    .fetch_optional(&mut *conn)
                    .await?;
                if done.is_some() {
                    continue;
                }
                let id = match self.backend {
                    Backend::Sqlite => "INTEGER PRIMARY KEY AUTOINCREMENT",
                    Backend::Postgres => "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
                };
                let sql = sql.replace("@ID@", id);
                let mut tx = sqlx::Connection::begin(&mut *conn).await?;
                sqlx::raw_sql(&sql).execute(&mut *tx).await?;
                sqlx::query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)")
                    .bind(*version)
                    .bind(domain::Timestamp::now().millis())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                tracing::info!(version, "applied migration");
            }
            Ok::<_, StoreError>(())
        }
        .await;
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_unlock(727274)")
                .execute(&mut *conn)
                .await?;
        }
        result
    }

    /// A cheap round trip for readiness checks.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.read.close().await;
        self.write.close().await;
    }
}

type BoxFut<'c> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), sqlx::Error>> + Send + 'c>>;

/// Set on every SQLite connection. WAL with synchronous=FULL: a commit is durable once it
/// returns; busy_timeout covers other processes writing the same file.
fn sqlite_pragmas(
    conn: &mut sqlx::AnyConnection,
    _: sqlx::pool::PoolConnectionMetadata,
) -> BoxFut<'_> {
    Box::pin(async move {
        conn.execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=5000")
            .await?;
        Ok(())
    })
}

/// Set once on every new PostgreSQL connection (one round trip per connection, none per
/// query). If a client vanishes without closing its connection (a partition, a killed VM)
/// while inside a transaction, its server session would keep the transaction's row locks —
/// an invoice row, say — until TCP keepalive notices, hours by default, and every payment on
/// that invoice would wait behind it after the network heals. No transaction of ours waits on
/// its client (nothing is held across a processor call), so 30 s idle in a transaction means
/// the client is gone: the server ends the session and releases the locks.
fn postgres_session(
    conn: &mut sqlx::AnyConnection,
    _: sqlx::pool::PoolConnectionMetadata,
) -> BoxFut<'_> {
    Box::pin(async move {
        conn.execute("SET idle_in_transaction_session_timeout = '30s'")
            .await?;
        Ok(())
    })
}

/// Accepts `sqlite:` URLs, `postgres(ql)://` URLs and bare file paths (treated as SQLite).
/// SQLite files are created when missing.
fn normalise_url(url: &str) -> (String, Backend) {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return (url.to_string(), Backend::Postgres);
    }
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    let mut q = String::from("mode=rwc");
    if !query.is_empty() {
        q = query.to_string();
        if !q.contains("mode=") {
            q.push_str("&mode=rwc");
        }
    }
    (format!("sqlite://{path}?{q}"), Backend::Sqlite)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            normalise_url("./dealerpay.db"),
            ("sqlite://./dealerpay.db?mode=rwc".into(), Backend::Sqlite)
        );
        assert_eq!(
            normalise_url("sqlite:///tmp/x.db").0,
            "sqlite:///tmp/x.db?mode=rwc"
        );
        assert_eq!(normalise_url("postgres://u@h/db").1, Backend::Postgres);
    }
}
