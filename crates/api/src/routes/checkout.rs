//! Checkout routes (`/payment/checkout/v1/…`, Checkout error envelope). Operator routes set
//! merchants up; merchants exchange an API key for a bearer token and manage sessions.

use crate::app::AppState;
use crate::auth::Operator;
use crate::checkout_auth::merchant;
use crate::core::checkout::{self as core, *};
use crate::error::ApiResult;
use crate::extract::JsonBody;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use wire::CheckoutErrorEnvelope;

/// Create a merchant namespace tied to a dealer (operator).
#[utoipa::path(post, path = "/payment/checkout/v1/namespaces", tag = "checkout",
    request_body = NamespaceCreate,
    responses((status = 201, body = NamespaceView), (status = 400, body = CheckoutErrorEnvelope),
        (status = 401, body = CheckoutErrorEnvelope), (status = 409, body = CheckoutErrorEnvelope)),
    security(("operatorToken" = [])))]
pub async fn create_namespace(
    State(app): State<AppState>,
    _: Operator,
    JsonBody(req): JsonBody<NamespaceCreate>,
) -> ApiResult<(StatusCode, Json<NamespaceView>)> {
    Ok((
        StatusCode::CREATED,
        Json(core::create_namespace(&app, req).await?),
    ))
}

/// Disable a namespace: its tokens and keys stop working (operator).
#[utoipa::path(post, path = "/payment/checkout/v1/namespaces/{namespace}/disable", tag = "checkout",
    params(("namespace" = String, Path)),
    responses((status = 204), (status = 401, body = CheckoutErrorEnvelope), (status = 404, body = CheckoutErrorEnvelope)),
    security(("operatorToken" = [])))]
pub async fn disable_namespace(
    State(app): State<AppState>,
    _: Operator,
    Path(ns): Path<String>,
) -> ApiResult<StatusCode> {
    core::set_disabled(&app, &ns, true).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Create an API key for a namespace; the key is shown once (operator).
#[utoipa::path(post, path = "/payment/checkout/v1/namespaces/{namespace}/api-keys", tag = "checkout",
    params(("namespace" = String, Path)),
    request_body = ApiKeyCreate,
    responses((status = 201, body = ApiKeyCreated), (status = 401, body = CheckoutErrorEnvelope), (status = 404, body = CheckoutErrorEnvelope)),
    security(("operatorToken" = [])))]
pub async fn create_api_key(
    State(app): State<AppState>,
    _: Operator,
    Path(ns): Path<String>,
    JsonBody(req): JsonBody<ApiKeyCreate>,
) -> ApiResult<(StatusCode, Json<ApiKeyCreated>)> {
    Ok((
        StatusCode::CREATED,
        Json(core::create_api_key(&app, &ns, req).await?),
    ))
}

/// Revoke an API key (operator). Unknown or already revoked: `API_KEY_NOT_FOUND`.
#[utoipa::path(post, path = "/payment/checkout/v1/namespaces/{namespace}/api-keys/{keyId}/revoke", tag = "checkout",
    params(("namespace" = String, Path), ("keyId" = String, Path)),
    responses((status = 204), (status = 401, body = CheckoutErrorEnvelope), (status = 404, body = CheckoutErrorEnvelope)),
    security(("operatorToken" = [])))]
pub async fn revoke_api_key(
    State(app): State<AppState>,
    _: Operator,
    Path((ns, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    core::revoke_api_key(&app, &ns, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Exchange an API key for an access token (HS256 JWT, 15 minutes).
#[utoipa::path(post, path = "/payment/checkout/v1/namespaces/{namespace}/token", tag = "checkout",
    params(("namespace" = String, Path)),
    // Inline: the admin API's `TokenRequest` (dealer/department tokens) owns that component name.
    request_body(content = inline(TokenRequest), content_type = "application/json"),
    responses((status = 200, body = AccessToken), (status = 400, body = CheckoutErrorEnvelope), (status = 401, body = CheckoutErrorEnvelope),
        (status = 403, body = CheckoutErrorEnvelope)))]
pub async fn token(
    State(app): State<AppState>,
    Path(ns): Path<String>,
    JsonBody(req): JsonBody<TokenRequest>,
) -> ApiResult<Json<AccessToken>> {
    Ok(Json(core::exchange_key(&app, &ns, req).await?))
}

/// Create a merchant user (email and argon2id password).
#[utoipa::path(post, path = "/payment/checkout/v1/namespaces/{namespace}/users", tag = "checkout",
    params(("namespace" = String, Path)),
    request_body = UserCreate,
    responses((status = 201, body = UserView), (status = 400, body = CheckoutErrorEnvelope), (status = 401, body = CheckoutErrorEnvelope),
        (status = 403, body = CheckoutErrorEnvelope), (status = 409, body = CheckoutErrorEnvelope)),
    security(("checkoutBearer" = [])))]
pub async fn create_user(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path(ns): Path<String>,
    JsonBody(req): JsonBody<UserCreate>,
) -> ApiResult<(StatusCode, Json<UserView>)> {
    let m = merchant(&app, &headers, &ns).await?;
    Ok((
        StatusCode::CREATED,
        Json(core::create_user(&app, &m, req).await?),
    ))
}

