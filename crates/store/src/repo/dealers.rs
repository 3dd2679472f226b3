//! Dealers and the people and things that belong to one: departments, associates,
//! customers and vehicles. Upserts are keyed by the uuid the DMS assigns; an upsert never
//! moves a record to another dealer (the conditional `DO UPDATE … WHERE` returns no row).

use crate::Result;
use db::Conn;

#[derive(Debug, Clone)]
pub struct DealerRow {
    pub id: i64,
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
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
}
db::from_row!(DealerRow {
    id,
    uuid,
    name,
    profile,
    duplicate_window_minutes,
    enforce_cvv,
    enforce_zip,
    surcharge_enabled,
    surcharge_bps,
    dual_pricing_enabled,
    dual_pricing_bps,
    sales_tax_enabled,
    sales_tax_bps,
    allow_partial_payments,
    payment_provider,
    ach_provider,
    preferred_dealer_id,
    version,
    created_at,
    updated_at
});

impl DealerRow {
    pub fn fee_settings(&self) -> domain::fees::FeeSettings {
        domain::fees::FeeSettings {
            surcharge_enabled: self.surcharge_enabled,
            surcharge_bps: self.surcharge_bps,
            dual_pricing_enabled: self.dual_pricing_enabled,
            dual_pricing_bps: self.dual_pricing_bps,
            sales_tax_enabled: self.sales_tax_enabled,
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

/// Columns of the row type in `SELECT` order; `dealer_cols!("t")` prefixes them with a table alias.
#[macro_export]
macro_rules! dealer_cols {
    () => {
        concat!(
            "id, uuid, name, profile, duplicate_window_minutes, enforce_cvv, enforce_zip, surcharge_enabled, surcharge_bps, dual_pricing_enabled, dual_pricing_bps, sales_tax_enabled, sales_tax_bps, allow_partial_payments, payment_provider, ach_provider, preferred_dealer_id, version, created_at, updated_at"
        )
    };
    ($a:literal) => {
        concat!(
            $a, ".id, ",
            $a, ".uuid, ",
            $a, ".name, ",
            $a, ".profile, ",
            $a, ".duplicate_window_minutes, ",
            $a, ".enforce_cvv, ",
            $a, ".enforce_zip, ",
            $a, ".surcharge_enabled, ",
            $a, ".surcharge_bps, ",
            $a, ".dual_pricing_enabled, ",
            $a, ".dual_pricing_bps, ",
            $a, ".sales_tax_enabled, ",
            $a, ".sales_tax_bps, ",
            $a, ".allow_partial_payments, ",
            $a, ".payment_provider, ",
            $a, ".ach_provider, ",
            $a, ".preferred_dealer_id, ",
            $a, ".version, ",
            $a, ".created_at, ",
            $a, ".updated_at",
        )
    };
}

pub async fn upsert_dealer(c: &mut Conn, w: &DealerWrite, now: i64) -> Result<DealerRow> {
    let sql = concat!("INSERT INTO dealers (uuid, name, profile, duplicate_window_minutes, enforce_cvv, enforce_zip, \
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
         RETURNING ", crate::dealer_cols!());
    c.query_one(
        sql,
        db::args![
            &w.uuid,
            &w.name,
            &w.profile,
            w.duplicate_window_minutes,
            w.enforce_cvv as i64,
            w.enforce_zip as i64,
            w.surcharge_enabled as i64,
            w.surcharge_bps,
            w.dual_pricing_enabled as i64,
            w.dual_pricing_bps,
            w.sales_tax_enabled as i64,
            w.sales_tax_bps,
            w.allow_partial_payments as i64,
            &w.payment_provider,
            &w.ach_provider,
            &w.preferred_dealer_id,
            now
        ],
    )
    .await
}

pub async fn dealer_by_uuid(c: &mut Conn, uuid: &str) -> Result<Option<DealerRow>> {
    let sql = concat!(
        "SELECT ",
        crate::dealer_cols!(),
        " FROM dealers WHERE uuid = $1"
    );
    c.query_opt(sql, db::args![uuid]).await
}

pub async fn dealer_by_id(c: &mut Conn, id: i64) -> Result<Option<DealerRow>> {
    let sql = concat!(
        "SELECT ",
        crate::dealer_cols!(),
        " FROM dealers WHERE id = $1"
    );
    c.query_opt(sql, db::args![id]).await
}

#[derive(Debug, Clone)]
pub struct DepartmentRow {
    pub id: i64,
    pub uuid: String,
    pub dealer_id: i64,
    pub name: String,
    pub department_type: String,
    pub profile: String,
}
db::from_row!(DepartmentRow {
    id,
    uuid,
    dealer_id,
    name,
    department_type,
    profile
});

/// Columns of the row type in `SELECT` order; `department_cols!("t")` prefixes them with a table alias.
#[macro_export]
macro_rules! department_cols {
    () => {
        concat!("id, uuid, dealer_id, name, department_type, profile")
    };
    ($a:literal) => {
        concat!(
            $a,
            ".id, ",
            $a,
            ".uuid, ",
            $a,
            ".dealer_id, ",
            $a,
            ".name, ",
            $a,
            ".department_type, ",
            $a,
            ".profile",
        )
    };
}

pub async fn upsert_department(
    c: &mut Conn,
    dealer_id: i64,
    uuid: &str,
    name: &str,
    department_type: &str,
    profile: &str,
    now: i64,
) -> Result<Option<DepartmentRow>> {
    let sql = concat!("INSERT INTO departments (uuid, dealer_id, name, department_type, profile, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6) \
         ON CONFLICT (uuid) DO UPDATE SET name = excluded.name, department_type = excluded.department_type, \
           profile = excluded.profile, updated_at = excluded.updated_at \
         WHERE departments.dealer_id = excluded.dealer_id \
         RETURNING ", crate::department_cols!());
    c.query_opt(
        sql,
        db::args![uuid, dealer_id, name, department_type, profile, now],
    )
    .await
}

pub async fn department_by_uuid(c: &mut Conn, uuid: &str) -> Result<Option<DepartmentRow>> {
    let sql = concat!(
        "SELECT ",
        crate::department_cols!(),
        " FROM departments WHERE uuid = $1"
    );
    c.query_opt(sql, db::args![uuid]).await
}

pub async fn department_by_id(c: &mut Conn, id: i64) -> Result<Option<DepartmentRow>> {
    let sql = concat!(
        "SELECT ",
        crate::department_cols!(),
        " FROM departments WHERE id = $1"
    );
    c.query_opt(sql, db::args![id]).await
}

#[derive(Debug, Clone)]
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
db::from_row!(AssociateRow {
    id,
    uuid,
    dealer_id,
    department_id,
    user_uuid,
    first_name,
    last_name,
    profile
});

/// Columns of the row type in `SELECT` order; `associate_cols!("t")` prefixes them with a table alias.
#[macro_export]
macro_rules! associate_cols {
    () => {
        concat!("id, uuid, dealer_id, department_id, user_uuid, first_name, last_name, profile")
    };
    ($a:literal) => {
        concat!(
            $a,
            ".id, ",
            $a,
            ".uuid, ",
            $a,
            ".dealer_id, ",
            $a,
            ".department_id, ",
            $a,
            ".user_uuid, ",
            $a,
            ".first_name, ",
            $a,
            ".last_name, ",
            $a,
            ".profile",
        )
    };
}

#[allow(clippy::too_many_arguments)]
pub async fn upsert_associate(
    c: &mut Conn,
    dealer_id: i64,
    department_id: Option<i64>,
    uuid: &str,
    user_uuid: &str,
    first_name: &str,
    last_name: &str,
    profile: &str,
    now: i64,
) -> Result<Option<AssociateRow>> {
    let sql = concat!("INSERT INTO associates (uuid, dealer_id, department_id, user_uuid, first_name, last_name, profile, \
           created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) \
         ON CONFLICT (uuid) DO UPDATE SET department_id = excluded.department_id, user_uuid = excluded.user_uuid, \
           first_name = excluded.first_name, last_name = excluded.last_name, profile = excluded.profile, \
           updated_at = excluded.updated_at \
         WHERE associates.dealer_id = excluded.dealer_id \
         RETURNING ", crate::associate_cols!());
    c.query_opt(
        sql,
        db::args![
            uuid,
            dealer_id,
            department_id,
            user_uuid,
            first_name,
            last_name,
            profile,
            now
        ],
    )
    .await
}

pub async fn associate_by_uuid(c: &mut Conn, uuid: &str) -> Result<Option<AssociateRow>> {
    let sql = concat!(
        "SELECT ",
        crate::associate_cols!(),
        " FROM associates WHERE uuid = $1"
    );
    c.query_opt(sql, db::args![uuid]).await
}

pub async fn associate_by_id(c: &mut Conn, id: i64) -> Result<Option<AssociateRow>> {
    let sql = concat!(
        "SELECT ",
        crate::associate_cols!(),
        " FROM associates WHERE id = $1"
    );
    c.query_opt(sql, db::args![id]).await
}

#[derive(Debug, Clone)]
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
    pub blacklisted: bool,
    pub profile: String,
}
db::from_row!(CustomerRow {
    id,
    uuid,
    dealer_id,
    first_name,
    middle_name,
    last_name,
    company,
    email,
    phone,
    blacklisted,
    profile
});

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

/// Columns of the row type in `SELECT` order; `customer_cols!("t")` prefixes them with a table alias.
#[macro_export]
macro_rules! customer_cols {
    () => {
        concat!(
            "id, uuid, dealer_id, first_name, middle_name, last_name, company, email, phone, blacklisted, profile"
        )
    };
    ($a:literal) => {
        concat!(
            $a, ".id, ",
            $a, ".uuid, ",
            $a, ".dealer_id, ",
            $a, ".first_name, ",
            $a, ".middle_name, ",
            $a, ".last_name, ",
            $a, ".company, ",
            $a, ".email, ",
            $a, ".phone, ",
            $a, ".blacklisted, ",
            $a, ".profile",
        )
    };
}

pub async fn upsert_customer(
    c: &mut Conn,
    dealer_id: i64,
    w: &CustomerWrite,
    now: i64,
) -> Result<Option<CustomerRow>> {
    let sql = concat!("INSERT INTO customers (uuid, dealer_id, first_name, middle_name, last_name, company, email, phone, \
           blacklisted, profile, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) \
         ON CONFLICT (uuid) DO UPDATE SET first_name = excluded.first_name, middle_name = excluded.middle_name, \
           last_name = excluded.last_name, company = excluded.company, email = excluded.email, \
           phone = excluded.phone, blacklisted = excluded.blacklisted, profile = excluded.profile, \
           updated_at = excluded.updated_at \
         WHERE customers.dealer_id = excluded.dealer_id \
         RETURNING ", crate::customer_cols!());
    c.query_opt(
        sql,
        db::args![
            &w.uuid,
            dealer_id,
            &w.first_name,
            &w.middle_name,
            &w.last_name,
            &w.company,
            &w.email,
            &w.phone,
            w.blacklisted as i64,
            &w.profile,
            now
        ],
    )
    .await
}

pub async fn customer_by_uuid(c: &mut Conn, uuid: &str) -> Result<Option<CustomerRow>> {
    let sql = concat!(
        "SELECT ",
        crate::customer_cols!(),
        " FROM customers WHERE uuid = $1"
    );
    c.query_opt(sql, db::args![uuid]).await
}

pub async fn customer_by_id_unused(c: &mut Conn, id: i64) -> Result<Option<CustomerRow>> {
    let sql = concat!(
        "SELECT ",
        crate::customer_cols!(),
        " FROM customers WHERE id = $1"
    );
    c.query_opt(sql, db::args![id]).await
}

pub async fn customer_by_id(c: &mut Conn, id: i64) -> Result<Option<CustomerRow>> {
    let sql = concat!(
        "SELECT ",
        crate::customer_cols!(),
        " FROM customers WHERE id = $1"
    );
    c.query_opt(sql, db::args![id]).await
}

#[derive(Debug, Clone)]
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
db::from_row!(VehicleRow {
    id,
    uuid,
    dealer_id,
    customer_id,
    brand_id,
    brand_name,
    brand_version,
    vin,
    profile,
    version,
    created_at
});

const VEHICLE_SELECT: &str =
    "SELECT v.id, v.uuid, v.dealer_id, v.customer_id, v.brand_id, b.brand_name, \
    b.version AS brand_version, v.vin, v.profile, v.version, v.created_at \
    FROM vehicles v LEFT JOIN vehicle_brands b ON b.id = v.brand_id";

/// Returns the id of the brand named `name`, creating it on first use.
pub async fn brand_id(c: &mut Conn, name: &str) -> Result<i64> {
    c.execute(
        "INSERT INTO vehicle_brands (brand_name) VALUES ($1) ON CONFLICT (brand_name) DO NOTHING",
        db::args![name],
    )
    .await?;
    c.scalar_one(
        "SELECT id FROM vehicle_brands WHERE brand_name = $1",
        db::args![name],
    )
    .await
}

#[allow(clippy::too_many_arguments)]
pub async fn upsert_vehicle(
    c: &mut Conn,
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
    c.scalar_opt(
        sql,
        db::args![uuid, dealer_id, customer_id, brand_id, vin, profile, now],
    )
    .await
}

pub async fn vehicle_by_uuid(c: &mut Conn, uuid: &str) -> Result<Option<VehicleRow>> {
    let sql = format!("{VEHICLE_SELECT} WHERE v.uuid = $1");
    c.query_opt(&sql, db::args![uuid]).await
}

pub async fn vehicle_by_id(c: &mut Conn, id: i64) -> Result<Option<VehicleRow>> {
    let sql = format!("{VEHICLE_SELECT} WHERE v.id = $1");
    c.query_opt(&sql, db::args![id]).await
}
