//! Checkout sessions: creation (with the session's own repair order and invoice, which carry
//! its payment attempts), lookups that bring a session up to date with its payment and its
//! expiry, listing, cancel, expire, and the manual capture of an authorization.

use super::{conflict, err, merchant, terminal_error, Merchant};
use crate::actor::Actor;
use crate::error::{EngineError, EngineResult, Kind};
use crate::validate::{optional_text, required_text};
use crate::{now, Engine};
use domain::catalog::checkout as co;
use domain::status::{CaptureMethod, OrderStatus, SessionStatus};
use domain::Money;
use store::repo::checkout as repo;
use store::repo::{dealers, invoices, orders};
use store::views::{self, SessionView};

const METHODS: &[&str] = &["card", "pin_debit"];
const MIN_EXPIRY: i64 = 1800;
const MAX_EXPIRY: i64 = 86_400;

/// Creating a session: the fields as sent; checked in the documented order.
#[derive(Debug, Clone, Default)]
pub struct SessionCreate {
    /// The merchant's own reference, unique in the namespace.
    pub reference_id: Option<String>,
    pub amount: Option<Money>,
    /// Only USD.
    pub currency: Option<String>,
    /// `customer.customerUuid`.
    pub customer_uuid: Option<String>,
    /// `automatic` (default) or `manual`.
    pub capture_method: Option<String>,
    /// Default: the dealer's processor.
    pub processor: Option<String>,
    /// Any of `card`, `pin_debit` (default `["card"]`).
    pub payment_methods: Option<Vec<String>>,
    /// 1800 – 86400 (default 86400).
    pub expires_in_seconds: Option<i64>,
    pub success_url: Option<String>,
    pub cancel_url: Option<String>,
}

/// Listing sessions, oldest first.
#[derive(Debug, Clone, Default)]
pub struct SessionListQuery {
    /// 1–100 (default 20).
    pub limit: Option<i64>,
    /// A session id of the namespace: the page starts after it.
    pub starting_after: Option<String>,
}

#[derive(Debug, Clone)]
pub struct SessionPage {
    pub sessions: Vec<SessionView>,
    pub has_more: bool,
    /// The cursor of the next page.
    pub next_cursor: Option<String>,
}

/// A merchant URL (success, cancel), parsed rather than pattern-matched: absolute, https (http
/// only to this machine, and only when the operator allows it for development), a host and no
/// credentials, no `#fragment` (the session id is added as a query parameter). Kept in the
/// parser's normalised form, so spaces and quotes are percent-encoded before anyone sees them.
fn url_field(
    field: &str,
    v: Option<&str>,
    allow_http_loopback: bool,
) -> EngineResult<Option<String>> {
    let Some(raw) = optional_text(field, v, 2000)? else {
        return Ok(None);
    };
    let u = url::Url::parse(&raw)
        .map_err(|_| EngineError::invalid(field, "must be an absolute https URL"))?;
    let loopback = match u.host() {
        Some(url::Host::Ipv4(a)) => a.is_loopback(),
        Some(url::Host::Ipv6(a)) => a.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    };
    match u.scheme() {
        "https" => {}
        "http" if loopback && allow_http_loopback => {}
        _ => {
            return Err(EngineError::invalid(
                field,
                "must be an https URL (http only to this machine, where the operator allows it)",
            ))
        }
    }
    if u.host().is_none() || !u.username().is_empty() || u.password().is_some() {
        return Err(EngineError::invalid(
            field,
            "must name a host, without credentials",
        ));
    }
    if u.fragment().is_some() {
        return Err(EngineError::invalid(
            field,
            "must not have a #fragment (the session id is added as a query parameter)",
        ));
    }
    Ok(Some(u.into()))
}

fn vanished() -> EngineError {
    EngineError::internal("checkout session vanished")
}

impl Engine {
    /// The hosted page's address for a session.
    pub fn checkout_url(&self, session_uuid: &str) -> String {
        format!(
            "{}/checkout/{session_uuid}",
            self.config.public_url.trim_end_matches('/')
        )
    }

    pub(crate) async fn session_by_id(&self, id: i64) -> EngineResult<SessionView> {
        self.db
            .read(move |c| Box::pin(async move { views::session_by_id(c, id).await }))
            .await?
            .ok_or_else(vanished)
    }

