//! The operator's admin API (Bearer operator token). The `dealerpay admin` CLI does the
//! same through `core::partners`.

use super::v1_ok;
use crate::app::AppState;
use crate::auth::Operator;
use crate::core::partners::{
    self as core, GrantView, PartnerCredentials, PartnerView, TokenRequest, TokenResponse,
};
use crate::error::ApiResult;
use crate::extract::JsonBody;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use utoipa::ToSchema;
use wire::V1ErrorEnvelope;

v1_ok!(PartnerResponse, partner: PartnerView);
v1_ok!(CredentialsResponse, partner: PartnerCredentials);
v1_ok!(TokenCreated, token: TokenResponse);

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewPartner {
    /// 3–64 letters, digits, '.', '_' or '-'.
    pub username: String,
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
    Ok((
        StatusCode::CREATED,
        Json(CredentialsResponse::new(
            core::create(&app.db, &req.username).await?,
        )),
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
    Ok(Json(PartnerResponse::new(core::view(&app.db, &id).await?)))
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
    Ok(Json(PartnerResponse::new(
        core::set_disabled(&app.db, &id, true).await?,
    )))
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
    Ok(Json(PartnerResponse::new(
        core::set_disabled(&app.db, &id, false).await?,
    )))
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
    Ok(Json(CredentialsResponse::new(
        core::rotate_secret(&app.db, &id).await?,
    )))
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
    Ok(Json(PartnerResponse::new(
        core::grant(&app.db, &id, &g).await?,
    )))
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
    Ok(Json(PartnerResponse::new(
        core::revoke(&app.db, &id, &g).await?,
    )))
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
    Ok((
        StatusCode::CREATED,
        Json(TokenCreated::new(
            core::mint(&app.db, &app.token_key, &req).await?,
        )),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SettlementRequest {
    /// Settle approved charges created before this instant (default: now).
    pub before: Option<domain::Timestamp>,
}

#[derive(Debug, serde::Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SettlementResult {
    pub settled: u64,
}

v1_ok!(SettlementResponse, settlement: SettlementResult);

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
    let now = domain::Timestamp::now();
    let before = req.before.unwrap_or(now).millis() + 1;
    let settled = store::repo::transactions::settle_before(&app.db, before, now.millis()).await?;
    Ok(Json(SettlementResponse::new(SettlementResult { settled })))
}
