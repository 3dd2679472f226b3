//! Card payments: the documented prePayment, and our confirm/complete/refund/void routes.
//! Each handler turns the request into an engine command (naming the field when it cannot)
//! and the engine's outcome into the documented shape.

use crate::app::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::JsonBody;
use crate::views;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use domain::catalog::v1;
use domain::fees::{CardBrand, TenderType};
use engine::payments::{Confirm, FeeRequest as FeeCommand, Fees, PaymentOutcome, PrePayment};
use engine::validate;
use engine::EngineError;
use store::views::OrderKey;
use wire::*;

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
    Caller(actor): Caller,
    body: Result<JsonBody<PrePaymentRequest>, ApiError>,
) -> ApiResult<Json<PrePaymentResponse>> {
    let JsonBody(req) = body.map_err(as_prepayment_error)?;
    let fetch = (
        req.fetch_duplicate_transaction_window.unwrap_or(false),
        req.fetch_enforce_cvv_dso.unwrap_or(false),
        req.fetch_enforce_zip_dso.unwrap_or(false),
    );
    let cmd = prepayment_command(&app, req).map_err(|e| as_prepayment_error(e.into()))?;
    let o = app.engine.prepayment(&actor, cmd).await?;
    let dealer = &o.attempt.context.dealer;
    Ok(Json(PrePaymentResponse {
        errors: vec![],
        warnings: o
            .warnings
            .iter()
            .map(|w| warning(w.entry, &w.detail))
            .collect(),
        payment_attempt: views::attempt_dto(&o.attempt),
        fees: breakdown(&o.fees),
        duplicate_transaction_window: fetch.0.then_some(dealer.duplicate_window_minutes),
        enforce_cvv_dso: fetch.1.then_some(dealer.enforce_cvv),
        enforce_zip_dso: fetch.2.then_some(dealer.enforce_zip),
    }))
}

fn warning(w: domain::catalog::CatalogEntry, detail: &str) -> V1Warning {
    V1Warning {
        warning_code: w.code,
        warning_title: w.title.into(),
        warning_message: w.description.into(),
        warning_description: detail.into(),
    }
}

/// prePayment reports every malformed field as PEPAYMENT_VALIDATION_FAILED.
fn as_prepayment_error(e: ApiError) -> ApiError {
    match e.code {
        engine::Code::Generic(engine::Generic::Missing | engine::Generic::Invalid) => ApiError {
            code: engine::Code::V1(v1::PEPAYMENT_VALIDATION_FAILED),
            ..e
        },
        _ => e,
    }
}

fn failed(field: &str, why: impl std::fmt::Display) -> EngineError {
    EngineError::bad_request(v1::PEPAYMENT_VALIDATION_FAILED, format!("{field}: {why}"))
}

fn uuid_field(field: &str, v: Option<&str>) -> Result<Option<String>, EngineError> {
    validate::optional_uuid(field, v).map_err(|_| failed(field, "must be a UUID"))
}

