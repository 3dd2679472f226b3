//! Request ids, one JSON log line per request, Prometheus metrics, and the layer that turns
//! `ApiError`s and framework rejections into the route family's envelope.

use crate::app::AppState;
use crate::error::{ApiError, Family};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use futures_util::FutureExt;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::Ordering;
use std::time::Instant;

pub const REQUEST_ID: &str = "x-request-id";

/// Outermost layer: access log, metrics, statements per request. A client's `x-request-id`
/// is kept only when it is short and plain (it is logged); otherwise the request-id layer
/// inside makes a new one.
pub async fn observe(State(app): State<AppState>, mut req: Request, next: Next) -> Response {
    let start = Instant::now();
    let valid = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        });
    if !valid {
        req.headers_mut().remove(REQUEST_ID);
    }
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string());
    app.metrics.in_flight.fetch_add(1, Ordering::Relaxed);
    let (resp, statements) = db::counting(next.run(req)).await;
    app.metrics.in_flight.fetch_sub(1, Ordering::Relaxed);
    let secs = start.elapsed().as_secs_f64();
    let status = resp.status().as_u16();
    let route = route.unwrap_or_else(|| "unmatched".into());
    let request_id = resp
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    tracing::info!(
        target: "dealerpay::http",
        request_id = %request_id,
        method = %method,
        path = %path,
        route = %route,
        status,
        statements,
        latency_ms = (secs * 1000.0 * 100.0).round() / 100.0,
        "request"
    );
    app.metrics.observe(method, route, status, secs, statements);
    resp
}

/// How much of an oversized body is read and thrown away so the connection stays usable;
/// past this the connection is closed instead.
const DRAIN_LIMIT: usize = 16 * 1024 * 1024;

/// Reads the whole request body (up to the body limit) before anything answers. A route
/// that refuses early (wrong credentials, wrong content type) or a body over the limit would
/// otherwise be answered while the client is still sending, and the connection would close
/// under it: a broken pipe for that client instead of the error, and for the next request
/// the client sends on the same keep-alive connection.
///
/// The whole body must arrive within the body-read timeout: a client trickling it (or
/// sending less than its `Content-Length`) gets 408 and the connection is closed.
pub async fn buffer_body(State(app): State<AppState>, req: Request, next: Next) -> Response {
    use http_body_util::BodyExt;
    let (parts, mut body) = req.into_parts();
    let mut buf = Vec::new();
    let mut seen = 0usize;
    let mut over = false;
    let read = async {
        while let Some(frame) = body.frame().await {
            let Ok(frame) = frame else { break };
            let Ok(data) = frame.into_data() else {
                continue;
            };
            seen += data.len();
            if seen > crate::extract::MAX_BODY_BYTES {
                over = true;
                buf = Vec::new();
                if seen > DRAIN_LIMIT {
                    break;
                }
            } else {
                buf.extend_from_slice(&data);
            }
        }
    };
    let limit = app.config.timeouts.body_read;
    if tokio::time::timeout(limit, read).await.is_err() {
        let detail = format!("body: not received within {} seconds", limit.as_secs());
        let mut r = refuse_body(&parts, StatusCode::REQUEST_TIMEOUT, detail);
        // The rest of the body may still be on its way: this connection cannot be reused.
        r.headers_mut().insert(
            axum::http::header::CONNECTION,
            axum::http::HeaderValue::from_static("close"),
        );
        return r;
    }
    if over {
        let detail = format!("body: larger than {} bytes", crate::extract::MAX_BODY_BYTES);
        return refuse_body(&parts, StatusCode::PAYLOAD_TOO_LARGE, detail);
    }
    next.run(Request::from_parts(parts, axum::body::Body::from(buf)))
        .await
}

