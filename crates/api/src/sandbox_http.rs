//! The sandbox processor over HTTP: the routes `dealerpay sandbox-processor` serves (the
//! processor API the `connectors::http::HttpConnector` calls, and the fault switch), and the
//! 3-D Secure challenge pages (also mounted on the main server when the sandbox runs
//! in-process). The sandbox itself lives in `connectors::sandbox`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use connectors::faults::{Fault, FaultMode};
use connectors::http::{CaptureBody, VoidBody};
use connectors::sandbox::Sandbox;
use connectors::{ChargeRequest, ConnectorError, RefundRequest};
use std::sync::Arc;

type Shared = Arc<Sandbox>;

fn error_response(e: ConnectorError) -> Response {
    let status = match e {
        ConnectorError::NotFound => StatusCode::NOT_FOUND,
        ConnectorError::Rejected(_) => StatusCode::CONFLICT,
        ConnectorError::Timeout => StatusCode::GATEWAY_TIMEOUT,
        ConnectorError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        ConnectorError::InvalidMethod(_) => StatusCode::BAD_REQUEST,
    };
    (status, Json(serde_json::json!({ "error": e.to_string() }))).into_response()
}

fn reply<T: serde::Serialize>(r: Result<T, ConnectorError>) -> Response {
    match r {
        Ok(v) => Json(v).into_response(),
        Err(e) => error_response(e),
    }
}

/// The processor API of the standalone sandbox.
pub fn api_router(sandbox: Shared) -> Router {
    Router::new()
        .route("/sandbox/v1/charges", post(charge))
        .route("/sandbox/v1/charges/{key}", get(lookup))
        .route("/sandbox/v1/charges/{key}/resolve", post(resolve))
        .route("/sandbox/v1/charges/{key}/complete", post(complete))
        .route("/sandbox/v1/charges/{key}/capture", post(capture))
        .route("/sandbox/v1/charges/{key}/release", post(release))
        .route("/sandbox/v1/refunds", post(refund))
        .route("/sandbox/v1/voids", post(void))
        .route(
            "/sandbox/v1/ledger",
            get(|State(s): State<Shared>| async move { reply(s.ledger().await) }),
        )
        .route("/sandbox/faults", get(faults_get).post(faults_set))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(sandbox.clone())
        .merge(challenge_router(sandbox))
}

/// Runs `handle` for operation `op` on `key`, misbehaving as the current fault says (see
/// [`crate::faults`]). `handle` is a future not yet polled: a fault that answers before the
/// processor acts drops it and nothing is recorded.
async fn faulty(
    s: &Sandbox,
    op: &str,
    key: &str,
    handle: impl std::future::Future<Output = Response>,
) -> Response {
    let Some(f) = s.faults().and_then(|f| f.hit(op, key)) else {
        return handle.await;
    };
    tracing::info!(op, key, mode = ?f.mode, "sandbox fault injected");
    let failed = || {
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(serde_json::json!({ "error": "injected fault" })),
        )
            .into_response()
    };
    match f.mode {
        FaultMode::None => handle.await,
        FaultMode::Hang => {
            tokio::time::sleep(f.delay()).await;
            error_response(ConnectorError::Timeout)
        }
        FaultMode::Late => {
            tokio::time::sleep(f.delay()).await;
            handle.await
        }
        FaultMode::Slow => {
            let r = handle.await;
            tokio::time::sleep(f.delay()).await;
            r
        }
        FaultMode::ErrorBefore => failed(),
        FaultMode::ErrorAfter => {
            drop(handle.await);
            failed()
        }
        FaultMode::DropAfter => {
            drop(handle.await);
            // Unwinding out of the handler ends the connection's task: the socket closes
            // with no HTTP answer at all. (`resume_unwind` skips the panic hook: no noise.)
            std::panic::resume_unwind(Box::new("sandbox fault: connection dropped"))
        }
    }
}

/// Whether the request came from this machine (the fault switch is for local tests only).
fn from_loopback(req: &axum::extract::Request) -> bool {
    req.extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .is_some_and(|c| c.0.ip().is_loopback())
}

