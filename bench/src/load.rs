//! Scenarios, the closed-loop load generator and latency statistics.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use reqwest::header::{HeaderValue, AUTHORIZATION};
use reqwest::{Client, RequestBuilder, Url};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::checkout::{Checkouter, Merchant};
use crate::flood::{self, FloodStats};
use crate::payments::{self, Payer, Refunder, Seat, Steps};
use crate::probe::{Probe, ServerCounters};

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
    /// Printed by newer servers; used as the invoice's `paymentUser` when seeding.
    #[serde(default)]
    pub dealer_associate_uuid: Option<String>,
}

/// One benchmark scenario. To add one: add a variant, give it a name in
/// [`Scenario::name`], and say how to build its requests in [`Scenario::worker`]
/// and [`Worker::op`] (a worker may keep state such as a sequence number,
/// e.g. for unique reference ids of POST requests).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Scenario {
    /// `GET /healthz`: no auth, no database; the ceiling every ratio is relative to.
    Healthz,
    /// `GET /payment/kpayment/v1/paymentrequest/{guid}` with HTTP Basic auth.
    #[value(name = "paymentrequest")]
    PaymentRequest,
    /// `GET /payment/v3/department/{uuid}/status?invoiceId={guid}` with HTTP Basic auth.
    Status,
    /// A card payment: `POST .../prepayment` then `POST .../paymentattempts/{uuid}/confirm`
    /// with `tok_visa`, each worker on a repair order and invoice of its own.
    Payment,
    /// `POST .../transactions/{uuid}/refund` of $0.01 against the worker's own charge.
    Refund,
    /// A checkout: `POST /payment/checkout/v1/namespaces/{ns}/sessions` for $25.00 then
    /// `POST .../sessions/{id}/payment-intents` with `tok_visa`, with the namespace's
    /// access token (minted once before the window).
    Checkout,
    /// `payment` while 500 more clients send HTTP Basic credentials of random unknown
    /// usernames (`GET …/paymentattempts/{uuid}`): the legitimate p99, 5xx answers to anyone
    /// and the server's peak memory ([`crate::flood`]).
    #[value(name = "authflood")]
    AuthFlood,
}

