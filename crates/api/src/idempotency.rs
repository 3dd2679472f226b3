//! `Idempotency-Key` on every POST (SPEC §1). The first request with a key runs and its
//! response is stored; a retry with the same key and body replays it; the same key with a
//! different body is refused. Keys are kept 24 h and bound to the caller's identity (the
//! partner, the dealer or department behind a token, the Checkout namespace), not to the
//! credential string: the caller is authenticated first, so a disabled or revoked caller gets
//! its authentication error and never a stored answer, and a client that renews its token
//! mid-retry still finds its key.

use crate::app::AppState;
use crate::auth::identify;
use crate::error::{ApiError, Family};
use crate::extract::MAX_BODY_BYTES;
use crate::observe::is_documented;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use domain::catalog::v1;
use engine::idempotency::Claim;

pub const HEADER: &str = "idempotency-key";

pub async fn idempotency(State(app): State<AppState>, req: Request, next: Next) -> Response {
    // Customer pages (browser form posts, CSRF-protected) never answer JSON, so the API's
    // idempotency errors must not reach them: the header means nothing there.
    if req.method() != Method::POST
        || !req.headers().contains_key(HEADER)
        || crate::pages::is_public_path(req.uri().path())
    {
        return next.run(req).await;
    }
    let family = Family::of(req.uri().path());
    let documented = is_documented(req.method(), req.uri().path());
    match run(&app, req, next).await {
        Ok(resp) => resp,
        Err(e) => e.render(family, documented),
    }
}

async fn run(app: &AppState, req: Request, next: Next) -> Result<Response, ApiError> {
    let key = req
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    // Who is asking comes first: a stranger learns nothing about keys, not even their rules.
    let (mut parts, body) = req.into_parts();
    let identity = identify(&mut parts, app).await?;
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::invalid(
            "Idempotency-Key",
            "must be 1 to 255 visible ASCII characters",
        ));
    }
    let principal = engine::crypto::sha256_hex(identity.as_bytes());
    let bytes = axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| ApiError::malformed(format!("body: larger than {MAX_BODY_BYTES} bytes")))?;
    let mut fingerprint = Vec::with_capacity(bytes.len() + 64);
    fingerprint.extend_from_slice(parts.method.as_str().as_bytes());
    fingerprint.push(b' ');
    fingerprint.extend_from_slice(parts.uri.to_string().as_bytes());
    fingerprint.push(b'\n');
    fingerprint.extend_from_slice(&bytes);
    // Keyed with the secret that is kept outside the database: bodies can carry card data,
    // and a plain hash of them would let a copy of the database test guesses offline.
    let request_hash = app.engine.request_fingerprint(&fingerprint);

    match app
        .engine
        .claim_key(&principal, &key, &request_hash)
        .await?
    {
        Claim::Claimed => {}
        Claim::Existing(row) if row.request_hash != request_hash => {
            return Err(ApiError::conflict(
                v1::INVALID_REQUEST_DATA,
                "Idempotency-Key: already used with a different request; use a new key for a new request",
            ));
        }
        Claim::Existing(row) => match (row.status_code, row.response_body) {
            (Some(status), Some(body)) => {
                let mut resp = Response::new(Body::from(body));
                *resp.status_mut() = StatusCode::from_u16(status as u16).unwrap_or(StatusCode::OK);
                let ct = row
                    .content_type
                    .unwrap_or_else(|| "application/json".into());
                if let Ok(v) = HeaderValue::from_str(&ct) {
                    resp.headers_mut().insert(header::CONTENT_TYPE, v);
                }
                resp.headers_mut()
                    .insert("idempotent-replayed", HeaderValue::from_static("true"));
                return Ok(resp);
            }
            _ => {
                if !app.engine.take_over_key(&principal, &key).await? {
                    return Err(ApiError::conflict(
                        v1::ANOTHER_REQUEST_IN_PROGRESS,
                        "Idempotency-Key: a request with this key is still being processed",
                    ));
                }
            }
        },
    }

    let resp = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    let (parts, body) = resp.into_parts();
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(b) => b,
        Err(e) => {
            let _ = app.engine.release_key(&principal, &key).await;
            return Err(ApiError::internal(format!("reading response body: {e}")));
        }
    };
    if parts.status.is_server_error() {
        // Nothing to replay: let a retry run the request again. If the database is what
        // failed, the release may fail too; the client still gets the original answer (with
        // its Retry-After) and the claim becomes stale after STALE_MS.
        if let Err(e) = app.engine.release_key(&principal, &key).await {
            tracing::warn!(error = %e, "could not release an idempotency key after a server error");
        }
    } else {
        let ct = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("application/json");
        let text = String::from_utf8_lossy(&bytes);
        app.engine
            .complete_key(&principal, &key, parts.status.as_u16(), ct, &text)
            .await?;
    }
    Ok(Response::from_parts(parts, Body::from(bytes)).into_response())
}
