//! Business rules behind the routes. Handlers parse and authenticate; these functions
//! validate, authorize against the stored data, and write in one transaction.

pub mod attempt_views;
pub mod checkout;
pub mod dealer_data;
pub mod partners;
pub mod payment_requests;
pub mod payments;
pub mod reconcile;
pub mod resolver;
pub mod reversals;
pub mod status;
pub mod views;

/// Basis points from a wire percentage with at most 2 decimals (3.5 → 350).
pub fn percent_to_bps(field: &str, pct: f64, max_pct: f64) -> crate::error::ApiResult<i64> {
    if !pct.is_finite() || pct < 0.0 || pct > max_pct {
        return Err(crate::error::ApiError::invalid(
            field,
            format!("must be a percentage between 0 and {max_pct}"),
        ));
    }
    // A fixed tolerance on `pct × 100` accepted 3.500000001 as 3.5.
    domain::money::exact_hundredths(pct)
        .ok_or_else(|| crate::error::ApiError::invalid(field, "must have at most 2 decimal places"))
}

pub fn bps_to_percent(bps: i64) -> f64 {
    bps as f64 / 100.0
}
