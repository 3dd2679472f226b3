//! One connection of either backend, with the same async methods on both. On SQLite they
//! finish without ever suspending (the closures of [`crate::Db`] rely on it).

use crate::pg_conn::PgConn;
use crate::row::{Cols, Decode, FromRow};
use crate::{Backend, DbError, Result, Value};
use std::borrow::Cow;

pub struct Conn {
    pub(crate) inner: Inner,
    /// Statements run on this connection since it was opened.
    pub(crate) statements: u32,
    /// SQLite group commit: whether the running transaction has its own savepoint yet.
    pub(crate) savepoint: Savepoint,
}

/// A transaction of a group commit gets a savepoint (so it can be rolled back alone) just
/// before its first write: one that only reads, or fails before writing, costs nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Savepoint {
    /// Not in a group commit (or alone in it): no savepoint needed.
    None,
    /// In a group commit; opened at the first write.
    Pending,
    Open,
}

/// Opens the pending savepoint before a statement that writes.
fn before_write(c: &rusqlite::Connection, sp: &mut Savepoint, writes: bool) -> Result<()> {
    if writes && *sp == Savepoint::Pending {
        c.execute_batch("SAVEPOINT tx")?;
        *sp = Savepoint::Open;
    }
    Ok(())
}

pub(crate) enum Inner {
    Sqlite(rusqlite::Connection),
    Pg(PgConn),
}

impl Conn {
    pub(crate) fn sqlite(c: rusqlite::Connection) -> Conn {
        Conn {
            inner: Inner::Sqlite(c),
            statements: 0,
            savepoint: Savepoint::None,
        }
    }

    pub(crate) fn pg(c: PgConn) -> Conn {
        Conn {
            inner: Inner::Pg(c),
            statements: 0,
            savepoint: Savepoint::None,
        }
    }

    pub fn backend(&self) -> Backend {
        match self.inner {
            Inner::Sqlite(_) => Backend::Sqlite,
            Inner::Pg(_) => Backend::Postgres,
        }
    }

