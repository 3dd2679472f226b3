//! One pooled PostgreSQL connection in use: statements under a deadline, `BEGIN` pipelined
//! with the first statement, and a connection in an unknown state never returned to the pool.

use crate::{DbError, Result, Value};
use deadpool_postgres::Object;
use std::time::Duration;
use tokio_postgres::types::ToSql;

/// A pooled connection in use.
pub(crate) struct PgConn {
    pub(crate) obj: Option<Object>,
    pub(crate) timeout: Duration,
    /// `BEGIN` is still to be sent with the next statement.
    pub(crate) begin_pending: bool,
    /// A transaction is open on the server.
    pub(crate) in_transaction: bool,
    /// A statement was sent and its answer not read (the future was dropped, or it
    /// timed out): the connection's state is unknown.
    pub(crate) tainted: bool,
}

impl Drop for PgConn {
    fn drop(&mut self) {
        if self.tainted || self.in_transaction {
            if let Some(obj) = self.obj.take() {
                // Out of the pool; dropping the client closes the connection.
                drop(Object::take(obj));
            }
        }
    }
}

fn timed_out() -> DbError {
    DbError::Unavailable("PostgreSQL did not answer in time".into())
}

impl PgConn {
    fn client(&self) -> Result<&Object> {
        self.obj
            .as_ref()
            .ok_or_else(|| DbError::Internal("connection already released".into()))
    }

    /// The end of one exchange with the server, run under the statement deadline. While
    /// it runs the connection counts as tainted, so a future dropped half-way (or one that
    /// timed out) leaves it detached from the pool.
    fn finish<T>(
        &mut self,
        r: std::result::Result<Result<T>, tokio::time::error::Elapsed>,
    ) -> Result<T> {
        match r {
            Ok(r) => {
                self.tainted = false;
                r
            }
            Err(_) => Err(timed_out()),
        }
    }

    pub(crate) async fn query(
        &mut self,
        sql: &str,
        args: &[Value<'_>],
    ) -> Result<Vec<tokio_postgres::Row>> {
        let begin = std::mem::take(&mut self.begin_pending);
        self.tainted = true;
        let client = self.client()?;
        let params: Vec<&(dyn ToSql + Sync)> =
            args.iter().map(|a| a as &(dyn ToSql + Sync)).collect();
        let r = tokio::time::timeout(self.timeout, async {
            let st = client.prepare_cached(sql).await?;
            if begin {
                let (b, r) =
                    tokio::join!(client.batch_execute("BEGIN"), client.query(&st, &params));
                b?;
                Ok(r?)
            } else {
                Ok(client.query(&st, &params).await?)
            }
        })
        .await;
        self.finish(r)
    }

    pub(crate) async fn execute(&mut self, sql: &str, args: &[Value<'_>]) -> Result<u64> {
        let begin = std::mem::take(&mut self.begin_pending);
        self.tainted = true;
        let client = self.client()?;
        let params: Vec<&(dyn ToSql + Sync)> =
            args.iter().map(|a| a as &(dyn ToSql + Sync)).collect();
        let r = tokio::time::timeout(self.timeout, async {
            let st = client.prepare_cached(sql).await?;
            if begin {
                let (b, r) =
                    tokio::join!(client.batch_execute("BEGIN"), client.execute(&st, &params));
                b?;
                Ok(r?)
            } else {
                Ok(client.execute(&st, &params).await?)
            }
        })
        .await;
        self.finish(r)
    }

    pub(crate) async fn batch(&mut self, sql: &str) -> Result<()> {
        self.tainted = true;
        let client = self.client()?;
        let r = tokio::time::timeout(self.timeout, async { Ok(client.batch_execute(sql).await?) })
            .await;
        self.finish(r)
    }

    pub(crate) fn began(&self) -> bool {
        self.in_transaction && !self.begin_pending
    }
}
