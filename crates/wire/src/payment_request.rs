//! "Get payment request" (`GET /kpayment/v1/paymentrequest/:guid`) 200 response.

use domain::{Money, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::common::{PaymentDealerOrder, PaymentUser, TransactionSummary};
use crate::envelope::{V1Error, V1Warning};

/// Whole 200 body of "Get payment request": `errors`, `warnings`, `paymentRequest`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentRequestResponse {
    pub errors: Vec<V1Error>,
    pub warnings: Vec<V1Warning>,
    pub payment_request: Option<PaymentRequestDto>,
}

/// `paymentRequest`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentRequestDto {
    pub id: i64,
    pub version: i64,
    pub amount: Money,
    #[serde(rename = "timeStamp")]
    pub time_stamp: Timestamp,
    pub source: Option<String>,
    pub source_info: Option<String>,
    pub status: String,
    pub ttl: i64,
    pub payment_type: Option<String>,
    pub guid: String,
    pub refund_status: Option<String>,
    pub payment_request_attributes: Vec<PaymentRequestAttribute>,
    pub invoice: PaymentRequestInvoice,
    pub sales_tax: Money,
    pub max_surcharge: Money,
    pub max_surcharge_percent: f64,
    pub is_dual_pricing: bool,
    pub is_surcharge: bool,
}

/// `paymentRequest.paymentRequestAttributes[]`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentRequestAttribute {
    pub id: i64,
    pub name: String,
    pub value: Option<String>,
}

/// `paymentRequest.invoice` (the large v1 invoice with order DTO, transactions, dealer, customer).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentRequestInvoice {
    pub id: i64,
    pub version: i64,
    pub guid: String,
    pub invoice_status: String,
    pub amount: Money,
    pub invoice_date: Timestamp,
    pub description: Option<String>,
    pub refunded_amount: Money,
    pub paid_date: Option<Timestamp>,
    pub signature_file_name: Option<String>,
    pub payment_user: Option<PaymentUser>,
    #[serde(rename = "paymentDealerOrderDTO")]
    pub payment_dealer_order_dto: PaymentDealerOrder,
    pub transactions: Vec<TransactionSummary>,
    pub reminder_date: Option<Timestamp>,
    pub reminder_mileage: Option<i64>,
    pub file_name: Option<String>,
    pub dealer_order: DealerOrder,
    pub dealer: Dealer,
    pub invoice_attributes: Vec<InvoiceAttributeOption>,
    pub customer: Customer,
}

/// `paymentRequest.invoice.dealerOrder`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DealerOrder {
    pub id: i64,
    pub order_number: String,
    pub order_type: Option<String>,
    pub amount: Money,
    pub order_date: Option<Timestamp>,
    pub description: Option<String>,
    pub order_status: Option<String>,
    #[serde(rename = "invoiceURL")]
    pub invoice_url: Option<String>,
    #[serde(rename = "readyROData")]
    pub ready_ro_data: Option<String>,
    pub mileage_text: Option<String>,
    pub department_type: Option<String>,
    pub labour_op_types: Option<String>,
    #[serde(rename = "dmsdescription")]
    pub dms_description: Option<String>,
    pub uuid: String,
    #[serde(rename = "updated_dt")]
    pub updated_dt: Timestamp,
    #[serde(rename = "created_dt")]
    pub created_dt: Timestamp,
    pub pay_types: Option<String>,
    pub labor_types: Option<String>,
    pub tag_or_hat: Option<String>,
    pub vehicle: Option<Vehicle>,
    #[serde(rename = "signatureRequestID")]
    pub signature_request_id: Option<i64>,
    pub paid_amount: Money,
    pub delivery_amount: Money,
    pub customer_signature_url: Option<String>,
    pub paid: bool,
    pub payment_request_sent: bool,
    pub paid_online: bool,
}

