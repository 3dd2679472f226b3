//! Confirm (charge), complete (after 3-D Secure), capture and release: each puts the attempt
//! in flight and commits, calls the processor with no transaction open, then records the
//! answer — or, if the answer is unknown, leaves the attempt to the resolver.

use super::{not_confirmable, record_charge, Fees, PaymentOutcome};
use crate::actor::Actor;
use crate::error::{EngineError, EngineResult};
use crate::{now, Engine};
use connectors::{
    CardConnector, ChargeOutcome, ChargeRequest, ConnectorError, Funding, PaymentMethod,
};
use domain::catalog::v1;
use domain::fees::TenderType;
use domain::status::{AttemptStatus, TransactionType};
use domain::Money;
use std::sync::Arc;
use store::repo::attempts::{self, TakeOff};
use store::repo::invoices;
use store::views::{self, AttemptView};

/// Confirming a `Created` attempt.
#[derive(Debug, Clone)]
pub struct Confirm {
    pub method: PaymentMethod,
    /// Where a 3-D Secure challenge returns the customer to.
    pub return_url: Option<String>,
    /// false: authorize only (the attempt waits in `RequiresCapture`).
    pub capture: bool,
}

/// What planning a take-off needs from the engine, owned (it runs inside a transaction).
struct Prep {
    registry: Arc<connectors::Registry>,
    hash_key: Arc<Vec<u8>>,
    lease_until: i64,
    now: i64,
}

/// A checked take-off: the processor, the fees for the card, and the attempt's new values.
#[derive(Clone)]
struct TakeOffPlan {
    connector: Arc<dyn CardConnector>,
    fees: Fees,
    values: attempts::Fees,
    lease_until: i64,
    now: i64,
}

impl Prep {
    fn new(e: &Engine) -> Prep {
        let now = now();
        Prep {
            registry: e.connectors.clone(),
            hash_key: e.keys.card_hash_shared(),
            lease_until: e.config.lease_until(now),
            now,
        }
    }

    /// The attempt must be a `Created` charge; its processor says what the card is, which
    /// decides the fees (no surcharge on debit).
    fn plan(&self, view: &AttemptView, method: &PaymentMethod) -> EngineResult<TakeOffPlan> {
        let a = &view.attempt;
        if a.transaction_type != TransactionType::Charge || a.status != AttemptStatus::Created {
            return Err(not_confirmable(a.status));
        }
        let connector = crate::card_connector(&self.registry, &a.payment_provider)?.clone();
        let info = connector.inspect(method).map_err(|e| match method {
            PaymentMethod::Token(_) => EngineError::invalid("token", e),
            PaymentMethod::Card(_) => EngineError::invalid("card", e),
        })?;
        let tender = if info.funding == Funding::Debit {
            TenderType::Debit
        } else {
            TenderType::Credit
        };
        let settings = view.context.dealer.fee_settings();
        let fees = Fees {
            quote: settings.quote(a.amount, tender, info.brand),
            tender,
            brand: info.brand,
            settings,
        };
        let values = attempts::Fees {
            card_brand: info.brand.map(|b| b.as_str().to_string()),
            card_hash: Some(crate::crypto::hmac_hex(
                &self.hash_key,
                info.fingerprint.as_bytes(),
            )),
            card_digits: Some(info.last4.clone()),
            tender_type: tender,
            card_type: info.brand,
            surcharge: fees.quote.surcharge,
            dual_pricing: fees.quote.dual_pricing_fee,
            sales_tax: fees.quote.sales_tax,
            total: fees.quote.total,
        };
        Ok(TakeOffPlan {
            connector,
            fees,
            values,
            lease_until: self.lease_until,
            now: self.now,
        })
    }
}

impl TakeOffPlan {
    /// Re-checks what may have changed since prePayment and puts the attempt in flight, in
    /// one statement; committed before the processor is called.
    async fn run(
        &self,
        c: &mut db::Conn,
        a: &store::repo::attempts::AttemptRow,
    ) -> EngineResult<store::repo::attempts::AttemptRow> {
        let r = attempts::take_off(
            c,
            a,
            AttemptStatus::Created,
            &self.values,
            self.lease_until,
            self.now,
        )
        .await;
        match r {
            Ok(Ok(row)) => Ok(row),
            Ok(Err(TakeOff::Moved)) => Err(EngineError::conflict(
                v1::ANOTHER_REQUEST_IN_PROGRESS,
                "this payment attempt is already being processed",
            )),
            Ok(Err(TakeOff::InvoiceShort)) => Err(EngineError::bad_request(
                v1::INVOICE_ALREADY_PAID,
                "the invoice no longer has this much left to pay",
            )),
            Ok(Err(TakeOff::OrderClosed)) => Err(EngineError::bad_request(
                v1::REPAIR_ORDER_CLOSED,
                "the repair order was closed",
            )),
            Err(e) if e.is_unique_violation() => Err(EngineError::conflict(
                v1::ANOTHER_REQUEST_IN_PROGRESS,
                "another payment for this repair order is being processed; wait and try again",
            )),
            Err(e) => Err(e.into()),
        }
    }
}

