//! Dealer orders (repair orders).

use crate::Result;
use db::{args, Conn};
use domain::status::OrderStatus;
use domain::Money;

#[derive(Debug, Clone)]
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
    pub order_status: OrderStatus,
    pub amount: Money,
    pub paid: Money,
    pub order_date: i64,
    pub payment_request_sent: bool,
    pub profile: String,
    pub created_at: i64,
    pub updated_at: i64,
}
db::from_row!(OrderRow {
    id,
    uuid,
    dealer_id,
    department_id,
    customer_id,
    vehicle_id,
    associate_id,
    order_number,
    order_type,
    order_status,
    amount,
    paid,
    order_date,
    payment_request_sent,
    profile,
    created_at,
    updated_at
});

impl OrderRow {
    pub fn is_paid(&self) -> bool {
        self.amount > Money::ZERO && self.paid >= self.amount
    }
}

/// Columns of the row type in `SELECT` order; `order_cols!("t")` prefixes them with a table alias.
#[macro_export]
macro_rules! order_cols {
    () => {
        concat!(
            "id, uuid, dealer_id, department_id, customer_id, vehicle_id, associate_id, order_number, order_type, order_status, amount_cents, paid_cents, order_date, payment_request_sent, profile, created_at, updated_at"
        )
    };
    ($a:literal) => {
        concat!(
            $a, ".id, ",
            $a, ".uuid, ",
            $a, ".dealer_id, ",
            $a, ".department_id, ",
            $a, ".customer_id, ",
            $a, ".vehicle_id, ",
            $a, ".associate_id, ",
            $a, ".order_number, ",
            $a, ".order_type, ",
            $a, ".order_status, ",
            $a, ".amount_cents, ",
            $a, ".paid_cents, ",
            $a, ".order_date, ",
            $a, ".payment_request_sent, ",
            $a, ".profile, ",
            $a, ".created_at, ",
            $a, ".updated_at",
        )
    };
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
    pub order_status: OrderStatus,
    pub amount: Money,
    pub order_date: i64,
    pub profile: String,
}

/// Another order of the dealer already holding this number and type, if any.
pub async fn number_taken_by(
    c: &mut Conn,
    dealer_id: i64,
    order_type: &str,
    number: &str,
) -> Result<Option<String>> {
    c.scalar_opt(
        "SELECT uuid FROM dealer_orders WHERE dealer_id = $1 AND order_type = $2 AND order_number = $3",
        args![dealer_id, order_type, number],
    )
    .await
}

/// Creates or updates an order; `None` when the uuid belongs to another dealer.
pub async fn upsert(
    c: &mut Conn,
    dealer_id: i64,
    w: &OrderWrite,
    now: i64,
) -> Result<Option<OrderRow>> {
    c.query_opt(
        concat!(
            "INSERT INTO dealer_orders (uuid, dealer_id, department_id, customer_id, vehicle_id, associate_id, \
               order_number, order_type, order_status, amount_cents, paid_cents, order_date, profile, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, $11, $12, $13, $13) \
             ON CONFLICT (uuid) DO UPDATE SET department_id = excluded.department_id, customer_id = excluded.customer_id, \
               vehicle_id = excluded.vehicle_id, associate_id = excluded.associate_id, order_number = excluded.order_number, \
               order_type = excluded.order_type, order_status = excluded.order_status, amount_cents = excluded.amount_cents, \
               order_date = excluded.order_date, profile = excluded.profile, updated_at = excluded.updated_at \
             WHERE dealer_orders.dealer_id = excluded.dealer_id \
             RETURNING ",
            crate::order_cols!()
        ),
        args![
            &w.uuid,
            dealer_id,
            w.department_id,
            w.customer_id,
            w.vehicle_id,
            w.associate_id,
            &w.order_number,
            &w.order_type,
            w.order_status,
            w.amount,
            w.order_date,
            &w.profile,
            now
        ],
    )
    .await
}

pub async fn by_uuid(c: &mut Conn, uuid: &str) -> Result<Option<OrderRow>> {
    c.query_opt(
        concat!(
            "SELECT ",
            crate::order_cols!(),
            " FROM dealer_orders WHERE uuid = $1"
        ),
        args![uuid],
    )
    .await
}

pub async fn by_id(c: &mut Conn, id: i64) -> Result<Option<OrderRow>> {
    c.query_opt(
        concat!(
            "SELECT ",
            crate::order_cols!(),
            " FROM dealer_orders WHERE id = $1"
        ),
        args![id],
    )
    .await
}

pub async fn invoice_count(c: &mut Conn, order_id: i64) -> Result<i64> {
    c.scalar_one(
        "SELECT COUNT(*) FROM invoices WHERE dealer_order_id = $1",
        args![order_id],
    )
    .await
}

pub async fn mark_payment_request_sent(c: &mut Conn, order_id: i64, now: i64) -> Result<()> {
    c.execute(
        "UPDATE dealer_orders SET payment_request_sent = 1, updated_at = $1 WHERE id = $2",
        args![now, order_id],
    )
    .await?;
    Ok(())
}

/// Money moved by a recorded outcome, applied to the order: the order as it is now.
pub async fn apply(c: &mut Conn, order_id: i64, paid: i64, now: i64) -> Result<OrderRow> {
    c.query_one(
        concat!(
            "UPDATE dealer_orders SET paid_cents = paid_cents + $1, updated_at = $2 WHERE id = $3 RETURNING ",
            crate::order_cols!()
        ),
        args![paid, now, order_id],
    )
    .await
}
