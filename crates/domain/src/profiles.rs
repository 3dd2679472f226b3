//! Descriptive profiles of dealer data as a DMS syncs them: fields that carry no rules, kept
//! as JSON with the record and shown back in the documented shapes.

use crate::{Money, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

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

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct DepartmentProfile {
    pub calendar_uuid: Option<String>,
    pub broker_number: Option<String>,
    pub communication_group: Option<String>,
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
