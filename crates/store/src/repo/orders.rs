//! Dealer orders (repair orders).

use crate::{Db, Result, Tx};
use sqlx::FromRow;

#[derive(Debug, Clone, FromRow)]
pub struct OrderRow {
    pub id: i64,
    pub uuid: String,
    pub dealer_id: i64,
    pub department_id: i64,
    pub customer_id: i64,
    pub vehicle_id: Option<i64>,
    pub associate_id: Option<i64>,
    pub order_number: String,
    pub order_type: String,
    pub order_status: String,
    pub amount_cents: i64,
    pub paid_cents: i64,
    pub order_date: i64,
    pub payment_request_sent: i64,
    pub profile: String,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone)]
pub struct OrderWrite {
    pub uuid: String,
    pub department_id: i64,
    pub customer_id: i64,
    pub vehicle_id: Option<i64>,
    pub associate_id: Option<i64>,
    pub order_number: String,
    pub order_type: String,
    pub order_status: String,
    pub amount_cents: i64,
    pub order_date: i64,
    pub profile: String,
}

const ORDER_COLS: &str = "id, uuid, dealer_id, department_id, customer_id, vehicle_id, associate_id, order_number, \
    order_type, order_status, amount_cents, paid_cents, order_date, payment_request_sent, profile, created_at, updated_at";

/// Another order of the dealer already holding this number and type, if any.
pub async fn number_taken_by(
    tx: &mut Tx,
    dealer_id: i64,
    order_type: &str,
    number: &str,
) -> Result<Option<String>> {
    Ok(sqlx::query_scalar(
        "SELECT uuid FROM dealer_orders WHERE dealer_id = $1 AND order_type = $2 AND order_number = $3",
    )
    .bind(dealer_id)
    .bind(order_type)
    .bind(number)
    .fetch_optional(&mut **tx)
    .await?)
}

pub async fn upsert(
    tx: &mut Tx,
    dealer_id: i64,
    w: &OrderWrite,
    now: i64,
) -> Result<Option<OrderRow>> {
    let sql = format!(
        "INSERT INTO dealer_orders (uuid, dealer_id, department_id, customer_id, vehicle_id, associate_id, \
           order_number, order_type, order_status, amount_cents, paid_cents, order_date, profile, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, $11, $12, $13, $13) \
         ON CONFLICT (uuid) DO UPDATE SET department_id = excluded.department_id, customer_id = excluded.customer_id, \
           vehicle_id = excluded.vehicle_id, associate_id = excluded.associate_id, order_number = excluded.order_number, \
           order_type = excluded.order_type, order_status = excluded.order_status, amount_cents = excluded.amount_cents, \
           order_date = excluded.order_date, profile = excluded.profile, updated_at = excluded.updated_at \
         WHERE dealer_orders.dealer_id = excluded.dealer_id \
         RETURNING {ORDER_COLS}"
    );
    Ok(sqlx::query_as(&sql)
        .bind(&w.uuid)
        .bind(dealer_id)
        .bind(w.department_id)
        .bind(w.customer_id)
        .bind(w.vehicle_id)
        .bind(w.associate_id)
        .bind(&w.order_number)
        .bind(&w.order_type)
        .bind(&w.order_status)
        .bind(w.amount_cents)
        .bind(w.order_date)
        .bind(&w.profile)
        .bind(now)
        .fetch_optional(&mut **tx)
        .await?)
}

pub async fn by_uuid(db: &Db, uuid: &str) -> Result<Option<OrderRow>> {
    let sql = format!("SELECT {ORDER_COLS} FROM dealer_orders WHERE uuid = $1");
    Ok(sqlx::query_as(&sql)
        .bind(uuid)
        .fetch_optional(db.read())
        .await?)
}

pub async fn by_uuid_tx(tx: &mut Tx, uuid: &str) -> Result<Option<OrderRow>> {
    let sql = format!("SELECT {ORDER_COLS} FROM dealer_orders WHERE uuid = $1");
    Ok(sqlx::query_as(&sql)
        .bind(uuid)
        .fetch_optional(&mut **tx)
        .await?)
}

pub async fn by_id_tx(tx: &mut Tx, id: i64) -> Result<Option<OrderRow>> {
    let sql = format!("SELECT {ORDER_COLS} FROM dealer_orders WHERE id = $1");
    Ok(sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?)
}

pub async fn by_id(db: &Db, id: i64) -> Result<Option<OrderRow>> {
    let sql = format!("SELECT {ORDER_COLS} FROM dealer_orders WHERE id = $1");
    Ok(sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(db.read())
        .await?)
}

pub async fn invoice_count(db: &Db, order_id: i64) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM invoices WHERE dealer_order_id = $1")
            .bind(order_id)
            .fetch_one(db.read())
            .await?,
    )
}

pub async fn mark_payment_request_sent(tx: &mut Tx, order_id: i64, now: i64) -> Result<()> {
    sqlx::query("UPDATE dealer_orders SET payment_request_sent = 1, updated_at = $1 WHERE id = $2")
        .bind(now)
        .bind(order_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
