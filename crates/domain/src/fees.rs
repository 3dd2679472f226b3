//! Card fees a dealer may pass on: surcharge (credit only, capped by the dealer's rate and
//! the card network's cap), dual pricing (a card price above the cash price) and the sales
//! tax due on the fee itself. Invoice amounts from the DMS already include tax on goods and
//! labour, so sales tax here applies only to the fee we add.

use crate::money::Money;

/// Card-network surcharge caps in basis points (Visa 3%, Mastercard 4%).
pub fn network_cap_bps(brand: Option<CardBrand>) -> i64 {
    match brand {
        Some(CardBrand::Visa) => 300,
        Some(CardBrand::Mastercard) => 400,
        Some(CardBrand::Amex | CardBrand::Discover) => 300,
        // Brand not known yet (payment request, pay page before typing): the highest cap
        // any network allows, so the disclosure is never lower than what may be charged.
        None => 400,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardBrand {
    Visa,
    Mastercard,
    Amex,
    Discover,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TenderType {
    Credit,
    Debit,
}

impl CardBrand {
    /// The wire and storage spelling (`cardType`, `tenderData.cardType`).
    pub fn as_str(self) -> &'static str {
        match self {
            CardBrand::Visa => "VISA",
            CardBrand::Mastercard => "MASTERCARD",
            CardBrand::Amex => "AMEX",
            CardBrand::Discover => "DISCOVER",
        }
    }

    /// Lenient: any case, surrounding blanks, and the usual aliases.
    pub fn parse(s: &str) -> Option<CardBrand> {
        match s.trim().to_ascii_uppercase().as_str() {
            "VISA" => Some(CardBrand::Visa),
            "MASTERCARD" | "MC" => Some(CardBrand::Mastercard),
            "AMEX" | "AMERICAN_EXPRESS" => Some(CardBrand::Amex),
            "DISCOVER" => Some(CardBrand::Discover),
            _ => None,
        }
    }
}

impl std::str::FromStr for CardBrand {
    type Err = ();
    fn from_str(s: &str) -> Result<CardBrand, ()> {
        CardBrand::parse(s).ok_or(())
    }
}

impl TenderType {
    /// The wire and storage spelling (`tenderType`).
    pub fn as_str(self) -> &'static str {
        match self {
            TenderType::Credit => "CREDIT",
            TenderType::Debit => "DEBIT",
        }
    }

    /// Lenient: any case and surrounding blanks.
    pub fn parse(s: &str) -> Option<TenderType> {
        match s.trim().to_ascii_uppercase().as_str() {
            "CREDIT" => Some(TenderType::Credit),
            "DEBIT" => Some(TenderType::Debit),
            _ => None,
        }
    }
}

impl std::str::FromStr for TenderType {
    type Err = ();
    fn from_str(s: &str) -> Result<TenderType, ()> {
        TenderType::parse(s).ok_or(())
    }
}

/// The fee part of a dealer's settings. Rates are basis points (1% = 100).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FeeSettings {
    pub surcharge_enabled: bool,
    pub surcharge_bps: i64,
    pub dual_pricing_enabled: bool,
    pub dual_pricing_bps: i64,
    pub sales_tax_enabled: bool,
    pub sales_tax_bps: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeeQuote {
    pub base: Money,
    /// Basis points actually applied as surcharge (0 for debit or when disabled).
    pub surcharge_bps: i64,
    pub surcharge: Money,
    /// Card price minus cash price under dual pricing.
    pub dual_pricing_fee: Money,
    pub sales_tax: Money,
    pub total: Money,
}

impl FeeSettings {
    /// The surcharge rate that would apply to a credit card of `brand`.
    pub fn max_surcharge_bps(&self, brand: Option<CardBrand>) -> i64 {
        if !self.surcharge_enabled {
            return 0;
        }
        self.surcharge_bps.clamp(0, network_cap_bps(brand))
    }

    pub fn quote(&self, base: Money, tender: TenderType, brand: Option<CardBrand>) -> FeeQuote {
        let surcharge_bps = match tender {
            TenderType::Credit => self.max_surcharge_bps(brand),
            TenderType::Debit => 0,
        };
        let surcharge = base.percent_bps(surcharge_bps);
        let dual_pricing_fee = if self.dual_pricing_enabled {
            base.percent_bps(self.dual_pricing_bps.max(0))
        } else {
            Money::ZERO
        };
        let fee = surcharge + dual_pricing_fee;
        let sales_tax = if self.sales_tax_enabled {
            fee.percent_bps(self.sales_tax_bps.max(0))
        } else {
            Money::ZERO
        };
        // Fees may take a card total past the largest amount a request may name.
        let total = base + fee + sales_tax;
        FeeQuote {
            base,
            surcharge_bps,
            surcharge,
            dual_pricing_fee,
            sales_tax,
            total,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dollars(c: i64) -> Money {
        Money::from_cents(c).unwrap()
    }

    #[test]
    fn surcharge_capped_by_network_and_never_on_debit() {
        let s = FeeSettings {
            surcharge_enabled: true,
            surcharge_bps: 350,
            ..Default::default()
        };
        let q = s.quote(dollars(10_000), TenderType::Credit, Some(CardBrand::Visa));
        assert_eq!((q.surcharge_bps, q.surcharge.cents()), (300, 300));
        let q = s.quote(
            dollars(10_000),
            TenderType::Credit,
            Some(CardBrand::Mastercard),
        );
        assert_eq!(q.surcharge.cents(), 350);
        let q = s.quote(dollars(10_000), TenderType::Debit, Some(CardBrand::Visa));
        assert_eq!((q.surcharge.cents(), q.total.cents()), (0, 10_000));
    }

    #[test]
    fn sales_tax_applies_to_the_fee() {
        let s = FeeSettings {
            surcharge_enabled: true,
            surcharge_bps: 300,
            sales_tax_enabled: true,
            sales_tax_bps: 1_000,
            ..Default::default()
        };
        let q = s.quote(dollars(10_000), TenderType::Credit, Some(CardBrand::Visa));
        assert_eq!(
            (q.surcharge.cents(), q.sales_tax.cents(), q.total.cents()),
            (300, 30, 10_330)
        );
    }

    #[test]
    fn dual_pricing_adds_card_price_difference() {
        let s = FeeSettings {
            dual_pricing_enabled: true,
            dual_pricing_bps: 399,
            ..Default::default()
        };
        let q = s.quote(dollars(20_000), TenderType::Debit, None);
        assert_eq!((q.dual_pricing_fee.cents(), q.total.cents()), (798, 20_798));
    }
}
