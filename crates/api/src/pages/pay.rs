//! The pay page ("payisland", SPEC §5): what a payment link is for, the fee disclosure, the
//! card form, the way back from 3-D Secure, and the link's end states. Payments go through
//! the same prePayment → confirm engine as the API, acting for the link's dealer with the
//! prePayment scope only.

use super::card_form::{self, AmountField, CardFormPost, FieldErrors, FormView, Refill};
use super::html::{esc, row, Page};
use super::i18n::{fill, Locale, Text};
use super::{guard, not_found, unavailable, PageQuery};
use crate::app::AppState;
use crate::auth::Principal;
use crate::core::payment_requests::{self as prq, unpayable};
use crate::core::payments::{self, ConfirmRequest, PrePaymentRequest};
use crate::error::{ApiError, Code};
use axum::extract::rejection::{FormRejection, PathRejection, QueryRejection};
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use domain::catalog::v1;
use domain::fees::TenderType;
use domain::scope::Scope;
use domain::{Money, Timestamp};
use serde::Deserialize;
use store::repo::attempts::{self, AttemptRow};
use store::repo::payment_requests::PaymentRequestRow;
use store::repo::{dealers, invoices, orders, payment_requests, transactions};

/// Everything a pay page shows about its link.
pub struct Link {
    pub pr: PaymentRequestRow,
    pub dealer: dealers::DealerRow,
    pub invoice: invoices::InvoiceRow,
    pub order: orders::OrderRow,
    pub customer_uuid: String,
    pub dto: wire::PaymentRequestDto,
    pub locale: Locale,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    Open,
    Expired,
    Obsolete,
    Paid,
    Closed,
}

impl LinkState {
    fn name(self) -> &'static str {
        match self {
            LinkState::Open => "open",
            LinkState::Expired => "expired",
            LinkState::Obsolete => "obsolete",
            LinkState::Paid => "paid",
            LinkState::Closed => "closed",
        }
    }
}

impl Link {
    /// Loads a link by its guid as typed in the URL; `None` when there is no such link.
    pub async fn load(
        app: &AppState,
        guid: &str,
        lang: Option<&str>,
        headers: &HeaderMap,
    ) -> Result<Option<Link>, ApiError> {
        let Ok(guid) = uuid::Uuid::parse_str(guid) else {
            return Ok(None);
        };
        let Some(pr) = payment_requests::by_guid(&app.db, &guid.to_string()).await? else {
            return Ok(None);
        };
        let missing = || ApiError::internal("payment request with missing rows");
        let dealer = dealers::dealer_by_id(&app.db, pr.dealer_id)
            .await?
            .ok_or_else(missing)?;
        let invoice = invoices::by_id(&app.db, pr.invoice_id)
            .await?
            .ok_or_else(missing)?;
        let order = orders::by_id(&app.db, invoice.dealer_order_id)
            .await?
            .ok_or_else(missing)?;
        let customer = dealers::customer_by_id(&app.db, invoice.customer_id)
            .await?
            .ok_or_else(missing)?;
        let dto = prq::load(app, &pr, &dealer).await?;
        let locale = lang
            .and_then(Locale::parse)
            .or_else(|| Locale::parse(&pr.locale))
            .or_else(|| super::accept_language(headers))
            .unwrap_or(Locale::En);
        Ok(Some(Link {
            pr,
            dealer,
            invoice,
            order,
            customer_uuid: customer.uuid,
            dto,
            locale,
        }))
    }

    pub fn state(&self, now: i64) -> LinkState {
        if let Some(e) = unpayable(&self.pr, now) {
            return match e.code {
                Code::V1(c) if c == v1::PAYMENT_REQUEST_OBSOLETE => LinkState::Obsolete,
                _ => LinkState::Expired,
            };
        }
        if self.invoice.due_cents() == 0 {
            LinkState::Paid
        } else if self.order.order_status == "CLOSED" {
            LinkState::Closed
        } else {
            LinkState::Open
        }
    }

