//! Request ids, one JSON log line per request, Prometheus metrics, and the layer that turns
//! `ApiError`s and framework rejections into the route family's envelope.

use crate::app::AppState;
use crate::error::{ApiError, Family};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use std::collections::HashMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

pub const REQUEST_ID: &str = "x-request-id";

/// Latency histogram bucket bounds, seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Default)]
struct Series {
    count: u64,
    sum: f64,
    buckets: [u64; BUCKETS.len()],
}

#[derive(Default)]
pub struct Metrics {
    series: Mutex<HashMap<(Method, String, u16), Series>>,
    in_flight: AtomicI64,
}

impl Metrics {
    fn observe(&self, method: Method, route: String, status: u16, secs: f64) {
        let mut map = self.series.lock().unwrap();
        let s = map.entry((method, route, status)).or_default();
        s.count += 1;
        s.sum += secs;
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                s.buckets[i] += 1;
            }
        }
    }

    /// Prometheus text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP dealerpay_http_requests_in_flight Requests being served.\n");
        out.push_str("# TYPE dealerpay_http_requests_in_flight gauge\n");
        let _ = writeln!(
            out,
            "dealerpay_http_requests_in_flight {}",
            self.in_flight.load(Ordering::Relaxed)
        );
        out.push_str(
            "# HELP dealerpay_http_request_duration_seconds Request latency by route and status.\n",
        );
        out.push_str("# TYPE dealerpay_http_request_duration_seconds histogram\n");
        let map = self.series.lock().unwrap();
        let mut keys: Vec<_> = map.keys().collect();
        keys.sort_by(|a, b| {
            (a.1.as_str(), a.0.as_str(), a.2).cmp(&(b.1.as_str(), b.0.as_str(), b.2))
        });
        for key in keys {
            let s = &map[key];
            let labels = format!(
                "method=\"{}\",route=\"{}\",status=\"{}\"",
                key.0,
                key.1.replace('"', ""),
                key.2
            );
            for (i, b) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "dealerpay_http_request_duration_seconds_bucket{{{labels},le=\"{b}\"}} {}",
                    s.buckets[i]
                );
            }
            let _ = writeln!(
                out,
                "dealerpay_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                s.count
            );
            let _ = writeln!(
                out,
                "dealerpay_http_request_duration_seconds_sum{{{labels}}} {}",
                s.sum
            );
            let _ = writeln!(
                out,
                "dealerpay_http_request_duration_seconds_count{{{labels}}} {}",
                s.count
            );
        }
        out
    }
}

/// Outermost layer: request id, access log, metrics.
pub async fn observe(State(app): State<AppState>, mut req: Request, next: Next) -> Response {
    let start = Instant::now();
    let request_id = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        })
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    req.headers_mut().insert(
        REQUEST_ID,
        HeaderValue::from_str(&request_id).expect("validated above"),
    );
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string());
    app.metrics.in_flight.fetch_add(1, Ordering::Relaxed);
    let mut resp = next.run(req).await;
    app.metrics.in_flight.fetch_sub(1, Ordering::Relaxed);
    let secs = start.elapsed().as_secs_f64();
    let status = resp.status().as_u16();
    resp.headers_mut().insert(
        REQUEST_ID,
        HeaderValue::from_str(&request_id).expect("validated above"),
    );
    let route = route.unwrap_or_else(|| "unmatched".into());
    tracing::info!(
        target: "dealerpay::http",
        request_id = %request_id,
        method = %method,
        path = %path,
        route = %route,
        status,
        latency_ms = (secs * 1000.0 * 100.0).round() / 100.0,
        "request"
    );
    app.metrics.observe(method, route, status, secs);
    resp
}

/// The three routes whose pages list their statuses; they answer only with those.
pub fn is_documented(method: &Method, path: &str) -> bool {
    (method == Method::POST && path == "/payment/kpayment/v1/prepayment")
        || (method == Method::GET
            && (path.starts_with("/payment/kpayment/v1/paymentrequest/")
                || (path.starts_with("/payment/v3/department/") && path.ends_with("/status"))))
}

/// Innermost layer: renders `ApiError`s in the route family's envelope, turns framework
/// rejections (plain-text 4xx/5xx) into catalog errors, and converts a panic into a 500.
/// `render_errors` for customer pages: HTML, never JSON.
async fn render_page_errors(req: Request, next: Next) -> Response {
    let locale = crate::pages::locale_of(&req);
    let resp = match tokio::spawn(next.run(req)).await {
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
    // Run the handler in its own task so that a panic becomes a 500, not a dropped connection.
    let resp = match tokio::spawn(next.run(req)).await {
        Ok(r) => r,
        Err(e) => {
            let _ = e; // The panic message was already printed by the panic hook.
            return ApiError::internal("handler panicked").render(family, documented);
        }
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
