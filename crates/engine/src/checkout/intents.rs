//! Payment intents: paying a session through the card-payment engine, on the session's own
//! order and invoice. Exactly one intent at a time: a payer reserves the open session (a
//! conditional version bump), creates the attempt with prePayment's rules, and then, in one
//! transaction, moves the session open → processing and inserts the intent (a payer who lost
//! the session meanwhile ends its unused attempt in that same transaction). The attempt is
//! then confirmed like any other; the session follows it.

use super::{
    challenge_url, conflict, err, failed_at_processor, merchant, pay_blocker, terminal_error,
    Merchant,
};
use crate::actor::Actor;
use crate::error::{EngineError, EngineResult, Kind};
use crate::payments::{Confirm, FeeRequest, PrePayment};
use crate::validate::{optional_text, text};
use crate::{now, Engine};
use connectors::{Card, PaymentMethod};
use domain::catalog::checkout as co;
use domain::status::{AttemptStatus, CaptureMethod, IntentStatus, SessionStatus};
use domain::Money;
use store::repo::attempts::AttemptRow;
use store::repo::checkout::{self as repo, IntentRow};
use store::views::{self, OrderKey, SessionView};

/// Paying a session: the fields as sent; checked in order.
#[derive(Debug, Clone, Default)]
pub struct IntentCreate {
    /// Must equal the session's amount.
    pub amount: Option<Money>,
    /// `card` (default) or `pin_debit`; must be one the session allows.
    pub payment_method: Option<String>,
    pub card: Option<Card>,
    /// A processor token instead of card details.
    pub token: Option<String>,
    /// Required for `pin_debit`.
    pub pin_token: Option<String>,
    /// Where a 3-D Secure challenge returns the customer to.
    pub return_url: Option<String>,
}

/// A payment intent with the attempt underneath (its status is read from that attempt).
#[derive(Debug, Clone)]
pub struct PaymentIntent {
    pub intent: IntentRow,
    pub session_uuid: String,
    pub attempt: AttemptRow,
}

impl PaymentIntent {
    pub fn status(&self) -> IntentStatus {
        IntentStatus::from(self.attempt.status)
    }

    /// The processor's reason when failed.
    pub fn failure_reason(&self) -> Option<String> {
        (self.attempt.status == AttemptStatus::Failed)
            .then(|| self.attempt.response_description.clone())
            .flatten()
    }

    /// For requires_action: the 3-D Secure challenge to send the customer to.
    pub fn next_action_url(&self) -> Option<String> {
        challenge_url(&self.attempt)
            .filter(|_| self.attempt.status == AttemptStatus::RequiresAction)
    }
}

/// Card details or a processor token, exactly one.
fn payment_method(card: Option<Card>, token: Option<String>) -> EngineResult<PaymentMethod> {
    match (card, token) {
        (Some(c), None) => {
            if !(1..=12).contains(&c.exp_month) {
                return Err(EngineError::invalid("card.expMonth", "must be 1 to 12"));
            }
            if !(2000..=2100).contains(&c.exp_year) {
                return Err(EngineError::invalid(
                    "card.expYear",
                    "must be a four-digit year",
                ));
            }
            Ok(PaymentMethod::Card(Card {
                zip: optional_text("card.zip", c.zip.as_deref(), 10)?,
                holder_name: optional_text("card.holderName", c.holder_name.as_deref(), 100)?,
                ..c
            }))
        }
        (None, Some(t)) => Ok(PaymentMethod::Token(text("token", &t, 200)?)),
        (None, None) => Err(EngineError::missing("card")),
        (Some(_), Some(_)) => Err(EngineError::invalid(
            "token",
            "send either card or token, not both",
        )),
    }
}

fn return_url(v: Option<&str>) -> EngineResult<Option<String>> {
    let u = optional_text("returnUrl", v, 2000)?;
    if let Some(u) = &u {
        if !(u.starts_with("https://") || u.starts_with("http://")) {
            return Err(EngineError::invalid("returnUrl", "must be an http(s) URL"));
        }
    }
    Ok(u)
}

fn no_intent() -> EngineError {
    err(
        Kind::NotFound,
        co::SESSION_NOT_FOUND,
        "no such payment intent on this session",
    )
}

impl Engine {
    /// Pays a session of the merchant's namespace: creates a payment intent and charges it.
    /// The intent's status says whether the outcome is known (`processing`: not yet).
    pub async fn create_intent(
        &self,
        actor: &Actor,
        session_id: &str,
        cmd: IntentCreate,
    ) -> EngineResult<PaymentIntent> {
        let v = self.load_session(merchant(actor)?, session_id).await?;
        self.pay_session(v, cmd).await
    }

