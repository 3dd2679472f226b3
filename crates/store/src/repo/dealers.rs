//! Dealers and the people and things that belong to one: departments, associates,
//! customers and vehicles. Upserts are keyed by the uuid the DMS assigns; an upsert never
//! moves a record to another dealer (the conditional `DO UPDATE … WHERE` returns no row).

use crate::{Db, Result, Tx};
use sqlx::FromRow;

#[derive(Debug, Clone, FromRow)]
pub struct DealerRow {
    pub id: i64,
    pub uuid: String,
    pub name: String,
    pub profile: String,
    pub duplicate_window_minutes: i64,
    pub enforce_cvv: i64,
    pub enforce_zip: i64,
    pub surcharge_enabled: i64,
    pub surcharge_bps: i64,
    pub dual_pricing_enabled: i64,
    pub dual_pricing_bps: i64,
    pub sales_tax_enabled: i64,
    pub sales_tax_bps: i64,
    pub allow_partial_payments: i64,
    pub payment_provider: String,
    pub ach_provider: Option<String>,
    pub preferred_dealer_id: Option<String>,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

impl DealerRow {
    pub fn fee_settings(&self) -> domain::fees::FeeSettings {
        domain::fees::FeeSettings {
            surcharge_enabled: self.surcharge_enabled != 0,
            surcharge_bps: self.surcharge_bps,
            dual_pricing_enabled: self.dual_pricing_enabled != 0,
            dual_pricing_bps: self.dual_pricing_bps,
            sales_tax_enabled: self.sales_tax_enabled != 0,
            sales_tax_bps: self.sales_tax_bps,
        }
    }
}

/// Everything a dealer upsert writes.
#[derive(Debug, Clone)]
pub struct DealerWrite {
    pub uuid: String,
    pub name: String,
    pub profile: String,
    pub duplicate_window_minutes: i64,
    pub enforce_cvv: bool,
    pub enforce_zip: bool,
    pub surcharge_enabled: bool,
    pub surcharge_bps: i64,
    pub dual_pricing_enabled: bool,
    pub dual_pricing_bps: i64,
    pub sales_tax_enabled: bool,
    pub sales_tax_bps: i64,
    pub allow_partial_payments: bool,
    pub payment_provider: String,
    pub ach_provider: Option<String>,
    pub preferred_dealer_id: Option<String>,
}

const DEALER_COLS: &str = "id, uuid, name, profile, duplicate_window_minutes, enforce_cvv, enforce_zip, \
    surcharge_enabled, surcharge_bps, dual_pricing_enabled, dual_pricing_bps, sales_tax_enabled, sales_tax_bps, \
    allow_partial_payments, payment_provider, ach_provider, preferred_dealer_id, version, created_at, updated_at";

pub async fn upsert_dealer(tx: &mut Tx, w: &DealerWrite, now: i64) -> Result<DealerRow> {
    let sql = format!(
        "INSERT INTO dealers (uuid, name, profile, duplicate_window_minutes, enforce_cvv, enforce_zip, \
           surcharge_enabled, surcharge_bps, dual_pricing_enabled, dual_pricing_bps, sales_tax_enabled, \
           sales_tax_bps, allow_partial_payments, payment_provider, ach_provider, preferred_dealer_id, \
           version, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, 0, $17, $17) \
         ON CONFLICT (uuid) DO UPDATE SET name = excluded.name, profile = excluded.profile, \
           duplicate_window_minutes = excluded.duplicate_window_minutes, enforce_cvv = excluded.enforce_cvv, \
           enforce_zip = excluded.enforce_zip, surcharge_enabled = excluded.surcharge_enabled, \
           surcharge_bps = excluded.surcharge_bps, dual_pricing_enabled = excluded.dual_pricing_enabled, \
           dual_pricing_bps = excluded.dual_pricing_bps, sales_tax_enabled = excluded.sales_tax_enabled, \
           sales_tax_bps = excluded.sales_tax_bps, allow_partial_payments = excluded.allow_partial_payments, \
           payment_provider = excluded.payment_provider, ach_provider = excluded.ach_provider, \
           preferred_dealer_id = excluded.preferred_dealer_id, version = dealers.version + 1, \
           updated_at = excluded.updated_at \
         RETURNING {DEALER_COLS}"
    );
    Ok(sqlx::query_as(&sql)
        .bind(&w.uuid)
        .bind(&w.name)
        .bind(&w.profile)
        .bind(w.duplicate_window_minutes)
        .bind(w.enforce_cvv as i64)
        .bind(w.enforce_zip as i64)
        .bind(w.surcharge_enabled as i64)
        .bind(w.surcharge_bps)
        .bind(w.dual_pricing_enabled as i64)
        .bind(w.dual_pricing_bps)
        .bind(w.sales_tax_enabled as i64)
        .bind(w.sales_tax_bps)
        .bind(w.allow_partial_payments as i64)
        .bind(&w.payment_provider)
        .bind(&w.ach_provider)
        .bind(&w.preferred_dealer_id)
        .bind(now)
        .fetch_one(&mut **tx)
        .await?)
}

pub async fn dealer_by_uuid(db: &Db, uuid: &str) -> Result<Option<DealerRow>> {
    let sql = format!("SELECT {DEALER_COLS} FROM dealers WHERE uuid = $1");
    Ok(sqlx::query_as(&sql)
        .bind(uuid)
        .fetch_optional(db.read())
        .await?)
}

pub async fn dealer_by_id(db: &Db, id: i64) -> Result<Option<DealerRow>> {
    let sql = format!("SELECT {DEALER_COLS} FROM dealers WHERE id = $1");
    Ok(sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(db.read())
        .await?)
}

#[derive(Debug, Clone, FromRow)]
pub struct DepartmentRow {
    pub id: i64,
    pub uuid: String,
    pub dealer_id: i64,
    pub name: String,
    pub department_type: String,
    pub profile: String,
}

const DEPARTMENT_COLS: &str = "id, uuid, dealer_id, name, department_type, profile";

pub async fn upsert_department(
    tx: &mut Tx,
    dealer_id: i64,
    uuid: &str,
    name: &str,
    department_type: &str,
    profile: &str,
    now: i64,
) -> Result<Option<DepartmentRow>> {
    let sql = format!(
        "INSERT INTO departments (uuid, dealer_id, name, department_type, profile, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6) \
         ON CONFLICT (uuid) DO UPDATE SET name = excluded.name, department_type = excluded.department_type, \
           profile = excluded.profile, updated_at = excluded.updated_at \
         WHERE departments.dealer_id = excluded.dealer_id \
         RETURNING {DEPARTMENT_COLS}"
    );
    Ok(sqlx::query_as(&sql)
        .bind(uuid)
        .bind(dealer_id)
        .bind(name)
        .bind(department_type)
        .bind(profile)
        .bind(now)
        .fetch_optional(&mut **tx)
        .await?)
}

pub async fn department_by_uuid(db: &Db, uuid: &str) -> Result<Option<DepartmentRow>> {
    let sql = format!("SELECT {DEPARTMENT_COLS} FROM departments WHERE uuid = $1");
    Ok(sqlx::query_as(&sql)
        .bind(uuid)
        .fetch_optional(db.read())
        .await?)
}

pub async fn department_by_id(db: &Db, id: i64) -> Result<Option<DepartmentRow>> {
    let sql = format!("SELECT {DEPARTMENT_COLS} FROM departments WHERE id = $1");
    Ok(sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(db.read())
        .await?)
}

#[derive(Debug, Clone, FromRow)]
pub struct AssociateRow {
    pub id: i64,
    pub uuid: String,
    pub dealer_id: i64,
    pub department_id: Option<i64>,
    pub user_uuid: String,
    pub first_name: String,
    pub last_name: String,
    pub profile: String,
}

const ASSOCIATE_COLS: &str =
    "id, uuid, dealer_id, department_id, user_uuid, first_name, last_name, profile";

#[allow(clippy::too_many_arguments)]
pub async fn upsert_associate(
    tx: &mut Tx,
    dealer_id: i64,
    department_id: Option<i64>,
    uuid: &str,
    user_uuid: &str,
    first_name: &str,
    last_name: &str,
    profile: &str,
    now: i64,
) -> Result<Option<AssociateRow>> {
    let sql = format!(
        "INSERT INTO associates (uuid, dealer_id, department_id, user_uuid, first_name, last_name, profile, \
           created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) \
         ON CONFLICT (uuid) DO UPDATE SET department_id = excluded.department_id, user_uuid = excluded.user_uuid, \
           first_name = excluded.first_name, last_name = excluded.last_name, profile = excluded.profile, \
           updated_at = excluded.updated_at \
         WHERE associates.dealer_id = excluded.dealer_id \
         RETURNING {ASSOCIATE_COLS}"
    );
    Ok(sqlx::query_as(&sql)
        .bind(uuid)
        .bind(dealer_id)
        .bind(department_id)
        .bind(user_uuid)
        .bind(first_name)
        .bind(last_name)
        .bind(profile)
        .bind(now)
        .fetch_optional(&mut **tx)
        .await?)
}

pub async fn associate_by_uuid(db: &Db, uuid: &str) -> Result<Option<AssociateRow>> {
    let sql = format!("SELECT {ASSOCIATE_COLS} FROM associates WHERE uuid = $1");
    Ok(sqlx::query_as(&sql)
        .bind(uuid)
        .fetch_optional(db.read())
        .await?)
}

pub async fn associate_by_id(db: &Db, id: i64) -> Result<Option<AssociateRow>> {
    let sql = format!("SELECT {ASSOCIATE_COLS} FROM associates WHERE id = $1");
    Ok(sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(db.read())
        .await?)
}

#[derive(Debug, Clone, FromRow)]
pub struct CustomerRow {
    pub id: i64,
    pub uuid: String,
    pub dealer_id: i64,
    pub first_name: Option<String>,
    pub middle_name: Option<String>,
    pub last_name: Option<String>,
    pub company: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub blacklisted: i64,
    pub profile: String,
}

#[derive(Debug, Clone)]
pub struct CustomerWrite {
    pub uuid: String,
    pub first_name: Option<String>,
    pub middle_name: Option<String>,
    pub last_name: Option<String>,
    pub company: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub blacklisted: bool,
    pub profile: String,
}

const CUSTOMER_COLS: &str =
    "id, uuid, dealer_id, first_name, middle_name, last_name, company, email, phone, blacklisted, profile";

pub async fn upsert_customer(
    tx: &mut Tx,
    dealer_id: i64,
    w: &CustomerWrite,
    now: i64,
) -> Result<Option<CustomerRow>> {
    let sql = format!(
        "INSERT INTO customers (uuid, dealer_id, first_name, middle_name, last_name, company, email, phone, \
           blacklisted, profile, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) \
         ON CONFLICT (uuid) DO UPDATE SET first_name = excluded.first_name, middle_name = excluded.middle_name, \
           last_name = excluded.last_name, company = excluded.company, email = excluded.email, \
           phone = excluded.phone, blacklisted = excluded.blacklisted, profile = excluded.profile, \
           updated_at = excluded.updated_at \
         WHERE customers.dealer_id = excluded.dealer_id \
         RETURNING {CUSTOMER_COLS}"
    );
    Ok(sqlx::query_as(&sql)
        .bind(&w.uuid)
        .bind(dealer_id)
        .bind(&w.first_name)
        .bind(&w.middle_name)
        .bind(&w.last_name)
        .bind(&w.company)
        .bind(&w.email)
        .bind(&w.phone)
        .bind(w.blacklisted as i64)
        .bind(&w.profile)
        .bind(now)
        .fetch_optional(&mut **tx)
        .await?)
}

pub async fn customer_by_uuid(db: &Db, uuid: &str) -> Result<Option<CustomerRow>> {
    let sql = format!("SELECT {CUSTOMER_COLS} FROM customers WHERE uuid = $1");
    Ok(sqlx::query_as(&sql)
        .bind(uuid)
        .fetch_optional(db.read())
        .await?)
}

pub async fn customer_by_id_tx(tx: &mut Tx, id: i64) -> Result<Option<CustomerRow>> {
    let sql = format!("SELECT {CUSTOMER_COLS} FROM customers WHERE id = $1");
    Ok(sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?)
}

pub async fn customer_by_id(db: &Db, id: i64) -> Result<Option<CustomerRow>> {
    let sql = format!("SELECT {CUSTOMER_COLS} FROM customers WHERE id = $1");
    Ok(sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(db.read())
        .await?)
}

#[derive(Debug, Clone, FromRow)]
pub struct VehicleRow {
    pub id: i64,
    pub uuid: String,
    pub dealer_id: i64,
    pub customer_id: Option<i64>,
    pub brand_id: Option<i64>,
    pub brand_name: Option<String>,
    pub brand_version: Option<i64>,
    pub vin: Option<String>,
    pub profile: String,
    pub version: i64,
    pub created_at: i64,
}

const VEHICLE_SELECT: &str =
    "SELECT v.id, v.uuid, v.dealer_id, v.customer_id, v.brand_id, b.brand_name, \
    b.version AS brand_version, v.vin, v.profile, v.version, v.created_at \
    FROM vehicles v LEFT JOIN vehicle_brands b ON b.id = v.brand_id";

/// Returns the id of the brand named `name`, creating it on first use.
pub async fn brand_id(tx: &mut Tx, name: &str) -> Result<i64> {
    sqlx::query(
        "INSERT INTO vehicle_brands (brand_name) VALUES ($1) ON CONFLICT (brand_name) DO NOTHING",
    )
    .bind(name)
    .execute(&mut **tx)
    .await?;
    Ok(
        sqlx::query_scalar("SELECT id FROM vehicle_brands WHERE brand_name = $1")
            .bind(name)
            .fetch_one(&mut **tx)
            .await?,
    )
}

#[allow(clippy::too_many_arguments)]
pub async fn upsert_vehicle(
    tx: &mut Tx,
    dealer_id: i64,
    uuid: &str,
    customer_id: Option<i64>,
    brand_id: Option<i64>,
    vin: Option<&str>,
    profile: &str,
    now: i64,
) -> Result<Option<i64>> {
    let sql = "INSERT INTO vehicles (uuid, dealer_id, customer_id, brand_id, vin, profile, version, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $7) \
         ON CONFLICT (uuid) DO UPDATE SET customer_id = excluded.customer_id, brand_id = excluded.brand_id, \
           vin = excluded.vin, profile = excluded.profile, version = vehicles.version + 1, \
           updated_at = excluded.updated_at \
         WHERE vehicles.dealer_id = excluded.dealer_id \
         RETURNING id";
    Ok(sqlx::query_scalar(sql)
        .bind(uuid)
        .bind(dealer_id)
        .bind(customer_id)
        .bind(brand_id)
        .bind(vin)
        .bind(profile)
        .bind(now)
        .fetch_optional(&mut **tx)
        .await?)
}

pub async fn vehicle_by_uuid(db: &Db, uuid: &str) -> Result<Option<VehicleRow>> {
    let sql = format!("{VEHICLE_SELECT} WHERE v.uuid = $1");
    Ok(sqlx::query_as(&sql)
        .bind(uuid)
        .fetch_optional(db.read())
        .await?)
}

pub async fn vehicle_by_id(db: &Db, id: i64) -> Result<Option<VehicleRow>> {
    let sql = format!("{VEHICLE_SELECT} WHERE v.id = $1");
    Ok(sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(db.read())
        .await?)
}
