//! Recording a processor's answer for a charge: the attempt's new status, its transaction
//! and the money it moves, in one database transaction, with a conditional update so that
//! exactly one recorder wins (the request that called the processor, or the resolver).

use crate::error::EngineResult;
use crate::{now, Engine};
use connectors::{ChargeOutcome, ChargeStatus};
use domain::status::{AttemptStatus, TransactionStatus, TransactionType};
use store::repo::attempts::{self, AttemptRow, Landing};
use store::repo::invoices::{self, InvoiceRow};
use store::repo::orders::{self, OrderRow};
use store::repo::transactions::{self, NewTransaction, TransactionRow};

/// What recording an outcome changed.
#[derive(Debug, Clone)]
pub(crate) struct Recorded {
    pub attempt: AttemptRow,
    /// The outcome's transaction (none while waiting: 3-D Secure, a hold, a release).
    pub transaction: Option<TransactionRow>,
    /// The invoice and order, when money moved.
    pub moved: Option<(InvoiceRow, OrderRow)>,
}

/// `nextAction` for a 3-D Secure challenge (documented `REDIRECT_TO_URL`).
fn next_action(url: &str) -> String {
    serde_json::json!({
        "actionType": "REDIRECT_TO_URL",
        "redirectToUrlAction": { "redirectUrl": url },
        "useStripeSdkAction": null,
        "cardinalSdkAction": null,
        "redirectToAffirmUrlAction": null,
        "useSunbitSdkAction": null,
    })
    .to_string()
}

/// The attempt status an outcome leads to, whether the attempt stays in flight, and how long
/// its lease then lasts.
fn landing_status(o: &ChargeOutcome) -> (AttemptStatus, bool) {
    match o.status {
        ChargeStatus::RequiresAction => (AttemptStatus::RequiresAction, true),
        ChargeStatus::Authorized => (AttemptStatus::RequiresCapture, true),
        // A released hold: nothing was charged, so no transaction.
        _ if o.reason == connectors::RELEASED => (AttemptStatus::Cancelled, false),
        ChargeStatus::Approved => (AttemptStatus::Succeeded, false),
        ChargeStatus::Pending => (AttemptStatus::InProgress, true),
        ChargeStatus::Declined | ChargeStatus::Error => (AttemptStatus::Failed, false),
    }
}

/// Records a charge outcome on an attempt that is still in `from`. `None` if someone else
/// recorded it first (or the outcome leaves the attempt where it was).
pub(crate) async fn record_charge(
    engine: &Engine,
    a: &AttemptRow,
    from: AttemptStatus,
    o: &ChargeOutcome,
    processor: &str,
) -> EngineResult<Option<Recorded>> {
    let (status, in_flight) = landing_status(o);
    if status == from && status == AttemptStatus::InProgress {
        // Still pending at the processor: the resolver (or its webhook) settles it.
        return Ok(None);
    }
    debug_assert!(from.can_move_to(status), "{from} -> {status}");
    let t = now();
    let lease_until = match status {
        AttemptStatus::RequiresAction => {
            Some(t + engine.config.challenge_timeout.as_millis() as i64)
        }
        AttemptStatus::RequiresCapture => Some(t + engine.config.capture_window.as_millis() as i64),
        AttemptStatus::InProgress => Some(engine.config.lease_until(t)),
        _ => None,
    };
    let three_ds_failed =
        o.reason == "authentication_failed" || o.reason == "authentication_abandoned";
    let landing = Landing {
        status,
        in_flight,
        lease_until,
        response_code: Some(o.response_code.clone()),
        response_description: Some(o.reason.clone()),
        next_action: match (status, o.challenge_url.as_deref()) {
            (AttemptStatus::RequiresAction, Some(url)) => Some(next_action(url)),
            _ => a.next_action.clone(),
        },
        three_ds_failed,
    };
    let final_outcome = !in_flight && status != AttemptStatus::Cancelled;
    let approved = o.status == ChargeStatus::Approved;
    let txn = final_outcome.then(|| NewTransaction {
        uuid: uuid::Uuid::new_v4().to_string(),
        attempt_id: a.id,
        parent_id: None,
        transaction_type: TransactionType::Charge,
        status: match o.status {
            ChargeStatus::Approved => TransactionStatus::Approved,
            ChargeStatus::Declined => TransactionStatus::Declined,
            _ => TransactionStatus::Error,
        },
        dealer_id: a.dealer_id,
        invoice_id: a.invoice_id,
        dealer_order_id: a.dealer_order_id,
        customer_id: a.customer_id,
        amount: a.amount,
        total: if o.amount_cents > 0 {
            domain::Money::from_stored(o.amount_cents).unwrap_or(a.total)
        } else {
            a.total
        },
        surcharge: a.surcharge,
        dual_pricing: a.dual_pricing,
        sales_tax: a.sales_tax,
        processor: processor.to_string(),
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
        funding: Some(o.funding.as_str().to_string()),
    });
    let (id, invoice_id, order_id, amount) =
        (a.id, a.invoice_id, a.dealer_order_id, a.amount.cents());
    let r = engine
        .db
        .write(move |c| {
            Box::pin(async move {
                // Lock order of every money-moving transaction: the invoice row first.
                invoices::lock(c, invoice_id).await?;
                let Some(attempt) = attempts::land(c, id, from, &landing, t).await? else {
                    return Ok::<_, db::DbError>(None);
                };
                let transaction = match &txn {
                    Some(w) => Some(transactions::insert(c, w, t).await?),
                    None => None,
                };
                let moved = if approved && transaction.is_some() {
                    Some((
                        invoices::apply(c, invoice_id, amount, 0, t).await?,
                        orders::apply(c, order_id, amount, t).await?,
                    ))
                } else {
                    None
                };
                Ok(Some(Recorded {
                    attempt,
                    transaction,
                    moved,
                }))
            })
        })
        .await?;
    Ok(r)
}
