//! Payment attempts: one per operation (CHARGE, REFUND, VOID). An attempt that may have an
//! outcome at the processor we have not recorded yet is `in_flight`; the partial unique index
//! allows one per dealer order. Every state change is a conditional UPDATE on the state the
//! caller saw, so of two processes racing to record an outcome exactly one wins.

use crate::{Db, Result, Tx};
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
    pub in_flight: i64,
    pub lease_until: Option<i64>,
    pub card_digits: Option<String>,
    pub tender_type: String,
    pub card_type: Option<String>,
    pub surcharge_cents: i64,
    pub dual_pricing_cents: i64,
    pub sales_tax_cents: i64,
    pub total_cents: i64,
    pub locale: String,
    pub request: String,
    pub parent_transaction_id: Option<i64>,
    pub three_ds_failed: i64,
    pub card_brand: Option<String>,
    pub card_hash: Option<String>,
}

const COLS: &str = "id, uuid, dealer_id, department_id, dealer_order_id, invoice_id, customer_id, associate_id, \
    attempt_number, status, transaction_type, payment_type, payment_mode, amount_cents, currency, payment_provider, \
    response_code, response_description, next_action, attributes, created_at, updated_at, in_flight, lease_until, \
    card_digits, tender_type, card_type, surcharge_cents, dual_pricing_cents, sales_tax_cents, total_cents, locale, \
    request, parent_transaction_id, three_ds_failed, card_brand, card_hash";

/// A new attempt.
#[derive(Debug, Clone)]
pub struct AttemptWrite {
    pub uuid: String,
    pub dealer_id: i64,
    pub department_id: i64,
    pub dealer_order_id: i64,
    pub invoice_id: i64,
    pub customer_id: i64,
    pub associate_id: Option<i64>,
    pub status: String,
    pub transaction_type: String,
    pub payment_type: Option<String>,
    pub amount_cents: i64,
    pub payment_provider: String,
    pub attributes: String,
    pub card_digits: Option<String>,
    pub tender_type: String,
    pub card_type: Option<String>,
    pub surcharge_cents: i64,
    pub dual_pricing_cents: i64,
    pub sales_tax_cents: i64,
    pub total_cents: i64,
    pub locale: String,
    pub request: String,
    pub parent_transaction_id: Option<i64>,
    /// Operations that go straight to the processor start in flight.
    pub in_flight_until: Option<i64>,
}

/// Inserts the attempt with the invoice's next attempt number.
pub async fn insert(tx: &mut Tx, w: &AttemptWrite, now: i64) -> Result<AttemptRow> {
    let sql = format!(
        "INSERT INTO payment_attempts (uuid, dealer_id, department_id, dealer_order_id, invoice_id, customer_id, \
           associate_id, attempt_number, status, transaction_type, payment_type, payment_mode, amount_cents, currency, \
           payment_provider, attributes, card_digits, tender_type, card_type, surcharge_cents, dual_pricing_cents, \
           sales_tax_cents, total_cents, locale, request, parent_transaction_id, in_flight, lease_until, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, \
           (SELECT COALESCE(MAX(attempt_number), 0) + 1 FROM payment_attempts WHERE invoice_id = $5), \
           $8, $9, $10, 'ONLINE', $11, 'USD', $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $26) \
         RETURNING {COLS}"
    );
    Ok(sqlx::query_as(&sql)
        .bind(&w.uuid)
        .bind(w.dealer_id)
        .bind(w.department_id)
        .bind(w.dealer_order_id)
        .bind(w.invoice_id)
        .bind(w.customer_id)
        .bind(w.associate_id)
        .bind(&w.status)
        .bind(&w.transaction_type)
        .bind(&w.payment_type)
        .bind(w.amount_cents)
        .bind(&w.payment_provider)
        .bind(&w.attributes)
        .bind(&w.card_digits)
        .bind(&w.tender_type)
        .bind(&w.card_type)
        .bind(w.surcharge_cents)
        .bind(w.dual_pricing_cents)
        .bind(w.sales_tax_cents)
        .bind(w.total_cents)
        .bind(&w.locale)
        .bind(&w.request)
        .bind(w.parent_transaction_id)
        .bind(w.in_flight_until.is_some() as i64)
        .bind(w.in_flight_until)
        .bind(now)
        .fetch_one(&mut **tx)
        .await?)
}