/// The request's own checks, in the documented order (the business rules follow in the
/// engine).
fn prepayment_command(app: &AppState, req: PrePaymentRequest) -> Result<PrePayment, EngineError> {
    let dealer_uuid = uuid_field("dealerUuid", req.dealer_uuid.as_deref())?
        .ok_or_else(|| failed("dealerUuid", "is required"))?;
    let amount = req.amount.ok_or_else(|| failed("amount", "is required"))?;
    if amount == domain::Money::ZERO {
        return Err(failed("amount", "must be more than 0"));
    }
    let customer_uuid = uuid_field("customerUuid", req.customer_uuid.as_deref())?
        .ok_or_else(|| failed("customerUuid", "is required"))?;
    let invoice_guid = uuid_field("invoiceGUID", req.invoice_guid.as_deref())?
        .ok_or_else(|| failed("invoiceGUID", "is required"))?;
    let order_uuid = uuid_field("dealerOrderUuid", req.dealer_order_uuid.as_deref())?;
    let order_number = validate::optional_text("orderNumber", req.order_number.as_deref(), 64)?;
    let order = match (order_uuid, order_number) {
        (Some(u), _) => OrderKey::Uuid(u),
        (None, Some(number)) => OrderKey::Number {
            number,
            order_type: req
                .order_type
                .as_deref()
                .unwrap_or("RO")
                .trim()
                .to_ascii_uppercase(),
        },
        (None, None) => return Err(failed("dealerOrderUuid", "is required (or orderNumber)")),
    };
    let locale = req
        .locale
        .as_deref()
        .map(str::trim)
        .unwrap_or("en")
        .to_string();
    if !engine::payments::LOCALES.contains(&locale.as_str()) {
        return Err(failed("locale", "must be en, es or fr-CA"));
    }
    let card_digits = match req
        .card_digits
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(d) if d.len() == 4 && d.bytes().all(|b| b.is_ascii_digit()) => Some(d.to_string()),
        Some(_) => {
            return Err(failed(
                "cardDigits",
                "must be the last 4 digits of the card",
            ))
        }
        None => None,
    };
    match req
        .transaction_type_short_code
        .as_deref()
        .map(|s| s.trim().to_ascii_uppercase())
    {
        None => {}
        Some(c) if ["CHARGE", "SALE", "CC"].contains(&c.as_str()) => {}
        Some(_) => {
            return Err(failed(
                "transactionTypeShortCode",
                "must be CHARGE (SALE and CC are accepted as CHARGE)",
            ))
        }
    }
    if let Some(provider) = req.payment_provider.as_deref() {
        if app.engine.connectors.card(provider).is_none() {
            return Err(failed("paymentProvider", "is not a configured processor"));
        }
    }
    let mut details = Vec::new();
    if let Some(list) = &req.transaction_details_list {
        if list.transaction_details.len() > 100 {
            return Err(failed(
                "transactionDetailsList.transactionDetails",
                "at most 100 lines",
            ));
        }
        let mut sum = domain::Money::ZERO;
        for (i, d) in list.transaction_details.iter().enumerate() {
            let field = format!("transactionDetailsList.transactionDetails[{i}]");
            let kind =
                validate::optional_text(&format!("{field}.type"), d.detail_type.as_deref(), 64)?
                    .ok_or_else(|| failed(&format!("{field}.type"), "is required"))?;
            let a = d
                .amount
                .ok_or_else(|| failed(&format!("{field}.amount"), "is required"))?;
            let desc = validate::optional_text(
                &format!("{field}.description"),
                d.description.as_deref(),
                500,
            )?;
            sum = sum + a;
            details.push((kind, a, desc));
        }
        if sum > amount {
            return Err(failed(
                "transactionDetailsList",
                "the lines add up to more than amount",
            ));
        }
    }
    if let Some(a) = &req.attributes {
        if a.len() > 50 || serde_json::to_string(a).map(|s| s.len()).unwrap_or(0) > 16_384 {
            return Err(failed("attributes", "at most 50 attributes and 16 KiB"));
        }
    }
    validate::optional_text("desc", req.desc.as_deref(), 1000)?;
    let cashier_uuid = match req
        .current_payment_user
        .as_ref()
        .and_then(|u| u.dealer_associate_uuid.as_deref())
    {
        Some(u) => {
            Some(uuid_field("currentPaymentUser.dealerAssociateUUID", Some(u))?.unwrap_or_default())
        }
        None => None,
    };
    let fee = req.fee_request.clone().unwrap_or_default();
    // Everything else the request carried is kept with the attempt as sent.
    let mut stored = serde_json::to_value(&req).map_err(EngineError::internal)?;
    if let Some(m) = stored.as_object_mut() {
        m.retain(|_, v| !v.is_null());
    }
    Ok(PrePayment {
        dealer_uuid,
        customer_uuid,
        order,
        invoice_guid,
        amount,
        card_digits,
        ignore_duplicates: req.ignore_payment_attempt_validation.unwrap_or(false),
        locale,
        cashier_uuid,
        fee_request: FeeCommand {
            tender_type: fee.tender_type,
            card_type: fee.card_type,
            dealer_uuid: fee.dealer_uuid,
            payment_type: fee.payment_type,
        },
        details,
        attributes: serde_json::to_string(&req.attributes.clone().unwrap_or_default())
            .map_err(EngineError::internal)?,
        stored_request: stored.to_string(),
    })
}

