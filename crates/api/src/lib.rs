//! The dealerpay HTTP API: routes, auth, wire mapping, OpenAPI, and the server itself.

pub mod app;
pub mod auth;
pub mod checkout_auth;
pub mod core;
pub mod error;
pub mod extract;
pub mod idempotency;
pub mod observe;
pub mod openapi;
pub mod pages;
pub mod routes;

use app::{App, AppState, Config};
use axum::middleware::{from_fn, from_fn_with_state};
use std::sync::Arc;

pub use axum::http::StatusCode;
pub use error::{ApiError, ApiResult};

/// The complete application: routes plus middleware (outermost first: request id/log/metrics,
/// idempotency, error rendering).
pub fn router(state: AppState) -> axum::Router {
    let mut routes = openapi::routes().with_state(state.clone());
    // The in-process sandbox's 3-D Secure challenge pages.
    if let Some(sb) = &state.sandbox {
        routes = routes.merge(processor::http::challenge_router(sb.clone()));
    }
    routes
        .fallback(|| async {
            ApiError::generic(
                axum::http::StatusCode::NOT_FOUND,
                error::Generic::Malformed,
                "no such route",
            )
        })
        .layer(from_fn_with_state(state.clone(), pages::guard::rate_limit))
        .layer(from_fn(observe::render_errors))
        .layer(from_fn_with_state(state.clone(), idempotency::idempotency))
        .layer(from_fn_with_state(state, observe::observe))
}

/// Connects, migrates and builds the shared state.
pub async fn build(database_url: &str, config: Config) -> anyhow::Result<AppState> {
    let db = store::Db::connect(database_url).await?;
    db.migrate().await?;
    Ok(Arc::new(App::new(db, database_url, config).await?))
}

/// Background housekeeping: forget idempotency keys older than their retention.
pub fn spawn_housekeeping(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(600));
        loop {
            tick.tick().await;
            let cutoff = domain::Timestamp::now().millis() - idempotency::RETENTION_MS;
            match store::repo::idempotency::purge_older_than(&state.db, cutoff).await {
                Ok(n) if n > 0 => tracing::info!(purged = n, "expired idempotency keys"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "idempotency purge failed"),
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
    let resolver = core::resolver::spawn(state.clone());
    let app = router(state);
    let (signalled_tx, signalled_rx) = tokio::sync::oneshot::channel::<()>();
    // Peer addresses for the pages' per-client rate limits.
    let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        shutdown.await;
        let _ = signalled_tx.send(());
    });
    let deadline = async {
        if signalled_rx.await.is_ok() {
            tokio::time::sleep(DRAIN_DEADLINE).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    let r = tokio::select! {
        r = server => r,
        _ = deadline => {
            tracing::warn!(seconds = DRAIN_DEADLINE.as_secs(), "drain deadline passed; closing remaining connections");
            Ok(())
        }
    };
    housekeeping.abort();
    resolver.abort();
    r
}