/// A merchant user signs in and gets an access token.
#[utoipa::path(post, path = "/payment/checkout/v1/namespaces/{namespace}/users/login", tag = "checkout",
    params(("namespace" = String, Path)),
    request_body = Login,
    responses((status = 200, body = AccessToken), (status = 400, body = CheckoutErrorEnvelope), (status = 401, body = CheckoutErrorEnvelope)))]
pub async fn login(
    State(app): State<AppState>,
    Path(ns): Path<String>,
    JsonBody(req): JsonBody<Login>,
) -> ApiResult<Json<AccessToken>> {
    Ok(Json(core::login(&app, &ns, req).await?))
}

/// Ask for a password reset. Always 202; a registered address gets a single-use link (30 min)
/// through the outbox.
#[utoipa::path(post, path = "/payment/checkout/v1/namespaces/{namespace}/password-resets", tag = "checkout",
    params(("namespace" = String, Path)),
    request_body = ResetRequest,
    responses((status = 202), (status = 400, body = CheckoutErrorEnvelope)))]
pub async fn request_reset(
    State(app): State<AppState>,
    Path(ns): Path<String>,
    JsonBody(req): JsonBody<ResetRequest>,
) -> ApiResult<StatusCode> {
    core::request_reset(&app, &ns, req).await?;
    Ok(StatusCode::ACCEPTED)
}

/// Set a new password with a reset token (`INVALID_RESET_PASSWORD_TOKEN` when unknown, used or expired).
#[utoipa::path(post, path = "/payment/checkout/v1/password-resets/confirm", tag = "checkout",
    request_body = ResetConfirm,
    responses((status = 204), (status = 400, body = CheckoutErrorEnvelope)))]
pub async fn confirm_reset(
    State(app): State<AppState>,
    JsonBody(req): JsonBody<ResetConfirm>,
) -> ApiResult<StatusCode> {
    core::confirm_reset(&app, req).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Create a checkout session; returns it with its hosted page URL.
#[utoipa::path(post, path = "/payment/checkout/v1/namespaces/{namespace}/sessions", tag = "checkout",
    params(("namespace" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    request_body = SessionCreate,
    responses((status = 201, body = SessionView), (status = 400, body = CheckoutErrorEnvelope), (status = 401, body = CheckoutErrorEnvelope),
        (status = 403, body = CheckoutErrorEnvelope), (status = 409, body = CheckoutErrorEnvelope)),
    security(("checkoutBearer" = [])))]
pub async fn create_session(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path(ns): Path<String>,
    JsonBody(req): JsonBody<SessionCreate>,
) -> ApiResult<(StatusCode, Json<SessionView>)> {
    let m = merchant(&app, &headers, &ns).await?;
    Ok((
        StatusCode::CREATED,
        Json(core::create_session(&app, &m, req).await?),
    ))
}

/// List sessions, oldest first (`limit` 1–100, default 20; `startingAfter` = a session id).
#[utoipa::path(get, path = "/payment/checkout/v1/namespaces/{namespace}/sessions", tag = "checkout",
    params(("namespace" = String, Path), ("limit" = Option<i64>, Query), ("startingAfter" = Option<String>, Query)),
    responses((status = 200, body = SessionList), (status = 400, body = CheckoutErrorEnvelope), (status = 401, body = CheckoutErrorEnvelope)),
    security(("checkoutBearer" = [])))]
pub async fn list_sessions(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path(ns): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<SessionList>> {
    let m = merchant(&app, &headers, &ns).await?;
    Ok(Json(core::list_sessions(&app, &m, q.as_deref()).await?))
}

/// A session.
#[utoipa::path(get, path = "/payment/checkout/v1/namespaces/{namespace}/sessions/{sessionId}", tag = "checkout",
    params(("namespace" = String, Path), ("sessionId" = String, Path)),
    responses((status = 200, body = SessionView), (status = 400, body = CheckoutErrorEnvelope), (status = 401, body = CheckoutErrorEnvelope),
        (status = 404, body = CheckoutErrorEnvelope)),
    security(("checkoutBearer" = [])))]
pub async fn get_session(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path((ns, id)): Path<(String, String)>,
) -> ApiResult<Json<SessionView>> {
    let m = merchant(&app, &headers, &ns).await?;
    Ok(Json(core::get_session(&app, &m, &id).await?))
}

/// Cancel an open (or authorized, not yet captured) session.
#[utoipa::path(post, path = "/payment/checkout/v1/namespaces/{namespace}/sessions/{sessionId}/cancel", tag = "checkout",
    params(("namespace" = String, Path), ("sessionId" = String, Path)),
    responses((status = 200, body = SessionView), (status = 400, body = CheckoutErrorEnvelope), (status = 401, body = CheckoutErrorEnvelope), (status = 404, body = CheckoutErrorEnvelope),
        (status = 409, body = CheckoutErrorEnvelope)),
    security(("checkoutBearer" = [])))]
