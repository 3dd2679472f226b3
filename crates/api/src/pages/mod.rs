//! The pages customers open (SPEC §5, §6): the pay page for payment links, receipts, the
//! hosted checkout page, and their assets. Server-rendered HTML under a strict CSP, in `en`,
//! `es` and `fr-CA`, usable at 360 px, with keyboard and screen readers; no third-party
//! scripts, fonts or CDNs. Pages never answer JSON, whatever goes wrong.

pub mod card_form;
pub mod checkout;
pub mod guard;
pub mod html;
pub mod i18n;
pub mod pay;
pub mod pdf;
pub mod rate_limit;
pub mod receipt;
pub mod reset;

use crate::error::ApiError;
use axum::extract::Request;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::IntoResponse;
use html::Page;
use i18n::Locale;
use serde::Deserialize;

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// en, es or fr-CA; overrides the link's own language.
    pub lang: Option<String>,
    /// Pay page: a failed attempt whose reason to show (after the card form redirects back).
    pub attempt: Option<String>,
}

/// Paths served as HTML pages (errors rendered as pages).
pub fn is_page_path(path: &str) -> bool {
    ["/pay/", "/checkout/", "/sandbox/challenge/", "/assets/"]
        .iter()
        .any(|p| path.starts_with(p))
}

/// Paths anyone may call without credentials, rate limited per client: the pages and the
/// short links of text messages.
pub fn is_public_path(path: &str) -> bool {
    is_page_path(path) || path.starts_with("/p/")
}

pub fn accept_language(headers: &HeaderMap) -> Option<Locale> {
    headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(Locale::from_accept_language)
}

/// `?lang=`, else the browser's language, else English.
pub fn request_locale(lang: Option<&str>, headers: &HeaderMap) -> Locale {
    lang.and_then(Locale::parse)
        .or_else(|| accept_language(headers))
        .unwrap_or(Locale::En)
}

pub(crate) fn locale_of(req: &Request) -> Locale {
    let lang = req
        .uri()
        .query()
        .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("lang=")));
    request_locale(lang, req.headers())
}

/// The page for an internal failure (database down, processor unreachable before charging).
/// The details go to the log, never to the customer.
pub fn unavailable(locale: Locale, e: &ApiError) -> Page {
    tracing::error!(status = %e.status, detail = %e.detail, "customer page failed");
    let t = locale.text();
    let mut p = Page::message(
        StatusCode::SERVICE_UNAVAILABLE,
        locale,
        t.unavailable_title,
        t.unavailable_text,
        None,
    );
    p.retry_after = Some(5);
    p
}

/// The page for a link or session that does not exist (or is malformed: the same answer, so
/// probing learns nothing).
pub fn not_found(locale: Locale) -> axum::response::Response {
    let t = locale.text();
    Page::message(
        StatusCode::NOT_FOUND,
        locale,
        t.not_found_title,
        t.not_found_text,
        None,
    )
    .into_response()
}

/// Onward to the bank's 3-D Secure page. A page that moves on by itself (and offers the link)
/// rather than a redirect, so the card form's CSP `form-action` need not name the bank.
pub fn onward_to_bank(
    locale: Locale,
    brand: &str,
    url: &str,
    button: &str,
) -> axum::response::Response {
    let t = locale.text();
    let body = format!(
        "<h1>{}</h1><p><a id=\"continue-3ds\" class=\"button\" href=\"{}\">{}</a></p>",
        html::esc(t.processing_title),
        html::esc(url),
        html::esc(button)
    );
    let mut p = Page::new(StatusCode::OK, locale, t.processing_title, body);
    p.refresh = Some(0);
    p.refresh_url = Some(url.to_string());
    p.brand = Some(brand.to_string());
    p.into_response()
}

/// A payment whose outcome is not known yet: the page reloads itself until it is.
pub fn processing(locale: Locale, brand: &str) -> axum::response::Response {
    let t = locale.text();
    let mut p = Page::message(
        StatusCode::OK,
        locale,
        t.processing_title,
        t.processing_text,
        None,
    );
    p.refresh = Some(2);
    p.brand = Some(brand.to_string());
    p.into_response()
}

/// An HTML page for what the framework answered on a page path (unknown route, wrong method,
/// a panic): customers never see JSON.
pub fn framework_error(status: StatusCode, locale: Locale) -> axum::response::Response {
    let t = locale.text();
    let (title, text) = if status.is_server_error() {
        (t.unavailable_title, t.unavailable_text)
    } else if status == StatusCode::NOT_FOUND {
        (t.not_found_title, t.not_found_text)
    } else {
        (t.bad_request_title, t.bad_request_text)
    };
    Page::message(status, locale, title, text, None).into_response()
}

const CSS: &str = include_str!("../../assets/pages.css");
const JS: &str = include_str!("../../assets/pay.js");

fn asset(content_type: &'static str, body: &'static str) -> axum::response::Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}

/// The pages' stylesheet.
#[utoipa::path(get, path = "/assets/pages.css", tag = "customer pages",
    responses((status = 200, body = String, content_type = "text/css")))]
pub async fn pages_css() -> axum::response::Response {
    asset("text/css; charset=utf-8", CSS)
}

/// The card form's script (progressive enhancement; the form works without it).
#[utoipa::path(get, path = "/assets/pay.js", tag = "customer pages",
    responses((status = 200, body = String, content_type = "text/javascript")))]
pub async fn pay_js() -> axum::response::Response {
    asset("text/javascript; charset=utf-8", JS)
}
