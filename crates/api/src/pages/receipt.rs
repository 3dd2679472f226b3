//! Receipts for card payments made on a pay link: an HTML page and the same content as a PDF,
//! reachable from the link for as long as it exists (also after it expires or is replaced).

use super::html::{esc, row, Page};
use super::i18n::fill;
use super::pay::Link;
use super::{not_found, unavailable, PageQuery};
use crate::app::AppState;
use crate::error::ApiError;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use domain::Money;
use engine::Kind;
use store::repo::transactions::TransactionRow;

/// The receipt's link and charge, or the page to answer instead (not found, unavailable).
async fn load_or_page(
    app: &AppState,
    path: Result<Path<(String, String)>, PathRejection>,
    q: Result<Query<PageQuery>, QueryRejection>,
    headers: &HeaderMap,
) -> Result<(Link, TransactionRow), Response> {
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let fallback = super::request_locale(q.lang.as_deref(), headers);
    match load(app, path, q.lang.as_deref(), headers).await {
        Ok(Some(x)) => Ok(x),
        Ok(None) => Err(not_found(fallback)),
        Err(e) => Err(unavailable(fallback, &e).into_response()),
    }
}

fn brand_label(b: &str) -> &str {
    match b {
        "VISA" => "Visa",
        "MASTERCARD" => "Mastercard",
        "AMEX" => "American Express",
        "DISCOVER" => "Discover",
        other => other,
    }
}

/// The receipt's lines: (element id, label, value).
fn lines(link: &Link, c: &TransactionRow) -> Vec<(&'static str, String, String)> {
    let l = link.locale;
    let t = l.text();
    let m = |a: Money| l.money(a);
    let mut v = vec![
        (
            "receipt-ro",
            t.repair_order.to_string(),
            link.order_number().to_string(),
        ),
        (
            "receipt-date",
            t.receipt_date.to_string(),
            l.date_time(c.created_at),
        ),
    ];
    let fees = c.surcharge.cents() + c.dual_pricing.cents() + c.sales_tax.cents();
    if fees > 0 {
        v.push(("receipt-subtotal", t.receipt_subtotal.into(), m(c.amount)));
        if c.surcharge > Money::ZERO {
            v.push((
                "receipt-surcharge",
                t.receipt_surcharge.into(),
                m(c.surcharge),
            ));
        }
        if c.dual_pricing > Money::ZERO {
            v.push((
                "receipt-card-fee",
                t.receipt_card_price.into(),
                m(c.dual_pricing),
            ));
        }
        if c.sales_tax > Money::ZERO {
            v.push((
                "receipt-sales-tax",
                t.receipt_sales_tax.into(),
                m(c.sales_tax),
            ));
        }
    }
    v.push(("receipt-amount", t.receipt_amount.into(), m(c.total)));
    let card = format!(
        "{} •••• {}",
        brand_label(c.card_brand.as_deref().unwrap_or("Card")),
        c.card_last4.as_deref().unwrap_or("????")
    );
    v.push(("receipt-card", t.receipt_card.into(), card));
    v.push((
        "receipt-auth-code",
        t.receipt_auth_code.into(),
        c.auth_code.clone().unwrap_or_else(|| "—".into()),
    ));
    v.push((
        "receipt-reference",
        t.receipt_reference.into(),
        c.uuid.clone(),
    ));
    if c.reversed > Money::ZERO {
        v.push((
            "receipt-refunded",
            t.receipt_status.into(),
            fill(t.receipt_refunded, &[("amount", &m(c.reversed))]),
        ));
    }
    v
}

