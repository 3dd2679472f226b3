//! Who is calling (SPEC §2): partners with HTTP Basic, signed dealer/department tokens,
//! and operators. Authorization checks a route's declared scope at its declared level.

use crate::app::AppState;
use crate::error::{ApiError, ApiResult};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::extract::FromRequestParts;
use axum::http::{header, request::Parts};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use domain::catalog::v1;
use domain::scope::{Scope, ScopeLevel};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use subtle::ConstantTimeEq;

pub fn random_hex(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut b);
    hex_encode(&b)
}

pub fn hex_encode(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub fn hex_decode(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

pub fn hmac_hex(key: &[u8], data: &[u8]) -> String {
    hex_encode(&sign(key, data))
}

pub fn hmac_raw(key: &[u8], data: &[u8]) -> Vec<u8> {
    sign(key, data)
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex_encode(&Sha256::digest(data))
}

/// A new random secret, URL-safe, 32 bytes of entropy.
pub fn new_secret(prefix: &str) -> String {
    let mut b = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut b);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(b))
}

/// argon2id PHC string for a partner secret.
pub fn hash_secret(secret: &str) -> String {
    let salt = SaltString::generate(&mut rand::thread_rng());
    Argon2::default()
        .hash_password(secret.as_bytes(), &salt)
        .expect("argon2 hashing cannot fail with default params")
        .to_string()
}

fn verify_secret(secret: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(h) => Argon2::default()
            .verify_password(secret.as_bytes(), &h)
            .is_ok(),
        Err(_) => false,
    }
}

/// Remembers secrets that already passed argon2 verification, keyed by the stored hash, so a
/// partner pays for argon2 once rather than on every request. Rotating a secret changes the
/// stored hash and so invalidates the entry in every process; disabling is read from the row
/// on each request.
#[derive(Default)]
pub struct CredentialCache {
    verified: Mutex<HashMap<String, [u8; 32]>>,
}

impl CredentialCache {
    const MAX_ENTRIES: usize = 10_000;

    async fn verify(&self, secret: &str, phc: &str) -> bool {
        let digest: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
        if let Some(known) = self.verified.lock().unwrap().get(phc) {
            return bool::from(known.ct_eq(&digest));
        }
        let (s, p) = (secret.to_string(), phc.to_string());
        let ok = tokio::task::spawn_blocking(move || verify_secret(&s, &p))
            .await
            .unwrap_or(false);
        if ok {
            let mut map = self.verified.lock().unwrap();
            if map.len() >= Self::MAX_ENTRIES {
                map.clear();
            }
            map.insert(phc.to_string(), digest);
        }
        ok
    }
}

/// A verified caller.
#[derive(Debug, Clone)]
pub enum Principal {
    Operator,
    Partner {
        id: i64,
        uuid: String,
        username: String,
        grants: Vec<Grant>,
    },
    DealerToken {
        dealer_uuid: String,
        scopes: Vec<Scope>,
    },
    DepartmentToken {
        department_uuid: String,
        scopes: Vec<Scope>,
    },
}

#[derive(Debug, Clone)]
pub struct Grant {
    pub dealer_uuid: String,
    pub department_uuid: Option<String>,
    pub scope: Scope,
}

/// A department as authorization sees it.
pub struct DepartmentRef<'a> {
    pub uuid: &'a str,
    pub dealer_uuid: &'a str,
}

/// The scope a route requires and the level it is checked at (the seed pages'
/// "ApiScope" and "API Scope Level").
#[derive(Debug, Clone, Copy)]
pub struct RouteAuth {
    pub scope: Scope,
    pub level: ScopeLevel,
}

impl RouteAuth {
    pub const fn dealer(scope: Scope) -> RouteAuth {
        RouteAuth {
            scope,
            level: ScopeLevel::ServiceSubscriber,
        }
    }
    pub const fn department(scope: Scope) -> RouteAuth {
        RouteAuth {
            scope,
            level: ScopeLevel::Department,
        }
    }

    /// ServiceSubscriberScope: the principal must hold the scope for the whole dealer.
    pub fn check_dealer(&self, p: &Principal, dealer_uuid: &str) -> ApiResult<()> {
        debug_assert_eq!(self.level, ScopeLevel::ServiceSubscriber);
        let ok = match p {
            Principal::Operator => true,
            Principal::Partner { grants, .. } => grants
                .iter()
                .any(|g| g.dealer_uuid == dealer_uuid && g.department_uuid.is_none() && g.scope.satisfies(self.scope)),
            Principal::DealerToken { dealer_uuid: d, scopes } => {
                d == dealer_uuid && scopes.iter().any(|s| s.satisfies(self.scope))
            }
            Principal::DepartmentToken { .. } => {
                return Err(ApiError::unauthorized(
                    v1::REQUEST_NOT_AUTHORIZED,
                    "a department token cannot act for a whole dealer; this route has ServiceSubscriberScope",
                ))
            }
        };
        if ok {
            Ok(())
        } else {
            Err(ApiError::unauthorized(
                v1::INVALID_SCOPE_DEALER,
                format!("no grant of {} for this dealer", self.scope.as_str()),
            ))
        }
    }

