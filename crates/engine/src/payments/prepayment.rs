//! prePayment (seed 001): checks the request against the stored data in the documented
//! order, quotes the fees, and creates a `Created` attempt.

use super::{Fees, PrePaymentOutcome, Warning, MAX_FAILURES_PER_DAY};
use crate::actor::Actor;
use crate::error::{EngineError, EngineResult};
use crate::{now, Engine};
use domain::catalog::v1;
use domain::fees::{CardBrand, TenderType};
use domain::scope::Scope;
use domain::status::{AttemptStatus, TransactionType};
use domain::Money;
use store::repo::attempts::{self, NewAttempt};
use store::views::{self, AttemptView, OrderKey, PrePaymentKeys};

/// A prePayment whose fields are well-formed (the HTTP layer parsed them); the business
/// rules are checked here.
#[derive(Debug, Clone)]
pub struct PrePayment {
    pub dealer_uuid: String,
    pub customer_uuid: String,
    pub order: OrderKey,
    pub invoice_guid: String,
    /// More than zero.
    pub amount: Money,
    /// Last four digits of the card, for duplicate detection.
    pub card_digits: Option<String>,
    pub ignore_duplicates: bool,
    pub locale: String,
    /// `currentPaymentUser.dealerAssociateUUID`.
    pub cashier_uuid: Option<String>,
    pub fee_request: FeeRequest,
    /// `transactionDetailsList`: type, amount, description.
    pub details: Vec<(String, Money, Option<String>)>,
    /// `attributes`, as JSON text.
    pub attributes: String,
    /// The request's other fields, kept with the attempt as sent (never card data).
    pub stored_request: String,
}

/// `feeRequest`: checked in the documented order (after the duplicate check), so kept raw.
#[derive(Debug, Clone, Default)]
pub struct FeeRequest {
    pub tender_type: Option<String>,
    pub card_type: Option<String>,
    pub dealer_uuid: Option<String>,
    pub payment_type: Option<String>,
}

fn failed(field: &str, why: impl std::fmt::Display) -> EngineError {
    EngineError::bad_request(v1::PEPAYMENT_VALIDATION_FAILED, format!("{field}: {why}"))
}

impl Engine {
    /// `POST /payment/kpayment/v1/prepayment`: scope `payment.prepayment` on the dealer.
    pub async fn prepayment(
        &self,
        actor: &Actor,
        cmd: PrePayment,
    ) -> EngineResult<PrePaymentOutcome> {
        actor.require_dealer(Scope::PrePayment, &cmd.dealer_uuid)?;
        self.create_charge_attempt(cmd).await
    }

    /// Creates a `Created` charge attempt (prePayment's rules, for any caller already
    /// authorized for the dealer: the API, the pay page, Checkout). The rules are checked
    /// against data read in the same transaction that inserts the attempt.
    pub(crate) async fn create_charge_attempt(
        &self,
        cmd: PrePayment,
    ) -> EngineResult<PrePaymentOutcome> {
        for _ in 0..3 {
            let cmd = cmd.clone();
            let t = now();
            let r = self
                .db
                .write(move |c| {
                    Box::pin(async move {
                        let keys = PrePaymentKeys {
                            dealer_uuid: cmd.dealer_uuid.clone(),
                            customer_uuid: cmd.customer_uuid.clone(),
                            order: cmd.order.clone(),
                            invoice_guid: cmd.invoice_guid.clone(),
                            cashier_uuid: cmd.cashier_uuid.clone(),
                            amount: cmd.amount,
                            card_digits: cmd.card_digits.clone(),
                            failures_since: t - 86_400_000,
                            now: t,
                        };
                        let ctx = views::prepayment_context(c, &keys).await?.ok_or_else(|| {
                            EngineError::bad_request(
                                v1::INVALID_DEALER,
                                "dealerUuid: no such dealer",
                            )
                        })?;
                        let plan = plan(&ctx, &cmd)?;
                        let row = attempts::insert(c, &plan.attempt, t).await?;
                        let details = if cmd.details.is_empty() {
                            Vec::new()
                        } else {
                            attempts::add_details(c, row.id, &cmd.details).await?
                        };
                        let invoice = ctx
                            .invoice
                            .ok_or_else(|| EngineError::internal("planned without an invoice"))?;
                        Ok::<_, Retry>(PrePaymentOutcome {
                            attempt: AttemptView::created(row, invoice, ctx.cashier, details),
                            fees: plan.fees,
                            warnings: plan.warnings,
                        })
                    })
                })
                .await;
            match r {
                Ok(o) => return Ok(o),
                // Attempt numbers are per invoice; two processes may pick the same one at once.
                Err(Retry::Numbering) => continue,
                Err(Retry::Failed(e)) => return Err(e),
            }
        }
        Err(EngineError::bad_request(
            v1::ERROR_CREATING_PAYMENTATTEMPT,
            "the attempt could not be numbered; retry",
        ))
    }
}

/// A prePayment transaction's failure: a rule it broke, or an attempt number taken by a
/// concurrent prePayment (worth running again).
enum Retry {
    Numbering,
    Failed(EngineError),
}

impl From<EngineError> for Retry {
    fn from(e: EngineError) -> Retry {
        Retry::Failed(e)
    }
}

impl From<db::DbError> for Retry {
    fn from(e: db::DbError) -> Retry {
        if e.is_unique_violation() {
            Retry::Numbering
        } else {
            Retry::Failed(e.into())
        }
    }
}

