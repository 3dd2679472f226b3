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
    ///
    /// "Round-trips" is checked in units of the double's own precision, not with a fixed
    /// tolerance: the number must be (within 2 ulps, for JSON parsers that are not correctly
    /// rounded) the double nearest to a whole number of cents. A fixed tolerance on
    /// `dollars × 100` accepted `5379815.30000001` as 5379815.30 and `1e-309` as 0.00.
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
        let cents = exact_hundredths(dollars).ok_or(MoneyError::TooPrecise)?;
        Money::from_cents(cents)
    }

    /// Cents as stored: any non-negative amount (a card total is the amount plus fees, so it
    /// may exceed what a request may ask for).
    pub fn from_stored(cents: i64) -> Result<Money, MoneyError> {
        if cents < 0 {
            Err(MoneyError::Negative)
        } else {
            Ok(Money(cents))
        }
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

    /// `self - other`, never below zero.
    pub fn saturating_sub(self, other: Money) -> Money {
        Money((self.0 - other.0).max(0))
    }

    /// `self × bps / 10_000`, rounded half up to the cent (fees are quoted in basis points).
    pub fn percent_bps(self, bps: i64) -> Money {
        Money((self.0 * bps + 5_000) / 10_000)
    }
}

/// `v × 100` as an integer when the finite, non-negative `v` has at most 2 decimals, i.e. is
/// (within 2 ulps, for JSON parsers that are not correctly rounded) the double nearest to a
/// whole number of hundredths; `None` otherwise. For amounts and 2-decimal percentages.
pub fn exact_hundredths(v: f64) -> Option<i64> {
    if !(0.0..=1e15).contains(&v) {
        return None;
    }
    let hundredths = (v * 100.0).round();
    // The double nearest to `hundredths / 100` (both operands exact, the division rounded once).
    let nearest = hundredths / 100.0;
    let ulp = f64::from_bits(nearest.to_bits() + 1) - nearest;
    ((v - nearest).abs() <= 2.0 * ulp).then_some(hundredths as i64)
}

impl std::ops::Add for Money {
    type Output = Money;
    fn add(self, other: Money) -> Money {
        Money(self.0 + other.0)
    }
}

impl std::iter::Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        iter.fold(Money::ZERO, |a, b| a + b)
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
        // Found by the property tests: a fixed tolerance rounded these instead of refusing.
        assert_eq!(
            Money::from_dollars(5379815.30000001),
            Err(MoneyError::TooPrecise)
        );
        assert_eq!(
            Money::from_dollars(1.0000000001),
            Err(MoneyError::TooPrecise)
        );
        assert_eq!(Money::from_dollars(7.3e-309), Err(MoneyError::TooPrecise));
        assert!(serde_json::from_str::<Money>("5379815.30000001").is_err());
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

