//! Payment requests: the payable link for an invoice. Only the newest request per invoice
//! is ACTIVE (a partial unique index enforces it across processes).

use crate::Result;
use db::Conn;
use domain::status::PaymentRequestStatus;
use domain::Money;

#[derive(Debug, Clone)]
pub struct PaymentRequestRow {
    pub id: i64,
    pub guid: String,
    pub short_code: String,
    pub invoice_id: i64,
    pub dealer_id: i64,
    pub amount: Money,
    pub ttl_seconds: i64,
    pub expires_at: i64,
    pub status: PaymentRequestStatus,
    pub source: String,
    pub source_info: Option<String>,
    pub payment_type: String,
    pub locale: String,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
}
db::from_row!(PaymentRequestRow {
    id,
    guid,
    short_code,
    invoice_id,
    dealer_id,
    amount,
    ttl_seconds,
    expires_at,
    status,
    source,
    source_info,
    payment_type,
    locale,
    version,
    created_at,
    updated_at
});

#[derive(Debug, Clone)]
pub struct PaymentRequestWrite {
    pub guid: String,
    pub short_code: String,
    pub invoice_id: i64,
    pub dealer_id: i64,
    pub amount: Money,
    pub ttl_seconds: i64,
    pub source: String,
    pub source_info: Option<String>,
    pub payment_type: String,
    pub locale: String,
    pub attributes: Vec<(String, String)>,
}

/// Columns of the row type in `SELECT` order; `payment_request_cols!("t")` prefixes them with a table alias.
#[macro_export]
macro_rules! payment_request_cols {
    () => {
        concat!(
            "id, guid, short_code, invoice_id, dealer_id, amount_cents, ttl_seconds, expires_at, status, source, source_info, payment_type, locale, version, created_at, updated_at"
        )
    };
    ($a:literal) => {
        concat!(
            $a, ".id, ",
            $a, ".guid, ",
            $a, ".short_code, ",
            $a, ".invoice_id, ",
            $a, ".dealer_id, ",
            $a, ".amount_cents, ",
            $a, ".ttl_seconds, ",
            $a, ".expires_at, ",
            $a, ".status, ",
            $a, ".source, ",
            $a, ".source_info, ",
            $a, ".payment_type, ",
            $a, ".locale, ",
            $a, ".version, ",
            $a, ".created_at, ",
            $a, ".updated_at",
        )
    };
}

/// Makes every earlier request for the invoice obsolete and inserts the new ACTIVE one.
/// The caller holds the invoice row (locked on PostgreSQL) inside `tx`.
pub async fn supersede_and_insert(
    c: &mut Conn,
    w: &PaymentRequestWrite,
    now: i64,
) -> Result<PaymentRequestRow> {
    // The only index on a payment request's invoice is the partial one on active requests,
    // and it serves only a literal condition.
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
            "UPDATE payment_requests SET status = $3, version = version + 1, updated_at = $1 \
             WHERE invoice_id = $2 AND status = {active}",
            active = crate::sql_literal(PaymentRequestStatus::Active.as_str())
        )
    });
    c.execute(
        &SQL,
        db::args![now, w.invoice_id, PaymentRequestStatus::Obsolete],
    )
    .await?;
    let sql = concat!("INSERT INTO payment_requests (guid, short_code, invoice_id, dealer_id, amount_cents, ttl_seconds, \
           expires_at, status, source, source_info, payment_type, locale, version, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $13, $8, $9, $10, $11, 0, $12, $12) RETURNING ", crate::payment_request_cols!());
    let row: PaymentRequestRow = c
        .query_one(
            sql,
            db::args![
                &w.guid,
                &w.short_code,
                w.invoice_id,
                w.dealer_id,
                w.amount,
                w.ttl_seconds,
                now + w.ttl_seconds * 1000,
                &w.source,
                &w.source_info,
                &w.payment_type,
                &w.locale,
                now,
                PaymentRequestStatus::Active
            ],
        )
        .await?;
    for (name, value) in &w.attributes {
        c.execute("INSERT INTO payment_request_attributes (payment_request_id, name, value) VALUES ($1, $2, $3)", db::args![row.id, name, value])
            .await?;
    }
    Ok(row)
}

pub async fn by_guid(c: &mut Conn, guid: &str) -> Result<Option<PaymentRequestRow>> {
    let sql = concat!(
        "SELECT ",
        crate::payment_request_cols!(),
        " FROM payment_requests WHERE guid = $1"
    );
    c.query_opt(sql, db::args![guid]).await
}

pub async fn by_short_code(c: &mut Conn, code: &str) -> Result<Option<PaymentRequestRow>> {
    let sql = concat!(
        "SELECT ",
        crate::payment_request_cols!(),
        " FROM payment_requests WHERE short_code = $1"
    );
    c.query_opt(sql, db::args![code]).await
}

/// `(id, name, value)` of the request's attributes.
pub async fn attributes(c: &mut Conn, request_id: i64) -> Result<Vec<(i64, String, String)>> {
    c.query_all("SELECT id, name, value FROM payment_request_attributes WHERE payment_request_id = $1 ORDER BY id", db::args![request_id])
        .await
}

