//! Payment requests (SPEC §5): a payable link for an invoice. A newer request makes older
//! ones obsolete; past its ttl (or once the dealer withdraws it) a request is expired.
//!
//! Two kinds of caller: the dealer's systems (create, expire, the documented read), and the
//! customer holding the link (the pay page), who acts as [`Actor::Customer`] and may pay
//! that link's invoice and see its receipts, nothing else.

use crate::actor::Actor;
use crate::error::{EngineError, EngineResult};
use crate::payments::{
    attempt_not_found, Confirm, FeeRequest, PaymentOutcome, PrePayment, LOCALES,
};
use crate::{now, validate, Engine};
use connectors::PaymentMethod;
use domain::catalog::v1;
use domain::scope::Scope;
use domain::status::{OrderStatus, PaymentRequestStatus, TransactionStatus, TransactionType};
use domain::Money;
use rand::Rng;
use std::collections::BTreeMap;
use std::sync::Arc;
use store::repo::payment_requests::{
    self as repo, PaymentRequestRow, PaymentRequestWrite, RequestAttempt,
};
use store::repo::transactions::TransactionRow;
use store::repo::{dealers, invoices, orders};
use store::views::{self, OrderKey, PaymentRequestView};

/// Seconds a link stays payable unless the request says otherwise (7 days).
pub const DEFAULT_TTL: i64 = 7 * 24 * 3600;
pub const MIN_TTL: i64 = 300;
pub const MAX_TTL: i64 = 30 * 24 * 3600;

/// In a pay-link `return_url`, replaced with the uuid of the attempt the payment made.
pub const ATTEMPT_PLACEHOLDER: &str = "{attempt}";

/// The smallest partial payment a link accepts (unless less than that is due).
const MIN_LINK_PAYMENT_CENTS: i64 = 100;

const SHORT_CODE_LEN: usize = 10;

/// `POST …/paymentrequest`, as sent: the fields are checked here, in the documented order
/// (authorization comes right after `dealerUuid`).
#[derive(Debug, Clone, Default)]
pub struct NewPaymentRequest {
    pub dealer_uuid: Option<String>,
    pub invoice_guid: Option<String>,
    /// Defaults to what is due. Less than due only where the dealer allows partial payments.
    pub amount: Option<Money>,
    /// Seconds (300 – 2592000; default 604800).
    pub ttl: Option<i64>,
    /// Default "API".
    pub source: Option<String>,
    pub source_info: Option<String>,
    /// Default "ONLINE".
    pub payment_type: Option<String>,
    /// en, es or fr-CA (default en).
    pub locale: Option<String>,
    pub attributes: BTreeMap<String, String>,
}

/// What create and expire answer: the request as it is now, with its links.
#[derive(Debug, Clone)]
pub struct RequestOutcome {
    pub request: PaymentRequestRow,
    pub invoice_guid: String,
    /// The customer's pay page.
    pub pay_url: String,
    /// A short link that redirects to the pay page.
    pub short_url: String,
    /// True when the dealer just withdrew it (expire).
    pub expired: bool,
}

/// Where a payment link stands for the customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    /// It can be paid now.
    Payable,
    /// Past its ttl, or withdrawn by the dealer.
    Expired,
    /// A newer request for the invoice replaced it.
    Obsolete,
    /// The invoice has nothing left to pay.
    Paid,
    /// The repair order is closed.
    Closed,
}

/// A payment link as its customer sees it.
#[derive(Debug, Clone)]
pub struct LinkView {
    pub view: PaymentRequestView,
    pub state: LinkState,
}

impl LinkView {
    /// What the link asks for now: the request's amount, but never more than is still due.
    pub fn due_now(&self) -> Money {
        self.view
            .request
            .amount
            .min(self.view.context.invoice.due())
    }

    /// The invoice's approved card charges (each has a receipt), oldest first.
    pub fn receipts(&self) -> impl Iterator<Item = &TransactionRow> {
        self.view.transactions.iter().filter(|t| is_receipt(t))
    }
}

