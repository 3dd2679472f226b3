//! Health, readiness, metrics and the API documentation (served from the binary).

use crate::app::AppState;
use crate::error::{ApiError, ApiResult};
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// Liveness: the process answers. Does no I/O (the server's no-op ceiling in benchmarks).
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, body = String, description = "ok")))]
pub async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: the database answers. 503 with Retry-After while it does not.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, body = String, description = "ready"), (status = 503, body = wire::V1ErrorEnvelope)))]
pub async fn readyz(State(app): State<AppState>) -> ApiResult<&'static str> {
    let ping = tokio::time::timeout(std::time::Duration::from_secs(2), app.engine.db.ping()).await;
    match ping {
        Ok(Ok(())) => Ok("ready"),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness check failed");
            Err(ApiError::unavailable("the database is not reachable"))
        }
        Err(_) => Err(ApiError::unavailable(
            "the database did not answer within 2 s",
        )),
    }
}

/// Prometheus metrics (text exposition format).
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, body = String)))]
pub async fn metrics(State(app): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        app.metrics.render(app.engine.db.stats()),
    )
}

/// This document (OpenAPI 3.1).
#[utoipa::path(get, path = "/payment/openapi.json", tag = "operations", responses((status = 200, body = Object)))]
pub async fn openapi_json() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        crate::openapi::json(),
    )
}

/// Browsable API reference.
#[utoipa::path(get, path = "/payment/docs", tag = "operations", responses((status = 200, body = String, content_type = "text/html")))]
pub async fn docs() -> impl IntoResponse {
    asset(
        "text/html; charset=utf-8",
        include_str!("../../assets/docs.html"),
    )
}

/// Script of the API reference page.
#[utoipa::path(get, path = "/payment/docs/docs.js", tag = "operations", responses((status = 200, body = String, content_type = "text/javascript")))]
pub async fn docs_js() -> impl IntoResponse {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("../../assets/docs.js"),
    )
}

/// Stylesheet of the API reference page.
#[utoipa::path(get, path = "/payment/docs/docs.css", tag = "operations", responses((status = 200, body = String, content_type = "text/css")))]
pub async fn docs_css() -> impl IntoResponse {
    asset(
        "text/css; charset=utf-8",
        include_str!("../../assets/docs.css"),
    )
}

fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        body,
    )
}

pub fn csp() -> &'static str {
    CSP
}
