//! Stored Idempotency-Key outcomes. A key is claimed by inserting its row (the primary key
//! makes exactly one caller win, across processes); the winner stores the response.

use crate::{Db, Result};
use sqlx::FromRow;

#[derive(Debug, Clone, FromRow)]
pub struct IdemRow {
    pub request_hash: String,
    pub status_code: Option<i64>,
    pub content_type: Option<String>,
    pub response_body: Option<String>,
    pub created_at: i64,
}

pub enum Claim {
    /// This caller owns the key and must run the request.
    Claimed,
    /// Someone already holds the key.
    Existing(IdemRow),
}

pub async fn claim(
    db: &Db,
    principal: &str,
    key: &str,
    request_hash: &str,
    now: i64,
) -> Result<Claim> {
    let inserted = sqlx::query(
        "INSERT INTO idempotency_keys (principal_hash, idem_key, request_hash, created_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (principal_hash, idem_key) DO NOTHING",
    )
    .bind(principal)
    .bind(key)
    .bind(request_hash)
    .bind(now)
    .execute(db.write())
    .await?
    .rows_affected();
    if inserted == 1 {
        return Ok(Claim::Claimed);
    }
    let row: Option<IdemRow> = sqlx::query_as(
        "SELECT request_hash, status_code, content_type, response_body, created_at FROM idempotency_keys \
         WHERE principal_hash = $1 AND idem_key = $2",
    )
    .bind(principal)
    .bind(key)
    .fetch_optional(db.write())
    .await?;
    match row {
        Some(r) => Ok(Claim::Existing(r)),
        // Released between our insert and select: try once more.
        None => Box::pin(claim(db, principal, key, request_hash, now)).await,
    }
}

/// Takes over a claim whose owner never finished (crashed) before `stale_before`.
pub async fn take_over_stale(
    db: &Db,
    principal: &str,
    key: &str,
    stale_before: i64,
    now: i64,
) -> Result<bool> {
    let n = sqlx::query(
        "UPDATE idempotency_keys SET created_at = $1 WHERE principal_hash = $2 AND idem_key = $3 \
         AND status_code IS NULL AND created_at < $4",
    )
    .bind(now)
    .bind(principal)
    .bind(key)
    .bind(stale_before)
    .execute(db.write())
    .await?
    .rows_affected();
    Ok(n == 1)
}

pub async fn complete(
    db: &Db,
    principal: &str,
    key: &str,
    status: u16,
    content_type: &str,
    body: &str,
) -> Result<()> {
    sqlx::query(
        "UPDATE idempotency_keys SET status_code = $1, content_type = $2, response_body = $3 \
         WHERE principal_hash = $4 AND idem_key = $5",
    )
    .bind(status as i64)
    .bind(content_type)
    .bind(body)
    .bind(principal)
    .bind(key)
    .execute(db.write())
    .await?;
    Ok(())
}

/// Forgets a claim so that a retry runs the request again (after a server-side failure).
pub async fn release(db: &Db, principal: &str, key: &str) -> Result<()> {
    sqlx::query("DELETE FROM idempotency_keys WHERE principal_hash = $1 AND idem_key = $2")
        .bind(principal)
        .bind(key)
        .execute(db.write())
        .await?;
    Ok(())
}

pub async fn purge_older_than(db: &Db, cutoff: i64) -> Result<u64> {
    Ok(
        sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
            .bind(cutoff)
            .execute(db.write())
            .await?
            .rows_affected(),
    )
}
