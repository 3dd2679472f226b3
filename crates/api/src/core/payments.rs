//! Card payments (SPEC §4): prePayment creates an attempt; confirm charges it through the
//! dealer's processor; 3-D Secure waits for the customer, then completes.
//!
//! Never a lost or doubled charge: no database transaction or lock is held across a
//! processor call. An attempt is put in flight (one per dealer order, enforced by a partial
//! unique index) and committed; the processor is called with the attempt's uuid as
//! idempotency key; the outcome is recorded with a conditional update, together with the
//! transaction and the money it moves. If the outcome is unknown (timeout, crash), the
//! attempt's lease runs out and the resolver asks the processor by key.

use super::attempt_views::attempt_dto;
use crate::app::AppState;
use crate::auth::{Principal, RouteAuth};
use crate::error::{ApiError, ApiResult, Code, Generic};
use crate::extract::optional_text;
use axum::http::StatusCode;
use domain::card::{CardNumber, Cvv};
use domain::catalog::v1;
use domain::fees::{CardBrand, FeeQuote, TenderType};
use domain::scope::Scope;
use domain::{Money, Timestamp};
use processor::{ChargeOutcome, ChargeRequest, ChargeStatus, Funding, ProcessorError};
use serde::{Deserialize, Serialize};
use store::repo::attempts::{self, AttemptRow, Landing};
use store::repo::transactions::{self, TransactionWrite};
use store::repo::{dealers, invoices, orders};
use store::Tx;
use utoipa::ToSchema;
use wire::{PaymentAttemptDto, V1Warning};

pub const PREPAY_AUTH: RouteAuth = RouteAuth::dealer(Scope::PrePayment);

/// How long an authorization is held before the resolver releases it.
pub const CAPTURE_WINDOW_MS: i64 = 7 * 24 * 3600 * 1000;

