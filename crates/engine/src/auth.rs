//! Who is calling (SPEC §2): partners with HTTP Basic (argon2id secrets), signed dealer and
//! department tokens, and operators. The HTTP layer hands over the `Authorization` header;
//! this module decides who that is.

use crate::actor::{Actor, Grant};
use crate::crypto;
use crate::error::{EngineError, EngineResult};
use crate::hash_pool::HashPool;
use crate::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use domain::catalog::v1;
use domain::scope::Scope;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// One verification in progress, shared by everyone checking the same secret and hash
/// (`None`: the hashing pool was busy).
type Flight = Arc<tokio::sync::OnceCell<Option<bool>>>;

/// Remembers secrets that already passed argon2 verification, keyed by the stored hash, so a
/// partner pays for argon2 once rather than on every request. Rotating a secret changes the
/// stored hash and so invalidates the entry in every process; disabling is read from the row
/// on each request.
///
/// Only a secret that matches is answered from memory: a wrong one is always checked with
/// argon2 (through the throttle), so a known username with a wrong password costs exactly
/// what an unknown username does. Concurrent checks of the same secret against the same hash
/// share one computation (a thousand clients starting at once with one credential cost one
/// check), and every check runs on the bounded [`HashPool`].
pub struct CredentialCache {
    verified: Mutex<HashMap<String, [u8; 32]>>,
    /// The same digests by username, so a throttled address can be refused before any
    /// database read without refusing a caller whose secret already passed.
    by_user: Mutex<HashMap<String, [u8; 32]>>,
    in_flight: Mutex<HashMap<(String, [u8; 32]), Flight>>,
    /// Password checks under way, by username and secret digest: a caller finding the pool
    /// full may still wait for one of these instead of being turned away (a thousand clients
    /// starting at once with one credential share one check).
    warming: Mutex<HashMap<(String, [u8; 32]), usize>>,
    pool: HashPool,
    computed: std::sync::atomic::AtomicU64,
}

impl Default for CredentialCache {
    fn default() -> Self {
        CredentialCache {
            verified: Mutex::default(),
            by_user: Mutex::default(),
            in_flight: Mutex::default(),
            warming: Mutex::default(),
            pool: HashPool::for_this_machine(),
            computed: Default::default(),
        }
    }
}

fn locked<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl CredentialCache {
    const MAX_ENTRIES: usize = 10_000;

    /// How many argon2 verifications this cache has run (cache misses that computed).
    pub fn verifications(&self) -> u64 {
        self.computed.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// True when `secret` already passed verification against `phc`.
    fn remembers(&self, secret: &str, phc: &str) -> bool {
        let digest = crypto::sha256(secret.as_bytes());
        locked(&self.verified)
            .get(phc)
            .is_some_and(|known| crypto::ct_eq(known, &digest))
    }

    /// True when `secret` already passed verification for `username` (under its hash then).
    fn remembers_user(&self, username: &str, secret: &str) -> bool {
        let digest = crypto::sha256(secret.as_bytes());
        locked(&self.by_user)
            .get(username)
            .is_some_and(|known| crypto::ct_eq(known, &digest))
    }

    fn remember_user(&self, username: &str, secret: &str) {
        let mut map = locked(&self.by_user);
        if map.len() >= Self::MAX_ENTRIES {
            map.clear();
        }
        map.insert(username.to_string(), crypto::sha256(secret.as_bytes()));
    }

    /// Checks `secret` against `phc` with argon2; `None` when the hashing pool is busy.
    /// Admission to a password check for `username` and `secret`: a place in the pool, or
    /// the check of the same credential already under way; `None`: turn the caller away.
    fn admit(&self, username: &str, secret: &str) -> Option<Admitted<'_>> {
        let key = (username.to_string(), crypto::sha256(secret.as_bytes()));
        // Under the lock, so that a caller refused a place cannot miss one that holds a place
        // for the same credential but has not registered yet.
        let mut warming = locked(&self.warming);
        let slot = self.pool.reserve();
        if slot.is_none() && !warming.contains_key(&key) {
            return None;
        }
        *warming.entry(key.clone()).or_default() += 1;
        Some(Admitted {
            cache: self,
            key,
            slot,
        })
    }

    /// Checks `secret` against `phc` with argon2 (sharing a check already under way);
    /// `None` when the hashing pool is busy.
    async fn verify(
        &self,
        secret: &str,
        phc: &str,
        slot: Option<crate::hash_pool::Slot>,
    ) -> Option<bool> {
        // A check of this very secret may have finished since the caller looked.
        if self.remembers(secret, phc) {
            return Some(true);
        }
        let digest = crypto::sha256(secret.as_bytes());
        let key = (phc.to_string(), digest);
        let cell = locked(&self.in_flight)
            .entry(key.clone())
            .or_default()
            .clone();
        let ok = *cell
            .get_or_init(|| async {
                // A flight that ended just before this one began has remembered its answer.
                if self.remembers(secret, phc) {
                    return Some(true);
                }
                // Without a place of its own this caller was admitted to share a check of
                // the same credential; if it is the first to get here it runs that check.
                let slot = slot.unwrap_or_else(|| self.pool.reserve_over());
                self.computed
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let (s, p) = (secret.to_string(), phc.to_string());
                self.pool
                    .run(slot, move || crypto::verify_secret(&s, &p))
                    .await
            })
            .await;
        // Remember the result before the flight ends, so a caller arriving in between finds
        // one or the other and never runs argon2 again.
        if ok == Some(true) {
            let mut map = locked(&self.verified);
            if map.len() >= Self::MAX_ENTRIES {
                map.clear();
            }
            map.insert(key.0.clone(), digest);
        }
        {
            let mut flights = locked(&self.in_flight);
            if flights.get(&key).is_some_and(|c| Arc::ptr_eq(c, &cell)) {
                flights.remove(&key);
            }
        }
        ok
    }
}

