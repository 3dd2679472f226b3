//! Card payment DTOs: the documented prePayment request (seed 001) and our confirm,
//! complete, capture, refund, void and fee-quote routes.

use crate::{PaymentAttemptDto, V1Error, V1Warning};
use domain::card::{CardNumber, Cvv};
use domain::Money;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
pub struct PaymentUserInput {
    pub id: Option<i64>,
    #[serde(rename = "dealerAssociateUUID")]
    pub dealer_associate_uuid: Option<String>,
    #[serde(rename = "userUUID")]
    pub user_uuid: Option<String>,
    #[serde(rename = "dealerDepartmentUUID")]
    pub dealer_department_uuid: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TransactionDetailInput {
    pub id: Option<i64>,
    pub transaction_id: Option<i64>,
    pub transaction_incomplete_id: Option<i64>,
    #[serde(rename = "type")]
    pub detail_type: Option<String>,
    pub amount: Option<Money>,
    pub description: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TransactionDetailsList {
    #[serde(default, deserialize_with = "crate::object::objects")]
    pub transaction_details: Vec<TransactionDetailInput>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FeeRequest {
    pub fetch_surcharge: Option<bool>,
    pub fetch_application_fee: Option<bool>,
    pub dealer_id: Option<i64>,
    /// CREDIT or DEBIT.
    pub tender_type: Option<String>,
    /// VISA, MASTERCARD, AMEX or DISCOVER.
    pub card_type: Option<String>,
    pub transaction_department: Option<String>,
    pub payment_type: Option<String>,
    pub dealer_uuid: Option<String>,
}

/// The prePayment request of seed 001, every documented field accepted.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PrePaymentRequest {
    pub dealer_uuid: Option<String>,
    pub customer_uuid: Option<String>,
    pub order_number: Option<String>,
    #[serde(rename = "invoiceGUID", alias = "invoiceGuid")]
    pub invoice_guid: Option<String>,
    /// Deprecated.
    #[serde(rename = "customerID")]
    pub customer_id: Option<i64>,
    /// Deprecated.
    #[serde(rename = "paymentUserID")]
    pub payment_user_id: Option<i64>,
    #[serde(default, deserialize_with = "crate::object::optional_object")]
    pub current_payment_user: Option<PaymentUserInput>,
    /// Deprecated.
    pub original_payment_user_id: Option<i64>,
    #[serde(default, deserialize_with = "crate::object::optional_object")]
    pub original_payment_user: Option<PaymentUserInput>,
    /// Deprecated.
    #[serde(rename = "dealerID")]
    pub dealer_id: Option<i64>,
    pub desc: Option<String>,
    pub amount: Option<Money>,
    pub dealer_order_amount: Option<Money>,
    pub dealer_order_uuid: Option<String>,
    pub reminder_date: Option<String>,
    pub reminder_mileage: Option<i64>,
    pub order_type: Option<String>,
    pub is_mobile_payment: Option<bool>,
    pub fetch_duplicate_transaction_window: Option<bool>,
    pub fetch_enforce_cvv_dso: Option<bool>,
    pub fetch_enforce_zip_dso: Option<bool>,
    pub skin: Option<String>,
    pub locale: Option<String>,
    /// Last four digits of the card, used for duplicate detection.
    pub card_digits: Option<String>,
    pub ignore_payment_attempt_validation: Option<bool>,
    pub is_third_party_vendor: Option<bool>,
    pub payment_provider: Option<String>,
    pub transaction_type_short_code: Option<String>,
    /// Deprecated.
    pub signature_type: Option<String>,
    /// Deprecated.
    pub signature_data: Option<String>,
    /// Deprecated.
    pub ip_address: Option<String>,
    #[serde(default, deserialize_with = "crate::object::optional_object")]
    pub transaction_details_list: Option<TransactionDetailsList>,
    #[serde(default, deserialize_with = "crate::object::optional_object")]
    pub fee_request: Option<FeeRequest>,
    #[schema(value_type = Object)]
    pub attributes: Option<serde_json::Map<String, serde_json::Value>>,
}

/// Fees as quoted for an attempt.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FeeBreakdown {
    pub amount: Money,
    pub tender_type: String,
    pub card_type: Option<String>,
    pub is_surcharge: bool,
    pub is_dual_pricing: bool,
    pub surcharge_percent: f64,
    pub surcharge: Money,
    pub dual_pricing_fee: Money,
    pub sales_tax: Money,
    pub application_fee: Money,
    pub total: Money,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PrePaymentResponse {
    pub errors: Vec<V1Error>,
    pub warnings: Vec<V1Warning>,
    pub payment_attempt: PaymentAttemptDto,
    pub fees: FeeBreakdown,
    /// With `fetchDuplicateTransactionWindow`: minutes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duplicate_transaction_window: Option<i64>,
    /// With `fetchEnforceCvvDso`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enforce_cvv_dso: Option<bool>,
    /// With `fetchEnforceZipDso`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enforce_zip_dso: Option<bool>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttemptResponse {
    pub errors: Vec<V1Error>,
    pub warnings: Vec<V1Warning>,
    pub payment_attempt: PaymentAttemptDto,
}

/// Card details as a client sends them to confirm.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CardInput {
    #[schema(value_type = String, example = "4242424242424242")]
    pub number: CardNumber,
    pub exp_month: u32,
    pub exp_year: u32,
    #[schema(value_type = Option<String>)]
    pub cvv: Option<Cvv>,
    pub zip: Option<String>,
    pub holder_name: Option<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConfirmRequest {
    /// The card. Never stored or logged; we keep brand, last four and a keyed hash.
    #[serde(default, deserialize_with = "crate::object::optional_object")]
    pub card: Option<CardInput>,
    /// A processor token instead of card details (sandbox: `tok_visa`, `tok_mastercard`, …).
    pub token: Option<String>,
    /// Where a 3-D Secure challenge returns the customer to.
    pub return_url: Option<String>,
    /// false: authorize only (the attempt waits in `RequiresCapture` until captured or
    /// cancelled); default true.
    pub capture: Option<bool>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FeeQuoteRequest {
    pub dealer_uuid: Option<String>,
    pub amount: Option<Money>,
    /// CREDIT (default) or DEBIT.
    pub tender_type: Option<String>,
    /// VISA, MASTERCARD, AMEX or DISCOVER; absent: the highest network cap applies.
    pub card_type: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FeeQuoteResponse {
    pub errors: Vec<V1Error>,
    pub warnings: Vec<V1Warning>,
    pub fees: FeeBreakdown,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct CaptureBody {
    /// Amount to capture (the invoice part; fees are recomputed for it); default: all that was
    /// authorized. The rest of the hold is released.
    pub amount: Option<Money>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RefundBody {
    /// Amount to refund; defaults to everything still refundable (fees included).
    pub amount: Option<Money>,
    pub reason: Option<String>,
}

impl AttemptResponse {
    pub fn new(payment_attempt: PaymentAttemptDto) -> AttemptResponse {
        AttemptResponse {
            errors: vec![],
            warnings: vec![],
            payment_attempt,
        }
    }
}