    /// Brings a session up to date with the attempt under its latest intent (settled
    /// meanwhile by the request itself or by the in-flight resolver): the conditional move
    /// [`SessionStatus::after_payment`] names, with the amounts it authorized and captured.
    pub(crate) async fn sync_session(&self, mut v: SessionView) -> EngineResult<SessionView> {
        let from = v.session.status;
        let Some((intent, attempt)) = &v.payment else {
            return Ok(v);
        };
        let Some(to) = from.after_payment(attempt.status) else {
            return Ok(v);
        };
        let (authorized, captured) = match to {
            SessionStatus::RequiresCapture | SessionStatus::Cancelled => {
                (intent.amount, Money::ZERO)
            }
            SessionStatus::Succeeded => (intent.amount, attempt.amount),
            _ => (Money::ZERO, Money::ZERO),
        };
        let (id, t) = (v.session.id, now());
        let moved = self
            .db
            .write(move |c| {
                Box::pin(async move {
                    repo::settle_session(c, id, from, to, authorized, captured, t).await
                })
            })
            .await?;
        if !moved {
            // Someone else moved it first: as it is now.
            return self.session_by_id(id).await;
        }
        let s = &mut v.session;
        s.status = to;
        s.authorized = authorized;
        s.captured = captured;
        s.version += 1;
        s.updated_at = t;
        Ok(v)
    }

    /// A session as it is now: its payment synced, an expiry that passed applied.
    pub(crate) async fn refresh_session(&self, v: SessionView) -> EngineResult<SessionView> {
        let v = self.sync_session(v).await?;
        let t = now();
        if v.session.status == SessionStatus::Open && v.session.expires_at <= t {
            let id = v.session.id;
            self.db
                .write(move |c| {
                    Box::pin(async move {
                        repo::transition(c, id, &[SessionStatus::Open], SessionStatus::Expired, t)
                            .await
                    })
                })
                .await?;
            return self.session_by_id(id).await;
        }
        Ok(v)
    }

    /// A session of the merchant's namespace, brought up to date.
    pub(crate) async fn load_session(&self, m: &Merchant, id: &str) -> EngineResult<SessionView> {
        if !super::is_session_id(id) {
            return Err(super::bad(
                co::INVALID_SESSION,
                "sessionId: not a session id",
            ));
        }
        let uuid = id.to_string();
        let v = self
            .db
            .read(move |c| Box::pin(async move { views::session_by_uuid(c, &uuid).await }))
            .await?
            .filter(|v| v.session.namespace_id == m.namespace.id)
            .ok_or_else(|| {
                err(
                    Kind::NotFound,
                    co::SESSION_NOT_FOUND,
                    "no such session in this namespace",
                )
            })?;
        self.refresh_session(v).await
    }