/// A body refused before any route saw it: a page for the pages, else the route family's
/// error envelope (the documented routes keep their documented status).
fn refuse_body(parts: &axum::http::request::Parts, status: StatusCode, detail: String) -> Response {
    let path = parts.uri.path();
    if crate::pages::is_page_path(path) {
        return crate::pages::framework_error(
            status,
            crate::pages::request_locale(None, &parts.headers),
        );
    }
    ApiError::generic(status, crate::error::Generic::Malformed, detail)
        .render(Family::of(path), is_documented(&parts.method, path))
}

/// The three routes whose pages list their statuses; they answer only with those. Exactly
/// those routes: `GET …/paymentrequest/{guid}/expire` (a route of ours that takes POST) or a
/// path with more segments is not the documented read, and answers 405 or 404 like any other.
pub fn is_documented(method: &Method, path: &str) -> bool {
    /// One non-empty path segment.
    fn segment(s: &str) -> bool {
        !s.is_empty() && !s.contains('/')
    }
    (method == Method::POST && path == "/payment/kpayment/v1/prepayment")
        || (method == Method::GET
            && (path
                .strip_prefix("/payment/kpayment/v1/paymentrequest/")
                .is_some_and(segment)
                || path
                    .strip_prefix("/payment/v3/department/")
                    .and_then(|rest| rest.strip_suffix("/status"))
                    .is_some_and(segment)))
}

/// Innermost layer: renders `ApiError`s in the route family's envelope, turns framework
/// rejections (plain-text 4xx/5xx) into catalog errors, and converts a panic into a 500.
/// `render_errors` for customer pages: HTML, never JSON.
async fn render_page_errors(req: Request, next: Next) -> Response {
    let locale = crate::pages::locale_of(&req);
    let resp = match AssertUnwindSafe(next.run(req)).catch_unwind().await {
        Ok(r) => r,
        Err(_) => return crate::pages::framework_error(StatusCode::INTERNAL_SERVER_ERROR, locale),
    };
    let status = resp.status();
    let plain = resp
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_none_or(|v| v.as_bytes().starts_with(b"text/plain"));
    if (status.is_client_error() || status.is_server_error()) && plain {
        return crate::pages::framework_error(status, locale);
    }
    resp
}

pub async fn render_errors(req: Request, next: Next) -> Response {
    if crate::pages::is_page_path(req.uri().path()) {
        return render_page_errors(req, next).await;
    }
    let family = Family::of(req.uri().path());
    let documented = is_documented(req.method(), req.uri().path());
    // A panic becomes a 500, not a dropped connection (the panic hook printed its message).
    let resp = match AssertUnwindSafe(next.run(req)).catch_unwind().await {
        Ok(r) => r,
        Err(_) => return ApiError::internal("handler panicked").render(family, documented),
    };
    if let Some(err) = resp.extensions().get::<ApiError>() {
        return err.render(family, documented);
    }
    let status = resp.status();
    // Framework rejections are plain text (or empty); our pages are HTML and our errors JSON.
    let plain = resp
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_none_or(|v| v.as_bytes().starts_with(b"text/plain"));
    if (status.is_client_error() || status.is_server_error()) && plain {
        let err = match status {
            StatusCode::METHOD_NOT_ALLOWED => ApiError::generic(
                status,
                crate::error::Generic::Malformed,
                "method: not allowed on this route",
            ),
            StatusCode::NOT_FOUND => {
                ApiError::generic(status, crate::error::Generic::Malformed, "no such route")
            }
            // The request deadline (or a body that never finished arriving).
            StatusCode::SERVICE_UNAVAILABLE => {
                ApiError::unavailable("the request took too long; retry shortly")
            }
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::generic(
                status,
                crate::error::Generic::Malformed,
                format!("body: larger than {} bytes", crate::extract::MAX_BODY_BYTES),
            ),
            s if s.is_server_error() => ApiError::internal(format!("framework answered {s}")),
            s => ApiError::generic(
                s,
                crate::error::Generic::Malformed,
                "request: could not be parsed",
            ),
        };
        return err.render(family, documented);
    }
    resp
}
