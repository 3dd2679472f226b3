//! Transactions: the recorded outcome of each attempt (APPROVED = a Transaction, DECLINED or
//! ERROR = a TransactionIncomplete), and the money they move on invoices and orders — always
//! in the same database transaction as the attempt's outcome.

use crate::Result;
use db::{args, Conn};
use domain::status::{TransactionStatus, TransactionType};
use domain::Money;

#[derive(Debug, Clone)]
pub struct TransactionRow {
    pub id: i64,
    pub uuid: String,
    pub attempt_id: i64,
    pub parent_id: Option<i64>,
    pub transaction_type: TransactionType,
    pub status: TransactionStatus,
    pub dealer_id: i64,
    pub invoice_id: i64,
    pub dealer_order_id: i64,
    pub customer_id: i64,
    /// The part applied to the invoice (charges) or taken back from it (refunds, voids).
    pub amount: Money,
    /// What moved on the card, fees included.
    pub total: Money,
    pub surcharge: Money,
    pub dual_pricing: Money,
    pub sales_tax: Money,
    /// Charges: how much of `total` / of `amount` has been refunded or voided so far.
    pub reversed: Money,
    pub reversed_base: Money,
    pub is_voided: bool,
    pub is_settled: bool,
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
db::from_row!(TransactionRow {
    id,
    uuid,
    attempt_id,
    parent_id,
    transaction_type,
    status,
    dealer_id,
    invoice_id,
    dealer_order_id,
    customer_id,
    amount,
    total,
    surcharge,
    dual_pricing,
    sales_tax,
    reversed,
    reversed_base,
    is_voided,
    is_settled,
    settled_at,
    processor,
    processor_txn_id,
    auth_code,
    response_code,
    response_reason,
    avs_result,
    cvv_result,
    card_brand,
    card_last4,
    card_hash,
    funding,
    created_at,
    updated_at
});

impl TransactionRow {
    /// An approved charge that still stands.
    pub fn is_live_charge(&self) -> bool {
        self.transaction_type == TransactionType::Charge
            && self.status == TransactionStatus::Approved
            && !self.is_voided
    }

