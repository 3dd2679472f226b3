//! Scenarios, the closed-loop load generator and latency statistics.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use reqwest::header::{HeaderValue, AUTHORIZATION};
use reqwest::{Client, RequestBuilder, Url};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

/// Per-request timeout; a request that takes longer counts as an error.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Distinct error kinds kept per scenario (further kinds are lumped together).
const MAX_ERROR_KINDS: usize = 8;
const OTHER_ERRORS: &str = "(other error kinds)";

/// Seed data printed by `dealerpay demo --json`. Unknown keys are ignored.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)] // not every id is used by a scenario yet
pub struct Demo {
    pub username: String,
    pub password: String,
    pub dealer_uuid: String,
    pub department_uuid: String,
    pub customer_uuid: String,
    pub dealer_order_uuid: String,
    pub invoice_guid: String,
    pub payment_request_guid: String,
}

/// One benchmark scenario. To add one: add a variant, give it a name in
/// [`Scenario::name`], and say how to build its requests in [`Scenario::worker`]
/// and [`Worker::request`] (a worker may keep state such as a sequence number,
/// e.g. for idempotency keys of POST requests).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Scenario {
    /// `GET /healthz`: no auth, no database; the ceiling every ratio is relative to.
    Healthz,
    /// `GET /payment/kpayment/v1/paymentrequest/{guid}` with HTTP Basic auth.
    #[value(name = "paymentrequest")]
    PaymentRequest,
    /// `GET /payment/v3/department/{uuid}/status?invoiceId={guid}` with HTTP Basic auth.
    Status,
}

impl Scenario {
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Healthz => "healthz",
            Scenario::PaymentRequest => "paymentrequest",
            Scenario::Status => "status",
        }
    }

    /// Builds the state of worker number `id` for this scenario.
    fn worker(self, target: &Target, id: usize) -> Result<Worker> {
        let demo = || {
            target
                .demo
                .as_ref()
                .with_context(|| format!("scenario {} needs demo data", self.name()))
        };
        let (path, auth) = match self {
            Scenario::Healthz => ("/healthz".to_string(), None),
            Scenario::PaymentRequest => (
                format!(
                    "/payment/kpayment/v1/paymentrequest/{}",
                    demo()?.payment_request_guid
                ),
                target.auth.clone(),
            ),
            Scenario::Status => {
                let d = demo()?;
                (
                    format!(
                        "/payment/v3/department/{}/status?invoiceId={}",
                        d.department_uuid, d.invoice_guid
                    ),
                    target.auth.clone(),
                )
            }
        };
        let url = target.url(&path)?;
        Ok(Worker {
            scenario: self,
            id,
            seq: 0,
            url,
            auth,
        })
    }
}

/// Where and as whom to send requests.
pub struct Target {
    /// Base URL without trailing slash, e.g. `http://127.0.0.1:40123`.
    pub base: String,
    pub demo: Option<Demo>,
    /// Precomputed `Authorization: Basic ...` header from the demo credentials.
    pub auth: Option<HeaderValue>,
}

impl Target {
    pub fn new(base: &str, demo: Option<Demo>) -> Result<Target> {
        let base = base.trim_end_matches('/').to_string();
        let auth = match &demo {
            None => None,
            Some(d) => {
                // Let reqwest do the base64 once instead of on every request.
                let req = Client::new()
                    .get(&base)
                    .basic_auth(&d.username, Some(&d.password))
                    .build()?;
                req.headers().get(AUTHORIZATION).cloned()
            }
        };
        Ok(Target { base, demo, auth })
    }

    pub fn url(&self, path: &str) -> Result<Url> {
        let s = format!("{}{}", self.base, path);
        Url::parse(&s).with_context(|| format!("bad URL {s}"))
    }
}

/// Per-task request factory and state.
struct Worker {
    scenario: Scenario,
    #[allow(dead_code)] // for scenarios that need per-worker unique data
    id: usize,
    /// Number of requests this worker has built so far.
    seq: u64,
    url: Url,
    auth: Option<HeaderValue>,
}

impl Worker {
    fn request(&mut self, client: &Client) -> RequestBuilder {
        self.seq += 1;
        let req = match self.scenario {
            Scenario::Healthz | Scenario::PaymentRequest | Scenario::Status => {
                client.get(self.url.clone())
            }
        };
        match &self.auth {
            Some(auth) => req.header(AUTHORIZATION, auth.clone()),
            None => req,
        }
    }
}