/// Ends an ACTIVE, unexpired request now (the dealer withdrew the link). False when it was
/// not active and unexpired at that moment.
pub async fn expire_now(c: &mut Conn, id: i64, now: i64) -> Result<bool> {
    let r = c
        .execute(
            "UPDATE payment_requests SET expires_at = $1, version = version + 1, updated_at = $1 \
         WHERE id = $2 AND status = $3 AND expires_at > $1",
            db::args![now, id, PaymentRequestStatus::Active],
        )
        .await?;
    Ok(r == 1)
}

/// What paying a link needs, in one statement: the request, its dealer, its invoice (for the
/// amount still due) and the keys a prePayment names.
#[derive(Debug, Clone)]
pub struct PayKeys {
    pub request: PaymentRequestRow,
    pub dealer_uuid: String,
    pub allow_partial_payments: bool,
    pub invoice: crate::repo::invoices::InvoiceRow,
    pub order_uuid: String,
    /// The invoice's customer.
    pub customer_uuid: String,
}

impl db::FromRow for PayKeys {
    const WIDTH: usize =
        PaymentRequestRow::WIDTH + 2 + crate::repo::invoices::InvoiceRow::WIDTH + 2;

    fn from_cols(c: &mut db::Cols<'_>) -> db::Result<Self> {
        Ok(PayKeys {
            request: c.row()?,
            dealer_uuid: c.get()?,
            allow_partial_payments: c.get()?,
            invoice: c.row()?,
            order_uuid: c.get()?,
            customer_uuid: c.get()?,
        })
    }
}

pub async fn pay_keys(c: &mut Conn, guid: &str) -> Result<Option<PayKeys>> {
    c.query_opt(
        concat!(
            "SELECT ",
            crate::payment_request_cols!("pr"),
            ", d.uuid, d.allow_partial_payments, ",
            crate::invoice_cols!("i"),
            ", o.uuid, cu.uuid FROM payment_requests pr \
             JOIN dealers d ON d.id = pr.dealer_id \
             JOIN invoices i ON i.id = pr.invoice_id \
             JOIN dealer_orders o ON o.id = i.dealer_order_id \
             JOIN customers cu ON cu.id = i.customer_id \
             WHERE pr.guid = $1"
        ),
        db::args![guid],
    )
    .await
}

/// What creating a request checks about its invoice, read after the invoice lock: the
/// invoice, its order's id and status, and whether its customer is blacklisted (`None` where
/// the row is missing).
#[derive(Debug, Clone)]
pub struct InvoiceChecks {
    pub invoice: crate::repo::invoices::InvoiceRow,
    pub order_id: Option<i64>,
    pub order_status: Option<domain::status::OrderStatus>,
    pub customer_blacklisted: Option<bool>,
}

impl db::FromRow for InvoiceChecks {
    const WIDTH: usize = crate::repo::invoices::InvoiceRow::WIDTH + 3;

    fn from_cols(c: &mut db::Cols<'_>) -> db::Result<Self> {
        Ok(InvoiceChecks {
            invoice: c.row()?,
            order_id: c.get()?,
            order_status: c.get()?,
            customer_blacklisted: c.get::<Option<i64>>()?.map(|b| b != 0),
        })
    }
}

pub async fn invoice_checks(c: &mut Conn, invoice_id: i64) -> Result<Option<InvoiceChecks>> {
    c.query_opt(
        concat!(
            "SELECT ",
            crate::invoice_cols!("i"),
            ", o.id, o.order_status, cu.blacklisted FROM invoices i \
             LEFT JOIN dealer_orders o ON o.id = i.dealer_order_id \
             LEFT JOIN customers cu ON cu.id = i.customer_id \
             WHERE i.id = $1"
        ),
        db::args![invoice_id],
    )
    .await
}

/// An attempt on the invoice of a payment request, with its recorded outcome if any.
#[derive(Debug, Clone)]
pub struct RequestAttempt {
    pub attempt: crate::repo::attempts::AttemptRow,
    pub transaction: Option<crate::repo::transactions::TransactionRow>,
}

impl db::FromRow for RequestAttempt {
    const WIDTH: usize =
        crate::repo::attempts::AttemptRow::WIDTH + crate::repo::transactions::TransactionRow::WIDTH;

    fn from_cols(c: &mut db::Cols<'_>) -> db::Result<Self> {
        Ok(RequestAttempt {
            attempt: c.row()?,
            transaction: c.opt_row()?,
        })
    }
}

/// The attempt `attempt_uuid` if it is on the invoice of the request `guid`; one statement.
pub async fn attempt_of_request(
    c: &mut Conn,
    guid: &str,
    attempt_uuid: &str,
) -> Result<Option<RequestAttempt>> {
    c.query_opt(
        concat!(
            "SELECT ",
            crate::attempt_cols!("a"),
            ", ",
            crate::transaction_cols!("t"),
            " FROM payment_requests pr JOIN payment_attempts a ON a.invoice_id = pr.invoice_id \
              LEFT JOIN transactions t ON t.attempt_id = a.id \
              WHERE pr.guid = $1 AND a.uuid = $2"
        ),
        db::args![guid, attempt_uuid],
    )
    .await
}