pub async fn cancel_session(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path((ns, id)): Path<(String, String)>,
) -> ApiResult<Json<SessionView>> {
    let m = merchant(&app, &headers, &ns).await?;
    Ok(Json(core::cancel_session(&app, &m, &id).await?))
}

/// Expire an open session now.
#[utoipa::path(post, path = "/payment/checkout/v1/namespaces/{namespace}/sessions/{sessionId}/expire", tag = "checkout",
    params(("namespace" = String, Path), ("sessionId" = String, Path)),
    responses((status = 200, body = SessionView), (status = 400, body = CheckoutErrorEnvelope), (status = 401, body = CheckoutErrorEnvelope), (status = 404, body = CheckoutErrorEnvelope),
        (status = 409, body = CheckoutErrorEnvelope)),
    security(("checkoutBearer" = [])))]
pub async fn expire_session(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path((ns, id)): Path<(String, String)>,
) -> ApiResult<Json<SessionView>> {
    let m = merchant(&app, &headers, &ns).await?;
    Ok(Json(core::expire_session(&app, &m, &id).await?))
}

/// Pay a session: creates a payment intent and charges it through the processor. One intent at
/// a time per session; the amount must equal the session's. 201 when decided (succeeded, failed
/// or requires_action), 202 while the processor's answer is pending.
#[utoipa::path(post, path = "/payment/checkout/v1/namespaces/{namespace}/sessions/{sessionId}/payment-intents", tag = "checkout",
    params(("namespace" = String, Path), ("sessionId" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    request_body = IntentCreate,
    responses((status = 201, body = IntentView), (status = 202, body = IntentView), (status = 400, body = CheckoutErrorEnvelope),
        (status = 401, body = CheckoutErrorEnvelope), (status = 404, body = CheckoutErrorEnvelope), (status = 409, body = CheckoutErrorEnvelope),
        (status = 422, body = CheckoutErrorEnvelope), (status = 502, body = CheckoutErrorEnvelope)),
    security(("checkoutBearer" = [])))]
pub async fn create_intent(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path((ns, id)): Path<(String, String)>,
    JsonBody(req): JsonBody<IntentCreate>,
) -> ApiResult<(StatusCode, Json<IntentView>)> {
    let m = merchant(&app, &headers, &ns).await?;
    let (status, view) = core::create_intent(&app, &m, &id, req).await?;
    Ok((status, Json(view)))
}

/// A payment intent.
#[utoipa::path(get, path = "/payment/checkout/v1/namespaces/{namespace}/sessions/{sessionId}/payment-intents/{intentId}", tag = "checkout",
    params(("namespace" = String, Path), ("sessionId" = String, Path), ("intentId" = String, Path)),
    responses((status = 200, body = IntentView), (status = 400, body = CheckoutErrorEnvelope), (status = 401, body = CheckoutErrorEnvelope), (status = 404, body = CheckoutErrorEnvelope)),
    security(("checkoutBearer" = [])))]
pub async fn get_intent(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path((ns, id, pi)): Path<(String, String, String)>,
) -> ApiResult<Json<IntentView>> {
    let m = merchant(&app, &headers, &ns).await?;
    Ok(Json(core::get_intent(&app, &m, &id, &pi).await?))
}

/// Complete a payment intent after its 3-D Secure challenge.
#[utoipa::path(post, path = "/payment/checkout/v1/namespaces/{namespace}/sessions/{sessionId}/payment-intents/{intentId}/complete", tag = "checkout",
    params(("namespace" = String, Path), ("sessionId" = String, Path), ("intentId" = String, Path)),
    responses((status = 200, body = IntentView), (status = 400, body = CheckoutErrorEnvelope), (status = 401, body = CheckoutErrorEnvelope), (status = 404, body = CheckoutErrorEnvelope),
        (status = 409, body = CheckoutErrorEnvelope)),
    security(("checkoutBearer" = [])))]
pub async fn complete_intent(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path((ns, id, pi)): Path<(String, String, String)>,
) -> ApiResult<Json<IntentView>> {
    let m = merchant(&app, &headers, &ns).await?;
    Ok(Json(core::complete_intent(&app, &m, &id, &pi).await?))
}

/// Capture a manual-capture session's authorization, in full or in part (once); the rest of
/// the hold is released.
#[utoipa::path(post, path = "/payment/checkout/v1/namespaces/{namespace}/sessions/{sessionId}/capture", tag = "checkout",
    params(("namespace" = String, Path), ("sessionId" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    request_body = CaptureRequest,
    responses((status = 200, body = SessionView), (status = 400, body = CheckoutErrorEnvelope), (status = 401, body = CheckoutErrorEnvelope),
        (status = 404, body = CheckoutErrorEnvelope), (status = 409, body = CheckoutErrorEnvelope)),
    security(("checkoutBearer" = [])))]
pub async fn capture_session(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path((ns, id)): Path<(String, String)>,
    JsonBody(req): JsonBody<CaptureRequest>,
) -> ApiResult<Json<SessionView>> {
    let m = merchant(&app, &headers, &ns).await?;
    Ok(Json(core::capture_session(&app, &m, &id, req).await?))
}
