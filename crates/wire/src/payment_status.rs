//! "getPaymentStatus" (`GET /v3/department/:departmentUuid/status`) 200 response.

use domain::{Money, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::common::{
    DeviceType, NextActionType, PaymentAttemptStatus, PaymentCustomer, PaymentDealer,
    PaymentDealerOrder, PaymentMode, PaymentUser, TransactionStatus, TransactionSummary,
    TransactionType,
};
use crate::envelope::{V3Error, V3Warning};

/// Whole 200 body of "getPaymentStatus": `error`, `warnings`, `paymentAttempts`, `signedDocumentUrl`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentStatusResponse {
    pub error: Option<V3Error>,
    pub warnings: Vec<V3Warning>,
    pub payment_attempts: Vec<PaymentAttemptDto>,
    pub signed_document_url: Option<String>,
}

/// `paymentAttempts[]`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentAttemptDto {
    pub id: i64,
    pub uuid: String,
    pub status: PaymentAttemptStatus,
    pub payment_customer: PaymentCustomer,
    pub payment_dealer_order: PaymentDealerOrder,
    pub payment_user: Option<PaymentUser>,
    pub invoice: PaymentAttemptInvoice,
    pub transaction_type: TransactionType,
    pub payment_type: Option<String>,
    pub amount: Money,
    pub creation_time: Timestamp,
    #[serde(rename = "updatedTimeStamp")]
    pub updated_time_stamp: Timestamp,
    pub response_description: Option<String>,
    pub response_code: Option<String>,
    pub transaction: Option<TransactionDto>,
    pub transaction_incomplete: Option<TransactionDto>,
    pub payment_provider: Option<String>,
    pub payment_mode: PaymentMode,
    pub transaction_id: Option<i64>,
    pub attempt_number: i64,
    pub currency: String,
    #[schema(value_type = Object)]
    pub payment_attempt_attributes: Map<String, Value>,
    pub next_action: Option<NextAction>,
}

/// `paymentAttempts[].invoice` (the small invoice: scalar fields only).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentAttemptInvoice {
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
}

/// `paymentAttempts[].transaction` and `paymentAttempts[].transactionIncomplete`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TransactionDto {
    pub status: TransactionStatus,
    pub id: i64,
    pub uuid: String,
    pub payment_gateway_response: Option<PaymentGatewayResponse>,
    pub payment_user: Option<PaymentUser>,
    pub transaction_type: TransactionType,
    pub invoice: TransactionInvoice,
    pub tender_data: Option<TenderData>,
    pub description: Option<String>,
    pub trans_date: Timestamp,
    pub trans_amount: Money,
    pub source: Option<String>,
    pub payment_provider: Option<String>,
    pub payment_dealer: PaymentDealer,
    pub payment_dealer_order: PaymentDealerOrder,
    pub payment_customer: PaymentCustomer,
    pub device_type: DeviceType,
    #[schema(value_type = Object)]
    pub transaction_attributes: Map<String, Value>,
    pub account_balance: Money,
    pub details: Option<String>,
    pub is_settled: bool,
    pub settled_date: Option<Timestamp>,
    pub payment_gateway_trans_id: Option<String>,
    pub is_voided: bool,
    pub ip_address: Option<String>,
    pub parent_transaction: Option<TransactionSummary>,
    pub transaction_details: Vec<TransactionDetail>,
    pub ro_owner: Option<Associate>,
    pub cashier: Option<Associate>,
    #[serde(rename = "threeDSAuthenticationFailed")]
    pub three_ds_authentication_failed: bool,
}

/// `transaction.paymentGatewayResponse`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentGatewayResponse {
    pub id: i64,
    pub version: i64,
    pub response_code: i64,
    pub response_reason_code: i64,
    pub response_reason_text: Option<String>,
    pub authorization_code: Option<String>,
    #[serde(rename = "avsresponse")]
    pub avs_response: Option<String>,
    pub description: Option<String>,
    pub amount: Money,
    pub card_code_response: Option<String>,
    pub cardholder_authentication_verification_response: Option<String>,
    pub card_type: Option<String>,
    #[serde(rename = "pgtransId")]
    pub pg_trans_id: Option<String>,
    #[serde(rename = "pgtransRefId")]
    pub pg_trans_ref_id: Option<String>,
    pub is_approved: bool,
    pub is_declined: bool,
    pub is_error: bool,
    pub is_review: bool,
    pub payment_provider_type: Option<String>,
    pub uuid: String,
    pub payment_attempt_uuid: Option<String>,
}

