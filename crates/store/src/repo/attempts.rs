//! Payment attempts: one per operation (CHARGE, REFUND, VOID). An attempt that may have an
//! outcome at the processor we have not recorded yet is `in_flight`; the partial unique index
//! allows one per dealer order. Every state change is a conditional UPDATE on the state the
//! caller saw, so of two processes racing to record an outcome exactly one wins.

use crate::Result;
use db::{args, Backend, Conn};
use domain::fees::{CardBrand, TenderType};
use domain::status::{AttemptStatus, OrderStatus, TransactionType};
use domain::Money;

#[derive(Debug, Clone)]
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
    pub status: AttemptStatus,
    pub transaction_type: TransactionType,
    pub payment_type: Option<String>,
    pub payment_mode: String,
    /// The part applied to the invoice (charges) or taken back from it (reversals).
    pub amount: Money,
    pub currency: String,
    pub payment_provider: String,
    pub response_code: Option<String>,
    pub response_description: Option<String>,
    pub next_action: Option<String>,
    pub attributes: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub in_flight: bool,
    pub lease_until: Option<i64>,
    pub card_digits: Option<String>,
    pub tender_type: TenderType,
    pub card_type: Option<CardBrand>,
    pub surcharge: Money,
    pub dual_pricing: Money,
    pub sales_tax: Money,
    /// What moves on the card, fees included.
    pub total: Money,
    pub locale: String,
    pub request: String,
    pub parent_transaction_id: Option<i64>,
    pub three_ds_failed: bool,
    pub card_brand: Option<String>,
    pub card_hash: Option<String>,
}
db::from_row!(AttemptRow {
    id,
    uuid,
    dealer_id,
    department_id,
    dealer_order_id,
    invoice_id,
    customer_id,
    associate_id,
    attempt_number,
    status,
    transaction_type,
    payment_type,
    payment_mode,
    amount,
    currency,
    payment_provider,
    response_code,
    response_description,
    next_action,
    attributes,
    created_at,
    updated_at,
    in_flight,
    lease_until,
    card_digits,
    tender_type,
    card_type,
    surcharge,
    dual_pricing,
    sales_tax,
    total,
    locale,
    request,
    parent_transaction_id,
    three_ds_failed,
    card_brand,
    card_hash
});

/// Columns of the row type in `SELECT` order; `attempt_cols!("t")` prefixes them with a table alias.
#[macro_export]
macro_rules! attempt_cols {
    () => {
        "id, uuid, dealer_id, department_id, dealer_order_id, invoice_id, customer_id, associate_id, attempt_number, status, transaction_type, payment_type, payment_mode, amount_cents, currency, payment_provider, response_code, response_description, next_action, attributes, created_at, updated_at, in_flight, lease_until, card_digits, tender_type, card_type, surcharge_cents, dual_pricing_cents, sales_tax_cents, total_cents, locale, request, parent_transaction_id, three_ds_failed, card_brand, card_hash"
    };
    ($a:literal) => {
        concat!(
            $a, ".id, ",
            $a, ".uuid, ",
            $a, ".dealer_id, ",
            $a, ".department_id, ",
            $a, ".dealer_order_id, ",
            $a, ".invoice_id, ",
            $a, ".customer_id, ",
            $a, ".associate_id, ",
            $a, ".attempt_number, ",
            $a, ".status, ",
            $a, ".transaction_type, ",
            $a, ".payment_type, ",
            $a, ".payment_mode, ",
            $a, ".amount_cents, ",
            $a, ".currency, ",
            $a, ".payment_provider, ",
            $a, ".response_code, ",
            $a, ".response_description, ",
            $a, ".next_action, ",
            $a, ".attributes, ",
            $a, ".created_at, ",
            $a, ".updated_at, ",
            $a, ".in_flight, ",
            $a, ".lease_until, ",
            $a, ".card_digits, ",
            $a, ".tender_type, ",
            $a, ".card_type, ",
            $a, ".surcharge_cents, ",
            $a, ".dual_pricing_cents, ",
            $a, ".sales_tax_cents, ",
            $a, ".total_cents, ",
            $a, ".locale, ",
            $a, ".request, ",
            $a, ".parent_transaction_id, ",
            $a, ".three_ds_failed, ",
            $a, ".card_brand, ",
            $a, ".card_hash",
        )
    };
}
pub const COLS: &str = crate::attempt_cols!();

