//! Results table (stdout), `latest.json` and a hand-written `latest.svg`.

use std::fmt::Write as _;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use serde::Serialize;

use crate::load::ScenarioStats;

#[derive(Clone, Debug, Serialize)]
pub struct Skipped {
    pub database: String,
    /// `skipped` (environment lacks it) or `failed` (the bench or server broke).
    pub status: String,
    pub reason: String,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub timestamp: String,
    pub unix_time: u64,
    pub git_commit: Option<String>,
    pub nproc: usize,
    pub os: String,
    pub arch: String,
    pub concurrency: usize,
    /// Workers of the payment scenarios (`--payment-concurrency`) at latency 0.
    pub payment_concurrency: usize,
    /// Sandbox latencies (ms), one server run per database each; 0 is the in-process
    /// sandbox, more the standalone sandbox processor over HTTP.
    pub sandbox_latencies_ms: Vec<u64>,
    /// Workers of every scenario in the runs with a latency above 0
    /// (`--latency-concurrency`); absent without such runs.
    pub latency_concurrency: Option<usize>,
    /// `--processor-timeout-secs`, when given (each row has the one its run used).
    pub processor_timeout_secs: Option<u64>,
    pub duration_secs: u64,
    pub warmup_secs: u64,
    /// Base URL when run with `--target-url`, otherwise absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_url: Option<String>,
    pub results: Vec<ScenarioStats>,
    /// The engine issue's targets, each with the measured figure and whether it passed
    /// (empty with `--target-url`).
    pub targets: Vec<TargetResult>,
    pub skipped: Vec<Skipped>,
    /// Warnings such as an unclean server shutdown.
    pub notes: Vec<String>,
}

pub fn git_commit() -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let s = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !s.is_empty()).then_some(s)
}

pub fn nproc() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Current time as RFC 3339 UTC plus Unix seconds (no date crate needed).
pub fn now_utc() -> (String, u64) {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let ts = format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    );
    (ts, secs)
}

/// Which figure of a row a target is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    PaymentsPerSec,
    P99Ms,
    VsHealthz,
    StatementsPerPayment,
    /// `authflood`: 5xx answers to anyone during the flood.
    ServerErrors,
    /// `authflood`: the server's peak resident memory, MiB.
    PeakRssMib,
}

impl Metric {
    /// The row's field in `latest.json`.
    pub fn field(self) -> &'static str {
        match self {
            Metric::PaymentsPerSec => "payments_per_sec",
            Metric::P99Ms => "p99_ms",
            Metric::VsHealthz => "vs_healthz",
            Metric::StatementsPerPayment => "statements_per_payment",
            Metric::ServerErrors => "flood.server_errors",
            Metric::PeakRssMib => "flood.server_peak_rss_mib",
        }
    }

    pub fn value(self, r: &ScenarioStats) -> Option<f64> {
        match self {
            Metric::PaymentsPerSec => r.payments_per_sec,
            Metric::P99Ms => r.p99_ms,
            Metric::VsHealthz => r.vs_healthz,
            Metric::StatementsPerPayment => r.statements_per_payment,
            Metric::ServerErrors => r.flood.as_ref().map(|f| f.server_errors as f64),
            Metric::PeakRssMib => r.flood.as_ref().and_then(|f| f.server_peak_rss_mib),
        }
    }

    /// A value with its unit, as in the target lines.
    pub fn show(self, v: f64) -> String {
        match self {
            Metric::PaymentsPerSec => format!("{v:.1} payments/s"),
            Metric::P99Ms => format!("{v:.2} ms"),
            Metric::VsHealthz => format!("{}× healthz", ratio(Some(v)).trim_end_matches('×')),
            Metric::StatementsPerPayment => format!("{v:.2}"),
            Metric::ServerErrors => format!("{v:.0} 5xx"),
            Metric::PeakRssMib => format!("{v:.1} MiB"),
        }
    }

    /// What is measured, in the target lines.
    fn subject(self, scenario: &str) -> String {
        match self {
            Metric::PaymentsPerSec | Metric::VsHealthz => scenario.to_string(),
            Metric::P99Ms => format!("{scenario} p99"),
            Metric::StatementsPerPayment => "statements per payment".into(),
            Metric::ServerErrors => format!("{scenario} 5xx answers"),
            Metric::PeakRssMib => format!("{scenario} server peak RSS"),
        }
    }

    /// The threshold with its unit.
    fn show_threshold(self, v: f64) -> String {
        match self {
            Metric::PaymentsPerSec => format!("{v:.0} payments/s"),
            Metric::P99Ms => format!("{v} ms"),
            Metric::VsHealthz => format!("{v}× healthz"),
            Metric::StatementsPerPayment => format!("{v}"),
            Metric::ServerErrors => format!("{v}"),
            Metric::PeakRssMib => format!("{v} MiB"),
        }
    }
}

/// One target of the engine issue, for one database: the figure `metric` of the row
/// (`scenario`, `database`, `sandbox_latency_ms`, `concurrency`) must be at least (or,
/// with `at_most`, at most) `threshold`.
#[derive(Clone, Debug)]
pub struct TargetSpec {
    pub scenario: &'static str,
    pub database: &'static str,
    pub sandbox_latency_ms: u64,
    pub concurrency: usize,
    pub metric: Metric,
    pub at_most: bool,
    pub threshold: f64,
}

