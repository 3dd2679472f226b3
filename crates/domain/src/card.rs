//! Card data. The full card number and CVV exist only in these types, whose Debug and
//! Display never show them; they are never serialised, stored or logged. What we keep is
//! the brand, the last four digits and a keyed hash (see `TenderData`).

use crate::fees::CardBrand;
use serde::{de, Deserialize, Deserializer};
use std::fmt;

/// A Luhn-valid primary account number, 12–19 digits.
#[derive(Clone, PartialEq, Eq)]
pub struct CardNumber(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CardError {
    #[error("must be 12 to 19 digits")]
    Length,
    #[error("is not a valid card number")]
    Luhn,
    #[error("must be 3 or 4 digits")]
    Cvv,
    #[error("must be a month 1-12 and a four-digit year")]
    Expiry,
}

impl CardNumber {
    /// Accepts digits with optional spaces or dashes between them.
    pub fn parse(s: &str) -> Result<CardNumber, CardError> {
        let digits: String = s.chars().filter(|c| *c != ' ' && *c != '-').collect();
        if !(12..=19).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CardError::Length);
        }
        if !luhn(&digits) {
            return Err(CardError::Luhn);
        }
        Ok(CardNumber(digits))
    }

    /// The digits, for the processor call and the keyed hash only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn last4(&self) -> &str {
        &self.0[self.0.len() - 4..]
    }

    pub fn bin(&self) -> &str {
        &self.0[..6]
    }

    /// Brand from the issuer identification number.
    pub fn brand(&self) -> Option<CardBrand> {
        let d = &self.0;
        let n2: u32 = d[..2].parse().unwrap_or(0);
        let n4: u32 = d[..4].parse().unwrap_or(0);
        let n6: u32 = d[..6].parse().unwrap_or(0);
        if d.starts_with('4') {
            Some(CardBrand::Visa)
        } else if (51..=55).contains(&n2) || (222_100..=272_099).contains(&n6) {
            Some(CardBrand::Mastercard)
        } else if n2 == 34 || n2 == 37 {
            Some(CardBrand::Amex)
        } else if n4 == 6011 || n2 == 65 || (644..=649).contains(&(n4 / 10)) {
            Some(CardBrand::Discover)
        } else {
            None
        }
    }

    pub fn masked(&self) -> String {
        format!(
            "{}******{}",
            &self.0[..6.min(self.0.len() - 4)],
            self.last4()
        )
    }
}

fn luhn(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = (b - b'0') as u32;
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 {
                    x - 9
                } else {
                    x
                }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

impl fmt::Debug for CardNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CardNumber(****{})", self.last4())
    }
}

impl fmt::Display for CardNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "****{}", self.last4())
    }
}

impl<'de> Deserialize<'de> for CardNumber {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<CardNumber, D::Error> {
        // Never let serde describe the input: its messages would echo the number.
        let s = String::deserialize(d)
            .map_err(|_| de::Error::custom("card number must be a string of digits"))?;
        CardNumber::parse(&s).map_err(|e| de::Error::custom(format!("card number {e}")))
    }
}

impl serde::Serialize for CardNumber {
    /// Only ever serialised towards a processor (the HTTP sandbox); never stored.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// A card verification value.
#[derive(Clone, PartialEq, Eq)]
pub struct Cvv(String);

impl Cvv {
    pub fn parse(s: &str) -> Result<Cvv, CardError> {
        let s = s.trim();
        if (3..=4).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Cvv(s.to_string()))
        } else {
            Err(CardError::Cvv)
        }
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Cvv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Cvv(***)")
    }
}

impl<'de> Deserialize<'de> for Cvv {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Cvv, D::Error> {
        let s = String::deserialize(d)
            .map_err(|_| de::Error::custom("cvv must be a string of 3 or 4 digits"))?;
        Cvv::parse(&s).map_err(|e| de::Error::custom(format!("cvv {e}")))
    }
}

impl serde::Serialize for Cvv {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_masks() {
        let c = CardNumber::parse("4242 4242 4242 4242").unwrap();
        assert_eq!(c.last4(), "4242");
        assert_eq!(c.brand(), Some(CardBrand::Visa));
        assert_eq!(format!("{c:?}"), "CardNumber(****4242)");
        assert_eq!(format!("{c}"), "****4242");
        assert!(!format!("{c:?} {c}").contains("42424242"));
        assert_eq!(CardNumber::parse("4242424242424241"), Err(CardError::Luhn));
        assert_eq!(CardNumber::parse("42"), Err(CardError::Length));
        assert_eq!(
            CardNumber::parse("5555555555554444").unwrap().brand(),
            Some(CardBrand::Mastercard)
        );
        assert_eq!(
            CardNumber::parse("378282246310005").unwrap().brand(),
            Some(CardBrand::Amex)
        );
        assert_eq!(
            CardNumber::parse("6011111111111117").unwrap().brand(),
            Some(CardBrand::Discover)
        );
        assert_eq!(format!("{:?}", Cvv::parse("123").unwrap()), "Cvv(***)");
    }

