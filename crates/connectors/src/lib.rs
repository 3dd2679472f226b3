//! Payment connectors: the processors money moves through, behind traits, and a registry
//! that picks one per dealer (`dealers.payment_provider`).
//!
//! # The shape
//!
//! Every call carries an idempotency key (the payment attempt's uuid): a processor that sees
//! a key again answers with the outcome it recorded the first time, so a retry after a
//! timeout or a crash can never charge twice. A call that returns an error has an *unknown*
//! outcome; the engine keeps the payment in flight and asks again later
//! ([`CardConnector::resolve`]).
//!
//! - [`CardConnector`]: card payments. A payment method is card details or a token the
//!   processor issued ([`PaymentMethod`]); [`CardConnector::inspect`] says what the method is
//!   (brand, funding, last four) before the charge, because fees depend on it (no surcharge
//!   on debit). A charge answers at once (approved, declined, error), asks for the customer
//!   (`RequiresAction`: 3-D Secure), holds funds (`Authorized`: capture later), or — for a
//!   processor that confirms asynchronously — says `Pending`: the engine keeps the attempt
//!   in flight until [`Event`]s from the processor's webhook (parsed by
//!   [`CardConnector::parse_webhook`]) or a later [`CardConnector::lookup`] settle it.
//! - [`BankConnector`]: bank (ACH) transfers, which always settle asynchronously: a
//!   transfer is `Pending` for days, then `Settled` or `Returned` (with an R-code), reported
//!   through the same [`Event`]s. Its methods mirror the card ones; no bank processor ships
//!   yet (the bank-payments issue builds one on this shape).
//!
//! The built-in [`sandbox`] is one card connector among others, in-process or reached over
//! HTTP ([`http::HttpConnector`]); the engine only ever sees `dyn CardConnector`.

pub mod faults;
pub mod http;
pub mod sandbox;

use domain::card::{CardNumber, Cvv};
use domain::fees::CardBrand;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

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

/// What the customer pays with.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PaymentMethod {
    Card(Card),
    /// A token the processor issued for a card it keeps (e.g. `tok_visa` in the sandbox).
    Token(String),
}

