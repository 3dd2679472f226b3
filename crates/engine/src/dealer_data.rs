//! Dealer data as a DMS sync sends it: idempotent upserts keyed by the DMS's own uuids.
//! A record never moves between dealers; references are checked to belong to the same dealer.
//!
//! Every use-case needs `payment.dealerdata` (or `payment.all`) for the whole dealer
//! (ServiceSubscriberScope); creating a dealer needs the operator.

use crate::actor::Actor;
use crate::error::{EngineError, EngineResult};
use crate::validate::{optional_text, percent_to_bps, required_text, text};
use crate::{now, Engine};
use domain::catalog::v1;
use domain::profiles::{
    AssociateProfile, CustomerProfile, DealerProfile, DepartmentProfile, OrderProfile,
    VehicleProfile,
};
use domain::scope::Scope;
use domain::status::OrderStatus;
use domain::{Money, Timestamp};
use std::collections::BTreeMap;
use store::repo::dealers::{self, AssociateRow, CustomerRow, DealerRow, DepartmentRow, VehicleRow};
use store::repo::invoices::{self, InvoiceRow};
use store::repo::orders::{self, OrderRow};

/// The scope every dealer-data use-case requires, at dealer level.
pub const SCOPE: Scope = Scope::DealerData;

/// Department types a department may have.
pub const DEPARTMENT_TYPES: &[&str] =
    &["SERVICE", "PARTS", "SALES", "BODY_SHOP", "FINANCE", "OTHER"];

/// Payment settings of a dealer upsert. An omitted (`None`) setting keeps its stored value
/// (or the default when the dealer is new).
#[derive(Debug, Clone, Default)]
pub struct DealerSettingsChange {
    pub duplicate_transaction_window_minutes: Option<i64>,
    pub enforce_cvv: Option<bool>,
    pub enforce_zip: Option<bool>,
    pub surcharge_enabled: Option<bool>,
    /// Percent of the amount, at most 4.
    pub surcharge_percent: Option<f64>,
    pub dual_pricing_enabled: Option<bool>,
    /// Percent, at most 10.
    pub dual_pricing_percent: Option<f64>,
    pub sales_tax_enabled: Option<bool>,
    /// Percent, at most 25.
    pub sales_tax_percent: Option<f64>,
    pub allow_partial_payments: Option<bool>,
    /// A card connector's provider name (case-insensitive).
    pub payment_provider: Option<String>,
    pub ach_provider: Option<String>,
    pub preferred_dealer_id: Option<String>,
}

/// Creates or updates a dealer.
#[derive(Debug, Clone)]
pub struct UpsertDealer {
    /// The dealer's uuid as the DMS knows it (unparsed).
    pub dealer_uuid: String,
    pub name: Option<String>,
    pub settings: DealerSettingsChange,
    pub profile: DealerProfile,
}

/// A dealer upsert's outcome: `created` is false for an update.
#[derive(Debug, Clone)]
pub struct DealerUpserted {
    pub created: bool,
    pub dealer: DealerRow,
}

#[derive(Debug, Clone)]
pub struct UpsertDepartment {
    pub dealer_uuid: String,
    pub department_uuid: String,
    pub name: Option<String>,
    /// One of [`DEPARTMENT_TYPES`] (case-insensitive).
    pub department_type: Option<String>,
    pub profile: DepartmentProfile,
}

#[derive(Debug, Clone)]
pub struct DepartmentUpserted {
    pub dealer_uuid: String,
    pub department: DepartmentRow,
    /// The profile as stored (trimmed, blanks removed).
    pub profile: DepartmentProfile,
}

#[derive(Debug, Clone)]
pub struct UpsertAssociate {
    pub dealer_uuid: String,
    pub associate_uuid: String,
    pub user_uuid: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// An associate without a department cannot own a repair order.
    pub department_uuid: Option<String>,
    pub profile: AssociateProfile,
}

