//! Background work every server runs: the in-flight resolver, expiry of checkout sessions and
//! of prePayments nobody confirmed, settlement (batch close), and picking up a rotated
//! signing key. Each step is one conditional statement or claims its rows with one, so
//! several servers on one PostgreSQL never do the same work twice.

use crate::error::EngineResult;
use crate::payments::record_charge;
use crate::{now, Engine};
use connectors::{ChargeOutcome, ChargeStatus, Funding};
use domain::fees::TenderType;
use domain::status::{AttemptStatus, TransactionType};
use std::sync::Arc;
use std::time::Duration;
use store::repo::attempts::{self, AttemptRow};
use store::repo::{checkout, transactions};

/// A charge outcome we decide ourselves (the processor never saw the key, or the customer
/// never finished authentication).
fn our_outcome(a: &AttemptRow, status: ChargeStatus, reason: &str) -> ChargeOutcome {
    ChargeOutcome {
        key: a.uuid.clone(),
        status,
        processor_id: String::new(),
        amount_cents: a.total.cents(),
        response_code: "05".into(),
        reason: reason.into(),
        auth_code: None,
        avs_result: None,
        cvv_result: None,
        brand: a.card_brand.clone(),
        last4: a.card_digits.clone().unwrap_or_default(),
        funding: if a.tender_type == TenderType::Debit {
            Funding::Debit
        } else {
            Funding::Credit
        },
        challenge_url: None,
    }
}

impl Engine {
    /// One resolver pass: claims up to `limit` expired leases and settles them. Returns how
    /// many it settled.
    pub async fn resolve_in_flight(&self, limit: i64) -> EngineResult<usize> {
        let t = now();
        let new_lease = self.config.lease_until(t);
        let claimed = self
            .db
            .write(move |c| {
                Box::pin(async move { attempts::claim_expired(c, t, new_lease, limit).await })
            })
            .await?;
        let mut settled = 0;
        for a in &claimed {
            match self.settle_in_flight(a).await {
                Ok(true) => settled += 1,
                Ok(false) => {}
                // Left for the next pass once the new lease runs out.
                Err(e) => {
                    tracing::warn!(attempt = %a.uuid, error = %e, "could not settle in-flight attempt yet")
                }
            }
        }
        if settled > 0 {
            tracing::info!(settled, "resolved in-flight attempts");
        }
        Ok(settled)
    }

    async fn settle_in_flight(&self, a: &AttemptRow) -> EngineResult<bool> {
        let unavailable =
            |e: connectors::ConnectorError| crate::EngineError::unavailable(e.to_string());
        match (a.transaction_type, a.status) {
            (TransactionType::Charge, AttemptStatus::InProgress) => {
                let c = self.card_connector(&a.payment_provider)?.clone();
                let o = match self
                    .call(c.resolve(a.uuid.clone()))
                    .await
                    .map_err(unavailable)?
                {
                    Some(o) => o,
                    None => our_outcome(a, ChargeStatus::Error, attempts::ABANDONED),
                };
                Ok(
                    record_charge(self, a, AttemptStatus::InProgress, &o, c.name())
                        .await?
                        .is_some(),
                )
            }
            (TransactionType::Charge, AttemptStatus::RequiresAction) => {
                let c = self.card_connector(&a.payment_provider)?.clone();
                let o = self
                    .call(c.complete(a.uuid.clone()))
                    .await
                    .map_err(unavailable)?;
                let o = if o.status == ChargeStatus::RequiresAction {
                    our_outcome(a, ChargeStatus::Declined, "authentication_abandoned")
                } else {
                    o
                };
                Ok(
                    record_charge(self, a, AttemptStatus::RequiresAction, &o, c.name())
                        .await?
                        .is_some(),
                )
            }
            // An authorization nobody captured within the window: release the hold.
            (TransactionType::Charge, AttemptStatus::RequiresCapture) => {
                let c = self.card_connector(&a.payment_provider)?.clone();
                let (id, t) = (a.id, now());
                let lease = self.config.lease_until(t);
                let moved = self
                    .db
                    .write(move |db| {
                        Box::pin(async move {
                            attempts::resume_from(db, id, AttemptStatus::RequiresCapture, lease, t)
                                .await
                        })
                    })
                    .await?;
                if !moved {
                    return Ok(false);
                }
                let o = self
                    .call(c.release(a.uuid.clone()))
                    .await
                    .map_err(unavailable)?;
                Ok(
                    record_charge(self, a, AttemptStatus::InProgress, &o, c.name())
                        .await?
                        .is_some(),
                )
            }
            (_, AttemptStatus::InProgress) => {
                let parent = a.parent_transaction_id.unwrap_or_default();
                let (charge, charge_attempt) = self
                    .db
                    .read(move |c| {
                        Box::pin(async move {
                            let t = transactions::by_id(c, parent)
                                .await?
                                .ok_or(db::DbError::NoRows)?;
                            let ca = attempts::by_id(c, t.attempt_id)
                                .await?
                                .ok_or(db::DbError::NoRows)?;
                            Ok::<_, db::DbError>((t, ca))
                        })
                    })
                    .await?;
                let c = self.card_connector(&charge.processor)?.clone();
                let o = self
                    .call_reversal(&c, a, &charge_attempt.uuid)
                    .await
                    .map_err(unavailable)?;
                Ok(self.record_reversal(a, &o).await?.is_some())
            }
            _ => Ok(false),
        }
    }

    /// Ends `Created` attempts nobody confirmed within `unconfirmed_attempt_ttl`.
    pub async fn expire_unconfirmed(&self) -> EngineResult<u64> {
        let t = now();
        let before = t - self.config.unconfirmed_attempt_ttl.as_millis() as i64;
        Ok(self
            .db
            .write(move |c| {
                Box::pin(async move { attempts::expire_created(c, before, t, 500).await })
            })
            .await?)
    }

    /// Checkout sessions past their expiry.
    pub async fn expire_sessions(&self) -> EngineResult<u64> {
        let t = now();
        Ok(self
            .db
            .write(move |c| Box::pin(async move { checkout::expire_due(c, t).await }))
            .await?)
    }

    /// Batch close: charges older than `settle_after` are settled (no longer voidable).
    pub async fn settle(&self) -> EngineResult<u64> {
        let t = now();
        let cutoff = t - self.config.settle_after.as_millis() as i64;
        Ok(self
            .db
            .write(move |c| {
                Box::pin(async move { transactions::settle_before(c, cutoff, t).await })
            })
            .await?)
    }
}

/// Runs the background jobs every `interval` until the task is dropped: the resolver and
/// expiries every pass, settlement every minute.
pub fn spawn(engine: Arc<Engine>, interval: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_settlement = 0i64;
        loop {
            tick.tick().await;
            if let Err(e) = engine.resolve_in_flight(64).await {
                tracing::warn!(error = %e, "resolver pass failed");
            }
            match engine.expire_sessions().await {
                Ok(n) if n > 0 => tracing::info!(expired = n, "expired checkout sessions"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "session expiry failed"),
            }
            match engine.expire_unconfirmed().await {
                Ok(n) if n > 0 => {
                    tracing::info!(expired = n, "expired unconfirmed payment attempts")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "attempt expiry failed"),
            }
            if let Err(e) = engine.refresh_keys().await {
                tracing::warn!(error = %e, "signing key refresh failed");
            }
            let t = now();
            if t - last_settlement >= 60_000 {
                last_settlement = t;
                match engine.settle().await {
                    Ok(n) if n > 0 => tracing::info!(settled = n, "settlement batch closed"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "settlement failed"),
                }
            }
        }
    })
}
