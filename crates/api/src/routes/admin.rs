//! The operator's admin API (Bearer operator token). The `dealerpay admin` CLI calls the
//! same engine use-cases (`engine::partners`) with `Actor::Operator`.

use super::v1_ok;
use crate::app::AppState;
use crate::auth::Operator;
use crate::error::ApiResult;
use crate::extract::JsonBody;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use engine::partners as ops;
use engine::Actor;
use wire::{
    GrantView, NewPartner, PartnerCredentials, PartnerView, SettlementRequest, SettlementResult,
    TokenRequest, TokenResponse, V1ErrorEnvelope,
};

v1_ok!(PartnerResponse, partner: PartnerView);
v1_ok!(CredentialsResponse, partner: PartnerCredentials);
v1_ok!(TokenCreated, token: TokenResponse);
v1_ok!(SettlementResponse, settlement: SettlementResult);

/// A partner and its grants in the admin API's shape.
pub fn partner_view(p: ops::Partner) -> PartnerView {
    PartnerView {
        uuid: p.partner.uuid,
        username: p.partner.username,
        disabled: p.partner.disabled,
        grants: p
            .grants
            .into_iter()
            .map(|g| GrantView {
                dealer_uuid: g.dealer_uuid,
                department_uuid: g.department_uuid,
                scope: g.scope,
            })
            .collect(),
    }
}

pub fn credentials(c: ops::PartnerCredentials) -> PartnerCredentials {
    PartnerCredentials {
        uuid: c.uuid,
        username: c.username,
        secret: c.secret,
    }
}

pub fn grant_spec(g: GrantView) -> ops::GrantSpec {
    ops::GrantSpec {
        dealer_uuid: g.dealer_uuid,
        department_uuid: g.department_uuid,
        scope: g.scope,
    }
}

/// Create a service subscriber (partner). The secret is returned once and stored only as an argon2id hash.
#[utoipa::path(post, path = "/payment/admin/v1/partners", tag = "admin",
    request_body = NewPartner,
    responses((status = 201, body = CredentialsResponse), (status = 400, body = V1ErrorEnvelope),
        (status = 401, body = V1ErrorEnvelope), (status = 409, body = V1ErrorEnvelope)),
    security(("operatorToken" = [])))]
pub async fn create_partner(
    State(app): State<AppState>,
    _: Operator,
    JsonBody(req): JsonBody<NewPartner>,
) -> ApiResult<(StatusCode, Json<CredentialsResponse>)> {
    let c = app
        .engine
        .create_partner(&Actor::Operator, &req.username)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CredentialsResponse::new(credentials(c))),
    ))
}

/// A partner and its grants. Unknown uuid: 404 `INVALID_SERVICESUBSCRIBER_UUID`.
#[utoipa::path(get, path = "/payment/admin/v1/partners/{partnerUuid}", tag = "admin",
    params(("partnerUuid" = String, Path)),
    responses((status = 200, body = PartnerResponse), (status = 401, body = V1ErrorEnvelope), (status = 404, body = V1ErrorEnvelope)),
    security(("operatorToken" = [])))]
pub async fn get_partner(
    State(app): State<AppState>,
    _: Operator,
    Path(id): Path<String>,
) -> ApiResult<Json<PartnerResponse>> {
    let p = app.engine.get_partner(&Actor::Operator, &id).await?;
    Ok(Json(PartnerResponse::new(partner_view(p))))
}

/// Disable a partner: its credentials answer 401 `ACCESS_FORBIDDEN_INVALID_PARTNER` from the next request on.
#[utoipa::path(post, path = "/payment/admin/v1/partners/{partnerUuid}/disable", tag = "admin",
    params(("partnerUuid" = String, Path)),
    responses((status = 200, body = PartnerResponse), (status = 401, body = V1ErrorEnvelope), (status = 404, body = V1ErrorEnvelope)),
    security(("operatorToken" = [])))]
pub async fn disable_partner(
    State(app): State<AppState>,
    _: Operator,
    Path(id): Path<String>,
) -> ApiResult<Json<PartnerResponse>> {
    let p = app
        .engine
        .set_partner_disabled(&Actor::Operator, &id, true)
        .await?;
    Ok(Json(PartnerResponse::new(partner_view(p))))
}

/// Re-enable a disabled partner.
#[utoipa::path(post, path = "/payment/admin/v1/partners/{partnerUuid}/enable", tag = "admin",
    params(("partnerUuid" = String, Path)),
    responses((status = 200, body = PartnerResponse), (status = 401, body = V1ErrorEnvelope), (status = 404, body = V1ErrorEnvelope)),
    security(("operatorToken" = [])))]
