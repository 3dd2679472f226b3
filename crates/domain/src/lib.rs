//! Pure domain types and rules for dealerpay: money, instants, scopes, fees and the error
//! catalog. No I/O lives here.

pub mod card;
pub mod catalog;
pub mod fees;
pub mod money;
pub mod profiles;
pub mod scope;
pub mod status;
pub mod timestamp;

pub use money::Money;
pub use timestamp::Timestamp;
