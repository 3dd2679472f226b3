//! What the server (and the standalone sandbox processor) spent during a scenario's
//! measured window: the Prometheus counters of `GET /metrics` (database statements and
//! requests per route, write transactions and durable commits) and the processes' CPU
//! time from `/proc/<pid>/stat`, each read right before and right after the window.

use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Duration;

use anyhow::{Context, Result};
use reqwest::{Client, Url};
use serde::Serialize;
use tokio::time::Instant;

use crate::load;

/// Per-route request counts (summed over status) of the latency histograms.
pub const REQUESTS_METRIC: &str = "dealerpay_http_request_duration_seconds_count";
/// Per-route database statements (summed over status).
pub const ROUTE_STATEMENTS_METRIC: &str = "dealerpay_http_db_statements_total";
/// Write transactions run, all of the server.
pub const TRANSACTIONS_METRIC: &str = "dealerpay_db_transactions_total";
/// Commits made durable (SQLite: one WAL fsync each, shared by a group of transactions).
pub const COMMITS_METRIC: &str = "dealerpay_db_commits_total";
/// Clock ticks per second when `getconf CLK_TCK` does not answer (Linux's USER_HZ).
pub const DEFAULT_CLK_TCK: u64 = 100;
/// A scrape of `/metrics` that takes longer is given up (the window's figures are then
/// missing, not wrong).
const SCRAPE_TIMEOUT: Duration = Duration::from_secs(10);

/// Requests and statements of one route, summed over its status codes.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct RouteCounters {
    pub requests: f64,
    pub statements: f64,
}

/// The counters of one `/metrics` page the bench uses.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MetricsSnapshot {
    /// `(method, route with its parameters written "{}")`.
    pub routes: HashMap<(String, String), RouteCounters>,
    pub db_transactions: Option<f64>,
    pub db_commits: Option<f64>,
}

