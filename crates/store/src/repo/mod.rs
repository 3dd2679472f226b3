pub mod attempts;
pub mod dealers;
pub mod idempotency;
pub mod invoices;
pub mod keys;
pub mod orders;
pub mod partners;
pub mod payment_requests;