/// `transaction.invoice` (mid-size invoice with reference-only dealer/order/customer).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TransactionInvoice {
    pub id: i64,
    pub guid: String,
    pub invoice_status: String,
    pub amount: Money,
    pub invoice_date: Timestamp,
    pub description: Option<String>,
    pub refunded_amount: Money,
    pub paid_date: Option<Timestamp>,
    pub file_name: Option<String>,
    pub reminder_mileage: Option<i64>,
    pub reminder_date: Option<Timestamp>,
    pub signature_file_name: Option<String>,
    pub payment_declines: Option<String>,
    #[schema(value_type = Object)]
    pub invoice_attributes: Map<String, Value>,
    pub payment_dealer: PaymentDealerRef,
    pub payment_dealer_order: PaymentDealerOrderRef,
    pub payment_customer: PaymentCustomerRef,
    pub payment_user: Option<PaymentUser>,
}

/// `transaction.invoice.paymentDealer` (`{dealerUuid}` only).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentDealerRef {
    pub dealer_uuid: String,
}

/// `transaction.invoice.paymentDealerOrder` (`{orderNumber, orderType, departmentUuid, dealerOrderUuid}`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentDealerOrderRef {
    pub order_number: String,
    pub order_type: Option<String>,
    pub department_uuid: String,
    pub dealer_order_uuid: String,
}

/// `transaction.invoice.paymentCustomer` (`{customerUuid}` only).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentCustomerRef {
    pub customer_uuid: String,
}

/// `transaction.tenderData`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TenderData {
    pub id: i64,
    pub data: Option<String>,
    pub hash: Option<String>,
    pub tender_sub_type: TenderSubType,
}

/// `transaction.tenderData.tenderSubType`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TenderSubType {
    pub id: i64,
    pub sub_tender_name: String,
    pub tender_type: TenderTypeInfo,
    pub valid: bool,
}

/// `transaction.tenderData.tenderSubType.tenderType`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TenderTypeInfo {
    pub id: i64,
    pub version: i64,
    pub tender_name: String,
    pub available_on_mobile: bool,
}

/// `transaction.transactionDetails[]`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TransactionDetail {
    pub id: i64,
    pub transaction_id: Option<i64>,
    pub transaction_incomplete_id: Option<i64>,
    #[serde(rename = "type")]
    pub detail_type: String,
    pub amount: Money,
    pub description: Option<String>,
}

/// `transaction.roOwner` and `transaction.cashier` (a dealer associate).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Associate {
    pub id: i64,
    pub uuid: String,
    pub user_uuid: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub user_name: Option<String>,
    pub cell_phone: Option<String>,
    pub text_number: Option<String>,
    pub is_text_number_verified: bool,
    pub email_address: Option<String>,
    pub nickname: Option<String>,
    #[serde(rename = "associateDmsID")]
    pub associate_dms_id: Option<String>,
    pub image_url: Option<String>,
    pub is_valid: bool,
    pub bio: Option<String>,
    pub user_invite_status: Option<String>,
    #[serde(rename = "defaultThreadOwnerUserUUID")]
    pub default_thread_owner_user_uuid: Option<String>,
    pub out_of_office: bool,
    /// Documented as a plain string, not a date-time; passed through as-is.
    pub out_of_office_start_date: Option<String>,
    pub sso_feature_enabled: bool,
    pub is_dealer_mapped_to_sso_partner: bool,
    pub is_sso_partner_mapped: bool,
    pub department: AssociateDepartment,
    pub role: AssociateRole,
}

/// `transaction.roOwner.department` / `transaction.cashier.department`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssociateDepartment {
    pub id: i64,
    pub name: String,
    pub uuid: String,
    pub calendar_uuid: Option<String>,
    pub broker_number: Option<String>,
    pub communication_group: Option<String>,
    pub dealer: DepartmentDealer,
}

/// `transaction.roOwner.department.dealer` (`{id, name, uuid, isValid}`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DepartmentDealer {
    pub id: i64,
    pub name: String,
    pub uuid: String,
    pub is_valid: bool,
}

/// `transaction.roOwner.role` / `transaction.cashier.role`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssociateRole {
    pub role_name: String,
    pub role_acronym: Option<String>,
}

/// `paymentAttempts[].nextAction`; only the member matching `actionType` is normally non-null.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NextAction {
    pub action_type: NextActionType,
    pub redirect_to_url_action: Option<RedirectUrlAction>,
    pub use_stripe_sdk_action: Option<UseStripeSdkAction>,
    pub cardinal_sdk_action: Option<CardinalSdkAction>,
    pub redirect_to_affirm_url_action: Option<RedirectUrlAction>,
    pub use_sunbit_sdk_action: Option<UseSunbitSdkAction>,
}

/// `nextAction.redirectToUrlAction` and `nextAction.redirectToAffirmUrlAction` (`{redirectUrl}`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RedirectUrlAction {
    pub redirect_url: String,
}

/// `nextAction.useStripeSdkAction`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UseStripeSdkAction {
    pub payment_intent_id: String,
}

/// `nextAction.cardinalSdkAction`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CardinalSdkAction {
    pub jwt_token: String,
    pub session_id: String,
}

/// `nextAction.useSunbitSdkAction`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UseSunbitSdkAction {
    pub jwt_token: String,
}