    /// Creates a session with its own repair order and invoice, in one transaction.
    pub async fn create_session(
        &self,
        actor: &Actor,
        cmd: SessionCreate,
    ) -> EngineResult<SessionView> {
        let m = merchant(actor)?;
        let ns = m.namespace.clone();
        let reference = required_text("referenceId", cmd.reference_id.as_deref(), 100)?;
        let amount = cmd.amount.ok_or_else(|| EngineError::missing("amount"))?;
        if amount == Money::ZERO {
            return Err(EngineError::invalid("amount", "must be more than 0"));
        }
        let currency = cmd
            .currency
            .as_deref()
            .map(|c| c.trim().to_ascii_uppercase())
            .unwrap_or_else(|| "USD".into());
        if currency != "USD" {
            return Err(EngineError::invalid("currency", "only USD is supported"));
        }
        let capture = match cmd.capture_method.as_deref().map(str::trim) {
            None => CaptureMethod::Automatic,
            Some(c) => CaptureMethod::parse(c).ok_or_else(|| {
                EngineError::invalid("captureMethod", "must be automatic or manual")
            })?,
        };
        let methods = cmd.payment_methods.unwrap_or_else(|| vec!["card".into()]);
        if methods.is_empty()
            || methods.len() > 4
            || methods.iter().any(|x| !METHODS.contains(&x.as_str()))
        {
            return Err(EngineError::invalid(
                "paymentMethods",
                "must list card and/or pin_debit",
            ));
        }
        let expires_in = cmd.expires_in_seconds.unwrap_or(MAX_EXPIRY);
        if !(MIN_EXPIRY..=MAX_EXPIRY).contains(&expires_in) {
            return Err(EngineError::invalid(
                "expiresInSeconds",
                "must be between 1800 (30 min) and 86400 (24 h)",
            ));
        }
        let http_ok = self.config.allow_http_loopback_urls;
        let success_url = url_field("successUrl", cmd.success_url.as_deref(), http_ok)?;
        let cancel_url = url_field("cancelUrl", cmd.cancel_url.as_deref(), http_ok)?;
        let dealer_id = ns.dealer_id;
        let dealer = self
            .db
            .read(move |c| Box::pin(async move { dealers::dealer_by_id(c, dealer_id).await }))
            .await?
            .ok_or_else(|| EngineError::internal("namespace without dealer"))?;
        let processor = cmd
            .processor
            .as_deref()
            .map(|p| p.trim().to_ascii_uppercase())
            .unwrap_or_else(|| dealer.payment_provider.clone());
        if processor != dealer.payment_provider || self.connectors.card(&processor).is_none() {
            return Err(super::bad(
                co::INVALID_PAYMENT_PROCESSOR,
                // Never the value sent (client input, possibly anything): the one we take.
                format!(
                    "processor: not configured for this merchant (its processor is {})",
                    dealer.payment_provider
                ),
            ));
        }
        let no_customer = || {
            super::bad(
                co::INVALID_CUSTOMER,
                "customer.customerUuid: no such customer",
            )
        };
        let customer = match cmd.customer_uuid.as_deref() {
            Some(u) => {
                let u = uuid::Uuid::parse_str(u.trim())
                    .map_err(|_| no_customer())?
                    .to_string();
                let c = self
                    .db
                    .read(move |c| Box::pin(async move { dealers::customer_by_uuid(c, &u).await }))
                    .await?
                    .filter(|c| c.dealer_id == ns.dealer_id && !c.blacklisted)
                    .ok_or_else(no_customer)?;
                Some(c.id)
            }
            None => None,
        };
        let t = now();
        let session_uuid = format!("cs_{}", uuid::Uuid::new_v4().simple());
        let payer = customer.unwrap_or(ns.guest_customer_id);
        let order = orders::OrderWrite {
            uuid: uuid::Uuid::new_v4().to_string(),
            department_id: ns.department_id,
            customer_id: payer,
            vehicle_id: None,
            associate_id: None,
            order_number: session_uuid.clone(),
            order_type: "CHECKOUT".into(),
            order_status: OrderStatus::Open,
            amount,
            order_date: t,
            profile: serde_json::json!({ "description": format!("Checkout {reference}") })
                .to_string(),
        };
        let invoice = invoices::InvoiceWrite {
            guid: uuid::Uuid::new_v4().to_string(),
            dealer_order_id: 0,
            customer_id: payer,
            associate_id: ns.associate_id,
            amount,
            invoice_date: t,
            description: Some(format!("Checkout {reference}")),
            file_name: None,
            reminder_date: None,
            reminder_mileage: None,
        };
        let session = repo::SessionWrite {
            uuid: session_uuid,
            namespace_id: ns.id,
            reference_id: reference,
            amount,
            currency,
            customer_id: customer,
            capture_method: capture,
            processor,
            payment_methods: serde_json::to_string(&methods).map_err(EngineError::internal)?,
            expires_at: t + expires_in * 1000,
            success_url,
            cancel_url,
            dealer_order_id: 0,
            invoice_id: 0,
        };
        let dealer_id = ns.dealer_id;
        let id = self
            .db
            .write(move |c| {
                Box::pin(async move {
                    let order = orders::upsert(c, dealer_id, &order, t)
                        .await?
                        .ok_or_else(|| EngineError::internal("session order"))?;
                    let invoice = invoices::InvoiceWrite {
                        dealer_order_id: order.id,
                        ..invoice
                    };
                    let invoice = invoices::upsert(c, dealer_id, &invoice, t)
                        .await?
                        .ok_or_else(|| EngineError::internal("session invoice"))?;
                    let session = repo::SessionWrite {
                        dealer_order_id: order.id,
                        invoice_id: invoice.id,
                        ..session
                    };
                    match repo::insert_session(c, &session, t).await {
                        Ok(r) => Ok(r.id),
                        Err(e) if e.is_unique_violation() => Err(err(
                            Kind::Conflict,
                            co::REFERENCE_ID_EXISTED,
                            "referenceId: already used in this namespace",
                        )),
                        Err(e) => Err(e.into()),
                    }
                })
            })
            .await?;
        self.session_by_id(id).await
    }

    /// A session of the merchant's namespace.
    pub async fn session(&self, actor: &Actor, id: &str) -> EngineResult<SessionView> {
        self.load_session(merchant(actor)?, id).await
    }

    /// Sessions of the merchant's namespace, oldest first, a page at a time.
    pub async fn list_sessions(
        &self,
        actor: &Actor,
        q: SessionListQuery,
    ) -> EngineResult<SessionPage> {
        let m = merchant(actor)?;
        let limit = match q.limit {
            Some(l) if (1..=100).contains(&l) => l,
            Some(_) => return Err(EngineError::invalid("limit", "must be 1 to 100")),
            None => 20,
        };
        let after = match q.starting_after.as_deref() {
            Some(c) => {
                self.load_session(m, c)
                    .await
                    .map_err(|_| {
                        EngineError::invalid("startingAfter", "not a session of this namespace")
                    })?
                    .session
                    .id
            }
            None => 0,
        };
        let ns = m.namespace.id;
        let mut sessions = self
            .db
            .read(move |c| {
                Box::pin(async move { views::sessions_after(c, ns, after, limit + 1).await })
            })
            .await?;
        let has_more = sessions.len() as i64 > limit;
        sessions.truncate(limit as usize);
        let next_cursor = if has_more {
            sessions.last().map(|v| v.session.uuid.clone())
        } else {
            None
        };
        Ok(SessionPage {
            sessions,
            has_more,
            next_cursor,
        })
    }