impl TargetSpec {
    /// E.g. `payment on sqlite with the in-process sandbox and 64 clients >= 3000
    /// payments/s`.
    pub fn describe(&self) -> String {
        let run = if self.sandbox_latency_ms == 0 {
            format!(
                "with the in-process sandbox and {} clients",
                self.concurrency
            )
        } else {
            format!(
                "at {} ms sandbox latency with {} clients",
                self.sandbox_latency_ms, self.concurrency
            )
        };
        format!(
            "{} on {} {run} {} {}",
            self.metric.subject(self.scenario),
            self.database,
            if self.at_most { "<=" } else { ">=" },
            self.metric.show_threshold(self.threshold)
        )
    }
}

/// The in-process runs of the targets: the default `--concurrency` (and payment
/// concurrency), sandbox latency 0.
pub const TARGET_CONCURRENCY: usize = 64;
/// The standalone-sandbox runs of the targets: 200 ms processor latency, 1,000 clients.
pub const TARGET_LATENCY_MS: u64 = 200;
pub const TARGET_LATENCY_CONCURRENCY: usize = 1000;
/// Card payments/s per database (both the in-process and the 200 ms runs).
pub const TARGET_PAYMENTS_PER_SEC: [(&str, f64); 2] = [("sqlite", 3000.0), ("postgres", 2000.0)];
pub const TARGET_PAYMENT_P99_MS: f64 = 50.0;
/// `paymentrequest` and `status` req/s over the run's healthz req/s.
pub const TARGET_GET_VS_HEALTHZ: f64 = 0.35;
pub const TARGET_STATEMENTS_PER_PAYMENT: f64 = 12.0;
/// The hardening issue's auth flood: legitimate p99, no 5xx, the server under 1 GiB.
pub const TARGET_FLOOD_P99_MS: f64 = 100.0;
pub const TARGET_FLOOD_PEAK_RSS_MIB: f64 = 1024.0;

/// The engine issue's targets, one per database each, in the order they are printed.
pub fn target_specs() -> Vec<TargetSpec> {
    let inproc = |scenario, database, metric, at_most, threshold| TargetSpec {
        scenario,
        database,
        sandbox_latency_ms: 0,
        concurrency: TARGET_CONCURRENCY,
        metric,
        at_most,
        threshold,
    };
    let mut out = Vec::new();
    for (db, pps) in TARGET_PAYMENTS_PER_SEC {
        out.push(inproc("payment", db, Metric::PaymentsPerSec, false, pps));
    }
    for (db, _) in TARGET_PAYMENTS_PER_SEC {
        out.push(inproc(
            "payment",
            db,
            Metric::P99Ms,
            true,
            TARGET_PAYMENT_P99_MS,
        ));
    }
    for scenario in ["paymentrequest", "status"] {
        for (db, _) in TARGET_PAYMENTS_PER_SEC {
            out.push(inproc(
                scenario,
                db,
                Metric::VsHealthz,
                false,
                TARGET_GET_VS_HEALTHZ,
            ));
        }
    }
    for (db, pps) in TARGET_PAYMENTS_PER_SEC {
        out.push(TargetSpec {
            scenario: "payment",
            database: db,
            sandbox_latency_ms: TARGET_LATENCY_MS,
            concurrency: TARGET_LATENCY_CONCURRENCY,
            metric: Metric::PaymentsPerSec,
            at_most: false,
            threshold: pps,
        });
    }
    for (db, _) in TARGET_PAYMENTS_PER_SEC {
        out.push(inproc(
            "payment",
            db,
            Metric::StatementsPerPayment,
            true,
            TARGET_STATEMENTS_PER_PAYMENT,
        ));
    }
    for (db, _) in TARGET_PAYMENTS_PER_SEC {
        out.push(inproc(
            "authflood",
            db,
            Metric::P99Ms,
            true,
            TARGET_FLOOD_P99_MS,
        ));
        out.push(inproc("authflood", db, Metric::ServerErrors, true, 0.0));
        out.push(inproc(
            "authflood",
            db,
            Metric::PeakRssMib,
            true,
            TARGET_FLOOD_PEAK_RSS_MIB,
        ));
    }
    out
}