    /// What this link asks for now: the request's amount, but never more than is still due.
    pub fn due_now(&self) -> i64 {
        self.pr.amount_cents.min(self.invoice.due_cents())
    }

    pub fn order_number(&self) -> &str {
        &self.order.order_number
    }

    fn path(&self) -> String {
        format!("/pay/{}", self.pr.guid)
    }

    fn csrf_scope(&self) -> String {
        format!("pay:{}", self.pr.guid)
    }

    fn money(&self, cents: i64) -> String {
        self.locale
            .money(Money::from_cents(cents).unwrap_or_default())
    }

    fn vehicle(&self) -> Option<String> {
        let v = self.dto.invoice.dealer_order.vehicle.as_ref()?;
        let make = v
            .make
            .clone()
            .or_else(|| v.brand.as_ref().map(|b| b.brand_name.clone()));
        let mut parts: Vec<String> = [v.year.clone(), make, v.model.clone()]
            .into_iter()
            .flatten()
            .filter(|s| !s.trim().is_empty())
            .collect();
        if let Some(vin) = v.vin.as_deref().filter(|s| s.len() >= 6) {
            parts.push(format!("(VIN …{})", &vin[vin.len() - 6..]));
        }
        (!parts.is_empty()).then(|| parts.join(" "))
    }

    /// The dealer's name and how to reach them.
    pub fn dealer_block(&self) -> String {
        let d = &self.dto.invoice.dealer;
        let mut contact = Vec::new();
        if let Some(p) = d.phone_number.as_deref().filter(|s| !s.is_empty()) {
            let tel: String = p
                .chars()
                .filter(|c| c.is_ascii_digit() || *c == '+')
                .collect();
            contact.push(format!("<a href=\"tel:{}\">{}</a>", esc(&tel), esc(p)));
        }
        if let Some(e) = d.email_id.as_deref().filter(|s| !s.is_empty()) {
            contact.push(format!("<a href=\"mailto:{0}\">{0}</a>", esc(e)));
        }
        if let Some(w) = d
            .website
            .as_deref()
            .filter(|s| s.starts_with("https://") || s.starts_with("http://"))
        {
            contact.push(format!(
                "<a href=\"{0}\" rel=\"noopener noreferrer\">{0}</a>",
                esc(w)
            ));
        }
        let t = self.locale.text();
        let contact = if contact.is_empty() {
            String::new()
        } else {
            format!(
                "<p id=\"dealer-contact\" class=\"contact\"><span class=\"visually-hidden\">{}: </span>{}</p>",
                esc(t.dealer_contact),
                contact.join(" · ")
            )
        };
        format!(
            "<p class=\"dealer\"><strong id=\"dealer-name\">{}</strong></p>{contact}",
            esc(&self.dealer.name)
        )
    }

    /// Repair order, vehicle, invoice lines and the amounts.
    fn invoice_block(&self) -> String {
        let t = self.locale.text();
        let inv = &self.invoice;
        let mut rows = row("ro-number", t.repair_order, &self.order.order_number);
        if let Some(v) = self.vehicle() {
            rows.push_str(&row("vehicle", t.vehicle, &v));
        }
        if let Some(d) = inv.description.as_deref().filter(|s| !s.trim().is_empty()) {
            rows.push_str(&row("invoice-description", t.invoice, d));
        }
        for a in &self.dto.invoice.invoice_attributes {
            let value = a.value.as_deref().unwrap_or("");
            // Amount-like values print as money in the page's locale.
            let value = match value
                .trim()
                .parse::<f64>()
                .ok()
                .and_then(|v| Money::from_dollars(v).ok())
            {
                Some(m) => self.locale.money(m),
                None => value.to_string(),
            };
            rows.push_str(&format!(
                "<div class=\"row line\"><dt>{}</dt><dd>{}</dd></div>",
                esc(&humanize(&a.option)),
                esc(&value)
            ));
        }
        rows.push_str(&row(
            "invoice-total",
            t.invoice_total,
            &self.money(inv.amount_cents),
        ));
        rows.push_str(&row(
            "amount-paid",
            t.already_paid,
            &self.money(inv.paid_cents - inv.refunded_cents),
        ));
        rows.push_str(&format!(
            "<div class=\"row total\"><dt>{}</dt><dd id=\"amount-due\">{}</dd></div>",
            esc(t.amount_due),
            esc(&self.money(self.due_now()))
        ));
        format!("<dl class=\"invoice\">{rows}</dl>")
    }