/// A new attempt.
#[derive(Debug, Clone)]
pub struct NewAttempt {
    pub uuid: String,
    pub dealer_id: i64,
    pub department_id: i64,
    pub dealer_order_id: i64,
    pub invoice_id: i64,
    pub customer_id: i64,
    pub associate_id: Option<i64>,
    pub status: AttemptStatus,
    pub transaction_type: TransactionType,
    pub payment_type: Option<String>,
    pub amount: Money,
    pub payment_provider: String,
    pub attributes: String,
    pub card_digits: Option<String>,
    pub tender_type: TenderType,
    pub card_type: Option<CardBrand>,
    pub surcharge: Money,
    pub dual_pricing: Money,
    pub sales_tax: Money,
    pub total: Money,
    pub locale: String,
    pub request: String,
    pub parent_transaction_id: Option<i64>,
    /// Operations that go straight to the processor start in flight, with this lease.
    pub in_flight_until: Option<i64>,
}

/// Inserts the attempt with the invoice's next attempt number. Two processes may pick the
/// same number at once on PostgreSQL: the loser gets a unique violation and retries.
pub async fn insert(c: &mut Conn, w: &NewAttempt, now: i64) -> Result<AttemptRow> {
    let sql = concat!(
        "INSERT INTO payment_attempts (uuid, dealer_id, department_id, dealer_order_id, invoice_id, customer_id, \
           associate_id, attempt_number, status, transaction_type, payment_type, payment_mode, amount_cents, currency, \
           payment_provider, attributes, card_digits, tender_type, card_type, surcharge_cents, dual_pricing_cents, \
           sales_tax_cents, total_cents, locale, request, parent_transaction_id, in_flight, lease_until, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, \
           (SELECT COALESCE(MAX(attempt_number), 0) + 1 FROM payment_attempts WHERE invoice_id = $5), \
           $8, $9, $10, 'ONLINE', $11, 'USD', $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $26) \
         RETURNING ",
        crate::attempt_cols!()
    );
    c.query_one(
        sql,
        args![
            &w.uuid,
            w.dealer_id,
            w.department_id,
            w.dealer_order_id,
            w.invoice_id,
            w.customer_id,
            w.associate_id,
            w.status,
            w.transaction_type,
            &w.payment_type,
            w.amount,
            &w.payment_provider,
            &w.attributes,
            &w.card_digits,
            w.tender_type,
            w.card_type,
            w.surcharge,
            w.dual_pricing,
            w.sales_tax,
            w.total,
            &w.locale,
            &w.request,
            w.parent_transaction_id,
            w.in_flight_until.is_some(),
            w.in_flight_until,
            now
        ],
    )
    .await
}

/// `transactionDetailsList` entries sent with prePayment.
#[derive(Debug, Clone)]
pub struct Detail {
    pub id: i64,
    pub attempt_id: i64,
    pub detail_type: String,
    pub amount: Money,
    pub description: Option<String>,
}
db::from_row!(Detail {
    id,
    attempt_id,
    detail_type,
    amount,
    description
});

pub async fn add_details(
    c: &mut Conn,
    attempt_id: i64,
    details: &[(String, Money, Option<String>)],
) -> Result<Vec<Detail>> {
    let mut out = Vec::with_capacity(details.len());
    for (t, amount, desc) in details {
        out.push(
            c.query_one(
                "INSERT INTO transaction_details (attempt_id, detail_type, amount_cents, description) VALUES ($1, $2, $3, $4) \
                 RETURNING id, attempt_id, detail_type, amount_cents, description",
                args![attempt_id, t, *amount, desc],
            )
            .await?,
        );
    }
    Ok(out)
}

/// The details of every attempt of an invoice.
pub async fn details_of_invoice(c: &mut Conn, invoice_id: i64) -> Result<Vec<Detail>> {
    c.query_all(
        "SELECT d.id, d.attempt_id, d.detail_type, d.amount_cents, d.description FROM transaction_details d \
         JOIN payment_attempts a ON a.id = d.attempt_id WHERE a.invoice_id = $1 ORDER BY d.id",
        args![invoice_id],
    )
    .await
}

pub async fn by_uuid(c: &mut Conn, uuid: &str) -> Result<Option<AttemptRow>> {
    c.query_opt(
        concat!(
            "SELECT ",
            crate::attempt_cols!(),
            " FROM payment_attempts WHERE uuid = $1"
        ),
        args![uuid],
    )
    .await
}

pub async fn by_id(c: &mut Conn, id: i64) -> Result<Option<AttemptRow>> {
    c.query_opt(
        concat!(
            "SELECT ",
            crate::attempt_cols!(),
            " FROM payment_attempts WHERE id = $1"
        ),
        args![id],
    )
    .await
}

pub async fn for_invoice(c: &mut Conn, invoice_id: i64) -> Result<Vec<AttemptRow>> {
    c.query_all(
        concat!(
            "SELECT ",
            crate::attempt_cols!(),
            " FROM payment_attempts WHERE invoice_id = $1 ORDER BY attempt_number"
        ),
        args![invoice_id],
    )
    .await
}