/// Fees as the wire shows them.
pub fn breakdown(f: &Fees) -> FeeBreakdown {
    FeeBreakdown {
        amount: f.quote.base,
        tender_type: f.tender.as_str().into(),
        card_type: f.brand.map(|b| b.as_str().into()),
        is_surcharge: f.settings.surcharge_enabled,
        is_dual_pricing: f.settings.dual_pricing_enabled,
        surcharge_percent: validate::bps_to_percent(f.quote.surcharge_bps),
        surcharge: f.quote.surcharge,
        dual_pricing_fee: f.quote.dual_pricing_fee,
        sales_tax: f.quote.sales_tax,
        application_fee: domain::Money::ZERO,
        total: f.quote.total,
    }
}

/// 200 with the attempt when its outcome is known, 202 while the processor's answer is not.
fn answered(o: PaymentOutcome) -> (StatusCode, Json<AttemptResponse>) {
    let status = if o.settled {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    (
        status,
        Json(AttemptResponse::new(views::attempt_dto(&o.attempt))),
    )
}

fn confirm_command(req: ConfirmRequest) -> ApiResult<Confirm> {
    let method = match (req.card, req.token) {
        (Some(c), None) => {
            if !(1..=12).contains(&c.exp_month) {
                return Err(ApiError::invalid("card.expMonth", "must be 1 to 12"));
            }
            if !(2000..=2100).contains(&c.exp_year) {
                return Err(ApiError::invalid(
                    "card.expYear",
                    "must be a four-digit year",
                ));
            }
            connectors::PaymentMethod::Card(connectors::Card {
                number: c.number,
                exp_month: c.exp_month,
                exp_year: c.exp_year,
                cvv: c.cvv,
                zip: validate::optional_text("card.zip", c.zip.as_deref(), 10)?,
                holder_name: validate::optional_text(
                    "card.holderName",
                    c.holder_name.as_deref(),
                    100,
                )?,
            })
        }
        (None, Some(t)) => connectors::PaymentMethod::Token(validate::text("token", &t, 200)?),
        (None, None) => return Err(ApiError::missing("card")),
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid(
                "token",
                "send either card or token, not both",
            ))
        }
    };
    let return_url = match validate::optional_text("returnUrl", req.return_url.as_deref(), 2000)? {
        Some(u) => Some(validate::http_url("returnUrl", &u)?.to_string()),
        None => None,
    };
    Ok(Confirm {
        method,
        return_url,
        capture: req.capture.unwrap_or(true),
    })
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
    Caller(actor): Caller,
    Path(uuid): Path<String>,
    JsonBody(req): JsonBody<ConfirmRequest>,
) -> ApiResult<(StatusCode, Json<AttemptResponse>)> {
    let cmd = confirm_command(req)?;
    Ok(answered(app.engine.confirm(&actor, &uuid, cmd).await?))
}

/// Complete a payment attempt after its 3-D Secure challenge.
#[utoipa::path(post, path = "/payment/kpayment/v1/paymentattempts/{paymentAttemptUuid}/complete", tag = "card payments",
    params(("paymentAttemptUuid" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = AttemptResponse), (status = 202, body = AttemptResponse), (status = 401, body = V1ErrorEnvelope),
        (status = 404, body = V1ErrorEnvelope), (status = 409, body = V1ErrorEnvelope)),
    security(("partnerBasic" = []), ("dealerToken" = [])))]
pub async fn complete(
    State(app): State<AppState>,
    Caller(actor): Caller,
    Path(uuid): Path<String>,
) -> ApiResult<(StatusCode, Json<AttemptResponse>)> {
    Ok(answered(app.engine.complete(&actor, &uuid).await?))
}

/// A payment attempt in the v3 status shape.
#[utoipa::path(get, path = "/payment/kpayment/v1/paymentattempts/{paymentAttemptUuid}", tag = "card payments",
    params(("paymentAttemptUuid" = String, Path)),
    responses((status = 200, body = AttemptResponse), (status = 401, body = V1ErrorEnvelope), (status = 404, body = V1ErrorEnvelope)),
    security(("partnerBasic" = []), ("dealerToken" = [])))]
