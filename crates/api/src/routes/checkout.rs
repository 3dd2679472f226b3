//! Checkout routes (`/payment/checkout/v1/…`, Checkout error envelope). Operator routes set
//! merchants up; merchants exchange an API key for a bearer token and manage sessions. The
//! handlers turn the DTOs into `engine::checkout` commands and the outcomes into DTOs.

use crate::app::{App, AppState};
use crate::auth::{Authenticated, Operator};
use crate::error::{ApiError, ApiResult};
use crate::extract::{query_pairs, JsonBody};
use axum::extract::{FromRequestParts, Path, RawPathParams, RawQuery, State};
use axum::http::{header, request::Parts, StatusCode};
use axum::Json;
use domain::status::IntentStatus;
use domain::Timestamp;
use engine::checkout::{self as co, AccessGrant, PaymentIntent};
use engine::Actor;
use wire::checkout::CheckoutTokenRequest as TokenRequest;
use wire::{
    AccessToken, ApiKeyCreate, ApiKeyCreated, CaptureRequest, CardInput, CheckoutErrorEnvelope,
    IntentCreate, IntentView, Login, NamespaceCreate, NamespaceView, ResetConfirm, ResetRequest,
    SessionCreate, SessionList, SessionView, UserCreate, UserView,
};

/// The merchant a Checkout route's `Authorization: Bearer <access token>` authenticates for
/// the namespace in the route's path (`Actor::Merchant`).
pub struct MerchantAuth(pub Actor);

impl FromRequestParts<AppState> for MerchantAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> ApiResult<MerchantAuth> {
        if let Some(Authenticated(Actor::Merchant(m))) = parts.extensions.get::<Authenticated>() {
            return Ok(MerchantAuth(Actor::Merchant(m.clone())));
        }
        let params = RawPathParams::from_request_parts(parts, app)
            .await
            .map_err(|_| ApiError::malformed("the path could not be read"))?;
        let namespace = params
            .iter()
            .find(|(k, _)| *k == "namespace")
            .map(|(_, v)| v.to_string())
            .unwrap_or_default();
        let bearer = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let m = app.engine.authenticate_merchant(bearer, &namespace).await?;
        Ok(MerchantAuth(Actor::Merchant(m)))
    }
}

fn access_token(g: AccessGrant) -> AccessToken {
    AccessToken {
        access_token: g.access_token,
        token_type: "Bearer".into(),
        expires_in: g.expires_in,
        namespace: g.namespace,
    }
}

/// The session shape.
pub fn session_view(app: &App, v: &store::views::SessionView) -> SessionView {
    let s = &v.session;
    SessionView {
        id: s.uuid.clone(),
        namespace: v.namespace.namespace.clone(),
        reference_id: s.reference_id.clone(),
        status: s.status.as_str().into(),
        amount: s.amount,
        currency: s.currency.clone(),
        customer_uuid: v.customer_uuid.clone(),
        capture_method: s.capture_method.as_str().into(),
        processor: s.processor.clone(),
        payment_methods: co::payment_methods(s),
        url: app.engine.checkout_url(&s.uuid),
        success_url: s.success_url.clone(),
        cancel_url: s.cancel_url.clone(),
        amount_authorized: s.authorized,
        amount_captured: s.captured,
        expires_at: Timestamp::from_millis(s.expires_at),
        created_at: Timestamp::from_millis(s.created_at),
        updated_at: Timestamp::from_millis(s.updated_at),
    }
}

/// The payment intent shape.
pub fn intent_view(i: &PaymentIntent) -> IntentView {
    IntentView {
        id: i.intent.uuid.clone(),
        session_id: i.session_uuid.clone(),
        status: i.status().as_str().into(),
        amount: i.intent.amount,
        payment_method: i.intent.payment_method.clone(),
        failure_reason: i.failure_reason(),
        next_action_url: i.next_action_url(),
        payment_attempt_uuid: i.attempt.uuid.clone(),
        created_at: Timestamp::from_millis(i.intent.created_at),
    }
}

fn card(c: CardInput) -> connectors::Card {
    connectors::Card {
        number: c.number,
        exp_month: c.exp_month,
        exp_year: c.exp_year,
        cvv: c.cvv,
        zip: c.zip,
        holder_name: c.holder_name,
    }
}

/// Create a merchant namespace tied to a dealer (operator).
#[utoipa::path(post, path = "/payment/checkout/v1/namespaces", tag = "checkout",
    request_body = NamespaceCreate,
    responses((status = 201, body = NamespaceView), (status = 400, body = CheckoutErrorEnvelope),
        (status = 401, body = CheckoutErrorEnvelope), (status = 404, body = CheckoutErrorEnvelope, description = "No such dealer"),
        (status = 409, body = CheckoutErrorEnvelope)),
    security(("operatorToken" = [])))]
