//! Operator actions on service subscribers, grants and tokens. Shared by the admin API and
//! the `dealerpay admin` CLI, so both enforce the same rules.

use crate::auth::{self, TokenKind};
use crate::error::{ApiError, ApiResult};
use crate::extract::uuid_param;
use domain::catalog::v1;
use domain::scope::Scope;
use domain::Timestamp;
use serde::{Deserialize, Serialize};
use store::repo::{dealers, keys, partners};
use store::Db;
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PartnerView {
    pub uuid: String,
    pub username: String,
    pub disabled: bool,
    pub grants: Vec<GrantView>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GrantView {
    pub dealer_uuid: String,
    /// Absent: the grant covers every department of the dealer.
    pub department_uuid: Option<String>,
    pub scope: String,
}

/// A partner with the secret it authenticates with; the secret is shown only here, once.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PartnerCredentials {
    pub uuid: String,
    pub username: String,
    pub secret: String,
}

fn unknown_partner() -> ApiError {
    ApiError::not_found(
        v1::INVALID_SERVICESUBSCRIBER_UUID,
        "partnerUuid: no such service subscriber",
    )
}

pub async fn create(db: &Db, username: &str) -> ApiResult<PartnerCredentials> {
    let ok = (3..=64).contains(&username.len())
        && username
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if !ok {
        return Err(ApiError::invalid(
            "username",
            "must be 3 to 64 letters, digits, '.', '_' or '-'",
        ));
    }
    let secret = auth::new_secret("dps_");
    let hash = tokio::task::spawn_blocking({
        let s = secret.clone();
        move || auth::hash_secret(&s)
    })
    .await
    .map_err(ApiError::internal)?;
    let uuid = uuid::Uuid::new_v4().to_string();
    match partners::insert(db, &uuid, username, &hash, Timestamp::now().millis()).await {
        Ok(row) => Ok(PartnerCredentials {
            uuid: row.uuid,
            username: row.username,
            secret,
        }),
        Err(e) if e.is_unique_violation() => Err(ApiError::conflict(
            v1::INVALID_DATA_FOR_THE_FIELD,
            "username: already taken",
        )),
        Err(e) => Err(e.into()),
    }
}

async fn find(db: &Db, partner_uuid: &str) -> ApiResult<partners::PartnerRow> {
    let u = uuid::Uuid::parse_str(partner_uuid)
        .map_err(|_| unknown_partner())?
        .to_string();
    partners::by_uuid(db, &u).await?.ok_or_else(unknown_partner)
}

pub async fn view(db: &Db, partner_uuid: &str) -> ApiResult<PartnerView> {
    let row = find(db, partner_uuid).await?;
    let grants = partners::grants(db, row.id)
        .await?
        .into_iter()
        .map(|g| GrantView {
            dealer_uuid: g.dealer_uuid,
            department_uuid: g.department_uuid,
            scope: g.scope,
        })
        .collect();
    Ok(PartnerView {
        uuid: row.uuid,
        username: row.username,
        disabled: row.disabled != 0,
        grants,
    })
}

/// Looks a partner up by username (for the CLI, which operators drive by name).
pub async fn uuid_for(db: &Db, username_or_uuid: &str) -> ApiResult<String> {
    if let Some(row) = partners::by_username(db, username_or_uuid).await? {
        return Ok(row.uuid);
    }
    Ok(find(db, username_or_uuid).await?.uuid)
}

pub async fn set_disabled(db: &Db, partner_uuid: &str, disabled: bool) -> ApiResult<PartnerView> {
    let row = find(db, partner_uuid).await?;
    partners::set_disabled(db, row.id, disabled, Timestamp::now().millis()).await?;
    view(db, partner_uuid).await
}

pub async fn rotate_secret(db: &Db, partner_uuid: &str) -> ApiResult<PartnerCredentials> {
    let row = find(db, partner_uuid).await?;
    let secret = auth::new_secret("dps_");
    let s = secret.clone();
    let hash = tokio::task::spawn_blocking(move || auth::hash_secret(&s))
        .await
        .map_err(ApiError::internal)?;
    partners::set_secret(db, row.id, &hash, Timestamp::now().millis()).await?;
    Ok(PartnerCredentials {
        uuid: row.uuid,
        username: row.username,
        secret,
    })
}

