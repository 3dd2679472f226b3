//! Checkout merchant authentication: API keys (and user logins) exchanged for short-lived
//! HS256 JWT access tokens; every other merchant use-case requires `Authorization: Bearer
//! <token>` for the namespace it addresses. The signing key is derived from the secret kept
//! outside the database ([`crate::keys`]), so a copy of the database cannot mint tokens.

use super::{err, valid_namespace, Merchant};
use crate::crypto;
use crate::error::{EngineError, EngineResult, Kind};
use crate::{now, Engine};
use domain::catalog::checkout as co;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use store::repo::checkout as repo;

/// How long an access token lives.
pub const TOKEN_TTL_SECS: i64 = 900;

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    iss: String,
    /// `key:<namespace id>` or `user:<uuid>`.
    sub: String,
    ns: String,
    iat: i64,
    exp: i64,
    jti: String,
    /// When it was issued, in milliseconds (`iat` is whole seconds): a token issued before
    /// its namespace's `tokens_valid_from` (an API key revoked, a password reset) is refused.
    #[serde(default)]
    iat_ms: i64,
}

/// An access token for a namespace.
#[derive(Debug, Clone)]
pub struct AccessGrant {
    pub access_token: String,
    /// Seconds.
    pub expires_in: i64,
    pub namespace: String,
}

fn not_a_jwt() -> EngineError {
    err(
        Kind::Unauthenticated,
        co::INVALID_JWT_TOKEN,
        "the access token is not a JWT",
    )
}

fn inactive() -> EngineError {
    err(
        Kind::Unauthenticated,
        co::UNAUTHORIZED,
        "this namespace is not active",
    )
}

fn mint(key: &[u8], namespace: &str, subject: &str, now_s: i64) -> String {
    let claims = Claims {
        iss: "dealerpay".into(),
        sub: subject.into(),
        ns: namespace.into(),
        iat: now_s,
        exp: now_s + TOKEN_TTL_SECS,
        jti: uuid::Uuid::new_v4().simple().to_string(),
        iat_ms: now(),
    };
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(key),
    )
    .expect("HS256 signing with an HMAC key cannot fail")
}

/// Checks a token's form, signature and expiry, in that order: not a JWT (or not HS256, or
/// claims of another shape) → `INVALID_JWT_TOKEN`; a signature of another key →
/// `INVALID_ACCESS_TOKEN`; past `exp` → `JWT_TOKEN_EXPIRED`.
fn verify(key: &[u8], token: &str, now_s: i64) -> EngineResult<Claims> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| not_a_jwt())?;
    if header.alg != Algorithm::HS256 {
        return Err(not_a_jwt());
    }
    // Claims of another shape are not a token of ours, whatever the signature (checked
    // next); nothing read here is trusted.
    jsonwebtoken::dangerous::insecure_decode::<Claims>(token).map_err(|_| not_a_jwt())?;
    let mut validation = Validation::new(Algorithm::HS256);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let claims = jsonwebtoken::decode::<Claims>(token, &DecodingKey::from_secret(key), &validation)
        .map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::InvalidSignature => err(
                Kind::Unauthenticated,
                co::INVALID_ACCESS_TOKEN,
                "the access token was not issued by this service",
            ),
            _ => not_a_jwt(),
        })?
        .claims;
    if claims.exp <= now_s {
        return Err(err(
            Kind::Unauthenticated,
            co::JWT_TOKEN_EXPIRED,
            "the access token expired; exchange the API key again",
        ));
    }
    Ok(claims)
}

impl Engine {
    /// An HS256 access token for `subject` in `namespace`, issued at `now_s` (seconds).
    pub fn mint_access_token(&self, namespace: &str, subject: &str, now_s: i64) -> String {
        mint(self.keys.jwt(), namespace, subject, now_s)
    }