/// Failed attempts on one invoice within a day after which no new attempt is created
/// (card-testing protection).
pub const MAX_FAILURES_PER_DAY: i64 = 10;

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
pub struct PaymentUserInput {
    pub id: Option<i64>,
    #[serde(rename = "dealerAssociateUUID")]
    pub dealer_associate_uuid: Option<String>,
    #[serde(rename = "userUUID")]
    pub user_uuid: Option<String>,
    #[serde(rename = "dealerDepartmentUUID")]
    pub dealer_department_uuid: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TransactionDetailInput {
    pub id: Option<i64>,
    pub transaction_id: Option<i64>,
    pub transaction_incomplete_id: Option<i64>,
    #[serde(rename = "type")]
    pub detail_type: Option<String>,
    pub amount: Option<Money>,
    pub description: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TransactionDetailsList {
    #[serde(default)]
    pub transaction_details: Vec<TransactionDetailInput>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FeeRequest {
    pub fetch_surcharge: Option<bool>,
    pub fetch_application_fee: Option<bool>,
    pub dealer_id: Option<i64>,
    /// CREDIT or DEBIT.
    pub tender_type: Option<String>,
    /// VISA, MASTERCARD, AMEX or DISCOVER.
    pub card_type: Option<String>,
    pub transaction_department: Option<String>,
    pub payment_type: Option<String>,
    pub dealer_uuid: Option<String>,
}

/// The prePayment request of seed 001, every documented field accepted.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PrePaymentRequest {
    pub dealer_uuid: Option<String>,
    pub customer_uuid: Option<String>,
    pub order_number: Option<String>,
    #[serde(rename = "invoiceGUID", alias = "invoiceGuid")]
    pub invoice_guid: Option<String>,
    /// Deprecated.
    #[serde(rename = "customerID")]
    pub customer_id: Option<i64>,
    /// Deprecated.
    #[serde(rename = "paymentUserID")]
    pub payment_user_id: Option<i64>,
    pub current_payment_user: Option<PaymentUserInput>,
    /// Deprecated.
    pub original_payment_user_id: Option<i64>,
    pub original_payment_user: Option<PaymentUserInput>,
    /// Deprecated.
    #[serde(rename = "dealerID")]
    pub dealer_id: Option<i64>,
    pub desc: Option<String>,
    pub amount: Option<Money>,
    pub dealer_order_amount: Option<Money>,
    pub dealer_order_uuid: Option<String>,
    pub reminder_date: Option<String>,
    pub reminder_mileage: Option<i64>,
    pub order_type: Option<String>,
    pub is_mobile_payment: Option<bool>,
    pub fetch_duplicate_transaction_window: Option<bool>,
    pub fetch_enforce_cvv_dso: Option<bool>,
    pub fetch_enforce_zip_dso: Option<bool>,
    pub skin: Option<String>,
    pub locale: Option<String>,
    /// Last four digits of the card, used for duplicate detection.
    pub card_digits: Option<String>,
    pub ignore_payment_attempt_validation: Option<bool>,
    pub is_third_party_vendor: Option<bool>,
    pub payment_provider: Option<String>,
    pub transaction_type_short_code: Option<String>,
    /// Deprecated.
    pub signature_type: Option<String>,
    /// Deprecated.
    pub signature_data: Option<String>,
    /// Deprecated.
    pub ip_address: Option<String>,
    pub transaction_details_list: Option<TransactionDetailsList>,
    pub fee_request: Option<FeeRequest>,
    #[schema(value_type = Object)]
    pub attributes: Option<serde_json::Map<String, serde_json::Value>>,
}

/// Fees as quoted for an attempt.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FeeBreakdown {
    pub amount: Money,
    pub tender_type: String,
    pub card_type: Option<String>,
    pub is_surcharge: bool,
    pub is_dual_pricing: bool,
    pub surcharge_percent: f64,
    pub surcharge: Money,
    pub dual_pricing_fee: Money,
    pub sales_tax: Money,
    pub application_fee: Money,
    pub total: Money,
}

pub fn breakdown(
    q: &FeeQuote,
    tender: TenderType,
    brand: Option<CardBrand>,
    settings: &domain::fees::FeeSettings,
) -> FeeBreakdown {
    FeeBreakdown {
        amount: q.base,
        tender_type: tender_name(tender).into(),
        card_type: brand.map(|b| brand_name(b).into()),
        is_surcharge: settings.surcharge_enabled,
        is_dual_pricing: settings.dual_pricing_enabled,
        surcharge_percent: super::bps_to_percent(q.surcharge_bps),
        surcharge: q.surcharge,
        dual_pricing_fee: q.dual_pricing_fee,
        sales_tax: q.sales_tax,
        application_fee: Money::ZERO,
        total: q.total,
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PrePaymentResponse {
    pub errors: Vec<wire::V1Error>,
    pub warnings: Vec<V1Warning>,
    pub payment_attempt: PaymentAttemptDto,
    pub fees: FeeBreakdown,
    /// With `fetchDuplicateTransactionWindow`: minutes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duplicate_transaction_window: Option<i64>,
    /// With `fetchEnforceCvvDso`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enforce_cvv_dso: Option<bool>,
    /// With `fetchEnforceZipDso`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enforce_zip_dso: Option<bool>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttemptResponse {
    pub errors: Vec<wire::V1Error>,
    pub warnings: Vec<V1Warning>,
    pub payment_attempt: PaymentAttemptDto,
}

impl AttemptResponse {
    pub fn new(payment_attempt: PaymentAttemptDto) -> AttemptResponse {
        AttemptResponse {
            errors: vec![],
            warnings: vec![],
            payment_attempt,
        }
    }
}

fn failed(field: &str, why: impl std::fmt::Display) -> ApiError {
    ApiError::bad_request(v1::PEPAYMENT_VALIDATION_FAILED, format!("{field}: {why}"))
}

/// prePayment reports every malformed field as PEPAYMENT_VALIDATION_FAILED.
pub fn as_prepayment_error(e: ApiError) -> ApiError {
    match e.code {
        Code::Generic(Generic::Missing | Generic::Invalid) => ApiError {
            code: Code::V1(v1::PEPAYMENT_VALIDATION_FAILED),
            ..e
        },
        _ => e,
    }
}

pub fn tender_name(t: TenderType) -> &'static str {
    match t {
        TenderType::Credit => "CREDIT",
        TenderType::Debit => "DEBIT",
    }
}

pub fn brand_name(b: CardBrand) -> &'static str {
    match b {
        CardBrand::Visa => "VISA",
        CardBrand::Mastercard => "MASTERCARD",
        CardBrand::Amex => "AMEX",
        CardBrand::Discover => "DISCOVER",
    }
}

pub fn parse_tender(s: &str) -> Option<TenderType> {
    match s.trim().to_ascii_uppercase().as_str() {
        "CREDIT" => Some(TenderType::Credit),
        "DEBIT" => Some(TenderType::Debit),
        _ => None,
    }
}

pub fn parse_brand(s: &str) -> Option<CardBrand> {
    match s.trim().to_ascii_uppercase().as_str() {
        "VISA" => Some(CardBrand::Visa),
        "MASTERCARD" | "MC" => Some(CardBrand::Mastercard),
        "AMEX" | "AMERICAN_EXPRESS" => Some(CardBrand::Amex),
        "DISCOVER" => Some(CardBrand::Discover),
        _ => None,
    }
}

fn uuid_field(field: &str, v: Option<&str>) -> ApiResult<Option<String>> {
    match v.map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => uuid::Uuid::parse_str(s)
            .map(|u| Some(u.to_string()))
            .map_err(|_| failed(field, "must be a UUID")),
        None => Ok(None),
    }
}

