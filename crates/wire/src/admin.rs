//! The operator's admin API (`/payment/admin/v1/…`): partners, grants, tokens, settlement.

use domain::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PartnerView {
    pub uuid: String,
    pub username: String,
    pub disabled: bool,
    pub grants: Vec<GrantView>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GrantView {
    pub dealer_uuid: String,
    /// Absent: the grant covers every department of the dealer.
    pub department_uuid: Option<String>,
    pub scope: String,
}

/// A partner with the secret it authenticates with; the secret is shown only here, once.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PartnerCredentials {
    pub uuid: String,
    pub username: String,
    pub secret: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewPartner {
    /// 3–64 letters, digits, '.', '_' or '-'.
    pub username: String,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenRequest {
    /// `dealer` or `department`.
    pub kind: String,
    /// The dealer's or department's uuid.
    pub uuid: String,
    pub scopes: Vec<String>,
    /// Lifetime in seconds (60 – 2592000, default 3600).
    pub ttl_seconds: Option<i64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenResponse {
    pub token: String,
    pub expires_at: Timestamp,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SettlementRequest {
    /// Settle approved charges created before this instant (default: now).
    pub before: Option<Timestamp>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SettlementResult {
    pub settled: u64,
}
