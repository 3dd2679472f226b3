//! The API error type: an [`EngineError`] (or a parsing error of the HTTP layer itself) with
//! its HTTP status. A middleware renders it in the envelope of the route family the request
//! addressed (v1, v3 or Checkout, SPEC §1), so one error value serves every family and no
//! handler formats an envelope itself.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use domain::catalog::{checkout, v1, CatalogEntry};
use engine::{EngineError, Kind};

/// Which envelope a route answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    V1,
    V3,
    Checkout,
}

impl Family {
    pub fn of(path: &str) -> Family {
        if path.starts_with("/payment/v3/") {
            Family::V3
        } else if path.starts_with("/payment/checkout/") {
            Family::Checkout
        } else {
            Family::V1
        }
    }
}

pub use engine::{Code, Generic};

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: Code,
    /// Specific, client-safe explanation naming the field where there is one.
    pub detail: String,
    pub retry_after: Option<u32>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, entry: CatalogEntry, detail: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code: Code::V1(entry),
            detail: detail.into(),
            retry_after: None,
        }
    }
    pub fn bad_request(entry: CatalogEntry, detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, entry, detail)
    }
    pub fn unauthorized(entry: CatalogEntry, detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, entry, detail)
    }
    pub fn conflict(entry: CatalogEntry, detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, entry, detail)
    }
    pub fn not_found(entry: CatalogEntry, detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, entry, detail)
    }
    /// A Checkout-family error (codes 93xxxxx).
    pub fn checkout(
        status: StatusCode,
        entry: CatalogEntry,
        detail: impl Into<String>,
    ) -> ApiError {
        ApiError {
            status,
            code: Code::Checkout(entry),
            detail: detail.into(),
            retry_after: None,
        }
    }
    pub fn generic(status: StatusCode, g: Generic, detail: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code: Code::Generic(g),
            detail: detail.into(),
            retry_after: None,
        }
    }
    pub fn malformed(detail: impl Into<String>) -> ApiError {
        ApiError::generic(StatusCode::BAD_REQUEST, Generic::Malformed, detail)
    }
    pub fn missing(field: &str) -> ApiError {
        ApiError::generic(
            StatusCode::BAD_REQUEST,
            Generic::Missing,
            format!("{field}: is required"),
        )
    }
    pub fn invalid(field: &str, why: impl std::fmt::Display) -> ApiError {
        ApiError::generic(
            StatusCode::BAD_REQUEST,
            Generic::Invalid,
            format!("{field}: {why}"),
        )
    }
    pub fn unavailable(detail: impl Into<String>) -> ApiError {
        let mut e = ApiError::generic(
            StatusCode::SERVICE_UNAVAILABLE,
            Generic::Unavailable,
            detail,
        );
        e.retry_after = Some(1);
        e
    }
    /// Logs the cause and answers with a detail-free 500.
    pub fn internal(cause: impl std::fmt::Display) -> ApiError {
        tracing::error!(error = %cause, "internal error");
        ApiError::generic(
            StatusCode::INTERNAL_SERVER_ERROR,
            Generic::Internal,
            "internal error",
        )
    }

    /// The catalog entry this error shows in `family`.
    pub fn entry(&self, family: Family) -> CatalogEntry {
        match (self.code, family) {
            (Code::V1(e), Family::V1 | Family::V3) | (Code::Checkout(e), Family::Checkout) => e,
            (Code::Generic(g), Family::Checkout) => match g {
                Generic::Malformed | Generic::Missing | Generic::Invalid => {
                    checkout::VALIDATION_ERROR
                }
                Generic::Internal => checkout::INTERNAL_SERVER_ERROR,
                Generic::Unavailable => checkout::SERVICE_UNAVAILABLE,
            },
            (Code::Generic(g), _) => match g {
                Generic::Malformed => v1::INVALID_REQUEST_DATA,
                Generic::Missing => v1::REQUIRED_FIELDS_MISSING,
                Generic::Invalid => v1::INVALID_DATA_FOR_THE_FIELD,
                Generic::Internal => v1::INTERNAL_SERVER_ERROR,
                Generic::Unavailable => v1::SERVICE_UNAVAILABLE,
            },
            // A v1-only condition reached through a Checkout route (e.g. auth) or the reverse.
            (Code::V1(_), Family::Checkout) => match self.status {
                StatusCode::UNAUTHORIZED => checkout::UNAUTHORIZED,
                s if s.is_server_error() => checkout::INTERNAL_SERVER_ERROR,
                _ => checkout::VALIDATION_ERROR,
            },
            (Code::Checkout(_), _) => v1::INVALID_REQUEST_DATA,
        }
    }

    /// Renders the body for `family`. `documented` routes keep to the statuses their pages list.
    pub fn render(&self, family: Family, documented: bool) -> Response {
        let entry = self.entry(family);
        let mut status = self.status;
        if documented {
            status = match status.as_u16() {
                200 | 400 | 401 | 500 => status,
                422 if family == Family::V3 => status,
                // Throttled sign-ins: the documented pages list 401 for credentials refused.
                429 => StatusCode::UNAUTHORIZED,
                s if s >= 500 => StatusCode::INTERNAL_SERVER_ERROR,
                _ => StatusCode::BAD_REQUEST,
            };
        }
        let body = match family {
            Family::V1 => serde_json::json!({
                "errors": [{
                    "errorCode": entry.code,
                    "errorTitle": entry.title,
                    "errorMessage": entry.description,
                    "errorDescription": self.detail,
                }],
                "warnings": [],
            }),
            Family::V3 => serde_json::json!({
                "error": {
                    "errorCode": entry.code.to_string(),
                    "errorDescription": format!("{}: {}", entry.title, self.detail),
                },
                "warnings": [],
            }),
            Family::Checkout => serde_json::json!({
                "error": { "code": entry.code, "name": entry.title, "message": entry.description, "detail": self.detail },
            }),
        };
        let mut resp = (status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

impl IntoResponse for ApiError {
    /// Carries the error to the rendering middleware, which knows the route family.
    fn into_response(self) -> Response {
        let mut resp = self.status.into_response();
        resp.extensions_mut().insert(self);
        resp
    }
}

/// The status each kind of engine failure answers with.
pub fn status_of(kind: Kind) -> StatusCode {
    match kind {
        Kind::Invalid => StatusCode::BAD_REQUEST,
        Kind::Unauthenticated => StatusCode::UNAUTHORIZED,
        Kind::Forbidden => StatusCode::FORBIDDEN,
        Kind::NotFound => StatusCode::NOT_FOUND,
        Kind::Conflict => StatusCode::CONFLICT,
        Kind::Unprocessable => StatusCode::UNPROCESSABLE_ENTITY,
        Kind::BadGateway => StatusCode::BAD_GATEWAY,
        Kind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Kind::TooMany => StatusCode::TOO_MANY_REQUESTS,
        Kind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> ApiError {
        ApiError {
            status: status_of(e.kind),
            code: e.code,
            detail: e.detail,
            retry_after: e.retry_after,
        }
    }
}