/// A route template with every path parameter written `{}` (`{paymentAttemptUuid}` and
/// `:id` alike), so that renaming a parameter on the server does not lose the series.
pub fn normalize_route(route: &str) -> String {
    route
        .split('/')
        .map(|seg| {
            if (seg.starts_with('{') && seg.ends_with('}')) || seg.starts_with(':') {
                "{}"
            } else {
                seg
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// One sample of the Prometheus text format.
#[derive(Debug, PartialEq)]
pub struct Sample<'a> {
    pub name: &'a str,
    /// `(name, unescaped value)` in order.
    pub labels: Vec<(&'a str, String)>,
    pub value: f64,
}

impl Sample<'_> {
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One sample line of the Prometheus text format: `name{k="v",...} value [timestamp]`.
/// `None` for comments, blank lines and anything malformed.
pub fn parse_sample(line: &str) -> Option<Sample<'_>> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let name_end = line
        .find(|c: char| c == '{' || c.is_whitespace())
        .unwrap_or(line.len());
    let name = &line[..name_end];
    let mut rest = &line[name_end..];
    let mut labels = Vec::new();
    if let Some(body) = rest.strip_prefix('{') {
        let mut s = body;
        loop {
            s = s.trim_start_matches([',', ' ']);
            if let Some(after) = s.strip_prefix('}') {
                rest = after;
                break;
            }
            let eq = s.find('=')?;
            let key = s[..eq].trim();
            let quoted = s[eq + 1..].trim_start().strip_prefix('"')?;
            let mut value = String::new();
            let mut end = None;
            let mut escaped = false;
            for (i, c) in quoted.char_indices() {
                match (escaped, c) {
                    (true, 'n') => {
                        value.push('\n');
                        escaped = false;
                    }
                    (true, c) => {
                        value.push(c);
                        escaped = false;
                    }
                    (false, '\\') => escaped = true,
                    (false, '"') => {
                        end = Some(i);
                        break;
                    }
                    (false, c) => value.push(c),
                }
            }
            labels.push((key, value));
            s = &quoted[end? + 1..];
        }
    }
    let value = rest.split_whitespace().next()?;
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v.parse().ok()?,
    };
    Some(Sample {
        name,
        labels,
        value,
    })
}

/// The counters the bench needs from a `/metrics` page; other lines are skipped.
pub fn parse_metrics(text: &str) -> MetricsSnapshot {
    let mut snap = MetricsSnapshot::default();
    for line in text.lines() {
        // Cheap filter first: most lines are histogram buckets.
        if !line.starts_with("dealerpay_")
            || line.starts_with("dealerpay_http_request_duration_seconds_b")
        {
            continue;
        }
        let Some(sample) = parse_sample(line) else {
            continue;
        };
        let (name, value) = (sample.name, sample.value);
        match name {
            TRANSACTIONS_METRIC => snap.db_transactions = Some(value),
            COMMITS_METRIC => snap.db_commits = Some(value),
            REQUESTS_METRIC | ROUTE_STATEMENTS_METRIC => {
                let (Some(method), Some(route)) = (sample.label("method"), sample.label("route"))
                else {
                    continue;
                };
                let c = snap
                    .routes
                    .entry((method.to_ascii_uppercase(), normalize_route(route)))
                    .or_default();
                if name == REQUESTS_METRIC {
                    c.requests += value;
                } else {
                    c.statements += value;
                }
            }
            _ => {}
        }
    }
    snap
}

/// utime + stime (fields 14 and 15) of a `/proc/<pid>/stat` line, in clock ticks. The
/// command name (field 2) is in parentheses and may itself hold spaces and parentheses,
/// so the fields are counted after the last `)`.
pub fn parse_proc_stat_ticks(stat: &str) -> Option<u64> {
    let after = &stat[stat.rfind(')')? + 1..];
    // `after` starts with field 3 (state): field n is at index n - 3.
    let mut fields = after.split_whitespace().skip(14 - 3);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// CPU time (user + system, all threads) process `pid` has used so far, in clock ticks.
pub fn cpu_ticks(pid: u32) -> Option<u64> {
    parse_proc_stat_ticks(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// Parses the output of `getconf CLK_TCK`.
pub fn parse_clk_tck(out: &str) -> Option<u64> {
    out.trim().parse().ok().filter(|&n| n > 0)
}

/// Clock ticks per second of `/proc/<pid>/stat` (`getconf CLK_TCK`, run once; 100 when
/// it does not answer).
pub fn clock_ticks_per_sec() -> u64 {
    static TCK: OnceLock<u64> = OnceLock::new();
    *TCK.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .stderr(std::process::Stdio::null())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .and_then(|o| parse_clk_tck(&String::from_utf8_lossy(&o.stdout)))
            .unwrap_or(DEFAULT_CLK_TCK)
    })
}

/// The counters at one instant.
#[derive(Clone, Debug)]
pub struct Snapshot {
    pub metrics: Result<MetricsSnapshot, String>,
    pub server_ticks: Option<u64>,
    pub sandbox_ticks: Option<u64>,
}

/// Reads the counters of one server run: its `/metrics` and the CPU time of the server
/// and the standalone sandbox processor (when the bench started them and knows the pids).
#[derive(Clone)]
pub struct Probe {
    client: Client,
    /// `None` when the server has no usable `/metrics`.
    metrics_url: Option<Url>,
    server_pid: Option<u32>,
    sandbox_pid: Option<u32>,
}

impl Probe {
    /// The server process, when known.
    pub fn server_pid(&self) -> Option<u32> {
        self.server_pid
    }

    /// A probe for the server at `base`. Scrapes `/metrics` once (which also opens the
    /// probe's connection); if that fails, the probe reads CPU time only and the returned
    /// warning says why.
    pub async fn new(
        base: &str,
        server_pid: Option<u32>,
        sandbox_pid: Option<u32>,
    ) -> Result<(Probe, Option<String>)> {
        let client = Client::builder()
            .http1_only()
            .pool_max_idle_per_host(1)
            .tcp_nodelay(true)
            .timeout(SCRAPE_TIMEOUT)
            .no_proxy()
            .build()
            .context("building the /metrics client")?;
        let url = format!("{}/metrics", base.trim_end_matches('/'));
        let url = Url::parse(&url).with_context(|| format!("bad URL {url}"))?;
        let mut probe = Probe {
            client,
            metrics_url: Some(url),
            server_pid,
            sandbox_pid,
        };
        let warning = match probe.scrape().await {
            Ok(m) if !m.routes.is_empty() || m.db_transactions.is_some() => None,
            Ok(_) => Some(format!(
                "GET /metrics has neither {ROUTE_STATEMENTS_METRIC} nor {TRANSACTIONS_METRIC}"
            )),
            Err(e) => Some(e),
        };
        if warning.is_some() {
            probe.metrics_url = None;
        }
        Ok((probe, warning))
    }

    async fn scrape(&self) -> Result<MetricsSnapshot, String> {
        let url = self
            .metrics_url
            .clone()
            .ok_or_else(|| "no /metrics".to_string())?;
        let resp = self
            .client
            .get(url)
            .send()
            .await
            .map_err(|e| format!("GET /metrics: {}", load::error_chain(&e)))?;
        let status = resp.status();
        let text = resp
            .text()
            .await
            .map_err(|e| format!("GET /metrics: reading body: {}", load::error_chain(&e)))?;
        if !status.is_success() {
            return Err(format!("GET /metrics: HTTP {status}"));
        }
        Ok(parse_metrics(&text))
    }

    /// The counters now: CPU time first (a file read), then the scrape.
    pub async fn snapshot(&self) -> Snapshot {
        let server_ticks = self.server_pid.and_then(cpu_ticks);
        let sandbox_ticks = self.sandbox_pid.and_then(cpu_ticks);
        Snapshot {
            metrics: self.scrape().await,
            server_ticks,
            sandbox_ticks,
        }
    }

    /// Snapshots at `from` and at `to` (the measured window).
    pub async fn window(self, from: Instant, to: Instant) -> Window {
        tokio::time::sleep_until(from).await;
        let before = self.snapshot().await;
        tokio::time::sleep_until(to).await;
        let after = self.snapshot().await;
        Window {
            before,
            after,
            clock_ticks_per_sec: clock_ticks_per_sec(),
        }
    }
}

/// The counters right before and right after a measured window.
#[derive(Clone, Debug)]
pub struct Window {
    pub before: Snapshot,
    pub after: Snapshot,
    pub clock_ticks_per_sec: u64,
}

/// What the server did during one scenario's window, as stored in `latest.json`
/// (`server_counters`): the raw differences the per-payment and per-request figures are
/// computed from.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ServerCounters {
    /// The routes the scenario calls, `METHOD /route/{param}` as in `/metrics`.
    pub routes: Vec<String>,
    /// Requests the server finished on those routes in the window (any status).
    pub route_requests: Option<u64>,
    /// Database statements those requests ran.
    pub route_statements: Option<u64>,
    /// Write transactions of the whole server in the window.
    pub db_transactions: Option<u64>,
    /// Durable commits of the whole server in the window (SQLite: WAL fsyncs).
    pub db_commits: Option<u64>,
    /// CPU time (user + system) of the server process in the window.
    pub server_cpu_secs: Option<f64>,
    /// CPU time of the standalone sandbox processor in the window (runs above 0 ms).
    pub sandbox_cpu_secs: Option<f64>,
    pub clock_ticks_per_sec: u64,
    /// Why the `/metrics` figures are missing, if they are.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics_error: Option<String>,
}

/// `after - before` of a counter; `None` if either is missing or it went backwards.
fn delta(before: Option<f64>, after: Option<f64>) -> Option<u64> {
    let d = after? - before?;
    (d >= 0.0 && d.is_finite()).then(|| d.round() as u64)
}

impl Window {
    /// The window's differences, for the routes of a scenario (`(method, route)`).
    pub fn counters(&self, routes: &[(&str, &str)]) -> ServerCounters {
        let tck = self.clock_ticks_per_sec.max(1);
        let cpu = |b: Option<u64>, a: Option<u64>| {
            let d = a?.checked_sub(b?)?;
            Some((d as f64 / tck as f64 * 1000.0).round() / 1000.0)
        };
        let mut c = ServerCounters {
            routes: routes.iter().map(|(m, r)| format!("{m} {r}")).collect(),
            server_cpu_secs: cpu(self.before.server_ticks, self.after.server_ticks),
            sandbox_cpu_secs: cpu(self.before.sandbox_ticks, self.after.sandbox_ticks),
            clock_ticks_per_sec: tck,
            ..Default::default()
        };
        let (b, a) = match (&self.before.metrics, &self.after.metrics) {
            (Ok(b), Ok(a)) => (b, a),
            (Err(e), _) | (_, Err(e)) => {
                c.metrics_error = Some(e.clone());
                return c;
            }
        };
        c.db_transactions = delta(b.db_transactions, a.db_transactions);
        c.db_commits = delta(b.db_commits, a.db_commits);
        let sum = |s: &MetricsSnapshot, f: fn(&RouteCounters) -> f64| -> f64 {
            routes
                .iter()
                .filter_map(|(m, r)| {
                    s.routes
                        .get(&(m.to_ascii_uppercase(), normalize_route(r)))
                        .map(f)
                })
                .sum()
        };
        // A route absent before the window has simply not been called yet: zero.
        c.route_requests = delta(Some(sum(b, |r| r.requests)), Some(sum(a, |r| r.requests)));
        c.route_statements = delta(
            Some(sum(b, |r| r.statements)),
            Some(sum(a, |r| r.statements)),
        );
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"# HELP dealerpay_db_statements_total Database statements executed (queries and DML).
# TYPE dealerpay_db_statements_total counter
dealerpay_db_statements_total 9000
dealerpay_db_transactions_total 300
dealerpay_db_commits_total 100
dealerpay_http_requests_in_flight 3
dealerpay_http_request_duration_seconds_bucket{method="POST",route="/payment/kpayment/v1/prepayment",status="200",le="0.001"} 5
dealerpay_http_request_duration_seconds_bucket{method="POST",route="/payment/kpayment/v1/prepayment",status="200",le="+Inf"} 100
dealerpay_http_request_duration_seconds_sum{method="POST",route="/payment/kpayment/v1/prepayment",status="200"} 1.25
dealerpay_http_request_duration_seconds_count{method="POST",route="/payment/kpayment/v1/prepayment",status="200"} 100
dealerpay_http_request_duration_seconds_count{method="POST",route="/payment/kpayment/v1/prepayment",status="409"} 2
dealerpay_http_request_duration_seconds_count{method="POST",route="/payment/kpayment/v1/paymentattempts/{paymentAttemptUuid}/confirm",status="200"} 98
dealerpay_http_request_duration_seconds_count{method="GET",route="/metrics",status="200"} 7
# HELP dealerpay_http_db_statements_total Database statements run by requests, by route and status.
dealerpay_http_db_statements_total{method="POST",route="/payment/kpayment/v1/prepayment",status="200"} 500
dealerpay_http_db_statements_total{method="POST",route="/payment/kpayment/v1/prepayment",status="409"} 4
dealerpay_http_db_statements_total{method="POST",route="/payment/kpayment/v1/paymentattempts/{paymentAttemptUuid}/confirm",status="200"} 686
dealerpay_http_db_statements_total{method="GET",route="/metrics",status="200"} 0
"#;

    const PAYMENT: [(&str, &str); 2] = [
        ("POST", "/payment/kpayment/v1/prepayment"),
        (
            "POST",
            "/payment/kpayment/v1/paymentattempts/{paymentAttemptUuid}/confirm",
        ),
    ];

    #[test]
    fn samples() {
        let s = parse_sample(
            r#"a_total{method="GET",route="/x/{id}",status="200",le="+Inf"} 12 1700000000"#,
        )
        .unwrap();
        assert_eq!(s.name, "a_total");
        assert_eq!(s.value, 12.0);
        assert_eq!(s.label("route"), Some("/x/{id}"));
        assert_eq!(s.labels[3], ("le", "+Inf".to_string()));
        assert_eq!(s.label("nope"), None);
        let s = parse_sample("plain_total 3.5e3").unwrap();
        assert_eq!(
            (s.name, s.labels.len(), s.value),
            ("plain_total", 0, 3500.0)
        );
        // Escapes inside label values; a comma and braces inside quotes.
        let s = parse_sample(r#"x{a="q\"u,o}te",b="back\\slash"} 1"#).unwrap();
        assert_eq!(s.label("a"), Some("q\"u,o}te"));
        assert_eq!(s.label("b"), Some("back\\slash"));
        assert!(parse_sample("# HELP x y").is_none());
        assert!(parse_sample("").is_none());
        assert!(parse_sample("x{a=1} 2").is_none());
        assert!(parse_sample("x notanumber").is_none());
    }

    #[test]
    fn metrics_page() {
        let m = parse_metrics(PAGE);
        assert_eq!(m.db_transactions, Some(300.0));
        assert_eq!(m.db_commits, Some(100.0));
        let pre = m.routes[&("POST".into(), "/payment/kpayment/v1/prepayment".into())];
        // Summed over status 200 and 409.
        assert_eq!(
            pre,
            RouteCounters {
                requests: 102.0,
                statements: 504.0
            }
        );
        let confirm = m.routes[&(
            "POST".into(),
            "/payment/kpayment/v1/paymentattempts/{}/confirm".into(),
        )];
        assert_eq!(confirm.requests, 98.0);
        assert_eq!(confirm.statements, 686.0);
    }

    #[test]
    fn routes_match_whatever_the_parameter_is_called() {
        assert_eq!(
            normalize_route("/a/{paymentAttemptUuid}/confirm"),
            "/a/{}/confirm"
        );
        assert_eq!(normalize_route("/a/:id/confirm"), "/a/{}/confirm");
        assert_eq!(normalize_route("/healthz"), "/healthz");
    }

    fn snap(page: &str, server: u64, sandbox: Option<u64>) -> Snapshot {
        Snapshot {
            metrics: Ok(parse_metrics(page)),
            server_ticks: Some(server),
            sandbox_ticks: sandbox,
        }
    }

    #[test]
    fn window_differences() {
        let later = PAGE
            .replace("transactions_total 300", "transactions_total 1500")
            .replace("commits_total 100", "commits_total 400")
            .replace("status=\"200\"} 100\n", "status=\"200\"} 1100\n")
            .replace("status=\"200\"} 98\n", "status=\"200\"} 1098\n")
            .replace("status=\"200\"} 500\n", "status=\"200\"} 6500\n")
            .replace("status=\"200\"} 686\n", "status=\"200\"} 6686\n");
        let w = Window {
            before: snap(PAGE, 1_000, Some(50)),
            after: snap(&later, 1_250, Some(80)),
            clock_ticks_per_sec: 100,
        };
        let c = w.counters(&PAYMENT);
        assert_eq!(c.route_requests, Some(2_000));
        assert_eq!(c.route_statements, Some(12_000));
        assert_eq!(c.db_transactions, Some(1_200));
        assert_eq!(c.db_commits, Some(300));
        assert_eq!(c.server_cpu_secs, Some(2.5));
        assert_eq!(c.sandbox_cpu_secs, Some(0.3));
        assert_eq!(c.routes[0], "POST /payment/kpayment/v1/prepayment");
        assert_eq!(c.metrics_error, None);
        // A route first called inside the window counts from zero.
        let w = Window {
            before: snap("", 0, None),
            after: snap(PAGE, 100, None),
            clock_ticks_per_sec: 250,
        };
        let c = w.counters(&PAYMENT);
        assert_eq!(c.route_requests, Some(200));
        assert_eq!(c.route_statements, Some(1_190));
        assert_eq!(c.db_transactions, None);
        assert_eq!(c.server_cpu_secs, Some(0.4));
        assert_eq!(c.sandbox_cpu_secs, None);
        // A failed scrape: CPU still there, counters not.
        let w = Window {
            before: Snapshot {
                metrics: Err("GET /metrics: HTTP 404 Not Found".into()),
                server_ticks: Some(1),
                sandbox_ticks: None,
            },
            after: snap(PAGE, 3, None),
            clock_ticks_per_sec: 100,
        };
        let c = w.counters(&PAYMENT);
        assert_eq!(c.route_requests, None);
        assert_eq!(c.server_cpu_secs, Some(0.02));
        assert!(c.metrics_error.unwrap().contains("404"));
    }

    #[test]
    fn proc_stat() {
        // Fields 14 and 15 are utime 1234 and stime 567; the name holds ") (".
        let line = "4242 (dealer pay) (x)) S 1 4242 4242 0 -1 4194560 2000 0 0 0 1234 567 0 0 20 0 9 0 100 123456 789 18446744073709551615";
        assert_eq!(parse_proc_stat_ticks(line), Some(1801));
        assert_eq!(parse_proc_stat_ticks("4242 (x) S 1 2"), None);
        assert_eq!(parse_proc_stat_ticks("garbage"), None);
        // Our own process, if /proc is there.
        if std::path::Path::new("/proc/self/stat").exists() {
            assert!(cpu_ticks(std::process::id()).is_some());
        }
    }

    /// A keep-alive HTTP/1.1 server on loopback: `GET /healthz` counts, `GET /metrics`
    /// (when `with_metrics`) renders the count as requests with 5 statements each, in the
    /// server's format; anything else is 404.
    /// (Plain threads: the bench's tokio has no `io-util`.)
    fn fake_server(with_metrics: bool) -> String {
        use std::io::{Read, Write};
        use std::sync::atomic::{AtomicU64, Ordering};
        use std::sync::Arc;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let hits = Arc::new(AtomicU64::new(0));
        std::thread::spawn(move || {
            for sock in listener.incoming() {
                let Ok(mut sock) = sock else { return };
                let hits = hits.clone();
                std::thread::spawn(move || {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 1024];
                    loop {
                        let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                            match sock.read(&mut chunk) {
                                Ok(0) | Err(_) => return,
                                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                            }
                            continue;
                        };
                        let head = String::from_utf8_lossy(&buf[..end]).into_owned();
                        buf.drain(..end + 4);
                        let path = head.split_whitespace().nth(1).unwrap_or("").to_string();
                        let (status, body) = match path.as_str() {
                            "/healthz" => {
                                hits.fetch_add(1, Ordering::SeqCst);
                                ("200 OK", "ok".to_string())
                            }
                            "/metrics" if with_metrics => {
                                let n = hits.load(Ordering::SeqCst);
                                let labels = r#"method="GET",route="/healthz",status="200""#;
                                let page = format!(
                                    "# TYPE {TRANSACTIONS_METRIC} counter\n\
                                     {TRANSACTIONS_METRIC} {}\n{COMMITS_METRIC} {n}\n\
                                     {REQUESTS_METRIC}{{{labels}}} {n}\n\
                                     {ROUTE_STATEMENTS_METRIC}{{{labels}}} {}\n",
                                    3 * n,
                                    5 * n
                                );
                                ("200 OK", page)
                            }
                            _ => ("404 Not Found", String::new()),
                        };
                        let resp = format!(
                            "HTTP/1.1 {status}\r\ncontent-length: {}\r\n\r\n{body}",
                            body.len()
                        );
                        if sock.write_all(resp.as_bytes()).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        base
    }

    #[tokio::test]
    async fn probes_a_server_over_http() {
        let base = fake_server(true);
        let me = std::process::id();
        let (probe, warning) = Probe::new(&base, Some(me), None).await.unwrap();
        assert_eq!(warning, None);
        let client = Client::new();
        let start = Instant::now();
        let ms = Duration::from_millis;
        let window = tokio::spawn(probe.clone().window(start + ms(100), start + ms(900)));
        // Two requests before the window, three inside, one after.
        for (at, n) in [(0, 2), (400, 3), (1200, 1)] {
            tokio::time::sleep_until(start + ms(at)).await;
            for _ in 0..n {
                let r = client.get(format!("{base}/healthz")).send().await.unwrap();
                assert!(r.status().is_success());
            }
            if at == 400 {
                // Burn some CPU in the window so the own-pid reading moves.
                let t = std::time::Instant::now();
                let mut x = 0u64;
                while t.elapsed() < Duration::from_millis(60) {
                    x = std::hint::black_box(x.wrapping_add(1));
                }
            }
        }
        let c = window.await.unwrap().counters(&[("GET", "/healthz")]);
        assert_eq!(c.metrics_error, None);
        assert_eq!(c.route_requests, Some(3));
        assert_eq!(c.route_statements, Some(15));
        assert_eq!(c.db_transactions, Some(9));
        assert_eq!(c.db_commits, Some(3));
        if std::path::Path::new("/proc/self/stat").exists() {
            assert!(c.server_cpu_secs.unwrap() > 0.0);
        }
        assert_eq!(c.sandbox_cpu_secs, None);
        // The routes of another scenario saw nothing.
        let c = Window {
            before: probe.snapshot().await,
            after: probe.snapshot().await,
            clock_ticks_per_sec: 100,
        }
        .counters(&[("POST", "/payment/kpayment/v1/prepayment")]);
        assert_eq!(c.route_requests, Some(0));
    }

    #[tokio::test]
    async fn a_server_without_metrics_is_probed_for_cpu_only() {
        let base = fake_server(false);
        let (probe, warning) = Probe::new(&base, Some(std::process::id()), None)
            .await
            .unwrap();
        assert!(warning.unwrap().contains("HTTP 404"));
        let now = Instant::now();
        let c = probe
            .window(now, now)
            .await
            .counters(&[("GET", "/healthz")]);
        assert_eq!(c.metrics_error.as_deref(), Some("no /metrics"));
        assert_eq!(c.route_requests, None);
        if std::path::Path::new("/proc/self/stat").exists() {
            assert!(c.server_cpu_secs.is_some());
        }
    }

    #[test]
    fn clock_ticks() {
        assert_eq!(parse_clk_tck("100\n"), Some(100));
        assert_eq!(parse_clk_tck("0"), None);
        assert_eq!(parse_clk_tck("undefined"), None);
        assert!(clock_ticks_per_sec() > 0);
    }
}
