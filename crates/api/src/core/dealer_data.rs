//! Dealer data as a DMS sync sends it: idempotent upserts keyed by the DMS's own uuids.
//! A record never moves between dealers; references are checked to belong to the same dealer.

use crate::app::AppState;
use crate::auth::{Principal, RouteAuth};
use crate::error::{ApiError, ApiResult};
use crate::extract::{optional_text, required_text, text, uuid_param};
use axum::http::StatusCode;
use domain::catalog::v1;
use domain::scope::Scope;
use domain::{Money, Timestamp};
use serde::{Deserialize, Serialize};
use store::repo::{dealers, invoices, orders};
use utoipa::ToSchema;

pub const AUTH: RouteAuth = RouteAuth::dealer(Scope::DealerData);

/// Descriptive dealer fields echoed in the documented dealer shape.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct DealerProfile {
    pub contract_name: Option<String>,
    pub number: Option<String>,
    pub comments: Option<String>,
    pub phone_number: Option<String>,
    #[serde(rename = "emailID")]
    pub email_id: Option<String>,
    pub website: Option<String>,
    pub map_url: Option<String>,
    pub pickup_offered: bool,
    pub dropoff_offered: bool,
    pub shuttle_offered: bool,
    pub coupon_offered: bool,
    pub loaner_offered: bool,
    pub service_dept_hours_text: Option<String>,
    pub parts_dept_hours_text: Option<String>,
    pub sales_dept_hours_text: Option<String>,
    pub fi_dept_hours_text: Option<String>,
    pub in_network: bool,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub altitude: Option<f64>,
    pub is_system_dealer: bool,
    pub nick_name: Option<String>,
}