impl Engine {
    /// Confirms a `Created` attempt with card data or a token, and charges it. The attempt
    /// is loaded, checked and put in flight in one transaction.
    pub async fn confirm(
        &self,
        actor: &Actor,
        uuid: &str,
        cmd: Confirm,
    ) -> EngineResult<PaymentOutcome> {
        let uuid = uuid::Uuid::parse_str(uuid)
            .map_err(|_| super::attempt_not_found())?
            .to_string();
        let actor = actor.clone();
        let prep = Prep::new(self);
        let method = cmd.method.clone();
        let (view, take_off) = self
            .db
            .write(move |c| {
                Box::pin(async move {
                    let view = views::attempt_by_uuid(c, &uuid)
                        .await?
                        .ok_or_else(super::attempt_not_found)?;
                    super::authorize_in(c, &actor, view.attempt.invoice_id).await?;
                    super::authorize(Some(view.attempt.invoice_id), &actor, &view)?;
                    let take_off = prep.plan(&view, &method)?;
                    let mut view = view;
                    view.attempt = take_off.run(c, &view.attempt).await?;
                    Ok::<_, EngineError>((view, take_off))
                })
            })
            .await?;
        self.charge(view, take_off, cmd).await
    }

    /// Confirm for an attempt already loaded and authorized (Checkout intents, the pay page).
    pub(crate) async fn confirm_attempt(
        &self,
        mut view: AttemptView,
        cmd: Confirm,
    ) -> EngineResult<PaymentOutcome> {
        let take_off = Prep::new(self).plan(&view, &cmd.method)?;
        let (t, row) = (take_off.clone(), view.attempt.clone());
        view.attempt = self
            .db
            .write(move |c| Box::pin(async move { t.run(c, &row).await }))
            .await?;
        self.charge(view, take_off, cmd).await
    }

    /// Calls the processor for an attempt just put in flight, and records the answer.
    async fn charge(
        &self,
        view: AttemptView,
        t: TakeOffPlan,
        cmd: Confirm,
    ) -> EngineResult<PaymentOutcome> {
        let dealer = &view.context.dealer;
        let req = ChargeRequest {
            key: view.attempt.uuid.clone(),
            amount_cents: t.fees.quote.total.cents(),
            currency: "USD".into(),
            method: cmd.method,
            enforce_cvv: dealer.enforce_cvv,
            enforce_zip: dealer.enforce_zip,
            return_url: cmd.return_url,
            capture: cmd.capture,
        };
        let r = self.call(t.connector.charge(req)).await;
        self.settle_call(view, AttemptStatus::InProgress, r, &t.connector)
            .await
    }

    /// A processor call bounded by the processor timeout.
    pub(crate) async fn call<T>(
        &self,
        fut: connectors::BoxFut<'_, Result<T, ConnectorError>>,
    ) -> Result<T, ConnectorError> {
        tokio::time::timeout(self.config.processor_timeout, fut)
            .await
            .unwrap_or(Err(ConnectorError::Timeout))
    }

    /// Records a processor answer (or leaves the attempt to the resolver) and returns the
    /// attempt as it is now.
    pub(crate) async fn settle_call(
        &self,
        mut view: AttemptView,
        from: AttemptStatus,
        r: Result<ChargeOutcome, ConnectorError>,
        connector: &Arc<dyn CardConnector>,
    ) -> EngineResult<PaymentOutcome> {
        let o = match r {
            Ok(o) => o,
            Err(e) => {
                // The outcome is unknown: the attempt stays in flight and the resolver asks
                // the processor by key once the lease runs out.
                tracing::warn!(attempt = %view.attempt.uuid, error = %e, "processor outcome unknown; the resolver will settle it");
                return Ok(PaymentOutcome {
                    attempt: view,
                    settled: false,
                });
            }
        };
        let pending = o.status == connectors::ChargeStatus::Pending;
        match record_charge(self, &view.attempt, from, &o, connector.name()).await? {
            Some(rec) => {
                match (rec.transaction, rec.moved) {
                    (Some(t), Some((i, ord))) => view.record(rec.attempt, t, i, ord),
                    (Some(t), None) => {
                        let (i, ord) = (view.context.invoice.clone(), view.context.order.clone());
                        view.record(rec.attempt, t, i, ord)
                    }
                    (None, _) => view.attempt = rec.attempt,
                }
                Ok(PaymentOutcome {
                    attempt: view,
                    settled: !pending,
                })
            }
            // Recorded by someone else meanwhile (the resolver), or still pending: as it is.
            None => {
                let id = view.attempt.id;
                let view = self
                    .db
                    .read(move |c| Box::pin(async move { views::attempt_by_id(c, id).await }))
                    .await?
                    .ok_or_else(super::attempt_not_found)?;
                let settled =
                    !view.attempt.in_flight || view.attempt.status != AttemptStatus::InProgress;
                Ok(PaymentOutcome {
                    attempt: view,
                    settled,
                })
            }
        }
    }