    /// The disclosure card-acceptance rules ask for before the customer pays: the surcharge
    /// percent and amount, or the card and cash prices.
    fn fee_disclosure(&self, amount_cents: i64) -> String {
        let t = self.locale.text();
        let settings = self.dealer.fee_settings();
        let amount = Money::from_cents(amount_cents).unwrap_or_default();
        let quote = settings.quote(amount, TenderType::Credit, None);
        let mut parts = Vec::new();
        if settings.surcharge_enabled && quote.surcharge.cents() > 0 {
            let bps = (quote.surcharge.cents() * 10_000 + amount_cents / 2) / amount_cents.max(1);
            parts.push(fill(
                t.surcharge_disclosure,
                &[
                    (
                        "percent",
                        &self.locale.percent(bps.min(self.dealer.surcharge_bps)),
                    ),
                    ("amount", &self.locale.money(quote.surcharge)),
                    ("total", &self.locale.money(quote.total)),
                ],
            ));
            parts.push(t.surcharge_debit_note.to_string());
        }
        if settings.dual_pricing_enabled && quote.dual_pricing_fee.cents() > 0 {
            let card = amount.checked_add(quote.dual_pricing_fee).unwrap_or(amount);
            parts.push(fill(
                t.dual_pricing_disclosure,
                &[
                    ("card", &self.locale.money(card)),
                    ("cash", &self.locale.money(amount)),
                    (
                        "percent",
                        &self.locale.percent(self.dealer.dual_pricing_bps),
                    ),
                ],
            ));
        }
        if parts.is_empty() {
            return String::new();
        }
        if settings.sales_tax_enabled && quote.sales_tax.cents() > 0 {
            parts.push(t.sales_tax_note.to_string());
        }
        let paras: String = parts.iter().map(|p| format!("<p>{}</p>", esc(p))).collect();
        format!("<div id=\"fee-disclosure\" class=\"notice\">{paras}</div>")
    }

    /// Links to the receipts of the invoice's approved card payments.
    async fn receipts(&self, app: &AppState) -> Result<String, ApiError> {
        let t = self.locale.text();
        let charges: Vec<_> = transactions::for_invoice(&app.db, self.invoice.id)
            .await?
            .into_iter()
            .filter(|x| x.transaction_type == "CHARGE" && x.status == "APPROVED")
            .collect();
        if charges.is_empty() {
            return Ok(String::new());
        }
        let items: String = charges
            .iter()
            .map(|c| {
                let label = fill(
                    t.view_receipt,
                    &[
                        ("amount", &self.money(c.total_cents)),
                        ("date", &self.locale.date(c.created_at)),
                    ],
                );
                format!(
                    "<li><a class=\"receipt-link\" href=\"{}/receipt/{}?lang={}\">{}</a></li>",
                    esc(&self.path()),
                    esc(&c.uuid),
                    self.locale.tag(),
                    esc(&label)
                )
            })
            .collect();
        Ok(format!(
            "<h2>{}</h2><ul class=\"receipts\">{items}</ul>",
            esc(t.receipt_title)
        ))
    }

    fn page(&self, status: StatusCode, title: &str, body: String) -> Page {
        let mut p = Page::new(status, self.locale, title, body);
        p.brand = Some(self.dealer.name.clone());
        p.lang_path = Some(self.path());
        p
    }
}