/// Resolves a grant's dealer and optional department, which must belong to that dealer.
async fn grant_target(db: &Db, g: &GrantView) -> ApiResult<(i64, Option<i64>, Scope)> {
    let scope = Scope::parse(&g.scope).ok_or_else(|| {
        let all: Vec<_> = Scope::EVERY.iter().map(|s| s.as_str()).collect();
        ApiError::invalid("scope", format!("must be one of {all:?}"))
    })?;
    let du = uuid_param("dealerUuid", &g.dealer_uuid)?.to_string();
    let dealer = dealers::dealer_by_uuid(db, &du)
        .await?
        .ok_or_else(|| ApiError::not_found(v1::INVALID_DEALER, "dealerUuid: no such dealer"))?;
    let department = match &g.department_uuid {
        Some(d) => {
            let du = uuid_param("departmentUuid", d)?.to_string();
            let dep = dealers::department_by_uuid(db, &du)
                .await?
                .filter(|x| x.dealer_id == dealer.id);
            Some(
                dep.ok_or_else(|| {
                    ApiError::not_found(
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

pub async fn grant(db: &Db, partner_uuid: &str, g: &GrantView) -> ApiResult<PartnerView> {
    let row = find(db, partner_uuid).await?;
    let (dealer, department, scope) = grant_target(db, g).await?;
    partners::grant(
        db,
        row.id,
        dealer,
        department,
        scope.as_str(),
        Timestamp::now().millis(),
    )
    .await?;
    view(db, partner_uuid).await
}

pub async fn revoke(db: &Db, partner_uuid: &str, g: &GrantView) -> ApiResult<PartnerView> {
    let row = find(db, partner_uuid).await?;
    let (dealer, department, scope) = grant_target(db, g).await?;
    partners::revoke(db, row.id, dealer, department, scope.as_str()).await?;
    view(db, partner_uuid).await
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenRequest {
    /// `dealer` or `department`.
    pub kind: String,
    /// The dealer's or department's uuid.
    pub uuid: String,
    pub scopes: Vec<String>,
    /// Lifetime in seconds (60 – 2592000, default 3600).
    pub ttl_seconds: Option<i64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenResponse {
    pub token: String,
    pub expires_at: Timestamp,
}

/// Mints a signed dealer or department token.
pub async fn mint(db: &Db, key: &[u8], req: &TokenRequest) -> ApiResult<TokenResponse> {
    let kind = match req.kind.as_str() {
        "dealer" => TokenKind::Dealer,
        "department" => TokenKind::Department,
        _ => return Err(ApiError::invalid("kind", "must be dealer or department")),
    };
    let subject = uuid_param("uuid", &req.uuid)?.to_string();
    let exists = match kind {
        TokenKind::Dealer => dealers::dealer_by_uuid(db, &subject).await?.is_some(),
        TokenKind::Department => dealers::department_by_uuid(db, &subject).await?.is_some(),
    };
    if !exists {
        let entry = if kind == TokenKind::Dealer {
            v1::INVALID_DEALER
        } else {
            v1::INVALID_DEPARTMENT
        };
        return Err(ApiError::not_found(
            entry,
            "uuid: no such dealer or department",
        ));
    }
    if req.scopes.is_empty() {
        return Err(ApiError::missing("scopes"));
    }
    let scopes = req
        .scopes
        .iter()
        .map(|s| Scope::parse(s).ok_or_else(|| ApiError::invalid("scopes", "unknown scope")))
        .collect::<ApiResult<Vec<_>>>()?;
    let ttl = req.ttl_seconds.unwrap_or(3600);
    if !(60..=2_592_000).contains(&ttl) {
        return Err(ApiError::invalid(
            "ttlSeconds",
            "must be between 60 and 2592000",
        ));
    }
    let now = Timestamp::now().millis() / 1000;
    let token = auth::mint_token(key, kind, &subject, &scopes, now, ttl);
    Ok(TokenResponse {
        token,
        expires_at: Timestamp::from_millis((now + ttl) * 1000),
    })
}

/// Creates a new operator token; only its hash is stored.
pub async fn create_operator_token(db: &Db, label: &str) -> ApiResult<String> {
    let token = auth::new_secret(auth::OPERATOR_PREFIX);
    keys::insert_operator_token(
        db,
        &auth::sha256_hex(token.as_bytes()),
        label,
        Timestamp::now().millis(),
    )
    .await?;
    Ok(token)
}
