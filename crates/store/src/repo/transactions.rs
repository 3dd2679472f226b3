//! Transactions: the recorded outcome of each attempt (APPROVED = a Transaction, DECLINED or
//! ERROR = a TransactionIncomplete), and the money they move on invoices and orders — always
//! in the same database transaction as the attempt's outcome.

use crate::{Db, Result, Tx};
use sqlx::FromRow;

#[derive(Debug, Clone, FromRow)]
pub struct TransactionRow {
    pub id: i64,
    pub uuid: String,
    pub attempt_id: i64,
    pub parent_id: Option<i64>,
    pub transaction_type: String,
    pub status: String,
    pub dealer_id: i64,
    pub invoice_id: i64,
    pub dealer_order_id: i64,
    pub customer_id: i64,
    pub amount_cents: i64,
    pub total_cents: i64,
    pub surcharge_cents: i64,
    pub dual_pricing_cents: i64,
    pub sales_tax_cents: i64,
    pub reversed_cents: i64,
    pub reversed_base_cents: i64,
    pub is_voided: i64,
    pub is_settled: i64,
    pub settled_at: Option<i64>,
    pub processor: String,
    pub processor_txn_id: Option<String>,
    pub auth_code: Option<String>,
    pub response_code: Option<String>,
    pub response_reason: Option<String>,
    pub avs_result: Option<String>,
    pub cvv_result: Option<String>,
    pub card_brand: Option<String>,
    pub card_last4: Option<String>,
    pub card_hash: Option<String>,
    pub funding: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLS: &str = "id, uuid, attempt_id, parent_id, transaction_type, status, dealer_id, invoice_id, dealer_order_id, \
    customer_id, amount_cents, total_cents, surcharge_cents, dual_pricing_cents, sales_tax_cents, reversed_cents, \
    reversed_base_cents, is_voided, is_settled, settled_at, processor, processor_txn_id, auth_code, response_code, \
    response_reason, avs_result, cvv_result, card_brand, card_last4, card_hash, funding, created_at, updated_at";

#[derive(Debug, Clone, Default)]
pub struct TransactionWrite {
    pub uuid: String,
    pub attempt_id: i64,
    pub parent_id: Option<i64>,
    pub transaction_type: String,
    pub status: String,
    pub dealer_id: i64,
    pub invoice_id: i64,
    pub dealer_order_id: i64,
    pub customer_id: i64,
    pub amount_cents: i64,
    pub total_cents: i64,
    pub surcharge_cents: i64,
    pub dual_pricing_cents: i64,
    pub sales_tax_cents: i64,
    pub processor: String,
    pub processor_txn_id: Option<String>,
    pub auth_code: Option<String>,
    pub response_code: Option<String>,
    pub response_reason: Option<String>,
    pub avs_result: Option<String>,
    pub cvv_result: Option<String>,
    pub card_brand: Option<String>,
    pub card_last4: Option<String>,
    pub card_hash: Option<String>,
    pub funding: Option<String>,
}

pub async fn insert(tx: &mut Tx, w: &TransactionWrite, now: i64) -> Result<TransactionRow> {
    let sql = format!(
        "INSERT INTO transactions (uuid, attempt_id, parent_id, transaction_type, status, dealer_id, invoice_id, \
           dealer_order_id, customer_id, amount_cents, total_cents, surcharge_cents, dual_pricing_cents, sales_tax_cents, \
           processor, processor_txn_id, auth_code, response_code, response_reason, avs_result, cvv_result, card_brand, \
           card_last4, card_hash, funding, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, \
           $23, $24, $25, $26, $26) RETURNING {COLS}"
    );
    Ok(sqlx::query_as(&sql)
        .bind(&w.uuid)
        .bind(w.attempt_id)
        .bind(w.parent_id)
        .bind(&w.transaction_type)
        .bind(&w.status)
        .bind(w.dealer_id)
        .bind(w.invoice_id)
        .bind(w.dealer_order_id)
        .bind(w.customer_id)
        .bind(w.amount_cents)
        .bind(w.total_cents)
        .bind(w.surcharge_cents)
        .bind(w.dual_pricing_cents)
        .bind(w.sales_tax_cents)
        .bind(&w.processor)
        .bind(&w.processor_txn_id)
        .bind(&w.auth_code)
        .bind(&w.response_code)
        .bind(&w.response_reason)
        .bind(&w.avs_result)
        .bind(&w.cvv_result)
        .bind(&w.card_brand)
        .bind(&w.card_last4)
        .bind(&w.card_hash)
        .bind(&w.funding)
        .bind(now)
        .fetch_one(&mut **tx)
        .await?)
}

pub async fn by_uuid(db: &Db, uuid: &str) -> Result<Option<TransactionRow>> {
    let sql = format!("SELECT {COLS} FROM transactions WHERE uuid = $1");
    Ok(sqlx::query_as(&sql)
        .bind(uuid)
        .fetch_optional(db.read())
        .await?)
}

pub async fn by_id(db: &Db, id: i64) -> Result<Option<TransactionRow>> {
    let sql = format!("SELECT {COLS} FROM transactions WHERE id = $1");
    Ok(sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(db.read())
        .await?)
}

pub async fn by_id_tx(tx: &mut Tx, id: i64) -> Result<Option<TransactionRow>> {
    let sql = format!("SELECT {COLS} FROM transactions WHERE id = $1");
    Ok(sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?)
}

pub async fn for_invoice(db: &Db, invoice_id: i64) -> Result<Vec<TransactionRow>> {
    let sql = format!("SELECT {COLS} FROM transactions WHERE invoice_id = $1 ORDER BY id");
    Ok(sqlx::query_as(&sql)
        .bind(invoice_id)
        .fetch_all(db.read())
        .await?)
}

pub async fn all(db: &Db) -> Result<Vec<TransactionRow>> {
    let sql = format!("SELECT {COLS} FROM transactions ORDER BY id");
    Ok(sqlx::query_as(&sql).fetch_all(db.read()).await?)
}

/// Reserves `total`/`base` of a charge for a refund or void. Atomic: concurrent reversals can
/// never together exceed the charge. `void` also requires nothing reversed and no settlement.
pub async fn reserve_reversal(
    tx: &mut Tx,
    charge_id: i64,
    total: i64,
    base: i64,
    void: bool,
    now: i64,
) -> Result<bool> {
    let extra = if void {
        " AND reversed_cents = 0 AND is_settled = 0"
    } else {
        ""
    };
    let sql = format!(
        "UPDATE transactions SET reversed_cents = reversed_cents + $1, reversed_base_cents = reversed_base_cents + $2, \
           updated_at = $3 \
         WHERE id = $4 AND transaction_type = 'CHARGE' AND status = 'APPROVED' AND is_voided = 0 \
           AND reversed_cents + $1 <= total_cents AND reversed_base_cents + $2 <= amount_cents{extra}"
    );
    let n = sqlx::query(&sql)
        .bind(total)
        .bind(base)
        .bind(now)
        .bind(charge_id)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    Ok(n == 1)
}

/// Gives back a reservation whose reversal the processor declined.
pub async fn release_reversal(
    tx: &mut Tx,
    charge_id: i64,
    total: i64,
    base: i64,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE transactions SET reversed_cents = reversed_cents - $1, reversed_base_cents = reversed_base_cents - $2, \
           updated_at = $3 WHERE id = $4",
    )
    .bind(total)
    .bind(base)
    .bind(now)
    .bind(charge_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn mark_voided(tx: &mut Tx, charge_id: i64, now: i64) -> Result<()> {
    sqlx::query("UPDATE transactions SET is_voided = 1, updated_at = $1 WHERE id = $2")
        .bind(now)
        .bind(charge_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Batch close: approved charges created before `cutoff` are settled and can no longer be voided.
pub async fn settle_before(db: &Db, cutoff: i64, now: i64) -> Result<u64> {
    Ok(sqlx::query(
        "UPDATE transactions SET is_settled = 1, settled_at = $1 \
         WHERE transaction_type = 'CHARGE' AND status = 'APPROVED' AND is_settled = 0 AND is_voided = 0 AND created_at < $2",
    )
    .bind(now)
    .bind(cutoff)
    .execute(db.write())
    .await?
    .rows_affected())
}

/// Money moved by a recorded outcome, applied to the invoice and its order.
pub async fn apply_to_invoice(
    tx: &mut Tx,
    invoice_id: i64,
    paid_delta: i64,
    refunded_delta: i64,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE invoices SET paid_cents = paid_cents + $1, refunded_cents = refunded_cents + $2, \
           paid_at = CASE WHEN $1 > 0 AND paid_cents + $1 - refunded_cents >= amount_cents THEN $3 ELSE paid_at END, \
           version = version + 1, updated_at = $3 WHERE id = $4",
    )
    .bind(paid_delta)
    .bind(refunded_delta)
    .bind(now)
    .bind(invoice_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn apply_to_order(tx: &mut Tx, order_id: i64, paid_delta: i64, now: i64) -> Result<()> {
    sqlx::query(
        "UPDATE dealer_orders SET paid_cents = paid_cents + $1, updated_at = $2 WHERE id = $3",
    )
    .bind(paid_delta)
    .bind(now)
    .bind(order_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