/// What a charge carries when it takes off: the card's brand and funding decide the fees.
#[derive(Debug, Clone)]
pub struct Fees {
    pub card_brand: Option<String>,
    pub card_hash: Option<String>,
    pub card_digits: Option<String>,
    pub tender_type: TenderType,
    pub card_type: Option<CardBrand>,
    pub surcharge: Money,
    pub dual_pricing: Money,
    pub sales_tax: Money,
    pub total: Money,
}

/// Why a take-off did not happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TakeOff {
    /// The attempt is no longer in the expected status.
    Moved,
    /// The invoice no longer has the attempt's amount left to pay.
    InvoiceShort,
    OrderClosed,
}

macro_rules! take_off_set {
    () => {
        "UPDATE payment_attempts SET status = $1, in_flight = 1, lease_until = $2, tender_type = $3, \
           card_type = $4, surcharge_cents = $5, dual_pricing_cents = $6, sales_tax_cents = $7, total_cents = $8, \
           updated_at = $9, card_brand = $10, card_hash = $11, card_digits = COALESCE($12, card_digits) "
    };
}

/// Puts a `from` attempt in flight with its final fees, re-checking in the same statement
/// that its invoice still has the amount left to pay and its order is open: the attempt as
/// it is now, or why not. Fails with a unique violation when another operation of the same
/// dealer order is in flight.
///
/// PostgreSQL: the invoice row is locked first (the lock order of every money-moving
/// transaction) and read as it is after the lock, not as the statement's snapshot saw it.
pub async fn take_off(
    c: &mut Conn,
    a: &AttemptRow,
    from: AttemptStatus,
    fees: &Fees,
    lease_until: i64,
    now: i64,
) -> Result<std::result::Result<AttemptRow, TakeOff>> {
    let sql = match c.backend() {
        Backend::Postgres => concat!(
            "WITH inv AS (SELECT amount_cents - paid_cents + refunded_cents AS due FROM invoices WHERE id = $15 FOR UPDATE) ",
            take_off_set!(),
            "WHERE id = $13 AND status = $14 AND amount_cents <= (SELECT due FROM inv) \
               AND (SELECT order_status FROM dealer_orders WHERE id = $16) = $17 RETURNING ",
            crate::attempt_cols!()
        ),
        Backend::Sqlite => concat!(
            take_off_set!(),
            "WHERE id = $13 AND status = $14 \
               AND amount_cents <= (SELECT amount_cents - paid_cents + refunded_cents FROM invoices WHERE id = $15) \
               AND (SELECT order_status FROM dealer_orders WHERE id = $16) = $17 RETURNING ",
            crate::attempt_cols!()
        ),
    };
    let row: Option<AttemptRow> = c
        .query_opt(
            sql,
            args![
                AttemptStatus::InProgress,
                lease_until,
                fees.tender_type,
                fees.card_type,
                fees.surcharge,
                fees.dual_pricing,
                fees.sales_tax,
                fees.total,
                now,
                &fees.card_brand,
                &fees.card_hash,
                &fees.card_digits,
                a.id,
                from,
                a.invoice_id,
                a.dealer_order_id,
                OrderStatus::Open
            ],
        )
        .await?;
    if let Some(row) = row {
        return Ok(Ok(row));
    }
    // Why not (the refusal path only).
    let (status, due, order): (AttemptStatus, i64, OrderStatus) = c
        .query_one(
            "SELECT a.status, i.amount_cents - i.paid_cents + i.refunded_cents, o.order_status FROM payment_attempts a \
             JOIN invoices i ON i.id = a.invoice_id JOIN dealer_orders o ON o.id = a.dealer_order_id WHERE a.id = $1",
            args![a.id],
        )
        .await?;
    Ok(Err(if status != from {
        TakeOff::Moved
    } else if due < a.amount.cents() {
        TakeOff::InvoiceShort
    } else if order == OrderStatus::Closed {
        TakeOff::OrderClosed
    } else {
        TakeOff::Moved
    }))
}

/// The outcome to record on an attempt.
#[derive(Debug, Clone)]
pub struct Landing {
    pub status: AttemptStatus,
    /// Still waiting on the processor or the customer (3-D Secure, an authorization).
    pub in_flight: bool,
    pub lease_until: Option<i64>,
    pub response_code: Option<String>,
    pub response_description: Option<String>,
    pub next_action: Option<String>,
    pub three_ds_failed: bool,
}

/// Records an outcome if the attempt is still in `from` and in flight; the attempt as it is
/// now, or `None` if someone else recorded it first.
pub async fn land(
    c: &mut Conn,
    id: i64,
    from: AttemptStatus,
    l: &Landing,
    now: i64,
) -> Result<Option<AttemptRow>> {
    c.query_opt(
        concat!(
            "UPDATE payment_attempts SET status = $1, in_flight = $2, lease_until = $3, response_code = $4, \
               response_description = $5, next_action = $6, three_ds_failed = $7, updated_at = $8 \
             WHERE id = $9 AND status = $10 AND in_flight = 1 RETURNING ",
            crate::attempt_cols!()
        ),
        args![
            l.status,
            l.in_flight,
            l.lease_until,
            &l.response_code,
            &l.response_description,
            &l.next_action,
            l.three_ds_failed,
            now,
            id,
            from
        ],
    )
    .await
}