pub async fn create_namespace(
    State(app): State<AppState>,
    _: Operator,
    JsonBody(req): JsonBody<NamespaceCreate>,
) -> ApiResult<(StatusCode, Json<NamespaceView>)> {
    let cmd = co::NamespaceCreate {
        namespace: req.namespace,
        name: req.name,
        dealer_uuid: req.dealer_uuid,
        department_uuid: req.department_uuid,
        dealer_associate_uuid: req.dealer_associate_uuid,
    };
    let c = app.engine.create_namespace(&Actor::Operator, cmd).await?;
    Ok((
        StatusCode::CREATED,
        Json(NamespaceView {
            namespace: c.namespace.namespace,
            name: c.namespace.name,
            dealer_uuid: c.dealer_uuid,
            disabled: c.namespace.disabled,
        }),
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
    app.engine
        .set_namespace_disabled(&Actor::Operator, &ns, true)
        .await?;
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
    let k = app
        .engine
        .create_api_key(&Actor::Operator, &ns, req.label.as_deref())
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(ApiKeyCreated {
            id: k.id,
            api_key: k.api_key,
            label: k.label,
        }),
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
    app.engine
        .revoke_api_key(&Actor::Operator, &ns, &id)
        .await?;
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
    Ok(Json(access_token(
        app.engine
            .exchange_api_key(&ns, req.api_key.as_deref())
            .await?,
    )))
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
    Path(_ns): Path<String>,
    MerchantAuth(merchant): MerchantAuth,
    JsonBody(req): JsonBody<UserCreate>,
) -> ApiResult<(StatusCode, Json<UserView>)> {
    let cmd = co::UserCreate {
        email: req.email,
        password: req.password,
    };
    let u = app.engine.create_merchant_user(&merchant, cmd).await?;
    Ok((
        StatusCode::CREATED,
        Json(UserView {
            id: u.uuid,
            email: u.email,
        }),
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
    let cmd = co::Login {
        email: req.email,
        password: req.password,
    };
    Ok(Json(access_token(
        app.engine.merchant_login(&ns, cmd).await?,
    )))
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
    app.engine.request_password_reset(&ns, &req.email).await?;
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
    app.engine
        .confirm_password_reset(&req.token, &req.new_password)
        .await?;
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
    Path(_ns): Path<String>,
    MerchantAuth(merchant): MerchantAuth,
    JsonBody(req): JsonBody<SessionCreate>,
) -> ApiResult<(StatusCode, Json<SessionView>)> {
    let cmd = co::SessionCreate {
        reference_id: req.reference_id,
        amount: req.amount,
        currency: req.currency,
        customer_uuid: req.customer.and_then(|c| c.customer_uuid),
        capture_method: req.capture_method,
        processor: req.processor,
        payment_methods: req.payment_methods,
        expires_in_seconds: req.expires_in_seconds,
        success_url: req.success_url,
        cancel_url: req.cancel_url,
    };
    let v = app.engine.create_session(&merchant, cmd).await?;
    Ok((StatusCode::CREATED, Json(session_view(&app, &v))))
}

/// List sessions, oldest first (`limit` 1–100, default 20; `startingAfter` = a session id).
#[utoipa::path(get, path = "/payment/checkout/v1/namespaces/{namespace}/sessions", tag = "checkout",
    params(("namespace" = String, Path), ("limit" = Option<i64>, Query), ("startingAfter" = Option<String>, Query)),
    responses((status = 200, body = SessionList), (status = 400, body = CheckoutErrorEnvelope), (status = 401, body = CheckoutErrorEnvelope)),
    security(("checkoutBearer" = [])))]
pub async fn list_sessions(
    State(app): State<AppState>,
    Path(_ns): Path<String>,
    MerchantAuth(merchant): MerchantAuth,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<SessionList>> {
    let pairs = query_pairs(q.as_deref());
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let limit = match get("limit") {
        Some(l) => Some(
            l.parse::<i64>()
                .map_err(|_| ApiError::invalid("limit", "must be 1 to 100"))?,
        ),
        None => None,
    };
    let query = co::SessionListQuery {
        limit,
        starting_after: get("startingAfter").map(str::to_string),
    };
    let page = app.engine.list_sessions(&merchant, query).await?;
    Ok(Json(SessionList {
        data: page
            .sessions
            .iter()
            .map(|v| session_view(&app, v))
            .collect(),
        has_more: page.has_more,
        next_cursor: page.next_cursor,
    }))
}

/// A session.
#[utoipa::path(get, path = "/payment/checkout/v1/namespaces/{namespace}/sessions/{sessionId}", tag = "checkout",
    params(("namespace" = String, Path), ("sessionId" = String, Path)),
    responses((status = 200, body = SessionView), (status = 400, body = CheckoutErrorEnvelope), (status = 401, body = CheckoutErrorEnvelope),
        (status = 404, body = CheckoutErrorEnvelope)),
    security(("checkoutBearer" = [])))]
pub async fn get_session(
    State(app): State<AppState>,
    Path((_ns, id)): Path<(String, String)>,
    MerchantAuth(merchant): MerchantAuth,
) -> ApiResult<Json<SessionView>> {
    let v = app.engine.session(&merchant, &id).await?;
    Ok(Json(session_view(&app, &v)))
}

/// Cancel an open (or authorized, not yet captured) session.
#[utoipa::path(post, path = "/payment/checkout/v1/namespaces/{namespace}/sessions/{sessionId}/cancel", tag = "checkout",
    params(("namespace" = String, Path), ("sessionId" = String, Path)),
    responses((status = 200, body = SessionView), (status = 400, body = CheckoutErrorEnvelope), (status = 401, body = CheckoutErrorEnvelope), (status = 404, body = CheckoutErrorEnvelope),
        (status = 409, body = CheckoutErrorEnvelope)),
    security(("checkoutBearer" = [])))]