/// A target and how this run fared against it, as written to `latest.json`.
#[derive(Clone, Debug, Serialize)]
pub struct TargetResult {
    /// The target in words, as printed (`payment on sqlite with the in-process sandbox and
    /// 64 clients >= 3000 payments/s`).
    pub target: String,
    pub scenario: String,
    pub database: String,
    pub sandbox_latency_ms: u64,
    pub concurrency: usize,
    /// The row's field compared: `payments_per_sec`, `p99_ms`, `vs_healthz` or
    /// `statements_per_payment`.
    pub metric: String,
    /// `>=` or `<=`.
    pub comparison: String,
    pub threshold: f64,
    /// The row's figure; `None` when the run had no such row or the row no such figure.
    pub measured: Option<f64>,
    /// `measured / threshold`, three decimals.
    pub fraction: Option<f64>,
    /// `PASS`, `MISS` or `not measured`.
    pub status: String,
    pub pass: Option<bool>,
    /// Why it was not measured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Checks every target of [`target_specs`] against the rows of this report.
pub fn targets(results: &[ScenarioStats]) -> Vec<TargetResult> {
    target_specs()
        .iter()
        .map(|t| {
            let row = results.iter().find(|r| {
                r.scenario == t.scenario
                    && r.database == t.database
                    && r.sandbox_latency_ms == t.sandbox_latency_ms
                    && r.concurrency == t.concurrency
            });
            let measured = row.and_then(|r| t.metric.value(r));
            let note = match (row, measured) {
                (None, _) => Some(format!(
                    "no {} row on {} at sandbox latency {} ms with {} clients",
                    t.scenario, t.database, t.sandbox_latency_ms, t.concurrency
                )),
                (Some(_), None) => Some(format!(
                    "the {} row has no {}",
                    t.scenario,
                    t.metric.field()
                )),
                _ => None,
            };
            let pass = measured.map(|v| {
                if t.at_most {
                    v <= t.threshold
                } else {
                    v >= t.threshold
                }
            });
            TargetResult {
                target: t.describe(),
                scenario: t.scenario.into(),
                database: t.database.into(),
                sandbox_latency_ms: t.sandbox_latency_ms,
                concurrency: t.concurrency,
                metric: t.metric.field().into(),
                comparison: if t.at_most { "<=" } else { ">=" }.into(),
                threshold: t.threshold,
                measured,
                fraction: measured.map(|v| (v / t.threshold * 1000.0).round() / 1000.0),
                status: match pass {
                    Some(true) => "PASS",
                    Some(false) => "MISS",
                    None => "not measured",
                }
                .into(),
                pass,
                note,
            }
        })
        .collect()
}

/// The targets as lines for stdout, one per target, then a count.
pub fn target_lines(targets: &[TargetResult]) -> Vec<String> {
    let metric = |t: &TargetResult| match t.metric.as_str() {
        "payments_per_sec" => Metric::PaymentsPerSec,
        "p99_ms" => Metric::P99Ms,
        "vs_healthz" => Metric::VsHealthz,
        _ => Metric::StatementsPerPayment,
    };
    let mut lines: Vec<String> = targets
        .iter()
        .map(|t| match t.measured {
            None => format!(
                "target: {}: not measured in this run ({})",
                t.target,
                t.note.as_deref().unwrap_or("no figure")
            ),
            Some(v) => {
                let of_target = match t.fraction {
                    Some(f) if t.comparison == ">=" => format!(", {:.1}% of target", f * 100.0),
                    _ => String::new(),
                };
                format!(
                    "target: {}: {}{of_target}: {}",
                    t.target,
                    metric(t).show(v),
                    t.status
                )
            }
        })
        .collect();
    let count = |s: &str| targets.iter().filter(|t| t.status == s).count();
    if !targets.is_empty() {
        lines.push(format!(
            "targets: {} PASS, {} MISS, {} not measured (of {})",
            count("PASS"),
            count("MISS"),
            count("not measured"),
            targets.len()
        ));
    }
    lines
}

fn opt(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |x| format!("{x:.2}"))
}

/// A ratio to `healthz` such as `0.05×`; small ones with a third decimal, so that a
/// slow scenario does not read as `0.00×`.
pub fn ratio(v: Option<f64>) -> String {
    match v {
        None => "-".into(),
        Some(x) if x >= 0.095 => format!("{x:.2}×"),
        Some(x) => format!("{x:.3}×"),
    }
}

const COLUMNS: usize = 17;

const TABLE_HEADER: [&str; COLUMNS] = [
    "scenario",
    "database",
    "sandbox ms",
    "concurrency",
    "req/s",
    "payments/s",
    "p50 ms",
    "p99 ms",
    "p99.9 ms",
    "errors",
    "vs healthz",
    "stmt/pay",
    "stmt/req",
    "commits/fsync",
    "cpu ms/pay",
    "cpu ms/req",
    "sbx cpu ms/pay",
];

/// A figure with `decimals`, `-` when it was not measured.
fn fixed(v: Option<f64>, decimals: usize) -> String {
    v.map_or_else(|| "-".into(), |x| format!("{x:.decimals$}"))
}

fn table_row(r: &ScenarioStats) -> [String; COLUMNS] {
    // Per-payment columns only for the scenarios that count payments (blank otherwise, as
    // payments/s); the sandbox's only in runs with the standalone processor.
    let pays = r.payments_per_sec.is_some();
    let per_payment = |v: Option<f64>, d: usize| {
        if pays {
            fixed(v, d)
        } else {
            String::new()
        }
    };
    [
        r.scenario.clone(),
        r.database.clone(),
        r.sandbox_latency_ms.to_string(),
        r.concurrency.to_string(),
        format!("{:.1}", r.rps),
        r.payments_per_sec
            .map_or_else(String::new, |x| format!("{x:.1}")),
        opt(r.p50_ms),
        opt(r.p99_ms),
        opt(r.p999_ms),
        r.errors.to_string(),
        ratio(r.vs_healthz),
        per_payment(r.statements_per_payment, 2),
        fixed(r.statements_per_request, 2),
        if r.database == "postgres" {
            "—".into()
        } else {
            fixed(r.commits_per_fsync, 2)
        },
        per_payment(r.server_cpu_ms_per_payment, 3),
        fixed(r.server_cpu_ms_per_request, 3),
        if r.processor == "in-process" {
            String::new()
        } else {
            per_payment(r.sandbox_cpu_ms_per_payment, 3)
        },
    ]
}