pub fn build_client(concurrency: usize) -> Result<Client> {
    Client::builder()
        .http1_only()
        .pool_max_idle_per_host(concurrency)
        .tcp_nodelay(true)
        .timeout(REQUEST_TIMEOUT)
        .connect_timeout(REQUEST_TIMEOUT)
        .no_proxy()
        .build()
        .context("building HTTP client")
}

#[derive(Clone, Copy, Debug)]
pub struct LoadConfig {
    pub concurrency: usize,
    pub warmup: Duration,
    pub duration: Duration,
}

#[derive(Clone, Debug, Serialize)]
pub struct ErrorSample {
    /// Status line (`HTTP 401 Unauthorized`) or transport error text.
    pub kind: String,
    pub count: u64,
    /// Start of the first response body / error seen of this kind.
    pub example: String,
}

/// Raw outcome of one scenario run (measurement window only).
pub struct Measurement {
    /// Latencies of successful (2xx) requests in microseconds, sorted.
    pub latencies_us: Vec<u32>,
    pub errors: u64,
    pub error_samples: Vec<ErrorSample>,
    /// From the end of warmup to the completion of the last counted request.
    pub elapsed: Duration,
}

#[derive(Default)]
struct TaskResult {
    latencies_us: Vec<u32>,
    errors: u64,
    error_kinds: Vec<ErrorSample>,
    last_done: Option<Instant>,
}

impl TaskResult {
    fn record_error(&mut self, kind: String, example: impl FnOnce() -> String) {
        self.errors += 1;
        if let Some(e) = self.error_kinds.iter_mut().find(|e| e.kind == kind) {
            e.count += 1;
        } else if self.error_kinds.len() < MAX_ERROR_KINDS {
            self.error_kinds.push(ErrorSample {
                kind,
                count: 1,
                example: example(),
            });
        } else if let Some(e) = self.error_kinds.iter_mut().find(|e| e.kind == OTHER_ERRORS) {
            e.count += 1;
        } else {
            // Replace the last slot so the total count stays exact.
            let last = self.error_kinds.pop().expect("non-empty");
            self.error_kinds.push(ErrorSample {
                kind: OTHER_ERRORS.into(),
                count: last.count + 1,
                example: String::new(),
            });
        }
    }
}

/// Text of an error and all its sources (reqwest's Display alone is terse).
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(cause) = src {
        s.push_str(": ");
        s.push_str(&cause.to_string());
        src = cause.source();
    }
    s
}

fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    flat.chars().take(200).collect()
}

/// Runs `scenario` with `cfg.concurrency` closed-loop workers for
/// `warmup + duration`, discarding what completes during warmup.
pub async fn run(
    client: &Client,
    target: &Target,
    scenario: Scenario,
    cfg: LoadConfig,
) -> Result<Measurement> {
    if cfg.concurrency == 0 {
        bail!("concurrency must be at least 1");
    }
    let workers = (0..cfg.concurrency)
        .map(|id| scenario.worker(target, id))
        .collect::<Result<Vec<_>>>()?;
    let start = Instant::now();
    let measure_from = start + cfg.warmup;
    let deadline = measure_from + cfg.duration;

    let mut handles = Vec::with_capacity(cfg.concurrency);
    for mut worker in workers {
        let client = client.clone();
        handles.push(tokio::spawn(async move {
            let mut r = TaskResult {
                latencies_us: Vec::with_capacity(1 << 14),
                ..Default::default()
            };
            loop {
                let t0 = Instant::now();
                if t0 >= deadline {
                    break;
                }
                let outcome = match worker.request(&client).send().await {
                    Ok(resp) => {
                        let status = resp.status();
                        match resp.bytes().await {
                            Ok(_) if status.is_success() => Ok(()),
                            Ok(body) => Err((format!("HTTP {status}"), snippet(&body))),
                            Err(e) => {
                                Err((format!("reading body: {}", error_chain(&e)), String::new()))
                            }
                        }
                    }
                    Err(e) => Err((error_chain(&e), String::new())),
                };
                let done = Instant::now();
                if t0 < measure_from {
                    continue;
                }
                r.last_done = Some(done);
                match outcome {
                    Ok(()) => {
                        let us = (done - t0).as_micros();
                        r.latencies_us.push(u32::try_from(us).unwrap_or(u32::MAX));
                    }
                    Err((kind, example)) => r.record_error(kind, || example),
                }
            }
            r
        }));
    }

    let mut latencies_us = Vec::new();
    let mut errors = 0;
    let mut kinds: Vec<ErrorSample> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut last_done = deadline;
    for h in handles {
        let r = h.await.context("load task panicked")?;
        latencies_us.extend_from_slice(&r.latencies_us);
        errors += r.errors;
        if let Some(t) = r.last_done {
            last_done = last_done.max(t);
        }
        for e in r.error_kinds {
            match index.get(&e.kind) {
                Some(&i) => kinds[i].count += e.count,
                None => {
                    index.insert(e.kind.clone(), kinds.len());
                    kinds.push(e);
                }
            }
        }
    }
    latencies_us.sort_unstable();
    kinds.sort_by_key(|k| std::cmp::Reverse(k.count));
    kinds.truncate(MAX_ERROR_KINDS);
    Ok(Measurement {
        latencies_us,
        errors,
        error_samples: kinds,
        elapsed: last_done - measure_from,
    })
}