/// `POST /payment/kpayment/v1/prepayment`.
pub async fn prepayment(
    app: &AppState,
    p: &Principal,
    req: PrePaymentRequest,
) -> ApiResult<PrePaymentResponse> {
    // 1. The request itself.
    let dealer_uuid = uuid_field("dealerUuid", req.dealer_uuid.as_deref())?
        .ok_or_else(|| failed("dealerUuid", "is required"))?;
    let amount = req.amount.ok_or_else(|| failed("amount", "is required"))?;
    if amount.cents() == 0 {
        return Err(failed("amount", "must be more than 0"));
    }
    let customer_uuid = uuid_field("customerUuid", req.customer_uuid.as_deref())?
        .ok_or_else(|| failed("customerUuid", "is required"))?;
    let invoice_guid = uuid_field("invoiceGUID", req.invoice_guid.as_deref())?
        .ok_or_else(|| failed("invoiceGUID", "is required"))?;
    let order_uuid = uuid_field("dealerOrderUuid", req.dealer_order_uuid.as_deref())?;
    let order_number = optional_text("orderNumber", req.order_number.as_deref(), 64)
        .map_err(as_prepayment_error)?;
    if order_uuid.is_none() && order_number.is_none() {
        return Err(failed("dealerOrderUuid", "is required (or orderNumber)"));
    }
    let locale = req
        .locale
        .as_deref()
        .map(str::trim)
        .unwrap_or("en")
        .to_string();
    if !super::payment_requests::LOCALES.contains(&locale.as_str()) {
        return Err(failed("locale", "must be en, es or fr-CA"));
    }
    let digits = match req
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
        if !super::dealer_data::PROVIDERS.contains(&provider.trim().to_ascii_uppercase().as_str()) {
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
        let mut sum = 0i64;
        for (i, d) in list.transaction_details.iter().enumerate() {
            let field = format!("transactionDetailsList.transactionDetails[{i}]");
            let kind = optional_text(&format!("{field}.type"), d.detail_type.as_deref(), 64)
                .map_err(as_prepayment_error)?
                .ok_or_else(|| failed(&format!("{field}.type"), "is required"))?;
            let a = d
                .amount
                .ok_or_else(|| failed(&format!("{field}.amount"), "is required"))?;
            let desc = optional_text(
                &format!("{field}.description"),
                d.description.as_deref(),
                500,
            )
            .map_err(as_prepayment_error)?;
            sum += a.cents();
            details.push((kind, a.cents(), desc));
        }
        if sum > amount.cents() {
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
    optional_text("desc", req.desc.as_deref(), 1000).map_err(as_prepayment_error)?;
    let fee_req = req.fee_request.clone().unwrap_or_default();

    // 2. Who may ask.
    PREPAY_AUTH.check_dealer(p, &dealer_uuid)?;

    // 3. The business rules, in the documented order.
    let db = &app.db;
    let dealer = dealers::dealer_by_uuid(db, &dealer_uuid)
        .await?
        .ok_or_else(|| ApiError::bad_request(v1::INVALID_DEALER, "dealerUuid: no such dealer"))?;
    let customer = dealers::customer_by_uuid(db, &customer_uuid)
        .await?
        .filter(|c| c.dealer_id == dealer.id)
        .ok_or_else(|| {
            ApiError::bad_request(
                v1::INVALID_CUSTOMER_UUID,
                "customerUuid: no such customer for this dealer",
            )
        })?;
    let order = match &order_uuid {
        Some(u) => orders::by_uuid(db, u).await?,
        None => {
            let mut tx = db.begin().await?;
            let t = req
                .order_type
                .as_deref()
                .unwrap_or("RO")
                .trim()
                .to_ascii_uppercase();
            let found = orders::number_taken_by(
                &mut tx,
                dealer.id,
                &t,
                order_number.as_deref().unwrap_or(""),
            )
            .await?;
            tx.rollback().await?;
            match found {
                Some(u) => orders::by_uuid(db, &u).await?,
                None => None,
            }
        }
    }
    .filter(|o| o.dealer_id == dealer.id)
    .ok_or_else(|| {
        ApiError::bad_request(
            v1::INVALID_DEALERORDER_UUID,
            "dealerOrderUuid: no such order for this dealer",
        )
    })?;
    let invoice = invoices::by_guid(db, &invoice_guid)
        .await?
        .filter(|i| i.dealer_order_id == order.id)
        .ok_or_else(|| {
            ApiError::bad_request(
                v1::INVALID_INVOICE_ID,
                "invoiceGUID: no such invoice on this order",
            )
        })?;
    let due = invoice.due_cents();
    if due == 0 {
        return Err(ApiError::bad_request(
            v1::INVOICE_ALREADY_PAID,
            "the invoice has nothing left to pay",
        ));
    }
    if amount.cents() > due {
        return Err(failed(
            "amount",
            format!(
                "exceeds the amount due ({})",
                Money::from_cents(due).unwrap_or_default()
            ),
        ));
    }
    if order.order_status == "CLOSED" {
        return Err(ApiError::bad_request(
            v1::REPAIR_ORDER_CLOSED,
            "the repair order is closed",
        ));
    }
    if customer.blacklisted != 0 {
        return Err(ApiError::bad_request(
            v1::CUSTOMER_BLACKLISTED,
            "this customer may not make payments",
        ));
    }
    let now = Timestamp::now().millis();
    if let Some(d) = &digits {
        if !req.ignore_payment_attempt_validation.unwrap_or(false)
            && dealer.duplicate_window_minutes > 0
        {
            let since = now - dealer.duplicate_window_minutes * 60_000;
            if attempts::duplicates(db, dealer.id, customer.id, amount.cents(), d, since).await? > 0
            {
                return Err(ApiError::bad_request(
                    v1::SUSPECTED_DUPLICATE_PAYMENT,
                    format!(
                        "a payment of the same amount with the same card was made in the last {} minutes; \
                         set ignorePaymentAttemptValidation to proceed",
                        dealer.duplicate_window_minutes
                    ),
                ));
            }
        }
    }
    let fee_error = |why: &str| {
        ApiError::bad_request(v1::ERROR_WHILE_FETHING_FEES, format!("feeRequest: {why}"))
    };
    let tender = match fee_req.tender_type.as_deref() {
        Some(t) => {
            parse_tender(t).ok_or_else(|| fee_error("tenderType must be CREDIT or DEBIT"))?
        }
        None => TenderType::Credit,
    };
    let brand = match fee_req.card_type.as_deref() {
        Some(c) => Some(
            parse_brand(c)
                .ok_or_else(|| fee_error("cardType must be VISA, MASTERCARD, AMEX or DISCOVER"))?,
        ),
        None => None,
    };
    if let Some(du) = fee_req.dealer_uuid.as_deref() {
        if du.trim() != dealer.uuid {
            return Err(fee_error("dealerUuid names another dealer"));
        }
    }
    let settings = dealer.fee_settings();
    let quote = settings.quote(amount, tender, brand);
    if attempts::recent_failures(db, invoice.id, now - 86_400_000).await? >= MAX_FAILURES_PER_DAY {
        return Err(ApiError::bad_request(
            v1::ERROR_CREATING_PAYMENTATTEMPT,
            "too many failed payment attempts on this invoice today; ask the customer to contact the dealership",
        ));
    }
    let associate = match req
        .current_payment_user
        .as_ref()
        .and_then(|u| u.dealer_associate_uuid.as_deref())
    {
        Some(u) => {
            let u =
                uuid_field("currentPaymentUser.dealerAssociateUUID", Some(u))?.unwrap_or_default();
            Some(
                dealers::associate_by_uuid(db, &u)
                    .await?
                    .filter(|a| a.dealer_id == dealer.id)
                    .ok_or_else(|| {
                        failed(
                            "currentPaymentUser.dealerAssociateUUID",
                            "no such dealer associate",
                        )
                    })?
                    .id,
            )
        }
        None => None,
    };
    // Everything else the request carried is kept with the attempt as sent.
    let mut stored = serde_json::to_value(&req).map_err(ApiError::internal)?;
    if let Some(m) = stored.as_object_mut() {
        m.retain(|_, v| !v.is_null());
    }
    let w = attempts::AttemptWrite {
        uuid: uuid::Uuid::new_v4().to_string(),
        dealer_id: dealer.id,
        department_id: order.department_id,
        dealer_order_id: order.id,
        invoice_id: invoice.id,
        customer_id: customer.id,
        associate_id: associate,
        status: "Created".into(),
        transaction_type: "CHARGE".into(),
        payment_type: Some(
            fee_req
                .payment_type
                .clone()
                .unwrap_or_else(|| "ONLINE".into()),
        ),
        amount_cents: amount.cents(),
        payment_provider: dealer.payment_provider.clone(),
        attributes: serde_json::to_string(&req.attributes.clone().unwrap_or_default())
            .map_err(ApiError::internal)?,
        card_digits: digits,
        tender_type: tender_name(tender).into(),
        card_type: brand.map(|b| brand_name(b).into()),
        surcharge_cents: quote.surcharge.cents(),
        dual_pricing_cents: quote.dual_pricing_fee.cents(),
        sales_tax_cents: quote.sales_tax.cents(),
        total_cents: quote.total.cents(),
        locale,
        request: stored.to_string(),
        parent_transaction_id: None,
        in_flight_until: None,
    };
    let mut row = None;
    // Attempt numbers are per invoice; two processes may pick the same one at once.
    for _ in 0..3 {
        let mut tx = db.begin().await?;
        match attempts::insert(&mut tx, &w, now).await {
            Ok(r) => {
                attempts::add_details(&mut tx, r.id, &details).await?;
                tx.commit().await?;
                row = Some(r);
                break;
            }
            Err(e) if e.is_unique_violation() => continue,
            Err(e) => return Err(e.into()),
        }
    }
    let row = row.ok_or_else(|| {
        ApiError::bad_request(
            v1::ERROR_CREATING_PAYMENTATTEMPT,
            "the attempt could not be numbered; retry",
        )
    })?;
    let mut warnings = vec![];
    if dealer.preferred_dealer_id.is_none() {
        let w = v1::NO_PREFERRED_DEALER_ID;
        warnings.push(V1Warning {
            warning_code: w.code,
            warning_title: w.title.into(),
            warning_message: w.description.into(),
            warning_description: "the dealer has no preferred dealer id configured".into(),
        });
    }
    Ok(PrePaymentResponse {
        errors: vec![],
        warnings,
        payment_attempt: attempt_dto(app, &row).await?,
        fees: breakdown(&quote, tender, brand, &settings),
        duplicate_transaction_window: req
            .fetch_duplicate_transaction_window
            .unwrap_or(false)
            .then_some(dealer.duplicate_window_minutes),
        enforce_cvv_dso: req
            .fetch_enforce_cvv_dso
            .unwrap_or(false)
            .then_some(dealer.enforce_cvv != 0),
        enforce_zip_dso: req
            .fetch_enforce_zip_dso
            .unwrap_or(false)
            .then_some(dealer.enforce_zip != 0),
    })
}

/// Card details as a client sends them to confirm.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CardInput {
    #[schema(value_type = String, example = "4242424242424242")]
    pub number: CardNumber,
    pub exp_month: u32,
    pub exp_year: u32,
    #[schema(value_type = Option<String>)]
    pub cvv: Option<Cvv>,
    pub zip: Option<String>,
    pub holder_name: Option<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConfirmRequest {
    /// The card. Never stored or logged; we keep brand, last four and a keyed hash.
    pub card: Option<CardInput>,
    /// A processor token instead of card details (sandbox: `tok_visa`, `tok_mastercard`, …).
    pub token: Option<String>,
    /// Where a 3-D Secure challenge returns the customer to.
    pub return_url: Option<String>,
    /// false: authorize only (the attempt waits in `RequiresCapture` until captured or
    /// cancelled); default true.
    pub capture: Option<bool>,
}

pub fn card_hash(key: &[u8], number: &CardNumber) -> String {
    crate::auth::hmac_hex(key, number.expose().as_bytes())
}

fn attempt_not_found() -> ApiError {
    ApiError::not_found(
        v1::INVALID_PAYMENT_ATTEMPT_ID,
        "paymentAttemptUuid: no such payment attempt",
    )
}

/// Loads an attempt the caller may act on (prePayment scope on its dealer).
pub async fn authorized_attempt(
    app: &AppState,
    p: &Principal,
    uuid: &str,
    auth: RouteAuth,
) -> ApiResult<(AttemptRow, dealers::DealerRow)> {
    let uuid = uuid::Uuid::parse_str(uuid)
        .map_err(|_| attempt_not_found())?
        .to_string();
    let a = attempts::by_uuid(&app.db, &uuid)
        .await?
        .ok_or_else(attempt_not_found)?;
    let dealer = dealers::dealer_by_id(&app.db, a.dealer_id)
        .await?
        .ok_or_else(|| ApiError::internal("attempt without dealer"))?;
    auth.check_dealer(p, &dealer.uuid)?;
    Ok((a, dealer))
}

fn lease(app: &AppState, now: i64) -> i64 {
    app.config.lease_until(now)
}

fn not_confirmable(a: &AttemptRow) -> ApiError {
    match a.status.as_str() {
        "InProgress" | "RequiresAction" => ApiError::conflict(
            v1::ANOTHER_REQUEST_IN_PROGRESS,
            "this payment attempt is already being processed",
        ),
        s => ApiError::conflict(
            v1::EERROR_UPDATING_PAYMENT_ATTEMPT,
            format!("this payment attempt is {s}; create a new one with prePayment to try again"),
        ),
    }
}

/// Confirms a Created attempt with card data or a token and charges it.
pub async fn confirm(
    app: &AppState,
    p: &Principal,
    uuid: &str,
    req: ConfirmRequest,
) -> ApiResult<(StatusCode, AttemptResponse)> {
    let (a, dealer) = authorized_attempt(app, p, uuid, PREPAY_AUTH).await?;
    let card = match (req.card, req.token.as_deref()) {
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
            processor::Card {
                number: c.number,
                exp_month: c.exp_month,
                exp_year: c.exp_year,
                cvv: c.cvv,
                zip: optional_text("card.zip", c.zip.as_deref(), 10)?,
                holder_name: optional_text("card.holderName", c.holder_name.as_deref(), 100)?,
            }
        }
        (None, Some(t)) => processor::sandbox::card_for_token(t.trim())
            .ok_or_else(|| ApiError::invalid("token", "is not a token this processor issued"))?,
        (None, None) => return Err(ApiError::missing("card")),
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid(
                "token",
                "send either card or token, not both",
            ))
        }
    };
    let return_url = optional_text("returnUrl", req.return_url.as_deref(), 2000)?;
    let req_capture = req.capture.unwrap_or(true);
    if let Some(u) = &return_url {
        if !(u.starts_with("https://") || u.starts_with("http://")) {
            return Err(ApiError::invalid("returnUrl", "must be an http(s) URL"));
        }
    }
    if a.transaction_type != "CHARGE" || a.status != "Created" {
        return Err(not_confirmable(&a));
    }
    let funding = app.processor.funding(&card.number);
    let tender = if funding == Funding::Debit {
        TenderType::Debit
    } else {
        TenderType::Credit
    };
    let brand = card.number.brand();
    let amount = Money::from_cents(a.amount_cents).map_err(ApiError::internal)?;
    let quote = dealer.fee_settings().quote(amount, tender, brand);
    let fees = attempts::Fees {
        card_brand: brand.map(|b| brand_name(b).into()),
        card_hash: Some(card_hash(&app.card_hash_key, &card.number)),
        card_digits: Some(card.number.last4().to_string()),
        tender_type: tender_name(tender).into(),
        card_type: brand.map(|b| brand_name(b).into()),
        surcharge_cents: quote.surcharge.cents(),
        dual_pricing_cents: quote.dual_pricing_fee.cents(),
        sales_tax_cents: quote.sales_tax.cents(),
        total_cents: quote.total.cents(),
    };

    // Take off: re-check what may have changed since prePayment, then put the attempt in
    // flight. Committed before the processor is called.
    let now = Timestamp::now().millis();
    let mut tx = app.db.begin().await?;
    let invoice = invoices::by_id_locked(&app.db, &mut tx, a.invoice_id)
        .await?
        .ok_or_else(|| ApiError::internal("attempt without invoice"))?;
    if invoice.due_cents() < a.amount_cents {
        return Err(ApiError::bad_request(
            v1::INVOICE_ALREADY_PAID,
            "the invoice no longer has this much left to pay",
        ));
    }
    let order = orders::by_id_tx(&mut tx, a.dealer_order_id)
        .await?
        .ok_or_else(|| ApiError::internal("attempt without order"))?;
    if order.order_status == "CLOSED" {
        return Err(ApiError::bad_request(
            v1::REPAIR_ORDER_CLOSED,
            "the repair order was closed",
        ));
    }
    match attempts::take_off(&mut tx, a.id, "Created", &fees, lease(app, now), now).await {
        Ok(true) => {}
        Ok(false) => {
            return Err(ApiError::conflict(
                v1::ANOTHER_REQUEST_IN_PROGRESS,
                "this payment attempt is already being processed",
            ))
        }
        Err(e) if e.is_unique_violation() => {
            return Err(ApiError::conflict(
                v1::ANOTHER_REQUEST_IN_PROGRESS,
                "another payment for this repair order is being processed; wait and try again",
            ))
        }
        Err(e) => return Err(e.into()),
    }
    tx.commit().await?;

    let charge = ChargeRequest {
        key: a.uuid.clone(),
        amount_cents: quote.total.cents(),
        currency: "USD".into(),
        card,
        enforce_cvv: dealer.enforce_cvv != 0,
        enforce_zip: dealer.enforce_zip != 0,
        return_url,
        capture: req_capture,
    };
    call_and_settle(app, &a.uuid, app.processor.charge(charge)).await
}