/// What a processor says about a payment method before charging it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardInfo {
    pub brand: Option<CardBrand>,
    pub funding: Funding,
    pub last4: String,
    /// A stable identifier of the card behind the method, for matching repeat payments
    /// (the engine stores only a keyed hash of it).
    pub fingerprint: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChargeRequest {
    pub key: String,
    pub amount_cents: i64,
    pub currency: String,
    /// On the wire `"card": {…}` or `"token": "…"` beside the other fields.
    #[serde(flatten)]
    pub method: PaymentMethod,
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
    /// Accepted; the processor confirms later (webhook or lookup).
    Pending,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Funding {
    Credit,
    Debit,
}

impl Funding {
    pub fn as_str(self) -> &'static str {
        match self {
            Funding::Credit => "credit",
            Funding::Debit => "debit",
        }
    }
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

/// `reason` of an authorization that was released (nothing charged).
pub const RELEASED: &str = "released";

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

/// Something a processor tells us on its own (a webhook): an outcome for a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Charge(ChargeOutcome),
    Transfer(TransferOutcome),
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum ConnectorError {
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
    /// The payment method is not one this processor issued or accepts.
    #[error("{0}")]
    InvalidMethod(&'static str),
}

impl ConnectorError {
    /// Whether the operation's outcome is unknown (it may have happened).
    pub fn outcome_unknown(&self) -> bool {
        matches!(
            self,
            ConnectorError::Timeout | ConnectorError::Unavailable(_)
        )
    }
}

/// A card processor. Every method that moves money is idempotent by key.
pub trait CardConnector: Send + Sync {
    /// The provider name dealers select it by (`SANDBOX`).
    fn name(&self) -> &str;
    /// Brand, funding and last four of a payment method, before charging it.
    fn inspect(&self, method: &PaymentMethod) -> Result<CardInfo, ConnectorError>;
    fn charge(&self, req: ChargeRequest) -> BoxFut<'_, Result<ChargeOutcome, ConnectorError>>;
    /// Finishes a charge after its 3-D Secure challenge.
    fn complete(&self, key: String) -> BoxFut<'_, Result<ChargeOutcome, ConnectorError>>;
    /// The recorded outcome of a charge, if the processor ever saw the key.
    fn lookup(&self, key: String) -> BoxFut<'_, Result<Option<ChargeOutcome>, ConnectorError>>;
    /// Settles an in-flight charge whose caller lost track of it: the recorded outcome if the
    /// processor saw the key; otherwise the key is marked abandoned (a request arriving later
    /// with it is declined, never charged) and `None` is returned.
    fn resolve(&self, key: String) -> BoxFut<'_, Result<Option<ChargeOutcome>, ConnectorError>>;
    /// Captures up to the authorized amount of an authorize-only charge; the rest is released.
    fn capture(
        &self,
        key: String,
        amount_cents: i64,
    ) -> BoxFut<'_, Result<ChargeOutcome, ConnectorError>>;
    /// Releases an authorization without capturing it.
    fn release(&self, key: String) -> BoxFut<'_, Result<ChargeOutcome, ConnectorError>>;
    fn refund(&self, req: RefundRequest) -> BoxFut<'_, Result<RefundOutcome, ConnectorError>>;
    /// Cancels an unsettled charge in full.
    fn void(
        &self,
        key: String,
        charge_key: String,
    ) -> BoxFut<'_, Result<RefundOutcome, ConnectorError>>;
    fn ledger(&self) -> BoxFut<'_, Result<Vec<LedgerEntry>, ConnectorError>>;
    /// Verifies and parses a webhook the processor sent (signature checked against its
    /// secret). Processors that answer synchronously send none.
    fn parse_webhook(
        &self,
        _headers: &BTreeMap<String, String>,
        _body: &[u8],
    ) -> Result<Vec<Event>, ConnectorError> {
        Err(ConnectorError::Rejected(
            "this processor sends no webhooks".into(),
        ))
    }
}

/// A bank transfer (ACH debit of the customer's account).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransferRequest {
    pub key: String,
    pub amount_cents: i64,
    /// The processor's id of the verified funding source (bank account).
    pub funding_source: String,
    /// Same-day or standard.
    pub same_day: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransferStatus {
    /// Submitted to the network; settles in days.
    Pending,
    Settled,
    /// Returned by the customer's bank (`return_code`, e.g. R01 insufficient funds).
    Returned,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransferOutcome {
    pub key: String,
    pub status: TransferStatus,
    pub processor_id: String,
    pub amount_cents: i64,
    pub return_code: Option<String>,
}

/// A bank (ACH) processor: every transfer settles asynchronously, through
/// [`CardConnector::parse_webhook`]-style events or [`BankConnector::transfer_status`].
pub trait BankConnector: Send + Sync {
    fn name(&self) -> &str;
    fn transfer(&self, req: TransferRequest)
        -> BoxFut<'_, Result<TransferOutcome, ConnectorError>>;
    fn transfer_status(
        &self,
        key: String,
    ) -> BoxFut<'_, Result<Option<TransferOutcome>, ConnectorError>>;
    /// Cancels a transfer not yet submitted to the network.
    fn cancel(&self, key: String) -> BoxFut<'_, Result<TransferOutcome, ConnectorError>>;
    fn parse_webhook(
        &self,
        headers: &BTreeMap<String, String>,
        body: &[u8],
    ) -> Result<Vec<Event>, ConnectorError>;
}

/// The connectors this server is set up with, by provider name.
#[derive(Clone, Default)]
pub struct Registry {
    cards: BTreeMap<String, Arc<dyn CardConnector>>,
    banks: BTreeMap<String, Arc<dyn BankConnector>>,
}

impl Registry {
    pub fn new() -> Registry {
        Registry::default()
    }

    /// Adds a card connector under its own name (upper case).
    pub fn with_card(mut self, c: Arc<dyn CardConnector>) -> Registry {
        self.cards.insert(c.name().to_ascii_uppercase(), c);
        self
    }

    pub fn with_bank(mut self, c: Arc<dyn BankConnector>) -> Registry {
        self.banks.insert(c.name().to_ascii_uppercase(), c);
        self
    }

    /// The card connector a dealer's `payment_provider` names.
    pub fn card(&self, provider: &str) -> Option<&Arc<dyn CardConnector>> {
        self.cards.get(&provider.trim().to_ascii_uppercase())
    }

    pub fn bank(&self, provider: &str) -> Option<&Arc<dyn BankConnector>> {
        self.banks.get(&provider.trim().to_ascii_uppercase())
    }

    /// Provider names of the card connectors, for validating dealer settings.
    pub fn card_names(&self) -> impl Iterator<Item = &str> {
        self.cards.keys().map(String::as_str)
    }

    pub fn cards(&self) -> impl Iterator<Item = &Arc<dyn CardConnector>> {
        self.cards.values()
    }
}
