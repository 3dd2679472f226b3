//! Refunds and voids. A reversal is an attempt of its own (transactionType REFUND or VOID)
//! whose transaction links to the charge as `parentTransaction`. The amount is reserved on
//! the charge row with one conditional UPDATE before the processor is called, so concurrent
//! refunds can never together exceed what was charged, in any number of processes.

use crate::actor::Actor;
use crate::error::{EngineError, EngineResult};
use crate::payments::PaymentOutcome;
use crate::{now, Engine};
use connectors::{CardConnector, ConnectorError, RefundOutcome, RefundRequest};
use domain::catalog::v1;
use domain::scope::Scope;
use domain::status::{AttemptStatus, TransactionStatus, TransactionType};
use domain::Money;
use std::sync::Arc;
use store::repo::attempts::{self, AttemptRow, Landing, NewAttempt};
use store::repo::transactions::{self, NewTransaction};
use store::repo::{invoices, orders};
use store::views::{self, AttemptView};

fn no_transaction() -> EngineError {
    EngineError::not_found(
        v1::ERROR_FETCHING_TRANSACTION,
        "transactionUuid: no such transaction",
    )
}

fn changed() -> EngineError {
    EngineError::conflict(
        v1::EERROR_UPDATING_PAYMENT_ATTEMPT,
        "the charge changed meanwhile (refunded, voided or settled); read it again",
    )
}

impl Engine {
    /// The charge a reversal names, with its attempt's view; scope `payment.refund`.
    async fn charge_for(&self, actor: &Actor, uuid: &str) -> EngineResult<AttemptView> {
        let uuid = uuid::Uuid::parse_str(uuid)
            .map_err(|_| no_transaction())?
            .to_string();
        let v = self
            .db
            .read(move |c| {
                Box::pin(async move { views::attempt_by_transaction_uuid(c, &uuid).await })
            })
            .await?
            .ok_or_else(no_transaction)?;
        actor.require_dealer(Scope::Refund, &v.context.dealer.uuid)?;
        let t = v.transaction.as_ref().ok_or_else(no_transaction)?;
        if t.transaction_type != TransactionType::Charge || t.status != TransactionStatus::Approved
        {
            return Err(EngineError::conflict(
                v1::EERROR_UPDATING_PAYMENT_ATTEMPT,
                "only an approved charge can be refunded or voided",
            ));
        }
        if t.is_voided {
            return Err(EngineError::conflict(
                v1::EERROR_UPDATING_PAYMENT_ATTEMPT,
                "this charge was voided",
            ));
        }
        Ok(v)
    }

    /// Refunds `amount` of a charge (default: everything still refundable, fees included).
    /// Refunds give back the invoice's part first, the fees last.
    pub async fn refund(
        &self,
        actor: &Actor,
        transaction_uuid: &str,
        amount: Option<Money>,
        reason: Option<String>,
    ) -> EngineResult<PaymentOutcome> {
        let charge = self.charge_for(actor, transaction_uuid).await?;
        let remaining = charge
            .transaction
            .as_ref()
            .map(|t| t.refundable())
            .unwrap_or_default();
        let amount = amount.unwrap_or(remaining);
        if amount == Money::ZERO {
            return Err(EngineError::invalid(
                "amount",
                "must be more than 0 (or nothing is left to refund)",
            ));
        }
        if amount > remaining {
            return Err(EngineError::conflict(
                v1::INVALID_DATA_FOR_THE_FIELD,
                format!("amount: exceeds what remains refundable ({remaining})"),
            ));
        }
        self.reverse(charge, TransactionType::Refund, amount, reason)
            .await
    }

    /// Voids an unsettled, unrefunded charge in full.
    pub async fn void(
        &self,
        actor: &Actor,
        transaction_uuid: &str,
    ) -> EngineResult<PaymentOutcome> {
        let charge = self.charge_for(actor, transaction_uuid).await?;
        let t = charge.transaction.as_ref().ok_or_else(no_transaction)?;
        if t.is_settled {
            return Err(EngineError::conflict(
                v1::EERROR_UPDATING_PAYMENT_ATTEMPT,
                "this charge is settled; refund it instead",
            ));
        }
        if t.reversed != Money::ZERO {
            return Err(EngineError::conflict(
                v1::EERROR_UPDATING_PAYMENT_ATTEMPT,
                "this charge was partly refunded; refund the rest instead",
            ));
        }
        let total = t.total;
        self.reverse(charge, TransactionType::Void, total, None)
            .await
    }

