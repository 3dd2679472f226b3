//! Invoices and their attributes.

use crate::{Db, Result, Tx};
use sqlx::FromRow;

#[derive(Debug, Clone, FromRow)]
pub struct InvoiceRow {
    pub id: i64,
    pub guid: String,
    pub dealer_id: i64,
    pub dealer_order_id: i64,
    pub customer_id: i64,
    pub associate_id: i64,
    pub amount_cents: i64,
    pub paid_cents: i64,
    pub refunded_cents: i64,
    pub invoice_date: i64,
    pub paid_at: Option<i64>,
    pub description: Option<String>,
    pub file_name: Option<String>,
    pub reminder_date: Option<i64>,
    pub reminder_mileage: Option<i64>,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

impl InvoiceRow {
    /// What is still owed: amount minus what was paid and kept (refunds reopen the balance).
    pub fn due_cents(&self) -> i64 {
        (self.amount_cents - (self.paid_cents - self.refunded_cents)).max(0)
    }

    /// `UNPAID`, `PARTIALLY_PAID`, `PAID`, `PARTIALLY_REFUNDED` or `REFUNDED`.
    pub fn status(&self) -> &'static str {
        let net = self.paid_cents - self.refunded_cents;
        if self.refunded_cents > 0 {
            if net == 0 {
                "REFUNDED"
            } else {
                "PARTIALLY_REFUNDED"
            }
        } else if self.paid_cents == 0 {
            "UNPAID"
        } else if net >= self.amount_cents {
            "PAID"
        } else {
            "PARTIALLY_PAID"
        }
    }
}

#[derive(Debug, Clone)]
pub struct InvoiceWrite {
    pub guid: String,
    pub dealer_order_id: i64,
    pub customer_id: i64,
    pub associate_id: i64,
    pub amount_cents: i64,
    pub invoice_date: i64,
    pub description: Option<String>,
    pub file_name: Option<String>,
    pub reminder_date: Option<i64>,
    pub reminder_mileage: Option<i64>,
}

const INVOICE_COLS: &str = "id, guid, dealer_id, dealer_order_id, customer_id, associate_id, amount_cents, \
    paid_cents, refunded_cents, invoice_date, paid_at, description, file_name, reminder_date, reminder_mileage, \
    version, created_at, updated_at";

pub async fn upsert(
    tx: &mut Tx,
    dealer_id: i64,
    w: &InvoiceWrite,
    now: i64,
) -> Result<Option<InvoiceRow>> {
    let sql = format!(
        "INSERT INTO invoices (guid, dealer_id, dealer_order_id, customer_id, associate_id, amount_cents, paid_cents, \
           refunded_cents, invoice_date, description, file_name, reminder_date, reminder_mileage, version, \
           created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 0, 0, $7, $8, $9, $10, $11, 0, $12, $12) \
         ON CONFLICT (guid) DO UPDATE SET dealer_order_id = excluded.dealer_order_id, \
           customer_id = excluded.customer_id, associate_id = excluded.associate_id, \
           amount_cents = excluded.amount_cents, invoice_date = excluded.invoice_date, \
           description = excluded.description, file_name = excluded.file_name, \
           reminder_date = excluded.reminder_date, reminder_mileage = excluded.reminder_mileage, \
           version = invoices.version + 1, updated_at = excluded.updated_at \
         WHERE invoices.dealer_id = excluded.dealer_id \
         RETURNING {INVOICE_COLS}"
    );
    Ok(sqlx::query_as(&sql)
        .bind(&w.guid)
        .bind(dealer_id)
        .bind(w.dealer_order_id)
        .bind(w.customer_id)
        .bind(w.associate_id)
        .bind(w.amount_cents)
        .bind(w.invoice_date)
        .bind(&w.description)
        .bind(&w.file_name)
        .bind(w.reminder_date)
        .bind(w.reminder_mileage)
        .bind(now)
        .fetch_optional(&mut **tx)
        .await?)
}

/// Replaces the invoice's attributes with `attrs`.
pub async fn replace_attributes(
    tx: &mut Tx,
    invoice_id: i64,
    attrs: &[(String, String)],
) -> Result<()> {
    sqlx::query("DELETE FROM invoice_attributes WHERE invoice_id = $1")
        .bind(invoice_id)
        .execute(&mut **tx)
        .await?;
    for (k, v) in attrs {
        sqlx::query(
            "INSERT INTO invoice_attributes (invoice_id, option_name, value) VALUES ($1, $2, $3)",
        )
        .bind(invoice_id)
        .bind(k)
        .bind(v)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

pub async fn attributes(db: &Db, invoice_id: i64) -> Result<Vec<(String, String)>> {
    Ok(sqlx::query_as(
        "SELECT option_name, value FROM invoice_attributes WHERE invoice_id = $1 ORDER BY id",
    )
    .bind(invoice_id)
    .fetch_all(db.read())
    .await?)
}

pub async fn by_guid(db: &Db, guid: &str) -> Result<Option<InvoiceRow>> {
    let sql = format!("SELECT {INVOICE_COLS} FROM invoices WHERE guid = $1");
    Ok(sqlx::query_as(&sql)
        .bind(guid)
        .fetch_optional(db.read())
        .await?)
}

/// Reads the invoice inside a write transaction, locking it on PostgreSQL.
pub async fn by_guid_locked(db: &Db, tx: &mut Tx, guid: &str) -> Result<Option<InvoiceRow>> {
    let sql = format!(
        "SELECT {INVOICE_COLS} FROM invoices WHERE guid = $1{}",
        db.for_update()
    );
    Ok(sqlx::query_as(&sql)
        .bind(guid)
        .fetch_optional(&mut **tx)
        .await?)
}

/// Reads the invoice inside a write transaction, locking it on PostgreSQL.
pub async fn by_id_locked(db: &Db, tx: &mut Tx, id: i64) -> Result<Option<InvoiceRow>> {
    let sql = format!(
        "SELECT {INVOICE_COLS} FROM invoices WHERE id = $1{}",
        db.for_update()
    );
    Ok(sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?)
}

pub async fn by_id(db: &Db, id: i64) -> Result<Option<InvoiceRow>> {
    let sql = format!("SELECT {INVOICE_COLS} FROM invoices WHERE id = $1");
    Ok(sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(db.read())
        .await?)
}
