//! Card payments: the documented prePayment, and our confirm/complete/refund/void routes.

use crate::app::AppState;
use crate::auth::Principal;
use crate::core::payments::{self as core, *};
use crate::core::reversals::{self, RefundBody};
use crate::error::{ApiError, ApiResult};
use crate::extract::JsonBody;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use wire::V1ErrorEnvelope;

/// prePayment (myKaarma v7.6.1): validates the request and the business rules, computes the
/// fees and creates a PaymentAttempt in status `Created`.
///
/// ApiScope `payment.prepayment`, API Scope Level ServiceSubscriberScope. Malformed fields
/// answer `PEPAYMENT_VALIDATION_FAILED` naming the field; then, in order: `INVALID_DEALER`,
/// `INVALID_CUSTOMER_UUID`, `INVALID_DEALERORDER_UUID`, `INVALID_INVOICE_ID`,
/// `INVOICE_ALREADY_PAID`, `REPAIR_ORDER_CLOSED`, `CUSTOMER_BLACKLISTED`,
/// `SUSPECTED_DUPLICATE_PAYMENT` (same dealer, customer, amount and `cardDigits` within the
/// dealer's window, unless `ignorePaymentAttemptValidation`), `ERROR_WHILE_FETHING_FEES` (a
/// `feeRequest` naming an unknown tender or card type, or another dealer),
/// `ERROR_CREATING_PAYMENTATTEMPT` (10 failed attempts on the invoice within a day). Warning
/// `NO_PREFERRED_DEALER_ID` when the dealer has none configured.
#[utoipa::path(post, path = "/payment/kpayment/v1/prepayment", tag = "card payments",
    request_body = PrePaymentRequest,
    params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = PrePaymentResponse, description = "OK"), (status = 400, body = V1ErrorEnvelope, description = "Bad Request"),
        (status = 401, body = V1ErrorEnvelope, description = "Unauthorized"), (status = 500, body = V1ErrorEnvelope, description = "Internal Server Error")),
    security(("partnerBasic" = []), ("dealerToken" = [])))]
pub async fn prepayment(
    State(app): State<AppState>,
    p: Principal,
    body: Result<JsonBody<PrePaymentRequest>, ApiError>,
) -> ApiResult<Json<PrePaymentResponse>> {
    let JsonBody(req) = body.map_err(as_prepayment_error)?;
    Ok(Json(core::prepayment(&app, &p, req).await?))
}

/// Confirm a Created payment attempt with card details or a processor token: charges it.
///
/// 200 with the attempt `Succeeded` (and its `transaction`), `Failed` (with its
/// `transactionIncomplete` and the processor's reason) or `RequiresAction` (3-D Secure: follow
/// `nextAction.redirectToUrlAction.redirectUrl`, then call complete). 202 when the processor's
/// answer is unknown (timeout): the attempt stays `InProgress` and is resolved in the
/// background; poll it. 409 `ANOTHER_REQUEST_IN_PROGRESS` while another payment on the same
/// repair order is in flight. Scope `payment.prepayment`.
#[utoipa::path(post, path = "/payment/kpayment/v1/paymentattempts/{paymentAttemptUuid}/confirm", tag = "card payments",
    params(("paymentAttemptUuid" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    request_body = ConfirmRequest,
    responses((status = 200, body = AttemptResponse), (status = 202, body = AttemptResponse), (status = 400, body = V1ErrorEnvelope),
        (status = 401, body = V1ErrorEnvelope), (status = 404, body = V1ErrorEnvelope), (status = 409, body = V1ErrorEnvelope)),
    security(("partnerBasic" = []), ("dealerToken" = [])))]
pub async fn confirm(
    State(app): State<AppState>,
    p: Principal,
    Path(uuid): Path<String>,
    JsonBody(req): JsonBody<ConfirmRequest>,
) -> ApiResult<(StatusCode, Json<AttemptResponse>)> {
    let (status, body) = core::confirm(&app, &p, &uuid, req).await?;
    Ok((status, Json(body)))
}

/// Complete a payment attempt after its 3-D Secure challenge.
#[utoipa::path(post, path = "/payment/kpayment/v1/paymentattempts/{paymentAttemptUuid}/complete", tag = "card payments",
    params(("paymentAttemptUuid" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = AttemptResponse), (status = 202, body = AttemptResponse), (status = 401, body = V1ErrorEnvelope),
        (status = 404, body = V1ErrorEnvelope), (status = 409, body = V1ErrorEnvelope)),
    security(("partnerBasic" = []), ("dealerToken" = [])))]
pub async fn complete(
    State(app): State<AppState>,
    p: Principal,
    Path(uuid): Path<String>,
) -> ApiResult<(StatusCode, Json<AttemptResponse>)> {
    let (status, body) = core::complete(&app, &p, &uuid).await?;
    Ok((status, Json(body)))
}

/// A payment attempt in the v3 status shape.
#[utoipa::path(get, path = "/payment/kpayment/v1/paymentattempts/{paymentAttemptUuid}", tag = "card payments",
    params(("paymentAttemptUuid" = String, Path)),
    responses((status = 200, body = AttemptResponse), (status = 401, body = V1ErrorEnvelope), (status = 404, body = V1ErrorEnvelope)),
    security(("partnerBasic" = []), ("dealerToken" = [])))]