    /// Pays a session brought up to date by the caller (the merchant's route or the hosted page).
    pub(crate) async fn pay_session(
        &self,
        v: SessionView,
        cmd: IntentCreate,
    ) -> EngineResult<PaymentIntent> {
        let s = &v.session;
        // A disabled namespace takes no payment anywhere: the API refuses its tokens, and this
        // also stops the hosted page, where the session link is the only credential.
        if v.namespace.disabled {
            return Err(super::err(
                Kind::Forbidden,
                co::INVALID_SESSION,
                "this merchant does not accept payments now (its checkout is disabled)",
            ));
        }
        if let Some(e) = pay_blocker(s.status) {
            return Err(e);
        }
        let amount = cmd.amount.ok_or_else(|| EngineError::missing("amount"))?;
        if amount != s.amount {
            return Err(super::bad(
                co::MISMATCH_PAYMENT_AMOUNT,
                "amount: must equal the session's amount",
            ));
        }
        let method_name = cmd
            .payment_method
            .as_deref()
            .map(str::trim)
            .unwrap_or("card")
            .to_string();
        if !super::payment_methods(s).contains(&method_name) {
            return Err(EngineError::invalid(
                "paymentMethod",
                "is not allowed for this session",
            ));
        }
        if method_name == "pin_debit"
            && cmd
                .pin_token
                .as_deref()
                .map(str::trim)
                .unwrap_or("")
                .is_empty()
        {
            return Err(super::bad(
                co::MISSING_PIN_TOKEN,
                "pinToken: is required for pin_debit",
            ));
        }
        let sid = s.id;
        let keys = self
            .db
            .read(move |c| Box::pin(async move { views::session_payment_keys(c, sid).await }))
            .await?
            .ok_or_else(|| {
                EngineError::internal("checkout session without order, invoice or dealer")
            })?;
        let connector = self
            .connectors
            .card(&keys.payment_provider)
            .cloned()
            .ok_or_else(|| {
                err(
                Kind::Unprocessable,
                co::INVALID_CONFIGURATION,
                "the merchant's dealer is set up for a processor this server is not connected to",
            )
            })?;
        let method = payment_method(cmd.card, cmd.token)?;
        let return_url = return_url(cmd.return_url.as_deref())?;
        // What the processor says about the method, before anything is written (confirm asks
        // again and maps a refusal the same way).
        connector.inspect(&method).map_err(|e| match &method {
            PaymentMethod::Token(_) => EngineError::invalid("token", e),
            PaymentMethod::Card(_) => EngineError::invalid("card", e),
        })?;

        // Reserve the session, so that of concurrent payers only one creates an attempt.
        let (version, t) = (s.version, now());
        let reserved = self
            .db
            .write(move |c| {
                Box::pin(async move { repo::reserve_for_payment(c, sid, version, t).await })
            })
            .await?;
        if !reserved {
            return Err(self.lost_session(&v).await);
        }
        let created = self
            .create_charge_attempt(PrePayment {
                dealer_uuid: keys.dealer_uuid.clone(),
                customer_uuid: keys.customer_uuid.clone(),
                order: OrderKey::Uuid(keys.order_uuid.clone()),
                invoice_guid: keys.invoice_guid.clone(),
                amount,
                card_digits: None,
                ignore_duplicates: true,
                locale: "en".into(),
                cashier_uuid: Some(keys.associate_uuid.clone()),
                fee_request: FeeRequest {
                    payment_type: Some(
                        if method_name == "pin_debit" {
                            "PIN_DEBIT"
                        } else {
                            "ONLINE"
                        }
                        .into(),
                    ),
                    ..FeeRequest::default()
                },
                details: Vec::new(),
                attributes:
                    serde_json::json!({ "checkoutSession": s.uuid, "referenceId": s.reference_id })
                        .to_string(),
                stored_request: "{}".into(),
            })
            .await?;
        let attempt = created.attempt;

        // The pay move and the intent, together; a payer who lost the session ends its attempt.
        let (attempt_id, intent_uuid) = (
            attempt.attempt.id,
            format!("pi_{}", uuid::Uuid::new_v4().simple()),
        );
        let (m, t) = (method_name.clone(), now());
        let intent = self
            .db
            .write(move |c| {
                Box::pin(async move {
                    if !repo::start_payment(c, sid, version + 1, t).await? {
                        repo::cancel_unused_attempt(c, attempt_id, t).await?;
                        return Ok::<_, db::DbError>(None);
                    }
                    Ok(Some(
                        repo::insert_intent(c, &intent_uuid, sid, attempt_id, &m, amount, t)
                            .await?,
                    ))
                })
            })
            .await?;
        let Some(intent) = intent else {
            return Err(self.lost_session(&v).await);
        };

        let confirm = Confirm {
            method,
            return_url,
            capture: s.capture_method != CaptureMethod::Manual,
        };
        let outcome = match self.confirm_attempt(attempt, confirm).await {
            Ok(o) => o,
            Err(e) => {
                // Refused before the processor was called (the attempt never took off): the
                // session can be paid again.
                let t = now();
                self.db
                    .write(move |c| {
                        Box::pin(async move { repo::reopen_unpaid(c, sid, attempt_id, t).await })
                    })
                    .await?;
                return Err(e);
            }
        };
        let attempt = outcome.attempt.attempt;
        let mut v = v;
        v.session.status = SessionStatus::Processing;
        v.session.version = version + 2;
        v.session.updated_at = t;
        v.payment = Some((intent.clone(), attempt.clone()));
        let v = self.sync_session(v).await?;
        if failed_at_processor(&attempt) {
            return Err(err(
                Kind::BadGateway,
                co::EXTERNAL_SERVER_ERROR,
                "the processor failed to process the payment",
            ));
        }
        Ok(PaymentIntent {
            intent,
            session_uuid: v.session.uuid,
            attempt,
        })
    }

