use thiserror::Error;

/// Errors of the database layer. Callers branch on [`DbError::is_unique_violation`] and
/// [`DbError::is_unavailable`], never on message text.
#[derive(Debug, Error)]
pub enum DbError {
    #[error("database configuration: {0}")]
    Config(String),
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("postgres: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    /// The database cannot be reached, has no free connection, or is known to be down.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A commit shared with other transactions failed (SQLite group commit).
    #[error("commit failed: {message}")]
    Commit { message: String, unavailable: bool },
    #[error("query returned no rows")]
    NoRows,
    #[error("column {column}: {message}")]
    Decode { column: usize, message: String },
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
    #[error("database layer: {0}")]
    Internal(String),
}

impl DbError {
    /// A unique or primary-key constraint rejected the write.
    pub fn is_unique_violation(&self) -> bool {
        match self {
            DbError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => matches!(
                e.extended_code,
                rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                    | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
            ),
            DbError::Postgres(e) => {
                e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION)
            }
            _ => false,
        }
    }

    /// The database could not be reached or was busy: worth a retry later (503).
    pub fn is_unavailable(&self) -> bool {
        match self {
            DbError::Unavailable(_) => true,
            DbError::Commit { unavailable, .. } => *unavailable,
            DbError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => matches!(
                e.code,
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
            ),
            DbError::Postgres(e) => pg_unavailable(e),
            _ => false,
        }
    }

    /// A copy for each transaction of a failed group commit.
    pub(crate) fn for_commit(&self) -> DbError {
        DbError::Commit {
            message: self.to_string(),
            unavailable: self.is_unavailable(),
        }
    }
}

/// PostgreSQL errors that say "not now" rather than "wrong": the connection broke, the
/// server is going away or not accepting connections, or too many are open.
fn pg_unavailable(e: &tokio_postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    match e.code() {
        // Class 08 connection exception; 57P01 admin_shutdown (a stopping server sends it
        // to every session), 57P02 crash_shutdown, 57P03 cannot_connect_now; 53300
        // too_many_connections; 25P03 idle_in_transaction_session_timeout.
        Some(code) => {
            let c = code.code();
            c.starts_with("08") || matches!(c, "57P01" | "57P02" | "57P03" | "53300" | "25P03")
        }
        // No SQLSTATE: an I/O error on the socket.
        None => std::error::Error::source(e)
            .is_some_and(|s| s.downcast_ref::<std::io::Error>().is_some()),
    }
}
