//! The dealerpay HTTP API: axum routes, authentication extractors, wire mapping, OpenAPI,
//! the customer pages, and the server itself. Business rules live in the `engine` crate.

pub mod app;
pub mod auth;
pub mod error;
pub mod extract;
pub mod idempotency;
pub mod listener;
pub mod metrics;
pub mod observe;
pub mod openapi;
pub mod pages;
pub mod routes;
pub mod sandbox_http;
pub mod server;
pub mod views;

use app::{App, AppState, Config};
use axum::http::{HeaderName, StatusCode};
use axum::middleware::{from_fn, from_fn_with_state};
use std::sync::Arc;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub use error::{ApiError, ApiResult};

/// The complete application: routes plus middleware (outermost first: access log, metrics
/// and statement counting; request ids; tracing span; idempotency; error rendering; the
/// request deadline; the pages' rate limits).
pub fn router(state: AppState) -> axum::Router {
    let mut routes = openapi::routes().with_state(state.clone());
    // The in-process sandbox's 3-D Secure challenge pages.
    if let Some(sb) = &state.sandbox {
        routes = routes.merge(sandbox_http::challenge_router(sb.clone()));
    }
    let request_id = HeaderName::from_static(observe::REQUEST_ID);
    routes
        .fallback(|| async {
            ApiError::generic(
                StatusCode::NOT_FOUND,
                error::Generic::Malformed,
                "no such route",
            )
        })
        .layer(from_fn_with_state(state.clone(), pages::guard::rate_limit))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            state.config.request_timeout,
        ))
        .layer(from_fn(observe::render_errors))
        .layer(from_fn_with_state(state.clone(), idempotency::idempotency))
        .layer(from_fn_with_state(state.clone(), observe::buffer_body))
        .layer(TraceLayer::new_for_http())
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .layer(from_fn_with_state(state, observe::observe))
}

/// Connects, migrates and builds the shared state.
pub async fn build(database_url: &str, config: Config) -> anyhow::Result<AppState> {
    let db = store::open(database_url).await?;
    Ok(Arc::new(App::new(db, database_url, config).await?))
}

/// Background housekeeping: forget idempotency keys older than their retention and
/// sign-in throttle windows that have ended.
pub fn spawn_housekeeping(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(600));
        loop {
            tick.tick().await;
            match state.engine.purge_keys().await {
                Ok(n) if n > 0 => tracing::info!(purged = n, "expired idempotency keys"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "idempotency purge failed"),
            }
            if let Err(e) = state.engine.purge_auth_failures().await {
                tracing::warn!(error = %e, "sign-in throttle purge failed");
            }
            if let Err(e) = state.engine.purge_page_hits().await {
                tracing::warn!(error = %e, "page rate-limit purge failed");
            }
        }
    })
}

/// How long in-flight requests may take to finish after a shutdown signal before the
/// server stops anyway (a stalled client must not keep the process alive).
pub const DRAIN_DEADLINE: std::time::Duration = std::time::Duration::from_secs(5);

/// Serves until `shutdown` resolves, then drains in-flight requests for at most
/// [`DRAIN_DEADLINE`].
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let housekeeping = spawn_housekeeping(state.clone());
    let jobs = engine::jobs::spawn(state.engine.clone(), state.config.resolver_interval);
    let timeouts = state.config.timeouts;
    let trusted = state.config.trusted_proxies.clone();
    let r = server::run(
        listener,
        router(state),
        timeouts,
        trusted,
        DRAIN_DEADLINE,
        shutdown,
    )
    .await;
    housekeeping.abort();
    jobs.abort();
    r
}
