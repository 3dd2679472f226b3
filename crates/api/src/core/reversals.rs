//! Refunds and voids. A reversal is an attempt of its own (transactionType REFUND or VOID)
//! whose transaction links to the charge as `parentTransaction`. The amount is reserved on
//! the charge row with one conditional UPDATE before the processor is called, so concurrent
//! refunds can never together exceed what was charged, in any number of processes.

use super::attempt_views::attempt_dto;
use super::payments::AttemptResponse;
use crate::app::AppState;
use crate::auth::{Principal, RouteAuth};
use crate::error::{ApiError, ApiResult};
use crate::extract::optional_text;
use axum::http::StatusCode;
use domain::catalog::v1;
use domain::scope::Scope;
use domain::{Money, Timestamp};
use processor::{ProcessorError, RefundOutcome, RefundRequest};
use serde::Deserialize;
use store::repo::attempts::{self, AttemptRow, Landing};
use store::repo::transactions::{self, TransactionRow, TransactionWrite};
use store::repo::{dealers, invoices};
use utoipa::ToSchema;

pub const AUTH: RouteAuth = RouteAuth::dealer(Scope::Refund);

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RefundBody {
    /// Amount to refund; defaults to everything still refundable (fees included).
    pub amount: Option<Money>,
    pub reason: Option<String>,
}

fn no_transaction() -> ApiError {
    ApiError::not_found(
        v1::ERROR_FETCHING_TRANSACTION,
        "transactionUuid: no such transaction",
    )
}

async fn charge_for(
    app: &AppState,
    p: &Principal,
    uuid: &str,
) -> ApiResult<(TransactionRow, AttemptRow)> {
    let uuid = uuid::Uuid::parse_str(uuid)
        .map_err(|_| no_transaction())?
        .to_string();
    let t = transactions::by_uuid(&app.db, &uuid)
        .await?
        .ok_or_else(no_transaction)?;
    let dealer = dealers::dealer_by_id(&app.db, t.dealer_id)
        .await?
        .ok_or_else(|| ApiError::internal("transaction without dealer"))?;
    AUTH.check_dealer(p, &dealer.uuid)?;
    if t.transaction_type != "CHARGE" || t.status != "APPROVED" {
        return Err(ApiError::conflict(
            v1::EERROR_UPDATING_PAYMENT_ATTEMPT,
            "only an approved charge can be refunded or voided",
        ));
    }
    if t.is_voided != 0 {
        return Err(ApiError::conflict(
            v1::EERROR_UPDATING_PAYMENT_ATTEMPT,
            "this charge was voided",
        ));
    }
    let a = attempts::by_id(&app.db, t.attempt_id)
        .await?
        .ok_or_else(|| ApiError::internal("transaction without attempt"))?;
    Ok((t, a))
}

enum Kind {
    Refund,
    Void,
}

pub async fn refund(
    app: &AppState,
    p: &Principal,
    uuid: &str,
    body: RefundBody,
) -> ApiResult<(StatusCode, AttemptResponse)> {
    let (charge, charge_attempt) = charge_for(app, p, uuid).await?;
    let reason = optional_text("reason", body.reason.as_deref(), 500)?;
    let remaining = charge.total_cents - charge.reversed_cents;
    let amount = body.amount.map(Money::cents).unwrap_or(remaining);
    if amount == 0 {
        return Err(ApiError::invalid(
            "amount",
            "must be more than 0 (or nothing is left to refund)",
        ));
    }
    if amount > remaining {
        return Err(ApiError::conflict(
            v1::INVALID_DATA_FOR_THE_FIELD,
            format!(
                "amount: exceeds what remains refundable ({})",
                Money::from_cents(remaining).unwrap_or_default()
            ),
        ));
    }
    start(app, Kind::Refund, &charge, &charge_attempt, amount, reason).await
}

