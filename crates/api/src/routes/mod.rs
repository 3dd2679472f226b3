//! HTTP routes. Handlers are thin: parse, authenticate, call `core`, wrap the result.

pub mod admin;
pub mod checkout;
pub mod dealer_data;
pub mod ops;
pub mod payment_requests;
pub mod payments;
pub mod status;

/// Declares `{errors, warnings, <field>}` success envelopes for our own v1 routes.
macro_rules! v1_ok {
    ($name:ident, $field:ident: $ty:ty) => {
        #[derive(Debug, serde::Serialize, utoipa::ToSchema)]
        #[serde(rename_all = "camelCase")]
        pub struct $name {
            pub errors: Vec<wire::V1Error>,
            pub warnings: Vec<wire::V1Warning>,
            pub $field: $ty,
        }
        impl $name {
            pub fn new($field: $ty) -> Self {
                $name {
                    errors: vec![],
                    warnings: vec![],
                    $field,
                }
            }
        }
    };
}
pub(crate) use v1_ok;
