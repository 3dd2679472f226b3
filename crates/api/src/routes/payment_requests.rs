//! Payment requests: create (ours) and the documented read.

use crate::app::AppState;
use crate::auth::Principal;
use crate::core::payment_requests::{
    self as core, PaymentRequestCreate, PaymentRequestCreatedResponse,
};
use crate::error::ApiResult;
use crate::extract::JsonBody;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Redirect;
use axum::Json;
use wire::{PaymentRequestResponse, V1ErrorEnvelope};

/// Create a payment request for an invoice.
///
/// ApiScope `payment.paymentrequest` (or `payment.all`), ServiceSubscriberScope on
/// `dealerUuid`. Makes every earlier request for the invoice obsolete. Returns the pay URL
/// and a short URL that redirects to it.
#[utoipa::path(post, path = "/payment/kpayment/v1/paymentrequest", tag = "payment requests",
    request_body = PaymentRequestCreate,
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for a retried request")),
    responses((status = 201, body = PaymentRequestCreatedResponse), (status = 400, body = V1ErrorEnvelope),
        (status = 401, body = V1ErrorEnvelope), (status = 409, body = V1ErrorEnvelope)),
    security(("partnerBasic" = []), ("dealerToken" = []), ("operatorToken" = [])))]
pub async fn create_payment_request(
    State(app): State<AppState>,
    p: Principal,
    JsonBody(req): JsonBody<PaymentRequestCreate>,
) -> ApiResult<(StatusCode, Json<PaymentRequestCreatedResponse>)> {
    Ok((
        StatusCode::CREATED,
        Json(core::create(&app, &p, req).await?),
    ))
}

/// Get payment request (myKaarma v7.6.1).
///
/// ApiScope `payment.payisland`, API Scope Level ServiceSubscriberScope. Errors:
/// `INVALID_PAYMNETREQUEST_GUID`, `PAYMENT_REQUEST_EXPIRED`, `PAYMENT_REQUEST_OBSOLETE`.
#[utoipa::path(get, path = "/payment/kpayment/v1/paymentrequest/{guid}", tag = "payment requests",
    params(("guid" = String, Path)),
    responses((status = 200, body = PaymentRequestResponse, description = "OK"), (status = 400, body = V1ErrorEnvelope, description = "Bad Request"),
        (status = 401, body = V1ErrorEnvelope, description = "Unauthorized"), (status = 500, body = V1ErrorEnvelope, description = "Internal Server Error")),
    security(("partnerBasic" = []), ("dealerToken" = [])))]
pub async fn get_payment_request(
    State(app): State<AppState>,
    p: Principal,
    Path(guid): Path<String>,
) -> ApiResult<Json<PaymentRequestResponse>> {
    Ok(Json(core::get(&app, &p, &guid).await?))
}

/// Expire a payment request now.
///
/// ApiScope `payment.paymentrequest` (or `payment.all`) on the request's dealer. The link
/// stops being payable at once; its pay page says it expired (receipts stay reachable).
/// Errors: `INVALID_PAYMNETREQUEST_GUID`, `PAYMENT_REQUEST_EXPIRED`, `PAYMENT_REQUEST_OBSOLETE`.
#[utoipa::path(post, path = "/payment/kpayment/v1/paymentrequest/{guid}/expire", tag = "payment requests",
    params(("guid" = String, Path),
        ("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for a retried request")),
    responses((status = 200, body = PaymentRequestCreatedResponse), (status = 400, body = V1ErrorEnvelope),
        (status = 401, body = V1ErrorEnvelope)),
    security(("partnerBasic" = []), ("dealerToken" = []), ("operatorToken" = [])))]
pub async fn expire_payment_request(
    State(app): State<AppState>,
    p: Principal,
    Path(guid): Path<String>,
) -> ApiResult<Json<PaymentRequestCreatedResponse>> {
    Ok(Json(core::expire(&app, &p, &guid).await?))
}

/// Short payment link: redirects to the pay page.
#[utoipa::path(get, path = "/p/{code}", tag = "customer pages",
    params(("code" = String, Path)),
    responses((status = 303, description = "See Other: /pay/{guid}"), (status = 404, body = V1ErrorEnvelope)))]
pub async fn short_link(
    State(app): State<AppState>,
    Path(code): Path<String>,
) -> ApiResult<Redirect> {
    Ok(Redirect::to(&core::resolve_short(&app, &code).await?))
}
