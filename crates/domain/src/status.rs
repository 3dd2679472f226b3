//! The lifecycles of payments, in one place: every status is an enum stored and sent with
//! its documented spelling, and every move between statuses is checked here.
//!
//! The database enforces the same moves with conditional updates (`… WHERE status = $from`),
//! so of two processes racing to move a row exactly one wins; these tables say which moves
//! are legal at all, and the engine asks them before writing.

use crate::money::Money;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use utoipa::ToSchema;

/// A string enum whose spellings (storage and wire alike) are given per variant.
macro_rules! status_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $wire:tt),+ $(,)? }
    ) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
        $(#[$meta])*
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $wire)] $variant,)+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The exact spelling.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $wire,)+
                }
            }

            /// Inverse of [`Self::as_str`]; exact, case-sensitive.
            pub fn parse(s: &str) -> Option<Self> {
                match s {
                    $($wire => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl FromStr for $name {
            type Err = UnknownStatus;
            fn from_str(s: &str) -> Result<Self, UnknownStatus> {
                Self::parse(s).ok_or(UnknownStatus)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownStatus;

status_enum! {
    /// `paymentAttempts[].status` (seed 003; documented example `"Created"`).
    #[schema(as = PaymentAttemptStatus)]
    pub enum AttemptStatus {
        /// Made by prePayment; nothing sent to a processor yet.
        Created = "Created",
        /// At the processor: the outcome is not known yet.
        InProgress = "InProgress",
        /// Waiting for the customer (3-D Secure).
        RequiresAction = "RequiresAction",
        /// Authorized only; funds held until captured or released.
        RequiresCapture = "RequiresCapture",
        Succeeded = "Succeeded",
        Failed = "Failed",
        Cancelled = "Cancelled",
    }
}

impl AttemptStatus {
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            AttemptStatus::Succeeded | AttemptStatus::Failed | AttemptStatus::Cancelled
        )
    }

    /// Whether an operation may be outstanding at a processor (the attempt holds its order's
    /// one in-flight slot).
    pub fn is_in_flight(self) -> bool {
        matches!(
            self,
            AttemptStatus::InProgress
                | AttemptStatus::RequiresAction
                | AttemptStatus::RequiresCapture
        )
    }

    /// The moves an attempt may make.
    ///
    /// | from | to | when |
    /// |---|---|---|
    /// | Created | InProgress | confirm: sent to the processor |
    /// | Created | Cancelled | never confirmed before it expired |
    /// | InProgress | Succeeded, Failed | the processor's answer (or ours: abandoned) |
    /// | InProgress | RequiresAction | 3-D Secure challenge |
    /// | InProgress | RequiresCapture | authorized only |
    /// | InProgress | Cancelled | an authorization released |
    /// | RequiresAction | InProgress | complete, after the challenge |
    /// | RequiresAction | Succeeded, Failed | the resolver: challenge finished or abandoned |
    /// | RequiresCapture | InProgress | capture or release sent |
    pub fn can_move_to(self, to: AttemptStatus) -> bool {
        use AttemptStatus::*;
        matches!(
            (self, to),
            (Created, InProgress)
                | (Created, Cancelled)
                | (
                    InProgress,
                    Succeeded | Failed | RequiresAction | RequiresCapture | Cancelled
                )
                | (RequiresAction, InProgress | Succeeded | Failed)
                | (RequiresCapture, InProgress)
        )
    }
}

status_enum! {
    /// `paymentAttempts[].transactionType`, `transaction.transactionType` (documented `"CHARGE"`).
    pub enum TransactionType {
        Charge = "CHARGE",
        Refund = "REFUND",
        Void = "VOID",
    }
}

status_enum! {
    /// `transaction.status` / `transactionIncomplete.status` (documented `"APPROVED"`). A
    /// recorded outcome never changes.
    pub enum TransactionStatus {
        /// A Transaction: the money moved.
        Approved = "APPROVED",
        /// A TransactionIncomplete: the processor said no.
        Declined = "DECLINED",
        /// A TransactionIncomplete: the processor failed, or we abandoned the attempt.
        Error = "ERROR",
        /// Only on the wire: a processor holding a payment for manual review.
        Review = "REVIEW",
    }
}

status_enum! {
    /// A payment request: only the latest one per invoice is payable (expiry is computed
    /// from its ttl, not stored).
    pub enum PaymentRequestStatus {
        Active = "ACTIVE",
        /// Superseded by a newer request for the same invoice, or withdrawn.
        Obsolete = "OBSOLETE",
    }
}

impl PaymentRequestStatus {
    pub fn can_move_to(self, to: PaymentRequestStatus) -> bool {
        matches!(
            (self, to),
            (PaymentRequestStatus::Active, PaymentRequestStatus::Obsolete)
        )
    }
}

status_enum! {
    /// A repair order's status from the DMS.
    pub enum OrderStatus {
        Open = "OPEN",
        Closed = "CLOSED",
    }
}

status_enum! {
    /// A hosted checkout session.
    pub enum SessionStatus {
        Open = "open",
        /// A payment intent is at the processor.
        Processing = "processing",
        RequiresCapture = "requires_capture",
        Succeeded = "succeeded",
        Failed = "failed",
        Cancelled = "cancelled",
        Expired = "expired",
    }
}

impl SessionStatus {
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            SessionStatus::Succeeded
                | SessionStatus::Failed
                | SessionStatus::Cancelled
                | SessionStatus::Expired
        )
    }

    /// The session lifecycle.
    ///
    /// | from | event | to |
    /// |---|---|---|
    /// | open | pay | processing |
    /// | processing | approved (automatic / manual capture) | succeeded / requires_capture |
    /// | processing | declined | failed |
    /// | requires_capture | capture | succeeded |
    /// | open, requires_capture | cancel | cancelled |
    /// | open | expire (call or expiry job) | expired |
    pub fn can_move_to(self, to: SessionStatus) -> bool {
        use SessionStatus::*;
        matches!(
            (self, to),
            (Open, Processing | Cancelled | Expired)
                | (Processing, Succeeded | RequiresCapture | Failed)
                | (RequiresCapture, Succeeded | Cancelled)
        )
    }

    /// The session status an intent's payment leads to, if it moves the session.
    pub fn after_payment(self, payment: AttemptStatus) -> Option<SessionStatus> {
        use SessionStatus as S;
        let to = match (self, payment) {
            (S::Processing, AttemptStatus::RequiresCapture) => S::RequiresCapture,
            (S::Processing | S::RequiresCapture, AttemptStatus::Succeeded) => S::Succeeded,
            (S::Processing, AttemptStatus::Failed) => S::Failed,
            (S::RequiresCapture, AttemptStatus::Cancelled) => S::Cancelled,
            _ => return None,
        };
        self.can_move_to(to).then_some(to)
    }
}

status_enum! {
    /// A checkout payment intent, read from the attempt underneath it.
    pub enum IntentStatus {
        Processing = "processing",
        RequiresAction = "requires_action",
        RequiresCapture = "requires_capture",
        Succeeded = "succeeded",
        Failed = "failed",
        Canceled = "canceled",
    }
}

impl From<AttemptStatus> for IntentStatus {
    fn from(a: AttemptStatus) -> IntentStatus {
        match a {
            AttemptStatus::Created | AttemptStatus::InProgress => IntentStatus::Processing,
            AttemptStatus::RequiresAction => IntentStatus::RequiresAction,
            AttemptStatus::RequiresCapture => IntentStatus::RequiresCapture,
            AttemptStatus::Succeeded => IntentStatus::Succeeded,
            AttemptStatus::Failed => IntentStatus::Failed,
            AttemptStatus::Cancelled => IntentStatus::Canceled,
        }
    }
}

status_enum! {
    /// How a checkout session's payment is captured.
    pub enum CaptureMethod {
        Automatic = "automatic",
        Manual = "manual",
    }
}

status_enum! {
    /// How much of an invoice is paid, derived from its amounts (never stored).
    pub enum InvoicePaymentStatus {
        Unpaid = "UNPAID",
        PartiallyPaid = "PARTIALLY_PAID",
        Paid = "PAID",
        PartiallyRefunded = "PARTIALLY_REFUNDED",
        Refunded = "REFUNDED",
    }
}

impl InvoicePaymentStatus {
    /// From the invoice's amount and what was paid and refunded on it.
    pub fn of(amount: Money, paid: Money, refunded: Money) -> InvoicePaymentStatus {
        let net = paid.saturating_sub(refunded);
        if refunded > Money::ZERO {
            if net == Money::ZERO {
                InvoicePaymentStatus::Refunded
            } else {
                InvoicePaymentStatus::PartiallyRefunded
            }
        } else if paid == Money::ZERO {
            InvoicePaymentStatus::Unpaid
        } else if net >= amount {
            InvoicePaymentStatus::Paid
        } else {
            InvoicePaymentStatus::PartiallyPaid
        }
    }
}

status_enum! {
    /// How much of what was paid on an invoice went back (the payment request's
    /// `refundStatus`).
    pub enum RefundStatus {
        None = "NONE",
        Partial = "PARTIAL",
        Full = "FULL",
    }
}

impl RefundStatus {
    pub fn of(paid: Money, refunded: Money) -> RefundStatus {
        if refunded == Money::ZERO {
            RefundStatus::None
        } else if refunded >= paid {
            RefundStatus::Full
        } else {
            RefundStatus::Partial
        }
    }
}

status_enum! {
    /// A payment request as its documented shape shows it: the stored status, or what the
    /// invoice and the clock say about an active one.
    pub enum PaymentRequestState {
        Active = "ACTIVE",
        Paid = "PAID",
        Expired = "EXPIRED",
        Obsolete = "OBSOLETE",
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn derived_invoice_and_refund_statuses() {
        let m = |c| Money::from_cents(c).unwrap();
        use InvoicePaymentStatus as S;
        assert_eq!(S::of(m(100), m(0), m(0)), S::Unpaid);
        assert_eq!(S::of(m(100), m(40), m(0)), S::PartiallyPaid);
        assert_eq!(S::of(m(100), m(100), m(0)), S::Paid);
        assert_eq!(
            S::of(m(100), m(103), m(0)),
            S::Paid,
            "fees on top still pay it"
        );
        assert_eq!(S::of(m(100), m(100), m(10)), S::PartiallyRefunded);
        assert_eq!(S::of(m(100), m(100), m(100)), S::Refunded);
        assert_eq!(RefundStatus::of(m(100), m(0)), RefundStatus::None);
        assert_eq!(RefundStatus::of(m(100), m(1)), RefundStatus::Partial);
        assert_eq!(RefundStatus::of(m(100), m(100)), RefundStatus::Full);
        assert_eq!(S::PartiallyRefunded.as_str(), "PARTIALLY_REFUNDED");
    }
    use super::*;

    #[test]
    fn spellings_round_trip() {
        for s in AttemptStatus::ALL {
            assert_eq!(s.as_str().parse::<AttemptStatus>(), Ok(*s));
            assert_eq!(
                serde_json::to_string(s).unwrap(),
                format!("\"{}\"", s.as_str())
            );
        }
        for s in SessionStatus::ALL {
            assert_eq!(SessionStatus::parse(s.as_str()), Some(*s));
        }
        assert_eq!(TransactionType::Charge.as_str(), "CHARGE");
        assert_eq!(TransactionStatus::Approved.as_str(), "APPROVED");
        assert!("created".parse::<AttemptStatus>().is_err());
    }

    #[test]
    fn terminal_attempts_never_move() {
        for from in AttemptStatus::ALL.iter().filter(|s| s.is_terminal()) {
            for to in AttemptStatus::ALL {
                assert!(!from.can_move_to(*to), "{from} -> {to}");
            }
        }
    }

    #[test]
    fn attempt_moves() {
        use AttemptStatus::*;
        assert!(Created.can_move_to(InProgress));
        assert!(
            !Created.can_move_to(Succeeded),
            "no outcome without the processor"
        );
        assert!(InProgress.can_move_to(RequiresAction));
        assert!(RequiresAction.can_move_to(InProgress));
        assert!(RequiresCapture.can_move_to(InProgress));
        assert!(
            !RequiresCapture.can_move_to(Succeeded),
            "a capture goes through the processor"
        );
        assert!(!InProgress.can_move_to(Created));
        // Every status but Created is reachable from Created.
        let mut seen = vec![Created];
        let mut frontier = vec![Created];
        while let Some(s) = frontier.pop() {
            for t in AttemptStatus::ALL {
                if s.can_move_to(*t) && !seen.contains(t) {
                    seen.push(*t);
                    frontier.push(*t);
                }
            }
        }
        assert_eq!(seen.len(), AttemptStatus::ALL.len());
        // In flight is exactly "not Created and not terminal".
        for s in AttemptStatus::ALL {
            assert_eq!(s.is_in_flight(), *s != Created && !s.is_terminal());
        }
    }

    #[test]
    fn session_moves() {
        use SessionStatus::*;
        for from in SessionStatus::ALL.iter().filter(|s| s.is_terminal()) {
            for to in SessionStatus::ALL {
                assert!(!from.can_move_to(*to), "{from} -> {to}");
            }
        }
        assert!(Open.can_move_to(Processing));
        assert!(!Processing.can_move_to(Cancelled));
        assert!(!Open.can_move_to(Succeeded));
        assert_eq!(
            Processing.after_payment(AttemptStatus::Succeeded),
            Some(Succeeded)
        );
        assert_eq!(
            Processing.after_payment(AttemptStatus::RequiresCapture),
            Some(RequiresCapture)
        );
        assert_eq!(
            RequiresCapture.after_payment(AttemptStatus::Succeeded),
            Some(Succeeded)
        );
        assert_eq!(RequiresCapture.after_payment(AttemptStatus::Failed), None);
        assert_eq!(Open.after_payment(AttemptStatus::Succeeded), None);
    }

    #[test]
    fn payment_requests_only_become_obsolete() {
        use PaymentRequestStatus::*;
        assert!(Active.can_move_to(Obsolete));
        assert!(!Obsolete.can_move_to(Active));
    }

    #[test]
    fn intents_follow_attempts() {
        assert_eq!(
            IntentStatus::from(AttemptStatus::InProgress),
            IntentStatus::Processing
        );
        assert_eq!(
            IntentStatus::from(AttemptStatus::Cancelled).as_str(),
            "canceled"
        );
    }
}
