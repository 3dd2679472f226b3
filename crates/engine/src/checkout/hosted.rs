//! The hosted checkout page's use-cases: a customer holding a session's link looks at it,
//! pays it with a card, and comes back from 3-D Secure. No principal acts here: the session
//! id (unguessable) is the capability, exactly as the page's link.

use super::intents::{IntentCreate, PaymentIntent};
use super::{err, is_session_id};
use crate::error::{EngineResult, Kind};
use crate::Engine;
use connectors::PaymentMethod;
use domain::catalog::checkout as co;
use domain::status::AttemptStatus;
use store::views::{self, SessionView};

impl Engine {
    /// A session as its hosted page shows it, brought up to date (payment settled, expiry
    /// applied); `None` for an id that is not a session's.
    pub async fn hosted_session(&self, session_id: &str) -> EngineResult<Option<SessionView>> {
        // Only well-formed ids reach the database (PostgreSQL refuses NUL bytes, for one).
        if !is_session_id(session_id) {
            return Ok(None);
        }
        let uuid = session_id.to_string();
        let v = self
            .db
            .read(move |c| Box::pin(async move { views::session_by_uuid(c, &uuid).await }))
            .await?;
        match v {
            Some(v) => Ok(Some(self.refresh_session(v).await?)),
            None => Ok(None),
        }
    }

    /// The customer pays the session's amount with `method` (the page's card form: payment
    /// method `card`); 3-D Secure returns to `return_url`.
    pub async fn pay_hosted_session(
        &self,
        session_id: &str,
        method: PaymentMethod,
        return_url: Option<String>,
    ) -> EngineResult<PaymentIntent> {
        let v = self
            .hosted_session(session_id)
            .await?
            .ok_or_else(|| err(Kind::NotFound, co::SESSION_NOT_FOUND, "no such session"))?;
        let (card, token) = match method {
            PaymentMethod::Card(c) => (Some(c), None),
            PaymentMethod::Token(t) => (None, Some(t)),
        };
        let cmd = IntentCreate {
            amount: Some(v.session.amount),
            payment_method: Some("card".into()),
            card,
            token,
            pin_token: None,
            return_url,
        };
        self.pay_session(v, cmd).await
    }

    /// Back from 3-D Secure: completes the session's latest payment if it waits for the
    /// customer's authentication (nothing to do otherwise).
    pub async fn complete_hosted_session(&self, session_id: &str) -> EngineResult<()> {
        let Some(v) = self.hosted_session(session_id).await? else {
            return Ok(());
        };
        let Some((intent, attempt)) = v.payment.clone() else {
            return Ok(());
        };
        if attempt.status != AttemptStatus::RequiresAction {
            return Ok(());
        }
        let i = PaymentIntent {
            intent,
            session_uuid: v.session.uuid.clone(),
            attempt,
        };
        self.complete_session_intent(v, i).await?;
        Ok(())
    }
}
