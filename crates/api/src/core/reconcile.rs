//! Reconciliation: our records against the processor's ledger. Every approved charge,
//! refund and void at the processor must be recorded exactly once, approved, for the same
//! amount; every approval we recorded must exist at the processor; nothing may be in flight.

use processor::Processor;
use std::collections::HashMap;
use store::Db;

#[derive(Debug, Default)]
pub struct Report {
    pub processor_entries: usize,
    pub our_transactions: usize,
    pub approved_charges: usize,
    pub approved_reversals: usize,
    pub in_flight: i64,
    pub differences: Vec<String>,
}

pub async fn reconcile(db: &Db, processor: &dyn Processor) -> anyhow::Result<Report> {
    let ledger = processor.ledger().await?;
    let ours: Vec<(String, String, String, i64)> = sqlx::query_as(
        "SELECT a.uuid, t.transaction_type, t.status, t.total_cents FROM transactions t \
         JOIN payment_attempts a ON a.id = t.attempt_id",
    )
    .fetch_all(db.read())
    .await?;
    let mut report = Report {
        processor_entries: ledger.len(),
        our_transactions: ours.len(),
        in_flight: store::repo::attempts::in_flight_count(db).await?,
        ..Default::default()
    };
    let mut by_key: HashMap<&str, Vec<&(String, String, String, i64)>> = HashMap::new();
    for t in &ours {
        by_key.entry(t.0.as_str()).or_default().push(t);
    }
    let theirs: HashMap<&str, &processor::LedgerEntry> =
        ledger.iter().map(|e| (e.key.as_str(), e)).collect();
    for e in &ledger {
        if e.status != "approved" {
            continue;
        }
        let kind = e.kind.to_ascii_uppercase();
        match by_key.get(e.key.as_str()).map(Vec::as_slice) {
            Some([t]) if t.1 == kind && t.2 == "APPROVED" && t.3 == e.amount_cents => {
                if kind == "CHARGE" {
                    report.approved_charges += 1;
                } else {
                    report.approved_reversals += 1;
                }
            }
            Some([t]) => report.differences.push(format!(
                "{} {}: processor approved {} cents, we recorded {} {} for {} cents",
                e.kind, e.key, e.amount_cents, t.1, t.2, t.3
            )),
            Some(many) => report.differences.push(format!(
                "{} {}: recorded {} times",
                e.kind,
                e.key,
                many.len()
            )),
            None => report.differences.push(format!(
                "{} {}: approved at the processor ({} cents) but not recorded",
                e.kind, e.key, e.amount_cents
            )),
        }
    }
    for t in &ours {
        if t.2 != "APPROVED" {
            continue;
        }
        match theirs.get(t.0.as_str()) {
            Some(e) if e.status == "approved" => {}
            Some(e) => report.differences.push(format!(
                "{} {}: we recorded APPROVED, the processor says {}",
                t.1, t.0, e.status
            )),
            None => report.differences.push(format!(
                "{} {}: we recorded APPROVED, the processor has no record",
                t.1, t.0
            )),
        }
    }
    if report.in_flight > 0 {
        report
            .differences
            .push(format!("{} attempts are still in flight", report.in_flight));
    }
    Ok(report)
}