    /// Completes an attempt that waited for 3-D Secure.
    pub async fn complete(&self, actor: &Actor, uuid: &str) -> EngineResult<PaymentOutcome> {
        let view = self.authorized_attempt(actor, uuid).await?;
        self.complete_attempt(view).await
    }

    pub(crate) async fn complete_attempt(
        &self,
        mut view: AttemptView,
    ) -> EngineResult<PaymentOutcome> {
        let a = &view.attempt;
        if a.status != AttemptStatus::RequiresAction {
            return Err(match a.status {
                AttemptStatus::InProgress => not_confirmable(a.status),
                s => EngineError::conflict(
                    v1::EERROR_UPDATING_PAYMENT_ATTEMPT,
                    format!("this payment attempt is {s}, not waiting for authentication"),
                ),
            });
        }
        let connector = self.card_connector(&a.payment_provider)?.clone();
        if !self.resume(a.id, AttemptStatus::RequiresAction).await? {
            return Err(EngineError::conflict(
                v1::ANOTHER_REQUEST_IN_PROGRESS,
                "this payment attempt is already being completed",
            ));
        }
        view.attempt.status = AttemptStatus::InProgress;
        let r = self
            .call(connector.complete(view.attempt.uuid.clone()))
            .await;
        self.settle_call(view, AttemptStatus::InProgress, r, &connector)
            .await
    }

    /// Moves an in-flight attempt from `from` back to InProgress with a fresh lease.
    async fn resume(&self, id: i64, from: AttemptStatus) -> EngineResult<bool> {
        let t = now();
        let lease = self.config.lease_until(t);
        Ok(self
            .db
            .write(move |c| {
                Box::pin(async move { attempts::resume_from(c, id, from, lease, t).await })
            })
            .await?)
    }

    /// Captures an authorized attempt, once: the RequiresCapture → InProgress move is a
    /// conditional update, so of concurrent captures exactly one reaches the processor.
    /// `amount` (the invoice part; fees are recomputed for it) defaults to all of it; the
    /// rest of the hold is released.
    pub async fn capture(
        &self,
        actor: &Actor,
        uuid: &str,
        amount: Option<Money>,
    ) -> EngineResult<PaymentOutcome> {
        let view = self.authorized_attempt(actor, uuid).await?;
        self.capture_attempt(view, amount).await
    }

    pub(crate) async fn capture_attempt(
        &self,
        view: AttemptView,
        amount: Option<Money>,
    ) -> EngineResult<PaymentOutcome> {
        let a = &view.attempt;
        if a.status != AttemptStatus::RequiresCapture {
            return Err(not_confirmable(a.status));
        }
        let base = amount.unwrap_or(a.amount);
        if base == Money::ZERO || base > a.amount {
            return Err(EngineError::invalid(
                "amount",
                "must be more than 0 and at most the authorized amount",
            ));
        }
        let connector = self.card_connector(&a.payment_provider)?.clone();
        let q = view
            .context
            .dealer
            .fee_settings()
            .quote(base, a.tender_type, a.card_type);
        let (id, invoice_id) = (a.id, a.invoice_id);
        let t = now();
        let lease = self.config.lease_until(t);
        let started = self
            .db
            .write(move |c| {
                Box::pin(async move {
                    invoices::lock(c, invoice_id).await?;
                    attempts::start_capture(c, id, base, &q, lease, t).await
                })
            })
            .await?;
        if !started {
            return Err(EngineError::conflict(
                v1::ANOTHER_REQUEST_IN_PROGRESS,
                "this payment attempt is already being captured or released",
            ));
        }
        let mut view = view;
        view.attempt.status = AttemptStatus::InProgress;
        view.attempt.amount = base;
        view.attempt.surcharge = q.surcharge;
        view.attempt.dual_pricing = q.dual_pricing_fee;
        view.attempt.sales_tax = q.sales_tax;
        view.attempt.total = q.total;
        let r = self
            .call(connector.capture(view.attempt.uuid.clone(), q.total.cents()))
            .await;
        self.settle_call(view, AttemptStatus::InProgress, r, &connector)
            .await
    }

    /// Releases an authorization without capturing it; the attempt ends Cancelled.
    pub async fn release(&self, actor: &Actor, uuid: &str) -> EngineResult<PaymentOutcome> {
        let view = self.authorized_attempt(actor, uuid).await?;
        self.release_attempt(view).await
    }

    pub(crate) async fn release_attempt(
        &self,
        mut view: AttemptView,
    ) -> EngineResult<PaymentOutcome> {
        let a = &view.attempt;
        if a.status != AttemptStatus::RequiresCapture {
            return Err(not_confirmable(a.status));
        }
        let connector = self.card_connector(&a.payment_provider)?.clone();
        if !self.resume(a.id, AttemptStatus::RequiresCapture).await? {
            return Err(EngineError::conflict(
                v1::ANOTHER_REQUEST_IN_PROGRESS,
                "this payment attempt is already being captured or released",
            ));
        }
        view.attempt.status = AttemptStatus::InProgress;
        let r = self
            .call(connector.release(view.attempt.uuid.clone()))
            .await;
        self.settle_call(view, AttemptStatus::InProgress, r, &connector)
            .await
    }
}