/// What prePayment will write, once every rule passed.
struct Plan {
    attempt: NewAttempt,
    fees: Fees,
    warnings: Vec<Warning>,
}

/// prePayment's business rules in the documented order, against the data in hand.
fn plan(ctx: &store::views::PrePaymentContext, cmd: &PrePayment) -> EngineResult<Plan> {
    let dealer = &ctx.dealer;
    let customer = ctx.customer.as_ref().ok_or_else(|| {
        EngineError::bad_request(
            v1::INVALID_CUSTOMER_UUID,
            "customerUuid: no such customer for this dealer",
        )
    })?;
    if !ctx.order_found {
        return Err(EngineError::bad_request(
            v1::INVALID_DEALERORDER_UUID,
            "dealerOrderUuid: no such order for this dealer",
        ));
    }
    let invoice = ctx.invoice.as_ref().ok_or_else(|| {
        EngineError::bad_request(
            v1::INVALID_INVOICE_ID,
            "invoiceGUID: no such invoice on this order",
        )
    })?;
    let due = invoice.invoice.due();
    if due == Money::ZERO {
        return Err(EngineError::bad_request(
            v1::INVOICE_ALREADY_PAID,
            "the invoice has nothing left to pay",
        ));
    }
    if cmd.amount > due {
        return Err(failed("amount", format!("exceeds the amount due ({due})")));
    }
    if invoice.order.order_status == domain::status::OrderStatus::Closed {
        return Err(EngineError::bad_request(
            v1::REPAIR_ORDER_CLOSED,
            "the repair order is closed",
        ));
    }
    if customer.blacklisted {
        return Err(EngineError::bad_request(
            v1::CUSTOMER_BLACKLISTED,
            "this customer may not make payments",
        ));
    }
    if cmd.card_digits.is_some()
        && !cmd.ignore_duplicates
        && dealer.duplicate_window_minutes > 0
        && ctx.duplicates > 0
    {
        return Err(EngineError::bad_request(
            v1::SUSPECTED_DUPLICATE_PAYMENT,
            format!(
                "a payment of the same amount with the same card was made in the last {} minutes; \
                 set ignorePaymentAttemptValidation to proceed",
                dealer.duplicate_window_minutes
            ),
        ));
    }
    let fee_error = |why: &str| {
        EngineError::bad_request(v1::ERROR_WHILE_FETHING_FEES, format!("feeRequest: {why}"))
    };
    let tender = match cmd.fee_request.tender_type.as_deref() {
        Some(s) => {
            TenderType::parse(s).ok_or_else(|| fee_error("tenderType must be CREDIT or DEBIT"))?
        }
        None => TenderType::Credit,
    };
    let brand = match cmd.fee_request.card_type.as_deref() {
        Some(s) => Some(
            CardBrand::parse(s)
                .ok_or_else(|| fee_error("cardType must be VISA, MASTERCARD, AMEX or DISCOVER"))?,
        ),
        None => None,
    };
    if let Some(du) = cmd.fee_request.dealer_uuid.as_deref() {
        if du.trim() != dealer.uuid {
            return Err(fee_error("dealerUuid names another dealer"));
        }
    }
    let settings = dealer.fee_settings();
    let quote = settings.quote(cmd.amount, tender, brand);
    if ctx.recent_failures >= MAX_FAILURES_PER_DAY {
        return Err(EngineError::bad_request(
            v1::ERROR_CREATING_PAYMENTATTEMPT,
            "too many failed payment attempts on this invoice today; ask the customer to contact the dealership",
        ));
    }
    if cmd.cashier_uuid.is_some() && ctx.cashier.is_none() {
        return Err(failed(
            "currentPaymentUser.dealerAssociateUUID",
            "no such dealer associate",
        ));
    }
    let attempt = NewAttempt {
        uuid: uuid::Uuid::new_v4().to_string(),
        dealer_id: dealer.id,
        department_id: invoice.order.department_id,
        dealer_order_id: invoice.order.id,
        invoice_id: invoice.invoice.id,
        customer_id: customer.id,
        associate_id: ctx.cashier.as_ref().map(|p| p.associate.id),
        status: AttemptStatus::Created,
        transaction_type: TransactionType::Charge,
        payment_type: Some(
            cmd.fee_request
                .payment_type
                .clone()
                .unwrap_or_else(|| "ONLINE".into()),
        ),
        amount: cmd.amount,
        payment_provider: dealer.payment_provider.clone(),
        attributes: cmd.attributes.clone(),
        card_digits: cmd.card_digits.clone(),
        tender_type: tender,
        card_type: brand,
        surcharge: quote.surcharge,
        dual_pricing: quote.dual_pricing_fee,
        sales_tax: quote.sales_tax,
        total: quote.total,
        locale: cmd.locale.clone(),
        request: cmd.stored_request.clone(),
        parent_transaction_id: None,
        in_flight_until: None,
    };
    let mut warnings = vec![];
    if dealer.preferred_dealer_id.is_none() {
        warnings.push(Warning {
            entry: v1::NO_PREFERRED_DEALER_ID,
            detail: "the dealer has no preferred dealer id configured".into(),
        });
    }
    Ok(Plan {
        attempt,
        fees: Fees {
            quote,
            tender,
            brand,
            settings,
        },
        warnings,
    })
}