    /// DepartmentScope: a grant for the department or for its whole dealer.
    pub fn check_department(&self, p: &Principal, dep: &DepartmentRef) -> ApiResult<()> {
        debug_assert_eq!(self.level, ScopeLevel::Department);
        let ok = match p {
            Principal::Operator => true,
            Principal::Partner { grants, .. } => grants.iter().any(|g| {
                g.dealer_uuid == dep.dealer_uuid
                    && g.department_uuid.as_deref().is_none_or(|d| d == dep.uuid)
                    && g.scope.satisfies(self.scope)
            }),
            Principal::DealerToken {
                dealer_uuid,
                scopes,
            } => dealer_uuid == dep.dealer_uuid && scopes.iter().any(|s| s.satisfies(self.scope)),
            Principal::DepartmentToken {
                department_uuid,
                scopes,
            } => department_uuid == dep.uuid && scopes.iter().any(|s| s.satisfies(self.scope)),
        };
        if ok {
            Ok(())
        } else {
            Err(no_department_scope(self.scope))
        }
    }
}

pub fn no_department_scope(scope: Scope) -> ApiError {
    ApiError::unauthorized(
        v1::INVALID_SCOPE_DEPARTMENT,
        format!("no grant of {} for this department", scope.as_str()),
    )
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> ApiResult<Principal> {
        let value = authorization(parts)?;
        if let Some(b64) = value
            .strip_prefix("Basic ")
            .or_else(|| value.strip_prefix("basic "))
        {
            return partner(app, b64.trim()).await;
        }
        if let Some(token) = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
        {
            let token = token.trim();
            if token.starts_with(TOKEN_PREFIX) {
                return verify_token(
                    &app.token_key,
                    token,
                    domain::Timestamp::now().millis() / 1000,
                );
            }
            if is_operator(app, token).await? {
                return Ok(Principal::Operator);
            }
            return Err(ApiError::unauthorized(
                v1::INVALID_DEALER_TOKEN,
                "the bearer token is not valid",
            ));
        }
        Err(ApiError::unauthorized(
            v1::WRONG_CREDENTIAL,
            "use HTTP Basic credentials or a Bearer token",
        ))
    }
}

/// Operator-only routes (the admin API).
pub struct Operator;

impl FromRequestParts<AppState> for Operator {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> ApiResult<Operator> {
        let value = authorization(parts)?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .map(str::trim);
        match token {
            Some(t) if is_operator(app, t).await? => Ok(Operator),
            _ => Err(ApiError::unauthorized(
                v1::ACCESS_FORBIDDEN,
                "this route requires an operator token",
            )),
        }
    }
}

fn authorization(parts: &Parts) -> ApiResult<&str> {
    let null = || {
        ApiError::unauthorized(
            v1::NULL_CREDENTIALS,
            "the Authorization header is missing or empty",
        )
    };
    let value = parts.headers.get(header::AUTHORIZATION).ok_or_else(null)?;
    let value = value.to_str().map_err(|_| {
        ApiError::unauthorized(
            v1::WRONG_CREDENTIAL,
            "the Authorization header is not valid text",
        )
    })?;
    if value.trim().is_empty() {
        return Err(null());
    }
    Ok(value)
}

async fn partner(app: &AppState, b64: &str) -> ApiResult<Principal> {
    let wrong =
        || ApiError::unauthorized(v1::WRONG_CREDENTIAL, "unknown username or wrong password");
    let decoded = STANDARD.decode(b64).map_err(|_| wrong())?;
    let text = String::from_utf8(decoded).map_err(|_| wrong())?;
    let (username, secret) = text.split_once(':').ok_or_else(wrong)?;
    if username.is_empty() && secret.is_empty() {
        return Err(ApiError::unauthorized(
            v1::NULL_CREDENTIALS,
            "the Basic credentials are empty",
        ));
    }
    // Usernames are printable (PostgreSQL also refuses NUL in text): anything else is wrong.
    if username.len() > 64 || username.chars().any(char::is_control) {
        return Err(wrong());
    }
    let Some(row) = store::repo::partners::by_username(&app.db, username).await? else {
        // Spend the same time as a real check so usernames cannot be probed by timing.
        let _ = app.credentials.verify(secret, DUMMY_HASH).await;
        return Err(wrong());
    };
    if !app.credentials.verify(secret, &row.secret_hash).await {
        return Err(wrong());
    }
    if row.disabled != 0 {
        return Err(ApiError::unauthorized(
            v1::ACCESS_FORBIDDEN_INVALID_PARTNER,
            "this partner is disabled",
        ));
    }
    let grants = store::repo::partners::grants(&app.db, row.id)
        .await?
        .into_iter()
        .filter_map(|g| {
            Some(Grant {
                dealer_uuid: g.dealer_uuid,
                department_uuid: g.department_uuid,
                scope: Scope::parse(&g.scope)?,
            })
        })
        .collect();
    Ok(Principal::Partner {
        id: row.id,
        uuid: row.uuid,
        username: row.username,
        grants,
    })
}