/// The link and one of its invoice's approved charges (the engine shows a receipt only under
/// a link of its own invoice, also after the link expired or was replaced).
async fn load(
    app: &AppState,
    path: Result<Path<(String, String)>, PathRejection>,
    lang: Option<&str>,
    headers: &HeaderMap,
) -> Result<Option<(Link, TransactionRow)>, ApiError> {
    let Ok(Path((guid, txn))) = path else {
        return Ok(None);
    };
    match app.engine.link_receipt(&guid, &txn).await {
        Ok(r) => Ok(Some((Link::new(r.link, lang, headers), r.charge))),
        Err(e) if e.kind == Kind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// `GET /pay/{guid}/receipt/{transaction}`.
#[utoipa::path(get, path = "/pay/{guid}/receipt/{transaction}", tag = "customer pages",
    params(("guid" = String, Path), ("transaction" = String, Path), PageQuery),
    responses((status = 200, body = String, content_type = "text/html"), (status = 404, body = String, content_type = "text/html")))]
pub async fn receipt_page(
    State(app): State<AppState>,
    path: Result<Path<(String, String)>, PathRejection>,
    q: Result<Query<PageQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Response {
    let (link, charge) = match load_or_page(&app, path, q, &headers).await {
        Ok(x) => x,
        Err(page) => return page,
    };
    let t = link.locale.text();
    let rows: String = lines(&link, &charge)
        .iter()
        .map(|(id, label, value)| row(id, label, value))
        .collect();
    let base = link.path();
    let body = format!(
        "<div id=\"receipt\"><div class=\"status ok\"><h1>{title}</h1><p>{thanks}</p></div>{dealer}\
         <dl class=\"invoice\">{rows}</dl>\
         <p><a id=\"receipt-pdf\" class=\"button\" href=\"{base}/receipt/{id}/pdf?lang={lang}\" download>{pdf}</a></p>\
         <p><a class=\"secondary\" href=\"{base}?lang={lang}\">{back}</a></p></div>",
        title = esc(t.receipt_title),
        thanks = esc(t.receipt_thanks),
        dealer = link.dealer_block(),
        id = esc(&charge.uuid),
        lang = link.locale.tag(),
        pdf = esc(t.receipt_pdf),
        back = esc(t.back_to_invoice),
    );
    let mut page = Page::new(StatusCode::OK, link.locale, t.receipt_title, body);
    page.brand = Some(link.dealer_name().to_string());
    page.lang_path = Some(format!("{base}/receipt/{}", charge.uuid));
    page.into_response()
}

/// `GET /pay/{guid}/receipt/{transaction}/pdf`.
#[utoipa::path(get, path = "/pay/{guid}/receipt/{transaction}/pdf", tag = "customer pages",
    params(("guid" = String, Path), ("transaction" = String, Path), PageQuery),
    responses((status = 200, body = Vec<u8>, content_type = "application/pdf"), (status = 404, body = String, content_type = "text/html")))]
pub async fn receipt_pdf(
    State(app): State<AppState>,
    path: Result<Path<(String, String)>, PathRejection>,
    q: Result<Query<PageQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Response {
    let (link, charge) = match load_or_page(&app, path, q, &headers).await {
        Ok(x) => x,
        Err(page) => return page,
    };
    let t = link.locale.text();
    let d = &link.dealer_dto;
    let mut header = vec![link.dealer_name().to_string()];
    let contact: Vec<&str> = [
        d.phone_number.as_deref(),
        d.email_id.as_deref(),
        d.website.as_deref(),
    ]
    .into_iter()
    .flatten()
    .filter(|s| !s.is_empty())
    .collect();
    if !contact.is_empty() {
        header.push(contact.join(" · "));
    }
    let doc = super::pdf::Document {
        title: t.receipt_title,
        header,
        rows: lines(&link, &charge)
            .into_iter()
            .map(|(_, l, v)| (l, v))
            .collect(),
        footer: vec![t.receipt_thanks.to_string()],
    };
    let bytes = super::pdf::render(&doc);
    let file: String = link
        .order_number()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .take(40)
        .collect();
    let mut r = (StatusCode::OK, bytes).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/pdf"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"receipt-{file}.pdf\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    r
}