pub async fn add_details(
    tx: &mut Tx,
    attempt_id: i64,
    details: &[(String, i64, Option<String>)],
) -> Result<()> {
    for (t, amount, desc) in details {
        sqlx::query("INSERT INTO transaction_details (attempt_id, detail_type, amount_cents, description) VALUES ($1, $2, $3, $4)")
            .bind(attempt_id)
            .bind(t)
            .bind(amount)
            .bind(desc)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// `(id, attempt_id, type, amount_cents, description)` for the given attempts.
pub async fn details(db: &Db, attempt_id: i64) -> Result<Vec<(i64, String, i64, Option<String>)>> {
    Ok(sqlx::query_as("SELECT id, detail_type, amount_cents, description FROM transaction_details WHERE attempt_id = $1 ORDER BY id")
        .bind(attempt_id)
        .fetch_all(db.read())
        .await?)
}

pub async fn by_uuid(db: &Db, uuid: &str) -> Result<Option<AttemptRow>> {
    let sql = format!("SELECT {COLS} FROM payment_attempts WHERE uuid = $1");
    Ok(sqlx::query_as(&sql)
        .bind(uuid)
        .fetch_optional(db.read())
        .await?)
}

pub async fn by_id(db: &Db, id: i64) -> Result<Option<AttemptRow>> {
    let sql = format!("SELECT {COLS} FROM payment_attempts WHERE id = $1");
    Ok(sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(db.write())
        .await?)
}

pub async fn by_uuid_locked(db: &Db, tx: &mut Tx, uuid: &str) -> Result<Option<AttemptRow>> {
    let sql = format!(
        "SELECT {COLS} FROM payment_attempts WHERE uuid = $1{}",
        db.for_update()
    );
    Ok(sqlx::query_as(&sql)
        .bind(uuid)
        .fetch_optional(&mut **tx)
        .await?)
}

pub async fn for_invoice(db: &Db, invoice_id: i64) -> Result<Vec<AttemptRow>> {
    let sql = format!(
        "SELECT {COLS} FROM payment_attempts WHERE invoice_id = $1 ORDER BY attempt_number"
    );
    Ok(sqlx::query_as(&sql)
        .bind(invoice_id)
        .fetch_all(db.read())
        .await?)
}

/// Puts a `from` attempt in flight with its final fees. Fails with a unique violation when
/// another operation of the same dealer order is in flight.
pub async fn take_off(
    tx: &mut Tx,
    id: i64,
    from: &str,
    fees: &Fees,
    lease_until: i64,
    now: i64,
) -> Result<bool> {
    let n = sqlx::query(
        "UPDATE payment_attempts SET status = 'InProgress', in_flight = 1, lease_until = $1, tender_type = $2, \
           card_type = $3, surcharge_cents = $4, dual_pricing_cents = $5, sales_tax_cents = $6, total_cents = $7, \
           updated_at = $8, card_brand = $9, card_hash = $10, card_digits = COALESCE($11, card_digits) \
         WHERE id = $12 AND status = $13",
    )
    .bind(lease_until)
    .bind(&fees.tender_type)
    .bind(&fees.card_type)
    .bind(fees.surcharge_cents)
    .bind(fees.dual_pricing_cents)
    .bind(fees.sales_tax_cents)
    .bind(fees.total_cents)
    .bind(now)
    .bind(&fees.card_brand)
    .bind(&fees.card_hash)
    .bind(&fees.card_digits)
    .bind(id)
    .bind(from)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(n == 1)
}

#[derive(Debug, Clone)]
pub struct Fees {
    pub card_brand: Option<String>,
    pub card_hash: Option<String>,
    pub card_digits: Option<String>,
    pub tender_type: String,
    pub card_type: Option<String>,
    pub surcharge_cents: i64,
    pub dual_pricing_cents: i64,
    pub sales_tax_cents: i64,
    pub total_cents: i64,
}

/// The outcome to record on an attempt.
#[derive(Debug, Clone)]
pub struct Landing {
    pub status: String,
    /// Still waiting on the processor or the customer (3-D Secure).
    pub in_flight: bool,
    pub lease_until: Option<i64>,
    pub response_code: Option<String>,
    pub response_description: Option<String>,
    pub next_action: Option<String>,
    pub three_ds_failed: bool,
}

/// Records an outcome if the attempt is still in `from` and in flight.
pub async fn land(tx: &mut Tx, id: i64, from: &str, l: &Landing, now: i64) -> Result<bool> {
    let n = sqlx::query(
        "UPDATE payment_attempts SET status = $1, in_flight = $2, lease_until = $3, response_code = $4, \
           response_description = $5, next_action = $6, three_ds_failed = $7, updated_at = $8 \
         WHERE id = $9 AND status = $10 AND in_flight = 1",
    )
    .bind(&l.status)
    .bind(l.in_flight as i64)
    .bind(l.lease_until)
    .bind(&l.response_code)
    .bind(&l.response_description)
    .bind(&l.next_action)
    .bind(l.three_ds_failed as i64)
    .bind(now)
    .bind(id)
    .bind(from)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Moves an authorized attempt to InProgress for its capture, with the captured amounts.
pub async fn start_capture(
    tx: &mut Tx,
    id: i64,
    base: i64,
    fees: &(i64, i64, i64, i64),
    lease_until: i64,
    now: i64,
) -> Result<bool> {
    let n = sqlx::query(
        "UPDATE payment_attempts SET status = 'InProgress', amount_cents = $1, surcharge_cents = $2, \
           dual_pricing_cents = $3, sales_tax_cents = $4, total_cents = $5, lease_until = $6, updated_at = $7 \
         WHERE id = $8 AND status = 'RequiresCapture' AND in_flight = 1",
    )
    .bind(base)
    .bind(fees.0)
    .bind(fees.1)
    .bind(fees.2)
    .bind(fees.3)
    .bind(lease_until)
    .bind(now)
    .bind(id)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Moves an in-flight attempt from `from` back to InProgress (release, resolver), if nobody else did.
pub async fn resume_from(
    tx: &mut Tx,
    id: i64,
    from: &str,
    lease_until: i64,
    now: i64,
) -> Result<bool> {
    let n = sqlx::query(
        "UPDATE payment_attempts SET status = 'InProgress', lease_until = $1, updated_at = $2 \
         WHERE id = $3 AND status = $4 AND in_flight = 1",
    )
    .bind(lease_until)
    .bind(now)
    .bind(id)
    .bind(from)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Claims in-flight attempts whose lease ran out, extending their lease so that of several
/// processes running the resolver only one works on each.
pub async fn claim_expired(
    db: &Db,
    now: i64,
    new_lease: i64,
    limit: i64,
) -> Result<Vec<AttemptRow>> {
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM payment_attempts WHERE in_flight = 1 AND lease_until < $1 ORDER BY lease_until LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(db.read())
    .await?;
    let mut claimed = Vec::new();
    for id in ids {
        let n = sqlx::query(
            "UPDATE payment_attempts SET lease_until = $1 WHERE id = $2 AND in_flight = 1 AND lease_until < $3",
        )
        .bind(new_lease)
        .bind(id)
        .bind(now)
        .execute(db.write())
        .await?
        .rows_affected();
        if n == 1 {
            if let Some(a) = by_id(db, id).await? {
                claimed.push(a);
            }
        }
    }
    Ok(claimed)
}

/// Attempts that count as a possible duplicate of a new one: same dealer, customer, amount
/// and card digits, created since `since`, and not failed.
pub async fn duplicates(
    db: &Db,
    dealer_id: i64,
    customer_id: i64,
    amount: i64,
    digits: &str,
    since: i64,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM payment_attempts WHERE dealer_id = $1 AND customer_id = $2 AND amount_cents = $3 \
         AND card_digits = $4 AND created_at >= $5 AND transaction_type = 'CHARGE' AND status NOT IN ('Failed', 'Cancelled')",
    )
    .bind(dealer_id)
    .bind(customer_id)
    .bind(amount)
    .bind(digits)
    .bind(since)
    .fetch_one(db.read())
    .await?)
}

/// Failed charge attempts on an invoice since `since` (card-testing protection). Attempts
/// we abandoned ourselves (a crash or an outage before the processor saw them: no card was
/// tried) do not count, nor do refunds and voids: an outage must not lock a customer out.
pub async fn recent_failures(db: &Db, invoice_id: i64, since: i64) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM payment_attempts WHERE invoice_id = $1 AND status = 'Failed' AND created_at >= $2 \
         AND transaction_type = 'CHARGE' AND COALESCE(response_description, '') <> 'abandoned'",
    )
    .bind(invoice_id)
    .bind(since)
    .fetch_one(db.read())
    .await?)
}

/// Attempts still in flight (for checks and reconciliation).
/// Attempts whose outcome is still open (authorization holds waiting for capture are not).
pub async fn in_flight_count(db: &Db) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM payment_attempts WHERE in_flight = 1 AND status <> 'RequiresCapture'",
    )
    .fetch_one(db.read())
    .await?)
}
