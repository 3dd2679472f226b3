//! What protects the public pages: CSRF tokens on every form post, and per-client rate limits.
//!
//! CSRF uses a signed double submit: a random cookie (HttpOnly, SameSite=Lax) and, in the form,
//! an HMAC of that cookie and the page it belongs to. A cross-site form can neither read the
//! cookie nor forge the MAC. The rate limits are counted in the database, so they hold across
//! every server on it (see [`rate_limit`]); the per-invoice failed-attempt cap is the other
//! database-level guard.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::net::IpAddr;

pub const COOKIE: &str = "dp_csrf";

/// The CSRF cookie of the request, if it looks like one of ours.
pub fn cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().strip_prefix(COOKIE)?.strip_prefix('='))
        .find(|v| v.len() == 32 && v.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(str::to_string)
}

/// The request's CSRF nonce, and the `Set-Cookie` to send when it is new.
pub fn nonce(headers: &HeaderMap, secure: bool) -> (String, Option<String>) {
    if let Some(n) = cookie(headers) {
        return (n, None);
    }
    let n = uuid::Uuid::new_v4().simple().to_string();
    let secure = if secure { "; Secure" } else { "" };
    let set = format!("{COOKIE}={n}; Path=/; HttpOnly; SameSite=Lax; Max-Age=86400{secure}");
    (n, Some(set))
}

/// The form token for `nonce` on the page `scope` (a pay link or checkout session).
pub fn token(key: &[u8], nonce: &str, scope: &str) -> String {
    engine::crypto::hmac_hex(key, format!("csrf|{nonce}|{scope}").as_bytes())
}

/// True when the form's token matches the request's cookie for this page.
pub fn verify(key: &[u8], headers: &HeaderMap, form_token: Option<&str>, scope: &str) -> bool {
    let (Some(n), Some(t)) = (cookie(headers), form_token) else {
        return false;
    };
    let want = token(key, &n, scope);
    engine::crypto::ct_eq(want.as_bytes(), t.as_bytes())
}

/// Middleware for the public pages: answers 429 with a page and Retry-After past the limit.
pub async fn rate_limit(
    State(app): State<crate::app::AppState>,
    req: Request,
    next: Next,
) -> Response {
    if !super::is_public_path(req.uri().path()) {
        return next.run(req).await;
    }
    let ip = crate::auth::client_address(req.extensions()).unwrap_or(IpAddr::from([0, 0, 0, 0]));
    let post = req.method() == Method::POST;
    // This process's own limiter first: a flood it already refuses costs no database write.
    // Then the shared count in the database, which holds across every server on it. Assets
    // (one stylesheet, one script, cached an hour) are not counted there.
    let over = match app.page_limiter.check(ip, post) {
        Err(retry) => Some(retry),
        Ok(()) if req.uri().path().starts_with("/assets/") => None,
        Ok(()) => {
            let limits = engine::throttle::PageLimits {
                views_per_minute: app.config.page_views_per_minute.into(),
                posts_per_minute: app.config.page_posts_per_minute.into(),
            };
            app.engine.page_hit(ip, post, limits).await
        }
    };
    if let Some(retry) = over {
        let locale = super::locale_of(&req);
        let t = locale.text();
        let mut page = super::html::Page::message(
            axum::http::StatusCode::TOO_MANY_REQUESTS,
            locale,
            t.rate_limited_title,
            t.rate_limited_text,
            None,
        );
        page.retry_after = Some(retry);
        return page.into_response();
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csrf_token_binds_cookie_and_page() {
        let key = b"k";
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            format!("x=1; {COOKIE}=0123456789abcdef0123456789abcdef")
                .parse()
                .unwrap(),
        );
        let t = token(key, "0123456789abcdef0123456789abcdef", "pay:a");
        assert!(verify(key, &h, Some(&t), "pay:a"));
        assert!(!verify(key, &h, Some(&t), "pay:b"), "bound to the page");
        assert!(
            !verify(key, &HeaderMap::new(), Some(&t), "pay:a"),
            "needs the cookie"
        );
        assert!(!verify(key, &h, None, "pay:a"));
    }
}
