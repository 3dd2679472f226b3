//! Operator actions on service subscribers (partners), their grants, signed dealer and
//! department tokens, operator tokens and the settlement batch. The admin API and the
//! `dealerpay admin` CLI both call these with [`Actor::Operator`], so both enforce the same
//! rules.

use crate::actor::Actor;
use crate::auth::{TokenKind, OPERATOR_PREFIX};
use crate::crypto::{hash_secret, new_secret, sha256_hex};
use crate::error::{EngineError, EngineResult};
use crate::{now, Engine};
use domain::catalog::v1;
use domain::scope::Scope;
use domain::Timestamp;
use store::repo::partners::{GrantRow, PartnerRow};
use store::repo::{dealers, keys, partners, transactions};

/// A partner and its grants.
#[derive(Debug, Clone)]
pub struct Partner {
    pub partner: PartnerRow,
    pub grants: Vec<GrantRow>,
}

/// A partner with the secret it authenticates with; the secret exists only here, once
/// (only its argon2id hash is stored).
#[derive(Debug, Clone)]
pub struct PartnerCredentials {
    pub uuid: String,
    pub username: String,
    pub secret: String,
}

/// A grant to add or revoke, as the operator names it (unparsed).
#[derive(Debug, Clone)]
pub struct GrantSpec {
    pub dealer_uuid: String,
    /// `None`: the grant covers every department of the dealer.
    pub department_uuid: Option<String>,
    pub scope: String,
}