pub async fn get_attempt(
    State(app): State<AppState>,
    Caller(actor): Caller,
    Path(uuid): Path<String>,
) -> ApiResult<Json<AttemptResponse>> {
    let v = app.engine.attempt(&actor, &uuid).await?;
    Ok(Json(AttemptResponse::new(views::attempt_dto(&v))))
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
    Caller(actor): Caller,
    Path(uuid): Path<String>,
    JsonBody(body): JsonBody<RefundBody>,
) -> ApiResult<(StatusCode, Json<AttemptResponse>)> {
    let reason = validate::optional_text("reason", body.reason.as_deref(), 500)?;
    Ok(answered(
        app.engine
            .refund(&actor, &uuid, body.amount, reason)
            .await?,
    ))
}

/// Void an unsettled, unrefunded charge in full. 409 once the charge is settled.
#[utoipa::path(post, path = "/payment/kpayment/v1/transactions/{transactionUuid}/void", tag = "card payments",
    params(("transactionUuid" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = AttemptResponse), (status = 202, body = AttemptResponse), (status = 401, body = V1ErrorEnvelope),
        (status = 404, body = V1ErrorEnvelope), (status = 409, body = V1ErrorEnvelope)),
    security(("partnerBasic" = []), ("dealerToken" = [])))]
pub async fn void(
    State(app): State<AppState>,
    Caller(actor): Caller,
    Path(uuid): Path<String>,
) -> ApiResult<(StatusCode, Json<AttemptResponse>)> {
    Ok(answered(app.engine.void(&actor, &uuid).await?))
}

/// Quote the fees of a payment: surcharge (credit only, capped by the dealer's rate and the
/// network cap: Visa 3%, Mastercard 4%), dual pricing, and sales tax on the fee.
#[utoipa::path(post, path = "/payment/kpayment/v1/fees/quote", tag = "card payments",
    request_body = FeeQuoteRequest,
    responses((status = 200, body = FeeQuoteResponse), (status = 400, body = V1ErrorEnvelope), (status = 401, body = V1ErrorEnvelope)),
    security(("partnerBasic" = []), ("dealerToken" = [])))]
pub async fn fee_quote(
    State(app): State<AppState>,
    Caller(actor): Caller,
    JsonBody(req): JsonBody<FeeQuoteRequest>,
) -> ApiResult<Json<FeeQuoteResponse>> {
    let dealer_uuid = req
        .dealer_uuid
        .as_deref()
        .ok_or_else(|| ApiError::missing("dealerUuid"))?;
    let dealer_uuid = validate::uuid("dealerUuid", dealer_uuid)?;
    let amount = req.amount.ok_or_else(|| ApiError::missing("amount"))?;
    let tender = match req.tender_type.as_deref() {
        Some(t) => TenderType::parse(t)
            .ok_or_else(|| ApiError::invalid("tenderType", "must be CREDIT or DEBIT"))?,
        None => TenderType::Credit,
    };
    let brand = match req.card_type.as_deref() {
        Some(c) => Some(CardBrand::parse(c).ok_or_else(|| {
            ApiError::invalid("cardType", "must be VISA, MASTERCARD, AMEX or DISCOVER")
        })?),
        None => None,
    };
    let fees = app
        .engine
        .fee_quote(&actor, &dealer_uuid, amount, tender, brand)
        .await?;
    Ok(Json(FeeQuoteResponse {
        errors: vec![],
        warnings: vec![],
        fees: breakdown(&fees),
    }))
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
    Caller(actor): Caller,
    Path(uuid): Path<String>,
    JsonBody(body): JsonBody<CaptureBody>,
) -> ApiResult<(StatusCode, Json<AttemptResponse>)> {
    Ok(answered(
        app.engine.capture(&actor, &uuid, body.amount).await?,
    ))
}

/// Release an authorize-only attempt's hold without capturing it (the attempt ends Cancelled).
#[utoipa::path(post, path = "/payment/kpayment/v1/paymentattempts/{paymentAttemptUuid}/cancel", tag = "card payments",
    params(("paymentAttemptUuid" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = AttemptResponse), (status = 202, body = AttemptResponse), (status = 401, body = V1ErrorEnvelope),
        (status = 404, body = V1ErrorEnvelope), (status = 409, body = V1ErrorEnvelope)),
    security(("partnerBasic" = []), ("dealerToken" = [])))]
pub async fn cancel(
    State(app): State<AppState>,
    Caller(actor): Caller,
    Path(uuid): Path<String>,
) -> ApiResult<(StatusCode, Json<AttemptResponse>)> {
    Ok(answered(app.engine.release(&actor, &uuid).await?))
}
