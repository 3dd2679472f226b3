//! The engine's one error type: a catalog entry (or a condition every route family names
//! differently), what kind of failure it is, and a client-safe detail naming the field. The
//! HTTP layer maps the kind to a status and the entry to its family's envelope.

use domain::catalog::CatalogEntry;

/// What kind of failure, independent of any transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The request is wrong (a field, or a business rule it breaks).
    Invalid,
    /// Who is calling is not known or not valid.
    Unauthenticated,
    /// Known, but not allowed here.
    Forbidden,
    NotFound,
    /// The state does not allow it now (in progress, already done, a duplicate).
    Conflict,
    /// Well-formed but names something that cannot be processed (v3: an unknown invoice).
    Unprocessable,
    /// A dependency answered something we cannot use.
    BadGateway,
    /// A dependency is down: retry later.
    Unavailable,
    /// Too many attempts by this caller (failed sign-ins): retry after `retry_after`.
    TooMany,
    Internal,
}

/// Conditions that exist in every route family under different catalog entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Generic {
    /// Unparseable body, wrong content, unknown route.
    Malformed,
    /// A required field is absent.
    Missing,
    /// A field is present but its value is unacceptable.
    Invalid,
    Internal,
    Unavailable,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    V1(CatalogEntry),
    Checkout(CatalogEntry),
    Generic(Generic),
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("{code:?}: {detail}")]
pub struct EngineError {
    pub kind: Kind,
    pub code: Code,
    /// Specific, client-safe explanation naming the field where there is one.
    pub detail: String,
    /// For `Unavailable` and `TooMany`: seconds after which a retry may succeed.
    pub retry_after: Option<u32>,
}

pub type EngineResult<T> = Result<T, EngineError>;

impl EngineError {
    pub fn new(kind: Kind, entry: CatalogEntry, detail: impl Into<String>) -> EngineError {
        EngineError {
            kind,
            code: Code::V1(entry),
            detail: detail.into(),
            retry_after: None,
        }
    }
    pub fn bad_request(entry: CatalogEntry, detail: impl Into<String>) -> EngineError {
        EngineError::new(Kind::Invalid, entry, detail)
    }
    pub fn unauthorized(entry: CatalogEntry, detail: impl Into<String>) -> EngineError {
        EngineError::new(Kind::Unauthenticated, entry, detail)
    }
    pub fn conflict(entry: CatalogEntry, detail: impl Into<String>) -> EngineError {
        EngineError::new(Kind::Conflict, entry, detail)
    }
    pub fn not_found(entry: CatalogEntry, detail: impl Into<String>) -> EngineError {
        EngineError::new(Kind::NotFound, entry, detail)
    }
    /// A Checkout-family error (codes 93xxxxx).
    pub fn checkout(kind: Kind, entry: CatalogEntry, detail: impl Into<String>) -> EngineError {
        EngineError {
            kind,
            code: Code::Checkout(entry),
            detail: detail.into(),
            retry_after: None,
        }
    }
    pub fn generic(kind: Kind, g: Generic, detail: impl Into<String>) -> EngineError {
        EngineError {
            kind,
            code: Code::Generic(g),
            detail: detail.into(),
            retry_after: None,
        }
    }
    pub fn malformed(detail: impl Into<String>) -> EngineError {
        EngineError::generic(Kind::Invalid, Generic::Malformed, detail)
    }
    pub fn missing(field: &str) -> EngineError {
        EngineError::generic(
            Kind::Invalid,
            Generic::Missing,
            format!("{field}: is required"),
        )
    }
    pub fn invalid(field: &str, why: impl std::fmt::Display) -> EngineError {
        EngineError::generic(Kind::Invalid, Generic::Invalid, format!("{field}: {why}"))
    }
    pub fn unavailable(detail: impl Into<String>) -> EngineError {
        let mut e = EngineError::generic(Kind::Unavailable, Generic::Unavailable, detail);
        e.retry_after = Some(1);
        e
    }
    /// Logs the cause and answers with a detail-free internal error.
    pub fn internal(cause: impl std::fmt::Display) -> EngineError {
        tracing::error!(error = %cause, "internal error");
        EngineError::generic(Kind::Internal, Generic::Internal, "internal error")
    }

    /// The same condition with another catalog entry (prePayment reports every malformed
    /// field as `PEPAYMENT_VALIDATION_FAILED`).
    pub fn as_entry_if_field(self, entry: CatalogEntry) -> EngineError {
        match self.code {
            Code::Generic(Generic::Missing | Generic::Invalid) => EngineError {
                code: Code::V1(entry),
                ..self
            },
            _ => self,
        }
    }
}

impl From<db::DbError> for EngineError {
    fn from(e: db::DbError) -> EngineError {
        if e.is_unavailable() {
            tracing::warn!(error = %e, "database unavailable");
            EngineError::unavailable("the database is unavailable; retry shortly")
        } else {
            EngineError::internal(e)
        }
    }
}