fn is_receipt(t: &TransactionRow) -> bool {
    t.transaction_type == TransactionType::Charge && t.status == TransactionStatus::Approved
}

/// A receipt: one approved charge of a link's invoice.
#[derive(Debug, Clone)]
pub struct Receipt {
    pub link: LinkView,
    pub charge: TransactionRow,
}

fn invalid_guid() -> EngineError {
    EngineError::bad_request(
        v1::INVALID_PAYMNETREQUEST_GUID,
        "guid: no such payment request",
    )
}

/// A request guid in its canonical form; anything that is not a UUID names no request.
fn request_guid(guid: &str) -> EngineResult<String> {
    uuid::Uuid::parse_str(guid)
        .map(|u| u.to_string())
        .map_err(|_| invalid_guid())
}

fn no_link() -> EngineError {
    EngineError::not_found(
        v1::INVALID_PAYMNETREQUEST_GUID,
        "guid: no such payment request",
    )
}

fn no_receipt() -> EngineError {
    EngineError::not_found(
        v1::ERROR_FETCHING_TRANSACTION,
        "transactionUuid: no such receipt for this link",
    )
}

fn short_code() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut rng = rand::thread_rng();
    (0..SHORT_CODE_LEN)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

/// Why a stored request cannot be paid, if it cannot.
pub fn unpayable(row: &PaymentRequestRow, now: i64) -> Option<EngineError> {
    if row.status == PaymentRequestStatus::Obsolete {
        Some(EngineError::bad_request(
            v1::PAYMENT_REQUEST_OBSOLETE,
            "a newer payment request replaced this one",
        ))
    } else if row.expires_at <= now {
        Some(EngineError::bad_request(
            v1::PAYMENT_REQUEST_EXPIRED,
            "this payment request has expired",
        ))
    } else {
        None
    }
}

/// Where a link stands at `now`.
pub fn link_state(view: &PaymentRequestView, now: i64) -> LinkState {
    let r = &view.request;
    if r.status == PaymentRequestStatus::Obsolete {
        LinkState::Obsolete
    } else if r.expires_at <= now {
        LinkState::Expired
    } else if view.context.invoice.due() == Money::ZERO {
        LinkState::Paid
    } else if view.context.order.order_status == OrderStatus::Closed {
        LinkState::Closed
    } else {
        LinkState::Payable
    }
}

impl Engine {
    fn public_base(&self) -> &str {
        self.config.public_url.trim_end_matches('/')
    }

    fn outcome(
        &self,
        request: PaymentRequestRow,
        invoice_guid: String,
        expired: bool,
    ) -> RequestOutcome {
        let base = self.public_base();
        RequestOutcome {
            pay_url: format!("{base}/pay/{}", request.guid),
            short_url: format!("{base}/p/{}", request.short_code),
            request,
            invoice_guid,
            expired,
        }
    }

    /// The key of the customer pages' form tokens (CSRF): the dealer-token signing key, as
    /// before, so it rotates with it.
    pub fn page_form_key(&self) -> Arc<Vec<u8>> {
        self.token_key()
    }