/// argon2id hash of a random string nobody knows; used to equalise timing for unknown users.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0uUDMHF1lKLlqkXeVtbCqkh1dsWpOdGUgX+RTdyDxc8";

async fn is_operator(app: &AppState, token: &str) -> ApiResult<bool> {
    if let Some(configured) = &app.config.operator_token {
        if bool::from(configured.as_bytes().ct_eq(token.as_bytes())) {
            return Ok(true);
        }
    }
    if !token.starts_with(OPERATOR_PREFIX) {
        return Ok(false);
    }
    Ok(store::repo::keys::operator_token_valid(&app.db, &sha256_hex(token.as_bytes())).await?)
}

pub const OPERATOR_PREFIX: &str = "dpo_";
const TOKEN_PREFIX: &str = "dpt1.";

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenKind {
    Dealer,
    Department,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Claims {
    typ: TokenKind,
    sub: String,
    scp: Vec<String>,
    iat: i64,
    exp: i64,
}

/// Mints a signed token `dpt1.<claims>.<hmac>` for one dealer or department.
pub fn mint_token(
    key: &[u8],
    kind: TokenKind,
    subject: &str,
    scopes: &[Scope],
    now_s: i64,
    ttl_s: i64,
) -> String {
    let claims = Claims {
        typ: kind,
        sub: subject.to_string(),
        scp: scopes.iter().map(|s| s.as_str().to_string()).collect(),
        iat: now_s,
        exp: now_s + ttl_s,
    };
    let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).expect("claims serialise"));
    let signing_input = format!("{TOKEN_PREFIX}{body}");
    let sig = URL_SAFE_NO_PAD.encode(sign(key, signing_input.as_bytes()));
    format!("{signing_input}.{sig}")
}

fn sign(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

fn verify_token(key: &[u8], token: &str, now_s: i64) -> ApiResult<Principal> {
    let dealer_err = |why: &str| ApiError::unauthorized(v1::INVALID_DEALER_TOKEN, why.to_string());
    let rest = &token[TOKEN_PREFIX.len()..];
    let (body, sig) = rest
        .rsplit_once('.')
        .ok_or_else(|| dealer_err("malformed token"))?;
    let claims: Claims = URL_SAFE_NO_PAD
        .decode(body)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| dealer_err("malformed token"))?;
    // From here on the token says what it is for, so errors name the right kind.
    let err = |why: &str| match claims.typ {
        TokenKind::Dealer => ApiError::unauthorized(v1::INVALID_DEALER_TOKEN, why.to_string()),
        TokenKind::Department => {
            ApiError::unauthorized(v1::INVALID_DEPARTMENT_TOKEN, why.to_string())
        }
    };
    let expected = sign(key, format!("{TOKEN_PREFIX}{body}").as_bytes());
    let given = URL_SAFE_NO_PAD
        .decode(sig)
        .map_err(|_| err("malformed signature"))?;
    if !bool::from(expected.ct_eq(&given)) {
        return Err(err("bad signature"));
    }
    if claims.exp <= now_s {
        return Err(err("token expired"));
    }
    let scopes = claims.scp.iter().filter_map(|s| Scope::parse(s)).collect();
    Ok(match claims.typ {
        TokenKind::Dealer => Principal::DealerToken {
            dealer_uuid: claims.sub,
            scopes,
        },
        TokenKind::Department => Principal::DepartmentToken {
            department_uuid: claims.sub,
            scopes,
        },
    })
}

/// Hash of the raw credentials, used to namespace Idempotency-Keys per caller.
pub fn credential_fingerprint(parts: &Parts) -> String {
    let raw = parts
        .headers
        .get(header::AUTHORIZATION)
        .map(|v| v.as_bytes())
        .unwrap_or(b"");
    sha256_hex(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_fail_closed() {
        let key = b"k".repeat(32);
        let t = mint_token(&key, TokenKind::Department, "d-1", &[Scope::All], 1_000, 60);
        assert!(matches!(
            verify_token(&key, &t, 1_030),
            Ok(Principal::DepartmentToken { .. })
        ));
        let e = verify_token(&key, &t, 1_060).unwrap_err();
        assert_eq!(e.code, crate::error::Code::V1(v1::INVALID_DEPARTMENT_TOKEN));
        let e = verify_token(&b"x".repeat(32), &t, 1_030).unwrap_err();
        assert_eq!(e.code, crate::error::Code::V1(v1::INVALID_DEPARTMENT_TOKEN));
        let e = verify_token(&key, "dpt1.garbage", 0).unwrap_err();
        assert_eq!(e.code, crate::error::Code::V1(v1::INVALID_DEALER_TOKEN));
    }

    #[test]
    fn dummy_hash_parses() {
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
        assert!(!verify_secret("anything", DUMMY_HASH));
    }
}