pub async fn enable_partner(
    State(app): State<AppState>,
    _: Operator,
    Path(id): Path<String>,
) -> ApiResult<Json<PartnerResponse>> {
    let p = app
        .engine
        .set_partner_disabled(&Actor::Operator, &id, false)
        .await?;
    Ok(Json(PartnerResponse::new(partner_view(p))))
}

/// Replace a partner's secret; the old one stops working at once, in every server process.
#[utoipa::path(post, path = "/payment/admin/v1/partners/{partnerUuid}/rotate-secret", tag = "admin",
    params(("partnerUuid" = String, Path)),
    responses((status = 200, body = CredentialsResponse), (status = 401, body = V1ErrorEnvelope), (status = 404, body = V1ErrorEnvelope)),
    security(("operatorToken" = [])))]
pub async fn rotate_secret(
    State(app): State<AppState>,
    _: Operator,
    Path(id): Path<String>,
) -> ApiResult<Json<CredentialsResponse>> {
    let c = app
        .engine
        .rotate_partner_secret(&Actor::Operator, &id)
        .await?;
    Ok(Json(CredentialsResponse::new(credentials(c))))
}

/// Grant a scope for a dealer (all its departments) or one department.
#[utoipa::path(post, path = "/payment/admin/v1/partners/{partnerUuid}/grants", tag = "admin",
    params(("partnerUuid" = String, Path)),
    request_body = GrantView,
    responses((status = 200, body = PartnerResponse), (status = 400, body = V1ErrorEnvelope),
        (status = 401, body = V1ErrorEnvelope), (status = 404, body = V1ErrorEnvelope)),
    security(("operatorToken" = [])))]
pub async fn add_grant(
    State(app): State<AppState>,
    _: Operator,
    Path(id): Path<String>,
    JsonBody(g): JsonBody<GrantView>,
) -> ApiResult<Json<PartnerResponse>> {
    let p = app
        .engine
        .grant(&Actor::Operator, &id, grant_spec(g))
        .await?;
    Ok(Json(PartnerResponse::new(partner_view(p))))
}

/// Revoke a grant.
#[utoipa::path(post, path = "/payment/admin/v1/partners/{partnerUuid}/grants/revoke", tag = "admin",
    params(("partnerUuid" = String, Path)),
    request_body = GrantView,
    responses((status = 200, body = PartnerResponse), (status = 400, body = V1ErrorEnvelope),
        (status = 401, body = V1ErrorEnvelope), (status = 404, body = V1ErrorEnvelope)),
    security(("operatorToken" = [])))]
pub async fn revoke_grant(
    State(app): State<AppState>,
    _: Operator,
    Path(id): Path<String>,
    JsonBody(g): JsonBody<GrantView>,
) -> ApiResult<Json<PartnerResponse>> {
    let p = app
        .engine
        .revoke(&Actor::Operator, &id, grant_spec(g))
        .await?;
    Ok(Json(PartnerResponse::new(partner_view(p))))
}

/// Mint a signed, expiring dealer or department token with a set of scopes.
#[utoipa::path(post, path = "/payment/admin/v1/tokens", tag = "admin",
    request_body = TokenRequest,
    responses((status = 201, body = TokenCreated), (status = 400, body = V1ErrorEnvelope),
        (status = 401, body = V1ErrorEnvelope), (status = 404, body = V1ErrorEnvelope)),
    security(("operatorToken" = [])))]
pub async fn mint_token(
    State(app): State<AppState>,
    _: Operator,
    JsonBody(req): JsonBody<TokenRequest>,
) -> ApiResult<(StatusCode, Json<TokenCreated>)> {
    let cmd = ops::MintToken {
        kind: req.kind,
        uuid: req.uuid,
        scopes: req.scopes,
        ttl_seconds: req.ttl_seconds,
    };
    let t = app.engine.mint_scoped_token(&Actor::Operator, cmd).await?;
    Ok((
        StatusCode::CREATED,
        Json(TokenCreated::new(TokenResponse {
            token: t.token,
            expires_at: t.expires_at,
        })),
    ))
}

/// Close the settlement batch now: charges created before `before` become settled and can
/// no longer be voided. Runs by itself every minute for charges older than the configured
/// settlement delay (24 h by default).
#[utoipa::path(post, path = "/payment/admin/v1/settlement", tag = "admin",
    request_body = SettlementRequest,
    responses((status = 200, body = SettlementResponse), (status = 401, body = V1ErrorEnvelope)),
    security(("operatorToken" = [])))]
pub async fn settle(
    State(app): State<AppState>,
    _: Operator,
    JsonBody(req): JsonBody<SettlementRequest>,
) -> ApiResult<Json<SettlementResponse>> {
    let settled = app
        .engine
        .settle_before(&Actor::Operator, req.before)
        .await?;
    Ok(Json(SettlementResponse::new(SettlementResult { settled })))
}
