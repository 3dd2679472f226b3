//! Card processors behind one trait, and the built-in sandbox processor.
//!
//! Every call carries an idempotency key (the payment attempt's uuid for charges, the
//! refund's or void's transaction uuid otherwise): a processor that sees a key again answers
//! with the outcome it recorded the first time, so a retry after a timeout or a crash can
//! never charge twice. A call that returns an error has an *unknown* outcome; the caller keeps
//! the payment in flight and asks again later with [`Processor::lookup`].

pub mod faults;
pub mod http;
pub mod sandbox;

use domain::card::{CardNumber, Cvv};
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::pin::Pin;

pub type BoxFut<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Card details for one charge. Never stored; Debug masks the number and CVV.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Card {
    pub number: CardNumber,
    pub exp_month: u32,
    pub exp_year: u32,
    pub cvv: Option<Cvv>,
    pub zip: Option<String>,
    pub holder_name: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChargeRequest {
    pub key: String,
    pub amount_cents: i64,
    pub currency: String,
    pub card: Card,
    pub enforce_cvv: bool,
    pub enforce_zip: bool,
    /// Where a 3-D Secure challenge sends the customer back to.
    pub return_url: Option<String>,
    /// false: authorize only; the funds are held until `capture` or `release`.
    #[serde(default = "yes")]
    pub capture: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChargeStatus {
    Approved,
    Declined,
    Error,
    RequiresAction,
    /// Approved for authorization only: held, not yet captured.
    Authorized,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Funding {
    Credit,
    Debit,
}

/// What the processor decided for a charge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChargeOutcome {
    pub key: String,
    pub status: ChargeStatus,
    /// The processor's id for the charge.
    pub processor_id: String,
    pub amount_cents: i64,
    /// Two-character ISO 8583-style response code ("00" approved).
    pub response_code: String,
    /// Machine-readable reason, e.g. `insufficient_funds`.
    pub reason: String,
    pub auth_code: Option<String>,
    pub avs_result: Option<String>,
    pub cvv_result: Option<String>,
    pub brand: Option<String>,
    pub last4: String,
    pub funding: Funding,
    /// For `RequiresAction`: the challenge page the customer must pass.
    pub challenge_url: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundRequest {
    pub key: String,
    pub charge_key: String,
    pub amount_cents: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundOutcome {
    pub key: String,
    pub approved: bool,
    pub processor_id: String,
    pub amount_cents: i64,
    pub reason: String,
}

/// One entry of a processor's ledger, for reconciliation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LedgerEntry {
    pub key: String,
    /// `charge`, `refund` or `void`.
    pub kind: String,
    pub charge_key: Option<String>,
    pub status: String,
    pub amount_cents: i64,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum ProcessorError {
    /// No answer in time: the outcome is unknown.
    #[error("processor timed out")]
    Timeout,
    /// The processor could not be reached or failed: the outcome is unknown.
    #[error("processor unavailable: {0}")]
    Unavailable(String),
    /// The processor refused the request as malformed (e.g. a key reused for another amount).
    #[error("processor rejected the request: {0}")]
    Rejected(String),
    /// No charge with this key.
    #[error("no such charge at the processor")]
    NotFound,
}

/// A card processor. Every method is idempotent by key.
pub trait Processor: Send + Sync {
    fn name(&self) -> &'static str;
    /// Credit or debit, from the card's BIN (decides whether a surcharge may apply).
    fn funding(&self, card: &CardNumber) -> Funding;
    fn charge(&self, req: ChargeRequest) -> BoxFut<'_, Result<ChargeOutcome, ProcessorError>>;
    /// Finishes a charge after its 3-D Secure challenge.
    fn complete(&self, key: String) -> BoxFut<'_, Result<ChargeOutcome, ProcessorError>>;
    /// The recorded outcome of a charge, if the processor ever saw the key.
    fn lookup(&self, key: String) -> BoxFut<'_, Result<Option<ChargeOutcome>, ProcessorError>>;
    /// Settles an in-flight charge whose caller lost track of it: the recorded outcome if the
    /// processor saw the key; otherwise the key is marked abandoned (a request arriving later
    /// with it is declined, never charged) and `None` is returned.
    fn resolve(&self, key: String) -> BoxFut<'_, Result<Option<ChargeOutcome>, ProcessorError>>;
    /// Captures up to the authorized amount of an authorize-only charge; the rest is released.
    fn capture(
        &self,
        key: String,
        amount_cents: i64,
    ) -> BoxFut<'_, Result<ChargeOutcome, ProcessorError>>;
    /// Releases an authorization without capturing it.
    fn release(&self, key: String) -> BoxFut<'_, Result<ChargeOutcome, ProcessorError>>;
    fn refund(&self, req: RefundRequest) -> BoxFut<'_, Result<RefundOutcome, ProcessorError>>;
    /// Cancels an unsettled charge in full.
    fn void(
        &self,
        key: String,
        charge_key: String,
    ) -> BoxFut<'_, Result<RefundOutcome, ProcessorError>>;
    fn ledger(&self) -> BoxFut<'_, Result<Vec<LedgerEntry>, ProcessorError>>;
}