/// Moves an authorized attempt to InProgress for its capture, with the captured amounts.
pub async fn start_capture(
    c: &mut Conn,
    id: i64,
    base: Money,
    fees: &domain::fees::FeeQuote,
    lease_until: i64,
    now: i64,
) -> Result<bool> {
    let n = c
        .execute(
            "UPDATE payment_attempts SET status = $1, amount_cents = $2, surcharge_cents = $3, \
               dual_pricing_cents = $4, sales_tax_cents = $5, total_cents = $6, lease_until = $7, updated_at = $8 \
             WHERE id = $9 AND status = $10 AND in_flight = 1",
            args![
                AttemptStatus::InProgress,
                base,
                fees.surcharge,
                fees.dual_pricing_fee,
                fees.sales_tax,
                fees.total,
                lease_until,
                now,
                id,
                AttemptStatus::RequiresCapture
            ],
        )
        .await?;
    Ok(n == 1)
}

/// Moves an in-flight attempt from `from` back to InProgress (complete, release, the
/// resolver), if nobody else did.
pub async fn resume_from(
    c: &mut Conn,
    id: i64,
    from: AttemptStatus,
    lease_until: i64,
    now: i64,
) -> Result<bool> {
    let n = c
        .execute(
            "UPDATE payment_attempts SET status = $1, lease_until = $2, updated_at = $3 \
             WHERE id = $4 AND status = $5 AND in_flight = 1",
            args![AttemptStatus::InProgress, lease_until, now, id, from],
        )
        .await?;
    Ok(n == 1)
}

/// Claims in-flight attempts whose lease ran out, extending their lease, so that of several
/// processes running the resolver only one works on each.
pub async fn claim_expired(
    c: &mut Conn,
    now: i64,
    new_lease: i64,
    limit: i64,
) -> Result<Vec<AttemptRow>> {
    c.query_all(
        concat!(
            "UPDATE payment_attempts SET lease_until = $1 WHERE id IN \
               (SELECT id FROM payment_attempts WHERE in_flight = 1 AND lease_until < $2 ORDER BY lease_until LIMIT $3) \
             AND in_flight = 1 AND lease_until < $2 RETURNING ",
            crate::attempt_cols!()
        ),
        args![new_lease, now, limit],
    )
    .await
}

/// Ends `Created` attempts nobody confirmed before `before` (the prePayment was abandoned):
/// they can no longer be confirmed. Nothing reached a processor, so nothing else moves.
pub async fn expire_created(c: &mut Conn, before: i64, now: i64, limit: i64) -> Result<u64> {
    // The partial index on unconfirmed attempts serves only a literal condition.
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
            "UPDATE payment_attempts SET status = $1, response_description = 'expired', updated_at = $2 WHERE id IN \
               (SELECT id FROM payment_attempts WHERE status = {created} AND created_at < $3 ORDER BY created_at LIMIT $4) \
             AND status = {created}",
            created = crate::sql_literal(AttemptStatus::Created.as_str())
        )
    });
    c.execute(&SQL, args![AttemptStatus::Cancelled, now, before, limit])
        .await
}

/// Attempts that count as a possible duplicate of a new one: same dealer, customer, amount
/// and card digits, created since `since`, and not failed.
pub async fn duplicates(
    c: &mut Conn,
    dealer_id: i64,
    customer_id: i64,
    amount: Money,
    digits: &str,
    since: i64,
) -> Result<i64> {
    c.scalar_one(
        "SELECT COUNT(*) FROM payment_attempts WHERE dealer_id = $1 AND customer_id = $2 AND amount_cents = $3 \
         AND card_digits = $4 AND created_at >= $5 AND transaction_type = $6 AND status NOT IN ($7, $8)",
        args![
            dealer_id,
            customer_id,
            amount,
            digits,
            since,
            TransactionType::Charge,
            AttemptStatus::Failed,
            AttemptStatus::Cancelled
        ],
    )
    .await
}

/// The `response_description` of attempts we abandoned ourselves (a crash or an outage
/// before the processor saw them).
pub const ABANDONED: &str = "abandoned";

/// Attempts whose outcome is still open (authorization holds waiting for capture are not).
pub async fn in_flight_count(c: &mut Conn) -> Result<i64> {
    c.scalar_one(
        "SELECT COUNT(*) FROM payment_attempts WHERE in_flight = 1 AND status <> $1",
        args![AttemptStatus::RequiresCapture],
    )
    .await
}
