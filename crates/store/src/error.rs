use thiserror::Error;

/// Errors from the persistence layer. Callers branch on the classification helpers,
/// never on message text.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("database configuration: {0}")]
    Config(String),
    #[error(transparent)]
    Sqlx(#[from] sqlx::Error),
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// A unique or primary-key constraint rejected the write.
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, StoreError::Sqlx(sqlx::Error::Database(e)) if e.kind() == sqlx::error::ErrorKind::UniqueViolation)
    }

    /// The database could not be reached or had no free connection: worth a retry later.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            StoreError::Sqlx(
                sqlx::Error::PoolTimedOut
                    | sqlx::Error::Io(_)
                    | sqlx::Error::PoolClosed
                    | sqlx::Error::Tls(_)
            )
        ) || matches!(self, StoreError::Sqlx(sqlx::Error::Database(e)) if is_unavailable_code(e.as_ref()))
    }
}

/// Database errors that say "not now" rather than "wrong": the server is going away, not
/// accepting connections, or busy.
fn is_unavailable_code(e: &dyn sqlx::error::DatabaseError) -> bool {
    let Some(code) = e.code() else { return false };
    if e.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
        // Extended result codes; the primary code is the low byte: BUSY (5) and LOCKED (6),
        // BUSY_SNAPSHOT (517) and the like included.
        return code.parse::<i32>().is_ok_and(|c| matches!(c & 0xff, 5 | 6));
    }
    // PostgreSQL SQLSTATE: class 08 connection exception; 57P01 admin_shutdown (a server
    // stopping sends it to every session), 57P02 crash_shutdown, 57P03 cannot_connect_now
    // (starting up or shutting down); 53300 too_many_connections; 25P03
    // idle_in_transaction_session_timeout (see `Db::connect`).
    code.starts_with("08") || matches!(&*code, "57P01" | "57P02" | "57P03" | "53300" | "25P03")
}