impl Scenario {
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Healthz => "healthz",
            Scenario::PaymentRequest => "paymentrequest",
            Scenario::Status => "status",
            Scenario::Payment => "payment",
            Scenario::Refund => "refund",
            Scenario::Checkout => "checkout",
            Scenario::AuthFlood => "authflood",
        }
    }

    /// Card payment scenarios: they run with `--payment-concurrency` workers (for
    /// `payment` and `refund` each on a seeded order and invoice of its own; a checkout
    /// session brings its own) and pause after a failed operation.
    pub fn is_payment(self) -> bool {
        matches!(
            self,
            Scenario::Payment | Scenario::Refund | Scenario::Checkout | Scenario::AuthFlood
        )
    }

    /// Calls the payment processor, so it is worth running with a sandbox latency (the
    /// GET scenarios and `healthz` never reach the processor).
    pub fn calls_processor(self) -> bool {
        self.is_payment() && self != Scenario::AuthFlood
    }

    /// One operation is a whole payment (two requests): payments/s is reported.
    pub fn counts_payments(self) -> bool {
        matches!(
            self,
            Scenario::Payment | Scenario::Checkout | Scenario::AuthFlood
        )
    }

    /// The server routes this scenario's requests go to, `(method, route template)` as
    /// the server labels them in `/metrics`: the requests and database statements of
    /// these routes in the window are the scenario's (seeding and setup happen before it).
    pub fn routes(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Scenario::Healthz => &[("GET", "/healthz")],
            Scenario::PaymentRequest => &[("GET", "/payment/kpayment/v1/paymentrequest/{guid}")],
            Scenario::Status => &[("GET", "/payment/v3/department/{departmentUuid}/status")],
            Scenario::Payment | Scenario::AuthFlood => &[
                ("POST", "/payment/kpayment/v1/prepayment"),
                (
                    "POST",
                    "/payment/kpayment/v1/paymentattempts/{paymentAttemptUuid}/confirm",
                ),
            ],
            Scenario::Refund => &[(
                "POST",
                "/payment/kpayment/v1/transactions/{transactionUuid}/refund",
            )],
            Scenario::Checkout => &[
                ("POST", "/payment/checkout/v1/namespaces/{namespace}/sessions"),
                (
                    "POST",
                    "/payment/checkout/v1/namespaces/{namespace}/sessions/{sessionId}/payment-intents",
                ),
            ],
        }
    }

    /// Needs a checkout namespace and access token, set up before the window.
    pub fn needs_merchant(self) -> bool {
        self == Scenario::Checkout
    }

    /// What each worker needs before the window: `Some(seed payment cents)` for a seat
    /// with a charge, `Some(None)` for a plain seat, `None` for nothing.
    pub fn seat_needs(self) -> Option<Option<i64>> {
        match self {
            Scenario::Payment | Scenario::AuthFlood => Some(None),
            Scenario::Refund => Some(Some(payments::REFUND_SEED_PAYMENT_CENTS)),
            _ => None,
        }
    }

    /// Builds the state of worker number `id` for this scenario; payment scenarios get
    /// their seat (seeded order and invoice), checkout the namespace's access token.
    fn worker(
        self,
        target: &Target,
        id: usize,
        seat: Option<&Seat>,
        merchant: Option<&Merchant>,
    ) -> Result<Worker> {
        let seat =
            || seat.with_context(|| format!("scenario {} needs a seeded order", self.name()));
        let demo = || {
            target
                .demo
                .as_ref()
                .with_context(|| format!("scenario {} needs demo data", self.name()))
        };
        let (path, auth) = match self {
            Scenario::Payment | Scenario::AuthFlood => {
                return Ok(Worker::new(
                    self,
                    id,
                    Plan::Pay(Payer::new(target, seat()?, payments::PAYMENT_CENTS)?),
                ))
            }
            Scenario::Refund => {
                return Ok(Worker::new(
                    self,
                    id,
                    Plan::Refund(Refunder::new(target, seat()?)?),
                ))
            }
            Scenario::Checkout => {
                let m = merchant.context("scenario checkout needs a namespace")?;
                return Ok(Worker::new(
                    self,
                    id,
                    Plan::Checkout(Checkouter::new(target, m)?),
                ));
            }
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
        Ok(Worker::new(self, id, Plan::Get { url, auth }))
    }
}

/// Where and as whom to send requests.
#[derive(Clone)]
pub struct Target {
    /// Base URL without trailing slash, e.g. `http://127.0.0.1:40123`.
    pub base: String,
    pub demo: Option<Demo>,
    /// Precomputed `Authorization: Basic ...` header from the demo credentials.
    pub auth: Option<HeaderValue>,
    /// `Authorization: Bearer <operator token>`, for seeding orders and invoices.
    pub operator: Option<HeaderValue>,
}

impl Target {
    pub fn new(base: &str, demo: Option<Demo>, operator_token: Option<&str>) -> Result<Target> {
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
        let operator = operator_token
            .map(|t| HeaderValue::from_str(&format!("Bearer {t}")))
            .transpose()
            .context("operator token is not a valid header value")?;
        Ok(Target {
            base,
            demo,
            auth,
            operator,
        })
    }

    pub fn url(&self, path: &str) -> Result<Url> {
        let s = format!("{}{}", self.base, path);
        Url::parse(&s).with_context(|| format!("bad URL {s}"))
    }
}

/// How a worker does one operation.
enum Plan {
    /// One GET request.
    Get { url: Url, auth: Option<HeaderValue> },
    /// prePayment + confirm.
    Pay(Payer),
    /// One refund.
    Refund(Refunder),
    /// Checkout session + payment intent.
    Checkout(Checkouter),
}

