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