/// `laborTotal` → `Labor total`: invoice attribute keys as a customer reads them.
fn humanize(key: &str) -> String {
    let mut out = String::new();
    for (i, c) in key.chars().enumerate() {
        if i == 0 {
            out.extend(c.to_uppercase());
        } else if c.is_uppercase() && !out.ends_with(' ') {
            out.push(' ');
            out.extend(c.to_lowercase());
        } else if c == '_' {
            out.push(' ');
        } else {
            out.push(c);
        }
    }
    out
}

/// The page for a link that cannot be paid (expired, replaced, paid, closed).
async fn status_page(app: &AppState, link: &Link, state: LinkState) -> Result<Page, ApiError> {
    let t = link.locale.text();
    let (status, title, text, ok) = match state {
        LinkState::Expired => (StatusCode::GONE, t.expired_title, t.expired_text, false),
        LinkState::Obsolete => (StatusCode::GONE, t.obsolete_title, t.obsolete_text, false),
        LinkState::Paid => (StatusCode::OK, t.paid_title, t.paid_text, true),
        LinkState::Closed | LinkState::Open => {
            (StatusCode::OK, t.closed_title, t.closed_text, false)
        }
    };
    let body = format!(
        "<div id=\"link-status\" class=\"status{}\" data-status=\"{}\"><h1>{}</h1><p>{}</p></div>{}{}{}",
        if ok { " ok" } else { "" },
        state.name(),
        esc(title),
        esc(text),
        link.dealer_block(),
        link.invoice_block(),
        link.receipts(app).await?
    );
    Ok(link.page(status, title, body))
}

/// What a failed post shows again.
#[derive(Default)]
struct Problem {
    message: Option<String>,
    fields: FieldErrors,
    refill: Refill,
}

/// The open link: invoice, disclosure, earlier receipts and the card form.
async fn open_page(
    app: &AppState,
    link: &Link,
    headers: &HeaderMap,
    status: StatusCode,
    problem: Problem,
) -> Result<Page, ApiError> {
    let t: &Text = link.locale.text();
    let (nonce, set_cookie) = guard::nonce(headers, app.config.public_url.starts_with("https://"));
    let due = link.due_now();
    let partial = link.dealer.allow_partial_payments != 0;
    let mut refill = problem.refill;
    if partial && refill.amount.is_empty() {
        // Offer the whole amount due; the customer may lower it.
        let m = Money::from_cents(due).unwrap_or_default();
        refill.amount = match link.locale {
            Locale::FrCa => m.to_string().replace('.', ","),
            _ => m.to_string(),
        };
    }
    let button = if partial {
        t.pay_button_plain.to_string()
    } else {
        fill(t.pay_button, &[("amount", &link.money(due))])
    };
    let form = card_form::render(&FormView {
        t,
        action: &link.path(),
        csrf: &guard::token(&app.token_key, &nonce, &link.csrf_scope()),
        lang: link.locale.tag(),
        button,
        errors: &problem.fields,
        refill: &refill,
        amount: partial.then(|| AmountField {
            max_text: link.money(due),
        }),
    });
    let has_error = problem.message.is_some() || !problem.fields.is_empty();
    let body = format!(
        "<h1>{}</h1>{}{}{}{}{}{}",
        esc(t.pay_title),
        card_form::summary(t, problem.message.as_deref(), &problem.fields),
        link.dealer_block(),
        link.invoice_block(),
        link.fee_disclosure(due),
        form,
        link.receipts(app).await?,
    );
    let mut page = link.page(status, t.pay_title, body);
    page.set_cookie = set_cookie;
    page.has_error = has_error;
    Ok(page)
}

/// A customer-facing sentence for a failed attempt.
pub fn decline_message(t: &Text, a: &AttemptRow) -> &'static str {
    if a.three_ds_failed != 0 {
        return t.declined_3ds;
    }
    match a.response_description.as_deref().unwrap_or("") {
        "insufficient_funds" => t.declined_funds,
        "expired_card" => t.declined_expired,
        "incorrect_cvc" => t.declined_cvc,
        "avs_failure" => t.declined_zip,
        "authentication_failed" | "authentication_abandoned" => t.declined_3ds,
        "processing_error" => t.processing_error,
        _ => t.declined_generic,
    }
}