/// Per-task operation factory and state.
struct Worker {
    scenario: Scenario,
    /// Worker number, for per-worker unique data (checkout reference ids).
    id: usize,
    /// Number of operations this worker has started so far.
    seq: u64,
    plan: Plan,
}

/// What one operation did: its successful requests (with their step timings for
/// multi-request operations) and whether it succeeded as a whole.
struct OpOutcome {
    ok_requests: u64,
    steps: Steps,
    result: Result<(), Failure>,
}

impl Worker {
    fn new(scenario: Scenario, id: usize, plan: Plan) -> Worker {
        Worker {
            scenario,
            id,
            seq: 0,
            plan,
        }
    }

    async fn op(&mut self, client: &Client) -> OpOutcome {
        self.seq += 1;
        let mut steps = Steps::new();
        let result = match &self.plan {
            Plan::Get { url, auth } => {
                let mut req = client.get(url.clone());
                if let Some(a) = auth {
                    req = req.header(AUTHORIZATION, a.clone());
                }
                get(req).await
            }
            Plan::Pay(p) => p.pay(client, &mut steps).await.map(|_| ()),
            Plan::Refund(r) => r.refund(client).await,
            Plan::Checkout(c) => c.checkout(client, self.id, self.seq, &mut steps).await,
        };
        let ok_requests = match self.scenario {
            // A failed payment may still have had a successful prePayment (or session).
            Scenario::Payment | Scenario::Checkout | Scenario::AuthFlood => steps.len() as u64,
            _ => u64::from(result.is_ok()),
        };
        OpOutcome {
            ok_requests,
            steps,
            result,
        }
    }
}

/// One request whose body is read and discarded; 2xx is success.
async fn get(req: RequestBuilder) -> Result<(), Failure> {
    match req.send().await {
        Ok(resp) => {
            let status = resp.status();
            match resp.bytes().await {
                Ok(_) if status.is_success() => Ok(()),
                Ok(body) => Err(Failure {
                    kind: format!("HTTP {status}"),
                    example: snippet(&body),
                }),
                Err(e) => Err(Failure {
                    kind: format!("reading body: {}", error_chain(&e)),
                    example: String::new(),
                }),
            }
        }
        Err(e) => Err(Failure {
            kind: error_chain(&e),
            example: String::new(),
        }),
    }
}

/// A failed request: its kind (status line or transport error, prefixed by the step of a
/// multi-request operation) and the start of the response body.
#[derive(Debug)]
pub struct Failure {
    pub kind: String,
    pub example: String,
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
    /// Workers of the payment scenarios (`--payment-concurrency`).
    pub payment_concurrency: usize,
    pub warmup: Duration,
    pub duration: Duration,
}

impl LoadConfig {
    /// Number of workers for `scenario`.
    pub fn workers(&self, scenario: Scenario) -> usize {
        if scenario.is_payment() {
            self.payment_concurrency
        } else {
            self.concurrency
        }
    }
}

/// Pause after a failed operation of a payment scenario, so a worker whose order is stuck
/// (e.g. 409 while an attempt is in flight) does not spin on errors.
pub const ERROR_PAUSE: Duration = Duration::from_millis(50);
/// Workers start spread over this much of the warmup (all at once without warmup).
pub const RAMP_UP: Duration = Duration::from_secs(1);

#[derive(Clone, Debug, Serialize)]
pub struct ErrorSample {
    /// Status line (`HTTP 401 Unauthorized`) or transport error text.
    pub kind: String,
    pub count: u64,
    /// Start of the first response body / error seen of this kind.
    pub example: String,
}

/// What a scenario's workers need that is set up before its window.
#[derive(Default)]
pub struct Seeded {
    /// One seeded order and invoice per worker ([`Scenario::seat_needs`]).
    pub seats: Vec<Seat>,
    /// The checkout namespace and its access token ([`Scenario::needs_merchant`]).
    pub merchant: Option<Merchant>,
}