pub async fn void(
    app: &AppState,
    p: &Principal,
    uuid: &str,
) -> ApiResult<(StatusCode, AttemptResponse)> {
    let (charge, charge_attempt) = charge_for(app, p, uuid).await?;
    if charge.is_settled != 0 {
        return Err(ApiError::conflict(
            v1::EERROR_UPDATING_PAYMENT_ATTEMPT,
            "this charge is settled; refund it instead",
        ));
    }
    if charge.reversed_cents != 0 {
        return Err(ApiError::conflict(
            v1::EERROR_UPDATING_PAYMENT_ATTEMPT,
            "this charge was partly refunded; refund the rest instead",
        ));
    }
    start(
        app,
        Kind::Void,
        &charge,
        &charge_attempt,
        charge.total_cents,
        None,
    )
    .await
}

async fn start(
    app: &AppState,
    kind: Kind,
    charge: &TransactionRow,
    charge_attempt: &AttemptRow,
    total: i64,
    reason: Option<String>,
) -> ApiResult<(StatusCode, AttemptResponse)> {
    let (name, void) = match kind {
        Kind::Refund => ("REFUND", false),
        Kind::Void => ("VOID", true),
    };
    let now = Timestamp::now().millis();
    let lease = app.config.lease_until(now);
    let mut tx = app.db.begin().await?;
    // Lock order for every money-moving transaction: the invoice row first (PostgreSQL
    // would otherwise deadlock an outcome against a concurrent take-off on the same order).
    invoices::by_id_locked(&app.db, &mut tx, charge.invoice_id).await?;
    // The split between the invoice's part and the fees depends on what earlier reversals
    // took: computed from the charge as it is now, under the invoice lock, not from the read
    // before it (a concurrent refund would otherwise make a refundable amount look too big
    // for the invoice's part and be refused).
    let fresh = transactions::by_id_tx(&mut tx, charge.id)
        .await?
        .ok_or_else(no_transaction)?;
    let base = if void {
        fresh.amount_cents
    } else {
        let remaining = fresh.total_cents - fresh.reversed_cents;
        if total > remaining {
            return Err(ApiError::conflict(
                v1::INVALID_DATA_FOR_THE_FIELD,
                format!(
                    "amount: exceeds what remains refundable ({})",
                    Money::from_cents(remaining).unwrap_or_default()
                ),
            ));
        }
        // Refunds give back the invoice's part first, the fees last.
        total.min(fresh.amount_cents - fresh.reversed_base_cents)
    };
    if !transactions::reserve_reversal(&mut tx, charge.id, total, base, void, now).await? {
        return Err(ApiError::conflict(
            v1::EERROR_UPDATING_PAYMENT_ATTEMPT,
            "the charge changed meanwhile (refunded, voided or settled); read it again",
        ));
    }
    let w = attempts::AttemptWrite {
        uuid: uuid::Uuid::new_v4().to_string(),
        dealer_id: charge_attempt.dealer_id,
        department_id: charge_attempt.department_id,
        dealer_order_id: charge_attempt.dealer_order_id,
        invoice_id: charge_attempt.invoice_id,
        customer_id: charge_attempt.customer_id,
        associate_id: None,
        status: "InProgress".into(),
        transaction_type: name.into(),
        payment_type: charge_attempt.payment_type.clone(),
        amount_cents: base,
        payment_provider: charge_attempt.payment_provider.clone(),
        attributes: serde_json::json!({ "reason": reason }).to_string(),
        card_digits: charge.card_last4.clone(),
        tender_type: charge_attempt.tender_type.clone(),
        card_type: charge_attempt.card_type.clone(),
        surcharge_cents: 0,
        dual_pricing_cents: 0,
        sales_tax_cents: 0,
        total_cents: total,
        locale: charge_attempt.locale.clone(),
        request: "{}".into(),
        parent_transaction_id: Some(charge.id),
        in_flight_until: Some(lease),
    };
    let a = match attempts::insert(&mut tx, &w, now).await {
        Ok(a) => a,
        Err(e) if e.is_unique_violation() => return Err(ApiError::conflict(
            v1::ANOTHER_REQUEST_IN_PROGRESS,
            "another payment operation on this repair order is being processed; wait and try again",
        )),
        Err(e) => return Err(e.into()),
    };
    tx.commit().await?;
    let r = call(app, &a, &charge_attempt.uuid).await;
    let status = match r {
        Ok(o) => {
            record(app, &a, &o).await?;
            StatusCode::OK
        }
        Err(e) => {
            tracing::warn!(attempt = %a.uuid, error = %e, "processor outcome unknown; the resolver will settle it");
            StatusCode::ACCEPTED
        }
    };
    let a = attempts::by_id(&app.db, a.id)
        .await?
        .ok_or_else(|| ApiError::internal("attempt vanished"))?;
    Ok((status, AttemptResponse::new(attempt_dto(app, &a).await?)))
}

