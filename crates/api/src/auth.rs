//! Who is calling: the extractors hand the `Authorization` header to the engine, which
//! decides (partners, dealer and department tokens, operators; SPEC §2).

use crate::app::AppState;
use crate::error::{ApiError, ApiResult};
use axum::extract::FromRequestParts;
use axum::http::{header, request::Parts};
use domain::catalog::v1;
use engine::Actor;

/// The authenticated caller of a v1/v3 route.
pub struct Caller(pub Actor);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> ApiResult<Caller> {
        let value = match parts.headers.get(header::AUTHORIZATION) {
            None => None,
            Some(v) => Some(v.to_str().map_err(|_| {
                ApiError::unauthorized(
                    v1::WRONG_CREDENTIAL,
                    "the Authorization header is not valid text",
                )
            })?),
        };
        Ok(Caller(app.engine.authenticate(value).await?))
    }
}

/// Operator-only routes (the admin API).
pub struct Operator;

impl FromRequestParts<AppState> for Operator {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> ApiResult<Operator> {
        let value = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .map(str::trim);
        match token {
            Some(t) if app.engine.is_operator(t).await? => Ok(Operator),
            _ => Err(ApiError::unauthorized(
                v1::ACCESS_FORBIDDEN,
                "this route requires an operator token",
            )),
        }
    }
}

/// Hash of the raw credentials, used to namespace Idempotency-Keys per caller.
pub fn credential_fingerprint(parts: &Parts) -> String {
    let raw = parts
        .headers
        .get(header::AUTHORIZATION)
        .map(|v| v.as_bytes())
        .unwrap_or(b"");
    engine::crypto::sha256_hex(raw)
}