fn faults_refused(s: &Sandbox, req: &axum::extract::Request) -> Option<Response> {
    if s.faults().is_none() {
        return Some(error_response(ConnectorError::NotFound));
    }
    if !from_loopback(req) {
        return Some(
            (
                StatusCode::FORBIDDEN,
                Json(serde_json::json!({ "error": "the fault switch answers loopback clients only" })),
            )
                .into_response(),
        );
    }
    None
}

async fn faults_get(State(s): State<Shared>, req: axum::extract::Request) -> Response {
    if let Some(r) = faults_refused(&s, &req) {
        return r;
    }
    let f = s.faults().expect("checked");
    Json(serde_json::json!({ "fault": f.current(), "calls": f.calls(), "injected": f.injected() }))
        .into_response()
}

async fn faults_set(State(s): State<Shared>, req: axum::extract::Request) -> Response {
    if let Some(r) = faults_refused(&s, &req) {
        return r;
    }
    let body = match axum::body::to_bytes(req.into_body(), 64 * 1024).await {
        Ok(b) => b,
        Err(_) => return (StatusCode::BAD_REQUEST, "body too large").into_response(),
    };
    let fault: Fault = match serde_json::from_slice(&body) {
        Ok(f) => f,
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                Json(serde_json::json!({ "error": e.to_string() })),
            )
                .into_response()
        }
    };
    if let Err(e) = fault.validate() {
        return (
            StatusCode::BAD_REQUEST,
            Json(serde_json::json!({ "error": e })),
        )
            .into_response();
    }
    let f = s.faults().expect("checked");
    f.set(fault);
    tracing::info!(fault = ?f.current(), "sandbox fault switched");
    Json(serde_json::json!({ "fault": f.current() })).into_response()
}

/// Parses a request body without ever echoing it: bodies carry card numbers.
fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Box<Response>> {
    serde_json::from_slice(body).map_err(|e| {
        let what = match e.classify() {
            serde_json::error::Category::Data => "a field is missing or has the wrong type",
            _ => "the body is not valid JSON",
        };
        Box::new(
            (
                StatusCode::BAD_REQUEST,
                Json(serde_json::json!({ "error": what })),
            )
                .into_response(),
        )
    })
}

async fn charge(State(s): State<Shared>, body: Bytes) -> Response {
    match parse::<ChargeRequest>(&body) {
        Ok(r) => {
            let key = r.key.clone();
            faulty(&s, "charge", &key, async { reply(s.charge(r).await) }).await
        }
        Err(resp) => *resp,
    }
}

async fn lookup(State(s): State<Shared>, Path(k): Path<String>) -> Response {
    faulty(&s, "lookup", &k, async {
        match s.lookup(&k).await {
            Ok(Some(o)) => Json(o).into_response(),
            Ok(None) => error_response(ConnectorError::NotFound),
            Err(e) => error_response(e),
        }
    })
    .await
}

async fn resolve(State(s): State<Shared>, Path(k): Path<String>) -> Response {
    faulty(&s, "resolve", &k, async { reply(s.resolve(&k).await) }).await
}

async fn complete(State(s): State<Shared>, Path(k): Path<String>) -> Response {
    faulty(&s, "complete", &k, async { reply(s.complete(&k).await) }).await
}

async fn capture(State(s): State<Shared>, Path(k): Path<String>, body: Bytes) -> Response {
    match parse::<CaptureBody>(&body) {
        Ok(b) => {
            faulty(&s, "capture", &k, async {
                reply(s.capture(&k, b.amount_cents).await)
            })
            .await
        }
        Err(resp) => *resp,
    }
}

async fn release(State(s): State<Shared>, Path(k): Path<String>) -> Response {
    faulty(&s, "release", &k, async { reply(s.release(&k).await) }).await
}

async fn refund(State(s): State<Shared>, body: Bytes) -> Response {
    match parse::<RefundRequest>(&body) {
        Ok(r) => {
            let key = r.key.clone();
            faulty(&s, "refund", &key, async { reply(s.refund(r).await) }).await
        }
        Err(resp) => *resp,
    }
}