/// A customer-facing sentence for an engine error that stopped a payment before the card
/// was charged.
pub fn engine_message(t: &Text, e: &ApiError) -> &'static str {
    match e.code {
        Code::V1(c) if c == v1::ANOTHER_REQUEST_IN_PROGRESS => t.in_progress,
        Code::V1(c) if c == v1::SUSPECTED_DUPLICATE_PAYMENT => t.duplicate,
        Code::V1(c) if c == v1::ERROR_CREATING_PAYMENTATTEMPT => t.too_many_attempts,
        _ if e.status.is_server_error() => t.unavailable_text,
        _ => t.processing_error,
    }
}

fn render(r: Result<Page, ApiError>, locale: Locale) -> Response {
    match r {
        Ok(p) => p.into_response(),
        Err(e) => unavailable(locale, &e).into_response(),
    }
}

/// The link a pay route addresses, or the page to answer instead (not found, unavailable).
async fn link_or_page(
    app: &AppState,
    guid: Result<Path<String>, PathRejection>,
    lang: Option<&str>,
    headers: &HeaderMap,
) -> Result<Link, Response> {
    let fallback = super::request_locale(lang, headers);
    let Ok(Path(guid)) = guid else {
        return Err(not_found(fallback));
    };
    match Link::load(app, &guid, lang, headers).await {
        Ok(Some(l)) => Ok(l),
        Ok(None) => Err(not_found(fallback)),
        Err(e) => Err(unavailable(fallback, &e).into_response()),
    }
}

/// `GET /pay/{guid}`: the pay page.
#[utoipa::path(get, path = "/pay/{guid}", tag = "customer pages",
    params(("guid" = String, Path), PageQuery),
    responses((status = 200, body = String, content_type = "text/html", description = "Open, paid or closed link"),
        (status = 404, body = String, content_type = "text/html"),
        (status = 410, body = String, content_type = "text/html", description = "Expired or superseded link"),
        (status = 429, body = String, content_type = "text/html")))]
pub async fn pay_page(
    State(app): State<AppState>,
    guid: Result<Path<String>, PathRejection>,
    q: Result<Query<PageQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Response {
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let link = match link_or_page(&app, guid, q.lang.as_deref(), &headers).await {
        Ok(l) => l,
        Err(page) => return page,
    };
    let locale = link.locale;
    let r = async {
        let state = link.state(Timestamp::now().millis());
        if state != LinkState::Open {
            return status_page(&app, &link, state).await;
        }
        // Back from a failed attempt (PRG): say why it failed.
        let mut problem = Problem::default();
        if let Some(a) = q
            .attempt
            .as_deref()
            .and_then(|u| uuid::Uuid::parse_str(u).ok())
        {
            if let Some(a) = attempts::by_uuid(&app.db, &a.to_string()).await? {
                if a.invoice_id == link.invoice.id && a.status == "Failed" {
                    problem.message = Some(decline_message(link.locale.text(), &a).to_string());
                }
            }
        }
        let status = if problem.message.is_some() {
            StatusCode::PAYMENT_REQUIRED
        } else {
            StatusCode::OK
        };
        open_page(&app, &link, &headers, status, problem).await
    }
    .await;
    render(r, locale)
}

/// Parses a typed amount in any of our locales' habits: `120`, `120.5`, `$1,234.56`,
/// `1 234,56 $`, `100,00`. The last `.` or `,` followed by one or two digits is the decimal
/// mark; other separators are grouping.
fn parse_amount(s: &str) -> Option<Money> {
    let t: String = s
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '$' && *c != '\u{a0}' && *c != '\u{202f}')
        .collect();
    if t.is_empty()
        || t.len() > 16
        || !t
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'.' || b == b',')
    {
        return None;
    }
    let (whole, frac) = match t.rfind(['.', ',']) {
        Some(i) if (1..=2).contains(&(t.len() - i - 1)) => (&t[..i], &t[i + 1..]),
        _ => (t.as_str(), ""),
    };
    let whole: String = whole.chars().filter(|c| c.is_ascii_digit()).collect();
    if whole.is_empty() || whole.len() > 9 {
        return None;
    }
    let cents = whole.parse::<i64>().ok()? * 100
        + match frac.len() {
            0 => 0,
            1 => frac.parse::<i64>().ok()? * 10,
            _ => frac.parse::<i64>().ok()?,
        };
    Money::from_cents(cents).ok()
}

fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// `POST /pay/{guid}`: pay the link with a card.
#[utoipa::path(post, path = "/pay/{guid}", tag = "customer pages",
    params(("guid" = String, Path)),
    request_body(content = CardFormPost, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "To the receipt, the 3-D Secure step, or back to the page with the outcome"),
        (status = 403, body = String, content_type = "text/html", description = "Form token missing or stale"),
        (status = 404, body = String, content_type = "text/html"),
        (status = 410, body = String, content_type = "text/html"),
        (status = 422, body = String, content_type = "text/html", description = "Card fields to correct"),
        (status = 429, body = String, content_type = "text/html")))]
pub async fn pay_submit(
    State(app): State<AppState>,
    guid: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    form: Result<Form<CardFormPost>, FormRejection>,
) -> Response {
    let post = form.map(|Form(f)| f).unwrap_or_default();
    let link = match link_or_page(&app, guid, post.lang.as_deref(), &headers).await {
        Ok(l) => l,
        Err(page) => return page,
    };
    let locale = link.locale;
    match submit(&app, &link, &headers, post).await {
        Ok(r) => r,
        Err(e) => unavailable(locale, &e).into_response(),
    }
}

async fn submit(
    app: &AppState,
    link: &Link,
    headers: &HeaderMap,
    post: CardFormPost,
) -> Result<Response, ApiError> {
    let t = link.locale.text();
    let state = link.state(Timestamp::now().millis());
    if state != LinkState::Open {
        return Ok(status_page(app, link, state).await?.into_response());
    }
    let refill = Refill::from_post(&post);
    if !guard::verify(
        &app.token_key,
        headers,
        post.csrf.as_deref(),
        &link.csrf_scope(),
    ) {
        let p = Problem {
            message: Some(t.err_session.into()),
            fields: FieldErrors::default(),
            refill: Refill::from_post(&post),
        };
        return Ok(open_page(app, link, headers, StatusCode::FORBIDDEN, p)
            .await?
            .into_response());
    }
    let now = time::OffsetDateTime::now_utc();
    let card = card_form::read_card(&post, t, (now.year() as u32, u8::from(now.month()) as u32));
    let due = link.due_now();
    let amount = if link.dealer.allow_partial_payments != 0 {
        match post.amount.as_deref().and_then(parse_amount) {
            Some(m) if m.cents() >= 100.min(due) && m.cents() <= due => Ok(m),
            _ => Err(()),
        }
    } else {
        Ok(Money::from_cents(due).map_err(ApiError::internal)?)
    };
    let card = match (card, amount) {
        (Ok(card), Ok(amount)) => (card, amount),
        (card, amount) => {
            let mut fields = FieldErrors::default();
            if amount.is_err() {
                fields.push("pay-amount", t.err_amount);
            }
            if let Err(e) = card {
                fields.0.extend(e.0);
            }
            let p = Problem {
                message: None,
                fields,
                refill,
            };
            return Ok(
                open_page(app, link, headers, StatusCode::UNPROCESSABLE_ENTITY, p)
                    .await?
                    .into_response(),
            );
        }
    };
    let (card, amount) = card;

    // The link acts for its dealer with the prePayment scope and nothing else.
    let principal = Principal::DealerToken {
        dealer_uuid: link.dealer.uuid.clone(),
        scopes: vec![Scope::PrePayment],
    };
    let mut attributes = serde_json::Map::new();
    attributes.insert("paymentRequestGuid".into(), link.pr.guid.clone().into());
    let pre = PrePaymentRequest {
        dealer_uuid: Some(link.dealer.uuid.clone()),
        customer_uuid: Some(link.customer_uuid.clone()),
        invoice_guid: Some(link.invoice.guid.clone()),
        dealer_order_uuid: Some(link.order.uuid.clone()),
        amount: Some(amount),
        locale: Some(link.locale.tag().into()),
        card_digits: Some(card.number.last4().to_string()),
        desc: Some("Paid online from a payment link".into()),
        attributes: Some(attributes),
        ..Default::default()
    };
    let attempt = match payments::prepayment(app, &principal, pre).await {
        Ok(r) => r.payment_attempt.uuid,
        Err(e) => return engine_refusal(app, link, headers, e, refill).await,
    };
    let confirm = ConfirmRequest {
        card: Some(card),
        token: None,
        return_url: Some(format!(
            "{}{}/return/{attempt}?lang={}",
            app.config.public_url.trim_end_matches('/'),
            link.path(),
            link.locale.tag()
        )),
        capture: Some(true),
    };
    if let Err(e) = payments::confirm(app, &principal, &attempt, confirm).await {
        return engine_refusal(app, link, headers, e, refill).await;
    }
    Ok(see_other(&format!(
        "{}/return/{attempt}?lang={}",
        link.path(),
        link.locale.tag()
    )))
}

