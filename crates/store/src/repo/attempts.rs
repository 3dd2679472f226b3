//! Payment attempts (created by prePayment; read by the v3 status route).

use crate::{Db, Result};
use sqlx::FromRow;

#[derive(Debug, Clone, FromRow)]
pub struct AttemptRow {
    pub id: i64,
    pub uuid: String,
    pub dealer_id: i64,
    pub department_id: i64,
    pub dealer_order_id: i64,
    pub invoice_id: i64,
    pub customer_id: i64,
    pub associate_id: Option<i64>,
    pub attempt_number: i64,
    pub status: String,
    pub transaction_type: String,
    pub payment_type: Option<String>,
    pub payment_mode: String,
    pub amount_cents: i64,
    pub currency: String,
    pub payment_provider: String,
    pub response_code: Option<String>,
    pub response_description: Option<String>,
    pub next_action: Option<String>,
    pub attributes: String,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLS: &str = "id, uuid, dealer_id, department_id, dealer_order_id, invoice_id, customer_id, associate_id, \
    attempt_number, status, transaction_type, payment_type, payment_mode, amount_cents, currency, payment_provider, \
    response_code, response_description, next_action, attributes, created_at, updated_at";

pub async fn for_invoice(db: &Db, invoice_id: i64) -> Result<Vec<AttemptRow>> {
    let sql = format!(
        "SELECT {COLS} FROM payment_attempts WHERE invoice_id = $1 ORDER BY attempt_number"
    );
    Ok(sqlx::query_as(&sql)
        .bind(invoice_id)
        .fetch_all(db.read())
        .await?)
}