/// A caller let into a password check ([`CredentialCache::admit`]); leaving, it is no longer
/// counted as warming its credential.
struct Admitted<'c> {
    cache: &'c CredentialCache,
    key: (String, [u8; 32]),
    slot: Option<crate::hash_pool::Slot>,
}

impl Drop for Admitted<'_> {
    fn drop(&mut self) {
        let mut warming = locked(&self.cache.warming);
        if let Some(n) = warming.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                warming.remove(&self.key);
            }
        }
    }
}

/// argon2id hash of a random string nobody knows; used to equalise timing for unknown users.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0uUDMHF1lKLlqkXeVtbCqkh1dsWpOdGUgX+RTdyDxc8";

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

fn null_credentials(why: &str) -> EngineError {
    EngineError::unauthorized(v1::NULL_CREDENTIALS, why)
}

impl Engine {
    /// The caller an `Authorization` header names (`None`: the header is absent).
    pub async fn authenticate(&self, authorization: Option<&str>) -> EngineResult<Actor> {
        self.authenticate_from(authorization, None).await
    }

    /// Like [`Engine::authenticate`], for a request from the client address `from` (failed
    /// password checks are throttled per address and per username).
    pub async fn authenticate_from(
        &self,
        authorization: Option<&str>,
        from: Option<IpAddr>,
    ) -> EngineResult<Actor> {
        let value = authorization
            .ok_or_else(|| null_credentials("the Authorization header is missing or empty"))?;
        if value.trim().is_empty() {
            return Err(null_credentials(
                "the Authorization header is missing or empty",
            ));
        }
        if let Some(b64) = value
            .strip_prefix("Basic ")
            .or_else(|| value.strip_prefix("basic "))
        {
            let r = self.partner(b64.trim(), from).await;
            if matches!(&r, Err(e) if e.kind == crate::error::Kind::TooMany) {
                tokio::time::sleep(self.config.auth_throttle.refusal_delay).await;
            }
            return r;
        }
        if let Some(token) = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
        {
            let token = token.trim();
            if token.starts_with(TOKEN_PREFIX) {
                return verify_token(
                    &self.token_key(),
                    token,
                    domain::Timestamp::now().millis() / 1000,
                );
            }
            if self.is_operator(token).await? {
                return Ok(Actor::Operator);
            }
            return Err(EngineError::unauthorized(
                v1::INVALID_DEALER_TOKEN,
                "the bearer token is not valid",
            ));
        }
        Err(EngineError::unauthorized(
            v1::WRONG_CREDENTIAL,
            "use HTTP Basic credentials or a Bearer token",
        ))
    }

    /// Whether `token` is the configured operator token or an unrevoked minted one.
    pub async fn is_operator(&self, token: &str) -> EngineResult<bool> {
        if let Some(configured) = &self.config.operator_token {
            if crypto::ct_eq(configured.as_bytes(), token.as_bytes()) {
                return Ok(true);
            }
        }
        if !token.starts_with(OPERATOR_PREFIX) {
            return Ok(false);
        }
        let hash = crypto::sha256_hex(token.as_bytes());
        Ok(self
            .db
            .read(move |c| {
                Box::pin(async move { store::repo::keys::operator_token_valid(c, &hash).await })
            })
            .await?)
    }