#[derive(Debug, Clone)]
pub struct AssociateUpserted {
    pub associate: AssociateRow,
    pub department_uuid: Option<String>,
    pub profile: AssociateProfile,
}

#[derive(Debug, Clone)]
pub struct UpsertCustomer {
    pub dealer_uuid: String,
    pub customer_uuid: String,
    pub first_name: Option<String>,
    pub middle_name: Option<String>,
    pub last_name: Option<String>,
    pub company: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// A blacklisted customer cannot be asked for or make payments.
    pub blacklisted: bool,
    pub profile: CustomerProfile,
}

#[derive(Debug, Clone)]
pub struct CustomerUpserted {
    pub customer: CustomerRow,
    pub profile: CustomerProfile,
}

#[derive(Debug, Clone)]
pub struct UpsertVehicle {
    pub dealer_uuid: String,
    pub vehicle_uuid: String,
    /// Owner of the vehicle, a customer of the same dealer.
    pub customer_uuid: Option<String>,
    /// 17 characters, no I, O or Q.
    pub vin: Option<String>,
    /// Brand, e.g. "Toyota".
    pub make: Option<String>,
    pub profile: VehicleProfile,
}

/// A vehicle as written.
#[derive(Debug, Clone)]
pub struct VehicleUpserted {
    pub id: i64,
    pub uuid: String,
    pub customer_uuid: Option<String>,
    /// Upper case.
    pub vin: Option<String>,
    pub make: Option<String>,
    pub profile: VehicleProfile,
}

#[derive(Debug, Clone)]
pub struct UpsertOrder {
    pub dealer_uuid: String,
    pub order_uuid: String,
    pub order_number: Option<String>,
    /// e.g. "RO"; the number is unique per dealer and type.
    pub order_type: Option<String>,
    /// OPEN (default) or CLOSED, case-insensitive.
    pub order_status: Option<String>,
    pub amount: Option<Money>,
    /// Default: now.
    pub order_date: Option<Timestamp>,
    pub department_uuid: Option<String>,
    pub customer_uuid: Option<String>,
    pub vehicle_uuid: Option<String>,
    /// The associate owning the order; must belong to a department.
    pub dealer_associate_uuid: Option<String>,
    pub profile: OrderProfile,
}

#[derive(Debug, Clone)]
pub struct OrderUpserted {
    pub order: OrderRow,
    pub department_uuid: String,
    pub customer_uuid: String,
    pub vehicle_uuid: Option<String>,
    pub dealer_associate_uuid: Option<String>,
    pub profile: OrderProfile,
}

/// The InvoiceDTO of a DMS sync; the four references are required (100087–100090).
#[derive(Debug, Clone)]
pub struct UpsertInvoice {
    pub invoice_guid: String,
    /// `paymentDealer.dealerUuid`.
    pub dealer_uuid: Option<String>,
    /// `paymentDealerOrder.dealerOrderUuid`.
    pub dealer_order_uuid: Option<String>,
    /// `paymentCustomer.customerUuid`.
    pub customer_uuid: Option<String>,
    /// `paymentUser.dealerAssociateUUID`.
    pub dealer_associate_uuid: Option<String>,
    pub amount: Option<Money>,
    /// Default: now.
    pub invoice_date: Option<Timestamp>,
    pub description: Option<String>,
    pub file_name: Option<String>,
    pub reminder_date: Option<Timestamp>,
    pub reminder_mileage: Option<i64>,
    /// Free-form `option → value` pairs (at most 100).
    pub attributes: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
pub struct InvoiceUpserted {
    pub invoice: InvoiceRow,
    pub dealer_uuid: String,
    pub dealer_order_uuid: String,
    pub customer_uuid: String,
    pub dealer_associate_uuid: String,
    /// The attributes as stored (trimmed), in key order.
    pub attributes: Vec<(String, String)>,
}

/// A path or reference UUID, as given (no trimming), naming the field when it is not one.
fn uuid_param(field: &str, value: &str) -> EngineResult<String> {
    uuid::Uuid::parse_str(value)
        .map(|u| u.to_string())
        .map_err(|_| EngineError::invalid(field, "must be a UUID"))
}

fn moved(field: &str) -> EngineError {
    EngineError::conflict(
        v1::INVALID_DATA_FOR_THE_FIELD,
        format!("{field}: already belongs to another dealer"),
    )
}

fn json<T: serde::Serialize>(v: &T) -> EngineResult<String> {
    serde_json::to_string(v).map_err(EngineError::internal)
}

fn clean_dealer_profile(mut p: DealerProfile) -> EngineResult<DealerProfile> {
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
        if v.is_some_and(|x: f64| !x.is_finite() || x.abs() > lim) {
            return Err(EngineError::invalid(
                field,
                format!("must be between -{lim} and {lim}"),
            ));
        }
    }
    Ok(p)
}