    #[test]
    fn deserialise_errors_never_echo() {
        let e = serde_json::from_str::<CardNumber>("\"4242424242424241\"")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("4242"), "{e}");
        let e = serde_json::from_str::<CardNumber>("4242424242424242")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("4242"), "{e}");
    }
}

/// Property tests: hostile input never panics, Luhn-valid numbers of 12–19 digits are
/// accepted, any single-digit change is caught, and the full number never shows.
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

    /// The Luhn check digit that completes `body`.
    fn check_digit(body: &str) -> char {
        for d in b'0'..=b'9' {
            let mut s = body.to_string();
            s.push(d as char);
            if luhn(&s) {
                return d as char;
            }
        }
        unreachable!("one of ten digits completes any body")
    }

    /// Luhn-valid digit strings of 12 to 19 digits.
    fn valid_number() -> impl Strategy<Value = String> {
        "[0-9]{11,18}".prop_map(|body| {
            let c = check_digit(&body);
            format!("{body}{c}")
        })
    }

    fn never_shows(c: &CardNumber, digits: &str) -> Result<(), TestCaseError> {
        let shown = [
            format!("{c:?}"),
            format!("{c}"),
            format!("{c:#?}"),
            c.masked(),
        ];
        for s in &shown {
            prop_assert!(!s.contains(digits), "{s} shows the card number");
            prop_assert!(
                s.ends_with(c.last4()) || s.ends_with(&format!("{})", c.last4())),
                "{s}"
            );
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn arbitrary_strings_never_panic(s in any::<String>()) {
            if let Ok(c) = CardNumber::parse(&s) {
                let d = c.expose().to_string();
                prop_assert!((12..=19).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()));
                prop_assert!(luhn(&d));
                let _ = (c.brand(), c.bin(), c.last4());
                never_shows(&c, &d)?;
            }
            let _ = Cvv::parse(&s);
            // Deserialising never echoes the input.
            let json = serde_json::to_string(&s).unwrap();
            if let Err(e) = serde_json::from_str::<CardNumber>(&json) {
                let e = e.to_string();
                let digits: String = s.chars().filter(char::is_ascii_digit).collect();
                prop_assert!(digits.len() < 4 || !e.contains(&digits), "{e}");
            }
            if let Err(e) = serde_json::from_str::<Cvv>(&json) {
                prop_assert!(s.trim().len() < 3 || !e.to_string().contains(s.trim()), "{e}");
            }
        }

        #[test]
        fn digit_like_strings_never_panic(s in "[0-9 \\-]{0,30}") {
            if let Ok(c) = CardNumber::parse(&s) {
                never_shows(&c, c.expose())?;
                let _ = c.brand();
            }
        }

        #[test]
        fn luhn_valid_numbers_are_accepted(n in valid_number(), sep in prop_oneof![Just(""), Just(" "), Just("-")]) {
            let c = CardNumber::parse(&n).unwrap();
            prop_assert_eq!(c.expose(), n.as_str());
            prop_assert_eq!(c.last4(), &n[n.len() - 4..]);
            never_shows(&c, &n)?;
            // Grouped in fours with spaces or dashes: the same number.
            let grouped: Vec<String> = n.as_bytes().chunks(4).map(|g| String::from_utf8(g.to_vec()).unwrap()).collect();
            let regrouped = CardNumber::parse(&grouped.join(sep)).unwrap();
            prop_assert_eq!(regrouped.expose(), n.as_str());
            // Through JSON as the API receives it.
            let c: CardNumber = serde_json::from_str(&format!("\"{n}\"")).unwrap();
            prop_assert_eq!(c.expose(), n.as_str());
        }

        #[test]
        fn any_single_digit_change_is_rejected(n in valid_number(), pos in any::<prop::sample::Index>(), delta in 1u8..=9) {
            let mut b = n.clone().into_bytes();
            let i = pos.index(b.len());
            b[i] = b'0' + (b[i] - b'0' + delta) % 10;
            let changed = String::from_utf8(b).unwrap();
            prop_assert_ne!(&changed, &n);
            prop_assert_eq!(CardNumber::parse(&changed), Err(CardError::Luhn), "{} → {}", n, changed);
            let e = serde_json::from_str::<CardNumber>(&format!("\"{changed}\"")).unwrap_err().to_string();
            prop_assert!(!e.contains(&changed[changed.len() - 4..]) || e.contains("line"), "{e}");
            prop_assert!(!e.contains(&changed), "{e}");
        }

        #[test]
        fn wrong_lengths_are_rejected(body in "[0-9]{0,10}|[0-9]{19,40}") {
            let n = format!("{body}{}", check_digit(&body));
            prop_assert_eq!(CardNumber::parse(&n), Err(CardError::Length));
        }
    }
}
