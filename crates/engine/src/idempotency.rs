//! Stored Idempotency-Key answers (SPEC §1): the first request with a key runs and its answer
//! is kept; a retry with the same key and body replays it; the same key with a different body
//! is refused. The HTTP layer decides what a request and an answer are; this keeps them.

use crate::error::EngineResult;
use crate::{crypto, now, Engine};
pub use store::repo::idempotency::{Claim, IdemRow};

/// How long a key is remembered.
pub const RETENTION_MS: i64 = 24 * 3600 * 1000;
/// A claim this old with no stored answer belongs to a request that died; it may be retried.
pub const STALE_MS: i64 = 60_000;

impl Engine {
    /// A keyed fingerprint of a request (bodies can carry card data, so never a plain hash).
    pub fn request_fingerprint(&self, request: &[u8]) -> String {
        crypto::hmac_hex(self.fingerprint_key(), request)
    }

    /// Claims `key` for `caller`, or returns who holds it.
    pub async fn claim_key(
        &self,
        caller: &str,
        key: &str,
        request_hash: &str,
    ) -> EngineResult<Claim> {
        let (caller, key, hash, t) = (
            caller.to_string(),
            key.to_string(),
            request_hash.to_string(),
            now(),
        );
        Ok(self
            .db
            .write(move |c| {
                Box::pin(async move {
                    store::repo::idempotency::claim(c, &caller, &key, &hash, t).await
                })
            })
            .await?)
    }

    /// Takes over a claim whose request died (no answer stored, older than [`STALE_MS`]).
    pub async fn take_over_key(&self, caller: &str, key: &str) -> EngineResult<bool> {
        let (caller, key, t) = (caller.to_string(), key.to_string(), now());
        Ok(self
            .db
            .write(move |c| {
                Box::pin(async move {
                    store::repo::idempotency::take_over_stale(c, &caller, &key, t - STALE_MS, t)
                        .await
                })
            })
            .await?)
    }

    /// Stores the answer to replay.
    pub async fn complete_key(
        &self,
        caller: &str,
        key: &str,
        status: u16,
        content_type: &str,
        body: &str,
    ) -> EngineResult<()> {
        let (caller, key, ct, body) = (
            caller.to_string(),
            key.to_string(),
            content_type.to_string(),
            body.to_string(),
        );
        Ok(self
            .db
            .write(move |c| {
                Box::pin(async move {
                    store::repo::idempotency::complete(c, &caller, &key, status, &ct, &body).await
                })
            })
            .await?)
    }

    /// Forgets a claim so that a retry runs the request again (after a server-side failure).
    pub async fn release_key(&self, caller: &str, key: &str) -> EngineResult<()> {
        let (caller, key) = (caller.to_string(), key.to_string());
        Ok(self
            .db
            .write(move |c| {
                Box::pin(async move { store::repo::idempotency::release(c, &caller, &key).await })
            })
            .await?)
    }

    /// Forgets keys older than their retention.
    pub async fn purge_keys(&self) -> EngineResult<u64> {
        let cutoff = now() - RETENTION_MS;
        Ok(self
            .db
            .write(move |c| {
                Box::pin(async move { store::repo::idempotency::purge_older_than(c, cutoff).await })
            })
            .await?)
    }
}
