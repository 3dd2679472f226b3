//! Error and warning envelopes of the three API families (v1 `kpayment`, v3 and checkout).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One entry of `errors[]` in v1 responses (e.g. "Get payment request" 200/4xx/5xx).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct V1Error {
    pub error_code: i64,
    pub error_title: String,
    pub error_message: String,
    pub error_description: String,
}

/// One entry of `warnings[]` in v1 responses (e.g. "Get payment request" 200/4xx/5xx).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct V1Warning {
    pub warning_code: i64,
    pub warning_title: String,
    pub warning_message: String,
    pub warning_description: String,
}

/// The top-level `error` object of v3 responses (e.g. "getPaymentStatus" 200/4xx/5xx).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct V3Error {
    pub error_code: String,
    pub error_description: String,
}

/// One entry of `warnings[]` in v3 responses (e.g. "getPaymentStatus" 200/4xx/5xx).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct V3Warning {
    pub warning_code: String,
    pub warning_description: String,
}

/// The `error` object of checkout-family error responses.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CheckoutError {
    pub code: i64,
    pub name: String,
    pub message: String,
}

/// Whole body of a checkout-family error response: `{ "error": { code, name, message } }`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CheckoutErrorEnvelope {
    pub error: CheckoutError,
}

/// Whole body of a v1 error response (400/401/500 of "Get payment request"): `errors` + `warnings`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct V1ErrorEnvelope {
    pub errors: Vec<V1Error>,
    pub warnings: Vec<V1Warning>,
}

/// Whole body of a v3 error response (400/401/422/500 of "getPaymentStatus"): `error` + `warnings`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct V3ErrorEnvelope {
    pub error: V3Error,
    pub warnings: Vec<V3Warning>,
}
