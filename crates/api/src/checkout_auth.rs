//! Checkout merchant authentication: API keys exchanged for short-lived HS256 JWT access
//! tokens; every other Checkout route requires `Authorization: Bearer <token>` for the
//! namespace it addresses. The signing key is derived from the secret kept outside the
//! database, so a copy of the database cannot mint tokens.

use crate::app::AppState;
use crate::error::{ApiError, ApiResult};
use axum::http::{header, HeaderMap, StatusCode};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use domain::catalog::checkout as co;
use serde::{Deserialize, Serialize};
use store::repo::checkout::{self as repo, NamespaceRow};
use subtle::ConstantTimeEq;

/// How long an access token lives.
pub const TOKEN_TTL_SECS: i64 = 900;

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    /// `key:<uuid>` or `user:<uuid>`.
    pub sub: String,
    pub ns: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
}

fn jwt_key(app: &AppState) -> Vec<u8> {
    crate::auth::hmac_hex(&app.card_hash_key, b"dealerpay checkout jwt v1").into_bytes()
}

pub fn mint(app: &AppState, namespace: &str, subject: &str, now_s: i64) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let claims = Claims {
        iss: "dealerpay".into(),
        sub: subject.into(),
        ns: namespace.into(),
        iat: now_s,
        exp: now_s + TOKEN_TTL_SECS,
        jti: uuid::Uuid::new_v4().simple().to_string(),
    };
    let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).expect("claims serialise"));
    let input = format!("{header}.{body}");
    let sig = URL_SAFE_NO_PAD.encode(crate::auth::hmac_raw(&jwt_key(app), input.as_bytes()));
    format!("{input}.{sig}")
}

fn err(status: StatusCode, e: domain::catalog::CatalogEntry, why: &str) -> ApiError {
    ApiError::checkout(status, e, why)
}

/// Checks a token's form, signature and expiry.
pub fn verify(app: &AppState, token: &str, now_s: i64) -> ApiResult<Claims> {
    let invalid = || {
        err(
            StatusCode::UNAUTHORIZED,
            co::INVALID_JWT_TOKEN,
            "the access token is not a JWT",
        )
    };
    let parts: Vec<&str> = token.split('.').collect();
    let [h, b, s] = parts.as_slice() else {
        return Err(invalid());
    };
    let header: serde_json::Value = URL_SAFE_NO_PAD
        .decode(h)
        .ok()
        .and_then(|x| serde_json::from_slice(&x).ok())
        .ok_or_else(invalid)?;
    if header.get("alg").and_then(|a| a.as_str()) != Some("HS256") {
        return Err(invalid());
    }
    let claims: Claims = URL_SAFE_NO_PAD
        .decode(b)
        .ok()
        .and_then(|x| serde_json::from_slice(&x).ok())
        .ok_or_else(invalid)?;
    let sig = URL_SAFE_NO_PAD.decode(s).map_err(|_| invalid())?;
    let expected = crate::auth::hmac_raw(&jwt_key(app), format!("{h}.{b}").as_bytes());
    if !bool::from(expected.ct_eq(&sig)) {
        return Err(err(
            StatusCode::UNAUTHORIZED,
            co::INVALID_ACCESS_TOKEN,
            "the access token was not issued by this service",
        ));
    }
    if claims.exp <= now_s {
        return Err(err(
            StatusCode::UNAUTHORIZED,
            co::JWT_TOKEN_EXPIRED,
            "the access token expired; exchange the API key again",
        ));
    }
    Ok(claims)
}

/// A merchant authenticated for one namespace.
#[derive(Debug, Clone)]
pub struct Merchant {
    pub namespace: NamespaceRow,
    pub subject: String,
}

/// Authenticates the bearer token for the namespace named in the path.
pub async fn merchant(app: &AppState, headers: &HeaderMap, namespace: &str) -> ApiResult<Merchant> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            err(
                StatusCode::UNAUTHORIZED,
                co::ACCESS_TOKEN_REQUIRED,
                "send Authorization: Bearer <access token>",
            )
        })?;
    let claims = verify(app, token, domain::Timestamp::now().millis() / 1000)?;
    if claims.ns != namespace || !crate::core::checkout::valid_namespace(namespace) {
        return Err(err(
            StatusCode::FORBIDDEN,
            co::INVALID_NAMESPACE,
            "the access token is for another namespace",
        ));
    }
    // A failure to look the namespace up is an error of the authorization step itself.
    let ns = repo::namespace(&app.db, namespace).await.map_err(|e| {
        tracing::warn!(error = %e, "authorization lookup failed");
        let mut e = err(
            StatusCode::SERVICE_UNAVAILABLE,
            co::AUTHORIZATION_ERROR,
            "authorization could not be completed; retry",
        );
        e.retry_after = Some(1);
        e
    })?;
    match ns {
        Some(ns) if ns.disabled == 0 => Ok(Merchant {
            namespace: ns,
            subject: claims.sub,
        }),
        _ => Err(err(
            StatusCode::UNAUTHORIZED,
            co::UNAUTHORIZED,
            "this namespace is not active",
        )),
    }
}