    /// ` FOR UPDATE` on PostgreSQL; nothing on SQLite, whose single writer already
    /// serialises every write transaction.
    pub fn for_update(&self) -> &'static str {
        match self.inner {
            Inner::Sqlite(_) => "",
            Inner::Pg(_) => " FOR UPDATE",
        }
    }

    /// Runs a statement that returns no rows; the number of rows it changed.
    pub async fn execute(&mut self, sql: &str, args: &[Value<'_>]) -> Result<u64> {
        self.statements += 1;
        match &mut self.inner {
            Inner::Sqlite(c) => {
                let mut st = c.prepare_cached(&sqlite_sql(sql))?;
                before_write(c, &mut self.savepoint, !st.readonly())?;
                Ok(st.execute(rusqlite::params_from_iter(args.iter()))? as u64)
            }
            Inner::Pg(c) => c.execute(sql, args).await,
        }
    }

    /// Every row of a query.
    pub async fn query_all<T: FromRow>(&mut self, sql: &str, args: &[Value<'_>]) -> Result<Vec<T>> {
        self.statements += 1;
        match &mut self.inner {
            Inner::Sqlite(c) => {
                let mut st = c.prepare_cached(&sqlite_sql(sql))?;
                before_write(c, &mut self.savepoint, !st.readonly())?;
                let mut rows = st.query(rusqlite::params_from_iter(args.iter()))?;
                let mut out = Vec::new();
                while let Some(r) = rows.next()? {
                    out.push(T::from_cols(&mut Cols::new(r))?);
                }
                Ok(out)
            }
            Inner::Pg(c) => c
                .query(sql, args)
                .await?
                .iter()
                .map(|r| T::from_cols(&mut Cols::new(r)))
                .collect(),
        }
    }

    /// The first row of a query, if any.
    pub async fn query_opt<T: FromRow>(
        &mut self,
        sql: &str,
        args: &[Value<'_>],
    ) -> Result<Option<T>> {
        self.statements += 1;
        match &mut self.inner {
            Inner::Sqlite(c) => {
                let mut st = c.prepare_cached(&sqlite_sql(sql))?;
                before_write(c, &mut self.savepoint, !st.readonly())?;
                let mut rows = st.query(rusqlite::params_from_iter(args.iter()))?;
                match rows.next()? {
                    Some(r) => Ok(Some(T::from_cols(&mut Cols::new(r))?)),
                    None => Ok(None),
                }
            }
            Inner::Pg(c) => match c.query(sql, args).await?.first() {
                Some(r) => Ok(Some(T::from_cols(&mut Cols::new(r))?)),
                None => Ok(None),
            },
        }
    }

    /// The first row of a query; [`DbError::NoRows`] when there is none.
    pub async fn query_one<T: FromRow>(&mut self, sql: &str, args: &[Value<'_>]) -> Result<T> {
        self.query_opt(sql, args).await?.ok_or(DbError::NoRows)
    }

    /// The first column of the first row; [`DbError::NoRows`] when there is none.
    pub async fn scalar_one<T: Decode>(&mut self, sql: &str, args: &[Value<'_>]) -> Result<T> {
        Ok(self.query_one::<(T,)>(sql, args).await?.0)
    }

    /// The first column of the first row, if any.
    pub async fn scalar_opt<T: Decode>(
        &mut self,
        sql: &str,
        args: &[Value<'_>],
    ) -> Result<Option<T>> {
        Ok(self.query_opt::<(T,)>(sql, args).await?.map(|r| r.0))
    }

    /// The first column of every row.
    pub async fn scalar_all<T: Decode>(&mut self, sql: &str, args: &[Value<'_>]) -> Result<Vec<T>> {
        Ok(self
            .query_all::<(T,)>(sql, args)
            .await?
            .into_iter()
            .map(|r| r.0)
            .collect())
    }

    /// Runs several statements without arguments (schema scripts). Not counted.
    pub async fn batch(&mut self, sql: &str) -> Result<()> {
        match &mut self.inner {
            Inner::Sqlite(c) => {
                before_write(c, &mut self.savepoint, true)?;
                Ok(c.execute_batch(sql)?)
            }
            Inner::Pg(c) => c.batch(sql).await,
        }
    }

    pub(crate) fn raw_sqlite(&mut self) -> Option<&mut rusqlite::Connection> {
        match &mut self.inner {
            Inner::Sqlite(c) => Some(c),
            Inner::Pg(_) => None,
        }
    }

    pub(crate) fn raw_pg(&mut self) -> Option<&mut PgConn> {
        match &mut self.inner {
            Inner::Pg(c) => Some(c),
            Inner::Sqlite(_) => None,
        }
    }
}

/// Statement text by (address, length) of the original: the original and its rewrite.
type RewriteCache = std::collections::HashMap<(usize, usize), (Box<str>, std::rc::Rc<str>)>;

thread_local! {
    /// Rewritten statements, by the address and length of their text (statements are almost
    /// always `'static`); the text is compared too, so a reused address never maps wrongly.
    static REWRITTEN: std::cell::RefCell<RewriteCache> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

/// [`placeholders`], remembered per thread: the hot statements are rewritten once.
fn sqlite_sql(sql: &str) -> std::rc::Rc<str> {
    let key = (sql.as_ptr() as usize, sql.len());
    REWRITTEN.with(|m| {
        let mut m = m.borrow_mut();
        if let Some((orig, rewritten)) = m.get(&key) {
            if **orig == *sql {
                return rewritten.clone();
            }
        }
        if m.len() > 2048 {
            m.clear();
        }
        let rewritten: std::rc::Rc<str> = placeholders(sql).into();
        m.insert(key, (sql.into(), rewritten.clone()));
        rewritten
    })
}

/// PostgreSQL's `$1` placeholders as SQLite's `?1`. (SQLite reads `$1` as a *named*
/// parameter, numbered by first appearance, which would bind `… $2 … $1` the wrong way round.)
fn placeholders(sql: &str) -> Cow<'_, str> {
    if !sql.contains('$') {
        return Cow::Borrowed(sql);
    }
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(ch) = chars.next() {
        if ch == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('?');
        } else {
            out.push(ch);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn placeholders() {
        assert_eq!(super::placeholders("SELECT 1"), "SELECT 1");
        assert_eq!(
            super::placeholders("UPDATE t SET a = $2 WHERE id = $1 AND b = '$x'"),
            "UPDATE t SET a = ?2 WHERE id = ?1 AND b = '$x'"
        );
    }
}
