//! Stored Idempotency-Key outcomes. A key is claimed by inserting its row (the primary key
//! makes exactly one caller win, across processes); the winner stores the response.

use crate::Result;
use db::Conn;

#[derive(Debug, Clone)]
pub struct IdemRow {
    pub request_hash: String,
    pub status_code: Option<i64>,
    pub content_type: Option<String>,
    pub response_body: Option<String>,
    pub created_at: i64,
}
db::from_row!(IdemRow {
    request_hash,
    status_code,
    content_type,
    response_body,
    created_at
});

pub enum Claim {
    /// This caller owns the key and must run the request.
    Claimed,
    /// Someone already holds the key.
    Existing(IdemRow),
}

pub async fn claim(
    c: &mut Conn,
    principal: &str,
    key: &str,
    request_hash: &str,
    now: i64,
) -> Result<Claim> {
    let inserted = c
        .execute(
            "INSERT INTO idempotency_keys (principal_hash, idem_key, request_hash, created_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (principal_hash, idem_key) DO NOTHING",
            db::args![principal, key, request_hash, now],
        )
        .await?;
    if inserted == 1 {
        return Ok(Claim::Claimed);
    }
    let row: Option<IdemRow> = c.query_opt("SELECT request_hash, status_code, content_type, response_body, created_at FROM idempotency_keys \
         WHERE principal_hash = $1 AND idem_key = $2", db::args![principal, key])
    .await?;
    match row {
        Some(r) => Ok(Claim::Existing(r)),
        // Released between our insert and select: try once more.
        None => Box::pin(claim(c, principal, key, request_hash, now)).await,
    }
}

/// Takes over a claim whose owner never finished (crashed) before `stale_before`.
pub async fn take_over_stale(
    c: &mut Conn,
    principal: &str,
    key: &str,
    stale_before: i64,
    now: i64,
) -> Result<bool> {
    let n = c.execute("UPDATE idempotency_keys SET created_at = $1 WHERE principal_hash = $2 AND idem_key = $3 \
         AND status_code IS NULL AND created_at < $4", db::args![now, principal, key, stale_before])
    .await?;
    Ok(n == 1)
}

pub async fn complete(
    c: &mut Conn,
    principal: &str,
    key: &str,
    status: u16,
    content_type: &str,
    body: &str,
) -> Result<()> {
    c.execute(
        "UPDATE idempotency_keys SET status_code = $1, content_type = $2, response_body = $3 \
         WHERE principal_hash = $4 AND idem_key = $5",
        db::args![status as i64, content_type, body, principal, key],
    )
    .await?;
    Ok(())
}

/// Forgets a claim so that a retry runs the request again (after a server-side failure).
pub async fn release(c: &mut Conn, principal: &str, key: &str) -> Result<()> {
    c.execute(
        "DELETE FROM idempotency_keys WHERE principal_hash = $1 AND idem_key = $2",
        db::args![principal, key],
    )
    .await?;
    Ok(())
}

pub async fn purge_older_than(c: &mut Conn, cutoff: i64) -> Result<u64> {
    c.execute(
        "DELETE FROM idempotency_keys WHERE created_at < $1",
        db::args![cutoff],
    )
    .await
}
