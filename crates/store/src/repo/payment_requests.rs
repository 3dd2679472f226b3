//! Payment requests: the payable link for an invoice. Only the newest request per invoice
//! is ACTIVE (a partial unique index enforces it across processes).

use crate::{Db, Result, Tx};
use sqlx::FromRow;

#[derive(Debug, Clone, FromRow)]
pub struct PaymentRequestRow {
    pub id: i64,
    pub guid: String,
    pub short_code: String,
    pub invoice_id: i64,
    pub dealer_id: i64,
    pub amount_cents: i64,
    pub ttl_seconds: i64,
    pub expires_at: i64,
    pub status: String,
    pub source: String,
    pub source_info: Option<String>,
    pub payment_type: String,
    pub locale: String,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone)]
pub struct PaymentRequestWrite {
    pub guid: String,
    pub short_code: String,
    pub invoice_id: i64,
    pub dealer_id: i64,
    pub amount_cents: i64,
    pub ttl_seconds: i64,
    pub source: String,
    pub source_info: Option<String>,
    pub payment_type: String,
    pub locale: String,
    pub attributes: Vec<(String, String)>,
}

const COLS: &str =
    "id, guid, short_code, invoice_id, dealer_id, amount_cents, ttl_seconds, expires_at, status, \
    source, source_info, payment_type, locale, version, created_at, updated_at";

/// Makes every earlier request for the invoice obsolete and inserts the new ACTIVE one.
/// The caller holds the invoice row (locked on PostgreSQL) inside `tx`.
pub async fn supersede_and_insert(
    tx: &mut Tx,
    w: &PaymentRequestWrite,
    now: i64,
) -> Result<PaymentRequestRow> {
    sqlx::query(
        "UPDATE payment_requests SET status = 'OBSOLETE', version = version + 1, updated_at = $1 \
         WHERE invoice_id = $2 AND status = 'ACTIVE'",
    )
    .bind(now)
    .bind(w.invoice_id)
    .execute(&mut **tx)
    .await?;
    let sql = format!(
        "INSERT INTO payment_requests (guid, short_code, invoice_id, dealer_id, amount_cents, ttl_seconds, \
           expires_at, status, source, source_info, payment_type, locale, version, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'ACTIVE', $8, $9, $10, $11, 0, $12, $12) RETURNING {COLS}"
    );
    let row: PaymentRequestRow = sqlx::query_as(&sql)
        .bind(&w.guid)
        .bind(&w.short_code)
        .bind(w.invoice_id)
        .bind(w.dealer_id)
        .bind(w.amount_cents)
        .bind(w.ttl_seconds)
        .bind(now + w.ttl_seconds * 1000)
        .bind(&w.source)
        .bind(&w.source_info)
        .bind(&w.payment_type)
        .bind(&w.locale)
        .bind(now)
        .fetch_one(&mut **tx)
        .await?;
    for (name, value) in &w.attributes {
        sqlx::query("INSERT INTO payment_request_attributes (payment_request_id, name, value) VALUES ($1, $2, $3)")
            .bind(row.id)
            .bind(name)
            .bind(value)
            .execute(&mut **tx)
            .await?;
    }
    Ok(row)
}

pub async fn by_guid(db: &Db, guid: &str) -> Result<Option<PaymentRequestRow>> {
    let sql = format!("SELECT {COLS} FROM payment_requests WHERE guid = $1");
    Ok(sqlx::query_as(&sql)
        .bind(guid)
        .fetch_optional(db.read())
        .await?)
}

pub async fn by_short_code(db: &Db, code: &str) -> Result<Option<PaymentRequestRow>> {
    let sql = format!("SELECT {COLS} FROM payment_requests WHERE short_code = $1");
    Ok(sqlx::query_as(&sql)
        .bind(code)
        .fetch_optional(db.read())
        .await?)
}

/// `(id, name, value)` of the request's attributes.
pub async fn attributes(db: &Db, request_id: i64) -> Result<Vec<(i64, String, String)>> {
    Ok(sqlx::query_as("SELECT id, name, value FROM payment_request_attributes WHERE payment_request_id = $1 ORDER BY id")
        .bind(request_id)
        .fetch_all(db.read())
        .await?)
}

/// Ends an ACTIVE, unexpired request now (the dealer withdrew the link). False when it was
/// not active and unexpired at that moment.
pub async fn expire_now(db: &Db, id: i64, now: i64) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE payment_requests SET expires_at = $1, version = version + 1, updated_at = $1 \
         WHERE id = $2 AND status = 'ACTIVE' AND expires_at > $1",
    )
    .bind(now)
    .bind(id)
    .execute(db.write())
    .await?;
    Ok(r.rows_affected() == 1)
}