/// `paymentRequest.invoice.dealerOrder.vehicle`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Vehicle {
    pub id: i64,
    pub version: i64,
    pub brand: Option<VehicleBrand>,
    pub vin: Option<String>,
    #[serde(rename = "hasObddevice")]
    pub has_obd_device: bool,
    pub license_plate: Option<String>,
    pub bought_date: Option<Timestamp>,
    pub sold_date: Option<Timestamp>,
    pub added_date: Option<Timestamp>,
    pub model: Option<String>,
    pub year: Option<String>,
    pub trim: Option<String>,
    pub engine: Option<String>,
    pub body: Option<String>,
    pub latest_mileage: Option<String>,
    pub transmission: Option<String>,
    pub name: Option<String>,
    pub make: Option<String>,
    pub mileage: Option<String>,
    pub is_primary: bool,
    pub last_service_date: Option<Timestamp>,
    pub license_state_code: Option<String>,
    pub license_state_description: Option<String>,
    pub vehicle_key: Option<String>,
    pub status: Option<String>,
    pub parent: Option<i64>,
    pub color: Option<String>,
    pub uuid: String,
    pub is_valid: bool,
}

/// `paymentRequest.invoice.dealerOrder.vehicle.brand`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VehicleBrand {
    pub id: i64,
    pub version: i64,
    pub brand_name: String,
    pub is_valid: bool,
}

/// `paymentRequest.invoice.dealer` (the full dealer record).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Dealer {
    pub id: i64,
    pub name: String,
    pub contract_name: Option<String>,
    pub number: Option<String>,
    pub comments: Option<String>,
    pub is_valid: bool,
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
    pub uuid: String,
}

/// `paymentRequest.invoice.invoiceAttributes[]` (`{option, value}` pairs).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvoiceAttributeOption {
    pub option: String,
    pub value: Option<String>,
}

/// `paymentRequest.invoice.customer` (the full customer record).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Customer {
    pub first_name: Option<String>,
    pub middle_name: Option<String>,
    pub last_name: Option<String>,
    pub gender: Option<String>,
    pub company: Option<String>,
    pub nick_name: Option<String>,
    pub customer_key: Option<String>,
    pub image_url: Option<String>,
    pub guid: String,
    pub is_valid: bool,
    pub status: Option<String>,
    pub opted_out: bool,
    pub is_indexed: bool,
    pub preferred_locale: Option<String>,
    pub availability: i64,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub phone_communication_id: Option<i64>,
    pub email_communication_id: Option<i64>,
}

// `POST /payment/kpayment/v1/paymentrequest` request body (no doc comment: it would show in
// the OpenAPI document).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentRequestCreate {
    pub dealer_uuid: Option<String>,
    #[serde(alias = "invoiceGUID")]
    pub invoice_guid: Option<String>,
    /// Amount to request; defaults to what is due. Less than due only where the dealer allows partial payments.
    pub amount: Option<Money>,
    /// Seconds the link stays payable (300 – 2592000; default 604800, 7 days).
    pub ttl: Option<i64>,
    /// Where the request came from, e.g. "DMS" (default "API").
    pub source: Option<String>,
    pub source_info: Option<String>,
    /// Default "ONLINE".
    pub payment_type: Option<String>,
    /// en, es or fr-CA (default en).
    pub locale: Option<String>,
    #[serde(default)]
    pub attributes: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentRequestCreated {
    pub id: i64,
    pub guid: String,
    pub status: String,
    pub amount: Money,
    pub ttl: i64,
    pub expires_at: Timestamp,
    pub invoice_guid: String,
    pub locale: String,
    /// The customer's pay page.
    pub pay_url: String,
    /// A short link that redirects to the pay page (for text messages).
    pub short_url: String,
}

// The answer of create and expire: the request with its links.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentRequestCreatedResponse {
    pub errors: Vec<V1Error>,
    pub warnings: Vec<V1Warning>,
    pub payment_request: PaymentRequestCreated,
}