/// The engine refused before charging: show why, or the link's new state.
async fn engine_refusal(
    app: &AppState,
    link: &Link,
    headers: &HeaderMap,
    e: ApiError,
    refill: Refill,
) -> Result<Response, ApiError> {
    if e.status.is_server_error() {
        return Err(e);
    }
    if let Code::V1(c) = e.code {
        if c == v1::INVOICE_ALREADY_PAID || c == v1::REPAIR_ORDER_CLOSED {
            // Paid or closed meanwhile: reload the link and show its state.
            let fresh = Link::load(app, &link.pr.guid, Some(link.locale.tag()), headers)
                .await?
                .ok_or_else(|| ApiError::internal("link vanished"))?;
            let state = fresh.state(Timestamp::now().millis());
            if state != LinkState::Open {
                return Ok(status_page(app, &fresh, state).await?.into_response());
            }
        }
    }
    let t = link.locale.text();
    let p = Problem {
        message: Some(engine_message(t, &e).to_string()),
        fields: FieldErrors::default(),
        refill,
    };
    Ok(open_page(app, link, headers, StatusCode::CONFLICT, p)
        .await?
        .into_response())
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReturnQuery {
    /// en, es or fr-CA.
    pub lang: Option<String>,
    /// Set by the 3-D Secure step: passed or failed.
    #[serde(rename = "threeDS")]
    pub three_ds: Option<String>,
}

/// `GET /pay/{guid}/return/{attempt}`: where a payment lands after the card form and after
/// 3-D Secure. Finishes a challenged payment, then sends the customer to the receipt or back
/// to the form with the reason.
#[utoipa::path(get, path = "/pay/{guid}/return/{attempt}", tag = "customer pages",
    params(("guid" = String, Path), ("attempt" = String, Path), ReturnQuery),
    responses((status = 200, body = String, content_type = "text/html", description = "Waiting for the bank or the processor"),
        (status = 303, description = "To the receipt or back to the pay page"),
        (status = 404, body = String, content_type = "text/html")))]
