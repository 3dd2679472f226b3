//! The pay page ("payisland", SPEC §5): what a payment link is for, the fee disclosure, the
//! card form, the way back from 3-D Secure, and the link's end states. The page is a client
//! of the engine acting for the customer who holds the link (`Actor::Customer`): it may pay
//! that link's invoice through the same prePayment → confirm rules as the API, nothing else.

use super::card_form::{self, AmountField, CardFormPost, FieldErrors, FormView, Refill};
use super::html::{esc, row, Page};
use super::i18n::{fill, Locale, Text};
use super::{guard, not_found, unavailable, PageQuery};
use crate::app::AppState;
use crate::error::{ApiError, Code};
use axum::extract::rejection::{FormRejection, PathRejection, QueryRejection};
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use domain::catalog::v1;
use domain::fees::TenderType;
use domain::status::{AttemptStatus, TransactionStatus, TransactionType};
use domain::Money;
use engine::payment_requests::{LinkState, LinkView, ATTEMPT_PLACEHOLDER};
use engine::{EngineError, Kind};
use serde::Deserialize;
use store::repo::attempts::AttemptRow;
use store::repo::payment_requests::RequestAttempt;
use store::repo::transactions::TransactionRow;
use store::views::InvoiceContext;

/// Everything a pay page shows about its link.
pub struct Link {
    pub link: LinkView,
    /// The dealer as the documented shapes show it (name, contact).
    pub dealer_dto: wire::Dealer,
    pub locale: Locale,
}

fn state_name(s: LinkState) -> &'static str {
    match s {
        LinkState::Payable => "open",
        LinkState::Expired => "expired",
        LinkState::Obsolete => "obsolete",
        LinkState::Paid => "paid",
        LinkState::Closed => "closed",
    }
}

impl Link {
    /// The page's view of a link the engine loaded, in the language asked for (`?lang=`),
    /// else the link's own, else the browser's.
    pub fn new(link: LinkView, lang: Option<&str>, headers: &HeaderMap) -> Link {
        let locale = lang
            .and_then(Locale::parse)
            .or_else(|| Locale::parse(&link.view.request.locale))
            .or_else(|| super::accept_language(headers))
            .unwrap_or(Locale::En);
        Link {
            dealer_dto: crate::views::dealer(&link.view.context.dealer),
            link,
            locale,
        }
    }