    /// `POST …/paymentrequest`: scope `payment.paymentrequest` on the dealer. Makes every
    /// earlier request for the invoice obsolete (under the invoice lock) and marks the order
    /// as having had a payment request sent.
    pub async fn create_payment_request(
        &self,
        actor: &Actor,
        cmd: NewPaymentRequest,
    ) -> EngineResult<RequestOutcome> {
        let dealer_uuid = validate::required_text("dealerUuid", cmd.dealer_uuid.as_deref(), 64)?;
        let dealer_uuid = uuid::Uuid::parse_str(&dealer_uuid)
            .map_err(|_| EngineError::invalid("dealerUuid", "must be a UUID"))?
            .to_string();
        actor.require_dealer(Scope::PaymentRequest, &dealer_uuid)?;
        let invoice_guid = cmd
            .invoice_guid
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| {
                EngineError::bad_request(v1::INVOICE_UUID_NOT_PRESENT, "invoiceGuid: is required")
            })?;
        let unknown = || {
            EngineError::bad_request(
                v1::INVALID_INVOICE_UUID,
                "invoiceGuid: no such invoice for this dealer",
            )
        };
        let invoice_guid = uuid::Uuid::parse_str(invoice_guid.trim())
            .map_err(|_| unknown())?
            .to_string();
        let ttl = cmd.ttl.unwrap_or(DEFAULT_TTL);
        if !(MIN_TTL..=MAX_TTL).contains(&ttl) {
            return Err(EngineError::invalid(
                "ttl",
                format!("must be between {MIN_TTL} and {MAX_TTL} seconds"),
            ));
        }
        let locale = cmd
            .locale
            .as_deref()
            .map(str::trim)
            .unwrap_or("en")
            .to_string();
        if !LOCALES.contains(&locale.as_str()) {
            return Err(EngineError::invalid(
                "locale",
                format!("must be one of {LOCALES:?}"),
            ));
        }
        let source = validate::optional_text("source", cmd.source.as_deref(), 64)?
            .unwrap_or_else(|| "API".into());
        let source_info = validate::optional_text("sourceInfo", cmd.source_info.as_deref(), 500)?;
        let payment_type = validate::optional_text("paymentType", cmd.payment_type.as_deref(), 32)?
            .unwrap_or_else(|| "ONLINE".into());
        if cmd.attributes.len() > 50 {
            return Err(EngineError::invalid("attributes", "at most 50 attributes"));
        }
        let mut attributes = Vec::new();
        for (k, v) in &cmd.attributes {
            let k = validate::required_text("attributes", Some(k), 100)?;
            attributes.push((k, validate::text("attributes", v, 1000)?));
        }
        let requested = cmd.amount;
        let (guid, code, t) = (uuid::Uuid::new_v4().to_string(), short_code(), now());
        let (row, invoice_guid) = self
            .db
            .write(move |c| {
                Box::pin(async move {
                    let dealer = dealers::dealer_by_uuid(c, &dealer_uuid)
                        .await?
                        .ok_or_else(|| EngineError::bad_request(v1::INVALID_DEALER, "dealerUuid: no such dealer"))?;
                    let found = invoices::by_guid(c, &invoice_guid)
                        .await?
                        .filter(|i| i.dealer_id == dealer.id)
                        .ok_or_else(unknown)?;
                    // The invoice lock orders concurrent requests for one invoice (PostgreSQL);
                    // on SQLite the single writer does. What it guards is read after it.
                    invoices::lock(c, found.id).await?;
                    let checks = repo::invoice_checks(c, found.id)
                        .await?
                        .ok_or_else(|| EngineError::internal("invoice vanished under its lock"))?;
                    let invoice = checks.invoice;
                    let (order_id, order_status) = checks
                        .order_id
                        .zip(checks.order_status)
                        .ok_or_else(|| EngineError::internal("invoice without order"))?;
                    if order_status == OrderStatus::Closed {
                        return Err(EngineError::bad_request(
                            v1::REPAIR_ORDER_CLOSED,
                            "the repair order of this invoice is closed",
                        ));
                    }
                    let blacklisted =
                        checks.customer_blacklisted.ok_or_else(|| EngineError::internal("invoice without customer"))?;
                    if blacklisted {
                        return Err(EngineError::bad_request(
                            v1::CUSTOMER_BLACKLISTED,
                            "the invoice's customer is blacklisted",
                        ));
                    }
                    let due = invoice.due();
                    if due == Money::ZERO {
                        return Err(EngineError::bad_request(
                            v1::INVOICE_ALREADY_PAID,
                            "the invoice has nothing left to pay",
                        ));
                    }
                    let amount = requested.unwrap_or(due);
                    if amount == Money::ZERO || amount > due {
                        return Err(EngineError::invalid(
                            "amount",
                            format!("must be more than 0 and at most the amount due ({due})"),
                        ));
                    }
                    if amount != due && !dealer.allow_partial_payments {
                        return Err(EngineError::invalid(
                            "amount",
                            "this dealer does not accept partial payments; request the full amount due",
                        ));
                    }
                    let w = PaymentRequestWrite {
                        guid,
                        short_code: code,
                        invoice_id: invoice.id,
                        dealer_id: dealer.id,
                        amount,
                        ttl_seconds: ttl,
                        source,
                        source_info,
                        payment_type,
                        locale,
                        attributes,
                    };
                    let row = match repo::supersede_and_insert(c, &w, t).await {
                        Ok(r) => r,
                        Err(e) if e.is_unique_violation() => {
                            return Err(EngineError::conflict(
                                v1::ANOTHER_REQUEST_IN_PROGRESS,
                                "another payment request for this invoice is being created",
                            ))
                        }
                        Err(e) => return Err(e.into()),
                    };
                    orders::mark_payment_request_sent(c, order_id, t).await?;
                    Ok::<_, EngineError>((row, invoice.guid))
                })
            })
            .await?;
        Ok(self.outcome(row, invoice_guid, false))
    }

    /// `POST …/paymentrequest/{guid}/expire`: the dealer withdraws a link before its ttl
    /// (scope `payment.paymentrequest` on the request's dealer). The pay page then shows it as
    /// expired; its receipts stay reachable.
    pub async fn expire_payment_request(
        &self,
        actor: &Actor,
        guid: &str,
    ) -> EngineResult<RequestOutcome> {
        let guid = request_guid(guid)?;
        let g = guid.clone();
        let (pr, dealer_uuid) = self
            .db
            .read(move |c| {
                Box::pin(async move {
                    let Some(pr) = repo::by_guid(c, &g).await? else {
                        return Err(invalid_guid());
                    };
                    let dealer = dealers::dealer_by_id(c, pr.dealer_id)
                        .await?
                        .ok_or_else(|| EngineError::internal("request without dealer"))?;
                    Ok::<_, EngineError>((pr, dealer.uuid))
                })
            })
            .await?;
        actor.require_dealer(Scope::PaymentRequest, &dealer_uuid)?;
        let t = now();
        if let Some(e) = unpayable(&pr, t) {
            return Err(e);
        }
        let (row, invoice_guid) = self
            .db
            .write(move |c| {
                Box::pin(async move {
                    if !repo::expire_now(c, pr.id, t).await? {
                        // It expired or was replaced between the read and the update.
                        let pr = repo::by_guid(c, &guid).await?.ok_or_else(invalid_guid)?;
                        return Err(unpayable(&pr, now()).unwrap_or_else(invalid_guid));
                    }
                    let pr = repo::by_guid(c, &guid).await?.ok_or_else(invalid_guid)?;
                    let invoice = invoices::by_id(c, pr.invoice_id)
                        .await?
                        .ok_or_else(|| EngineError::internal("request without invoice"))?;
                    Ok::<_, EngineError>((pr, invoice.guid))
                })
            })
            .await?;
        Ok(self.outcome(row, invoice_guid, true))
    }

    /// `GET …/paymentrequest/{guid}` (documented): scope `payment.payisland` on the request's
    /// dealer. An unknown guid is `Invalid` (the documented route has no 404); an obsolete or
    /// expired request is refused.
    pub async fn payment_request(
        &self,
        actor: &Actor,
        guid: &str,
    ) -> EngineResult<PaymentRequestView> {
        let guid = request_guid(guid)?;
        let view = self
            .db
            .read(move |c| Box::pin(async move { views::payment_request_by_guid(c, &guid).await }))
            .await?
            .ok_or_else(invalid_guid)?;
        actor.require_dealer(Scope::PayIsland, &view.context.dealer.uuid)?;
        if let Some(e) = unpayable(&view.request, now()) {
            return Err(e);
        }
        Ok(view)
    }

    /// `GET /p/{code}`: the guid of the request a short link names (`NotFound` when none).
    pub async fn resolve_short_link(&self, code: &str) -> EngineResult<String> {
        let bad =
            || EngineError::not_found(v1::INVALID_SHORT_URL, "no payment link with this code");
        if code.len() != SHORT_CODE_LEN || !code.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(bad());
        }
        let code = code.to_string();
        let pr = self
            .db
            .read(move |c| Box::pin(async move { repo::by_short_code(c, &code).await }))
            .await?
            .ok_or_else(bad)?;
        Ok(pr.guid)
    }

    /// The pay page: a link by its guid as typed in the URL, with everything it shows and
    /// where it stands. `NotFound` when there is no such link (or the guid is malformed).
    pub async fn link(&self, guid: &str) -> EngineResult<LinkView> {
        let guid = uuid::Uuid::parse_str(guid)
            .map_err(|_| no_link())?
            .to_string();
        let view = self
            .db
            .read(move |c| Box::pin(async move { views::payment_request_by_guid(c, &guid).await }))
            .await?
            .ok_or_else(no_link)?;
        let state = link_state(&view, now());
        Ok(LinkView { view, state })
    }

    /// An attempt made on the link's invoice (`NotFound` otherwise), with its outcome.
    pub async fn link_attempt(
        &self,
        guid: &str,
        attempt_uuid: &str,
    ) -> EngineResult<RequestAttempt> {
        let guid = uuid::Uuid::parse_str(guid)
            .map_err(|_| no_link())?
            .to_string();
        let uuid = uuid::Uuid::parse_str(attempt_uuid)
            .map_err(|_| attempt_not_found())?
            .to_string();
        self.db
            .read(move |c| Box::pin(async move { repo::attempt_of_request(c, &guid, &uuid).await }))
            .await?
            .ok_or_else(attempt_not_found)
    }

    /// The customer pays the link with a card: a charge attempt on the link's invoice
    /// (prePayment's rules) confirmed at once. `amount`: a partial payment where the dealer
    /// allows them (at least 1.00, or the whole amount if less is due); `None`, what the link
    /// asks for now. `cmd.return_url`: where 3-D Secure returns the customer, `{attempt}`
    /// replaced with the new attempt's uuid; `None` for the link's own return page
    /// (`{public_url}/pay/{guid}/return/{attempt}?lang={locale}`).
    ///
    /// `Err` when nothing was charged (the link cannot be paid, the rules refuse, the card is
    /// refused before the processor); otherwise the attempt as it is now.
    pub async fn pay_link(
        &self,
        guid: &str,
        amount: Option<Money>,
        mut cmd: Confirm,
        locale: &str,
    ) -> EngineResult<PaymentOutcome> {
        let guid = uuid::Uuid::parse_str(guid)
            .map_err(|_| no_link())?
            .to_string();
        if !LOCALES.contains(&locale) {
            return Err(EngineError::invalid("locale", "must be en, es or fr-CA"));
        }
        let g = guid.clone();
        let keys = self
            .db
            .read(move |c| Box::pin(async move { repo::pay_keys(c, &g).await }))
            .await?
            .ok_or_else(no_link)?;
        if let Some(e) = unpayable(&keys.request, now()) {
            return Err(e);
        }
        // Paid and closed are prePayment's own rules (INVOICE_ALREADY_PAID, REPAIR_ORDER_CLOSED).
        let due = keys.request.amount.min(keys.invoice.due());
        let amount = match amount {
            None => due,
            Some(a) => {
                let min = Money::from_stored(MIN_LINK_PAYMENT_CENTS.min(due.cents()))
                    .unwrap_or(Money::ZERO);
                if a == Money::ZERO || a < min || a > due {
                    return Err(EngineError::invalid(
                        "amount",
                        format!("must be at least {min} and at most the amount due ({due})"),
                    ));
                }
                if a != due && !keys.allow_partial_payments {
                    return Err(EngineError::invalid(
                        "amount",
                        "this dealer does not accept partial payments; pay the full amount due",
                    ));
                }
                a
            }
        };
        let card_digits = match &cmd.method {
            PaymentMethod::Card(c) => Some(c.number.last4().to_string()),
            PaymentMethod::Token(_) => None,
        };
        let desc = "Paid online from a payment link";
        let mut attributes = serde_json::Map::new();
        attributes.insert("paymentRequestGuid".into(), guid.clone().into());
        // The request as the pay page always sent it to prePayment (null fields left out).
        let mut stored = serde_json::Map::new();
        // (In prePayment's field order, should the map keep insertion order.)
        stored.insert("dealerUuid".into(), keys.dealer_uuid.clone().into());
        stored.insert("customerUuid".into(), keys.customer_uuid.clone().into());
        stored.insert("invoiceGUID".into(), keys.invoice.guid.clone().into());
        stored.insert("desc".into(), desc.into());
        stored.insert(
            "amount".into(),
            serde_json::to_value(amount).map_err(EngineError::internal)?,
        );
        stored.insert("dealerOrderUuid".into(), keys.order_uuid.clone().into());
        stored.insert("locale".into(), locale.into());
        if let Some(d) = &card_digits {
            stored.insert("cardDigits".into(), d.clone().into());
        }
        stored.insert(
            "attributes".into(),
            serde_json::Value::Object(attributes.clone()),
        );
        let pre = PrePayment {
            dealer_uuid: keys.dealer_uuid,
            customer_uuid: keys.customer_uuid,
            order: OrderKey::Uuid(keys.order_uuid),
            invoice_guid: keys.invoice.guid,
            amount,
            card_digits,
            ignore_duplicates: false,
            locale: locale.to_string(),
            cashier_uuid: None,
            fee_request: FeeRequest::default(),
            details: Vec::new(),
            attributes: serde_json::Value::Object(attributes).to_string(),
            stored_request: serde_json::Value::Object(stored).to_string(),
        };
        let created = self.create_charge_attempt(pre).await?;
        let attempt = created.attempt.attempt.uuid.clone();
        cmd.return_url = Some(match cmd.return_url.take() {
            Some(url) => url.replace(ATTEMPT_PLACEHOLDER, &attempt),
            None => format!(
                "{}/pay/{guid}/return/{attempt}?lang={locale}",
                self.public_base()
            ),
        });
        self.confirm_attempt(created.attempt, cmd).await
    }

    /// Back from 3-D Secure: completes an attempt of the link's invoice that waits for the
    /// customer's authentication. Works whatever the link's state now (the payment started
    /// while it was payable).
    pub async fn complete_link_attempt(
        &self,
        guid: &str,
        attempt_uuid: &str,
    ) -> EngineResult<PaymentOutcome> {
        let guid = uuid::Uuid::parse_str(guid)
            .map_err(|_| no_link())?
            .to_string();
        let uuid = uuid::Uuid::parse_str(attempt_uuid)
            .map_err(|_| attempt_not_found())?
            .to_string();
        let view = self
            .db
            .read(move |c| Box::pin(async move { views::attempt_by_uuid(c, &uuid).await }))
            .await?
            .ok_or_else(attempt_not_found)?;
        let actor = Actor::Customer {
            payment_request_guid: guid,
        };
        self.authorize_attempt(&actor, &view).await?;
        self.complete_attempt(view).await
    }

    /// A receipt: an approved charge of the link's invoice, shown only under a link of that
    /// invoice — also after the link expired or was replaced. `NotFound` otherwise.
    pub async fn link_receipt(&self, guid: &str, transaction_uuid: &str) -> EngineResult<Receipt> {
        let uuid = uuid::Uuid::parse_str(transaction_uuid)
            .map_err(|_| no_receipt())?
            .to_string();
        let link = self.link(guid).await?;
        let charge = link
            .receipts()
            .find(|t| t.uuid == uuid)
            .cloned()
            .ok_or_else(no_receipt)?;
        Ok(Receipt { link, charge })
    }
}
