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
    /// Workers of the payment scenarios (`--payment-concurrency`).
    pub payment_concurrency: usize,
    /// `serve --sandbox-latency-ms`: added to every sandbox processor call.
    pub sandbox_latency_ms: u64,
    /// `serve --processor-timeout-secs`, when given.
    pub processor_timeout_secs: Option<u64>,
    pub duration_secs: u64,
    pub warmup_secs: u64,
    /// Base URL when run with `--target-url`, otherwise absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_url: Option<String>,
    pub results: Vec<ScenarioStats>,
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

fn opt(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |x| format!("{x:.2}"))
}

pub fn table(results: &[ScenarioStats]) -> String {
    let header = [
        "scenario",
        "database",
        "concurrency",
        "req/s",
        "payments/s",
        "p50 ms",
        "p99 ms",
        "p99.9 ms",
        "errors",
        "vs healthz",
    ];
    let rows: Vec<[String; 10]> = results
        .iter()
        .map(|r| {
            [
                r.scenario.clone(),
                r.database.clone(),
                r.concurrency.to_string(),
                format!("{:.1}", r.rps),
                r.payments_per_sec
                    .map_or_else(String::new, |x| format!("{x:.1}")),
                opt(r.p50_ms),
                opt(r.p99_ms),
                opt(r.p999_ms),
                r.errors.to_string(),
                r.vs_healthz
                    .map_or_else(|| "-".into(), |x| format!("{x:.2}")),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &[&str]| {
        let parts: Vec<String> = cells
            .iter()
            .zip(widths)
            .enumerate()
            // Text columns left-aligned, numbers right-aligned.
            .map(|(i, (c, w))| {
                if i < 2 {
                    format!("{c:<w$}")
                } else {
                    format!("{c:>w$}")
                }
            })
            .collect();
        out.push_str(parts.join("  ").trim_end());
        out.push('\n');
    };
    line(&header);
    line(
        &widths
            .map(|w| "-".repeat(w))
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
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
const WIDTH: f64 = 960.0;
const CHART_H: f64 = 330.0;

struct Chart<'a> {
    title: &'a str,
    y_label: &'a str,
    value: fn(&ScenarioStats) -> Option<f64>,
    label: fn(f64) -> String,
}

/// One grouped bar chart at vertical offset `top`: groups are scenarios,
/// bars within a group are databases.
fn bar_chart(
    out: &mut String,
    top: f64,
    chart: &Chart,
    scenarios: &[String],
    dbs: &[String],
    results: &[ScenarioStats],
) {
    let (left, right, plot_top, plot_bottom) =
        (90.0, WIDTH - 30.0, top + 40.0, top + CHART_H - 50.0);
    let plot_h = plot_bottom - plot_top;
    let get = |s: &str, d: &str| {
        results
            .iter()
            .find(|r| r.scenario == s && r.database == d)
            .and_then(chart.value)
    };
    let max = results.iter().filter_map(chart.value).fold(0.0, f64::max);
    // Headroom so the value printed above the tallest bar stays inside the plot.
    let (axis_max, step) = nice_axis(max * 1.08);
    let y = |v: f64| plot_bottom - v / axis_max * plot_h;

    let _ = writeln!(
        out,
        r#"<text x="{}" y="{}" class="title">{}</text>"#,
        WIDTH / 2.0,
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

    let group_w = (right - left) / scenarios.len().max(1) as f64;
    let bar_w = (group_w * 0.8 / dbs.len().max(1) as f64).min(90.0);
    for (gi, s) in scenarios.iter().enumerate() {
        let gx = left + gi as f64 * group_w;
        let bars_x = gx + (group_w - bar_w * dbs.len() as f64) / 2.0;
        for (di, d) in dbs.iter().enumerate() {
            let x = bars_x + di as f64 * bar_w;
            let color = COLORS[di % COLORS.len()];
            match get(s, d) {
                Some(val) => {
                    let yy = y(val);
                    let _ = writeln!(
                        out,
                        r#"<rect x="{:.1}" y="{yy:.1}" width="{:.1}" height="{:.1}" fill="{color}"><title>{} / {}: {}</title></rect>"#,
                        x + 2.0,
                        bar_w - 4.0,
                        plot_bottom - yy,
                        esc(s),
                        esc(d),
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
                None => {
                    let _ = writeln!(
                        out,
                        r#"<text x="{:.1}" y="{:.1}" class="val">n/a</text>"#,
                        x + bar_w / 2.0,
                        plot_bottom - 4.0
                    );
                }
            }
        }
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}" class="axis">{}</text>"#,
            gx + group_w / 2.0,
            plot_bottom + 18.0,
            esc(s)
        );
    }
    let _ = writeln!(
        out,
        r#"<text x="{:.1}" y="{:.1}" class="axis">scenario</text>"#,
        (left + right) / 2.0,
        plot_bottom + 38.0
    );
}

pub fn svg(report: &Report) -> String {
    let mut scenarios: Vec<String> = Vec::new();
    let mut dbs: Vec<String> = Vec::new();
    for r in &report.results {
        if !scenarios.contains(&r.scenario) {
            scenarios.push(r.scenario.clone());
        }
        if !dbs.contains(&r.database) {
            dbs.push(r.database.clone());
        }
    }
    // A third chart for payments/s when a payment scenario ran.
    let payment_scenarios: Vec<String> = scenarios
        .iter()
        .filter(|s| {
            report
                .results
                .iter()
                .any(|r| &r.scenario == *s && r.payments_per_sec.is_some())
        })
        .cloned()
        .collect();
    let charts = if payment_scenarios.is_empty() {
        2.0
    } else {
        3.0
    };
    let height = 70.0 + charts * CHART_H + 10.0;
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif">"#
    );
    out.push_str(
        "<style>.title{font-size:16px;font-weight:bold;text-anchor:middle}.axis{font-size:13px;text-anchor:middle}\
         .tick{font-size:11px;fill:#555}.val{font-size:11px;text-anchor:middle}.sub{font-size:12px;fill:#555;text-anchor:middle}</style>\n",
    );
    let _ = writeln!(out, r#"<rect width="100%" height="100%" fill="white"/>"#);
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
    if report.sandbox_latency_ms > 0 {
        let _ = write!(sub, " | sandbox latency {} ms", report.sandbox_latency_ms);
    }
    let _ = write!(
        sub,
        " | {} s (+{} s warmup) per scenario",
        report.duration_secs, report.warmup_secs
    );
    let _ = writeln!(
        out,
        r#"<text x="{}" y="20" class="sub">{}</text>"#,
        WIDTH / 2.0,
        esc(&sub)
    );
    // Legend.
    for (i, d) in dbs.iter().enumerate() {
        let x = WIDTH / 2.0 - 60.0 * dbs.len() as f64 + 120.0 * i as f64;
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
            WIDTH / 2.0
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
    bar_chart(
        &mut out,
        60.0,
        &throughput,
        &scenarios,
        &dbs,
        &report.results,
    );
    bar_chart(
        &mut out,
        60.0 + CHART_H,
        &p99,
        &scenarios,
        &dbs,
        &report.results,
    );
    if !payment_scenarios.is_empty() {
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
            &payment_scenarios,
            &dbs,
            &report.results,
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
            sandbox_latency_ms: 0,
            processor_timeout_secs: None,
            duration_secs: 1,
            warmup_secs: 0,
            target_url: None,
            results: rows,
            skipped: Vec::new(),
            notes: Vec::new(),
        };
        assert!(svg(&report).contains("Card payments/s"));
        report.results.truncate(1);
        assert!(!svg(&report).contains("Card payments/s"));
    }

    #[test]
    fn timestamp_shape() {
        let (ts, secs) = now_utc();
        assert_eq!(ts.len(), 20);
        assert!(ts.ends_with('Z') && secs > 1_600_000_000);
    }
}
