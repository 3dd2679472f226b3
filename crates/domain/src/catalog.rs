//! The v1 (myKaarma) and Checkout error catalogs, generated from `contract/*.tsv`.
//!
//! Several v1 titles share one code (100026, 100033, …); clients match on the title,
//! so an entry is identified by its title, never by its code alone.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    Error,
    Warning,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CatalogEntry {
    pub code: i64,
    pub title: &'static str,
    pub description: &'static str,
    pub kind: EntryKind,
}

include!(concat!(env!("OUT_DIR"), "/catalog.rs"));

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_matches_contract_files() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../contract");
        let v1 = std::fs::read_to_string(root.join("errors-v1.tsv")).unwrap();
        assert_eq!(
            v1.lines().skip(1).filter(|l| !l.is_empty()).count(),
            v1::ALL.len()
        );
        let co = std::fs::read_to_string(root.join("errors-checkout.tsv")).unwrap();
        assert_eq!(
            co.lines().skip(1).filter(|l| !l.is_empty()).count(),
            checkout::ALL.len()
        );
        assert_eq!(checkout::ALL.len(), 32);
        // The verbatim typos are part of the contract.
        assert_eq!(v1::PEPAYMENT_VALIDATION_FAILED.code, 100026);
        assert_eq!(v1::INVALID_PAYMNETREQUEST_GUID.code, 100035);
        assert_eq!(v1::SIGNATURE_REQUEST_NOT_FOUND.code, 10079);
        assert_eq!(v1::ACCESS_FORBIDDEN_INVALID_PARTNER_100009.code, 100009);
        assert_eq!(v1::NO_PREFERRED_DEALER_ID.kind, EntryKind::Warning);
    }

    /// The in-repo copy must equal the shared contract wherever the shared folder is present
    /// (always in CI), so the two can never drift apart silently.
    #[test]
    fn repo_copy_equals_shared_contract() {
        let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../contract");
        let shared =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/contract");
        if !shared.exists() {
            assert!(
                std::env::var("CI").is_err(),
                "CI must have ../shared/contract beside the clone"
            );
            eprintln!("../shared/contract not present; skipping drift check");
            return;
        }
        for f in ["errors-v1.tsv", "errors-checkout.tsv"] {
            let a = std::fs::read(here.join(f)).unwrap();
            let b = std::fs::read(shared.join(f)).unwrap();
            assert!(a == b, "contract/{f} differs from ../shared/contract/{f}");
        }
    }
}