/// Raw outcome of one scenario run (measurement window only).
pub struct Measurement {
    /// Latencies of successful operations that started and completed in the window, in
    /// microseconds, sorted. An operation is one request, except for `payment`
    /// (prePayment + confirm) and `checkout` (session + payment intent).
    pub latencies_us: Vec<u32>,
    /// Successful operations completed in the window: `latencies_us.len()` plus those
    /// that had started during warmup.
    pub ok_ops: u64,
    /// Successful (2xx) requests, also those of a failed operation.
    pub ok_requests: u64,
    /// Sorted latencies of the successful requests of each step of multi-request
    /// operations, in step order.
    pub steps: Vec<(&'static str, Vec<u32>)>,
    pub errors: u64,
    pub error_samples: Vec<ErrorSample>,
    /// Length of the measurement window (`--duration-secs`).
    pub elapsed: Duration,
    /// What the server did in the window (`/metrics` and CPU time), when probed.
    pub server: Option<ServerCounters>,
    /// `authflood` only: the flood and what it did to the server.
    pub flood: Option<FloodStats>,
}

#[derive(Default)]
struct TaskResult {
    latencies_us: Vec<u32>,
    /// Successful operations completed in the window that started during warmup.
    unsampled_ok: u64,
    ok_requests: u64,
    steps: Vec<(&'static str, Vec<u32>)>,
    errors: u64,
    error_kinds: Vec<ErrorSample>,
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

fn micros(d: Duration) -> u32 {
    u32::try_from(d.as_micros()).unwrap_or(u32::MAX)
}

/// Text of an error and all its sources (reqwest's Display alone is terse).
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(cause) = src {
        s.push_str(": ");
        s.push_str(&cause.to_string());
        src = cause.source();
    }
    s
}

pub fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    flat.chars().take(200).collect()
}

/// Runs `scenario` with `workers` closed-loop workers for `warmup + duration`.
/// `payment` and `refund` need one seat per worker, `checkout` a merchant.
///
/// What counts is what *completes* in the window `[warmup, warmup + duration]`, whenever
/// it started, so the rates are completions per second of the window; latencies are
/// sampled from the operations that also started in it. (Counting what
/// started in the window instead undercounts when an operation takes seconds, as a
/// payment does with a thousand workers: the start of the window would hold only
/// operations begun during warmup.) No operation starts after the window; those still
/// running finish (each request within the 10 s timeout) but count only if they fail, so
/// timeouts and other late errors are still reported.
///
/// With a `probe`, the server's counters and CPU time are read right when the window
/// opens and right when it closes (in a task of their own), so they cover the same
/// completions as the counts.
pub async fn run(
    client: &Client,
    target: &Target,
    scenario: Scenario,
    workers: usize,
    seeded: &Seeded,
    cfg: LoadConfig,
    probe: Option<&Probe>,
) -> Result<Measurement> {
    if workers == 0 {
        bail!("concurrency must be at least 1");
    }
    let seats = &seeded.seats;
    if scenario.seat_needs().is_some() && seats.len() < workers {
        bail!(
            "scenario {} needs {workers} seeded orders, has {}",
            scenario.name(),
            seats.len()
        );
    }
    let workers = (0..workers)
        .map(|id| scenario.worker(target, id, seats.get(id), seeded.merchant.as_ref()))
        .collect::<Result<Vec<_>>>()?;
    let pause_after_error = scenario.is_payment();
    let start = Instant::now();
    let measure_from = start + cfg.warmup;
    let deadline = measure_from + cfg.duration;
    let window = probe.map(|p| tokio::spawn(p.clone().window(measure_from, deadline)));
    let flood = match scenario {
        Scenario::AuthFlood => Some(flood::start(target, measure_from, deadline)?),
        _ => None,
    };

    // Workers start spread evenly over the first second of warmup: started all at
    // once, a thousand slow payment workers stay in lockstep, complete in waves, and
    // the window then counts whole waves only.
    let ramp = cfg.warmup.min(RAMP_UP);
    let n = workers.len() as u32;
    let mut handles = Vec::with_capacity(workers.len());
    for (i, mut worker) in workers.into_iter().enumerate() {
        let client = client.clone();
        let begin = start + ramp * i as u32 / n;
        handles.push(tokio::spawn(async move {
            let mut r = TaskResult {
                latencies_us: Vec::with_capacity(1 << 14),
                ..Default::default()
            };
            tokio::time::sleep_until(begin).await;
            loop {
                let t0 = Instant::now();
                if t0 >= deadline {
                    break;
                }
                let op = worker.op(&client).await;
                let done = Instant::now();
                let failed = op.result.is_err();
                let in_window = done >= measure_from && done <= deadline;
                // Latency only of operations that also started in the window, so that
                // cold-start effects stay in the warmup.
                let sampled = in_window && t0 >= measure_from;
                if in_window {
                    r.ok_requests += op.ok_requests;
                }
                if sampled {
                    for (name, d) in &op.steps {
                        match r.steps.iter_mut().find(|(n, _)| n == name) {
                            Some((_, v)) => v.push(micros(*d)),
                            None => r.steps.push((name, vec![micros(*d)])),
                        }
                    }
                }
                match op.result {
                    Ok(()) if sampled => r.latencies_us.push(micros(done - t0)),
                    Ok(()) if in_window => r.unsampled_ok += 1,
                    Ok(()) => {}
                    // Errors after the window still count (e.g. a request that timed out).
                    Err(f) if done >= measure_from => {
                        let example = f.example;
                        r.record_error(f.kind, || example);
                    }
                    Err(_) => {}
                }
                if failed && pause_after_error && done + ERROR_PAUSE < deadline {
                    tokio::time::sleep(ERROR_PAUSE).await;
                }
            }
            r
        }));
    }

    let mut latencies_us = Vec::new();
    let mut ok_ops = 0;
    let mut ok_requests = 0;
    let mut steps: Vec<(&'static str, Vec<u32>)> = Vec::new();
    let mut errors = 0;
    let mut kinds: Vec<ErrorSample> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for h in handles {
        let r = h.await.context("load task panicked")?;
        latencies_us.extend_from_slice(&r.latencies_us);
        ok_ops += r.latencies_us.len() as u64 + r.unsampled_ok;
        ok_requests += r.ok_requests;
        for (name, v) in r.steps {
            match steps.iter_mut().find(|(n, _)| *n == name) {
                Some((_, all)) => all.extend_from_slice(&v),
                None => steps.push((name, v)),
            }
        }
        errors += r.errors;
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
    for (_, v) in &mut steps {
        v.sort_unstable();
    }
    let flood = match flood {
        Some(f) => Some(f.finish(&kinds, probe.and_then(Probe::server_pid)).await),
        None => None,
    };
    kinds.sort_by_key(|k| std::cmp::Reverse(k.count));
    kinds.truncate(MAX_ERROR_KINDS);
    let server = match window {
        Some(w) => Some(
            w.await
                .context("probe task panicked")?
                .counters(scenario.routes()),
        ),
        None => None,
    };
    Ok(Measurement {
        latencies_us,
        ok_ops,
        ok_requests,
        steps,
        errors,
        error_samples: kinds,
        elapsed: cfg.duration,
        server,
        flood,
    })
}

/// Summary of one (database, scenario) run, as written to `latest.json`.
#[derive(Clone, Debug, Serialize)]
pub struct ScenarioStats {
    pub scenario: String,
    pub database: String,
    /// Latency the sandbox processor added to every call in this server run, in ms.
    pub sandbox_latency_ms: u64,
    /// `in-process` (the server's own sandbox) or `http` (the standalone
    /// `sandbox-processor`, reached over loopback HTTP).
    pub processor: String,
    /// `--processor-timeout-secs` the server ran with; `None`: the server's default.
    pub processor_timeout_secs: Option<u64>,
    /// Workers (connections) of this scenario.
    pub concurrency: usize,
    /// Length of the measurement window in seconds.
    pub measured_secs: f64,
    /// Completed requests in the window, successful or not.
    pub requests: u64,
    /// Non-2xx responses plus transport errors (timeouts, refused, ...), and answers of
    /// confirm/refund/payment-intent whose attempt did not succeed; also those that
    /// completed after the window, while the last operations drained.
    pub errors: u64,
    /// Successful (2xx) requests per second.
    pub rps: f64,
    /// All completed requests per second, errors included.
    pub total_rps: f64,
    /// `payment` and `checkout` only: payments (both requests succeeded) per second.
    pub payments_per_sec: Option<f64>,
    /// `payment` and `checkout` only: number of successful payments in the window.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payments: Option<u64>,
    /// Latency percentiles of successful operations that started and completed in the
    /// window, in milliseconds: one request, or for `payment` the whole prePayment +
    /// confirm pair (`checkout`: session + payment intent).
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub p999_ms: Option<f64>,
    pub max_ms: Option<f64>,
    /// `rps` divided by the healthz `rps` of the same database and server run.
    pub vs_healthz: Option<f64>,
    /// `payment` and `checkout` only: database statements the server ran on the
    /// scenario's routes in the window (any status, so also failed requests) per
    /// successful payment of the window: `server_counters.route_statements / payments`.
    pub statements_per_payment: Option<f64>,
    /// Statements per request on the scenario's routes: `server_counters.route_statements
    /// / server_counters.route_requests`.
    pub statements_per_request: Option<f64>,
    /// SQLite only: write transactions per durable commit of the whole server in the
    /// window, `db_transactions / db_commits` (each commit is one WAL fsync shared by a
    /// group of transactions). `None` on PostgreSQL and when nothing was committed.
    pub commits_per_fsync: Option<f64>,
    /// `payment` and `checkout` only: CPU time of the server process in the window per
    /// successful payment, in ms.
    pub server_cpu_ms_per_payment: Option<f64>,
    /// Server CPU per request on the scenario's routes (by the server's count; without
    /// `/metrics`, per completed request of the bench), in ms.
    pub server_cpu_ms_per_request: Option<f64>,
    /// Like `server_cpu_ms_per_payment`, for the standalone sandbox processor (runs with
    /// a sandbox latency above 0).
    pub sandbox_cpu_ms_per_payment: Option<f64>,
    /// Like `server_cpu_ms_per_request`, for the standalone sandbox processor.
    pub sandbox_cpu_ms_per_request: Option<f64>,
    /// The raw differences over the window the figures above come from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_counters: Option<ServerCounters>,
    /// Per-request latencies of each step of a multi-request operation (`payment`,
    /// `checkout`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<StepStats>,
    /// Payment scenarios: seconds it took to seed the workers' orders and invoices (and
    /// the refund scenario's seed payments), for `checkout` to set up the namespace, API
    /// key and access token, before the run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed_secs: Option<f64>,
    pub error_samples: Vec<ErrorSample>,
    /// `authflood` only: the flooding clients' answers, 5xx to anyone, the server's peak RSS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flood: Option<FloodStats>,
}

/// Latency of the successful requests of one step of a multi-request operation.
#[derive(Clone, Debug, Serialize)]
pub struct StepStats {
    pub step: String,
    /// Successful requests of this step in the latency sample.
    pub count: u64,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub p999_ms: Option<f64>,
    pub max_ms: Option<f64>,
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

fn ms(sorted_us: &[u32], p: f64) -> Option<f64> {
    percentile(sorted_us, p).map(|us| round2(f64::from(us) / 1000.0))
}

/// `num / den` rounded to `decimals`; `None` without a numerator or with no denominator.
fn per(num: Option<f64>, den: Option<u64>, decimals: i32) -> Option<f64> {
    let den = den.filter(|&d| d > 0)? as f64;
    let scale = 10f64.powi(decimals);
    Some((num? / den * scale).round() / scale)
}

/// The server's per-payment and per-request costs of a row.
#[derive(Default)]
struct Costs {
    statements_per_payment: Option<f64>,
    statements_per_request: Option<f64>,
    commits_per_fsync: Option<f64>,
    server_cpu_ms_per_payment: Option<f64>,
    server_cpu_ms_per_request: Option<f64>,
    sandbox_cpu_ms_per_payment: Option<f64>,
    sandbox_cpu_ms_per_request: Option<f64>,
}

/// Costs from the window's counters: `payments` is the successful payments of the
/// window (`payment`, `checkout`), `requests` the bench's completed requests (used for
/// CPU per request only when the server's own count is missing).
fn costs(c: &ServerCounters, database: &str, payments: Option<u64>, requests: u64) -> Costs {
    let statements = c.route_statements.map(|n| n as f64);
    let cpu_requests = c.route_requests.filter(|&n| n > 0).or(Some(requests));
    let server_ms = c.server_cpu_secs.map(|s| s * 1000.0);
    let sandbox_ms = c.sandbox_cpu_secs.map(|s| s * 1000.0);
    Costs {
        statements_per_payment: per(statements, payments, 2),
        statements_per_request: per(statements, c.route_requests, 2),
        // On PostgreSQL every commit is the server's own fsync: nothing to group.
        commits_per_fsync: if database == "postgres" {
            None
        } else {
            per(c.db_transactions.map(|n| n as f64), c.db_commits, 2)
        },
        server_cpu_ms_per_payment: per(server_ms, payments, 3),
        server_cpu_ms_per_request: per(server_ms, cpu_requests, 3),
        sandbox_cpu_ms_per_payment: per(sandbox_ms, payments, 3),
        sandbox_cpu_ms_per_request: per(sandbox_ms, cpu_requests, 3),
    }
}

impl ScenarioStats {
    pub fn new(scenario: Scenario, database: &str, concurrency: usize, m: &Measurement) -> Self {
        let ok_ops = m.ok_ops;
        let secs = m.elapsed.as_secs_f64().max(1e-9);
        let lat = &m.latencies_us;
        let payments = scenario.counts_payments().then_some(ok_ops);
        let requests = m.ok_requests + m.errors;
        let c = m
            .server
            .as_ref()
            .map(|c| costs(c, database, payments, requests))
            .unwrap_or_default();
        ScenarioStats {
            scenario: scenario.name().to_string(),
            database: database.to_string(),
            sandbox_latency_ms: 0,
            processor: "in-process".to_string(),
            processor_timeout_secs: None,
            concurrency,
            measured_secs: (secs * 1000.0).round() / 1000.0,
            requests,
            errors: m.errors,
            rps: round2(m.ok_requests as f64 / secs),
            total_rps: round2((m.ok_requests + m.errors) as f64 / secs),
            payments_per_sec: payments.map(|n| round2(n as f64 / secs)),
            payments,
            p50_ms: ms(lat, 50.0),
            p99_ms: ms(lat, 99.0),
            p999_ms: ms(lat, 99.9),
            max_ms: ms(lat, 100.0),
            vs_healthz: None,
            statements_per_payment: c.statements_per_payment,
            statements_per_request: c.statements_per_request,
            commits_per_fsync: c.commits_per_fsync,
            server_cpu_ms_per_payment: c.server_cpu_ms_per_payment,
            server_cpu_ms_per_request: c.server_cpu_ms_per_request,
            sandbox_cpu_ms_per_payment: c.sandbox_cpu_ms_per_payment,
            sandbox_cpu_ms_per_request: c.sandbox_cpu_ms_per_request,
            server_counters: m.server.clone(),
            flood: m.flood.clone(),
            steps: m
                .steps
                .iter()
                .map(|(name, v)| StepStats {
                    step: (*name).to_string(),
                    count: v.len() as u64,
                    p50_ms: ms(v, 50.0),
                    p99_ms: ms(v, 99.0),
                    p999_ms: ms(v, 99.9),
                    max_ms: ms(v, 100.0),
                })
                .collect(),
            seed_secs: None,
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

    fn measurement(ok_ops: u64, ok_requests: u64, server: Option<ServerCounters>) -> Measurement {
        Measurement {
            latencies_us: vec![1_000; ok_ops as usize],
            ok_ops,
            ok_requests,
            steps: Vec::new(),
            errors: 4,
            error_samples: Vec::new(),
            elapsed: Duration::from_secs(10),
            server,
            flood: None,
        }
    }

    #[test]
    fn costs_per_payment_and_request() {
        let c = ServerCounters {
            routes: vec!["POST /a".into(), "POST /b".into()],
            route_requests: Some(2_004),
            route_statements: Some(12_024),
            db_transactions: Some(3_000),
            db_commits: Some(750),
            server_cpu_secs: Some(5.0),
            sandbox_cpu_secs: Some(1.0),
            clock_ticks_per_sec: 100,
            metrics_error: None,
        };
        let m = measurement(1_000, 2_002, Some(c.clone()));
        let st = ScenarioStats::new(Scenario::Payment, "sqlite", 64, &m);
        // 12,024 statements / 1,000 payments; / 2,004 requests.
        assert_eq!(st.statements_per_payment, Some(12.02));
        assert_eq!(st.statements_per_request, Some(6.0));
        assert_eq!(st.commits_per_fsync, Some(4.0));
        // 5 s of CPU for 1,000 payments, 2,004 requests.
        assert_eq!(st.server_cpu_ms_per_payment, Some(5.0));
        assert_eq!(st.server_cpu_ms_per_request, Some(2.495));
        assert_eq!(st.sandbox_cpu_ms_per_payment, Some(1.0));
        assert_eq!(st.sandbox_cpu_ms_per_request, Some(0.499));
        assert_eq!(st.server_counters.as_ref(), Some(&c));

        // PostgreSQL: no commits per fsync; a GET scenario: no per-payment figures.
        let st = ScenarioStats::new(Scenario::Status, "postgres", 64, &m);
        assert_eq!(st.commits_per_fsync, None);
        assert_eq!(st.statements_per_payment, None);
        assert_eq!(st.server_cpu_ms_per_payment, None);
        assert_eq!(st.statements_per_request, Some(6.0));

        // No /metrics: CPU per request falls back to the bench's completed requests
        // (2,002 ok + 4 errors).
        let bare = ServerCounters {
            server_cpu_secs: Some(2.006),
            sandbox_cpu_secs: None,
            metrics_error: Some("GET /metrics: HTTP 404 Not Found".into()),
            ..Default::default()
        };
        let st = ScenarioStats::new(
            Scenario::Refund,
            "sqlite",
            64,
            &measurement(0, 2_002, Some(bare)),
        );
        assert_eq!(st.statements_per_request, None);
        assert_eq!(st.commits_per_fsync, None);
        assert_eq!(st.server_cpu_ms_per_request, Some(1.0));
        assert_eq!(st.sandbox_cpu_ms_per_request, None);

        // Not probed at all; and no payment in the window: nothing to divide by.
        let st = ScenarioStats::new(Scenario::Payment, "sqlite", 64, &measurement(3, 6, None));
        assert_eq!(st.statements_per_payment, None);
        assert_eq!(st.server_cpu_ms_per_request, None);
        let st = ScenarioStats::new(Scenario::Payment, "sqlite", 64, &measurement(0, 0, Some(c)));
        assert_eq!(st.statements_per_payment, None);
        assert_eq!(st.server_cpu_ms_per_payment, None);
    }

    #[test]
    fn every_scenario_names_its_routes() {
        use clap::ValueEnum;
        for s in Scenario::value_variants() {
            let routes = s.routes();
            assert!(!routes.is_empty());
            assert_eq!(routes.len(), if s.counts_payments() { 2 } else { 1 });
            for (method, route) in routes {
                assert!(route.starts_with('/'));
                assert_eq!(*method == "GET", !s.is_payment());
            }
        }
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