pub async fn pay_return(
    State(app): State<AppState>,
    path: Result<Path<(String, String)>, PathRejection>,
    q: Result<Query<ReturnQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Response {
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let fallback = super::request_locale(q.lang.as_deref(), &headers);
    let Ok(Path((guid, attempt))) = path else {
        return not_found(fallback);
    };
    let link = match Link::load(&app, &guid, q.lang.as_deref(), &headers).await {
        Ok(Some(l)) => l,
        Ok(None) => return not_found(fallback),
        Err(e) => return unavailable(fallback, &e).into_response(),
    };
    let locale = link.locale;
    match finish(&app, &link, &attempt, q.three_ds.as_deref()).await {
        Ok(Some(r)) => r,
        Ok(None) => not_found(locale),
        Err(e) => unavailable(locale, &e).into_response(),
    }
}

async fn finish(
    app: &AppState,
    link: &Link,
    attempt: &str,
    three_ds: Option<&str>,
) -> Result<Option<Response>, ApiError> {
    let Ok(uuid) = uuid::Uuid::parse_str(attempt) else {
        return Ok(None);
    };
    let load = || async {
        Ok::<_, ApiError>(
            attempts::by_uuid(&app.db, &uuid.to_string())
                .await?
                .filter(|a| a.invoice_id == link.invoice.id),
        )
    };
    let Some(mut a) = load().await? else {
        return Ok(None);
    };
    if a.status == "RequiresAction" && three_ds.is_some() {
        let principal = Principal::DealerToken {
            dealer_uuid: link.dealer.uuid.clone(),
            scopes: vec![Scope::PrePayment],
        };
        // Another tab may be completing it at the same moment; either way we re-read.
        if let Err(e) = payments::complete(app, &principal, &a.uuid).await {
            if e.status.is_server_error() {
                return Err(e);
            }
        }
        a = load()
            .await?
            .ok_or_else(|| ApiError::internal("attempt vanished"))?;
    }
    let t = link.locale.text();
    let lang = link.locale.tag();
    Ok(Some(match a.status.as_str() {
        "Succeeded" => {
            let charge = transactions::for_invoice(&app.db, link.invoice.id)
                .await?
                .into_iter()
                .find(|x| {
                    x.attempt_id == a.id && x.transaction_type == "CHARGE" && x.status == "APPROVED"
                })
                .ok_or_else(|| ApiError::internal("succeeded attempt without its charge"))?;
            see_other(&format!(
                "{}/receipt/{}?lang={lang}",
                link.path(),
                charge.uuid
            ))
        }
        "RequiresAction" => match challenge_url(&a) {
            Some(url) => super::onward_to_bank(
                link.locale,
                &link.dealer.name,
                &url,
                &fill(t.pay_button, &[("amount", &link.money(a.total_cents))]),
            ),
            None => see_other(&format!("{}?attempt={}&lang={lang}", link.path(), a.uuid)),
        },
        "InProgress" | "Created" => super::processing(link.locale, &link.dealer.name),
        _ => see_other(&format!("{}?attempt={}&lang={lang}", link.path(), a.uuid)),
    }))
}

/// The 3-D Secure page an attempt waits on.
pub fn challenge_url(a: &AttemptRow) -> Option<String> {
    let n: wire::NextAction = serde_json::from_str(a.next_action.as_deref()?).ok()?;
    let url = n.redirect_to_url_action?.redirect_url;
    (url.starts_with("https://") || url.starts_with("http://")).then_some(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_keys_read_as_words() {
        assert_eq!(humanize("laborTotal"), "Labor total");
        assert_eq!(humanize("parts_total"), "Parts total");
        assert_eq!(humanize("Fees"), "Fees");
    }

    #[test]
    fn amounts_as_typed() {
        assert_eq!(parse_amount("$1,234.56").unwrap().cents(), 123_456);
        assert_eq!(parse_amount("1 234,56 $").unwrap().cents(), 123_456);
        assert_eq!(parse_amount("100,00").unwrap().cents(), 10_000);
        assert_eq!(parse_amount("12.5").unwrap().cents(), 1_250);
        assert_eq!(parse_amount("1,234").unwrap().cents(), 123_400);
        assert_eq!(parse_amount("50").unwrap().cents(), 5_000);
        assert!(parse_amount("1e3").is_none());
        assert!(parse_amount("-5").is_none());
        assert!(parse_amount("").is_none());
        assert!(parse_amount(",5").is_none());
    }
}
