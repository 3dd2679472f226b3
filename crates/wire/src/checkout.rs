//! Checkout DTOs (`/payment/checkout/v1/…`): namespaces and API keys, access tokens, merchant
//! users and password resets, sessions, payment intents, capture.
//!
//! Two request shapes share a name with another family's: the access-token request (the admin
//! API has its own `TokenRequest`) is [`CheckoutTokenRequest`] here and is sent inline in the
//! OpenAPI document, and the session's customer reference is [`CheckoutCustomerRef`], the same
//! `CustomerRef` schema as the DMS sync's.

use crate::CardInput;
use domain::{Money, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

// ----- namespaces and API keys (operator) -----

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NamespaceCreate {
    /// 3–40 lowercase letters, digits and '-'.
    pub namespace: String,
    pub name: String,
    pub dealer_uuid: String,
    /// The department whose orders checkout payments are booked on.
    pub department_uuid: String,
    /// The associate recorded as the invoices' payment user.
    #[serde(rename = "dealerAssociateUUID")]
    pub dealer_associate_uuid: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NamespaceView {
    pub namespace: String,
    pub name: String,
    pub dealer_uuid: String,
    pub disabled: bool,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct ApiKeyCreate {
    pub label: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyCreated {
    pub id: String,
    /// Shown once; only its hash is stored.
    pub api_key: String,
    pub label: String,
}

// ----- access tokens -----

// The body of `…/namespaces/{namespace}/token` (no doc comment: the OpenAPI document inlines it).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CheckoutTokenRequest {
    pub api_key: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccessToken {
    pub access_token: String,
    pub token_type: String,
    pub expires_in: i64,
    pub namespace: String,
}

// ----- merchant users and password resets -----

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct UserCreate {
    pub email: String,
    /// At least 12 characters.
    pub password: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserView {
    pub id: String,
    pub email: String,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct Login {
    pub email: String,
    pub password: String,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct ResetRequest {
    pub email: String,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResetConfirm {
    pub token: String,
    pub new_password: String,
}

// ----- sessions -----

// `customer` of a session: the dealer customer who pays. No doc comment: the schema is the
// DMS sync's `CustomerRef`, shown once in the OpenAPI document.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = CustomerRef)]
pub struct CheckoutCustomerRef {
    pub customer_uuid: Option<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionCreate {
    /// The merchant's own reference, unique in the namespace.
    pub reference_id: Option<String>,
    pub amount: Option<Money>,
    /// Only USD.
    pub currency: Option<String>,
    #[serde(default, deserialize_with = "crate::object::optional_object")]
    pub customer: Option<CheckoutCustomerRef>,
    /// `automatic` (default) or `manual`.
    pub capture_method: Option<String>,
    /// Default SANDBOX.
    pub processor: Option<String>,
    /// Any of `card`, `pin_debit` (default `["card"]`).
    pub payment_methods: Option<Vec<String>>,
    /// 1800 – 86400 (default 86400).
    pub expires_in_seconds: Option<i64>,
    pub success_url: Option<String>,
    pub cancel_url: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionView {
    pub id: String,
    pub namespace: String,
    pub reference_id: String,
    pub status: String,
    pub amount: Money,
    pub currency: String,
    pub customer_uuid: Option<String>,
    pub capture_method: String,
    pub processor: String,
    pub payment_methods: Vec<String>,
    /// The hosted checkout page.
    pub url: String,
    pub success_url: Option<String>,
    pub cancel_url: Option<String>,
    pub amount_authorized: Money,
    pub amount_captured: Money,
    pub expires_at: Timestamp,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionList {
    pub data: Vec<SessionView>,
    pub has_more: bool,
    /// Pass as `startingAfter` for the next page.
    pub next_cursor: Option<String>,
}

// ----- payment intents -----

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IntentCreate {
    /// Must equal the session's amount.
    pub amount: Option<Money>,
    /// `card` (default) or `pin_debit`; must be one the session allows.
    pub payment_method: Option<String>,
    #[serde(default, deserialize_with = "crate::object::optional_object")]
    pub card: Option<CardInput>,
    /// A processor token instead of card details (sandbox: `tok_visa`, …).
    pub token: Option<String>,
    /// Required for `pin_debit`: the PIN pad's encrypted PIN block reference.
    pub pin_token: Option<String>,
    /// Where a 3-D Secure challenge returns the customer to.
    pub return_url: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IntentView {
    pub id: String,
    pub session_id: String,
    /// processing, requires_action, succeeded, failed or canceled.
    pub status: String,
    pub amount: Money,
    pub payment_method: String,
    /// The processor's reason when failed.
    pub failure_reason: Option<String>,
    /// For requires_action: the 3-D Secure challenge to send the customer to.
    pub next_action_url: Option<String>,
    /// The PaymentAttempt underneath (v1 routes show it in full).
    pub payment_attempt_uuid: String,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct CaptureRequest {
    /// Up to the authorized amount (default: all of it); the rest of the hold is released.
    pub amount: Option<Money>,
}