/// A dealer or department token to mint, as the operator asks for it (unparsed).
#[derive(Debug, Clone)]
pub struct MintToken {
    /// `dealer` or `department`.
    pub kind: String,
    /// The dealer's or department's uuid.
    pub uuid: String,
    pub scopes: Vec<String>,
    /// Lifetime in seconds (60 – 2592000, default 3600).
    pub ttl_seconds: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct MintedToken {
    pub token: String,
    pub expires_at: Timestamp,
}

/// Prefix of partner secrets.
pub const PARTNER_SECRET_PREFIX: &str = "dps_";

fn require_operator(actor: &Actor) -> EngineResult<()> {
    if actor.is_operator() {
        Ok(())
    } else {
        Err(EngineError::unauthorized(
            v1::ACCESS_FORBIDDEN,
            "this route requires an operator token",
        ))
    }
}

fn unknown_partner() -> EngineError {
    EngineError::not_found(
        v1::INVALID_SERVICESUBSCRIBER_UUID,
        "partnerUuid: no such service subscriber",
    )
}

/// The canonical form of a partner uuid; anything else names no partner.
fn canonical_uuid(s: &str) -> EngineResult<String> {
    uuid::Uuid::parse_str(s)
        .map(|u| u.to_string())
        .map_err(|_| unknown_partner())
}

async fn find(c: &mut db::Conn, uuid: &str) -> EngineResult<PartnerRow> {
    partners::by_uuid(c, uuid)
        .await?
        .ok_or_else(unknown_partner)
}

async fn load(c: &mut db::Conn, uuid: &str) -> EngineResult<Partner> {
    let partner = find(c, uuid).await?;
    let grants = partners::grants(c, partner.id).await?;
    Ok(Partner { partner, grants })
}

/// Resolves a grant's scope, dealer and optional department (which must belong to that
/// dealer), in this order.
async fn grant_target(c: &mut db::Conn, g: &GrantSpec) -> EngineResult<(i64, Option<i64>, Scope)> {
    let scope = Scope::parse(&g.scope).ok_or_else(|| {
        let all: Vec<_> = Scope::EVERY.iter().map(|s| s.as_str()).collect();
        EngineError::invalid("scope", format!("must be one of {all:?}"))
    })?;
    let du = uuid::Uuid::parse_str(&g.dealer_uuid)
        .map_err(|_| EngineError::invalid("dealerUuid", "must be a UUID"))?
        .to_string();
    let dealer = dealers::dealer_by_uuid(c, &du)
        .await?
        .ok_or_else(|| EngineError::not_found(v1::INVALID_DEALER, "dealerUuid: no such dealer"))?;
    let department = match &g.department_uuid {
        Some(d) => {
            let du = uuid::Uuid::parse_str(d)
                .map_err(|_| EngineError::invalid("departmentUuid", "must be a UUID"))?
                .to_string();
            let dep = dealers::department_by_uuid(c, &du)
                .await?
                .filter(|x| x.dealer_id == dealer.id);
            Some(
                dep.ok_or_else(|| {
                    EngineError::not_found(
                        v1::INVALID_DEPARTMENT,
                        "departmentUuid: no such department for this dealer",
                    )
                })?
                .id,
            )
        }
        None => None,
    };
    Ok((dealer.id, department, scope))
}

async fn hash(secret: &str) -> EngineResult<String> {
    let s = secret.to_string();
    tokio::task::spawn_blocking(move || hash_secret(&s))
        .await
        .map_err(EngineError::internal)
}

impl Engine {
    /// Creates a partner; its secret is returned once.
    pub async fn create_partner(
        &self,
        actor: &Actor,
        username: &str,
    ) -> EngineResult<PartnerCredentials> {
        require_operator(actor)?;
        let ok = (3..=64).contains(&username.len())
            && username
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
        if !ok {
            return Err(EngineError::invalid(
                "username",
                "must be 3 to 64 letters, digits, '.', '_' or '-'",
            ));
        }
        let secret = new_secret(PARTNER_SECRET_PREFIX);
        let hash = hash(&secret).await?;
        let uuid = uuid::Uuid::new_v4().to_string();
        let (name, t) = (username.to_string(), now());
        let r = self
            .db
            .write(move |c| {
                Box::pin(async move { partners::insert(c, &uuid, &name, &hash, t).await })
            })
            .await;
        match r {
            Ok(row) => Ok(PartnerCredentials {
                uuid: row.uuid,
                username: row.username,
                secret,
            }),
            Err(e) if e.is_unique_violation() => Err(EngineError::conflict(
                v1::INVALID_DATA_FOR_THE_FIELD,
                "username: already taken",
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// A partner and its grants. An unknown or malformed uuid: 404 `INVALID_SERVICESUBSCRIBER_UUID`.
    pub async fn get_partner(&self, actor: &Actor, partner_uuid: &str) -> EngineResult<Partner> {
        require_operator(actor)?;
        let u = canonical_uuid(partner_uuid)?;
        self.db
            .read(move |c| Box::pin(async move { load(c, &u).await }))
            .await
    }

    /// The uuid of the partner named by username or uuid (the CLI names partners either way).
    pub async fn partner_uuid_for(
        &self,
        actor: &Actor,
        username_or_uuid: &str,
    ) -> EngineResult<String> {
        require_operator(actor)?;
        let name = username_or_uuid.to_string();
        let parsed = canonical_uuid(username_or_uuid);
        self.db
            .read(move |c| {
                Box::pin(async move {
                    if let Some(row) = partners::by_username(c, &name).await? {
                        return Ok(row.uuid);
                    }
                    Ok(find(c, &parsed?).await?.uuid)
                })
            })
            .await
    }

    /// Disables or re-enables a partner: a disabled partner's credentials answer
    /// `ACCESS_FORBIDDEN_INVALID_PARTNER` from the next request on.
    pub async fn set_partner_disabled(
        &self,
        actor: &Actor,
        partner_uuid: &str,
        disabled: bool,
    ) -> EngineResult<Partner> {
        require_operator(actor)?;
        let (u, t) = (canonical_uuid(partner_uuid)?, now());
        self.db
            .write(move |c| {
                Box::pin(async move {
                    let row = find(c, &u).await?;
                    partners::set_disabled(c, row.id, disabled, t).await?;
                    load(c, &u).await
                })
            })
            .await
    }

    /// Replaces a partner's secret; the old one stops working at once, in every process.
    pub async fn rotate_partner_secret(
        &self,
        actor: &Actor,
        partner_uuid: &str,
    ) -> EngineResult<PartnerCredentials> {
        require_operator(actor)?;
        let u = canonical_uuid(partner_uuid)?;
        let row = self
            .db
            .read(move |c| Box::pin(async move { find(c, &u).await }))
            .await?;
        let secret = new_secret(PARTNER_SECRET_PREFIX);
        let hash = hash(&secret).await?;
        let (id, t) = (row.id, now());
        self.db
            .write(move |c| Box::pin(async move { partners::set_secret(c, id, &hash, t).await }))
            .await?;
        Ok(PartnerCredentials {
            uuid: row.uuid,
            username: row.username,
            secret,
        })
    }

    /// Grants a scope for a dealer (all its departments) or one of its departments.
    /// Granting the same thing twice is a no-op.
    pub async fn grant(
        &self,
        actor: &Actor,
        partner_uuid: &str,
        g: GrantSpec,
    ) -> EngineResult<Partner> {
        require_operator(actor)?;
        let (u, t) = (canonical_uuid(partner_uuid)?, now());
        self.db
            .write(move |c| {
                Box::pin(async move {
                    let row = find(c, &u).await?;
                    let (dealer, department, scope) = grant_target(c, &g).await?;
                    partners::grant(c, row.id, dealer, department, scope.as_str(), t).await?;
                    load(c, &u).await
                })
            })
            .await
    }

    /// Revokes a grant (revoking one that does not exist is a no-op).
    pub async fn revoke(
        &self,
        actor: &Actor,
        partner_uuid: &str,
        g: GrantSpec,
    ) -> EngineResult<Partner> {
        require_operator(actor)?;
        let u = canonical_uuid(partner_uuid)?;
        self.db
            .write(move |c| {
                Box::pin(async move {
                    let row = find(c, &u).await?;
                    let (dealer, department, scope) = grant_target(c, &g).await?;
                    partners::revoke(c, row.id, dealer, department, scope.as_str()).await?;
                    load(c, &u).await
                })
            })
            .await
    }

    /// Mints a signed, expiring dealer or department token with a set of scopes.
    pub async fn mint_scoped_token(
        &self,
        actor: &Actor,
        cmd: MintToken,
    ) -> EngineResult<MintedToken> {
        require_operator(actor)?;
        let kind = match cmd.kind.as_str() {
            "dealer" => TokenKind::Dealer,
            "department" => TokenKind::Department,
            _ => return Err(EngineError::invalid("kind", "must be dealer or department")),
        };
        let subject = uuid::Uuid::parse_str(&cmd.uuid)
            .map_err(|_| EngineError::invalid("uuid", "must be a UUID"))?
            .to_string();
        let s = subject.clone();
        let exists = self
            .db
            .read(move |c| {
                Box::pin(async move {
                    Ok::<_, db::DbError>(match kind {
                        TokenKind::Dealer => dealers::dealer_by_uuid(c, &s).await?.is_some(),
                        TokenKind::Department => {
                            dealers::department_by_uuid(c, &s).await?.is_some()
                        }
                    })
                })
            })
            .await?;
        if !exists {
            let entry = match kind {
                TokenKind::Dealer => v1::INVALID_DEALER,
                TokenKind::Department => v1::INVALID_DEPARTMENT,
            };
            return Err(EngineError::not_found(
                entry,
                "uuid: no such dealer or department",
            ));
        }
        if cmd.scopes.is_empty() {
            return Err(EngineError::missing("scopes"));
        }
        let scopes = cmd
            .scopes
            .iter()
            .map(|s| Scope::parse(s).ok_or_else(|| EngineError::invalid("scopes", "unknown scope")))
            .collect::<EngineResult<Vec<_>>>()?;
        let ttl = cmd.ttl_seconds.unwrap_or(3600);
        if !(60..=2_592_000).contains(&ttl) {
            return Err(EngineError::invalid(
                "ttlSeconds",
                "must be between 60 and 2592000",
            ));
        }
        let now_s = now() / 1000;
        let token = self.mint_token(kind, &subject, &scopes, now_s, ttl);
        Ok(MintedToken {
            token,
            expires_at: Timestamp::from_millis((now_s + ttl) * 1000),
        })
    }

    /// Creates a new operator token (returned once); only its SHA-256 is stored.
    pub async fn create_operator_token(&self, actor: &Actor, label: &str) -> EngineResult<String> {
        require_operator(actor)?;
        let token = new_secret(OPERATOR_PREFIX);
        let (h, label, t) = (sha256_hex(token.as_bytes()), label.to_string(), now());
        self.db
            .write(move |c| {
                Box::pin(async move { keys::insert_operator_token(c, &h, &label, t).await })
            })
            .await?;
        Ok(token)
    }

    /// Closes the settlement batch now: approved charges created at or before `before`
    /// (default: now) become settled and can no longer be voided. How many were settled.
    pub async fn settle_before(
        &self,
        actor: &Actor,
        before: Option<Timestamp>,
    ) -> EngineResult<u64> {
        require_operator(actor)?;
        let t = now();
        let cutoff = before.map(Timestamp::millis).unwrap_or(t) + 1;
        Ok(self
            .db
            .write(move |c| {
                Box::pin(async move { transactions::settle_before(c, cutoff, t).await })
            })
            .await?)
    }
}