    async fn reverse(
        &self,
        charge_view: AttemptView,
        kind: TransactionType,
        total: Money,
        reason: Option<String>,
    ) -> EngineResult<PaymentOutcome> {
        let charge = charge_view.transaction.clone().ok_or_else(no_transaction)?;
        let ca = &charge_view.attempt;
        let connector = self.card_connector(&charge.processor)?.clone();
        let void = kind == TransactionType::Void;
        let t = now();
        let w = NewAttempt {
            uuid: uuid::Uuid::new_v4().to_string(),
            dealer_id: ca.dealer_id,
            department_id: ca.department_id,
            dealer_order_id: ca.dealer_order_id,
            invoice_id: ca.invoice_id,
            customer_id: ca.customer_id,
            associate_id: None,
            status: AttemptStatus::InProgress,
            transaction_type: kind,
            payment_type: ca.payment_type.clone(),
            amount: Money::ZERO,
            payment_provider: charge.processor.clone(),
            attributes: serde_json::json!({ "reason": reason }).to_string(),
            card_digits: charge.card_last4.clone(),
            tender_type: ca.tender_type,
            card_type: ca.card_type,
            surcharge: Money::ZERO,
            dual_pricing: Money::ZERO,
            sales_tax: Money::ZERO,
            total,
            locale: ca.locale.clone(),
            request: "{}".into(),
            parent_transaction_id: Some(charge.id),
            in_flight_until: Some(self.config.lease_until(t)),
        };
        let (charge_id, invoice_id) = (charge.id, ca.invoice_id);
        enum Refused {
            Db(db::DbError),
            TooMuch(Money),
            Changed,
        }
        impl From<db::DbError> for Refused {
            fn from(e: db::DbError) -> Self {
                Refused::Db(e)
            }
        }
        let r = self
            .db
            .write(move |c| {
                Box::pin(async move {
                    // Lock order for every money-moving transaction: the invoice row first.
                    invoices::lock(c, invoice_id).await?;
                    // The split between the invoice's part and the fees depends on what
                    // earlier reversals took: computed from the charge as it is now, under the
                    // lock, not from the read before it.
                    let fresh = transactions::by_id(c, charge_id)
                        .await?
                        .ok_or(db::DbError::NoRows)?;
                    let base = if void {
                        fresh.amount
                    } else {
                        if total > fresh.refundable() {
                            return Err(Refused::TooMuch(fresh.refundable()));
                        }
                        total.min(fresh.amount.saturating_sub(fresh.reversed_base))
                    };
                    let Some(reserved) =
                        transactions::reserve_reversal(c, charge_id, total, base, void, t).await?
                    else {
                        return Err(Refused::Changed);
                    };
                    let mut w = w;
                    w.amount = base;
                    let attempt = attempts::insert(c, &w, t).await?;
                    Ok((attempt, reserved))
                })
            })
            .await;
        let (attempt, reserved) = match r {
            Ok(v) => v,
            Err(Refused::TooMuch(left)) => {
                return Err(EngineError::conflict(
                    v1::INVALID_DATA_FOR_THE_FIELD,
                    format!("amount: exceeds what remains refundable ({left})"),
                ))
            }
            Err(Refused::Changed) => return Err(changed()),
            Err(Refused::Db(e)) if e.is_unique_violation() => {
                return Err(EngineError::conflict(
                    v1::ANOTHER_REQUEST_IN_PROGRESS,
                    "another payment operation on this repair order is being processed; wait and try again",
                ))
            }
            Err(Refused::Db(e)) => return Err(e.into()),
        };
        // The processor knows the charge by its attempt's uuid.
        let charge_key = charge_view.attempt.uuid.clone();
        let mut view = charge_view;
        view.attempt = attempt;
        view.transaction = None;
        view.parent = Some(reserved);
        view.cashier = None;
        view.details = Vec::new();
        let r = self
            .call_reversal(&connector, &view.attempt, &charge_key)
            .await;
        match r {
            Ok(o) => {
                if let Some(rec) = self.record_reversal(&view.attempt, &o).await? {
                    view.declines +=
                        i64::from(rec.transaction.status != TransactionStatus::Approved);
                    view.attempt = rec.attempt;
                    view.transaction = Some(rec.transaction);
                    view.parent = Some(rec.parent);
                    if let Some((i, ord)) = rec.moved {
                        view.context.apply(i, ord);
                    }
                    Ok(PaymentOutcome {
                        attempt: view,
                        settled: true,
                    })
                } else {
                    let id = view.attempt.id;
                    let view = self
                        .db
                        .read(move |c| Box::pin(async move { views::attempt_by_id(c, id).await }))
                        .await?
                        .ok_or_else(crate::payments::attempt_not_found)?;
                    Ok(PaymentOutcome {
                        attempt: view,
                        settled: true,
                    })
                }
            }
            Err(e) => {
                tracing::warn!(attempt = %view.attempt.uuid, error = %e, "processor outcome unknown; the resolver will settle it");
                Ok(PaymentOutcome {
                    attempt: view,
                    settled: false,
                })
            }
        }
    }