impl Engine {
    /// Whether `provider` names a card connector this server has (a dealer's
    /// `paymentProvider` must).
    pub fn is_card_provider(&self, provider: &str) -> bool {
        self.connectors.card(provider).is_some()
    }

    /// Creates (operator only) or updates (operator or a `payment.dealerdata` grant) a dealer.
    pub async fn upsert_dealer(
        &self,
        actor: &Actor,
        cmd: UpsertDealer,
    ) -> EngineResult<DealerUpserted> {
        let dealer_uuid = uuid_param("dealerUuid", &cmd.dealer_uuid)?;
        let existing = {
            let u = dealer_uuid.clone();
            self.db
                .read(move |c| Box::pin(async move { dealers::dealer_by_uuid(c, &u).await }))
                .await?
        };
        match (&existing, actor.is_operator()) {
            (_, true) => {}
            (Some(_), false) => actor.require_dealer(SCOPE, &dealer_uuid)?,
            (None, false) => {
                return Err(EngineError::unauthorized(
                    v1::INVALID_SCOPE_DEALER,
                    "only an operator can create a dealer",
                ))
            }
        }
        let name = required_text("name", cmd.name.as_deref(), 200)?;
        let s = cmd.settings;
        let e = existing.as_ref();
        let flag =
            |v: Option<bool>, old: Option<bool>, default: bool| v.unwrap_or(old.unwrap_or(default));
        let pct = |field: &str, v: Option<f64>, old: Option<i64>, max: f64| -> EngineResult<i64> {
            match v {
                Some(p) => percent_to_bps(field, p, max),
                None => Ok(old.unwrap_or(0)),
            }
        };
        let window = s
            .duplicate_transaction_window_minutes
            .unwrap_or(e.map(|d| d.duplicate_window_minutes).unwrap_or(10));
        if !(0..=10_080).contains(&window) {
            return Err(EngineError::invalid(
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
        if !self.is_card_provider(&provider) {
            let names: Vec<&str> = self.connectors.card_names().collect();
            return Err(EngineError::invalid(
                "settings.paymentProvider",
                format!("must be one of {names:?}"),
            ));
        }
        let write = dealers::DealerWrite {
            uuid: dealer_uuid,
            name,
            profile: json(&clean_dealer_profile(cmd.profile)?)?,
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
            return Err(EngineError::invalid(
                "settings.dualPricingEnabled",
                "a dealer may surcharge or use dual pricing, not both",
            ));
        }
        let t = now();
        let dealer = self
            .db
            .write(move |c| Box::pin(async move { dealers::upsert_dealer(c, &write, t).await }))
            .await?;
        Ok(DealerUpserted {
            created: existing.is_none(),
            dealer,
        })
    }

    /// The dealer of a sub-resource upsert, after checking the actor's grant for it.
    pub(crate) async fn dealer_for_write(
        &self,
        actor: &Actor,
        dealer_uuid: &str,
    ) -> EngineResult<DealerRow> {
        let dealer_uuid = uuid_param("dealerUuid", dealer_uuid)?;
        actor.require_dealer(SCOPE, &dealer_uuid)?;
        self.db
            .read(move |c| Box::pin(async move { dealers::dealer_by_uuid(c, &dealer_uuid).await }))
            .await?
            .ok_or_else(|| EngineError::not_found(v1::INVALID_DEALER, "dealerUuid: no such dealer"))
    }

    async fn department_of(&self, dealer_id: i64, uuid: &str) -> EngineResult<DepartmentRow> {
        let u = uuid_param("departmentUuid", uuid)?;
        let found = self
            .db
            .read(move |c| Box::pin(async move { dealers::department_by_uuid(c, &u).await }))
            .await?;
        match found {
            Some(d) if d.dealer_id == dealer_id => Ok(d),
            _ => Err(EngineError::bad_request(
                v1::INVALID_DEPARTMENT,
                "departmentUuid: no such department for this dealer",
            )),
        }
    }

    async fn customer_of(
        &self,
        dealer_id: i64,
        field: &str,
        uuid: &str,
    ) -> EngineResult<CustomerRow> {
        let u = uuid_param(field, uuid)?;
        let found = self
            .db
            .read(move |c| Box::pin(async move { dealers::customer_by_uuid(c, &u).await }))
            .await?;
        match found {
            Some(c) if c.dealer_id == dealer_id => Ok(c),
            _ => Err(EngineError::bad_request(
                v1::INVALID_CUSTOMER_UUID,
                format!("{field}: no such customer for this dealer"),
            )),
        }
    }

    async fn associate_of(
        &self,
        dealer_id: i64,
        field: &str,
        uuid: &str,
    ) -> EngineResult<AssociateRow> {
        let u = uuid_param(field, uuid)?;
        let found = self
            .db
            .read(move |c| Box::pin(async move { dealers::associate_by_uuid(c, &u).await }))
            .await?;
        match found {
            Some(a) if a.dealer_id == dealer_id => Ok(a),
            _ => Err(EngineError::bad_request(
                v1::DEALER_ASSOCIATE_NOT_FOUND,
                format!("{field}: no such dealer associate for this dealer"),
            )),
        }
    }

    /// Creates or updates a department of a dealer.
    pub async fn upsert_department(
        &self,
        actor: &Actor,
        cmd: UpsertDepartment,
    ) -> EngineResult<DepartmentUpserted> {
        let dealer = self.dealer_for_write(actor, &cmd.dealer_uuid).await?;
        let uuid = uuid_param("departmentUuid", &cmd.department_uuid)?;
        let name = required_text("name", cmd.name.as_deref(), 200)?;
        let dtype = required_text("departmentType", cmd.department_type.as_deref(), 32)?
            .to_ascii_uppercase();
        if !DEPARTMENT_TYPES.contains(&dtype.as_str()) {
            return Err(EngineError::invalid(
                "departmentType",
                format!("must be one of {DEPARTMENT_TYPES:?}"),
            ));
        }
        let mut prof = cmd.profile;
        prof.calendar_uuid =
            optional_text("profile.calendarUuid", prof.calendar_uuid.as_deref(), 64)?;
        prof.broker_number =
            optional_text("profile.brokerNumber", prof.broker_number.as_deref(), 64)?;
        prof.communication_group = optional_text(
            "profile.communicationGroup",
            prof.communication_group.as_deref(),
            64,
        )?;
        let profile = json(&prof)?;
        let (dealer_id, t) = (dealer.id, now());
        let department = self
            .db
            .write(move |c| {
                Box::pin(async move {
                    dealers::upsert_department(c, dealer_id, &uuid, &name, &dtype, &profile, t)
                        .await?
                        .ok_or_else(|| moved("departmentUuid"))
                })
            })
            .await?;
        Ok(DepartmentUpserted {
            dealer_uuid: dealer.uuid,
            department,
            profile: prof,
        })
    }

    /// Creates or updates a dealer associate (a PaymentUser).
    pub async fn upsert_associate(
        &self,
        actor: &Actor,
        cmd: UpsertAssociate,
    ) -> EngineResult<AssociateUpserted> {
        let dealer = self.dealer_for_write(actor, &cmd.dealer_uuid).await?;
        let uuid = uuid_param("dealerAssociateUuid", &cmd.associate_uuid)?;
        let user_uuid = uuid_param(
            "userUuid",
            &required_text("userUuid", cmd.user_uuid.as_deref(), 64)?,
        )?;
        let first = required_text("firstName", cmd.first_name.as_deref(), 100)?;
        let last = required_text("lastName", cmd.last_name.as_deref(), 100)?;
        let department = match cmd.department_uuid.as_deref() {
            Some(d) => Some(self.department_of(dealer.id, d).await?),
            None => None,
        };
        let mut prof = cmd.profile;
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
        let profile = json(&prof)?;
        let (dealer_id, department_id, t) = (dealer.id, department.as_ref().map(|d| d.id), now());
        let associate = self
            .db
            .write(move |c| {
                Box::pin(async move {
                    dealers::upsert_associate(
                        c,
                        dealer_id,
                        department_id,
                        &uuid,
                        &user_uuid,
                        &first,
                        &last,
                        &profile,
                        t,
                    )
                    .await?
                    .ok_or_else(|| moved("dealerAssociateUuid"))
                })
            })
            .await?;
        Ok(AssociateUpserted {
            associate,
            department_uuid: department.map(|d| d.uuid),
            profile: prof,
        })
    }

    /// Creates or updates a customer (with the blacklist flag).
    pub async fn upsert_customer(
        &self,
        actor: &Actor,
        cmd: UpsertCustomer,
    ) -> EngineResult<CustomerUpserted> {
        let dealer = self.dealer_for_write(actor, &cmd.dealer_uuid).await?;
        let uuid = uuid_param("customerUuid", &cmd.customer_uuid)?;
        let w = dealers::CustomerWrite {
            uuid,
            first_name: optional_text("firstName", cmd.first_name.as_deref(), 100)?,
            middle_name: optional_text("middleName", cmd.middle_name.as_deref(), 100)?,
            last_name: optional_text("lastName", cmd.last_name.as_deref(), 100)?,
            company: optional_text("company", cmd.company.as_deref(), 200)?,
            email: optional_text("email", cmd.email.as_deref(), 254)?,
            phone: optional_text("phone", cmd.phone.as_deref(), 32)?,
            blacklisted: cmd.blacklisted,
            profile: String::new(),
        };
        if w.first_name.is_none() && w.last_name.is_none() && w.company.is_none() {
            return Err(EngineError::missing("lastName"));
        }
        if let Some(e) = &w.email {
            let ok = e
                .split_once('@')
                .is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.starts_with('.'));
            if !ok {
                return Err(EngineError::invalid("email", "must be an email address"));
            }
        }
        if let Some(ph) = &w.phone {
            if !ph
                .chars()
                .all(|c| c.is_ascii_digit() || "+-() .".contains(c))
                || ph.chars().filter(char::is_ascii_digit).count() < 7
            {
                return Err(EngineError::invalid("phone", "must be a phone number"));
            }
        }
        let mut prof = cmd.profile;
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
            profile: json(&prof)?,
            ..w
        };
        let (dealer_id, t) = (dealer.id, now());
        let customer = self
            .db
            .write(move |c| {
                Box::pin(async move {
                    dealers::upsert_customer(c, dealer_id, &w, t)
                        .await?
                        .ok_or_else(|| moved("customerUuid"))
                })
            })
            .await?;
        Ok(CustomerUpserted {
            customer,
            profile: prof,
        })
    }

    /// Creates or updates a vehicle (and its brand, on first use).
    pub async fn upsert_vehicle(
        &self,
        actor: &Actor,
        cmd: UpsertVehicle,
    ) -> EngineResult<VehicleUpserted> {
        let dealer = self.dealer_for_write(actor, &cmd.dealer_uuid).await?;
        let uuid = uuid_param("vehicleUuid", &cmd.vehicle_uuid)?;
        let customer = match cmd.customer_uuid.as_deref() {
            Some(c) => Some(self.customer_of(dealer.id, "customerUuid", c).await?),
            None => None,
        };
        let vin = optional_text("vin", cmd.vin.as_deref(), 17)?.map(|v| v.to_ascii_uppercase());
        if let Some(v) = &vin {
            if v.len() != 17
                || !v
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() && !b"IOQ".contains(&b))
            {
                return Err(EngineError::invalid(
                    "vin",
                    "must be 17 letters and digits without I, O or Q",
                ));
            }
        }
        let make = optional_text("make", cmd.make.as_deref(), 60)?;
        let mut prof = cmd.profile;
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
        let profile = json(&prof)?;
        let (dealer_id, customer_id, t) = (dealer.id, customer.as_ref().map(|c| c.id), now());
        let (u, m, vn) = (uuid.clone(), make.clone(), vin.clone());
        let id = self
            .db
            .write(move |c| {
                Box::pin(async move {
                    let brand = match &m {
                        Some(m) => Some(dealers::brand_id(c, m).await?),
                        None => None,
                    };
                    dealers::upsert_vehicle(
                        c,
                        dealer_id,
                        &u,
                        customer_id,
                        brand,
                        vn.as_deref(),
                        &profile,
                        t,
                    )
                    .await?
                    // The uuid is another dealer's: roll back (the brand too).
                    .ok_or_else(|| moved("vehicleUuid"))
                })
            })
            .await?;
        Ok(VehicleUpserted {
            id,
            uuid,
            customer_uuid: customer.map(|c| c.uuid),
            vin,
            make,
            profile: prof,
        })
    }

