//! DMS-sync upserts (`PUT /payment/kpayment/v1/dealers/…`, `PUT /payment/kpayment/v1/invoices/…`):
//! request bodies and the records they answer with.

use domain::profiles::{
    AssociateProfile, CustomerProfile, DealerProfile, DepartmentProfile, OrderProfile,
    VehicleProfile,
};
use domain::{Money, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

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
    #[serde(default, deserialize_with = "crate::object::object")]
    pub settings: DealerSettingsInput,
    #[serde(default, deserialize_with = "crate::object::object")]
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

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DepartmentUpsert {
    pub name: Option<String>,
    /// One of SERVICE, PARTS, SALES, BODY_SHOP, FINANCE, OTHER.
    pub department_type: Option<String>,
    #[serde(default, deserialize_with = "crate::object::object")]
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

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssociateUpsert {
    pub user_uuid: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// The associate's department; an associate without one cannot own a repair order.
    pub department_uuid: Option<String>,
    #[serde(default, deserialize_with = "crate::object::object")]
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
    #[serde(default, deserialize_with = "crate::object::object")]
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

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VehicleUpsert {
    /// Owner of the vehicle, a customer of the same dealer.
    pub customer_uuid: Option<String>,
    /// 17 characters, no I, O or Q.
    pub vin: Option<String>,
    /// Brand, e.g. "Toyota".
    pub make: Option<String>,
    #[serde(default, deserialize_with = "crate::object::object")]
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
    #[serde(default, deserialize_with = "crate::object::object")]
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
    #[serde(default, deserialize_with = "crate::object::optional_object")]
    pub payment_dealer: Option<DealerRef>,
    #[serde(default, deserialize_with = "crate::object::optional_object")]
    pub payment_dealer_order: Option<DealerOrderRef>,
    #[serde(default, deserialize_with = "crate::object::optional_object")]
    pub payment_customer: Option<CustomerRef>,
    #[serde(default, deserialize_with = "crate::object::optional_object")]
    pub payment_user: Option<UserRef>,
    pub amount: Option<Money>,
    pub invoice_date: Option<Timestamp>,
    pub description: Option<String>,
    pub file_name: Option<String>,
    pub reminder_date: Option<Timestamp>,
    pub reminder_mileage: Option<i64>,
    /// Free-form `option → value` pairs.
    #[serde(default)]
    pub invoice_attributes: BTreeMap<String, String>,
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
    pub invoice_attributes: BTreeMap<String, String>,
}