    /// Cancels an open session, or an authorized one (its hold is released at the processor;
    /// the session follows its attempt).
    pub async fn cancel_session(&self, actor: &Actor, id: &str) -> EngineResult<SessionView> {
        let m = merchant(actor)?;
        let v = self.load_session(m, id).await?;
        if let Some(e) = terminal_error(v.session.status) {
            return Err(e);
        }
        if v.session.status == SessionStatus::RequiresCapture {
            let could_not = || {
                conflict(
                    co::SESSION_COULD_NOT_CANCEL,
                    "the authorization could not be released now; retry",
                )
            };
            let attempt = self.session_attempt(&v).await?;
            let outcome = self
                .release_attempt(attempt)
                .await
                .map_err(|_| could_not())?;
            let mut v = v;
            if let Some((_, a)) = &mut v.payment {
                *a = outcome.attempt.attempt;
            }
            self.sync_session(v).await?;
            return self.load_session(m, id).await;
        }
        let (sid, t) = (v.session.id, now());
        let moved = self
            .db
            .write(move |c| {
                Box::pin(async move {
                    repo::transition(c, sid, &[SessionStatus::Open], SessionStatus::Cancelled, t)
                        .await
                })
            })
            .await?;
        if !moved {
            return Err(conflict(
                co::SESSION_COULD_NOT_CANCEL,
                "a payment on this session is being processed",
            ));
        }
        self.load_session(m, id).await
    }

    /// Expires an open session now.
    pub async fn expire_session(&self, actor: &Actor, id: &str) -> EngineResult<SessionView> {
        let m = merchant(actor)?;
        let v = self.load_session(m, id).await?;
        if let Some(e) = terminal_error(v.session.status) {
            return Err(e);
        }
        let (sid, t) = (v.session.id, now());
        let moved = self
            .db
            .write(move |c| {
                Box::pin(async move {
                    repo::transition(c, sid, &[SessionStatus::Open], SessionStatus::Expired, t)
                        .await
                })
            })
            .await?;
        if !moved {
            return Err(conflict(
                co::SESSION_COULD_NOT_CANCEL,
                "only an open session can be expired",
            ));
        }
        self.load_session(m, id).await
    }

    /// The attempt under an authorized session's latest intent, as the payment engine takes it.
    pub(crate) async fn session_attempt(
        &self,
        v: &SessionView,
    ) -> EngineResult<store::views::AttemptView> {
        let (_, a) = v
            .payment
            .as_ref()
            .ok_or_else(|| EngineError::internal("authorized session without intent"))?;
        let id = a.id;
        self.db
            .read(move |c| Box::pin(async move { views::attempt_by_id(c, id).await }))
            .await?
            .ok_or_else(|| EngineError::internal("intent without attempt"))
    }

    /// Captures a manual-capture session's authorization, in full (default) or in part, once;
    /// the rest of the hold is released.
    pub async fn capture_session(
        &self,
        actor: &Actor,
        id: &str,
        amount: Option<Money>,
    ) -> EngineResult<SessionView> {
        let m = merchant(actor)?;
        let v = self.load_session(m, id).await?;
        match v.session.status {
            SessionStatus::RequiresCapture => {}
            SessionStatus::Succeeded => {
                return Err(conflict(
                    co::SESSION_ALREADY_COMPLETED,
                    "this session was already captured",
                ))
            }
            SessionStatus::Open | SessionStatus::Processing => {
                return Err(conflict(
                    co::SESSION_COULD_NOT_CAPTURE,
                    "there is no authorization to capture",
                ))
            }
            other => {
                return Err(terminal_error(other)
                    .unwrap_or_else(|| EngineError::internal("unknown session status")))
            }
        }
        let amount = amount.unwrap_or(v.session.authorized);
        if amount > v.session.authorized {
            return Err(super::bad(
                co::INVALID_CAPTURE_AMOUNT,
                "amount: exceeds the authorized amount",
            ));
        }
        if amount == Money::ZERO {
            return Err(EngineError::invalid("amount", "must be more than 0"));
        }
        let attempt = self.session_attempt(&v).await?;
        let outcome = match self.capture_attempt(attempt, Some(amount)).await {
            Ok(o) => o,
            // Another capture (or a release) holds the attempt.
            Err(e) if e.kind == Kind::Conflict => {
                return Err(conflict(
                    co::SESSION_COULD_NOT_CAPTURE,
                    "the session is being captured or cancelled",
                ))
            }
            Err(e) => return Err(e),
        };
        let mut v = v;
        if let Some((_, a)) = &mut v.payment {
            *a = outcome.attempt.attempt;
        }
        self.sync_session(v).await
    }
}