    /// Asks the processor for a reversal; the same key gives the same answer, so the
    /// resolver can simply ask again.
    pub(crate) async fn call_reversal(
        &self,
        connector: &Arc<dyn CardConnector>,
        a: &AttemptRow,
        charge_key: &str,
    ) -> Result<RefundOutcome, ConnectorError> {
        let fut = match a.transaction_type {
            TransactionType::Void => connector.void(a.uuid.clone(), charge_key.to_string()),
            _ => connector.refund(RefundRequest {
                key: a.uuid.clone(),
                charge_key: charge_key.to_string(),
                amount_cents: a.total.cents(),
            }),
        };
        self.call(fut).await
    }

    /// Records a reversal's outcome with its transaction and the money it moves.
    pub(crate) async fn record_reversal(
        &self,
        a: &AttemptRow,
        o: &RefundOutcome,
    ) -> EngineResult<Option<ReversalRecorded>> {
        let t = now();
        let parent_id = a
            .parent_transaction_id
            .ok_or_else(|| EngineError::internal("reversal without parent"))?;
        let approved = o.approved;
        let landing = Landing {
            status: if approved {
                AttemptStatus::Succeeded
            } else {
                AttemptStatus::Failed
            },
            in_flight: false,
            lease_until: None,
            response_code: Some(if approved { "00" } else { "12" }.into()),
            response_description: Some(o.reason.clone()),
            next_action: None,
            three_ds_failed: false,
        };
        let a = a.clone();
        let o = o.clone();
        Ok(self
            .db
            .write(move |c| {
                Box::pin(async move {
                    invoices::lock(c, a.invoice_id).await?;
                    let Some(attempt) =
                        attempts::land(c, a.id, AttemptStatus::InProgress, &landing, t).await?
                    else {
                        return Ok::<_, db::DbError>(None);
                    };
                    let parent = transactions::by_id(c, parent_id)
                        .await?
                        .ok_or(db::DbError::NoRows)?;
                    let transaction = transactions::insert(
                        c,
                        &NewTransaction {
                            uuid: uuid::Uuid::new_v4().to_string(),
                            attempt_id: a.id,
                            parent_id: Some(parent.id),
                            transaction_type: a.transaction_type,
                            status: if approved {
                                TransactionStatus::Approved
                            } else {
                                TransactionStatus::Declined
                            },
                            dealer_id: a.dealer_id,
                            invoice_id: a.invoice_id,
                            dealer_order_id: a.dealer_order_id,
                            customer_id: a.customer_id,
                            amount: a.amount,
                            total: a.total,
                            surcharge: Money::ZERO,
                            dual_pricing: Money::ZERO,
                            sales_tax: Money::ZERO,
                            processor: parent.processor.clone(),
                            processor_txn_id: Some(o.processor_id.clone()),
                            auth_code: None,
                            response_code: Some(if approved { "00" } else { "12" }.into()),
                            response_reason: Some(o.reason.clone()),
                            avs_result: None,
                            cvv_result: None,
                            card_brand: parent.card_brand.clone(),
                            card_last4: parent.card_last4.clone(),
                            card_hash: parent.card_hash.clone(),
                            funding: parent.funding.clone(),
                        },
                        t,
                    )
                    .await?;
                    let base = a.amount.cents();
                    let moved = match (approved, a.transaction_type) {
                        (true, TransactionType::Void) => {
                            transactions::mark_voided(c, parent.id, t).await?;
                            Some((
                                invoices::apply(c, a.invoice_id, -base, 0, t).await?,
                                orders::apply(c, a.dealer_order_id, -base, t).await?,
                            ))
                        }
                        (true, _) => Some((
                            invoices::apply(c, a.invoice_id, 0, base, t).await?,
                            orders::apply(c, a.dealer_order_id, -base, t).await?,
                        )),
                        (false, _) => {
                            transactions::release_reversal(c, parent.id, a.total, a.amount, t)
                                .await?;
                            None
                        }
                    };
                    let parent = transactions::by_id(c, parent.id)
                        .await?
                        .ok_or(db::DbError::NoRows)?;
                    Ok(Some(ReversalRecorded {
                        attempt,
                        transaction,
                        parent,
                        moved,
                    }))
                })
            })
            .await?)
    }
}

pub(crate) struct ReversalRecorded {
    pub attempt: AttemptRow,
    pub transaction: transactions::TransactionRow,
    pub parent: transactions::TransactionRow,
    pub moved: Option<(invoices::InvoiceRow, orders::OrderRow)>,
}
