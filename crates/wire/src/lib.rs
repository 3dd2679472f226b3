//! Wire types (response DTOs) for dealerpay: structs that serialize exactly to the documented
//! JSON shapes of "Get payment request" (v1) and "getPaymentStatus" (v3), plus the error
//! envelopes of the v1, v3 and checkout families.
//!
//! Every documented field is always present in the JSON; absent values serialize as `null`.

pub mod admin;
pub mod checkout;
pub mod common;
pub mod dealer_data;
pub mod envelope;
mod object;
pub mod payment_request;
pub mod payment_status;
pub mod payments;

pub use admin::*;
pub use checkout::*;
pub use common::*;
pub use dealer_data::*;
pub use envelope::*;
pub use payment_request::*;
pub use payment_status::*;
pub use payments::*;
