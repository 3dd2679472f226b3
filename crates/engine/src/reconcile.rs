//! Reconciliation: our records against every processor's ledger. Every approved charge,
//! refund and void at a processor must be recorded exactly once, approved, for the same
//! amount; every approval we recorded must exist at its processor; nothing may be in flight.

use crate::error::{EngineError, EngineResult};
use crate::Engine;
use domain::status::TransactionStatus;
use std::collections::HashMap;

#[derive(Debug, Default)]
pub struct Report {
    pub processor_entries: usize,
    pub our_transactions: usize,
    pub approved_charges: usize,
    pub approved_reversals: usize,
    pub in_flight: i64,
    pub differences: Vec<String>,
}

impl Engine {
    pub async fn reconcile(&self) -> EngineResult<Report> {
        let (ours, in_flight) = self
            .db
            .read(|c| {
                Box::pin(async move {
                    let ours: Vec<(String, String, String, i64, String)> = c
                        .query_all(
                            "SELECT a.uuid, t.transaction_type, t.status, t.total_cents, t.processor FROM transactions t \
                             JOIN payment_attempts a ON a.id = t.attempt_id",
                            &[],
                        )
                        .await?;
                    let n = store::repo::attempts::in_flight_count(c).await?;
                    Ok::<_, db::DbError>((ours, n))
                })
            })
            .await?;
        let mut report = Report {
            our_transactions: ours.len(),
            in_flight,
            ..Default::default()
        };
        let approved = TransactionStatus::Approved.as_str();
        for connector in self.connectors.cards() {
            let name = connector.name().to_ascii_uppercase();
            let ledger = connector
                .ledger()
                .await
                .map_err(|e| EngineError::unavailable(format!("{name}: {e}")))?;
            report.processor_entries += ledger.len();
            let mine: Vec<_> = ours
                .iter()
                .filter(|t| t.4.eq_ignore_ascii_case(&name))
                .collect();
            let mut by_key: HashMap<&str, Vec<_>> = HashMap::new();
            for t in &mine {
                by_key.entry(t.0.as_str()).or_default().push(*t);
            }
            let theirs: HashMap<&str, &connectors::LedgerEntry> =
                ledger.iter().map(|e| (e.key.as_str(), e)).collect();
            for e in &ledger {
                if e.status != "approved" {
                    continue;
                }
                let kind = e.kind.to_ascii_uppercase();
                match by_key.get(e.key.as_str()).map(Vec::as_slice) {
                    Some([t]) if t.1 == kind && t.2 == approved && t.3 == e.amount_cents => {
                        if kind == "CHARGE" {
                            report.approved_charges += 1;
                        } else {
                            report.approved_reversals += 1;
                        }
                    }
                    Some([t]) => report.differences.push(format!(
                        "{name} {} {}: processor approved {} cents, we recorded {} {} for {} cents",
                        e.kind, e.key, e.amount_cents, t.1, t.2, t.3
                    )),
                    Some(many) => report.differences.push(format!(
                        "{name} {} {}: recorded {} times",
                        e.kind,
                        e.key,
                        many.len()
                    )),
                    None => report.differences.push(format!(
                        "{name} {} {}: approved at the processor ({} cents) but not recorded",
                        e.kind, e.key, e.amount_cents
                    )),
                }
            }
            for t in &mine {
                if t.2 != approved {
                    continue;
                }
                match theirs.get(t.0.as_str()) {
                    Some(e) if e.status == "approved" => {}
                    Some(e) => report.differences.push(format!(
                        "{name} {} {}: we recorded APPROVED, the processor says {}",
                        t.1, t.0, e.status
                    )),
                    None => report.differences.push(format!(
                        "{name} {} {}: we recorded APPROVED, the processor has no record",
                        t.1, t.0
                    )),
                }
            }
        }
        let unknown: Vec<_> = ours
            .iter()
            .filter(|t| t.2 == approved && self.connectors.card(&t.4).is_none())
            .collect();
        if !unknown.is_empty() {
            report.differences.push(format!(
                "{} approved transactions name a processor not configured here",
                unknown.len()
            ));
        }
        if report.in_flight > 0 {
            report
                .differences
                .push(format!("{} attempts are still in flight", report.in_flight));
        }
        Ok(report)
    }
}
