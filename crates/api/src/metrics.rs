//! Prometheus metrics of the HTTP layer: latency histograms and database statements per
//! route and status, requests in flight, and the database's own counters.

use axum::http::Method;
use std::collections::HashMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Mutex;

/// Latency histogram bucket bounds, seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Default)]
struct Series {
    count: u64,
    sum: f64,
    buckets: [u64; BUCKETS.len()],
    /// Database statements the requests of this series ran.
    statements: u64,
}

#[derive(Default)]
pub struct Metrics {
    series: Mutex<HashMap<(Method, String, u16), Series>>,
    pub(crate) in_flight: AtomicI64,
}

impl Metrics {
    pub(crate) fn observe(
        &self,
        method: Method,
        route: String,
        status: u16,
        secs: f64,
        statements: u32,
    ) {
        let mut map = self.series.lock().unwrap_or_else(|p| p.into_inner());
        let s = map.entry((method, route, status)).or_default();
        s.count += 1;
        s.sum += secs;
        s.statements += u64::from(statements);
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                s.buckets[i] += 1;
            }
        }
    }

    /// Prometheus text exposition format, with the database's counters.
    pub fn render(&self, db: db::Stats) -> String {
        let mut out = String::new();
        out.push_str("# HELP dealerpay_db_statements_total Database statements executed (queries and DML).\n");
        out.push_str("# TYPE dealerpay_db_statements_total counter\n");
        let _ = writeln!(out, "dealerpay_db_statements_total {}", db.statements);
        out.push_str("# HELP dealerpay_db_transactions_total Write transactions run.\n");
        out.push_str("# TYPE dealerpay_db_transactions_total counter\n");
        let _ = writeln!(out, "dealerpay_db_transactions_total {}", db.transactions);
        out.push_str(
            "# HELP dealerpay_db_commits_total Commits made durable (SQLite: one WAL fsync each, shared by the transactions of a group commit).\n",
        );
        out.push_str("# TYPE dealerpay_db_commits_total counter\n");
        let _ = writeln!(out, "dealerpay_db_commits_total {}", db.commits);
        out.push_str("# HELP dealerpay_http_requests_in_flight Requests being served.\n");
        out.push_str("# TYPE dealerpay_http_requests_in_flight gauge\n");
        let _ = writeln!(
            out,
            "dealerpay_http_requests_in_flight {}",
            self.in_flight.load(Ordering::Relaxed)
        );
        out.push_str(
            "# HELP dealerpay_http_request_duration_seconds Request latency by route and status.\n",
        );
        out.push_str("# TYPE dealerpay_http_request_duration_seconds histogram\n");
        let map = self.series.lock().unwrap_or_else(|p| p.into_inner());
        let mut keys: Vec<_> = map.keys().collect();
        keys.sort_by(|a, b| {
            (a.1.as_str(), a.0.as_str(), a.2).cmp(&(b.1.as_str(), b.0.as_str(), b.2))
        });
        for key in keys {
            let s = &map[key];
            let labels = format!(
                "method=\"{}\",route=\"{}\",status=\"{}\"",
                key.0,
                key.1.replace('"', ""),
                key.2
            );
            for (i, b) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "dealerpay_http_request_duration_seconds_bucket{{{labels},le=\"{b}\"}} {}",
                    s.buckets[i]
                );
            }
            let _ = writeln!(
                out,
                "dealerpay_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                s.count
            );
            let _ = writeln!(
                out,
                "dealerpay_http_request_duration_seconds_sum{{{labels}}} {}",
                s.sum
            );
            let _ = writeln!(
                out,
                "dealerpay_http_request_duration_seconds_count{{{labels}}} {}",
                s.count
            );
        }
        out.push_str("# HELP dealerpay_http_db_statements_total Database statements run by requests, by route and status.\n");
        out.push_str("# TYPE dealerpay_http_db_statements_total counter\n");
        let mut keys: Vec<_> = map.keys().collect();
        keys.sort_by(|a, b| {
            (a.1.as_str(), a.0.as_str(), a.2).cmp(&(b.1.as_str(), b.0.as_str(), b.2))
        });
        for key in keys {
            let _ = writeln!(
                out,
                "dealerpay_http_db_statements_total{{method=\"{}\",route=\"{}\",status=\"{}\"}} {}",
                key.0,
                key.1.replace('"', ""),
                key.2,
                map[key].statements
            );
        }
        out
    }
}
