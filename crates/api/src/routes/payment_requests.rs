//! Payment requests: create (ours) and the documented read.

use crate::app::AppState;
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::extract::JsonBody;
use crate::views;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Redirect;
use axum::Json;
use domain::fees::TenderType;
use domain::status::{PaymentRequestState, RefundStatus};
use domain::{Money, Timestamp};
use engine::payment_requests::{NewPaymentRequest, RequestOutcome};
use store::views::PaymentRequestView;
use wire::{
    PaymentRequestCreate, PaymentRequestCreated, PaymentRequestCreatedResponse,
    PaymentRequestResponse, V1ErrorEnvelope,
};

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
    Caller(actor): Caller,
    JsonBody(req): JsonBody<PaymentRequestCreate>,
) -> ApiResult<(StatusCode, Json<PaymentRequestCreatedResponse>)> {
    let cmd = NewPaymentRequest {
        dealer_uuid: req.dealer_uuid,
        invoice_guid: req.invoice_guid,
        amount: req.amount,
        ttl: req.ttl,
        source: req.source,
        source_info: req.source_info,
        payment_type: req.payment_type,
        locale: req.locale,
        attributes: req.attributes,
    };
    let o = app.engine.create_payment_request(&actor, cmd).await?;
    Ok((StatusCode::CREATED, Json(created_response(o))))
}

/// The answer of create and expire: the request with its links.
fn created_response(o: RequestOutcome) -> PaymentRequestCreatedResponse {
    let r = o.request;
    let status = if o.expired {
        PaymentRequestState::Expired.as_str().to_string()
    } else {
        r.status.as_str().to_string()
    };
    PaymentRequestCreatedResponse {
        errors: vec![],
        warnings: vec![],
        payment_request: PaymentRequestCreated {
            id: r.id,
            guid: r.guid,
            status,
            amount: r.amount,
            ttl: r.ttl_seconds,
            expires_at: Timestamp::from_millis(r.expires_at),
            invoice_guid: o.invoice_guid,
            locale: r.locale,
            pay_url: o.pay_url,
            short_url: o.short_url,
        },
    }
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
    Caller(actor): Caller,
    Path(guid): Path<String>,
) -> ApiResult<Json<PaymentRequestResponse>> {
    let view = app.engine.payment_request(&actor, &guid).await?;
    Ok(Json(PaymentRequestResponse {
        errors: vec![],
        warnings: vec![],
        payment_request: Some(payment_request_dto(&view)),
    }))
}

/// The documented `paymentRequest` shape, from the request's read model.
pub fn payment_request_dto(v: &PaymentRequestView) -> wire::PaymentRequestDto {
    let pr = &v.request;
    let ctx = &v.context;
    let invoice = &ctx.invoice;
    let dealer = &ctx.dealer;
    let fees = dealer.fee_settings();
    let quote = fees.quote(pr.amount, TenderType::Credit, None);
    let refund_status = RefundStatus::of(invoice.paid, invoice.refunded);
    let status = if invoice.due() == Money::ZERO {
        PaymentRequestState::Paid
    } else {
        PaymentRequestState::Active
    };
    wire::PaymentRequestDto {
        id: pr.id,
        version: pr.version,
        amount: pr.amount,
        time_stamp: Timestamp::from_millis(pr.created_at),
        source: Some(pr.source.clone()),
        source_info: pr.source_info.clone(),
        status: status.to_string(),
        ttl: pr.ttl_seconds,
        payment_type: Some(pr.payment_type.clone()),
        guid: pr.guid.clone(),
        refund_status: Some(refund_status.as_str().to_string()),
        payment_request_attributes: v
            .attributes
            .iter()
            .map(|(id, name, value)| wire::PaymentRequestAttribute {
                id: *id,
                name: name.clone(),
                value: Some(value.clone()),
            })
            .collect(),
        invoice: wire::PaymentRequestInvoice {
            id: invoice.id,
            version: invoice.version,
            guid: invoice.guid.clone(),
            invoice_status: invoice.status().to_string(),
            amount: invoice.amount,
            invoice_date: Timestamp::from_millis(invoice.invoice_date),
            description: invoice.description.clone(),
            refunded_amount: invoice.refunded,
            paid_date: invoice.paid_at.map(Timestamp::from_millis),
            signature_file_name: None,
            payment_user: ctx.invoice_person.as_ref().map(|p| {
                views::payment_user(&p.associate, p.department.as_ref().map(|d| d.uuid.as_str()))
            }),
            payment_dealer_order_dto: views::payment_dealer_order(ctx),
            transactions: v
                .transactions
                .iter()
                .map(views::transaction_summary)
                .collect(),
            reminder_date: invoice.reminder_date.map(Timestamp::from_millis),
            reminder_mileage: invoice.reminder_mileage,
            file_name: invoice.file_name.clone(),
            dealer_order: views::dealer_order(ctx),
            dealer: views::dealer(dealer),
            invoice_attributes: ctx
                .attributes
                .iter()
                .map(|(option, value)| wire::InvoiceAttributeOption {
                    option: option.clone(),
                    value: Some(value.clone()),
                })
                .collect(),
            // The payment request view loads the invoice's own customer; the order's is the same person in practice.
            customer: views::customer(ctx.invoice_customer.as_ref().unwrap_or(&ctx.order_customer)),
        },
        sales_tax: quote.sales_tax,
        max_surcharge: quote.surcharge,
        max_surcharge_percent: engine::validate::bps_to_percent(quote.surcharge_bps),
        is_dual_pricing: fees.dual_pricing_enabled,
        is_surcharge: fees.surcharge_enabled,
    }
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
    Caller(actor): Caller,
    Path(guid): Path<String>,
) -> ApiResult<Json<PaymentRequestCreatedResponse>> {
    let o = app.engine.expire_payment_request(&actor, &guid).await?;
    Ok(Json(created_response(o)))
}

/// Short payment link: redirects to the pay page.
#[utoipa::path(get, path = "/p/{code}", tag = "customer pages",
    params(("code" = String, Path)),
    responses((status = 303, description = "See Other: /pay/{guid}"), (status = 404, body = V1ErrorEnvelope)))]
pub async fn short_link(
    State(app): State<AppState>,
    Path(code): Path<String>,
) -> ApiResult<Redirect> {
    let guid = app.engine.resolve_short_link(&code).await?;
    Ok(Redirect::to(&format!("/pay/{guid}")))
}
