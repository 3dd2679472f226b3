//! PostgreSQL: a `deadpool-postgres` pool of `tokio-postgres` connections with cached
//! prepared statements.
//!
//! - A write runs between `BEGIN` and `COMMIT`; `BEGIN` goes out in the same round trip as
//!   the first statement (pipelined), and a closure that ran nothing commits nothing.
//! - Every statement has a client-side deadline: a connection that stops answering (a
//!   partition, a frozen server) is given up instead of holding its request forever.
//! - A connection dropped in the middle of a statement or a transaction (its request timed
//!   out or was cancelled) is never handed to anyone else: it is detached from the pool and
//!   closed, and the server rolls back whatever it had open.
//! - When connecting fails (refused, unreachable), the database is marked down for a
//!   moment: callers fail at once with "unavailable" instead of each waiting out the
//!   connect timeout, while one caller at a time probes whether it is back.

use crate::conn::Conn;
use crate::migrate::{self, Migration};
use crate::pg_conn::PgConn;
use crate::{counter, BoxFuture, DbError, Options, Result, Stats};
use deadpool_postgres::{Manager, ManagerConfig, Pool, PoolError, RecyclingMethod, Runtime};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio_postgres::NoTls;

/// How long the database counts as down after a failed connect.
const DOWN_FOR: Duration = Duration::from_millis(1000);
/// While down, how often one caller may try to connect.
const PROBE_EVERY: Duration = Duration::from_millis(200);

pub struct Postgres {
    pool: Pool,
    statement_timeout: Duration,
    /// Milliseconds since `epoch` until which connecting is known to fail (0: up).
    down_until: AtomicI64,
    last_probe: AtomicI64,
    epoch: Instant,
    statements: AtomicU64,
    transactions: AtomicU64,
}

impl Postgres {
    pub(crate) async fn connect(url: &str, opts: &Options) -> Result<Postgres> {
        let mut cfg: tokio_postgres::Config = url
            .parse()
            .map_err(|e: tokio_postgres::Error| DbError::Config(e.to_string()))?;
        // If a client vanishes inside a transaction (a partition, a killed VM), its session
        // would keep the transaction's row locks until TCP keepalive notices, hours by
        // default. No transaction of ours waits on its client, so 30 s idle in a
        // transaction means the client is gone: the server ends the session.
        let session = "-c idle_in_transaction_session_timeout=30s";
        let options = match cfg.get_options() {
            Some(o) if !o.is_empty() => format!("{o} {session}"),
            _ => session.to_string(),
        };
        cfg.options(&options);
        cfg.connect_timeout(opts.pg_acquire_timeout);
        let mgr = Manager::from_config(
            cfg,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(mgr)
            .max_size(opts.pg_max_connections)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(opts.pg_acquire_timeout))
            .create_timeout(Some(opts.pg_acquire_timeout))
            .recycle_timeout(Some(opts.pg_acquire_timeout))
            .build()
            .map_err(|e| DbError::Config(e.to_string()))?;
        let pg = Postgres {
            pool,
            statement_timeout: opts.pg_statement_timeout,
            down_until: AtomicI64::new(0),
            last_probe: AtomicI64::new(0),
            epoch: Instant::now(),
            statements: AtomicU64::new(0),
            transactions: AtomicU64::new(0),
        };
        // Fail at start, not on the first request, when the database cannot be reached.
        drop(pg.conn().await?);
        Ok(pg)
    }

    fn now_ms(&self) -> i64 {
        self.epoch.elapsed().as_millis() as i64
    }

    async fn conn(&self) -> Result<Conn> {
        let now = self.now_ms();
        if self.down_until.load(Ordering::Relaxed) > now {
            let last = self.last_probe.load(Ordering::Relaxed);
            let may_probe = now - last >= PROBE_EVERY.as_millis() as i64
                && self
                    .last_probe
                    .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                    .is_ok();
            if !may_probe {
                return Err(DbError::Unavailable("PostgreSQL is unreachable".into()));
            }
        }
        match self.pool.get().await {
            Ok(obj) => {
                self.down_until.store(0, Ordering::Relaxed);
                Ok(Conn::pg(PgConn {
                    obj: Some(obj),
                    timeout: self.statement_timeout,
                    begin_pending: false,
                    in_transaction: false,
                    tainted: false,
                }))
            }
            Err(e) => {
                let connecting_failed = matches!(
                    e,
                    PoolError::Backend(_)
                        | PoolError::Timeout(deadpool_postgres::TimeoutType::Create)
                );
                if connecting_failed {
                    self.down_until.store(
                        self.now_ms() + DOWN_FOR.as_millis() as i64,
                        Ordering::Relaxed,
                    );
                }
                Err(DbError::Unavailable(format!(
                    "no PostgreSQL connection: {e}"
                )))
            }
        }
    }

    pub(crate) async fn read<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: for<'c> FnOnce(&'c mut Conn) -> BoxFuture<'c, Result<T, E>> + Send,
        E: From<DbError>,
    {
        let mut conn = self.conn().await?;
        let r = f(&mut conn).await;
        self.count(conn.statements);
        r
    }

    pub(crate) async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: for<'c> FnOnce(&'c mut Conn) -> BoxFuture<'c, Result<T, E>> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let mut conn = self.conn().await?;
        {
            let pg = conn.raw_pg().expect("a PostgreSQL connection");
            pg.begin_pending = true;
            pg.in_transaction = true;
        }
        let r = f(&mut conn).await;
        self.count(conn.statements);
        self.transactions.fetch_add(1, Ordering::Relaxed);
        let pg = conn.raw_pg().expect("a PostgreSQL connection");
        if !pg.began() {
            // Nothing was sent: nothing to commit or roll back.
            pg.in_transaction = false;
            pg.begin_pending = false;
            return r;
        }
        match r {
            Ok(v) => {
                pg.batch("COMMIT").await?;
                pg.in_transaction = false;
                Ok(v)
            }
            Err(e) => {
                if pg.batch("ROLLBACK").await.is_ok() {
                    pg.in_transaction = false;
                }
                Err(e)
            }
        }
    }

    fn count(&self, n: u32) {
        self.statements.fetch_add(n.into(), Ordering::Relaxed);
        counter::add(n);
    }

    pub(crate) async fn migrate(
        &self,
        table: &'static str,
        migrations: &'static [Migration],
    ) -> Result<()> {
        let mut conn = self.conn().await?;
        conn.execute("SELECT pg_advisory_lock(727274)", &[])
            .await
            .map(|_| ())?;
        let r = migrate::run(&mut conn, table, migrations).await;
        let unlock = conn.execute("SELECT pg_advisory_unlock(727274)", &[]).await;
        r?;
        unlock.map(|_| ())
    }

    pub(crate) fn stats(&self) -> Stats {
        let t = self.transactions.load(Ordering::Relaxed);
        Stats {
            statements: self.statements.load(Ordering::Relaxed),
            transactions: t,
            commits: t,
        }
    }

    pub(crate) fn close(&self) {
        self.pool.close();
    }
}