pub async fn get_attempt(
    State(app): State<AppState>,
    p: Principal,
    Path(uuid): Path<String>,
) -> ApiResult<Json<AttemptResponse>> {
    Ok(Json(core::get(&app, &p, &uuid).await?))
}

/// Refund an approved charge, partly or fully, as often as something remains.
///
/// The refund is a payment attempt of type REFUND whose transaction's `parentTransaction` is
/// the charge; the invoice's `refundedAmount` grows by the invoice part (fees are refunded
/// last). 409 when the amount exceeds what remains. Scope `payment.refund`.
#[utoipa::path(post, path = "/payment/kpayment/v1/transactions/{transactionUuid}/refund", tag = "card payments",
    params(("transactionUuid" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    request_body = RefundBody,
    responses((status = 200, body = AttemptResponse), (status = 202, body = AttemptResponse), (status = 400, body = V1ErrorEnvelope),
        (status = 401, body = V1ErrorEnvelope), (status = 404, body = V1ErrorEnvelope), (status = 409, body = V1ErrorEnvelope)),
    security(("partnerBasic" = []), ("dealerToken" = [])))]
pub async fn refund(
    State(app): State<AppState>,
    p: Principal,
    Path(uuid): Path<String>,
    JsonBody(body): JsonBody<RefundBody>,
) -> ApiResult<(StatusCode, Json<AttemptResponse>)> {
    let (status, body) = reversals::refund(&app, &p, &uuid, body).await?;
    Ok((status, Json(body)))
}

/// Void an unsettled, unrefunded charge in full. 409 once the charge is settled.
#[utoipa::path(post, path = "/payment/kpayment/v1/transactions/{transactionUuid}/void", tag = "card payments",
    params(("transactionUuid" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = AttemptResponse), (status = 202, body = AttemptResponse), (status = 401, body = V1ErrorEnvelope),
        (status = 404, body = V1ErrorEnvelope), (status = 409, body = V1ErrorEnvelope)),
    security(("partnerBasic" = []), ("dealerToken" = [])))]
pub async fn void(
    State(app): State<AppState>,
    p: Principal,
    Path(uuid): Path<String>,
) -> ApiResult<(StatusCode, Json<AttemptResponse>)> {
    let (status, body) = reversals::void(&app, &p, &uuid).await?;
    Ok((status, Json(body)))
}

/// Quote the fees of a payment: surcharge (credit only, capped by the dealer's rate and the
/// network cap: Visa 3%, Mastercard 4%), dual pricing, and sales tax on the fee.
#[utoipa::path(post, path = "/payment/kpayment/v1/fees/quote", tag = "card payments",
    request_body = FeeQuoteRequest,
    responses((status = 200, body = FeeQuoteResponse), (status = 400, body = V1ErrorEnvelope), (status = 401, body = V1ErrorEnvelope)),
    security(("partnerBasic" = []), ("dealerToken" = [])))]
pub async fn fee_quote(
    State(app): State<AppState>,
    p: Principal,
    JsonBody(req): JsonBody<FeeQuoteRequest>,
) -> ApiResult<Json<FeeQuoteResponse>> {
    Ok(Json(core::fee_quote(&app, &p, req).await?))
}

/// Capture an authorize-only attempt (confirmed with `"capture": false`), in full or in part,
/// once. Scope `payment.prepayment`.
#[utoipa::path(post, path = "/payment/kpayment/v1/paymentattempts/{paymentAttemptUuid}/capture", tag = "card payments",
    params(("paymentAttemptUuid" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    request_body = CaptureBody,
    responses((status = 200, body = AttemptResponse), (status = 202, body = AttemptResponse), (status = 400, body = V1ErrorEnvelope),
        (status = 401, body = V1ErrorEnvelope), (status = 404, body = V1ErrorEnvelope), (status = 409, body = V1ErrorEnvelope)),
    security(("partnerBasic" = []), ("dealerToken" = [])))]
pub async fn capture(
    State(app): State<AppState>,
    p: Principal,
    Path(uuid): Path<String>,
    JsonBody(body): JsonBody<CaptureBody>,
) -> ApiResult<(StatusCode, Json<AttemptResponse>)> {
    let (status, body) = core::capture(&app, &p, &uuid, body).await?;
    Ok((status, Json(body)))
}

/// Release an authorize-only attempt's hold without capturing it (the attempt ends Cancelled).
#[utoipa::path(post, path = "/payment/kpayment/v1/paymentattempts/{paymentAttemptUuid}/cancel", tag = "card payments",
    params(("paymentAttemptUuid" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = AttemptResponse), (status = 202, body = AttemptResponse), (status = 401, body = V1ErrorEnvelope),
        (status = 404, body = V1ErrorEnvelope), (status = 409, body = V1ErrorEnvelope)),
    security(("partnerBasic" = []), ("dealerToken" = [])))]
pub async fn cancel(
    State(app): State<AppState>,
    p: Principal,
    Path(uuid): Path<String>,
) -> ApiResult<(StatusCode, Json<AttemptResponse>)> {
    let (status, body) = core::release(&app, &p, &uuid).await?;
    Ok((status, Json(body)))
}
