//! Settles attempts whose outcome we do not know: a charge whose call timed out or whose
//! server died mid-call, a 3-D Secure challenge nobody finished, a reversal left in flight.
//! Safe with several server processes: an attempt is claimed by moving its lease with a
//! conditional UPDATE, and its outcome is recorded with another, so each is settled once.

use super::payments::record_charge;
use super::reversals;
use crate::app::AppState;
use crate::error::{ApiError, ApiResult};
use domain::Timestamp;
use processor::{ChargeOutcome, ChargeStatus, Funding};
use store::repo::attempts::{self, AttemptRow};
use store::repo::transactions;

/// One pass: claims up to `limit` expired leases and settles them. Returns how many it settled.
pub async fn run_once(app: &AppState, limit: i64) -> ApiResult<usize> {
    let now = Timestamp::now().millis();
    let new_lease = app.config.lease_until(now);
    let claimed = attempts::claim_expired(&app.db, now, new_lease, limit).await?;
    let mut settled = 0;
    for a in &claimed {
        match settle(app, a).await {
            Ok(true) => settled += 1,
            Ok(false) => {}
            // Left for the next pass once the new lease runs out.
            Err(e) => {
                tracing::warn!(attempt = %a.uuid, error = ?e.detail, "could not settle in-flight attempt yet")
            }
        }
    }
    if settled > 0 {
        tracing::info!(settled, "resolved in-flight attempts");
    }
    Ok(settled)
}

/// A charge outcome we decide ourselves (the processor never saw the key, or the customer
/// never finished authentication).
fn our_outcome(a: &AttemptRow, status: ChargeStatus, reason: &str) -> ChargeOutcome {
    ChargeOutcome {
        key: a.uuid.clone(),
        status,
        processor_id: String::new(),
        amount_cents: a.total_cents,
        response_code: "05".into(),
        reason: reason.into(),
        auth_code: None,
        avs_result: None,
        cvv_result: None,
        brand: a.card_brand.clone(),
        last4: a.card_digits.clone().unwrap_or_default(),
        funding: if a.tender_type == "DEBIT" {
            Funding::Debit
        } else {
            Funding::Credit
        },
        challenge_url: None,
    }
}

async fn settle(app: &AppState, a: &AttemptRow) -> ApiResult<bool> {
    let unavailable = |e: processor::ProcessorError| ApiError::unavailable(e.to_string());
    match (a.transaction_type.as_str(), a.status.as_str()) {
        ("CHARGE", "InProgress") => match app
            .processor
            .resolve(a.uuid.clone())
            .await
            .map_err(unavailable)?
        {
            Some(o) => record_charge(app, a, "InProgress", &o).await,
            None => {
                record_charge(
                    app,
                    a,
                    "InProgress",
                    &our_outcome(a, ChargeStatus::Error, "abandoned"),
                )
                .await
            }
        },
        ("CHARGE", "RequiresAction") => {
            let o = app
                .processor
                .complete(a.uuid.clone())
                .await
                .map_err(unavailable)?;
            if o.status == ChargeStatus::RequiresAction {
                record_charge(
                    app,
                    a,
                    "RequiresAction",
                    &our_outcome(a, ChargeStatus::Declined, "authentication_abandoned"),
                )
                .await
            } else {
                record_charge(app, a, "RequiresAction", &o).await
            }
        }
        // An authorization nobody captured within the window: release the hold.
        ("CHARGE", "RequiresCapture") => {
            let now = Timestamp::now().millis();
            let mut tx = app.db.begin().await?;
            let moved = attempts::resume_from(
                &mut tx,
                a.id,
                "RequiresCapture",
                app.config.lease_until(now),
                now,
            )
            .await?;
            tx.commit().await?;
            if !moved {
                return Ok(false);
            }
            let o = app
                .processor
                .release(a.uuid.clone())
                .await
                .map_err(unavailable)?;
            record_charge(app, a, "InProgress", &o).await
        }
        (_, "InProgress") => {
            let parent = transactions::by_id(&app.db, a.parent_transaction_id.unwrap_or_default())
                .await?
                .ok_or_else(|| ApiError::internal("reversal without parent"))?;
            let charge = attempts::by_id(&app.db, parent.attempt_id)
                .await?
                .ok_or_else(|| ApiError::internal("charge without attempt"))?;
            let o = reversals::call(app, a, &charge.uuid)
                .await
                .map_err(unavailable)?;
            reversals::record(app, a, &o).await
        }
        _ => Ok(false),
    }
}

/// Background jobs of a server: the resolver every `resolver_interval`, settlement (batch
/// close) every minute.
pub fn spawn(app: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(app.config.resolver_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_settlement = 0i64;
        loop {
            tick.tick().await;
            if let Err(e) = run_once(&app, 64).await {
                tracing::warn!(error = ?e.detail, "resolver pass failed");
            }
            // Checkout sessions past their expiry: one conditional UPDATE, safe on many servers.
            match store::repo::checkout::expire_due(&app.db, Timestamp::now().millis()).await {
                Ok(n) if n > 0 => tracing::info!(expired = n, "expired checkout sessions"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "session expiry failed"),
            }
            let now = Timestamp::now().millis();
            if now - last_settlement >= 60_000 {
                last_settlement = now;
                let cutoff = now - app.config.settle_after.as_millis() as i64;
                match transactions::settle_before(&app.db, cutoff, now).await {
                    Ok(n) if n > 0 => tracing::info!(settled = n, "settlement batch closed"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "settlement failed"),
                }
            }
        }
    })
}
