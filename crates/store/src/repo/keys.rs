//! Server-wide secrets kept in the database so every server process shares them.

use crate::{Db, Result};

/// Returns the value stored under `name`, creating it with `generate` on first use.
/// Concurrent first uses by several processes all end up with the same value.
pub async fn get_or_create(
    db: &Db,
    name: &str,
    generate: impl FnOnce() -> String,
) -> Result<String> {
    let sql = "INSERT INTO server_keys (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING";
    sqlx::query(sql)
        .bind(name)
        .bind(generate())
        .execute(db.write())
        .await?;
    let v: String = sqlx::query_scalar("SELECT value FROM server_keys WHERE name = $1")
        .bind(name)
        .fetch_one(db.write())
        .await?;
    Ok(v)
}

pub async fn set(db: &Db, name: &str, value: &str) -> Result<()> {
    let sql = "INSERT INTO server_keys (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value";
    sqlx::query(sql)
        .bind(name)
        .bind(value)
        .execute(db.write())
        .await?;
    Ok(())
}

pub async fn insert_operator_token(db: &Db, token_hash: &str, label: &str, now: i64) -> Result<()> {
    sqlx::query("INSERT INTO operator_tokens (token_hash, label, created_at) VALUES ($1, $2, $3)")
        .bind(token_hash)
        .bind(label)
        .bind(now)
        .execute(db.write())
        .await?;
    Ok(())
}

pub async fn operator_token_valid(db: &Db, token_hash: &str) -> Result<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM operator_tokens WHERE token_hash = $1 AND revoked_at IS NULL",
    )
    .bind(token_hash)
    .fetch_one(db.read())
    .await?;
    Ok(n > 0)
}

pub async fn revoke_operator_tokens(db: &Db, now: i64) -> Result<u64> {
    let r = sqlx::query("UPDATE operator_tokens SET revoked_at = $1 WHERE revoked_at IS NULL")
        .bind(now)
        .execute(db.write())
        .await?;
    Ok(r.rows_affected())
}