async fn void(State(s): State<Shared>, body: Bytes) -> Response {
    match parse::<VoidBody>(&body) {
        Ok(b) => {
            faulty(&s, "void", &b.key, async {
                reply(s.void(&b.key, &b.charge_key).await)
            })
            .await
        }
        Err(resp) => *resp,
    }
}

/// The 3-D Secure challenge page the customer passes or fails.
pub fn challenge_router(sandbox: Shared) -> Router {
    Router::new()
        .route(
            "/sandbox/challenge/{id}",
            get(challenge_page).post(answer_challenge),
        )
        .with_state(sandbox)
}

const PAGE_CSP: &str =
    "default-src 'none'; style-src 'unsafe-inline'; form-action *; frame-ancestors 'none'";

fn html(status: StatusCode, body: String) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, PAGE_CSP),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

fn shell(title: &str, inner: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><style>body{{font-family:system-ui,sans-serif;max-width:28rem;margin:2rem auto;padding:0 1rem;color:#111}}\
         button{{font-size:1rem;padding:.75rem 1rem;margin:.25rem .5rem .25rem 0;border-radius:.4rem;border:1px solid #333}}\
         .pass{{background:#0b6b2f;color:#fff}}.fail{{background:#fff;color:#8a1010}}</style></head><body><main>{inner}</main></body></html>"
    )
}

fn valid_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

async fn challenge_page(State(s): State<Shared>, Path(id): Path<String>) -> Response {
    if !valid_id(&id) {
        return html(
            StatusCode::NOT_FOUND,
            shell("Not found", "<h1>Unknown authentication request</h1>"),
        );
    }
    match s.challenge_pending(&id).await {
        Ok(Some(true)) => html(
            StatusCode::OK,
            shell(
                "Verify your payment",
                &format!(
                    "<h1>Verify your payment</h1><p>Sandbox bank: confirm this card payment.</p>\
                     <form method=\"post\" action=\"/sandbox/challenge/{id}\">\
                     <button class=\"pass\" name=\"result\" value=\"pass\" type=\"submit\">Complete authentication</button>\
                     <button class=\"fail\" name=\"result\" value=\"fail\" type=\"submit\">Fail authentication</button></form>"
                ),
            ),
        ),
        Ok(Some(false)) => html(StatusCode::OK, shell("Done", "<h1>This verification is finished.</h1>")),
        Ok(None) => html(StatusCode::NOT_FOUND, shell("Not found", "<h1>Unknown authentication request</h1>")),
        Err(_) => html(StatusCode::SERVICE_UNAVAILABLE, shell("Unavailable", "<h1>Please try again.</h1>")),
    }
}

async fn answer_challenge(
    State(s): State<Shared>,
    Path(id): Path<String>,
    body: String,
) -> Response {
    if !valid_id(&id) {
        return html(
            StatusCode::NOT_FOUND,
            shell("Not found", "<h1>Unknown authentication request</h1>"),
        );
    }
    let pass = match body.split('&').find_map(|kv| kv.strip_prefix("result=")) {
        Some("pass") => true,
        Some("fail") => false,
        _ => {
            return html(
                StatusCode::BAD_REQUEST,
                shell("Choose", "<h1>Choose complete or fail.</h1>"),
            )
        }
    };
    match s.answer_challenge(&id, pass).await {
        Ok(Some(url)) => {
            let sep = if url.contains('?') { '&' } else { '?' };
            Redirect::to(&format!(
                "{url}{sep}threeDS={}",
                if pass { "passed" } else { "failed" }
            ))
            .into_response()
        }
        Ok(None) => html(
            StatusCode::OK,
            shell(
                "Done",
                "<h1>Verification recorded.</h1><p>You can close this page.</p>",
            ),
        ),
        Err(ConnectorError::NotFound) => html(
            StatusCode::NOT_FOUND,
            shell("Not found", "<h1>Unknown authentication request</h1>"),
        ),
        Err(_) => html(
            StatusCode::SERVICE_UNAVAILABLE,
            shell("Unavailable", "<h1>Please try again.</h1>"),
        ),
    }
}