/// Calls the processor for an attempt already put in flight (no transaction open), bounded by
/// the processor timeout, then records the answer.
async fn call_and_settle(
    app: &AppState,
    uuid: &str,
    call: processor::BoxFut<'_, Result<ChargeOutcome, ProcessorError>>,
) -> ApiResult<(StatusCode, AttemptResponse)> {
    let r = tokio::time::timeout(app.config.processor_timeout, call).await;
    settle_call(
        app,
        uuid,
        "InProgress",
        r.unwrap_or(Err(ProcessorError::Timeout)),
    )
    .await
}

/// Records a processor answer (or leaves the attempt to the resolver) and answers the client.
async fn settle_call(
    app: &AppState,
    uuid: &str,
    from: &str,
    r: Result<ChargeOutcome, ProcessorError>,
) -> ApiResult<(StatusCode, AttemptResponse)> {
    let a = attempts::by_uuid(&app.db, uuid)
        .await?
        .ok_or_else(attempt_not_found)?;
    let status = match r {
        Ok(outcome) => {
            record_charge(app, &a, from, &outcome).await?;
            StatusCode::OK
        }
        Err(e) => {
            // The outcome is unknown: the attempt stays in flight and the resolver asks the
            // processor by key once the lease runs out.
            tracing::warn!(attempt = %a.uuid, error = %e, "processor outcome unknown; the resolver will settle it");
            StatusCode::ACCEPTED
        }
    };
    let a = attempts::by_uuid(&app.db, uuid)
        .await?
        .ok_or_else(attempt_not_found)?;
    Ok((status, AttemptResponse::new(attempt_dto(app, &a).await?)))
}