    /// What of a charge may still be refunded.
    pub fn refundable(&self) -> Money {
        self.total.saturating_sub(self.reversed)
    }
}

/// Columns of the row type in `SELECT` order; `transaction_cols!("t")` prefixes them with a table alias.
#[macro_export]
macro_rules! transaction_cols {
    () => {
        concat!(
            "id, uuid, attempt_id, parent_id, transaction_type, status, dealer_id, invoice_id, dealer_order_id, customer_id, amount_cents, total_cents, surcharge_cents, dual_pricing_cents, sales_tax_cents, reversed_cents, reversed_base_cents, is_voided, is_settled, settled_at, processor, processor_txn_id, auth_code, response_code, response_reason, avs_result, cvv_result, card_brand, card_last4, card_hash, funding, created_at, updated_at"
        )
    };
    ($a:literal) => {
        concat!(
            $a, ".id, ",
            $a, ".uuid, ",
            $a, ".attempt_id, ",
            $a, ".parent_id, ",
            $a, ".transaction_type, ",
            $a, ".status, ",
            $a, ".dealer_id, ",
            $a, ".invoice_id, ",
            $a, ".dealer_order_id, ",
            $a, ".customer_id, ",
            $a, ".amount_cents, ",
            $a, ".total_cents, ",
            $a, ".surcharge_cents, ",
            $a, ".dual_pricing_cents, ",
            $a, ".sales_tax_cents, ",
            $a, ".reversed_cents, ",
            $a, ".reversed_base_cents, ",
            $a, ".is_voided, ",
            $a, ".is_settled, ",
            $a, ".settled_at, ",
            $a, ".processor, ",
            $a, ".processor_txn_id, ",
            $a, ".auth_code, ",
            $a, ".response_code, ",
            $a, ".response_reason, ",
            $a, ".avs_result, ",
            $a, ".cvv_result, ",
            $a, ".card_brand, ",
            $a, ".card_last4, ",
            $a, ".card_hash, ",
            $a, ".funding, ",
            $a, ".created_at, ",
            $a, ".updated_at",
        )
    };
}

#[derive(Debug, Clone)]
pub struct NewTransaction {
    pub uuid: String,
    pub attempt_id: i64,
    pub parent_id: Option<i64>,
    pub transaction_type: TransactionType,
    pub status: TransactionStatus,
    pub dealer_id: i64,
    pub invoice_id: i64,
    pub dealer_order_id: i64,
    pub customer_id: i64,
    pub amount: Money,
    pub total: Money,
    pub surcharge: Money,
    pub dual_pricing: Money,
    pub sales_tax: Money,
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

pub async fn insert(c: &mut Conn, w: &NewTransaction, now: i64) -> Result<TransactionRow> {
    c.query_one(
        concat!(
            "INSERT INTO transactions (uuid, attempt_id, parent_id, transaction_type, status, dealer_id, invoice_id, \
               dealer_order_id, customer_id, amount_cents, total_cents, surcharge_cents, dual_pricing_cents, sales_tax_cents, \
               processor, processor_txn_id, auth_code, response_code, response_reason, avs_result, cvv_result, card_brand, \
               card_last4, card_hash, funding, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, \
               $23, $24, $25, $26, $26) RETURNING ",
            crate::transaction_cols!()
        ),
        args![
            &w.uuid,
            w.attempt_id,
            w.parent_id,
            w.transaction_type,
            w.status,
            w.dealer_id,
            w.invoice_id,
            w.dealer_order_id,
            w.customer_id,
            w.amount,
            w.total,
            w.surcharge,
            w.dual_pricing,
            w.sales_tax,
            &w.processor,
            &w.processor_txn_id,
            &w.auth_code,
            &w.response_code,
            &w.response_reason,
            &w.avs_result,
            &w.cvv_result,
            &w.card_brand,
            &w.card_last4,
            &w.card_hash,
            &w.funding,
            now
        ],
    )
    .await
}

pub async fn by_uuid(c: &mut Conn, uuid: &str) -> Result<Option<TransactionRow>> {
    c.query_opt(
        concat!(
            "SELECT ",
            crate::transaction_cols!(),
            " FROM transactions WHERE uuid = $1"
        ),
        args![uuid],
    )
    .await
}

pub async fn by_id(c: &mut Conn, id: i64) -> Result<Option<TransactionRow>> {
    c.query_opt(
        concat!(
            "SELECT ",
            crate::transaction_cols!(),
            " FROM transactions WHERE id = $1"
        ),
        args![id],
    )
    .await
}

pub async fn for_invoice(c: &mut Conn, invoice_id: i64) -> Result<Vec<TransactionRow>> {
    c.query_all(
        concat!(
            "SELECT ",
            crate::transaction_cols!(),
            " FROM transactions WHERE invoice_id = $1 ORDER BY id"
        ),
        args![invoice_id],
    )
    .await
}

pub async fn all(c: &mut Conn) -> Result<Vec<TransactionRow>> {
    c.query_all(
        concat!(
            "SELECT ",
            crate::transaction_cols!(),
            " FROM transactions ORDER BY id"
        ),
        &[],
    )
    .await
}

/// Reserves `total`/`base` of a charge for a refund or void: the charge as it is now, or
/// `None` if it can no longer take it. Atomic: concurrent reversals can never together
/// exceed the charge. `void` also requires nothing reversed and no settlement.
pub async fn reserve_reversal(
    c: &mut Conn,
    charge_id: i64,
    total: Money,
    base: Money,
    void: bool,
    now: i64,
) -> Result<Option<TransactionRow>> {
    let sql = if void {
        concat!(
            "UPDATE transactions SET reversed_cents = reversed_cents + $1, reversed_base_cents = reversed_base_cents + $2, \
               updated_at = $3 \
             WHERE id = $4 AND transaction_type = $5 AND status = $6 AND is_voided = 0 \
               AND reversed_cents + $1 <= total_cents AND reversed_base_cents + $2 <= amount_cents \
               AND reversed_cents = 0 AND is_settled = 0 RETURNING ",
            crate::transaction_cols!()
        )
    } else {
        concat!(
            "UPDATE transactions SET reversed_cents = reversed_cents + $1, reversed_base_cents = reversed_base_cents + $2, \
               updated_at = $3 \
             WHERE id = $4 AND transaction_type = $5 AND status = $6 AND is_voided = 0 \
               AND reversed_cents + $1 <= total_cents AND reversed_base_cents + $2 <= amount_cents RETURNING ",
            crate::transaction_cols!()
        )
    };
    c.query_opt(
        sql,
        args![
            total,
            base,
            now,
            charge_id,
            TransactionType::Charge,
            TransactionStatus::Approved
        ],
    )
    .await
}

/// Gives back a reservation whose reversal the processor declined.
pub async fn release_reversal(
    c: &mut Conn,
    charge_id: i64,
    total: Money,
    base: Money,
    now: i64,
) -> Result<()> {
    c.execute(
        "UPDATE transactions SET reversed_cents = reversed_cents - $1, reversed_base_cents = reversed_base_cents - $2, \
           updated_at = $3 WHERE id = $4",
        args![total, base, now, charge_id],
    )
    .await?;
    Ok(())
}

pub async fn mark_voided(c: &mut Conn, charge_id: i64, now: i64) -> Result<()> {
    c.execute(
        "UPDATE transactions SET is_voided = 1, updated_at = $1 WHERE id = $2",
        args![now, charge_id],
    )
    .await?;
    Ok(())
}

/// Batch close: approved charges created before `cutoff` are settled and can no longer be voided.
pub async fn settle_before(c: &mut Conn, cutoff: i64, now: i64) -> Result<u64> {
    c.execute(
        "UPDATE transactions SET is_settled = 1, settled_at = $1 \
         WHERE transaction_type = $2 AND status = $3 AND is_settled = 0 AND is_voided = 0 AND created_at < $4",
        args![now, TransactionType::Charge, TransactionStatus::Approved, cutoff],
    )
    .await
}
