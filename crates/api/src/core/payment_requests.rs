//! Payment requests (SPEC §5): a payable link for an invoice. A newer request makes older
//! ones obsolete; past its ttl a request is expired.

use super::views::{self, OrderContext};
use crate::app::AppState;
use crate::auth::{Principal, RouteAuth};
use crate::error::{ApiError, ApiResult};
use crate::extract::{optional_text, required_text, text, uuid_param};
use domain::catalog::v1;
use domain::fees::TenderType;
use domain::scope::Scope;
use domain::{Money, Timestamp};
use rand::Rng;
use serde::{Deserialize, Serialize};
use store::repo::{dealers, invoices, orders, payment_requests as repo};
use utoipa::ToSchema;

pub const CREATE_AUTH: RouteAuth = RouteAuth::dealer(Scope::PaymentRequest);
pub const READ_AUTH: RouteAuth = RouteAuth::dealer(Scope::PayIsland);

pub const LOCALES: &[&str] = &["en", "es", "fr-CA"];
const DEFAULT_TTL: i64 = 7 * 24 * 3600;
const MIN_TTL: i64 = 300;
const MAX_TTL: i64 = 30 * 24 * 3600;

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentRequestCreate {
    pub dealer_uuid: Option<String>,
    #[serde(alias = "invoiceGUID")]
    pub invoice_guid: Option<String>,
    /// Amount to request; defaults to what is due. Less than due only where the dealer allows partial payments.
    pub amount: Option<Money>,
    /// Seconds the link stays payable (300 – 2592000; default 604800, 7 days).
    pub ttl: Option<i64>,
    /// Where the request came from, e.g. "DMS" (default "API").
    pub source: Option<String>,
    pub source_info: Option<String>,
    /// Default "ONLINE".
    pub payment_type: Option<String>,
    /// en, es or fr-CA (default en).
    pub locale: Option<String>,
    #[serde(default)]
    pub attributes: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentRequestCreated {
    pub id: i64,
    pub guid: String,
    pub status: String,
    pub amount: Money,
    pub ttl: i64,
    pub expires_at: Timestamp,
    pub invoice_guid: String,
    pub locale: String,
    /// The customer's pay page.
    pub pay_url: String,
    /// A short link that redirects to the pay page (for text messages).
    pub short_url: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentRequestCreatedResponse {
    pub errors: Vec<wire::V1Error>,
    pub warnings: Vec<wire::V1Warning>,
    pub payment_request: PaymentRequestCreated,
}

fn short_code() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut rng = rand::thread_rng();
    (0..10)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

pub async fn create(
    app: &AppState,
    p: &Principal,
    req: PaymentRequestCreate,
) -> ApiResult<PaymentRequestCreatedResponse> {
    let dealer_uuid = required_text("dealerUuid", req.dealer_uuid.as_deref(), 64)?;
    let dealer_uuid = uuid_param("dealerUuid", &dealer_uuid)?.to_string();
    CREATE_AUTH.check_dealer(p, &dealer_uuid)?;
    let invoice_guid = req
        .invoice_guid
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| {
            ApiError::bad_request(v1::INVOICE_UUID_NOT_PRESENT, "invoiceGuid: is required")
        })?;
    let unknown = || {
        ApiError::bad_request(
            v1::INVALID_INVOICE_UUID,
            "invoiceGuid: no such invoice for this dealer",
        )
    };
    let invoice_guid = uuid::Uuid::parse_str(invoice_guid.trim())
        .map_err(|_| unknown())?
        .to_string();
    let ttl = req.ttl.unwrap_or(DEFAULT_TTL);
    if !(MIN_TTL..=MAX_TTL).contains(&ttl) {
        return Err(ApiError::invalid(
            "ttl",
            format!("must be between {MIN_TTL} and {MAX_TTL} seconds"),
        ));
    }
    let locale = req
        .locale
        .as_deref()
        .map(str::trim)
        .unwrap_or("en")
        .to_string();
    if !LOCALES.contains(&locale.as_str()) {
        return Err(ApiError::invalid(
            "locale",
            format!("must be one of {LOCALES:?}"),
        ));
    }
    let source =
        optional_text("source", req.source.as_deref(), 64)?.unwrap_or_else(|| "API".into());
    let source_info = optional_text("sourceInfo", req.source_info.as_deref(), 500)?;
    let payment_type = optional_text("paymentType", req.payment_type.as_deref(), 32)?
        .unwrap_or_else(|| "ONLINE".into());
    if req.attributes.len() > 50 {
        return Err(ApiError::invalid("attributes", "at most 50 attributes"));
    }
    let mut attributes = Vec::new();
    for (k, v) in &req.attributes {
        let k = required_text("attributes", Some(k), 100)?;
        attributes.push((k, text("attributes", v, 1000)?));
    }
    let dealer = dealers::dealer_by_uuid(&app.db, &dealer_uuid)
        .await?
        .ok_or_else(|| ApiError::bad_request(v1::INVALID_DEALER, "dealerUuid: no such dealer"))?;

    let now = Timestamp::now().millis();
    let mut tx = app.db.begin().await?;
    // The invoice row lock orders concurrent requests for one invoice (PostgreSQL); on
    // SQLite the single writer does.
    let invoice = invoices::by_guid_locked(&app.db, &mut tx, &invoice_guid)
        .await?
        .filter(|i| i.dealer_id == dealer.id)
        .ok_or_else(unknown)?;
    let order = orders::by_id_tx(&mut tx, invoice.dealer_order_id)
        .await?
        .ok_or_else(|| ApiError::internal("invoice without order"))?;
    if order.order_status == "CLOSED" {
        return Err(ApiError::bad_request(
            v1::REPAIR_ORDER_CLOSED,
            "the repair order of this invoice is closed",
        ));
    }
    let customer = dealers::customer_by_id_tx(&mut tx, invoice.customer_id)
        .await?
        .ok_or_else(|| ApiError::internal("invoice without customer"))?;
    if customer.blacklisted != 0 {
        return Err(ApiError::bad_request(
            v1::CUSTOMER_BLACKLISTED,
            "the invoice's customer is blacklisted",
        ));
    }
    let due = invoice.due_cents();
    if due == 0 {
        return Err(ApiError::bad_request(
            v1::INVOICE_ALREADY_PAID,
            "the invoice has nothing left to pay",
        ));
    }
    let amount = req.amount.map(Money::cents).unwrap_or(due);
    if amount == 0 || amount > due {
        return Err(ApiError::invalid(
            "amount",
            format!(
                "must be more than 0 and at most the amount due ({})",
                Money::from_cents(due).unwrap_or_default()
            ),
        ));
    }
    if amount != due && dealer.allow_partial_payments == 0 {
        return Err(ApiError::invalid(
            "amount",
            "this dealer does not accept partial payments; request the full amount due",
        ));
    }
    let w = repo::PaymentRequestWrite {
        guid: uuid::Uuid::new_v4().to_string(),
        short_code: short_code(),
        invoice_id: invoice.id,
        dealer_id: dealer.id,
        amount_cents: amount,
        ttl_seconds: ttl,
        source,
        source_info,
        payment_type,
        locale,
        attributes,
    };
    let row = repo::supersede_and_insert(&mut tx, &w, now)
        .await
        .map_err(|e| {
            if e.is_unique_violation() {
                ApiError::conflict(
                    v1::ANOTHER_REQUEST_IN_PROGRESS,
                    "another payment request for this invoice is being created",
                )
            } else {
                e.into()
            }
        })?;
    orders::mark_payment_request_sent(&mut tx, order.id, now).await?;
    tx.commit().await?;
    let status = row.status.clone();
    Ok(created_response(app, row, invoice.guid, status))
}

/// The answer of create and expire: the request with its links.
fn created_response(
    app: &AppState,
    row: repo::PaymentRequestRow,
    invoice_guid: String,
    status: String,
) -> PaymentRequestCreatedResponse {
    let base = app.config.public_url.trim_end_matches('/');
    PaymentRequestCreatedResponse {
        errors: vec![],
        warnings: vec![],
        payment_request: PaymentRequestCreated {
            id: row.id,
            pay_url: format!("{base}/pay/{}", row.guid),
            short_url: format!("{base}/p/{}", row.short_code),
            guid: row.guid,
            status,
            amount: Money::from_cents(row.amount_cents).unwrap_or_default(),
            ttl: row.ttl_seconds,
            expires_at: Timestamp::from_millis(row.expires_at),
            invoice_guid,
            locale: row.locale,
        },
    }
}

/// `POST …/paymentrequest/{guid}/expire`: the dealer withdraws a link before its ttl (sent to
/// the wrong customer, amount changed). The pay page then shows it as expired.
pub async fn expire(
    app: &AppState,
    p: &Principal,
    guid: &str,
) -> ApiResult<PaymentRequestCreatedResponse> {
    let invalid = || {
        ApiError::bad_request(
            v1::INVALID_PAYMNETREQUEST_GUID,
            "guid: no such payment request",
        )
    };
    let guid = uuid::Uuid::parse_str(guid)
        .map_err(|_| invalid())?
        .to_string();
    let pr = repo::by_guid(&app.db, &guid).await?.ok_or_else(invalid)?;
    let dealer = dealers::dealer_by_id(&app.db, pr.dealer_id)
        .await?
        .ok_or_else(|| ApiError::internal("request without dealer"))?;
    CREATE_AUTH.check_dealer(p, &dealer.uuid)?;
    let now = Timestamp::now().millis();
    if let Some(e) = unpayable(&pr, now) {
        return Err(e);
    }
    if !repo::expire_now(&app.db, pr.id, now).await? {
        // It expired or was replaced between the read and the update.
        let pr = repo::by_guid(&app.db, &guid).await?.ok_or_else(invalid)?;
        return Err(unpayable(&pr, Timestamp::now().millis()).unwrap_or_else(invalid));
    }
    let pr = repo::by_guid(&app.db, &guid).await?.ok_or_else(invalid)?;
    let invoice = invoices::by_id(&app.db, pr.invoice_id)
        .await?
        .ok_or_else(|| ApiError::internal("request without invoice"))?;
    Ok(created_response(app, pr, invoice.guid, "EXPIRED".into()))
}

/// Why a stored request cannot be paid, if it cannot.
pub fn unpayable(row: &repo::PaymentRequestRow, now: i64) -> Option<ApiError> {
    if row.status == "OBSOLETE" {
        Some(ApiError::bad_request(
            v1::PAYMENT_REQUEST_OBSOLETE,
            "a newer payment request replaced this one",
        ))
    } else if row.expires_at <= now {
        Some(ApiError::bad_request(
            v1::PAYMENT_REQUEST_EXPIRED,
            "this payment request has expired",
        ))
    } else {
        None
    }
}

/// `GET /payment/kpayment/v1/paymentrequest/{guid}` — the documented shape.
pub async fn get(
    app: &AppState,
    p: &Principal,
    guid: &str,
) -> ApiResult<wire::PaymentRequestResponse> {
    let invalid = || {
        ApiError::bad_request(
            v1::INVALID_PAYMNETREQUEST_GUID,
            "guid: no such payment request",
        )
    };
    let guid = uuid::Uuid::parse_str(guid)
        .map_err(|_| invalid())?
        .to_string();
    let pr = repo::by_guid(&app.db, &guid).await?.ok_or_else(invalid)?;
    let dealer = dealers::dealer_by_id(&app.db, pr.dealer_id)
        .await?
        .ok_or_else(|| ApiError::internal("request without dealer"))?;
    READ_AUTH.check_dealer(p, &dealer.uuid)?;
    if let Some(e) = unpayable(&pr, Timestamp::now().millis()) {
        return Err(e);
    }
    let dto = load(app, &pr, &dealer).await?;
    Ok(wire::PaymentRequestResponse {
        errors: vec![],
        warnings: vec![],
        payment_request: Some(dto),
    })
}

/// Everything the payment request shape shows.
pub async fn load(
    app: &AppState,
    pr: &repo::PaymentRequestRow,
    dealer: &dealers::DealerRow,
) -> ApiResult<wire::PaymentRequestDto> {
    let db = &app.db;
    let missing =
        |what: &str| ApiError::internal(format!("payment request {} has no {what}", pr.guid));
    let invoice = invoices::by_id(db, pr.invoice_id)
        .await?
        .ok_or_else(|| missing("invoice"))?;
    let order = orders::by_id(db, invoice.dealer_order_id)
        .await?
        .ok_or_else(|| missing("order"))?;
    let department = dealers::department_by_id(db, order.department_id)
        .await?
        .ok_or_else(|| missing("department"))?;
    let customer = dealers::customer_by_id(db, invoice.customer_id)
        .await?
        .ok_or_else(|| missing("customer"))?;
    let order_customer = if order.customer_id == customer.id {
        customer.clone()
    } else {
        dealers::customer_by_id(db, order.customer_id)
            .await?
            .ok_or_else(|| missing("order customer"))?
    };
    let invoice_user = dealers::associate_by_id(db, invoice.associate_id)
        .await?
        .ok_or_else(|| missing("associate"))?;
    let owner = match order.associate_id {
        Some(id) => dealers::associate_by_id(db, id).await?,
        None => None,
    };
    let vehicle = match order.vehicle_id {
        Some(id) => dealers::vehicle_by_id(db, id).await?,
        None => None,
    };
    let invoice_count = orders::invoice_count(db, order.id).await?;
    let owner_dept = match &owner {
        Some(a) => associate_department_uuid(db, a, &department).await?,
        None => None,
    };
    let user_dept = associate_department_uuid(db, &invoice_user, &department).await?;
    let ctx = OrderContext {
        order: &order,
        dealer,
        department: &department,
        customer: &order_customer,
        owner: owner.as_ref().map(|a| (a, owner_dept.clone())),
        vehicle: vehicle.as_ref(),
        invoice_count,
    };
    let attrs = repo::attributes(db, pr.id).await?;
    let invoice_attrs = invoices::attributes(db, invoice.id).await?;
    let amount = Money::from_cents(pr.amount_cents).unwrap_or_default();
    let fees = dealer.fee_settings();
    let quote = fees.quote(amount, TenderType::Credit, None);
    let refund_status = match (invoice.refunded_cents, invoice.paid_cents) {
        (0, _) => "NONE",
        (r, p) if r >= p => "FULL",
        _ => "PARTIAL",
    };
    let status = if invoice.due_cents() == 0 {
        "PAID"
    } else {
        "ACTIVE"
    };
    Ok(wire::PaymentRequestDto {
        id: pr.id,
        version: pr.version,
        amount,
        time_stamp: Timestamp::from_millis(pr.created_at),
        source: Some(pr.source.clone()),
        source_info: pr.source_info.clone(),
        status: status.to_string(),
        ttl: pr.ttl_seconds,
        payment_type: Some(pr.payment_type.clone()),
        guid: pr.guid.clone(),
        refund_status: Some(refund_status.to_string()),
        payment_request_attributes: attrs
            .into_iter()
            .map(|(id, name, value)| wire::PaymentRequestAttribute {
                id,
                name,
                value: Some(value),
            })
            .collect(),
        invoice: wire::PaymentRequestInvoice {
            id: invoice.id,
            version: invoice.version,
            guid: invoice.guid.clone(),
            invoice_status: invoice.status().to_string(),
            amount: Money::from_cents(invoice.amount_cents).unwrap_or_default(),
            invoice_date: Timestamp::from_millis(invoice.invoice_date),
            description: invoice.description.clone(),
            refunded_amount: Money::from_cents(invoice.refunded_cents).unwrap_or_default(),
            paid_date: invoice.paid_at.map(Timestamp::from_millis),
            signature_file_name: None,
            payment_user: Some(views::payment_user(&invoice_user, user_dept.as_deref())),
            payment_dealer_order_dto: views::payment_dealer_order(&ctx),
            transactions: store::repo::transactions::for_invoice(db, invoice.id)
                .await?
                .iter()
                .map(views::transaction_summary)
                .collect(),
            reminder_date: invoice.reminder_date.map(Timestamp::from_millis),
            reminder_mileage: invoice.reminder_mileage,
            file_name: invoice.file_name.clone(),
            dealer_order: views::dealer_order(&ctx),
            dealer: views::dealer(dealer),
            invoice_attributes: invoice_attrs
                .into_iter()
                .map(|(option, value)| wire::InvoiceAttributeOption {
                    option,
                    value: Some(value),
                })
                .collect(),
            customer: views::customer(&customer),
        },
        sales_tax: quote.sales_tax,
        max_surcharge: quote.surcharge,
        max_surcharge_percent: super::bps_to_percent(quote.surcharge_bps),
        is_dual_pricing: fees.dual_pricing_enabled,
        is_surcharge: fees.surcharge_enabled,
    })
}

/// The uuid of an associate's department; `known` saves a lookup in the common case.
pub async fn associate_department_uuid(
    db: &store::Db,
    a: &dealers::AssociateRow,
    known: &dealers::DepartmentRow,
) -> ApiResult<Option<String>> {
    Ok(match a.department_id {
        Some(id) if id == known.id => Some(known.uuid.clone()),
        Some(id) => dealers::department_by_id(db, id).await?.map(|d| d.uuid),
        None => None,
    })
}

/// Resolves a short code to its pay URL.
pub async fn resolve_short(app: &AppState, code: &str) -> ApiResult<String> {
    let bad = || ApiError::not_found(v1::INVALID_SHORT_URL, "no payment link with this code");
    if code.len() != 10 || !code.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(bad());
    }
    let pr = repo::by_short_code(&app.db, code).await?.ok_or_else(bad)?;
    Ok(format!("/pay/{}", pr.guid))
}
