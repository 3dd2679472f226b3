//! Card payments (SPEC §4): prePayment creates an attempt; confirm charges it through the
//! dealer's processor; 3-D Secure waits for the customer, then completes; an authorization
//! is captured or released.
//!
//! Never a lost or doubled charge: no database transaction or lock is held across a
//! processor call. An attempt is put in flight (one per dealer order, enforced by a partial
//! unique index) and committed; the processor is called with the attempt's uuid as
//! idempotency key; the outcome is recorded with a conditional update, together with the
//! transaction and the money it moves. If the outcome is unknown (timeout, crash), the
//! attempt's lease runs out and the resolver ([`crate::jobs`]) asks the processor by key.
//!
//! One payment (prePayment + confirm) makes three write transactions and, on SQLite, ten
//! statements: authentication, the prePayment context, the insert; authentication, the
//! attempt's view, the take-off, and the four writes of the outcome (PostgreSQL adds the
//! invoice lock). Replies are built from the rows in hand.

mod confirm;
mod prepayment;
mod record;

pub use confirm::Confirm;
pub use prepayment::{FeeRequest, PrePayment};
pub(crate) use record::record_charge;

use crate::actor::Actor;
use crate::error::{EngineError, EngineResult};
use crate::Engine;
use domain::catalog::{v1, CatalogEntry};
use domain::fees::{CardBrand, FeeQuote, FeeSettings, TenderType};
use domain::scope::Scope;
use domain::status::AttemptStatus;
use store::views::{self, AttemptView};

/// Failed attempts on one invoice within a day after which no new attempt is created
/// (card-testing protection).
pub const MAX_FAILURES_PER_DAY: i64 = 10;

/// The locales the customer pages speak.
pub const LOCALES: &[&str] = &["en", "es", "fr-CA"];

/// A warning that rides on a successful answer.
#[derive(Debug, Clone)]
pub struct Warning {
    pub entry: CatalogEntry,
    pub detail: String,
}

/// The fees quoted for an attempt, and the rules they came from.
#[derive(Debug, Clone, Copy)]
pub struct Fees {
    pub quote: FeeQuote,
    pub tender: TenderType,
    pub brand: Option<CardBrand>,
    pub settings: FeeSettings,
}

/// What prePayment made.
#[derive(Debug, Clone)]
pub struct PrePaymentOutcome {
    pub attempt: AttemptView,
    pub fees: Fees,
    pub warnings: Vec<Warning>,
}

/// A payment operation's result: the attempt as it is now, and whether its outcome is known
/// (`false`: the processor's answer is unknown and the attempt stays in flight until the
/// resolver settles it).
#[derive(Debug, Clone)]
pub struct PaymentOutcome {
    pub attempt: AttemptView,
    pub settled: bool,
}

pub(crate) fn attempt_not_found() -> EngineError {
    EngineError::not_found(
        v1::INVALID_PAYMENT_ATTEMPT_ID,
        "paymentAttemptUuid: no such payment attempt",
    )
}

pub(crate) fn not_confirmable(status: AttemptStatus) -> EngineError {
    match status {
        AttemptStatus::InProgress | AttemptStatus::RequiresAction => EngineError::conflict(
            v1::ANOTHER_REQUEST_IN_PROGRESS,
            "this payment attempt is already being processed",
        ),
        s => EngineError::conflict(
            v1::EERROR_UPDATING_PAYMENT_ATTEMPT,
            format!("this payment attempt is {s}; create a new one with prePayment to try again"),
        ),
    }
}

/// Whether `actor` may act on the attempt: prePayment scope on its dealer; a customer, an
/// attempt on their payment link's invoice (`link_invoice`, looked up by the caller); a
/// merchant, an attempt of its namespace's dealer.
pub(crate) fn authorize(
    link_invoice: Option<i64>,
    actor: &Actor,
    v: &AttemptView,
) -> EngineResult<()> {
    match actor {
        Actor::Customer { .. } => {
            if link_invoice == Some(v.attempt.invoice_id) {
                Ok(())
            } else {
                Err(attempt_not_found())
            }
        }
        Actor::Merchant(m) => {
            if m.namespace.dealer_id == v.attempt.dealer_id {
                Ok(())
            } else {
                Err(attempt_not_found())
            }
        }
        _ => actor.require_dealer(Scope::PrePayment, &v.context.dealer.uuid),
    }
}

/// For a customer, checks inside a transaction that the attempt's invoice is their link's.
pub(crate) async fn authorize_in(
    c: &mut db::Conn,
    actor: &Actor,
    invoice_id: i64,
) -> EngineResult<()> {
    if let Actor::Customer {
        payment_request_guid,
    } = actor
    {
        let link = store::repo::payment_requests::by_guid(c, payment_request_guid).await?;
        if link.map(|r| r.invoice_id) != Some(invoice_id) {
            return Err(attempt_not_found());
        }
    }
    Ok(())
}

impl Engine {
    /// An attempt the actor may act on: prePayment scope on its dealer, or — for a customer —
    /// an attempt on the invoice of their payment link.
    pub(crate) async fn authorized_attempt(
        &self,
        actor: &Actor,
        uuid: &str,
    ) -> EngineResult<AttemptView> {
        let uuid = uuid::Uuid::parse_str(uuid)
            .map_err(|_| attempt_not_found())?
            .to_string();
        let v = self
            .db
            .read(move |c| Box::pin(async move { views::attempt_by_uuid(c, &uuid).await }))
            .await?
            .ok_or_else(attempt_not_found)?;
        self.authorize_attempt(actor, &v).await?;
        Ok(v)
    }

    pub(crate) async fn authorize_attempt(
        &self,
        actor: &Actor,
        v: &AttemptView,
    ) -> EngineResult<()> {
        if !matches!(actor, Actor::Customer { .. }) {
            return authorize(None, actor, v);
        }
        let (actor, invoice_id) = (actor.clone(), v.attempt.invoice_id);
        self.db
            .read(move |c| Box::pin(async move { authorize_in(c, &actor, invoice_id).await }))
            .await?;
        Ok(())
    }

    /// `GET …/paymentattempts/{uuid}`.
    pub async fn attempt(&self, actor: &Actor, uuid: &str) -> EngineResult<AttemptView> {
        self.authorized_attempt(actor, uuid).await
    }

    /// The fees a payment of `amount` would carry for a dealer, exactly as prePayment and
    /// confirm compute them.
    pub async fn fee_quote(
        &self,
        actor: &Actor,
        dealer_uuid: &str,
        amount: domain::Money,
        tender: TenderType,
        brand: Option<CardBrand>,
    ) -> EngineResult<Fees> {
        actor.require_dealer(Scope::PrePayment, dealer_uuid)?;
        let uuid = dealer_uuid.to_string();
        let dealer = self
            .db
            .read(move |c| {
                Box::pin(async move { store::repo::dealers::dealer_by_uuid(c, &uuid).await })
            })
            .await?
            .ok_or_else(|| {
                EngineError::bad_request(v1::INVALID_DEALER, "dealerUuid: no such dealer")
            })?;
        let settings = dealer.fee_settings();
        Ok(Fees {
            quote: settings.quote(amount, tender, brand),
            tender,
            brand,
            settings,
        })
    }
}