    /// Creates or updates a dealer order (repair order); the order number is unique per
    /// dealer and order type.
    pub async fn upsert_order(
        &self,
        actor: &Actor,
        cmd: UpsertOrder,
    ) -> EngineResult<OrderUpserted> {
        let dealer = self.dealer_for_write(actor, &cmd.dealer_uuid).await?;
        let uuid = uuid_param("dealerOrderUuid", &cmd.order_uuid)?;
        let number = required_text("orderNumber", cmd.order_number.as_deref(), 64)?;
        let order_type =
            required_text("orderType", cmd.order_type.as_deref(), 32)?.to_ascii_uppercase();
        let status = match cmd.order_status.as_deref() {
            Some(s) => OrderStatus::parse(&s.trim().to_ascii_uppercase()),
            None => Some(OrderStatus::Open),
        }
        .ok_or_else(|| EngineError::invalid("orderStatus", "must be OPEN or CLOSED"))?;
        let amount = cmd.amount.ok_or_else(|| EngineError::missing("amount"))?;
        let department = self
            .department_of(
                dealer.id,
                cmd.department_uuid
                    .as_deref()
                    .ok_or_else(|| EngineError::missing("departmentUuid"))?,
            )
            .await?;
        let customer = self
            .customer_of(
                dealer.id,
                "customerUuid",
                cmd.customer_uuid
                    .as_deref()
                    .ok_or_else(|| EngineError::missing("customerUuid"))?,
            )
            .await?;
        let vehicle = match cmd.vehicle_uuid.as_deref() {
            Some(v) => {
                let u = uuid_param("vehicleUuid", v)?;
                let veh: Option<VehicleRow> = self
                    .db
                    .read(move |c| Box::pin(async move { dealers::vehicle_by_uuid(c, &u).await }))
                    .await?;
                let veh = veh.filter(|x| x.dealer_id == dealer.id).ok_or_else(|| {
                    EngineError::bad_request(
                        v1::ERROR_WHILE_CREATING_ORDER,
                        "vehicleUuid: no such vehicle for this dealer",
                    )
                })?;
                if veh.customer_id.is_some_and(|c| c != customer.id) {
                    return Err(EngineError::bad_request(
                        v1::ERROR_WHILE_CREATING_ORDER,
                        "vehicleUuid: the vehicle belongs to another customer",
                    ));
                }
                Some(veh)
            }
            None => None,
        };
        let associate = match cmd.dealer_associate_uuid.as_deref() {
            Some(a) => {
                let a = self
                    .associate_of(dealer.id, "dealerAssociateUuid", a)
                    .await?;
                if a.department_id.is_none() {
                    return Err(EngineError::bad_request(
                        v1::DEALER_ASSOCIATE_DEPARTMENT_MISSING,
                        "dealerAssociateUuid: the associate has no department; assign one before giving them orders",
                    ));
                }
                Some(a)
            }
            None => None,
        };
        let mut prof = cmd.profile;
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
        let t = now();
        let w = orders::OrderWrite {
            uuid: uuid.clone(),
            department_id: department.id,
            customer_id: customer.id,
            vehicle_id: vehicle.as_ref().map(|v| v.id),
            associate_id: associate.as_ref().map(|a| a.id),
            order_number: number.clone(),
            order_type: order_type.clone(),
            order_status: status,
            amount,
            order_date: cmd.order_date.map(Timestamp::millis).unwrap_or(t),
            profile: json(&prof)?,
        };
        let dealer_id = dealer.id;
        let order = self
            .db
            .write(move |c| {
                Box::pin(async move {
                    if let Some(other) = orders::number_taken_by(c, dealer_id, &order_type, &number).await? {
                        if other != uuid {
                            return Err(EngineError::conflict(
                                v1::ORDER_ALREADY_EXISTS,
                                "orderNumber: an order with this number and type already exists for this dealer",
                            ));
                        }
                    }
                    match orders::upsert(c, dealer_id, &w, t).await {
                        Ok(Some(r)) => Ok(r),
                        Ok(None) => Err(moved("dealerOrderUuid")),
                        // A concurrent writer took the number between our check and insert.
                        Err(e) if e.is_unique_violation() => Err(EngineError::conflict(
                            v1::ORDER_ALREADY_EXISTS,
                            "orderNumber: already exists for this dealer",
                        )),
                        Err(e) => Err(e.into()),
                    }
                })
            })
            .await?;
        Ok(OrderUpserted {
            order,
            department_uuid: department.uuid,
            customer_uuid: customer.uuid,
            vehicle_uuid: vehicle.map(|v| v.uuid),
            dealer_associate_uuid: associate.map(|a| a.uuid),
            profile: prof,
        })
    }