/// Summary of one (database, scenario) run, as written to `latest.json`.
#[derive(Clone, Debug, Serialize)]
pub struct ScenarioStats {
    pub scenario: String,
    pub database: String,
    pub concurrency: usize,
    /// Length of the measurement window in seconds.
    pub measured_secs: f64,
    /// Completed requests in the window, successful or not.
    pub requests: u64,
    /// Non-2xx responses plus transport errors (timeouts, refused, ...).
    pub errors: u64,
    /// Successful (2xx) requests per second.
    pub rps: f64,
    /// All completed requests per second, errors included.
    pub total_rps: f64,
    /// Latency percentiles of successful requests, in milliseconds.
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub p999_ms: Option<f64>,
    pub max_ms: Option<f64>,
    /// `rps` divided by the healthz `rps` on the same database in the same run.
    pub vs_healthz: Option<f64>,
    pub error_samples: Vec<ErrorSample>,
}

/// Nearest-rank percentile of sorted data, `p` in 0..=100.
pub fn percentile(sorted: &[u32], p: f64) -> Option<u32> {
    if sorted.is_empty() {
        return None;
    }
    // The epsilon keeps float noise (0.999 * 1000 = 999.0000000000001) from
    // bumping the rank by one.
    let rank = ((p / 100.0) * sorted.len() as f64 - 1e-9).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

impl ScenarioStats {
    pub fn new(scenario: Scenario, database: &str, concurrency: usize, m: &Measurement) -> Self {
        let ok = m.latencies_us.len() as u64;
        let secs = m.elapsed.as_secs_f64().max(1e-9);
        let ms = |p: f64| percentile(&m.latencies_us, p).map(|us| round2(f64::from(us) / 1000.0));
        ScenarioStats {
            scenario: scenario.name().to_string(),
            database: database.to_string(),
            concurrency,
            measured_secs: (secs * 1000.0).round() / 1000.0,
            requests: ok + m.errors,
            errors: m.errors,
            rps: round2(ok as f64 / secs),
            total_rps: round2((ok + m.errors) as f64 / secs),
            p50_ms: ms(50.0),
            p99_ms: ms(99.0),
            p999_ms: ms(99.9),
            max_ms: ms(100.0),
            vs_healthz: None,
            error_samples: m.error_samples.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_nearest_rank() {
        let v: Vec<u32> = (1..=1000).collect();
        assert_eq!(percentile(&v, 50.0), Some(500));
        assert_eq!(percentile(&v, 99.0), Some(990));
        assert_eq!(percentile(&v, 99.9), Some(999));
        assert_eq!(percentile(&v, 100.0), Some(1000));
        assert_eq!(percentile(&v, 0.0), Some(1));
        assert_eq!(percentile(&[], 50.0), None);
        assert_eq!(percentile(&[7], 99.9), Some(7));
    }

    #[test]
    fn error_kinds_are_bounded_and_counted() {
        let mut r = TaskResult::default();
        for i in 0..20 {
            r.record_error(format!("kind {i}"), String::new);
        }
        r.record_error("kind 0".into(), String::new);
        assert_eq!(r.errors, 21);
        assert!(r.error_kinds.len() <= MAX_ERROR_KINDS);
        assert_eq!(r.error_kinds.iter().map(|e| e.count).sum::<u64>(), 21);
    }
}
