//! Server-wide secrets kept in the database so every server process shares them.

use crate::Result;
use db::Conn;

/// Returns the value stored under `name`, creating it with `generate` on first use.
/// Concurrent first uses by several processes all end up with the same value.
pub async fn get_or_create(
    c: &mut Conn,
    name: &str,
    generate: impl FnOnce() -> String,
) -> Result<String> {
    let sql = "INSERT INTO server_keys (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING";
    let fresh = generate();
    c.execute(sql, db::args![name, &fresh]).await?;
    let v: String = c
        .scalar_one(
            "SELECT value FROM server_keys WHERE name = $1",
            db::args![name],
        )
        .await?;
    Ok(v)
}

pub async fn get(c: &mut Conn, name: &str) -> Result<Option<String>> {
    c.scalar_opt(
        "SELECT value FROM server_keys WHERE name = $1",
        db::args![name],
    )
    .await
}

pub async fn set(c: &mut Conn, name: &str, value: &str) -> Result<()> {
    let sql = "INSERT INTO server_keys (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value";
    c.execute(sql, db::args![name, value]).await?;
    Ok(())
}

pub async fn insert_operator_token(
    c: &mut Conn,
    token_hash: &str,
    label: &str,
    now: i64,
) -> Result<()> {
    c.execute(
        "INSERT INTO operator_tokens (token_hash, label, created_at) VALUES ($1, $2, $3)",
        db::args![token_hash, label, now],
    )
    .await?;
    Ok(())
}

pub async fn operator_token_valid(c: &mut Conn, token_hash: &str) -> Result<bool> {
    let n: i64 = c
        .scalar_one(
            "SELECT COUNT(*) FROM operator_tokens WHERE token_hash = $1 AND revoked_at IS NULL",
            db::args![token_hash],
        )
        .await?;
    Ok(n > 0)
}

pub async fn revoke_operator_tokens(c: &mut Conn, now: i64) -> Result<u64> {
    let r = c
        .execute(
            "UPDATE operator_tokens SET revoked_at = $1 WHERE revoked_at IS NULL",
            db::args![now],
        )
        .await?;
    Ok(r)
}