    /// Creates or updates an invoice with its attributes. The amount may not drop below what
    /// has been paid (and not refunded).
    pub async fn upsert_invoice(
        &self,
        actor: &Actor,
        cmd: UpsertInvoice,
    ) -> EngineResult<InvoiceUpserted> {
        let guid = uuid_param("invoiceGuid", &cmd.invoice_guid)?;
        let dealer_uuid = cmd.dealer_uuid.ok_or_else(|| {
            EngineError::bad_request(
                v1::PAYMENT_DEALER_NOT_PRESENT_IN_INVOICE,
                "paymentDealer.dealerUuid: is required",
            )
        })?;
        let dealer = self.dealer_for_write(actor, &dealer_uuid).await?;
        let order_uuid = cmd.dealer_order_uuid.ok_or_else(|| {
            EngineError::bad_request(
                v1::PAYMENT_DEALER_ORDER_NOT_PRESENT_IN_INVOICE,
                "paymentDealerOrder.dealerOrderUuid: is required",
            )
        })?;
        let order_uuid = uuid_param("paymentDealerOrder.dealerOrderUuid", &order_uuid)?;
        let order = self
            .db
            .read(move |c| Box::pin(async move { orders::by_uuid(c, &order_uuid).await }))
            .await?
            .filter(|o| o.dealer_id == dealer.id)
            .ok_or_else(|| {
                EngineError::bad_request(
                    v1::INVALID_DEALERORDER_UUID,
                    "paymentDealerOrder.dealerOrderUuid: no such order for this dealer",
                )
            })?;
        let customer_uuid = cmd.customer_uuid.ok_or_else(|| {
            EngineError::bad_request(
                v1::PAYMENT_CUSTOMER_NOT_PRESENT_IN_INVOICE,
                "paymentCustomer.customerUuid: is required",
            )
        })?;
        let customer = self
            .customer_of(dealer.id, "paymentCustomer.customerUuid", &customer_uuid)
            .await?;
        let user_uuid = cmd.dealer_associate_uuid.ok_or_else(|| {
            EngineError::bad_request(
                v1::PAYMENT_USER_NOT_PRESENT_IN_INVOICE,
                "paymentUser.dealerAssociateUUID: is required",
            )
        })?;
        let associate = self
            .associate_of(dealer.id, "paymentUser.dealerAssociateUUID", &user_uuid)
            .await?;
        let amount = cmd.amount.ok_or_else(|| EngineError::missing("amount"))?;
        if let Some(m) = cmd.reminder_mileage {
            if !(0..=10_000_000).contains(&m) {
                return Err(EngineError::invalid(
                    "reminderMileage",
                    "must be between 0 and 10000000",
                ));
            }
        }
        if cmd.attributes.len() > 100 {
            return Err(EngineError::invalid(
                "invoiceAttributes",
                "at most 100 attributes",
            ));
        }
        let mut attrs = Vec::with_capacity(cmd.attributes.len());
        for (k, v) in &cmd.attributes {
            // Field names only: attribute keys and values are client text and are never echoed.
            let key = required_text("invoiceAttributes", Some(k), 100)?;
            attrs.push((key, text("invoiceAttributes", v, 1000)?));
        }
        let t = now();
        let w = invoices::InvoiceWrite {
            guid: guid.clone(),
            dealer_order_id: order.id,
            customer_id: customer.id,
            associate_id: associate.id,
            amount,
            invoice_date: cmd.invoice_date.map(Timestamp::millis).unwrap_or(t),
            description: optional_text("description", cmd.description.as_deref(), 2000)?,
            file_name: optional_text("fileName", cmd.file_name.as_deref(), 255)?,
            reminder_date: cmd.reminder_date.map(Timestamp::millis),
            reminder_mileage: cmd.reminder_mileage,
        };
        let dealer_id = dealer.id;
        let stored = attrs.clone();
        let invoice = self
            .db
            .write(move |c| {
                Box::pin(async move {
                    if let Some(existing) = invoices::by_guid_locked(c, &guid).await? {
                        if existing.dealer_id == dealer_id
                            && amount < existing.paid.saturating_sub(existing.refunded)
                        {
                            return Err(EngineError::invalid(
                                "amount",
                                "must not be below what has already been paid",
                            ));
                        }
                    }
                    let row = invoices::upsert(c, dealer_id, &w, t)
                        .await?
                        .ok_or_else(|| moved("invoiceGuid"))?;
                    invoices::replace_attributes(c, row.id, &stored).await?;
                    Ok::<_, EngineError>(row)
                })
            })
            .await?;
        Ok(InvoiceUpserted {
            invoice,
            dealer_uuid: dealer.uuid,
            dealer_order_uuid: order.uuid,
            customer_uuid: customer.uuid,
            dealer_associate_uuid: associate.uuid,
            attributes: attrs,
        })
    }
}
