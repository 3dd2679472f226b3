//! Who is calling: the extractors hand the `Authorization` header to the engine, which
//! decides (partners, dealer and department tokens, operators; SPEC §2). The idempotency
//! layer authenticates before it looks a key up ([`identify`]) and leaves the caller in the
//! request, so the route's extractor does not authenticate twice.

use crate::app::AppState;
use crate::error::{ApiError, ApiResult};
use crate::routes::checkout::MerchantAuth;
use axum::extract::FromRequestParts;
use axum::http::{header, request::Parts, Extensions};
use domain::catalog::v1;
use engine::Actor;
use std::net::IpAddr;

/// The authenticated caller of a v1/v3 route.
pub struct Caller(pub Actor);

/// The caller the idempotency layer already authenticated for this request.
#[derive(Clone)]
pub struct Authenticated(pub Actor);

/// The client's address ([`crate::server::ClientAddr`]): the connection's peer or, behind a
/// trusted proxy, the address it forwarded.
pub fn client_address(extensions: &Extensions) -> Option<IpAddr> {
    extensions.get::<crate::server::ClientAddr>().map(|c| c.0)
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> ApiResult<Caller> {
        if let Some(Authenticated(a)) = parts.extensions.get::<Authenticated>() {
            return Ok(Caller(a.clone()));
        }
        let value = match parts.headers.get(header::AUTHORIZATION) {
            None => None,
            Some(v) => Some(v.to_str().map_err(|_| {
                ApiError::unauthorized(
                    v1::WRONG_CREDENTIAL,
                    "the Authorization header is not valid text",
                )
            })?),
        };
        let from = client_address(&parts.extensions);
        Ok(Caller(app.engine.authenticate_from(value, from).await?))
    }
}

/// Operator-only routes (the admin API).
pub struct Operator;

fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim)
}

impl FromRequestParts<AppState> for Operator {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> ApiResult<Operator> {
        if let Some(Authenticated(Actor::Operator)) = parts.extensions.get::<Authenticated>() {
            return Ok(Operator);
        }
        match bearer(parts) {
            Some(t) if app.engine.is_operator(t).await? => Ok(Operator),
            _ => Err(ApiError::unauthorized(
                v1::ACCESS_FORBIDDEN,
                "this route requires an operator token",
            )),
        }
    }
}

/// Who is calling, for binding an Idempotency-Key to the caller rather than to the
/// credential it happens to use: a partner, the dealer or department behind a token, a
/// Checkout namespace, the operator. Authenticates exactly as the route will (a refused
/// caller gets its authentication error, never a stored answer) and leaves the caller in
/// the request for the route's extractor.
///
/// A request without credentials is authenticated all the same: a route that needs them
/// answers 401 before any key is looked up (never "key already used" to a stranger); the
/// routes that take none share the anonymous scope.
pub async fn identify(parts: &mut Parts, app: &AppState) -> ApiResult<String> {
    let path = parts.uri.path();
    let actor = if path.starts_with("/payment/admin/") {
        Operator::from_request_parts(parts, app).await?;
        Actor::Operator
    } else if path.starts_with("/payment/checkout/") {
        let operator = match bearer(parts) {
            Some(t) => app.engine.is_operator(t).await?,
            None => false,
        };
        if operator {
            Actor::Operator
        } else if path.starts_with("/payment/checkout/v1/namespaces/")
            && !["/token", "/users/login", "/password-resets"]
                .iter()
                .any(|tail| path.ends_with(tail))
        {
            MerchantAuth::from_request_parts(parts, app).await?.0
        } else {
            // A route that takes no merchant credential: the route refuses or ignores it.
            let raw = parts
                .headers
                .get(header::AUTHORIZATION)
                .map(|v| v.as_bytes());
            return Ok(format!(
                "credential:{}",
                engine::crypto::sha256_hex(raw.unwrap_or_default())
            ));
        }
    } else {
        Caller::from_request_parts(parts, app).await?.0
    };
    let identity = actor.identity();
    parts.extensions.insert(Authenticated(actor));
    Ok(identity)
}
