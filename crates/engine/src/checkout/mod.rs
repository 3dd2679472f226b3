//! Checkout (seed 004): hosted checkout sessions for merchants. Errors use the Checkout
//! catalog (93xxxxx).
//!
//! | module | use-cases |
//! |---|---|
//! | [`auth`] | API key → access token (HS256 JWT), merchant authentication |
//! | [`namespaces`] | namespaces, disabling, API keys (operator) |
//! | [`users`] | merchant users, login, password resets through the outbox |
//! | [`sessions`] | sessions and their lifecycle, listing, cancel, expire, manual capture |
//! | [`intents`] | payment intents: paying a session through the card-payment engine |
//! | [`hosted`] | the hosted checkout page: a customer paying a session |
//!
//! The session lifecycle is [`SessionStatus::can_move_to`]; a session's payment state follows
//! the attempt under its latest intent ([`SessionStatus::after_payment`]). Any call on a session
//! in a terminal state answers the matching `SESSION_ALREADY_*`.

pub mod auth;
pub mod hosted;
pub mod intents;
pub mod namespaces;
pub mod sessions;
pub mod users;

pub use auth::{AccessGrant, TOKEN_TTL_SECS};
pub use intents::{IntentCreate, PaymentIntent};
pub use namespaces::{ApiKeyCreated, NamespaceCreate, NamespaceCreated};
pub use sessions::{SessionCreate, SessionListQuery, SessionPage};
pub use users::{Login, OutboxMessage, UserCreate};

use crate::actor::Actor;
use crate::error::{EngineError, EngineResult, Kind};
use domain::catalog::{checkout as co, CatalogEntry};
use domain::status::{AttemptStatus, SessionStatus};
use store::repo::attempts::AttemptRow;
use store::repo::checkout::SessionRow;

pub use crate::actor::Merchant;

/// Whether a path segment can name a namespace at all (checked before it reaches a query).
pub fn valid_namespace(ns: &str) -> bool {
    (3..=40).contains(&ns.len())
        && ns
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// `cs_` and 32 hex digits: the only session ids worth a database lookup.
pub fn is_session_id(id: &str) -> bool {
    id.len() == 35 && id.starts_with("cs_") && id[3..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// `pi_` and 32 hex digits: the only intent ids worth a database lookup.
pub fn is_intent_id(id: &str) -> bool {
    id.len() == 35 && id.starts_with("pi_") && id[3..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// The payment methods a session allows (stored as a JSON list).
pub fn payment_methods(s: &SessionRow) -> Vec<String> {
    serde_json::from_str(&s.payment_methods).unwrap_or_default()
}

/// The 3-D Secure challenge URL an attempt's `nextAction` names, if any.
pub fn challenge_url(a: &AttemptRow) -> Option<String> {
    let n: serde_json::Value = serde_json::from_str(a.next_action.as_deref()?).ok()?;
    n.get("redirectToUrlAction")?
        .get("redirectUrl")?
        .as_str()
        .map(str::to_string)
}

pub(crate) fn err(kind: Kind, e: CatalogEntry, detail: impl Into<String>) -> EngineError {
    EngineError::checkout(kind, e, detail)
}

pub(crate) fn bad(e: CatalogEntry, detail: impl Into<String>) -> EngineError {
    err(Kind::Invalid, e, detail)
}

pub(crate) fn conflict(e: CatalogEntry, detail: impl Into<String>) -> EngineError {
    err(Kind::Conflict, e, detail)
}

/// The `SESSION_ALREADY_*` answer for a session in a terminal state.
pub(crate) fn terminal_error(status: SessionStatus) -> Option<EngineError> {
    let e = match status {
        SessionStatus::Succeeded => co::SESSION_ALREADY_SUCCEEDED,
        SessionStatus::Failed => co::SESSION_ALREADY_FAILED,
        SessionStatus::Cancelled => co::SESSION_ALREADY_CANCELLED,
        SessionStatus::Expired => co::SESSION_ALREADY_EXPIRED,
        _ => return None,
    };
    Some(conflict(e, format!("the session is {status}")))
}

/// Why a session in `status` cannot take a payment now (None: it is open).
pub(crate) fn pay_blocker(status: SessionStatus) -> Option<EngineError> {
    match status {
        SessionStatus::Open => None,
        SessionStatus::Processing => Some(conflict(
            co::PAYMENT_INTENT_EXISTED,
            "a payment intent for this session is being processed",
        )),
        SessionStatus::RequiresCapture | SessionStatus::Succeeded => Some(conflict(
            co::SESSION_PAYMENT_ALREADY_COMPLETED,
            "this session is paid",
        )),
        other => terminal_error(other),
    }
}

/// The merchant a Checkout merchant use-case acts for.
pub(crate) fn merchant(actor: &Actor) -> EngineResult<&Merchant> {
    match actor {
        Actor::Merchant(m) => Ok(m),
        _ => Err(err(
            Kind::Unauthenticated,
            co::UNAUTHORIZED,
            "this route requires a merchant access token",
        )),
    }
}

/// Operator-only Checkout use-cases (setting merchants up).
pub(crate) fn require_operator(actor: &Actor) -> EngineResult<()> {
    match actor {
        Actor::Operator => Ok(()),
        _ => Err(err(
            Kind::Unauthenticated,
            co::UNAUTHORIZED,
            "this route requires an operator token",
        )),
    }
}

/// A charge the processor failed to process (not a decline): the payer's answer is
/// `EXTERNAL_SERVER_ERROR`.
pub(crate) fn failed_at_processor(a: &AttemptRow) -> bool {
    a.status == AttemptStatus::Failed
        && a.response_description.as_deref() == Some("processing_error")
}
