//! Small shapes and enums shared by several responses.

use domain::{Money, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The lifecycles are the domain's: stored, computed and sent with one spelling.
pub use domain::status::{
    AttemptStatus as PaymentAttemptStatus, TransactionStatus, TransactionType,
};

/// Defines a string enum whose JSON spellings are given per variant, with `as_str`/`parse`.
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $wire:tt),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $wire)] $variant,)+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The exact JSON spelling.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $wire,)+
                }
            }

            /// Inverse of [`Self::as_str`]; exact, case-sensitive match.
            pub fn parse(s: &str) -> Option<Self> {
                match s {
                    $($wire => Some($name::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

wire_enum! {
    /// `transaction.deviceType` (documented `"MANUAL"`, the only spelling the seed shows).
    pub enum DeviceType {
        Manual = "MANUAL",
    }
}

wire_enum! {
    /// `paymentAttempts[].paymentMode` (documented `"ONLINE"`, the only spelling the seed shows).
    pub enum PaymentMode {
        Online = "ONLINE",
    }
}

wire_enum! {
    /// `paymentAttempts[].nextAction.actionType` (documented `"REDIRECT_TO_URL"`).
    pub enum NextActionType {
        RedirectToUrl = "REDIRECT_TO_URL",
        CardinalSdk = "CARDINAL_SDK",
        UseStripeSdk = "USE_STRIPE_SDK",
        RedirectToAffirmUrl = "REDIRECT_TO_AFFIRM_URL",
        UseSunbitSdk = "USE_SUNBIT_SDK",
    }
}

/// `paymentUser` everywhere (invoice, paymentDealerOrder(DTO), payment attempt, transaction).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentUser {
    pub id: i64,
    #[serde(rename = "dealerAssociateUUID")]
    pub dealer_associate_uuid: Option<String>,
    #[serde(rename = "userUUID")]
    pub user_uuid: Option<String>,
    #[serde(rename = "dealerDepartmentUUID")]
    pub dealer_department_uuid: Option<String>,
}

/// Full `paymentCustomer` (payment attempt, transaction, paymentDealerOrder(DTO)).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentCustomer {
    pub customer_uuid: String,
    pub first_name: Option<String>,
    pub middle_name: Option<String>,
    pub last_name: Option<String>,
    pub company: Option<String>,
}

/// Full `paymentDealer` `{dealerUuid, name}` (paymentDealerOrder(DTO), transaction).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentDealer {
    pub dealer_uuid: String,
    pub name: Option<String>,
}

/// Full order shape: `invoice.paymentDealerOrderDTO` (v1) and `paymentDealerOrder` (attempt, transaction).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentDealerOrder {
    pub order_number: String,
    pub order_type: Option<String>,
    pub order_date: Option<Timestamp>,
    pub payment_dealer: PaymentDealer,
    pub payment_customer: PaymentCustomer,
    pub payment_user: Option<PaymentUser>,
    #[serde(rename = "signatureRequestId")]
    pub signature_request_id: Option<i64>,
    pub department_uuid: String,
    pub dealer_order_uuid: String,
    pub number_of_invoices: i64,
    #[serde(rename = "readyROData")]
    pub ready_ro_data: Option<String>,
    pub paid_amount: Money,
    pub amount: Money,
    pub dealer_order_sync_date: Option<Timestamp>,
    pub paid_in_kaarma: bool,
    pub suspicious: bool,
    pub paid: bool,
    pub payment_request_sent: bool,
    pub paid_online: bool,
}

/// Small `transactionType` object inside `invoice.transactions[]` and `parentTransaction`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TransactionTypeInfo {
    pub id: i64,
    pub short_code: String,
    pub description: Option<String>,
    pub deposit: i64,
    pub fee: i64,
}

/// Ledger-style transaction: `paymentRequest.invoice.transactions[]` and `transaction.parentTransaction`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TransactionSummary {
    pub id: i64,
    pub transaction_type: TransactionTypeInfo,
    pub description: Option<String>,
    pub trans_date: Timestamp,
    pub trans_amount: Money,
    pub account_balance: Money,
    pub trans_ref_num: Option<String>,
    pub details: Option<String>,
    pub category: Option<String>,
    pub source: Option<String>,
    pub is_reconciled: bool,
    pub is_settled: bool,
    pub reconciled_date: Option<Timestamp>,
    pub settled_date: Option<Timestamp>,
    pub device_id: Option<i64>,
    pub payment_gateway_trans_id: Option<String>,
    pub is_voided: bool,
    pub payment_provider: Option<String>,
    pub uuid: String,
}