/// Completes an attempt that waited for 3-D Secure.
pub async fn complete(
    app: &AppState,
    p: &Principal,
    uuid: &str,
) -> ApiResult<(StatusCode, AttemptResponse)> {
    let (a, _) = authorized_attempt(app, p, uuid, PREPAY_AUTH).await?;
    if a.status != "RequiresAction" {
        return Err(match a.status.as_str() {
            "InProgress" => not_confirmable(&a),
            s => ApiError::conflict(
                v1::EERROR_UPDATING_PAYMENT_ATTEMPT,
                format!("this payment attempt is {s}, not waiting for authentication"),
            ),
        });
    }
    let now = Timestamp::now().millis();
    let mut tx = app.db.begin().await?;
    if !attempts::resume_from(&mut tx, a.id, "RequiresAction", lease(app, now), now).await? {
        return Err(ApiError::conflict(
            v1::ANOTHER_REQUEST_IN_PROGRESS,
            "this payment attempt is already being completed",
        ));
    }
    tx.commit().await?;
    call_and_settle(app, &a.uuid, app.processor.complete(a.uuid.clone())).await
}

pub async fn get(app: &AppState, p: &Principal, uuid: &str) -> ApiResult<AttemptResponse> {
    let (a, _) = authorized_attempt(app, p, uuid, PREPAY_AUTH).await?;
    Ok(AttemptResponse::new(attempt_dto(app, &a).await?))
}

