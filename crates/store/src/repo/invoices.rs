//! Invoices and their attributes.

use crate::Result;
use db::{args, Conn};
use domain::Money;

#[derive(Debug, Clone)]
pub struct InvoiceRow {
    pub id: i64,
    pub guid: String,
    pub dealer_id: i64,
    pub dealer_order_id: i64,
    pub customer_id: i64,
    pub associate_id: i64,
    pub amount: Money,
    pub paid: Money,
    pub refunded: Money,
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
db::from_row!(InvoiceRow {
    id,
    guid,
    dealer_id,
    dealer_order_id,
    customer_id,
    associate_id,
    amount,
    paid,
    refunded,
    invoice_date,
    paid_at,
    description,
    file_name,
    reminder_date,
    reminder_mileage,
    version,
    created_at,
    updated_at
});

impl InvoiceRow {
    /// What is still owed: amount minus what was paid and kept (refunds reopen the balance).
    pub fn due(&self) -> Money {
        self.amount
            .saturating_sub(self.paid.saturating_sub(self.refunded))
    }

    /// How much of it is paid (`UNPAID` … `REFUNDED`).
    pub fn status(&self) -> domain::status::InvoicePaymentStatus {
        domain::status::InvoicePaymentStatus::of(self.amount, self.paid, self.refunded)
    }
}

/// Columns of the row type in `SELECT` order; `invoice_cols!("t")` prefixes them with a table alias.
#[macro_export]
macro_rules! invoice_cols {
    () => {
        "id, guid, dealer_id, dealer_order_id, customer_id, associate_id, amount_cents, paid_cents, refunded_cents, invoice_date, paid_at, description, file_name, reminder_date, reminder_mileage, version, created_at, updated_at"
    };
    ($a:literal) => {
        concat!(
            $a, ".id, ",
            $a, ".guid, ",
            $a, ".dealer_id, ",
            $a, ".dealer_order_id, ",
            $a, ".customer_id, ",
            $a, ".associate_id, ",
            $a, ".amount_cents, ",
            $a, ".paid_cents, ",
            $a, ".refunded_cents, ",
            $a, ".invoice_date, ",
            $a, ".paid_at, ",
            $a, ".description, ",
            $a, ".file_name, ",
            $a, ".reminder_date, ",
            $a, ".reminder_mileage, ",
            $a, ".version, ",
            $a, ".created_at, ",
            $a, ".updated_at",
        )
    };
}

#[derive(Debug, Clone)]
pub struct InvoiceWrite {
    pub guid: String,
    pub dealer_order_id: i64,
    pub customer_id: i64,
    pub associate_id: i64,
    pub amount: Money,
    pub invoice_date: i64,
    pub description: Option<String>,
    pub file_name: Option<String>,
    pub reminder_date: Option<i64>,
    pub reminder_mileage: Option<i64>,
}

/// Creates or updates an invoice; `None` when the guid belongs to another dealer.
pub async fn upsert(
    c: &mut Conn,
    dealer_id: i64,
    w: &InvoiceWrite,
    now: i64,
) -> Result<Option<InvoiceRow>> {
    c.query_opt(
        concat!(
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
             RETURNING ",
            crate::invoice_cols!()
        ),
        args![
            &w.guid,
            dealer_id,
            w.dealer_order_id,
            w.customer_id,
            w.associate_id,
            w.amount,
            w.invoice_date,
            &w.description,
            &w.file_name,
            w.reminder_date,
            w.reminder_mileage,
            now
        ],
    )
    .await
}

/// Replaces the invoice's attributes with `attrs`.
pub async fn replace_attributes(
    c: &mut Conn,
    invoice_id: i64,
    attrs: &[(String, String)],
) -> Result<()> {
    c.execute(
        "DELETE FROM invoice_attributes WHERE invoice_id = $1",
        args![invoice_id],
    )
    .await?;
    for (k, v) in attrs {
        c.execute(
            "INSERT INTO invoice_attributes (invoice_id, option_name, value) VALUES ($1, $2, $3)",
            args![invoice_id, k, v],
        )
        .await?;
    }
    Ok(())
}

pub async fn attributes(c: &mut Conn, invoice_id: i64) -> Result<Vec<(String, String)>> {
    c.query_all(
        "SELECT option_name, value FROM invoice_attributes WHERE invoice_id = $1 ORDER BY id",
        args![invoice_id],
    )
    .await
}

pub async fn by_guid(c: &mut Conn, guid: &str) -> Result<Option<InvoiceRow>> {
    c.query_opt(
        concat!(
            "SELECT ",
            crate::invoice_cols!(),
            " FROM invoices WHERE guid = $1"
        ),
        args![guid],
    )
    .await
}

/// Reads the invoice inside a write transaction, locking its row on PostgreSQL (SQLite's
/// single writer already serialises write transactions).
pub async fn by_guid_locked(c: &mut Conn, guid: &str) -> Result<Option<InvoiceRow>> {
    let sql = format!(
        "SELECT {} FROM invoices WHERE guid = $1{}",
        crate::invoice_cols!(),
        c.for_update()
    );
    c.query_opt(&sql, args![guid]).await
}

pub async fn by_id(c: &mut Conn, id: i64) -> Result<Option<InvoiceRow>> {
    c.query_opt(
        concat!(
            "SELECT ",
            crate::invoice_cols!(),
            " FROM invoices WHERE id = $1"
        ),
        args![id],
    )
    .await
}

/// Locks the invoice row for the rest of the transaction (PostgreSQL; on SQLite the single
/// writer already serialises write transactions, and nothing is sent). Every transaction
/// that moves money takes this lock first, so they never deadlock one another.
pub async fn lock(c: &mut Conn, id: i64) -> Result<()> {
    if c.backend() == db::Backend::Postgres {
        c.execute("SELECT 1 FROM invoices WHERE id = $1 FOR UPDATE", args![id])
            .await?;
    }
    Ok(())
}

/// Money moved by a recorded outcome, applied to the invoice: the invoice as it is now.
pub async fn apply(
    c: &mut Conn,
    invoice_id: i64,
    paid: i64,
    refunded: i64,
    now: i64,
) -> Result<InvoiceRow> {
    c.query_one(
        concat!(
            "UPDATE invoices SET paid_cents = paid_cents + $1, refunded_cents = refunded_cents + $2, \
               paid_at = CASE WHEN $1 > 0 AND paid_cents + $1 - refunded_cents >= amount_cents THEN $3 ELSE paid_at END, \
               version = version + 1, updated_at = $3 WHERE id = $4 RETURNING ",
            crate::invoice_cols!()
        ),
        args![paid, refunded, now, invoice_id],
    )
    .await
}