/// Dealer payment settings. On update, an omitted setting keeps its stored value.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DealerSettingsInput {
    /// Minutes within which the same customer, amount and card digits count as a duplicate (0–10080).
    pub duplicate_transaction_window_minutes: Option<i64>,
    pub enforce_cvv: Option<bool>,
    pub enforce_zip: Option<bool>,
    pub surcharge_enabled: Option<bool>,
    /// Percent of the amount, at most 4 (card networks cap it further: Visa 3%).
    pub surcharge_percent: Option<f64>,
    pub dual_pricing_enabled: Option<bool>,
    /// Card price above cash price, percent (0–10).
    pub dual_pricing_percent: Option<f64>,
    pub sales_tax_enabled: Option<bool>,
    /// Sales tax due on card fees, percent (0–25).
    pub sales_tax_percent: Option<f64>,
    pub allow_partial_payments: Option<bool>,
    /// Card processor; `SANDBOX` is the built-in one.
    pub payment_provider: Option<String>,
    pub ach_provider: Option<String>,
    pub preferred_dealer_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DealerSettings {
    pub duplicate_transaction_window_minutes: i64,
    pub enforce_cvv: bool,
    pub enforce_zip: bool,
    pub surcharge_enabled: bool,
    pub surcharge_percent: f64,
    pub dual_pricing_enabled: bool,
    pub dual_pricing_percent: f64,
    pub sales_tax_enabled: bool,
    pub sales_tax_percent: f64,
    pub allow_partial_payments: bool,
    pub payment_provider: String,
    pub ach_provider: Option<String>,
    pub preferred_dealer_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DealerUpsert {
    pub name: Option<String>,
    #[serde(default)]
    pub settings: DealerSettingsInput,
    #[serde(default)]
    pub profile: DealerProfile,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DealerRecord {
    pub id: i64,
    pub uuid: String,
    pub name: String,
    pub version: i64,
    pub settings: DealerSettings,
    pub profile: DealerProfile,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

pub const PROVIDERS: &[&str] = &["SANDBOX"];

pub fn dealer_record(row: &dealers::DealerRow) -> DealerRecord {
    DealerRecord {
        id: row.id,
        uuid: row.uuid.clone(),
        name: row.name.clone(),
        version: row.version,
        settings: DealerSettings {
            duplicate_transaction_window_minutes: row.duplicate_window_minutes,
            enforce_cvv: row.enforce_cvv != 0,
            enforce_zip: row.enforce_zip != 0,
            surcharge_enabled: row.surcharge_enabled != 0,
            surcharge_percent: super::bps_to_percent(row.surcharge_bps),
            dual_pricing_enabled: row.dual_pricing_enabled != 0,
            dual_pricing_percent: super::bps_to_percent(row.dual_pricing_bps),
            sales_tax_enabled: row.sales_tax_enabled != 0,
            sales_tax_percent: super::bps_to_percent(row.sales_tax_bps),
            allow_partial_payments: row.allow_partial_payments != 0,
            payment_provider: row.payment_provider.clone(),
            ach_provider: row.ach_provider.clone(),
            preferred_dealer_id: row.preferred_dealer_id.clone(),
        },
        profile: serde_json::from_str(&row.profile).unwrap_or_default(),
        created_at: Timestamp::from_millis(row.created_at),
        updated_at: Timestamp::from_millis(row.updated_at),
    }
}

/// Creates (operator only) or updates (operator or a `payment.dealerdata` grant) a dealer.
pub async fn upsert_dealer(
    app: &AppState,
    p: &Principal,
    dealer_uuid: &str,
    req: DealerUpsert,
) -> ApiResult<(bool, DealerRecord)> {
    let dealer_uuid = uuid_param("dealerUuid", dealer_uuid)?.to_string();
    let existing = dealers::dealer_by_uuid(&app.db, &dealer_uuid).await?;
    match (&existing, p) {
        (_, Principal::Operator) => {}
        (Some(_), _) => AUTH.check_dealer(p, &dealer_uuid)?,
        (None, _) => {
            return Err(ApiError::unauthorized(
                v1::INVALID_SCOPE_DEALER,
                "only an operator can create a dealer",
            ))
        }
    }
    let name = required_text("name", req.name.as_deref(), 200)?;
    let s = req.settings;
    let e = existing.as_ref();
    let flag = |v: Option<bool>, old: Option<i64>, default: bool| {
        v.unwrap_or(old.map(|o| o != 0).unwrap_or(default))
    };
    let pct = |field: &str, v: Option<f64>, old: Option<i64>, max: f64| -> ApiResult<i64> {
        match v {
            Some(p) => super::percent_to_bps(field, p, max),
            None => Ok(old.unwrap_or(0)),
        }
    };
    let window = s
        .duplicate_transaction_window_minutes
        .unwrap_or(e.map(|d| d.duplicate_window_minutes).unwrap_or(10));
    if !(0..=10_080).contains(&window) {
        return Err(ApiError::invalid(
            "settings.duplicateTransactionWindowMinutes",
            "must be between 0 and 10080",
        ));
    }
    let provider = match s.payment_provider {
        Some(p) => text("settings.paymentProvider", &p, 32)?.to_ascii_uppercase(),
        None => e
            .map(|d| d.payment_provider.clone())
            .unwrap_or_else(|| "SANDBOX".into()),
    };
    if !PROVIDERS.contains(&provider.as_str()) {
        return Err(ApiError::invalid(
            "settings.paymentProvider",
            format!("must be one of {PROVIDERS:?}"),
        ));
    }
    let write = dealers::DealerWrite {
        uuid: dealer_uuid,
        name,
        profile: serde_json::to_string(&clean_profile(req.profile)?).map_err(ApiError::internal)?,
        duplicate_window_minutes: window,
        enforce_cvv: flag(s.enforce_cvv, e.map(|d| d.enforce_cvv), true),
        enforce_zip: flag(s.enforce_zip, e.map(|d| d.enforce_zip), false),
        surcharge_enabled: flag(s.surcharge_enabled, e.map(|d| d.surcharge_enabled), false),
        surcharge_bps: pct(
            "settings.surchargePercent",
            s.surcharge_percent,
            e.map(|d| d.surcharge_bps),
            4.0,
        )?,
        dual_pricing_enabled: flag(
            s.dual_pricing_enabled,
            e.map(|d| d.dual_pricing_enabled),
            false,
        ),
        dual_pricing_bps: pct(
            "settings.dualPricingPercent",
            s.dual_pricing_percent,
            e.map(|d| d.dual_pricing_bps),
            10.0,
        )?,
        sales_tax_enabled: flag(s.sales_tax_enabled, e.map(|d| d.sales_tax_enabled), false),
        sales_tax_bps: pct(
            "settings.salesTaxPercent",
            s.sales_tax_percent,
            e.map(|d| d.sales_tax_bps),
            25.0,
        )?,
        allow_partial_payments: flag(
            s.allow_partial_payments,
            e.map(|d| d.allow_partial_payments),
            true,
        ),
        payment_provider: provider,
        ach_provider: match s.ach_provider {
            Some(v) => optional_text("settings.achProvider", Some(&v), 32)?,
            None => e.and_then(|d| d.ach_provider.clone()),
        },
        preferred_dealer_id: match s.preferred_dealer_id {
            Some(v) => optional_text("settings.preferredDealerId", Some(&v), 64)?,
            None => e.and_then(|d| d.preferred_dealer_id.clone()),
        },
    };
    if write.surcharge_enabled && write.dual_pricing_enabled {
        return Err(ApiError::invalid(
            "settings.dualPricingEnabled",
            "a dealer may surcharge or use dual pricing, not both",
        ));
    }
    let now = Timestamp::now().millis();
    let mut tx = app.db.begin().await?;
    let row = dealers::upsert_dealer(&mut tx, &write, now).await?;
    tx.commit().await?;
    Ok((existing.is_none(), dealer_record(&row)))
}

fn clean_profile(mut p: DealerProfile) -> ApiResult<DealerProfile> {
    for (field, v) in [
        ("profile.contractName", &mut p.contract_name),
        ("profile.number", &mut p.number),
        ("profile.comments", &mut p.comments),
        ("profile.phoneNumber", &mut p.phone_number),
        ("profile.emailID", &mut p.email_id),
        ("profile.website", &mut p.website),
        ("profile.mapUrl", &mut p.map_url),
        (
            "profile.serviceDeptHoursText",
            &mut p.service_dept_hours_text,
        ),
        ("profile.partsDeptHoursText", &mut p.parts_dept_hours_text),
        ("profile.salesDeptHoursText", &mut p.sales_dept_hours_text),
        ("profile.fiDeptHoursText", &mut p.fi_dept_hours_text),
        ("profile.nickName", &mut p.nick_name),
    ] {
        *v = optional_text(field, v.as_deref(), 500)?;
    }
    for (field, v, lim) in [
        ("profile.latitude", p.latitude, 90.0),
        ("profile.longitude", p.longitude, 180.0),
        ("profile.altitude", p.altitude, 100_000.0),
    ] {
        if v.is_some_and(|x| !x.is_finite() || x.abs() > lim) {
            return Err(ApiError::invalid(
                field,
                format!("must be between -{lim} and {lim}"),
            ));
        }
    }
    Ok(p)
}

/// Looks up the dealer of a sub-resource route after checking the caller's grant for it.
pub async fn dealer_for_write(
    app: &AppState,
    p: &Principal,
    dealer_uuid: &str,
) -> ApiResult<dealers::DealerRow> {
    let dealer_uuid = uuid_param("dealerUuid", dealer_uuid)?.to_string();
    AUTH.check_dealer(p, &dealer_uuid)?;
    dealers::dealer_by_uuid(&app.db, &dealer_uuid)
        .await?
        .ok_or_else(|| ApiError::not_found(v1::INVALID_DEALER, "dealerUuid: no such dealer"))
}

fn moved(field: &str) -> ApiError {
    ApiError::conflict(
        v1::INVALID_DATA_FOR_THE_FIELD,
        format!("{field}: already belongs to another dealer"),
    )
}

pub const DEPARTMENT_TYPES: &[&str] =
    &["SERVICE", "PARTS", "SALES", "BODY_SHOP", "FINANCE", "OTHER"];

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct DepartmentProfile {
    pub calendar_uuid: Option<String>,
    pub broker_number: Option<String>,
    pub communication_group: Option<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DepartmentUpsert {
    pub name: Option<String>,
    /// One of SERVICE, PARTS, SALES, BODY_SHOP, FINANCE, OTHER.
    pub department_type: Option<String>,
    #[serde(default)]
    pub profile: DepartmentProfile,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DepartmentRecord {
    pub id: i64,
    pub uuid: String,
    pub dealer_uuid: String,
    pub name: String,
    pub department_type: String,
    pub profile: DepartmentProfile,
}

pub async fn upsert_department(
    app: &AppState,
    p: &Principal,
    dealer_uuid: &str,
    uuid: &str,
    req: DepartmentUpsert,
) -> ApiResult<DepartmentRecord> {
    let dealer = dealer_for_write(app, p, dealer_uuid).await?;
    let uuid = uuid_param("departmentUuid", uuid)?.to_string();
    let name = required_text("name", req.name.as_deref(), 200)?;
    let dtype =
        required_text("departmentType", req.department_type.as_deref(), 32)?.to_ascii_uppercase();
    if !DEPARTMENT_TYPES.contains(&dtype.as_str()) {
        return Err(ApiError::invalid(
            "departmentType",
            format!("must be one of {DEPARTMENT_TYPES:?}"),
        ));
    }
    let mut prof = req.profile;
    prof.calendar_uuid = optional_text("profile.calendarUuid", prof.calendar_uuid.as_deref(), 64)?;
    prof.broker_number = optional_text("profile.brokerNumber", prof.broker_number.as_deref(), 64)?;
    prof.communication_group = optional_text(
        "profile.communicationGroup",
        prof.communication_group.as_deref(),
        64,
    )?;
    let profile = serde_json::to_string(&prof).map_err(ApiError::internal)?;
    let mut tx = app.db.begin().await?;
    let row = dealers::upsert_department(
        &mut tx,
        dealer.id,
        &uuid,
        &name,
        &dtype,
        &profile,
        Timestamp::now().millis(),
    )
    .await?
    .ok_or_else(|| moved("departmentUuid"))?;
    tx.commit().await?;
    Ok(DepartmentRecord {
        id: row.id,
        uuid: row.uuid,
        dealer_uuid: dealer.uuid,
        name: row.name,
        department_type: row.department_type,
        profile: prof,
    })
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct AssociateProfile {
    pub user_name: Option<String>,
    pub cell_phone: Option<String>,
    pub text_number: Option<String>,
    pub is_text_number_verified: bool,
    pub email_address: Option<String>,
    pub nickname: Option<String>,
    #[serde(rename = "associateDmsID")]
    pub associate_dms_id: Option<String>,
    pub image_url: Option<String>,
    pub bio: Option<String>,
    pub role_name: Option<String>,
    pub role_acronym: Option<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssociateUpsert {
    pub user_uuid: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// The associate's department; an associate without one cannot own a repair order.
    pub department_uuid: Option<String>,
    #[serde(default)]
    pub profile: AssociateProfile,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssociateRecord {
    pub id: i64,
    pub uuid: String,
    pub user_uuid: String,
    pub first_name: String,
    pub last_name: String,
    pub department_uuid: Option<String>,
    pub profile: AssociateProfile,
}

pub async fn upsert_associate(
    app: &AppState,
    p: &Principal,
    dealer_uuid: &str,
    uuid: &str,
    req: AssociateUpsert,
) -> ApiResult<AssociateRecord> {
    let dealer = dealer_for_write(app, p, dealer_uuid).await?;
    let uuid = uuid_param("dealerAssociateUuid", uuid)?.to_string();
    let user_uuid = uuid_param(
        "userUuid",
        &required_text("userUuid", req.user_uuid.as_deref(), 64)?,
    )?
    .to_string();
    let first = required_text("firstName", req.first_name.as_deref(), 100)?;
    let last = required_text("lastName", req.last_name.as_deref(), 100)?;
    let department = match req.department_uuid.as_deref() {
        Some(d) => Some(department_of(app, dealer.id, d).await?),
        None => None,
    };
    let mut prof = req.profile;
    for (field, v) in [
        ("profile.userName", &mut prof.user_name),
        ("profile.cellPhone", &mut prof.cell_phone),
        ("profile.textNumber", &mut prof.text_number),
        ("profile.emailAddress", &mut prof.email_address),
        ("profile.nickname", &mut prof.nickname),
        ("profile.associateDmsID", &mut prof.associate_dms_id),
        ("profile.imageUrl", &mut prof.image_url),
        ("profile.bio", &mut prof.bio),
        ("profile.roleName", &mut prof.role_name),
        ("profile.roleAcronym", &mut prof.role_acronym),
    ] {
        *v = optional_text(field, v.as_deref(), 500)?;
    }
    let profile = serde_json::to_string(&prof).map_err(ApiError::internal)?;
    let mut tx = app.db.begin().await?;
    let row = dealers::upsert_associate(
        &mut tx,
        dealer.id,
        department.as_ref().map(|d| d.id),
        &uuid,
        &user_uuid,
        &first,
        &last,
        &profile,
        Timestamp::now().millis(),
    )
    .await?
    .ok_or_else(|| moved("dealerAssociateUuid"))?;
    tx.commit().await?;
    Ok(AssociateRecord {
        id: row.id,
        uuid: row.uuid,
        user_uuid: row.user_uuid,
        first_name: row.first_name,
        last_name: row.last_name,
        department_uuid: department.map(|d| d.uuid),
        profile: prof,
    })
}

async fn department_of(
    app: &AppState,
    dealer_id: i64,
    uuid: &str,
) -> ApiResult<dealers::DepartmentRow> {
    let u = uuid_param("departmentUuid", uuid)?.to_string();
    match dealers::department_by_uuid(&app.db, &u).await? {
        Some(d) if d.dealer_id == dealer_id => Ok(d),
        _ => Err(ApiError::bad_request(
            v1::INVALID_DEPARTMENT,
            "departmentUuid: no such department for this dealer",
        )),
    }
}

async fn customer_of(
    app: &AppState,
    dealer_id: i64,
    field: &str,
    uuid: &str,
) -> ApiResult<dealers::CustomerRow> {
    let u = uuid_param(field, uuid)?.to_string();
    match dealers::customer_by_uuid(&app.db, &u).await? {
        Some(c) if c.dealer_id == dealer_id => Ok(c),
        _ => Err(ApiError::bad_request(
            v1::INVALID_CUSTOMER_UUID,
            format!("{field}: no such customer for this dealer"),
        )),
    }
}

async fn associate_of(
    app: &AppState,
    dealer_id: i64,
    field: &str,
    uuid: &str,
) -> ApiResult<dealers::AssociateRow> {
    let u = uuid_param(field, uuid)?.to_string();
    match dealers::associate_by_uuid(&app.db, &u).await? {
        Some(a) if a.dealer_id == dealer_id => Ok(a),
        _ => Err(ApiError::bad_request(
            v1::DEALER_ASSOCIATE_NOT_FOUND,
            format!("{field}: no such dealer associate for this dealer"),
        )),
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct CustomerProfile {
    pub gender: Option<String>,
    pub nick_name: Option<String>,
    pub customer_key: Option<String>,
    pub image_url: Option<String>,
    pub status: Option<String>,
    pub opted_out: bool,
    pub preferred_locale: Option<String>,
    pub availability: i64,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomerUpsert {
    pub first_name: Option<String>,
    pub middle_name: Option<String>,
    pub last_name: Option<String>,
    pub company: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// A blacklisted customer cannot be asked for or make payments.
    #[serde(default)]
    pub blacklisted: bool,
    #[serde(default)]
    pub profile: CustomerProfile,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomerRecord {
    pub id: i64,
    pub uuid: String,
    pub first_name: Option<String>,
    pub middle_name: Option<String>,
    pub last_name: Option<String>,
    pub company: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub blacklisted: bool,
    pub profile: CustomerProfile,
}

pub async fn upsert_customer(
    app: &AppState,
    p: &Principal,
    dealer_uuid: &str,
    uuid: &str,
    req: CustomerUpsert,
) -> ApiResult<CustomerRecord> {
    let dealer = dealer_for_write(app, p, dealer_uuid).await?;
    let uuid = uuid_param("customerUuid", uuid)?.to_string();
    let w = dealers::CustomerWrite {
        uuid,
        first_name: optional_text("firstName", req.first_name.as_deref(), 100)?,
        middle_name: optional_text("middleName", req.middle_name.as_deref(), 100)?,
        last_name: optional_text("lastName", req.last_name.as_deref(), 100)?,
        company: optional_text("company", req.company.as_deref(), 200)?,
        email: optional_text("email", req.email.as_deref(), 254)?,
        phone: optional_text("phone", req.phone.as_deref(), 32)?,
        blacklisted: req.blacklisted,
        profile: String::new(),
    };
    if w.first_name.is_none() && w.last_name.is_none() && w.company.is_none() {
        return Err(ApiError::missing("lastName"));
    }
    if let Some(e) = &w.email {
        let ok = e
            .split_once('@')
            .is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.starts_with('.'));
        if !ok {
            return Err(ApiError::invalid("email", "must be an email address"));
        }
    }
    if let Some(ph) = &w.phone {
        if !ph
            .chars()
            .all(|c| c.is_ascii_digit() || "+-() .".contains(c))
            || ph.chars().filter(char::is_ascii_digit).count() < 7
        {
            return Err(ApiError::invalid("phone", "must be a phone number"));
        }
    }
    let mut prof = req.profile;
    for (field, v) in [
        ("profile.gender", &mut prof.gender),
        ("profile.nickName", &mut prof.nick_name),
        ("profile.customerKey", &mut prof.customer_key),
        ("profile.imageUrl", &mut prof.image_url),
        ("profile.status", &mut prof.status),
        ("profile.preferredLocale", &mut prof.preferred_locale),
    ] {
        *v = optional_text(field, v.as_deref(), 500)?;
    }
    let w = dealers::CustomerWrite {
        profile: serde_json::to_string(&prof).map_err(ApiError::internal)?,
        ..w
    };
    let mut tx = app.db.begin().await?;
    let row = dealers::upsert_customer(&mut tx, dealer.id, &w, Timestamp::now().millis())
        .await?
        .ok_or_else(|| moved("customerUuid"))?;
    tx.commit().await?;
    Ok(CustomerRecord {
        id: row.id,
        uuid: row.uuid,
        first_name: row.first_name,
        middle_name: row.middle_name,
        last_name: row.last_name,
        company: row.company,
        email: row.email,
        phone: row.phone,
        blacklisted: row.blacklisted != 0,
        profile: prof,
    })
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct VehicleProfile {
    pub model: Option<String>,
    pub year: Option<String>,
    pub trim: Option<String>,
    pub engine: Option<String>,
    pub body: Option<String>,
    pub transmission: Option<String>,
    pub name: Option<String>,
    pub mileage: Option<String>,
    pub latest_mileage: Option<String>,
    pub license_plate: Option<String>,
    pub license_state_code: Option<String>,
    pub license_state_description: Option<String>,
    pub color: Option<String>,
    pub vehicle_key: Option<String>,
    pub status: Option<String>,
    pub has_obd_device: bool,
    pub is_primary: bool,
    pub bought_date: Option<Timestamp>,
    pub sold_date: Option<Timestamp>,
    pub last_service_date: Option<Timestamp>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VehicleUpsert {
    /// Owner of the vehicle, a customer of the same dealer.
    pub customer_uuid: Option<String>,
    /// 17 characters, no I, O or Q.
    pub vin: Option<String>,
    /// Brand, e.g. "Toyota".
    pub make: Option<String>,
    #[serde(default)]
    pub profile: VehicleProfile,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VehicleRecord {
    pub id: i64,
    pub uuid: String,
    pub customer_uuid: Option<String>,
    pub vin: Option<String>,
    pub make: Option<String>,
    pub profile: VehicleProfile,
}

pub async fn upsert_vehicle(
    app: &AppState,
    p: &Principal,
    dealer_uuid: &str,
    uuid: &str,
    req: VehicleUpsert,
) -> ApiResult<VehicleRecord> {
    let dealer = dealer_for_write(app, p, dealer_uuid).await?;
    let uuid = uuid_param("vehicleUuid", uuid)?.to_string();
    let customer = match req.customer_uuid.as_deref() {
        Some(c) => Some(customer_of(app, dealer.id, "customerUuid", c).await?),
        None => None,
    };
    let vin = optional_text("vin", req.vin.as_deref(), 17)?.map(|v| v.to_ascii_uppercase());
    if let Some(v) = &vin {
        if v.len() != 17
            || !v
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() && !b"IOQ".contains(&b))
        {
            return Err(ApiError::invalid(
                "vin",
                "must be 17 letters and digits without I, O or Q",
            ));
        }
    }
    let make = optional_text("make", req.make.as_deref(), 60)?;
    let mut prof = req.profile;
    for (field, v) in [
        ("profile.model", &mut prof.model),
        ("profile.year", &mut prof.year),
        ("profile.trim", &mut prof.trim),
        ("profile.engine", &mut prof.engine),
        ("profile.body", &mut prof.body),
        ("profile.transmission", &mut prof.transmission),
        ("profile.name", &mut prof.name),
        ("profile.mileage", &mut prof.mileage),
        ("profile.latestMileage", &mut prof.latest_mileage),
        ("profile.licensePlate", &mut prof.license_plate),
        ("profile.licenseStateCode", &mut prof.license_state_code),
        (
            "profile.licenseStateDescription",
            &mut prof.license_state_description,
        ),
        ("profile.color", &mut prof.color),
        ("profile.vehicleKey", &mut prof.vehicle_key),
        ("profile.status", &mut prof.status),
    ] {
        *v = optional_text(field, v.as_deref(), 200)?;
    }
    let profile = serde_json::to_string(&prof).map_err(ApiError::internal)?;
    let mut tx = app.db.begin().await?;
    let brand = match &make {
        Some(m) => Some(dealers::brand_id(&mut tx, m).await?),
        None => None,
    };
    let id = dealers::upsert_vehicle(
        &mut tx,
        dealer.id,
        &uuid,
        customer.as_ref().map(|c| c.id),
        brand,
        vin.as_deref(),
        &profile,
        Timestamp::now().millis(),
    )
    .await?
    .ok_or_else(|| moved("vehicleUuid"))?;
    tx.commit().await?;
    Ok(VehicleRecord {
        id,
        uuid,
        customer_uuid: customer.map(|c| c.uuid),
        vin,
        make,
        profile: prof,
    })
}

pub const ORDER_STATUSES: &[&str] = &["OPEN", "CLOSED"];

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct OrderProfile {
    pub description: Option<String>,
    #[serde(rename = "invoiceURL")]
    pub invoice_url: Option<String>,
    #[serde(rename = "readyROData")]
    pub ready_ro_data: Option<String>,
    pub mileage_text: Option<String>,
    pub labour_op_types: Option<String>,
    pub dmsdescription: Option<String>,
    pub pay_types: Option<String>,
    pub labor_types: Option<String>,
    pub tag_or_hat: Option<String>,
    pub delivery_amount: Option<Money>,
    pub dealer_order_sync_date: Option<Timestamp>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderUpsert {
    pub order_number: Option<String>,
    /// e.g. "RO" for a repair order; the number is unique per dealer and type.
    pub order_type: Option<String>,
    /// OPEN (default) or CLOSED. Closed orders take no payments.
    pub order_status: Option<String>,
    pub amount: Option<Money>,
    pub order_date: Option<Timestamp>,
    pub department_uuid: Option<String>,
    pub customer_uuid: Option<String>,
    pub vehicle_uuid: Option<String>,
    /// The associate owning the order (RO owner); must belong to a department.
    pub dealer_associate_uuid: Option<String>,
    #[serde(default)]
    pub profile: OrderProfile,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderRecord {
    pub id: i64,
    pub uuid: String,
    pub order_number: String,
    pub order_type: String,
    pub order_status: String,
    pub amount: Money,
    pub paid_amount: Money,
    pub order_date: Timestamp,
    pub department_uuid: String,
    pub customer_uuid: String,
    pub vehicle_uuid: Option<String>,
    pub dealer_associate_uuid: Option<String>,
    pub profile: OrderProfile,
}

pub async fn upsert_order(
    app: &AppState,
    p: &Principal,
    dealer_uuid: &str,
    uuid: &str,
    req: OrderUpsert,
) -> ApiResult<OrderRecord> {
    let dealer = dealer_for_write(app, p, dealer_uuid).await?;
    let uuid = uuid_param("dealerOrderUuid", uuid)?.to_string();
    let number = required_text("orderNumber", req.order_number.as_deref(), 64)?;
    let order_type =
        required_text("orderType", req.order_type.as_deref(), 32)?.to_ascii_uppercase();
    let status = req
        .order_status
        .as_deref()
        .map(|s| s.trim().to_ascii_uppercase())
        .unwrap_or_else(|| "OPEN".into());
    if !ORDER_STATUSES.contains(&status.as_str()) {
        return Err(ApiError::invalid("orderStatus", "must be OPEN or CLOSED"));
    }
    let amount = req.amount.ok_or_else(|| ApiError::missing("amount"))?;
    let department = department_of(
        app,
        dealer.id,
        req.department_uuid
            .as_deref()
            .ok_or_else(|| ApiError::missing("departmentUuid"))?,
    )
    .await?;
    let customer = customer_of(
        app,
        dealer.id,
        "customerUuid",
        req.customer_uuid
            .as_deref()
            .ok_or_else(|| ApiError::missing("customerUuid"))?,
    )
    .await?;
    let vehicle = match req.vehicle_uuid.as_deref() {
        Some(v) => {
            let u = uuid_param("vehicleUuid", v)?.to_string();
            let veh = dealers::vehicle_by_uuid(&app.db, &u)
                .await?
                .filter(|x| x.dealer_id == dealer.id)
                .ok_or_else(|| {
                    ApiError::bad_request(
                        v1::ERROR_WHILE_CREATING_ORDER,
                        "vehicleUuid: no such vehicle for this dealer",
                    )
                })?;
            if veh.customer_id.is_some_and(|c| c != customer.id) {
                return Err(ApiError::bad_request(
                    v1::ERROR_WHILE_CREATING_ORDER,
                    "vehicleUuid: the vehicle belongs to another customer",
                ));
            }
            Some(veh)
        }
        None => None,
    };
    let associate = match req.dealer_associate_uuid.as_deref() {
        Some(a) => {
            let a = associate_of(app, dealer.id, "dealerAssociateUuid", a).await?;
            if a.department_id.is_none() {
                return Err(ApiError::bad_request(
                    v1::DEALER_ASSOCIATE_DEPARTMENT_MISSING,
                    "dealerAssociateUuid: the associate has no department; assign one before giving them orders",
                ));
            }
            Some(a)
        }
        None => None,
    };
    let mut prof = req.profile;
    for (field, v) in [
        ("profile.description", &mut prof.description),
        ("profile.invoiceURL", &mut prof.invoice_url),
        ("profile.readyROData", &mut prof.ready_ro_data),
        ("profile.mileageText", &mut prof.mileage_text),
        ("profile.labourOpTypes", &mut prof.labour_op_types),
        ("profile.dmsdescription", &mut prof.dmsdescription),
        ("profile.payTypes", &mut prof.pay_types),
        ("profile.laborTypes", &mut prof.labor_types),
        ("profile.tagOrHat", &mut prof.tag_or_hat),
    ] {
        *v = optional_text(field, v.as_deref(), 2000)?;
    }
    let now = Timestamp::now();
    let w = orders::OrderWrite {
        uuid: uuid.clone(),
        department_id: department.id,
        customer_id: customer.id,
        vehicle_id: vehicle.as_ref().map(|v| v.id),
        associate_id: associate.as_ref().map(|a| a.id),
        order_number: number.clone(),
        order_type: order_type.clone(),
        order_status: status,
        amount_cents: amount.cents(),
        order_date: req.order_date.unwrap_or(now).millis(),
        profile: serde_json::to_string(&prof).map_err(ApiError::internal)?,
    };
    let mut tx = app.db.begin().await?;
    if let Some(other) = orders::number_taken_by(&mut tx, dealer.id, &order_type, &number).await? {
        if other != uuid {
            return Err(ApiError::conflict(
                v1::ORDER_ALREADY_EXISTS,
                "orderNumber: an order with this number and type already exists for this dealer",
            ));
        }
    }
    let row = match orders::upsert(&mut tx, dealer.id, &w, now.millis()).await {
        Ok(Some(r)) => r,
        Ok(None) => return Err(moved("dealerOrderUuid")),
        // A concurrent writer took the number between our check and insert.
        Err(e) if e.is_unique_violation() => {
            return Err(ApiError::conflict(
                v1::ORDER_ALREADY_EXISTS,
                "orderNumber: already exists for this dealer",
            ))
        }
        Err(e) => return Err(e.into()),
    };
    tx.commit().await?;
    Ok(OrderRecord {
        id: row.id,
        uuid: row.uuid,
        order_number: row.order_number,
        order_type: row.order_type,
        order_status: row.order_status,
        amount,
        paid_amount: Money::from_cents(row.paid_cents).unwrap_or_default(),
        order_date: Timestamp::from_millis(row.order_date),
        department_uuid: department.uuid,
        customer_uuid: customer.uuid,
        vehicle_uuid: vehicle.map(|v| v.uuid),
        dealer_associate_uuid: associate.map(|a| a.uuid),
        profile: prof,
    })
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DealerRef {
    pub dealer_uuid: Option<String>,
}
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DealerOrderRef {
    pub dealer_order_uuid: Option<String>,
}
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomerRef {
    pub customer_uuid: Option<String>,
}
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct UserRef {
    #[serde(rename = "dealerAssociateUUID")]
    pub dealer_associate_uuid: Option<String>,
}

/// The InvoiceDTO of a DMS sync; the four references are required (100087–100090).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvoiceUpsert {
    pub payment_dealer: Option<DealerRef>,
    pub payment_dealer_order: Option<DealerOrderRef>,
    pub payment_customer: Option<CustomerRef>,
    pub payment_user: Option<UserRef>,
    pub amount: Option<Money>,
    pub invoice_date: Option<Timestamp>,
    pub description: Option<String>,
    pub file_name: Option<String>,
    pub reminder_date: Option<Timestamp>,
    pub reminder_mileage: Option<i64>,
    /// Free-form `option → value` pairs.
    #[serde(default)]
    pub invoice_attributes: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvoiceRecord {
    pub id: i64,
    pub guid: String,
    pub version: i64,
    pub invoice_status: String,
    pub amount: Money,
    pub paid_amount: Money,
    pub refunded_amount: Money,
    pub amount_due: Money,
    pub dealer_uuid: String,
    pub dealer_order_uuid: String,
    pub customer_uuid: String,
    #[serde(rename = "dealerAssociateUUID")]
    pub dealer_associate_uuid: String,
    pub invoice_attributes: std::collections::BTreeMap<String, String>,
}

pub async fn upsert_invoice(
    app: &AppState,
    p: &Principal,
    guid: &str,
    req: InvoiceUpsert,
) -> ApiResult<InvoiceRecord> {
    let guid = uuid_param("invoiceGuid", guid)?.to_string();
    let dealer_uuid = req
        .payment_dealer
        .and_then(|d| d.dealer_uuid)
        .ok_or_else(|| {
            ApiError::bad_request(
                v1::PAYMENT_DEALER_NOT_PRESENT_IN_INVOICE,
                "paymentDealer.dealerUuid: is required",
            )
        })?;
    let dealer = dealer_for_write(app, p, &dealer_uuid).await?;
    let order_uuid = req
        .payment_dealer_order
        .and_then(|o| o.dealer_order_uuid)
        .ok_or_else(|| {
            ApiError::bad_request(
                v1::PAYMENT_DEALER_ORDER_NOT_PRESENT_IN_INVOICE,
                "paymentDealerOrder.dealerOrderUuid: is required",
            )
        })?;
    let order_uuid = uuid_param("paymentDealerOrder.dealerOrderUuid", &order_uuid)?.to_string();
    let order = orders::by_uuid(&app.db, &order_uuid)
        .await?
        .filter(|o| o.dealer_id == dealer.id)
        .ok_or_else(|| {
            ApiError::bad_request(
                v1::INVALID_DEALERORDER_UUID,
                "paymentDealerOrder.dealerOrderUuid: no such order for this dealer",
            )
        })?;
    let customer_uuid = req
        .payment_customer
        .and_then(|c| c.customer_uuid)
        .ok_or_else(|| {
            ApiError::bad_request(
                v1::PAYMENT_CUSTOMER_NOT_PRESENT_IN_INVOICE,
                "paymentCustomer.customerUuid: is required",
            )
        })?;
    let customer = customer_of(
        app,
        dealer.id,
        "paymentCustomer.customerUuid",
        &customer_uuid,
    )
    .await?;
    let user_uuid = req
        .payment_user
        .and_then(|u| u.dealer_associate_uuid)
        .ok_or_else(|| {
            ApiError::bad_request(
                v1::PAYMENT_USER_NOT_PRESENT_IN_INVOICE,
                "paymentUser.dealerAssociateUUID: is required",
            )
        })?;
    let associate = associate_of(
        app,
        dealer.id,
        "paymentUser.dealerAssociateUUID",
        &user_uuid,
    )
    .await?;
    let amount = req.amount.ok_or_else(|| ApiError::missing("amount"))?;
    if let Some(m) = req.reminder_mileage {
        if !(0..=10_000_000).contains(&m) {
            return Err(ApiError::invalid(
                "reminderMileage",
                "must be between 0 and 10000000",
            ));
        }
    }
    let mut attrs = Vec::new();
    if req.invoice_attributes.len() > 100 {
        return Err(ApiError::invalid(
            "invoiceAttributes",
            "at most 100 attributes",
        ));
    }
    for (k, v) in &req.invoice_attributes {
        // Field names only: attribute keys and values are client text and are never echoed.
        let key = required_text("invoiceAttributes", Some(k), 100)?;
        attrs.push((key, text("invoiceAttributes", v, 1000)?));
    }
    let now = Timestamp::now();
    let w = invoices::InvoiceWrite {
        guid: guid.clone(),
        dealer_order_id: order.id,
        customer_id: customer.id,
        associate_id: associate.id,
        amount_cents: amount.cents(),
        invoice_date: req.invoice_date.unwrap_or(now).millis(),
        description: optional_text("description", req.description.as_deref(), 2000)?,
        file_name: optional_text("fileName", req.file_name.as_deref(), 255)?,
        reminder_date: req.reminder_date.map(Timestamp::millis),
        reminder_mileage: req.reminder_mileage,
    };
    let mut tx = app.db.begin().await?;
    if let Some(existing) = invoices::by_guid_locked(&app.db, &mut tx, &guid).await? {
        if existing.dealer_id == dealer.id
            && amount.cents() < existing.paid_cents - existing.refunded_cents
        {
            return Err(ApiError::invalid(
                "amount",
                "must not be below what has already been paid",
            ));
        }
    }
    let row = invoices::upsert(&mut tx, dealer.id, &w, now.millis())
        .await?
        .ok_or_else(|| moved("invoiceGuid"))?;
    invoices::replace_attributes(&mut tx, row.id, &attrs).await?;
    tx.commit().await?;
    Ok(InvoiceRecord {
        id: row.id,
        guid: row.guid.clone(),
        version: row.version,
        invoice_status: row.status().to_string(),
        amount,
        paid_amount: Money::from_cents(row.paid_cents).unwrap_or_default(),
        refunded_amount: Money::from_cents(row.refunded_cents).unwrap_or_default(),
        amount_due: Money::from_cents(row.due_cents()).unwrap_or_default(),
        dealer_uuid: dealer.uuid,
        dealer_order_uuid: order.uuid,
        customer_uuid: customer.uuid,
        dealer_associate_uuid: associate.uuid,
        invoice_attributes: attrs.into_iter().collect(),
    })
}

/// `201 Created` for a new record, `200 OK` for an update.
pub fn created_status(created: bool) -> StatusCode {
    if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    }
}