/// Property tests: hostile input never panics, valid amounts round-trip to the cent, and
/// everything the wire contract refuses is refused.
#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    fn config() -> ProptestConfig {
        ProptestConfig {
            cases: 256,
            failure_persistence: None,
            ..ProptestConfig::default()
        }
    }

    /// Whatever parsed is a legal amount that the wire writes back to the same cents.
    fn check_accepted(m: Money) -> Result<(), TestCaseError> {
        prop_assert!((0..=MAX_CENTS).contains(&m.cents()), "{m:?}");
        let back: Money = serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
        prop_assert_eq!(back, m);
        Ok(())
    }

    /// A decimal string of `cents` with exactly two decimals ("12.05").
    fn two_decimals(cents: i64) -> String {
        format!("{}.{:02}", cents / 100, cents % 100)
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn arbitrary_strings_never_panic(s in any::<String>()) {
            if let Ok(m) = serde_json::from_str::<Money>(&s) {
                check_accepted(m)?;
            }
        }

        #[test]
        fn number_like_strings_never_panic(s in "-?[0-9]{0,20}(\\.[0-9]{0,20})?([eE][-+]?[0-9]{1,4})?") {
            if let Ok(m) = serde_json::from_str::<Money>(&s) {
                check_accepted(m)?;
            }
        }

        #[test]
        fn arbitrary_f64_never_panics(v in any::<f64>()) {
            match Money::from_dollars(v) {
                Ok(m) => {
                    check_accepted(m)?;
                    // Accepted only when the number is (within 2 ulps) the double nearest to
                    // a whole number of cents.
                    let nearest = m.cents() as f64 / 100.0;
                    let ulp = f64::from_bits(nearest.to_bits() + 1) - nearest;
                    prop_assert!((v - nearest).abs() <= 2.0 * ulp, "{} accepted as {:?}", v, m);
                }
                Err(MoneyError::NotFinite) => prop_assert!(!v.is_finite()),
                Err(MoneyError::Negative) => prop_assert!(v < 0.0),
                Err(MoneyError::TooLarge) => prop_assert!(v > 10_000_000.0),
                Err(MoneyError::TooPrecise) => {}
            }
        }

        #[test]
        fn arbitrary_json_numbers_never_panic(i in any::<i64>(), u in any::<u64>(), f in any::<f64>()) {
            for text in [i.to_string(), u.to_string(), serde_json::to_string(&f).unwrap()] {
                if let Ok(m) = serde_json::from_str::<Money>(&text) {
                    check_accepted(m)?;
                }
            }
            prop_assert_eq!(serde_json::from_str::<Money>(&i.to_string()).is_ok(), (0..=10_000_000).contains(&i));
            prop_assert_eq!(serde_json::from_str::<Money>(&u.to_string()).is_ok(), u <= 10_000_000);
        }

        #[test]
        fn valid_amounts_round_trip_exactly(cents in 0..=MAX_CENTS) {
            let text = two_decimals(cents);
            let m: Money = serde_json::from_str(&text).unwrap();
            prop_assert_eq!(m.cents(), cents, "{}", text);
            prop_assert_eq!(Money::from_dollars(cents as f64 / 100.0).unwrap().cents(), cents);
            prop_assert_eq!(Money::from_cents(cents).unwrap().cents(), cents);
            prop_assert_eq!(m.to_string(), text);
            // The wire form (shortest float) parses back to the same cents.
            let wire = serde_json::to_string(&m).unwrap();
            prop_assert_eq!(serde_json::from_str::<Money>(&wire).unwrap(), m, "{}", wire);
            // One decimal and no decimals are the same amounts.
            if cents % 10 == 0 {
                let one = format!("{}.{}", cents / 100, (cents % 100) / 10);
                prop_assert_eq!(serde_json::from_str::<Money>(&one).unwrap().cents(), cents);
            }
            if cents % 100 == 0 {
                prop_assert_eq!(serde_json::from_str::<Money>(&(cents / 100).to_string()).unwrap().cents(), cents);
            }
        }

        /// A third (or later) decimal that is not zero is refused, never rounded. At most 15
        /// significant digits, so the double still tells the decimal apart from any cent amount.
        #[test]
        fn more_than_two_decimals_are_refused(cents in 0..=MAX_CENTS - 1, tail in "[0-9]{0,4}[1-9]") {
            let text = format!("{}{}", two_decimals(cents), tail);
            let r = serde_json::from_str::<Money>(&text);
            prop_assert!(r.is_err(), "{} parsed as {:?}", text, r);
            let v: f64 = text.parse().unwrap();
            prop_assert_eq!(Money::from_dollars(v), Err(MoneyError::TooPrecise), "{}", text);
        }

        #[test]
        fn small_excess_decimals_are_refused(cents in 0..=MAX_CENTS - 1, zeros in 1usize..=5, digit in 1u32..=9) {
            // 12.34 followed by 1..=5 zeros and one more digit: 12.340001 is not 12.34.
            let int_digits = (cents / 100).to_string().len();
            // At most 15 significant digits: the integer part, 2 decimals, the zeros and the digit.
            prop_assume!(int_digits + 2 + zeros < 15);
            let text = format!("{}{}{}", two_decimals(cents), "0".repeat(zeros), digit);
            let v: f64 = text.parse().unwrap();
            prop_assert_eq!(Money::from_dollars(v), Err(MoneyError::TooPrecise), "{}", text);
            prop_assert!(serde_json::from_str::<Money>(&text).is_err(), "{}", text);
        }

        #[test]
        fn percentages_take_two_decimals(bps in 0i64..=10_000, zeros in 0usize..=8, digit in 1u32..=9) {
            let text = format!("{}.{:02}", bps / 100, bps % 100);
            prop_assert_eq!(exact_hundredths(text.parse().unwrap()), Some(bps), "{}", text);
            let longer = format!("{text}{}{digit}", "0".repeat(zeros));
            prop_assert_eq!(exact_hundredths(longer.parse().unwrap()), None, "{}", longer);
        }

        #[test]
        fn negative_amounts_are_refused(cents in 1..=i64::MAX / 1000) {
            let text = format!("-{}", two_decimals(cents));
            prop_assert!(serde_json::from_str::<Money>(&text).is_err(), "{}", text);
            prop_assert_eq!(Money::from_dollars(-(cents as f64) / 100.0), Err(MoneyError::Negative));
            prop_assert_eq!(Money::from_cents(-cents), Err(MoneyError::Negative));
            if cents % 100 == 0 {
                let whole = format!("-{}", cents / 100);
                prop_assert!(serde_json::from_str::<Money>(&whole).is_err(), "{}", whole);
            }
        }

        #[test]
        fn too_large_amounts_are_refused(cents in MAX_CENTS + 1..=i64::MAX / 1000) {
            let text = two_decimals(cents);
            prop_assert!(serde_json::from_str::<Money>(&text).is_err(), "{}", text);
            prop_assert_eq!(Money::from_dollars(cents as f64 / 100.0), Err(MoneyError::TooLarge));
            prop_assert_eq!(Money::from_cents(cents), Err(MoneyError::TooLarge));
            prop_assert!(serde_json::from_str::<Money>(&(cents / 100 + 1).to_string()).is_err());
        }

        #[test]
        fn non_finite_amounts_are_refused(v in prop_oneof![Just(f64::NAN), Just(f64::INFINITY), Just(f64::NEG_INFINITY), Just(-f64::NAN)],
                                          exp in 309u32..100_000) {
            prop_assert_eq!(Money::from_dollars(v), Err(MoneyError::NotFinite));
            let huge = format!("1e{exp}");
            prop_assert!(serde_json::from_str::<Money>(&huge).is_err(), "{}", huge);
            prop_assert!(serde_json::from_str::<Money>("NaN").is_err());
            prop_assert!(serde_json::from_str::<Money>("Infinity").is_err());
        }
    }
}
