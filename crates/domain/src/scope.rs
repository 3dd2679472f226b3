//! API scopes and how they imply one another.

/// Scopes a route can require. `payment.all` implies every payment scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    All,
    PrePayment,
    PayIsland,
    PaymentRequest,
    DealerData,
    Refund,
}

impl Scope {
    pub const EVERY: [Scope; 6] = [
        Scope::All,
        Scope::PrePayment,
        Scope::PayIsland,
        Scope::PaymentRequest,
        Scope::DealerData,
        Scope::Refund,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::All => "payment.all",
            Scope::PrePayment => "payment.prepayment",
            Scope::PayIsland => "payment.payisland",
            Scope::PaymentRequest => "payment.paymentrequest",
            Scope::DealerData => "payment.dealerdata",
            Scope::Refund => "payment.refund",
        }
    }

    pub fn parse(s: &str) -> Option<Scope> {
        Scope::EVERY.into_iter().find(|x| x.as_str() == s)
    }

    /// Whether holding `self` satisfies a route that requires `required`.
    pub fn satisfies(self, required: Scope) -> bool {
        self == Scope::All || self == required
    }
}

/// Where a route's scope is checked: the dealer named in the request, or the department in the path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeLevel {
    ServiceSubscriber,
    Department,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_implies_everything() {
        for s in Scope::EVERY {
            assert!(Scope::All.satisfies(s));
            assert_eq!(Scope::parse(s.as_str()), Some(s));
        }
        assert!(!Scope::PayIsland.satisfies(Scope::PrePayment));
        assert!(!Scope::PrePayment.satisfies(Scope::All));
    }
}