/// Asks the processor for the reversal; the same key gives the same answer, so the resolver
/// can simply ask again.
pub async fn call(
    app: &AppState,
    a: &AttemptRow,
    charge_key: &str,
) -> Result<RefundOutcome, ProcessorError> {
    let fut = match a.transaction_type.as_str() {
        "VOID" => app.processor.void(a.uuid.clone(), charge_key.to_string()),
        _ => app.processor.refund(RefundRequest {
            key: a.uuid.clone(),
            charge_key: charge_key.to_string(),
            amount_cents: a.total_cents,
        }),
    };
    tokio::time::timeout(app.config.processor_timeout, fut)
        .await
        .unwrap_or(Err(ProcessorError::Timeout))
}

/// Records a reversal's outcome with its transaction and the money it moves.
pub async fn record(app: &AppState, a: &AttemptRow, o: &RefundOutcome) -> ApiResult<bool> {
    let now = Timestamp::now().millis();
    let parent_id = a
        .parent_transaction_id
        .ok_or_else(|| ApiError::internal("reversal without parent"))?;
    let mut tx = app.db.begin().await?;
    // Lock order for every money-moving transaction: the invoice row first (PostgreSQL
    // would otherwise deadlock an outcome against a concurrent take-off on the same order).
    invoices::by_id_locked(&app.db, &mut tx, a.invoice_id).await?;
    let landed = attempts::land(
        &mut tx,
        a.id,
        "InProgress",
        &Landing {
            status: if o.approved { "Succeeded" } else { "Failed" }.into(),
            in_flight: false,
            lease_until: None,
            response_code: Some(if o.approved { "00" } else { "12" }.into()),
            response_description: Some(o.reason.clone()),
            next_action: None,
            three_ds_failed: false,
        },
        now,
    )
    .await?;
    if !landed {
        tx.rollback().await?;
        return Ok(false);
    }
    let parent = transactions::by_id_tx(&mut tx, parent_id)
        .await?
        .ok_or_else(|| ApiError::internal("missing parent"))?;
    transactions::insert(
        &mut tx,
        &TransactionWrite {
            uuid: uuid::Uuid::new_v4().to_string(),
            attempt_id: a.id,
            parent_id: Some(parent.id),
            transaction_type: a.transaction_type.clone(),
            status: if o.approved { "APPROVED" } else { "DECLINED" }.into(),
            dealer_id: a.dealer_id,
            invoice_id: a.invoice_id,
            dealer_order_id: a.dealer_order_id,
            customer_id: a.customer_id,
            amount_cents: a.amount_cents,
            total_cents: a.total_cents,
            processor: parent.processor.clone(),
            processor_txn_id: Some(o.processor_id.clone()),
            response_code: Some(if o.approved { "00" } else { "12" }.into()),
            response_reason: Some(o.reason.clone()),
            card_brand: parent.card_brand.clone(),
            card_last4: parent.card_last4.clone(),
            card_hash: parent.card_hash.clone(),
            funding: parent.funding.clone(),
            ..Default::default()
        },
        now,
    )
    .await?;
    match (o.approved, a.transaction_type.as_str()) {
        (true, "VOID") => {
            transactions::mark_voided(&mut tx, parent.id, now).await?;
            transactions::apply_to_invoice(&mut tx, a.invoice_id, -a.amount_cents, 0, now).await?;
            transactions::apply_to_order(&mut tx, a.dealer_order_id, -a.amount_cents, now).await?;
        }
        (true, _) => {
            transactions::apply_to_invoice(&mut tx, a.invoice_id, 0, a.amount_cents, now).await?;
            transactions::apply_to_order(&mut tx, a.dealer_order_id, -a.amount_cents, now).await?;
        }
        (false, _) => {
            transactions::release_reversal(&mut tx, parent.id, a.total_cents, a.amount_cents, now)
                .await?
        }
    }
    tx.commit().await?;
    Ok(true)
}