fn next_action(url: &str) -> String {
    let n = wire::NextAction {
        action_type: wire::NextActionType::RedirectToUrl,
        redirect_to_url_action: Some(wire::RedirectUrlAction {
            redirect_url: url.to_string(),
        }),
        use_stripe_sdk_action: None,
        cardinal_sdk_action: None,
        redirect_to_affirm_url_action: None,
        use_sunbit_sdk_action: None,
    };
    serde_json::to_string(&n).unwrap_or_default()
}

/// Records a charge outcome on an attempt that is still in `from`, with its transaction and
/// the money it moves, in one database transaction. A no-op if someone else recorded it.
pub async fn record_charge(
    app: &AppState,
    a: &AttemptRow,
    from: &str,
    o: &ChargeOutcome,
) -> ApiResult<bool> {
    let now = Timestamp::now().millis();
    let mut tx = app.db.begin().await?;
    // Lock order for every money-moving transaction: the invoice row first (PostgreSQL
    // would otherwise deadlock an outcome against a concurrent take-off on the same order).
    invoices::by_id_locked(&app.db, &mut tx, a.invoice_id).await?;
    if o.status == ChargeStatus::RequiresAction {
        let landed = attempts::land(
            &mut tx,
            a.id,
            from,
            &Landing {
                status: "RequiresAction".into(),
                in_flight: true,
                lease_until: Some(now + app.config.challenge_timeout.as_millis() as i64),
                response_code: Some(o.response_code.clone()),
                response_description: Some(o.reason.clone()),
                next_action: o.challenge_url.as_deref().map(next_action),
                three_ds_failed: false,
            },
            now,
        )
        .await?;
        tx.commit().await?;
        return Ok(landed);
    }
    if o.status == ChargeStatus::Authorized || o.reason == "released" {
        // A hold (keeps the order's in-flight slot until captured or released), or a released
        // hold (nothing was charged, so no transaction).
        let held = o.status == ChargeStatus::Authorized;
        let landed = attempts::land(
            &mut tx,
            a.id,
            from,
            &Landing {
                status: if held { "RequiresCapture" } else { "Cancelled" }.into(),
                in_flight: held,
                lease_until: held.then_some(now + CAPTURE_WINDOW_MS),
                response_code: Some(o.response_code.clone()),
                response_description: Some(o.reason.clone()),
                next_action: a.next_action.clone(),
                three_ds_failed: false,
            },
            now,
        )
        .await?;
        tx.commit().await?;
        return Ok(landed);
    }
    let approved = o.status == ChargeStatus::Approved;
    let three_ds_failed =
        o.reason == "authentication_failed" || o.reason == "authentication_abandoned";
    let landed = attempts::land(
        &mut tx,
        a.id,
        from,
        &Landing {
            status: if approved { "Succeeded" } else { "Failed" }.into(),
            in_flight: false,
            lease_until: None,
            response_code: Some(o.response_code.clone()),
            response_description: Some(o.reason.clone()),
            next_action: a.next_action.clone(),
            three_ds_failed,
        },
        now,
    )
    .await?;
    if !landed {
        tx.rollback().await?;
        return Ok(false);
    }
    insert_charge(&mut tx, app, a, o, now).await?;
    tx.commit().await?;
    Ok(true)
}