    /// The merchant an `Authorization` header value (`Bearer <token>`; `None`: absent or not
    /// text) authenticates for `namespace` (the namespace the route addresses).
    pub async fn authenticate_merchant(
        &self,
        bearer: Option<&str>,
        namespace: &str,
    ) -> EngineResult<Merchant> {
        let token = bearer
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                err(
                    Kind::Unauthenticated,
                    co::ACCESS_TOKEN_REQUIRED,
                    "send Authorization: Bearer <access token>",
                )
            })?;
        let claims = verify(self.keys.jwt(), token, now() / 1000)?;
        if claims.ns != namespace || !valid_namespace(namespace) {
            return Err(err(
                Kind::Forbidden,
                co::INVALID_NAMESPACE,
                "the access token is for another namespace",
            ));
        }
        // A failure to look the namespace up is an error of the authorization step itself.
        let ns = namespace.to_string();
        let row = self
            .db
            .read(move |c| Box::pin(async move { repo::namespace(c, &ns).await }))
            .await
            .map_err(|e: db::DbError| {
                tracing::warn!(error = %e, "authorization lookup failed");
                let mut e = err(
                    Kind::Unavailable,
                    co::AUTHORIZATION_ERROR,
                    "authorization could not be completed; retry",
                );
                e.retry_after = Some(1);
                e
            })?;
        match row {
            Some(ns) if !ns.disabled && claims.iat_ms < ns.tokens_valid_from => Err(err(
                Kind::Unauthenticated,
                co::INVALID_ACCESS_TOKEN,
                "the access token was issued before an API key was revoked or a password was reset; exchange again",
            )),
            Some(ns) if !ns.disabled => Ok(Merchant {
                namespace: ns,
                subject: claims.sub,
            }),
            _ => Err(inactive()),
        }
    }

    pub(crate) fn access_grant(&self, namespace: &str, subject: &str) -> AccessGrant {
        AccessGrant {
            access_token: self.mint_access_token(namespace, subject, now() / 1000),
            expires_in: TOKEN_TTL_SECS,
            namespace: namespace.into(),
        }
    }

    /// Exchanges an API key of `namespace` for an access token.
    pub async fn exchange_api_key(
        &self,
        namespace: &str,
        api_key: Option<&str>,
    ) -> EngineResult<AccessGrant> {
        let key = api_key
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .ok_or_else(|| EngineError::missing("apiKey"))?;
        let not_found = || {
            err(
                Kind::Unauthenticated,
                co::API_KEY_NOT_FOUND,
                "unknown or revoked API key",
            )
        };
        let hash = crypto::sha256_hex(key.as_bytes());
        let found = self
            .db
            .read(move |c| {
                Box::pin(async move {
                    let Some(owner) = repo::api_key_namespace(c, &hash).await? else {
                        return Ok::<_, db::DbError>(None);
                    };
                    Ok(repo::namespace_by_id(c, owner)
                        .await?
                        .map(|row| (owner, row)))
                })
            })
            .await?;
        let (owner, row) = found.ok_or_else(not_found)?;
        if row.namespace != namespace {
            return Err(err(
                Kind::Forbidden,
                co::INVALID_NAMESPACE,
                "this API key belongs to another namespace",
            ));
        }
        if row.disabled {
            return Err(inactive());
        }
        Ok(self.access_grant(namespace, &format!("key:{owner}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;

    fn name(r: EngineResult<Claims>) -> &'static str {
        match r {
            Ok(_) => "ok",
            Err(e) => match e.code {
                crate::Code::Checkout(c) => c.title,
                _ => "other",
            },
        }
    }

    #[test]
    fn tokens_verify_and_fail_with_the_documented_errors() {
        let key = b"key one";
        let t = mint(key, "shop", "key:1", 1_000);
        let c = verify(key, &t, 1_000).unwrap();
        assert_eq!(
            (c.iss.as_str(), c.sub.as_str(), c.ns.as_str(), c.iat, c.exp),
            ("dealerpay", "key:1", "shop", 1_000, 1_900)
        );
        assert!(!c.jti.is_empty());
        assert_eq!(name(verify(key, &t, 1_900)), "JWT_TOKEN_EXPIRED");
        assert_eq!(name(verify(b"key two", &t, 1_000)), "INVALID_ACCESS_TOKEN");
        for bad in ["", "not.a-jwt", "a.b", "a.b.c.d", &format!("{t}.x")] {
            assert_eq!(name(verify(key, bad, 1_000)), "INVALID_JWT_TOKEN", "{bad}");
        }
        let parts: Vec<&str> = t.split('.').collect();
        // Forged claims under a real header and signature.
        let forged = URL_SAFE_NO_PAD.encode(
            serde_json::json!({"iss": "dealerpay", "sub": "key:1", "ns": "shop", "iat": 0, "exp": 9_999_999_999i64, "jti": "x"})
                .to_string(),
        );
        assert_eq!(
            name(verify(
                key,
                &format!("{}.{forged}.{}", parts[0], parts[2]),
                1_000
            )),
            "INVALID_ACCESS_TOKEN"
        );
        // Claims of another shape, or another algorithm: not a token of ours.
        let odd = URL_SAFE_NO_PAD.encode(br#"{"sub": 1}"#);
        assert_eq!(
            name(verify(
                key,
                &format!("{}.{odd}.{}", parts[0], parts[2]),
                1_000
            )),
            "INVALID_JWT_TOKEN"
        );
        let none = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        assert_eq!(
            name(verify(
                key,
                &format!("{none}.{}.{}", parts[1], parts[2]),
                1_000
            )),
            "INVALID_JWT_TOKEN"
        );
        let hs512 = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS512","typ":"JWT"}"#);
        assert_eq!(
            name(verify(
                key,
                &format!("{hs512}.{}.{}", parts[1], parts[2]),
                1_000
            )),
            "INVALID_JWT_TOKEN"
        );
        // A signature that is not base64.
        assert_eq!(
            name(verify(
                key,
                &format!("{}.{}.***", parts[0], parts[1]),
                1_000
            )),
            "INVALID_JWT_TOKEN"
        );
    }
}