    async fn partner(&self, b64: &str, from: Option<IpAddr>) -> EngineResult<Actor> {
        let wrong = || {
            EngineError::unauthorized(v1::WRONG_CREDENTIAL, "unknown username or wrong password")
        };
        let decoded = STANDARD.decode(b64).map_err(|_| wrong())?;
        let text = String::from_utf8(decoded).map_err(|_| wrong())?;
        let (username, secret) = text.split_once(':').ok_or_else(wrong)?;
        if username.is_empty() && secret.is_empty() {
            return Err(null_credentials("the Basic credentials are empty"));
        }
        // Usernames are printable (PostgreSQL also refuses NUL in text): anything else is wrong.
        if username.len() > 64 || username.chars().any(char::is_control) {
            return Err(wrong());
        }
        // A throttle this process already knows of, or a hashing pool with no room, refuses
        // before any database work (the same for every username), unless this very secret
        // already passed for this username (then the row decides).
        let passed_before = self.credentials.remembers_user(username, secret);
        let mut admitted = None;
        if !passed_before {
            self.known_throttle(from, username)?;
            admitted = Some(
                self.credentials
                    .admit(username, secret)
                    .ok_or_else(crate::throttle::busy)?,
            );
        }
        let name = username.to_string();
        let found = self
            .db
            .read(move |c| {
                Box::pin(async move { store::repo::partners::auth_by_username(c, &name).await })
            })
            .await?;
        // A secret that already passed against this row's hash answers from memory; every
        // other check (a wrong secret, an unknown username) costs the same: the throttle, one
        // argon2 run (against a dummy hash when the username is unknown), a failure recorded.
        let phc = found
            .as_ref()
            .map_or(DUMMY_HASH, |f| f.partner.secret_hash.as_str());
        if found.is_none() || !self.credentials.remembers(secret, phc) {
            self.check_throttle(from, username).await?;
            let mut admitted = match admitted {
                Some(a) => a,
                None => self
                    .credentials
                    .admit(username, secret)
                    .ok_or_else(crate::throttle::busy)?,
            };
            let verified = self
                .credentials
                .verify(secret, phc, admitted.slot.take())
                .await
                .ok_or_else(crate::throttle::busy)?;
            if !verified || found.is_none() {
                self.record_failure(from, username).await;
                return Err(wrong());
            }
        }
        let Some(found) = found else {
            return Err(wrong());
        };
        if !passed_before {
            self.credentials.remember_user(username, secret);
        }
        if found.partner.disabled {
            return Err(EngineError::unauthorized(
                v1::ACCESS_FORBIDDEN_INVALID_PARTNER,
                "this partner is disabled",
            ));
        }
        let grants = found
            .grants
            .into_iter()
            .filter_map(|g| {
                Some(Grant {
                    dealer_uuid: g.dealer_uuid,
                    department_uuid: g.department_uuid,
                    scope: Scope::parse(&g.scope)?,
                })
            })
            .collect();
        Ok(Actor::Partner {
            id: found.partner.id,
            uuid: found.partner.uuid,
            username: found.partner.username,
            grants,
        })
    }

    /// Mints a signed token `dpt1.<claims>.<hmac>` for one dealer or department.
    pub fn mint_token(
        &self,
        kind: TokenKind,
        subject: &str,
        scopes: &[Scope],
        now_s: i64,
        ttl_s: i64,
    ) -> String {
        mint_token(&self.token_key(), kind, subject, scopes, now_s, ttl_s)
    }
}

fn mint_token(
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
    let sig = URL_SAFE_NO_PAD.encode(crypto::hmac_raw(key, signing_input.as_bytes()));
    format!("{signing_input}.{sig}")
}

fn verify_token(key: &[u8], token: &str, now_s: i64) -> EngineResult<Actor> {
    let dealer_err =
        |why: &str| EngineError::unauthorized(v1::INVALID_DEALER_TOKEN, why.to_string());
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
        TokenKind::Dealer => EngineError::unauthorized(v1::INVALID_DEALER_TOKEN, why.to_string()),
        TokenKind::Department => {
            EngineError::unauthorized(v1::INVALID_DEPARTMENT_TOKEN, why.to_string())
        }
    };
    let expected = crypto::hmac_raw(key, format!("{TOKEN_PREFIX}{body}").as_bytes());
    let given = URL_SAFE_NO_PAD
        .decode(sig)
        .map_err(|_| err("malformed signature"))?;
    if !crypto::ct_eq(&expected, &given) {
        return Err(err("bad signature"));
    }
    if claims.exp <= now_s {
        return Err(err("token expired"));
    }
    let scopes = claims.scp.iter().filter_map(|s| Scope::parse(s)).collect();
    Ok(match claims.typ {
        TokenKind::Dealer => Actor::DealerToken {
            dealer_uuid: claims.sub,
            scopes,
        },
        TokenKind::Department => Actor::DepartmentToken {
            department_uuid: claims.sub,
            scopes,
        },
    })
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
            Ok(Actor::DepartmentToken { .. })
        ));
        let e = verify_token(&key, &t, 1_060).unwrap_err();
        assert_eq!(e.code, crate::Code::V1(v1::INVALID_DEPARTMENT_TOKEN));
        let e = verify_token(&b"x".repeat(32), &t, 1_030).unwrap_err();
        assert_eq!(e.code, crate::Code::V1(v1::INVALID_DEPARTMENT_TOKEN));
        let e = verify_token(&key, "dpt1.garbage", 0).unwrap_err();
        assert_eq!(e.code, crate::Code::V1(v1::INVALID_DEALER_TOKEN));
    }

    #[test]
    fn dummy_hash_parses() {
        assert!(!crypto::verify_secret("anything", DUMMY_HASH));
        assert!(argon2::PasswordHash::new(DUMMY_HASH).is_ok());
    }
}