pub async fn cancel_session(
    State(app): State<AppState>,
    Path((_ns, id)): Path<(String, String)>,
    MerchantAuth(merchant): MerchantAuth,
) -> ApiResult<Json<SessionView>> {
    let v = app.engine.cancel_session(&merchant, &id).await?;
    Ok(Json(session_view(&app, &v)))
}

/// Expire an open session now.
#[utoipa::path(post, path = "/payment/checkout/v1/namespaces/{namespace}/sessions/{sessionId}/expire", tag = "checkout",
    params(("namespace" = String, Path), ("sessionId" = String, Path)),
    responses((status = 200, body = SessionView), (status = 400, body = CheckoutErrorEnvelope), (status = 401, body = CheckoutErrorEnvelope), (status = 404, body = CheckoutErrorEnvelope),
        (status = 409, body = CheckoutErrorEnvelope)),
    security(("checkoutBearer" = [])))]
pub async fn expire_session(
    State(app): State<AppState>,
    Path((_ns, id)): Path<(String, String)>,
    MerchantAuth(merchant): MerchantAuth,
) -> ApiResult<Json<SessionView>> {
    let v = app.engine.expire_session(&merchant, &id).await?;
    Ok(Json(session_view(&app, &v)))
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
    Path((_ns, id)): Path<(String, String)>,
    MerchantAuth(merchant): MerchantAuth,
    JsonBody(req): JsonBody<IntentCreate>,
) -> ApiResult<(StatusCode, Json<IntentView>)> {
    let cmd = co::IntentCreate {
        amount: req.amount,
        payment_method: req.payment_method,
        card: req.card.map(card),
        token: req.token,
        pin_token: req.pin_token,
        return_url: req.return_url,
    };
    let i = app.engine.create_intent(&merchant, &id, cmd).await?;
    let status = if i.status() == IntentStatus::Processing {
        StatusCode::ACCEPTED
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(intent_view(&i))))
}

/// A payment intent.
#[utoipa::path(get, path = "/payment/checkout/v1/namespaces/{namespace}/sessions/{sessionId}/payment-intents/{intentId}", tag = "checkout",
    params(("namespace" = String, Path), ("sessionId" = String, Path), ("intentId" = String, Path)),
    responses((status = 200, body = IntentView), (status = 400, body = CheckoutErrorEnvelope), (status = 401, body = CheckoutErrorEnvelope), (status = 404, body = CheckoutErrorEnvelope)),
    security(("checkoutBearer" = [])))]
pub async fn get_intent(
    State(app): State<AppState>,
    Path((_ns, id, pi)): Path<(String, String, String)>,
    MerchantAuth(merchant): MerchantAuth,
) -> ApiResult<Json<IntentView>> {
    Ok(Json(intent_view(
        &app.engine.intent(&merchant, &id, &pi).await?,
    )))
}

/// Complete a payment intent after its 3-D Secure challenge.
#[utoipa::path(post, path = "/payment/checkout/v1/namespaces/{namespace}/sessions/{sessionId}/payment-intents/{intentId}/complete", tag = "checkout",
    params(("namespace" = String, Path), ("sessionId" = String, Path), ("intentId" = String, Path)),
    responses((status = 200, body = IntentView), (status = 400, body = CheckoutErrorEnvelope), (status = 401, body = CheckoutErrorEnvelope), (status = 404, body = CheckoutErrorEnvelope),
        (status = 409, body = CheckoutErrorEnvelope)),
    security(("checkoutBearer" = [])))]
pub async fn complete_intent(
    State(app): State<AppState>,
    Path((_ns, id, pi)): Path<(String, String, String)>,
    MerchantAuth(merchant): MerchantAuth,
) -> ApiResult<Json<IntentView>> {
    Ok(Json(intent_view(
        &app.engine.complete_intent(&merchant, &id, &pi).await?,
    )))
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
    Path((_ns, id)): Path<(String, String)>,
    MerchantAuth(merchant): MerchantAuth,
    JsonBody(req): JsonBody<CaptureRequest>,
) -> ApiResult<Json<SessionView>> {
    let v = app
        .engine
        .capture_session(&merchant, &id, req.amount)
        .await?;
    Ok(Json(session_view(&app, &v)))
}