    /// Loads a link by its guid as typed in the URL; `None` when there is no such link.
    pub async fn load(
        app: &AppState,
        guid: &str,
        lang: Option<&str>,
        headers: &HeaderMap,
    ) -> Result<Option<Link>, ApiError> {
        match app.engine.link(guid).await {
            Ok(l) => Ok(Some(Link::new(l, lang, headers))),
            Err(e) if e.kind == Kind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn ctx(&self) -> &InvoiceContext {
        &self.link.view.context
    }

    pub fn guid(&self) -> &str {
        &self.link.view.request.guid
    }

    pub fn state(&self) -> LinkState {
        self.link.state
    }

    /// What this link asks for now: the request's amount, but never more than is still due.
    pub fn due_now(&self) -> Money {
        self.link.due_now()
    }

    pub fn order_number(&self) -> &str {
        &self.ctx().order.order_number
    }

    pub fn dealer_name(&self) -> &str {
        &self.ctx().dealer.name
    }

    fn partial(&self) -> bool {
        self.ctx().dealer.allow_partial_payments
    }

    pub fn path(&self) -> String {
        format!("/pay/{}", self.guid())
    }

    fn csrf_scope(&self) -> String {
        format!("pay:{}", self.guid())
    }

    fn money(&self, m: Money) -> String {
        self.locale.money(m)
    }

    fn vehicle(&self) -> Option<String> {
        let v = crate::views::vehicle(self.ctx().vehicle.as_ref()?);
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
        let d = &self.dealer_dto;
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
            esc(self.dealer_name())
        )
    }

    /// Repair order, vehicle, invoice lines and the amounts.
    fn invoice_block(&self) -> String {
        let t = self.locale.text();
        let inv = &self.ctx().invoice;
        let mut rows = row("ro-number", t.repair_order, self.order_number());
        if let Some(v) = self.vehicle() {
            rows.push_str(&row("vehicle", t.vehicle, &v));
        }
        if let Some(d) = inv.description.as_deref().filter(|s| !s.trim().is_empty()) {
            rows.push_str(&row("invoice-description", t.invoice, d));
        }
        for (option, value) in &self.ctx().attributes {
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
                esc(&humanize(option)),
                esc(&value)
            ));
        }
        rows.push_str(&row(
            "invoice-total",
            t.invoice_total,
            &self.money(inv.amount),
        ));
        rows.push_str(&row(
            "amount-paid",
            t.already_paid,
            &self.money(inv.paid.saturating_sub(inv.refunded)),
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
    fn fee_disclosure(&self, amount: Money) -> String {
        let t = self.locale.text();
        let dealer = &self.ctx().dealer;
        let settings = dealer.fee_settings();
        let amount_cents = amount.cents();
        let quote = settings.quote(amount, TenderType::Credit, None);
        let mut parts = Vec::new();
        if settings.surcharge_enabled && quote.surcharge.cents() > 0 {
            let bps = (quote.surcharge.cents() * 10_000 + amount_cents / 2) / amount_cents.max(1);
            parts.push(fill(
                t.surcharge_disclosure,
                &[
                    (
                        "percent",
                        &self.locale.percent(bps.min(dealer.surcharge_bps)),
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
                    ("percent", &self.locale.percent(dealer.dual_pricing_bps)),
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
    fn receipts(&self) -> String {
        let t = self.locale.text();
        let items: String = self
            .link
            .receipts()
            .map(|c| {
                let label = fill(
                    t.view_receipt,
                    &[
                        ("amount", &self.money(c.total)),
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
        if items.is_empty() {
            return String::new();
        }
        format!(
            "<h2>{}</h2><ul class=\"receipts\">{items}</ul>",
            esc(t.receipt_title)
        )
    }

    fn page(&self, status: StatusCode, title: &str, body: String) -> Page {
        let mut p = Page::new(status, self.locale, title, body);
        p.brand = Some(self.dealer_name().to_string());
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
fn status_page(link: &Link, state: LinkState) -> Page {
    let t = link.locale.text();
    let (status, title, text, ok) = match state {
        LinkState::Expired => (StatusCode::GONE, t.expired_title, t.expired_text, false),
        LinkState::Obsolete => (StatusCode::GONE, t.obsolete_title, t.obsolete_text, false),
        LinkState::Paid => (StatusCode::OK, t.paid_title, t.paid_text, true),
        LinkState::Closed | LinkState::Payable => {
            (StatusCode::OK, t.closed_title, t.closed_text, false)
        }
    };
    let body = format!(
        "<div id=\"link-status\" class=\"status{}\" data-status=\"{}\"><h1>{}</h1><p>{}</p></div>{}{}{}",
        if ok { " ok" } else { "" },
        state_name(state),
        esc(title),
        esc(text),
        link.dealer_block(),
        link.invoice_block(),
        link.receipts()
    );
    link.page(status, title, body)
}

/// What a failed post shows again.
#[derive(Default)]
struct Problem {
    message: Option<String>,
    fields: FieldErrors,
    refill: Refill,
}

/// The open link: invoice, disclosure, earlier receipts and the card form.
fn open_page(
    app: &AppState,
    link: &Link,
    headers: &HeaderMap,
    status: StatusCode,
    problem: Problem,
) -> Page {
    let t: &Text = link.locale.text();
    let (nonce, set_cookie) = guard::nonce(headers, app.config.public_url.starts_with("https://"));
    let due = link.due_now();
    let partial = link.partial();
    let mut refill = problem.refill;
    if partial && refill.amount.is_empty() {
        // Offer the whole amount due; the customer may lower it.
        refill.amount = match link.locale {
            Locale::FrCa => due.to_string().replace('.', ","),
            _ => due.to_string(),
        };
    }
    let button = if partial {
        t.pay_button_plain.to_string()
    } else {
        fill(t.pay_button, &[("amount", &link.money(due))])
    };
    let key = app.engine.page_form_key();
    let form = card_form::render(&FormView {
        t,
        action: &link.path(),
        csrf: &guard::token(&key, &nonce, &link.csrf_scope()),
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
        link.receipts(),
    );
    let mut page = link.page(status, t.pay_title, body);
    page.set_cookie = set_cookie;
    page.has_error = has_error;
    page
}

/// A customer-facing sentence for a failed attempt.
pub fn decline_message(t: &Text, a: &AttemptRow) -> &'static str {
    if a.three_ds_failed {
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
        Code::V1(c) if c == v1::CUSTOMER_BLACKLISTED => t.customer_blocked,
        _ if e.status.is_server_error() => t.unavailable_text,
        _ => t.processing_error,
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

/// An attempt of the link's invoice; `None` when there is no such attempt for this link.
async fn link_attempt(
    app: &AppState,
    link: &Link,
    attempt: &str,
) -> Result<Option<RequestAttempt>, ApiError> {
    match app.engine.link_attempt(link.guid(), attempt).await {
        Ok(a) => Ok(Some(a)),
        Err(e) if e.kind == Kind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
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
    let state = link.state();
    if state != LinkState::Payable {
        return status_page(&link, state).into_response();
    }
    // Back from a failed attempt (PRG): say why it failed.
    let mut problem = Problem::default();
    if let Some(a) = q
        .attempt
        .as_deref()
        .and_then(|u| uuid::Uuid::parse_str(u).ok())
    {
        match link_attempt(&app, &link, &a.to_string()).await {
            Ok(Some(a)) if a.attempt.status == AttemptStatus::Failed => {
                problem.message = Some(decline_message(link.locale.text(), &a.attempt).to_string());
            }
            Ok(_) => {}
            Err(e) => return unavailable(link.locale, &e).into_response(),
        }
    }
    let status = if problem.message.is_some() {
        StatusCode::PAYMENT_REQUIRED
    } else {
        StatusCode::OK
    };
    open_page(&app, &link, &headers, status, problem).into_response()
}

/// Parses a typed amount exactly as the page's locale writes money, and nothing else:
/// `en`/`es` `1,234.56` (`$` in front allowed), `fr-CA` `1 234,56` (` $` after allowed).
/// Grouping must be in threes and at most two decimals are allowed; anything that could be
/// read two ways (`5,00` in English, `5.00` in French, `0.001`, `1.234,56`) is refused, so
/// the customer is asked to correct it instead of paying an amount they did not mean.
fn parse_amount(s: &str, locale: Locale) -> Option<Money> {
    let s = s.trim_matches(|c: char| c.is_whitespace());
    let (decimal, body) = match locale {
        Locale::En | Locale::Es => ('.', s.strip_prefix('$').unwrap_or(s).trim_start()),
        Locale::FrCa => (',', s.strip_suffix('$').unwrap_or(s).trim_end()),
    };
    let is_group = |c: char| match locale {
        Locale::En | Locale::Es => c == ',',
        Locale::FrCa => c == ' ' || c == '\u{a0}' || c == '\u{202f}',
    };
    let (whole, frac) = match body.split_once(decimal) {
        Some((w, f)) => (w, Some(f)),
        None => (body, None),
    };
    let frac_cents = match frac {
        None => 0,
        Some(f) if (1..=2).contains(&f.len()) && f.bytes().all(|b| b.is_ascii_digit()) => {
            f.parse::<i64>().ok()? * if f.len() == 1 { 10 } else { 1 }
        }
        Some(_) => return None,
    };
    // Either plain digits, or groups of three after a first group of one to three.
    let groups: Vec<&str> = whole.split(is_group).collect();
    let grouped_ok = groups
        .iter()
        .all(|g| !g.is_empty() && g.bytes().all(|b| b.is_ascii_digit()))
        && groups[1..].iter().all(|g| g.len() == 3)
        && (groups.len() == 1 || groups[0].len() <= 3);
    let digits: String = groups.concat();
    if !grouped_ok || digits.is_empty() || digits.len() > 9 {
        return None;
    }
    Money::from_cents(digits.parse::<i64>().ok()? * 100 + frac_cents).ok()
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
    let state = link.state();
    if state != LinkState::Payable {
        return Ok(status_page(link, state).into_response());
    }
    let refill = Refill::from_post(&post);
    if !guard::verify(
        &app.engine.page_form_key(),
        headers,
        post.csrf.as_deref(),
        &link.csrf_scope(),
    ) {
        let p = Problem {
            message: Some(t.err_session.into()),
            fields: FieldErrors::default(),
            refill: Refill::from_post(&post),
        };
        return Ok(open_page(app, link, headers, StatusCode::FORBIDDEN, p).into_response());
    }
    let now = time::OffsetDateTime::now_utc();
    let card = card_form::read_card(&post, t, (now.year() as u32, u8::from(now.month()) as u32));
    let due = link.due_now();
    // A partial amount where the dealer allows them; otherwise what the link asks for now.
    let amount = if link.partial() {
        match post.amount.as_deref().map(|a| parse_amount(a, link.locale)) {
            Some(Some(m)) if m.cents() >= 100.min(due.cents()) && m <= due => Ok(Some(m)),
            Some(Some(_)) => Err(t.err_amount),
            _ => Err(t.err_amount_format),
        }
    } else {
        Ok(None)
    };
    let (card, amount) = match (card, amount) {
        (Ok(card), Ok(amount)) => (card, amount),
        (card, amount) => {
            let mut fields = FieldErrors::default();
            if let Err(why) = amount {
                fields.push("pay-amount", why);
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
                open_page(app, link, headers, StatusCode::UNPROCESSABLE_ENTITY, p).into_response(),
            );
        }
    };
    let confirm = engine::payments::Confirm {
        method: connectors::PaymentMethod::Card(connectors::Card {
            number: card.number,
            exp_month: card.exp_month,
            exp_year: card.exp_year,
            cvv: card.cvv,
            zip: card.zip,
            holder_name: card.holder_name,
        }),
        return_url: Some(format!(
            "{}{}/return/{ATTEMPT_PLACEHOLDER}?lang={}",
            app.config.public_url.trim_end_matches('/'),
            link.path(),
            link.locale.tag()
        )),
        capture: true,
    };
    match app
        .engine
        .pay_link(link.guid(), amount, confirm, link.locale.tag())
        .await
    {
        Ok(o) => Ok(see_other(&format!(
            "{}/return/{}?lang={}",
            link.path(),
            o.attempt.attempt.uuid,
            link.locale.tag()
        ))),
        Err(e) => engine_refusal(app, link, headers, e, refill).await,
    }
}

/// The engine refused before charging: show why, or the link's new state.
async fn engine_refusal(
    app: &AppState,
    link: &Link,
    headers: &HeaderMap,
    e: EngineError,
    refill: Refill,
) -> Result<Response, ApiError> {
    let e = ApiError::from(e);
    if e.status.is_server_error() {
        return Err(e);
    }
    if let Code::V1(c) = e.code {
        if c == v1::INVOICE_ALREADY_PAID
            || c == v1::REPAIR_ORDER_CLOSED
            || c == v1::PAYMENT_REQUEST_EXPIRED
            || c == v1::PAYMENT_REQUEST_OBSOLETE
        {
            // Paid, closed, expired or replaced meanwhile: reload the link and show its state.
            let fresh = Link::load(app, link.guid(), Some(link.locale.tag()), headers)
                .await?
                .ok_or_else(|| ApiError::internal("link vanished"))?;
            let state = fresh.state();
            if state != LinkState::Payable {
                return Ok(status_page(&fresh, state).into_response());
            }
        }
    }
    let t = link.locale.text();
    let p = Problem {
        message: Some(engine_message(t, &e).to_string()),
        fields: FieldErrors::default(),
        refill,
    };
    Ok(open_page(app, link, headers, StatusCode::CONFLICT, p).into_response())
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
    let Some(mut a) = link_attempt(app, link, attempt).await? else {
        return Ok(None);
    };
    if a.attempt.status == AttemptStatus::RequiresAction && three_ds.is_some() {
        // Another tab may be completing it at the same moment; then (and while the outcome
        // is not settled) we read it as it is.
        let done = match app
            .engine
            .complete_link_attempt(link.guid(), &a.attempt.uuid)
            .await
        {
            Ok(o) if o.settled => Some(RequestAttempt {
                attempt: o.attempt.attempt,
                transaction: o.attempt.transaction,
            }),
            Ok(_) => None,
            Err(e) => {
                let e = ApiError::from(e);
                if e.status.is_server_error() {
                    return Err(e);
                }
                None
            }
        };
        a = match done {
            Some(d) => d,
            None => link_attempt(app, link, &a.attempt.uuid)
                .await?
                .ok_or_else(|| ApiError::internal("attempt vanished"))?,
        };
    }
    let t = link.locale.text();
    let lang = link.locale.tag();
    let again =
        |a: &AttemptRow| see_other(&format!("{}?attempt={}&lang={lang}", link.path(), a.uuid));
    Ok(Some(match a.attempt.status {
        AttemptStatus::Succeeded => {
            let charge: &TransactionRow = a
                .transaction
                .as_ref()
                .filter(|x| {
                    x.transaction_type == TransactionType::Charge
                        && x.status == TransactionStatus::Approved
                })
                .ok_or_else(|| ApiError::internal("succeeded attempt without its charge"))?;
            see_other(&format!(
                "{}/receipt/{}?lang={lang}",
                link.path(),
                charge.uuid
            ))
        }
        AttemptStatus::RequiresAction => match challenge_url(&a.attempt) {
            Some(url) => super::onward_to_bank(
                link.locale,
                link.dealer_name(),
                &url,
                &fill(t.pay_button, &[("amount", &link.money(a.attempt.total))]),
            ),
            None => again(&a.attempt),
        },
        AttemptStatus::InProgress | AttemptStatus::Created => {
            super::processing(link.locale, link.dealer_name())
        }
        _ => again(&a.attempt),
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
    fn amounts_exactly_as_the_locale_writes_them() {
        let en = |a| parse_amount(a, Locale::En).map(|m| m.cents());
        let fr = |a| parse_amount(a, Locale::FrCa).map(|m| m.cents());
        assert_eq!(en("$1,234.56"), Some(123_456));
        assert_eq!(en("1234.56"), Some(123_456));
        assert_eq!(en(" 12.5 "), Some(1_250));
        assert_eq!(en("1,234"), Some(123_400));
        assert_eq!(en("50"), Some(5_000));
        assert_eq!(
            parse_amount("$5.00", Locale::Es).map(|m| m.cents()),
            Some(500)
        );
        assert_eq!(fr("1 234,56 $"), Some(123_456));
        assert_eq!(fr("1\u{202f}234,56\u{a0}$"), Some(123_456));
        assert_eq!(fr("100,00"), Some(10_000));
        assert_eq!(fr("100"), Some(10_000));
        // Could be read two ways, or is not money: refused.
        for a in [
            "0.001",
            "5,00",
            "1,23",
            "1.234,56",
            "1,2345",
            "12,34,567",
            "1e3",
            "-5",
            "",
            ",5",
            ".5",
            "5.",
            "$",
            "5$",
            "1 234",
        ] {
            assert_eq!(en(a), None, "en {a:?}");
        }
        for a in [
            "5.00", "0,001", "1.234,56", "1 23", "$5,00", "1,234.56", "12 34",
        ] {
            assert_eq!(fr(a), None, "fr-CA {a:?}");
        }
    }
}