async fn insert_charge(
    tx: &mut Tx,
    app: &AppState,
    a: &AttemptRow,
    o: &ChargeOutcome,
    now: i64,
) -> ApiResult<()> {
    let approved = o.status == ChargeStatus::Approved;
    let w = TransactionWrite {
        uuid: uuid::Uuid::new_v4().to_string(),
        attempt_id: a.id,
        parent_id: None,
        transaction_type: "CHARGE".into(),
        status: match o.status {
            ChargeStatus::Approved => "APPROVED",
            ChargeStatus::Declined => "DECLINED",
            _ => "ERROR",
        }
        .into(),
        dealer_id: a.dealer_id,
        invoice_id: a.invoice_id,
        dealer_order_id: a.dealer_order_id,
        customer_id: a.customer_id,
        amount_cents: a.amount_cents,
        total_cents: if o.amount_cents > 0 {
            o.amount_cents
        } else {
            a.total_cents
        },
        surcharge_cents: a.surcharge_cents,
        dual_pricing_cents: a.dual_pricing_cents,
        sales_tax_cents: a.sales_tax_cents,
        processor: app.processor.name().into(),
        processor_txn_id: Some(o.processor_id.clone()),
        auth_code: o.auth_code.clone(),
        response_code: Some(o.response_code.clone()),
        response_reason: Some(o.reason.clone()),
        avs_result: o.avs_result.clone(),
        cvv_result: o.cvv_result.clone(),
        card_brand: o.brand.clone().or_else(|| a.card_brand.clone()),
        card_last4: (!o.last4.is_empty())
            .then(|| o.last4.clone())
            .or_else(|| a.card_digits.clone()),
        card_hash: a.card_hash.clone(),
        funding: Some(match o.funding {
            Funding::Debit => "debit".into(),
            Funding::Credit => "credit".into(),
        }),
    };
    transactions::insert(tx, &w, now).await?;
    if approved {
        transactions::apply_to_invoice(tx, a.invoice_id, a.amount_cents, 0, now).await?;
        transactions::apply_to_order(tx, a.dealer_order_id, a.amount_cents, now).await?;
    }
    Ok(())
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FeeQuoteRequest {
    pub dealer_uuid: Option<String>,
    pub amount: Option<Money>,
    /// CREDIT (default) or DEBIT.
    pub tender_type: Option<String>,
    /// VISA, MASTERCARD, AMEX or DISCOVER; absent: the highest network cap applies.
    pub card_type: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FeeQuoteResponse {
    pub errors: Vec<wire::V1Error>,
    pub warnings: Vec<V1Warning>,
    pub fees: FeeBreakdown,
}

/// The fees a payment of `amount` would carry, exactly as prePayment and confirm compute them.
pub async fn fee_quote(
    app: &AppState,
    p: &Principal,
    req: FeeQuoteRequest,
) -> ApiResult<FeeQuoteResponse> {
    let dealer_uuid = req
        .dealer_uuid
        .as_deref()
        .ok_or_else(|| ApiError::missing("dealerUuid"))?;
    let dealer_uuid = crate::extract::uuid_param("dealerUuid", dealer_uuid)?.to_string();
    let amount = req.amount.ok_or_else(|| ApiError::missing("amount"))?;
    let tender = match req.tender_type.as_deref() {
        Some(t) => parse_tender(t)
            .ok_or_else(|| ApiError::invalid("tenderType", "must be CREDIT or DEBIT"))?,
        None => TenderType::Credit,
    };
    let brand = match req.card_type.as_deref() {
        Some(c) => Some(parse_brand(c).ok_or_else(|| {
            ApiError::invalid("cardType", "must be VISA, MASTERCARD, AMEX or DISCOVER")
        })?),
        None => None,
    };
    PREPAY_AUTH.check_dealer(p, &dealer_uuid)?;
    let dealer = dealers::dealer_by_uuid(&app.db, &dealer_uuid)
        .await?
        .ok_or_else(|| ApiError::bad_request(v1::INVALID_DEALER, "dealerUuid: no such dealer"))?;
    let settings = dealer.fee_settings();
    let q = settings.quote(amount, tender, brand);
    Ok(FeeQuoteResponse {
        errors: vec![],
        warnings: vec![],
        fees: breakdown(&q, tender, brand, &settings),
    })
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct CaptureBody {
    /// Amount to capture (the invoice part; fees are recomputed for it); default: all that was
    /// authorized. The rest of the hold is released.
    pub amount: Option<Money>,
}

/// Captures an authorized attempt, once: the RequiresCapture → InProgress move is a
/// conditional update, so of concurrent captures exactly one reaches the processor.
pub async fn capture(
    app: &AppState,
    p: &Principal,
    uuid: &str,
    body: CaptureBody,
) -> ApiResult<(StatusCode, AttemptResponse)> {
    let (a, dealer) = authorized_attempt(app, p, uuid, PREPAY_AUTH).await?;
    if a.status != "RequiresCapture" {
        return Err(not_confirmable(&a));
    }
    let base = body.amount.map(Money::cents).unwrap_or(a.amount_cents);
    if base <= 0 || base > a.amount_cents {
        return Err(ApiError::invalid(
            "amount",
            "must be more than 0 and at most the authorized amount",
        ));
    }
    let tender = parse_tender(&a.tender_type).unwrap_or(TenderType::Credit);
    let brand = a.card_brand.as_deref().and_then(parse_brand);
    let q = dealer.fee_settings().quote(
        Money::from_cents(base).map_err(ApiError::internal)?,
        tender,
        brand,
    );
    let fees = (
        q.surcharge.cents(),
        q.dual_pricing_fee.cents(),
        q.sales_tax.cents(),
        q.total.cents(),
    );
    let now = Timestamp::now().millis();
    let mut tx = app.db.begin().await?;
    invoices::by_id_locked(&app.db, &mut tx, a.invoice_id).await?;
    if !attempts::start_capture(&mut tx, a.id, base, &fees, lease(app, now), now).await? {
        return Err(ApiError::conflict(
            v1::ANOTHER_REQUEST_IN_PROGRESS,
            "this payment attempt is already being captured or released",
        ));
    }
    tx.commit().await?;
    call_and_settle(
        app,
        &a.uuid,
        app.processor.capture(a.uuid.clone(), q.total.cents()),
    )
    .await
}

/// Releases an authorization without capturing it; the attempt ends Cancelled.
pub async fn release(
    app: &AppState,
    p: &Principal,
    uuid: &str,
) -> ApiResult<(StatusCode, AttemptResponse)> {
    let (a, _) = authorized_attempt(app, p, uuid, PREPAY_AUTH).await?;
    if a.status != "RequiresCapture" {
        return Err(not_confirmable(&a));
    }
    let now = Timestamp::now().millis();
    let mut tx = app.db.begin().await?;
    if !attempts::resume_from(&mut tx, a.id, "RequiresCapture", lease(app, now), now).await? {
        return Err(ApiError::conflict(
            v1::ANOTHER_REQUEST_IN_PROGRESS,
            "this payment attempt is already being captured or released",
        ));
    }
    tx.commit().await?;
    call_and_settle(app, &a.uuid, app.processor.release(a.uuid.clone())).await
}