    /// The answer for a payer whose session another payer took (or moved) meanwhile: as if we
    /// had seen that state.
    async fn lost_session(&self, v: &SessionView) -> EngineError {
        let fresh = match self.session_by_id(v.session.id).await {
            Ok(f) => f,
            Err(e) => return e,
        };
        let fresh = match self.refresh_session(fresh).await {
            Ok(f) => f,
            Err(e) => return e,
        };
        pay_blocker(fresh.session.status).unwrap_or_else(|| {
            conflict(
                co::PAYMENT_INTENT_EXISTED,
                "the session changed meanwhile; retry",
            )
        })
    }

    /// A session's intent with the attempt underneath, as it is now.
    async fn session_intent(
        &self,
        v: &SessionView,
        intent_id: &str,
    ) -> EngineResult<PaymentIntent> {
        if !super::is_intent_id(intent_id) {
            return Err(no_intent());
        }
        let (sid, uuid) = (v.session.id, intent_id.to_string());
        let (intent, attempt) = self
            .db
            .read(move |c| {
                Box::pin(async move {
                    let Some(i) = repo::intent_of_session(c, sid, &uuid).await? else {
                        return Ok::<_, db::DbError>(None);
                    };
                    let a = store::repo::attempts::by_id(c, i.attempt_id).await?;
                    Ok(a.map(|a| (i, a)))
                })
            })
            .await?
            .ok_or_else(no_intent)?;
        Ok(PaymentIntent {
            intent,
            session_uuid: v.session.uuid.clone(),
            attempt,
        })
    }

    /// A payment intent of a session of the merchant's namespace.
    pub async fn intent(
        &self,
        actor: &Actor,
        session_id: &str,
        intent_id: &str,
    ) -> EngineResult<PaymentIntent> {
        let v = self.load_session(merchant(actor)?, session_id).await?;
        self.session_intent(&v, intent_id).await
    }

    /// Completes an intent after its 3-D Secure challenge.
    pub async fn complete_intent(
        &self,
        actor: &Actor,
        session_id: &str,
        intent_id: &str,
    ) -> EngineResult<PaymentIntent> {
        let m: &Merchant = merchant(actor)?;
        let v = self.load_session(m, session_id).await?;
        let i = self.session_intent(&v, intent_id).await?;
        self.complete_session_intent(v, i).await
    }

    /// Completes `i` (an intent of `v`) after 3-D Secure and brings the session up to date.
    pub(crate) async fn complete_session_intent(
        &self,
        v: SessionView,
        i: PaymentIntent,
    ) -> EngineResult<PaymentIntent> {
        if let Some(e) = terminal_error(v.session.status) {
            return Err(e);
        }
        let id = i.attempt.id;
        let view = self
            .db
            .read(move |c| Box::pin(async move { views::attempt_by_id(c, id).await }))
            .await?
            .ok_or_else(|| EngineError::internal("intent without attempt"))?;
        let outcome = self.complete_attempt(view).await?;
        let attempt = outcome.attempt.attempt;
        let mut v = v;
        if v.payment
            .as_ref()
            .is_some_and(|(latest, _)| latest.id == i.intent.id)
        {
            v.payment = Some((i.intent.clone(), attempt.clone()));
        }
        self.sync_session(v).await?;
        Ok(PaymentIntent { attempt, ..i })
    }
}
