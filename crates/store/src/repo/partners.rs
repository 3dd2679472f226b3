//! Service subscribers (partners) and their scope grants.

use crate::{Db, Result};
use sqlx::FromRow;

#[derive(Debug, Clone, FromRow)]
pub struct PartnerRow {
    pub id: i64,
    pub uuid: String,
    pub username: String,
    pub secret_hash: String,
    pub disabled: i64,
}

/// A grant joined with the uuids it names.
#[derive(Debug, Clone, FromRow)]
pub struct GrantRow {
    pub dealer_id: i64,
    pub dealer_uuid: String,
    pub department_uuid: Option<String>,
    pub scope: String,
}

const PARTNER_COLS: &str = "id, uuid, username, secret_hash, disabled";

pub async fn insert(
    db: &Db,
    uuid: &str,
    username: &str,
    secret_hash: &str,
    now: i64,
) -> Result<PartnerRow> {
    let sql = format!(
        "INSERT INTO partners (uuid, username, secret_hash, disabled, created_at, updated_at) \
         VALUES ($1, $2, $3, 0, $4, $4) RETURNING {PARTNER_COLS}"
    );
    Ok(sqlx::query_as(&sql)
        .bind(uuid)
        .bind(username)
        .bind(secret_hash)
        .bind(now)
        .fetch_one(db.write())
        .await?)
}

pub async fn by_username(db: &Db, username: &str) -> Result<Option<PartnerRow>> {
    let sql = format!("SELECT {PARTNER_COLS} FROM partners WHERE username = $1");
    Ok(sqlx::query_as(&sql)
        .bind(username)
        .fetch_optional(db.read())
        .await?)
}

pub async fn by_uuid(db: &Db, uuid: &str) -> Result<Option<PartnerRow>> {
    let sql = format!("SELECT {PARTNER_COLS} FROM partners WHERE uuid = $1");
    Ok(sqlx::query_as(&sql)
        .bind(uuid)
        .fetch_optional(db.read())
        .await?)
}

pub async fn set_disabled(db: &Db, id: i64, disabled: bool, now: i64) -> Result<()> {
    sqlx::query("UPDATE partners SET disabled = $1, updated_at = $2 WHERE id = $3")
        .bind(disabled as i64)
        .bind(now)
        .bind(id)
        .execute(db.write())
        .await?;
    Ok(())
}

pub async fn set_secret(db: &Db, id: i64, secret_hash: &str, now: i64) -> Result<()> {
    sqlx::query("UPDATE partners SET secret_hash = $1, updated_at = $2 WHERE id = $3")
        .bind(secret_hash)
        .bind(now)
        .bind(id)
        .execute(db.write())
        .await?;
    Ok(())
}

/// Adds a grant; granting the same thing twice is a no-op.
pub async fn grant(
    db: &Db,
    partner_id: i64,
    dealer_id: i64,
    department_id: Option<i64>,
    scope: &str,
    now: i64,
) -> Result<()> {
    let sql = "INSERT INTO scope_grants (partner_id, dealer_id, department_id, scope, created_at) \
               VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING";
    sqlx::query(sql)
        .bind(partner_id)
        .bind(dealer_id)
        .bind(department_id)
        .bind(scope)
        .bind(now)
        .execute(db.write())
        .await?;
    Ok(())
}

pub async fn revoke(
    db: &Db,
    partner_id: i64,
    dealer_id: i64,
    department_id: Option<i64>,
    scope: &str,
) -> Result<u64> {
    let sql = "DELETE FROM scope_grants WHERE partner_id = $1 AND dealer_id = $2 \
               AND COALESCE(department_id, 0) = COALESCE($3, 0) AND scope = $4";
    let r = sqlx::query(sql)
        .bind(partner_id)
        .bind(dealer_id)
        .bind(department_id)
        .bind(scope)
        .execute(db.write())
        .await?;
    Ok(r.rows_affected())
}

pub async fn grants(db: &Db, partner_id: i64) -> Result<Vec<GrantRow>> {
    let sql = "SELECT g.dealer_id, d.uuid AS dealer_uuid, dep.uuid AS department_uuid, g.scope \
               FROM scope_grants g JOIN dealers d ON d.id = g.dealer_id \
               LEFT JOIN departments dep ON dep.id = g.department_id \
               WHERE g.partner_id = $1 ORDER BY g.id";
    Ok(sqlx::query_as(sql)
        .bind(partner_id)
        .fetch_all(db.read())
        .await?)
}
