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
        ) || matches!(self, StoreError::Sqlx(sqlx::Error::Database(e)) if is_busy(e.code().as_deref()))
    }
}

/// SQLite BUSY/LOCKED and PostgreSQL "cannot connect now"/"too many connections".
fn is_busy(code: Option<&str>) -> bool {
    matches!(code, Some("5" | "6" | "57P03" | "53300"))
}