/// The results table: one row per scenario, database and sandbox latency (one server
/// run each); `vs healthz` is relative to the `healthz` row of the same run. The last six
/// columns are the server's costs over the window: database statements per payment and
/// per request, SQLite transactions per commit (fsync; `—` on PostgreSQL), server CPU ms
/// per payment and per request, and the standalone sandbox processor's CPU ms per
/// payment.
pub fn table(results: &[ScenarioStats]) -> String {
    let rows: Vec<[String; COLUMNS]> = results.iter().map(table_row).collect();
    let mut widths = TABLE_HEADER.map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &[&str]| {
        let parts: Vec<String> = cells
            .iter()
            .zip(widths)
            .enumerate()
            // Text columns left-aligned, numbers right-aligned. (Padding by chars: `×`
            // is one column but two bytes.)
            .map(|(i, (c, w))| {
                let pad = " ".repeat(w.saturating_sub(c.chars().count()));
                if i < 2 {
                    format!("{c}{pad}")
                } else {
                    format!("{pad}{c}")
                }
            })
            .collect();
        out.push_str(parts.join("  ").trim_end());
        out.push('\n');
    };
    line(&TABLE_HEADER);
    let rules = widths.map(|w| "-".repeat(w));
    line(&rules.iter().map(String::as_str).collect::<Vec<_>>());
    for row in &rows {
        line(&row.iter().map(String::as_str).collect::<Vec<_>>());
    }
    out
}

pub fn write_json(path: &Path, report: &Report) -> Result<()> {
    let text = serde_json::to_string_pretty(report)?;
    std::fs::write(path, text + "\n").with_context(|| format!("writing {}", path.display()))
}

pub fn write_svg(path: &Path, report: &Report) -> Result<()> {
    std::fs::write(path, svg(report)).with_context(|| format!("writing {}", path.display()))
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A "nice" axis maximum and tick step covering `max`.
fn nice_axis(max: f64) -> (f64, f64) {
    if max.is_nan() || max <= 0.0 || max.is_infinite() {
        return (1.0, 0.2);
    }
    let raw = max / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    ((max / step).ceil() * step, step)
}

fn fmt_tick(v: f64) -> String {
    if v >= 1000.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else if (v * 10.0).fract().abs() < 1e-9 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

const COLORS: [&str; 6] = [
    "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#b07aa1",
];
const MIN_WIDTH: f64 = 960.0;
/// Horizontal room per group of bars (one scenario at one sandbox latency).
const GROUP_W: f64 = 100.0;
const LEFT: f64 = 90.0;
const RIGHT_MARGIN: f64 = 30.0;
const CHART_H: f64 = 350.0;

struct Chart<'a> {
    title: &'a str,
    y_label: &'a str,
    value: fn(&ScenarioStats) -> Option<f64>,
    label: fn(f64) -> String,
}

/// A group of bars on the x axis: one scenario in the server runs with one sandbox
/// latency; its bars are the databases.
#[derive(Clone, Debug, PartialEq)]
struct Group {
    scenario: String,
    latency_ms: u64,
}

/// What every chart shares: the groups in order of first appearance, the databases,
/// the picture's width and whether the group labels name the latency.
struct Layout<'a> {
    groups: Vec<Group>,
    dbs: Vec<String>,
    width: f64,
    show_latency: bool,
    results: &'a [ScenarioStats],
}

