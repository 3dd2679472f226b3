//! Money is integer cents inside and a JSON number of dollars (at most 2 decimals) on the wire.

use serde::{de, Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// The largest amount accepted anywhere: $10,000,000.00.
pub const MAX_CENTS: i64 = 1_000_000_000;

/// A non-negative amount of US dollars, held as integer cents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money(i64);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("must be a finite number")]
    NotFinite,
    #[error("must not be negative")]
    Negative,
    #[error("must have at most 2 decimal places")]
    TooPrecise,
    #[error("must not exceed 10000000.00")]
    TooLarge,
}

impl Money {
    pub const ZERO: Money = Money(0);

    /// Cents from storage or arithmetic; rejects what the wire would reject.
    pub fn from_cents(cents: i64) -> Result<Money, MoneyError> {
        if cents < 0 {
            Err(MoneyError::Negative)
        } else if cents > MAX_CENTS {
            Err(MoneyError::TooLarge)
        } else {
            Ok(Money(cents))
        }
    }

    /// Parses a wire amount in dollars. Binary floating point is only a transport here:
    /// every value with at most 2 decimals up to the cap round-trips exactly through f64,
    /// and anything with a third significant decimal is refused rather than rounded.
    pub fn from_dollars(dollars: f64) -> Result<Money, MoneyError> {
        if !dollars.is_finite() {
            return Err(MoneyError::NotFinite);
        }
        if dollars < 0.0 {
            return Err(MoneyError::Negative);
        }
        if dollars > MAX_CENTS as f64 / 100.0 {
            return Err(MoneyError::TooLarge);
        }
        let scaled = dollars * 100.0;
        let cents = scaled.round();
        if (scaled - cents).abs() > 1e-6 {
            return Err(MoneyError::TooPrecise);
        }
        Money::from_cents(cents as i64)
    }

    pub fn cents(self) -> i64 {
        self.0
    }

    pub fn to_dollars(self) -> f64 {
        self.0 as f64 / 100.0
    }

    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0.checked_add(other.0).map(Money)
    }

    pub fn saturating_sub(self, other: Money) -> Money {
        Money((self.0 - other.0).max(0))
    }

    /// `self × bps / 10_000`, rounded half up to the cent (fees are quoted in basis points).
    pub fn percent_bps(self, bps: i64) -> Money {
        Money((self.0 * bps + 5_000) / 10_000)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.to_dollars())
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Money, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = Money;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an amount in dollars as a JSON number with at most 2 decimals")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Money, E> {
                Money::from_dollars(v).map_err(|e| E::custom(format!("amount {e}")))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Money, E> {
                if v < 0 {
                    return Err(E::custom("amount must not be negative"));
                }
                self.visit_u64(v as u64)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Money, E> {
                let cents = v.checked_mul(100).filter(|c| *c <= MAX_CENTS as u64);
                cents
                    .map(|c| Money(c as i64))
                    .ok_or_else(|| E::custom("amount must not exceed 10000000.00"))
            }
        }
        d.deserialize_any(V)
    }
}

impl utoipa::PartialSchema for Money {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::Number)
            .minimum(Some(0.0))
            .maximum(Some(10_000_000.0))
            .multiple_of(Some(0.01))
            .description(Some("US dollars, at most 2 decimals"))
            .examples([serde_json::json!(125.5)])
            .into()
    }
}
impl utoipa::ToSchema for Money {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_exact_amounts() {
        assert_eq!(Money::from_dollars(0.1).unwrap().cents(), 10);
        assert_eq!(Money::from_dollars(19.99).unwrap().cents(), 1999);
        assert_eq!(
            Money::from_dollars(10_000_000.0).unwrap().cents(),
            MAX_CENTS
        );
        assert_eq!(Money::from_dollars(1234567.89).unwrap().cents(), 123456789);
    }

    #[test]
    fn refuses_bad_amounts() {
        assert_eq!(Money::from_dollars(1.005), Err(MoneyError::TooPrecise));
        assert_eq!(Money::from_dollars(0.001), Err(MoneyError::TooPrecise));
        assert_eq!(Money::from_dollars(-1.0), Err(MoneyError::Negative));
        assert_eq!(Money::from_dollars(f64::NAN), Err(MoneyError::NotFinite));
        assert_eq!(
            Money::from_dollars(10_000_000.01),
            Err(MoneyError::TooLarge)
        );
    }

    #[test]
    fn wire_round_trip() {
        let m: Money = serde_json::from_str("25.5").unwrap();
        assert_eq!(serde_json::to_string(&m).unwrap(), "25.5");
        let m: Money = serde_json::from_str("100").unwrap();
        assert_eq!(m.cents(), 10_000);
        assert!(serde_json::from_str::<Money>("\"10\"").is_err());
        assert!(serde_json::from_str::<Money>("-3").is_err());
        assert!(serde_json::from_str::<Money>("1e400").is_err());
    }

    #[test]
    fn basis_points_round_half_up() {
        assert_eq!(Money(10_000).percent_bps(300).cents(), 300);
        assert_eq!(Money(1_050).percent_bps(300).cents(), 32); // 31.5 → 32
        assert_eq!(Money(1).percent_bps(300).cents(), 0);
    }
}
