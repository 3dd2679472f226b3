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
    /// The product target and how each database fared against it.
    pub target: Option<TargetCheck>,
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

/// The throughput the product asks for: `payment` with this sandbox latency and this
/// many clients must reach this many payments/s.
pub const TARGET_LATENCY_MS: u64 = 200;
pub const TARGET_CONCURRENCY: usize = 1000;
pub const TARGET_PAYMENTS_PER_SEC: f64 = 3000.0;

/// The product target and the matching `payment` rows (none when the run did not
/// include that latency and concurrency).
#[derive(Debug, Serialize)]
pub struct TargetCheck {
    pub scenario: String,
    pub sandbox_latency_ms: u64,
    pub concurrency: usize,
    pub payments_per_sec: f64,
    pub results: Vec<TargetResult>,
}

#[derive(Debug, Serialize)]
pub struct TargetResult {
    pub database: String,
    pub payments_per_sec: f64,
    /// `payments_per_sec` over the target.
    pub fraction: f64,
    pub met: bool,
}

/// Compares the `payment` rows at the target's latency and concurrency with the target.
pub fn target_check(results: &[ScenarioStats]) -> TargetCheck {
    let rows = results.iter().filter(|r| {
        r.scenario == "payment"
            && r.sandbox_latency_ms == TARGET_LATENCY_MS
            && r.concurrency == TARGET_CONCURRENCY
    });
    TargetCheck {
        scenario: "payment".into(),
        sandbox_latency_ms: TARGET_LATENCY_MS,
        concurrency: TARGET_CONCURRENCY,
        payments_per_sec: TARGET_PAYMENTS_PER_SEC,
        results: rows
            .map(|r| {
                let pps = r.payments_per_sec.unwrap_or(0.0);
                TargetResult {
                    database: r.database.clone(),
                    payments_per_sec: pps,
                    fraction: (pps / TARGET_PAYMENTS_PER_SEC * 1000.0).round() / 1000.0,
                    met: pps >= TARGET_PAYMENTS_PER_SEC,
                }
            })
            .collect(),
    }
}

/// The target check as lines for stdout.
pub fn target_lines(t: &TargetCheck) -> Vec<String> {
    let head = format!(
        "target: {} at {} ms sandbox latency with {} clients >= {:.0} payments/s",
        t.scenario, t.sandbox_latency_ms, t.concurrency, t.payments_per_sec
    );
    if t.results.is_empty() {
        return vec![format!(
            "{head}: not measured in this run (needs --sandbox-latencies with {} and --latency-concurrency {})",
            t.sandbox_latency_ms, t.concurrency
        )];
    }
    std::iter::once(format!("{head}:"))
        .chain(t.results.iter().map(|r| {
            format!(
                "  {}: {:.1} payments/s, {:.1}% of target: {}",
                r.database,
                r.payments_per_sec,
                r.fraction * 100.0,
                if r.met { "met" } else { "NOT met" }
            )
        }))
        .collect()
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

const TABLE_HEADER: [&str; 11] = [
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
];

fn table_row(r: &ScenarioStats) -> [String; 11] {
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
    ]
}

/// The results table: one row per scenario, database and sandbox latency (one server
/// run each); `vs healthz` is relative to the `healthz` row of the same run.
pub fn table(results: &[ScenarioStats]) -> String {
    let rows: Vec<[String; 11]> = results.iter().map(table_row).collect();
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

pub fn svg(report: &Report) -> String {
    let layout = Layout::new(&report.results);
    // A third chart for payments/s when a payment scenario ran.
    let payment_groups: Vec<Group> = layout
        .groups
        .iter()
        .filter(|g| {
            layout
                .dbs
                .iter()
                .any(|d| layout.get(g, d, |r| r.payments_per_sec).is_some())
        })
        .cloned()
        .collect();
    let charts = if payment_groups.is_empty() { 2.0 } else { 3.0 };
    let width = layout.width;
    let height = 70.0 + charts * CHART_H + 10.0;
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
    bar_chart(&mut out, 60.0, &throughput, &layout, &layout.groups);
    bar_chart(&mut out, 60.0 + CHART_H, &p99, &layout, &layout.groups);
    if !payment_groups.is_empty() {
        let payments = Chart {
            title: "Card payments/s (both requests succeeded, higher is better)",
            y_label: "payments / s",
            value: |r| r.payments_per_sec,
            label: |v| format!("{v:.1}"),
        };
        bar_chart(
            &mut out,
            60.0 + 2.0 * CHART_H,
            &payments,
            &layout,
            &payment_groups,
        );
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
            timestamp: "t".into(),
            unix_time: 0,
            git_commit: None,
            nproc: 2,
            os: "linux".into(),
            arch: "x86_64".into(),
            concurrency: 4,
            payment_concurrency: 4,
            sandbox_latencies_ms: vec![0],
            latency_concurrency: None,
            processor_timeout_secs: None,
            duration_secs: 1,
            warmup_secs: 0,
            target_url: None,
            results: rows,
            target: None,
            skipped: Vec::new(),
            notes: Vec::new(),
        };
        assert!(svg(&report).contains("Card payments/s"));
        report.results.truncate(1);
        assert!(!svg(&report).contains("Card payments/s"));
    }

    #[test]
    fn latency_column_ratio_and_target() {
        use crate::load::Scenario;
        let mut rows = vec![
            stats(Scenario::Healthz, 40_000, 1000),
            stats(Scenario::Payment, 600, 300),
        ];
        for r in &mut rows {
            r.sandbox_latency_ms = 200;
            r.concurrency = TARGET_CONCURRENCY;
        }
        rows[1].vs_healthz = Some(0.015);
        let t = table(&rows);
        let lines: Vec<&str> = t.lines().collect();
        assert!(lines[0].contains("sandbox ms") && lines[0].ends_with("vs healthz"));
        assert!(lines[3].contains(" 200 ") && lines[3].ends_with("0.015×"));
        // Columns line up although `×` takes two bytes.
        assert_eq!(lines[0].chars().count(), lines[3].chars().count());
        let check = target_check(&rows);
        assert_eq!(check.results.len(), 1);
        assert_eq!(check.results[0].payments_per_sec, 300.0);
        assert_eq!(check.results[0].fraction, 0.1);
        assert!(!check.results[0].met);
        assert!(target_lines(&check)[1].contains("NOT met"));
        assert!(target_lines(&target_check(&rows[..1]))[0].contains("not measured"));
        assert_eq!(ratio(Some(0.25)), "0.25×");
        assert_eq!(ratio(None), "-");
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
            target: None,
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