impl<'a> Layout<'a> {
    fn new(results: &'a [ScenarioStats]) -> Layout<'a> {
        let mut groups: Vec<Group> = Vec::new();
        let mut dbs: Vec<String> = Vec::new();
        for r in results {
            let g = Group {
                scenario: r.scenario.clone(),
                latency_ms: r.sandbox_latency_ms,
            };
            if !groups.contains(&g) {
                groups.push(g);
            }
            if !dbs.contains(&r.database) {
                dbs.push(r.database.clone());
            }
        }
        // Room for the labels of many groups: widen rather than overlap.
        let width = (LEFT + RIGHT_MARGIN + GROUP_W * groups.len() as f64).max(MIN_WIDTH);
        let show_latency = results.iter().any(|r| r.sandbox_latency_ms > 0);
        Layout {
            groups,
            dbs,
            width,
            show_latency,
            results,
        }
    }

    fn get(&self, g: &Group, db: &str, value: fn(&ScenarioStats) -> Option<f64>) -> Option<f64> {
        self.results
            .iter()
            .find(|r| {
                r.scenario == g.scenario && r.sandbox_latency_ms == g.latency_ms && r.database == db
            })
            .and_then(value)
    }
}

/// One grouped bar chart at vertical offset `top`: groups are scenarios per sandbox
/// latency, bars within a group are databases.
fn bar_chart(out: &mut String, top: f64, chart: &Chart, layout: &Layout, groups: &[Group]) {
    let right = layout.width - RIGHT_MARGIN;
    let (left, plot_top, plot_bottom) = (LEFT, top + 40.0, top + CHART_H - 64.0);
    let plot_h = plot_bottom - plot_top;
    let max = groups
        .iter()
        .flat_map(|g| {
            layout
                .dbs
                .iter()
                .filter_map(|d| layout.get(g, d, chart.value))
        })
        .fold(0.0, f64::max);
    // Headroom so the value printed above the tallest bar stays inside the plot.
    let (axis_max, step) = nice_axis(max * 1.08);
    let y = |v: f64| plot_bottom - v / axis_max * plot_h;

    let _ = writeln!(
        out,
        r#"<text x="{}" y="{}" class="title">{}</text>"#,
        layout.width / 2.0,
        top + 22.0,
        esc(chart.title)
    );
    // Grid lines and y tick labels.
    let mut v = 0.0;
    while v <= axis_max * 1.0001 {
        let yy = y(v);
        let _ = writeln!(
            out,
            r##"<line x1="{left}" y1="{yy:.1}" x2="{right}" y2="{yy:.1}" stroke="#ddd"/>"##
        );
        let _ = writeln!(
            out,
            r#"<text x="{}" y="{:.1}" class="tick" text-anchor="end">{}</text>"#,
            left - 6.0,
            yy + 4.0,
            fmt_tick(v)
        );
        v += step;
    }
    let mid = (plot_top + plot_bottom) / 2.0;
    let _ = writeln!(
        out,
        r#"<text x="22" y="{mid:.1}" class="axis" transform="rotate(-90 22 {mid:.1})">{}</text>"#,
        esc(chart.y_label)
    );
    let _ = writeln!(
        out,
        r##"<line x1="{left}" y1="{plot_bottom}" x2="{right}" y2="{plot_bottom}" stroke="#333"/>"##
    );
    let _ = writeln!(
        out,
        r##"<line x1="{left}" y1="{plot_top}" x2="{left}" y2="{plot_bottom}" stroke="#333"/>"##
    );

    let n_dbs = layout.dbs.len().max(1) as f64;
    let group_w = (right - left) / groups.len().max(1) as f64;
    let bar_w = (group_w * 0.8 / n_dbs).min(90.0);
    for (gi, g) in groups.iter().enumerate() {
        let gx = left + gi as f64 * group_w;
        // A dashed divider where the sandbox latency changes.
        if gi > 0 && groups[gi - 1].latency_ms != g.latency_ms {
            let _ = writeln!(
                out,
                r##"<line x1="{gx:.1}" y1="{plot_top}" x2="{gx:.1}" y2="{:.1}" stroke="#999" stroke-dasharray="4 3"/>"##,
                plot_bottom + 34.0
            );
        }
        let bars_x = gx + (group_w - bar_w * n_dbs) / 2.0;
        for (di, d) in layout.dbs.iter().enumerate() {
            let x = bars_x + di as f64 * bar_w;
            let color = COLORS[di % COLORS.len()];
            let Some(val) = layout.get(g, d, chart.value) else {
                let _ = writeln!(
                    out,
                    r#"<text x="{:.1}" y="{:.1}" class="val">n/a</text>"#,
                    x + bar_w / 2.0,
                    plot_bottom - 4.0
                );
                continue;
            };
            let yy = y(val);
            let _ = writeln!(
                out,
                r#"<rect x="{:.1}" y="{yy:.1}" width="{:.1}" height="{:.1}" fill="{color}"><title>{} / {} / sandbox {} ms: {}</title></rect>"#,
                x + 2.0,
                (bar_w - 4.0).max(1.0),
                plot_bottom - yy,
                esc(&g.scenario),
                esc(d),
                g.latency_ms,
                (chart.label)(val)
            );
            let _ = writeln!(
                out,
                r#"<text x="{:.1}" y="{:.1}" class="val">{}</text>"#,
                x + bar_w / 2.0,
                yy - 4.0,
                (chart.label)(val)
            );
        }
        let cx = gx + group_w / 2.0;
        let _ = writeln!(
            out,
            r#"<text x="{cx:.1}" y="{:.1}" class="axis">{}</text>"#,
            plot_bottom + 18.0,
            esc(&g.scenario)
        );
        if layout.show_latency {
            let _ = writeln!(
                out,
                r#"<text x="{cx:.1}" y="{:.1}" class="tick" text-anchor="middle">sandbox {} ms</text>"#,
                plot_bottom + 32.0,
                g.latency_ms
            );
        }
    }
    let _ = writeln!(
        out,
        r#"<text x="{:.1}" y="{:.1}" class="axis">scenario{}</text>"#,
        (left + right) / 2.0,
        plot_bottom + 52.0,
        if layout.show_latency {
            " (per sandbox processor latency)"
        } else {
            ""
        }
    );
}

/// The subtitle: when, where, and how hard the runs pushed.
fn subtitle(report: &Report) -> String {
    let mut sub = format!(
        "dealerpay bench {} | commit {} | {} CPUs | concurrency {}",
        report.timestamp,
        report.git_commit.as_deref().unwrap_or("unknown"),
        report.nproc,
        report.concurrency,
    );
    if report.payment_concurrency != report.concurrency {
        let _ = write!(sub, " (payments {})", report.payment_concurrency);
    }
    if let Some(n) = report.latency_concurrency {
        let _ = write!(sub, ", {n} with sandbox latency");
    }
    let _ = write!(
        sub,
        " | {} s (+{} s warmup) per scenario",
        report.duration_secs, report.warmup_secs
    );
    sub
}

/// The groups that have a value of `value` for some database.
fn groups_with(layout: &Layout, value: fn(&ScenarioStats) -> Option<f64>) -> Vec<Group> {
    layout
        .groups
        .iter()
        .filter(|g| layout.dbs.iter().any(|d| layout.get(g, d, value).is_some()))
        .cloned()
        .collect()
}

/// Statements per operation: per payment where payments are counted, else per request.
fn statements_per_op(r: &ScenarioStats) -> Option<f64> {
    if r.payments_per_sec.is_some() {
        r.statements_per_payment
    } else {
        r.statements_per_request
    }
}

/// Server CPU ms per operation: per payment where payments are counted, else per request.
fn cpu_ms_per_op(r: &ScenarioStats) -> Option<f64> {
    if r.payments_per_sec.is_some() {
        r.server_cpu_ms_per_payment
    } else {
        r.server_cpu_ms_per_request
    }
}

pub fn svg(report: &Report) -> String {
    let layout = Layout::new(&report.results);
    let throughput = Chart {
        title: "Throughput (successful requests/s, higher is better)",
        y_label: "requests / s",
        value: |r| Some(r.rps),
        label: |v| format!("{v:.0}"),
    };
    let p99 = Chart {
        title: "p99 latency (ms; payment, checkout: the two-request pair; lower is better)",
        y_label: "p99 latency (ms)",
        value: |r| r.p99_ms,
        label: |v| format!("{v:.2}"),
    };
    let payments = Chart {
        title: "Card payments/s (both requests succeeded, higher is better)",
        y_label: "payments / s",
        value: |r| r.payments_per_sec,
        label: |v| format!("{v:.1}"),
    };
    let statements = Chart {
        title: "Database statements per payment (payment, checkout) or per request (others; lower is better)",
        y_label: "statements / operation",
        value: statements_per_op,
        label: |v| format!("{v:.1}"),
    };
    let cpu = Chart {
        title:
            "Server CPU ms per payment (payment, checkout) or per request (others; lower is better)",
        y_label: "server CPU ms / operation",
        value: cpu_ms_per_op,
        label: |v| format!("{v:.2}"),
    };
    // Throughput and p99 always; the others when some row has their figure.
    let mut charts = vec![
        (throughput, layout.groups.clone()),
        (p99, layout.groups.clone()),
    ];
    for chart in [payments, statements, cpu] {
        let groups = groups_with(&layout, chart.value);
        if !groups.is_empty() {
            charts.push((chart, groups));
        }
    }
    let width = layout.width;
    let height = 70.0 + charts.len() as f64 * CHART_H + 10.0;
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif">"#
    );
    out.push_str(
        "<style>.title{font-size:16px;font-weight:bold;text-anchor:middle}.axis{font-size:13px;text-anchor:middle}\
         .tick{font-size:11px;fill:#555}.val{font-size:11px;text-anchor:middle}.sub{font-size:12px;fill:#555;text-anchor:middle}</style>\n",
    );
    let _ = writeln!(out, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        out,
        r#"<text x="{}" y="20" class="sub">{}</text>"#,
        width / 2.0,
        esc(&subtitle(report))
    );
    // Legend.
    for (i, d) in layout.dbs.iter().enumerate() {
        let x = width / 2.0 - 60.0 * layout.dbs.len() as f64 + 120.0 * i as f64;
        let _ = writeln!(
            out,
            r#"<rect x="{x:.1}" y="32" width="14" height="14" fill="{}"/>"#,
            COLORS[i % COLORS.len()]
        );
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="44" font-size="13">{}</text>"#,
            x + 20.0,
            esc(d)
        );
    }
    if report.results.is_empty() {
        let _ = writeln!(
            out,
            r#"<text x="{}" y="200" class="title">no results</text>"#,
            width / 2.0
        );
    }
    for (i, (chart, groups)) in charts.iter().enumerate() {
        bar_chart(&mut out, 60.0 + i as f64 * CHART_H, chart, &layout, groups);
    }
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_axes() {
        assert_eq!(nice_axis(0.0), (1.0, 0.2));
        assert_eq!(nice_axis(9_400.0), (10_000.0, 2_000.0));
        assert_eq!(nice_axis(1.3), (1.5, 0.5));
        let (m, s) = nice_axis(37.0);
        assert!(m >= 37.0 && s > 0.0);
    }

    fn stats(s: crate::load::Scenario, ok_requests: u64, ops: u32) -> ScenarioStats {
        let m = crate::load::Measurement {
            latencies_us: (1..=ops).collect(),
            ok_ops: u64::from(ops),
            ok_requests,
            steps: Vec::new(),
            errors: 0,
            error_samples: Vec::new(),
            elapsed: std::time::Duration::from_secs(1),
            server: None,
            flood: None,
        };
        ScenarioStats::new(s, "sqlite", 4, &m)
    }

    #[test]
    fn payments_column_and_chart() {
        use crate::load::Scenario;
        let rows = vec![
            stats(Scenario::Healthz, 1000, 1000),
            stats(Scenario::Payment, 200, 100),
            stats(Scenario::Checkout, 200, 100),
        ];
        assert_eq!(rows[0].payments_per_sec, None);
        assert_eq!(rows[1].payments_per_sec, Some(100.0));
        assert_eq!(rows[1].rps, 200.0);
        assert_eq!(rows[2].payments_per_sec, Some(100.0));
        let t = table(&rows);
        let lines: Vec<&str> = t.lines().collect();
        assert!(lines[0].contains("payments/s"));
        // healthz: req/s then blank payments/s; payment: both.
        assert!(lines[2].contains("1000.0") && !lines[2].contains("100.0 "));
        assert!(lines[3].contains("200.0") && lines[3].contains("100.0"));
        let mut report = Report {
            sandbox_latencies_ms: vec![0],
            latency_concurrency: None,
            results: rows,
            ..empty_report()
        };
        let svg_text = svg(&report);
        assert!(svg_text.contains("Card payments/s"));
        // Without /metrics and pid there is nothing for the cost charts.
        assert!(!svg_text.contains("Database statements"));
        assert!(!svg_text.contains("Server CPU"));
        report.results.truncate(1);
        assert!(!svg(&report).contains("Card payments/s"));
    }

    #[test]
    fn latency_column_and_ratio() {
        use crate::load::Scenario;
        let mut rows = vec![
            stats(Scenario::Healthz, 40_000, 1000),
            stats(Scenario::Payment, 600, 300),
        ];
        for r in &mut rows {
            r.sandbox_latency_ms = 200;
            r.processor = "http".into();
            r.concurrency = TARGET_LATENCY_CONCURRENCY;
        }
        rows[1].vs_healthz = Some(0.015);
        let t = table(&rows);
        let lines: Vec<&str> = t.lines().collect();
        assert!(lines[0].contains("sandbox ms") && lines[0].contains("  vs healthz  "));
        assert!(lines[3].contains(" 200 ") && lines[3].contains(" 0.015×  "));
        // Columns line up although `×` takes two bytes.
        assert_eq!(lines[0].chars().count(), lines[3].chars().count());
        assert_eq!(ratio(Some(0.25)), "0.25×");
        assert_eq!(ratio(None), "-");
    }

    /// Splits a table line into its cells (cells hold no double spaces).
    fn cells(line: &str) -> Vec<String> {
        line.split("  ")
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(String::from)
            .collect()
    }

    #[test]
    fn cost_columns() {
        use crate::load::Scenario;
        let mut rows = vec![
            stats(Scenario::Healthz, 1000, 1000),
            stats(Scenario::Payment, 200, 100),
            stats(Scenario::Payment, 200, 100),
            stats(Scenario::Status, 500, 500),
        ];
        for r in &mut rows[..2] {
            r.statements_per_request = Some(0.0);
            r.commits_per_fsync = None;
            r.server_cpu_ms_per_request = Some(0.05);
        }
        rows[1].statements_per_payment = Some(11.5);
        rows[1].statements_per_request = Some(5.75);
        rows[1].commits_per_fsync = Some(3.2);
        rows[1].server_cpu_ms_per_payment = Some(0.612);
        rows[1].server_cpu_ms_per_request = Some(0.306);
        // The same on PostgreSQL at 200 ms with the standalone sandbox.
        rows[2] = ScenarioStats {
            database: "postgres".into(),
            sandbox_latency_ms: 200,
            processor: "http".into(),
            sandbox_cpu_ms_per_payment: Some(0.101),
            ..rows[1].clone()
        };
        let t = table(&rows);
        let lines: Vec<&str> = t.lines().collect();
        let head = cells(lines[0]);
        assert_eq!(
            head[11..],
            [
                "stmt/pay",
                "stmt/req",
                "commits/fsync",
                "cpu ms/pay",
                "cpu ms/req",
                "sbx cpu ms/pay"
            ]
        );
        // Columns line up (`—` and `×` are one column each); a blank last cell is trimmed.
        for l in &lines {
            assert!(l.chars().count() <= lines[0].chars().count());
        }
        assert_eq!(lines[4].chars().count(), lines[0].chars().count());
        // healthz, SQLite, in-process: no per-payment cells, no sandbox cell; nothing
        // committed: `-`.
        let healthz = cells(lines[2]);
        assert_eq!(healthz[healthz.len() - 3..], ["0.00", "-", "0.050"]);
        let pay = cells(lines[3]);
        assert_eq!(pay[11..], ["11.50", "5.75", "3.20", "0.612", "0.306"]);
        // PostgreSQL: `—` for commits per fsync; the standalone sandbox's CPU per payment.
        let pg = cells(lines[4]);
        assert_eq!(pg[11..], ["11.50", "5.75", "—", "0.612", "0.306", "0.101"]);
        // Not measured at all (no /metrics, no pid): `-` per request, blank per payment.
        let status = cells(lines[5]);
        assert_eq!(status[status.len() - 3..], ["-", "-", "-"]);

        let report = Report {
            results: rows,
            ..empty_report()
        };
        let svg = svg(&report);
        assert!(svg.contains("Database statements per payment"));
        assert!(svg.contains("payment / sqlite / sandbox 0 ms: 11.5<"));
        assert!(svg.contains("Server CPU ms per payment"));
        assert!(svg.contains("payment / postgres / sandbox 200 ms: 0.61<"));
        assert!(svg.contains("healthz / sqlite / sandbox 0 ms: 0.05<"));
    }

    /// Rows of one server run at `latency_ms` on `db` with the given figures.
    fn run_rows(db: &str, latency_ms: u64, workers: usize) -> Vec<ScenarioStats> {
        use crate::load::Scenario;
        let mut rows = vec![
            stats(Scenario::Healthz, 10_000, 10_000),
            stats(Scenario::PaymentRequest, 4_000, 4_000),
            stats(Scenario::Status, 3_000, 3_000),
            stats(Scenario::Payment, 6_200, 3_100),
        ];
        for r in &mut rows {
            r.database = db.into();
            r.sandbox_latency_ms = latency_ms;
            r.concurrency = workers;
        }
        crate::runs::fill_ratios(&mut rows);
        rows
    }

    #[test]
    fn targets_pass_miss_and_unmeasured() {
        let mut rows = run_rows("sqlite", 0, TARGET_CONCURRENCY);
        rows[3].p99_ms = Some(40.0);
        rows[3].statements_per_payment = Some(12.5);
        let mut slow = run_rows("sqlite", TARGET_LATENCY_MS, TARGET_LATENCY_CONCURRENCY);
        slow[3].payments_per_sec = Some(2_500.0);
        rows.extend(slow);
        // PostgreSQL at the wrong concurrency: not the targets' run.
        rows.extend(run_rows("postgres", 0, 32));

        let t = targets(&rows);
        // 12 of the engine issue, 3 per database of the hardening issue's auth flood.
        assert_eq!(t.len(), 18);
        let find = |db: &str, metric: &str, scenario: &str, latency: u64| {
            t.iter()
                .find(|x| {
                    x.database == db
                        && x.metric == metric
                        && x.scenario == scenario
                        && x.sandbox_latency_ms == latency
                })
                .unwrap()
        };
        let pps = find("sqlite", "payments_per_sec", "payment", 0);
        assert_eq!((pps.measured, pps.pass), (Some(3_100.0), Some(true)));
        assert_eq!(pps.threshold, 3_000.0);
        assert_eq!(pps.fraction, Some(1.033));
        assert_eq!(
            find("postgres", "payments_per_sec", "payment", 0).threshold,
            2_000.0
        );
        assert_eq!(find("sqlite", "p99_ms", "payment", 0).status, "PASS");
        assert_eq!(
            find("sqlite", "vs_healthz", "paymentrequest", 0).status,
            "PASS"
        );
        let st = find("sqlite", "vs_healthz", "status", 0);
        assert_eq!((st.measured, st.status.as_str()), (Some(0.3), "MISS"));
        let slow = find("sqlite", "payments_per_sec", "payment", 200);
        assert_eq!((slow.concurrency, slow.pass), (1000, Some(false)));
        let stmts = find("sqlite", "statements_per_payment", "payment", 0);
        assert_eq!((stmts.comparison.as_str(), stmts.pass), ("<=", Some(false)));
        let pg = find("postgres", "payments_per_sec", "payment", 200);
        assert_eq!(
            (pg.measured, pg.pass, pg.status.as_str()),
            (None, None, "not measured")
        );

        assert_eq!(
            find("sqlite", "flood.server_errors", "authflood", 0).status,
            "not measured"
        );

        let lines = target_lines(&t);
        assert_eq!(lines.len(), 19);
        assert_eq!(
            lines[0],
            "target: payment on sqlite with the in-process sandbox and 64 clients >= 3000 payments/s: \
             3100.0 payments/s, 103.3% of target: PASS"
        );
        assert_eq!(
            lines[1],
            "target: payment on postgres with the in-process sandbox and 64 clients >= 2000 payments/s: \
             not measured in this run (no payment row on postgres at sandbox latency 0 ms with 64 clients)"
        );
        assert_eq!(
            lines[2],
            "target: payment p99 on sqlite with the in-process sandbox and 64 clients <= 50 ms: 40.00 ms: PASS"
        );
        assert_eq!(
            lines[6],
            "target: status on sqlite with the in-process sandbox and 64 clients >= 0.35× healthz: \
             0.30× healthz, 85.7% of target: MISS"
        );
        assert_eq!(
            lines[8],
            "target: payment on sqlite at 200 ms sandbox latency with 1000 clients >= 3000 payments/s: \
             2500.0 payments/s, 83.3% of target: MISS"
        );
        assert_eq!(
            lines[10],
            "target: statements per payment on sqlite with the in-process sandbox and 64 clients <= 12: 12.50: MISS"
        );
        assert!(lines[11].contains("not measured in this run (no payment row"));
        assert!(lines[12].contains("authflood p99 on sqlite"));
        assert_eq!(
            lines[18],
            "targets: 3 PASS, 3 MISS, 12 not measured (of 18)"
        );
        // A row without the figure (here: /metrics was not read).
        rows[3].statements_per_payment = None;
        let t = targets(&rows);
        assert_eq!(
            t[10].note.as_deref(),
            Some("the payment row has no statements_per_payment")
        );
        let json = serde_json::to_value(&t[0]).unwrap();
        assert_eq!(json["status"], "PASS");
        assert_eq!(json["comparison"], ">=");
        assert!(json.get("note").is_none());
    }

    #[test]
    fn svg_groups_scenarios_per_latency() {
        use crate::load::Scenario;
        let mut rows = vec![
            stats(Scenario::Healthz, 1000, 1000),
            stats(Scenario::Payment, 200, 100),
            stats(Scenario::Healthz, 900, 900),
            stats(Scenario::Payment, 20, 10),
        ];
        rows[2].sandbox_latency_ms = 200;
        rows[3].sandbox_latency_ms = 200;
        let layout = Layout::new(&rows);
        assert_eq!(layout.groups.len(), 4);
        assert_eq!(layout.dbs, vec!["sqlite".to_string()]);
        let report = Report {
            results: rows,
            ..empty_report()
        };
        let svg = svg(&report);
        assert!(svg.contains("sandbox 200 ms") && svg.contains("stroke-dasharray"));
        assert!(svg.contains("payment / sqlite / sandbox 200 ms: 10.0"));
    }

    fn empty_report() -> Report {
        Report {
            timestamp: "t".into(),
            unix_time: 0,
            git_commit: None,
            nproc: 2,
            os: "linux".into(),
            arch: "x86_64".into(),
            concurrency: 4,
            payment_concurrency: 4,
            sandbox_latencies_ms: vec![0, 200],
            latency_concurrency: Some(1000),
            processor_timeout_secs: None,
            duration_secs: 1,
            warmup_secs: 0,
            target_url: None,
            results: Vec::new(),
            targets: Vec::new(),
            skipped: Vec::new(),
            notes: Vec::new(),
        }
    }

    #[test]
    fn timestamp_shape() {
        let (ts, secs) = now_utc();
        assert_eq!(ts.len(), 20);
        assert!(ts.ends_with('Z') && secs > 1_600_000_000);
    }
}
