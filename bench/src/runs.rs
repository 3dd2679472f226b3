//! Server runs. Every database gets one `dealerpay serve` per sandbox latency: at 0 ms
//! with its in-process sandbox processor, as in production-like unit cost; above 0 ms
//! with the standalone `dealerpay sandbox-processor` over loopback HTTP, so a slow
//! processor costs the server what a real one would (an outbound connection and a
//! waiting request per call). Each run measures its own `healthz` ceiling first, and
//! every other row of the run is compared with it.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};

use crate::checkout;
use crate::load::{self, Demo, LoadConfig, Scenario, ScenarioStats, Seeded, Target};
use crate::payments;
use crate::probe::Probe;
use crate::server::{self, DbEnv, Processor, ServeOpts, Service};

/// `serve --processor-timeout-secs` default; the bench never passes less with a latency.
pub const SERVER_PROCESSOR_TIMEOUT_SECS: u64 = 15;

/// One server run on a database.
#[derive(Clone, Debug)]
pub struct RunPlan {
    /// Sandbox latency in ms; 0 uses the in-process sandbox, more the HTTP one.
    pub latency_ms: u64,
    /// Scenarios in order, `healthz` first.
    pub scenarios: Vec<Scenario>,
    pub cfg: LoadConfig,
    /// Passed as `--processor-timeout-secs`; `None` keeps the server's default.
    pub processor_timeout_secs: Option<u64>,
}

impl RunPlan {
    /// How the server reaches the sandbox in this run, as recorded in each row.
    pub fn processor_name(&self) -> &'static str {
        if self.latency_ms == 0 {
            "in-process"
        } else {
            "http"
        }
    }
}

/// The command-line choices [`plans`] turns into server runs.
pub struct PlanArgs<'a> {
    pub latencies_ms: &'a [u64],
    /// Scenarios at latency 0 (`--scenarios`).
    pub scenarios: &'a [Scenario],
    /// Scenarios at latencies above 0 (`--latency-scenarios`) [default: those of
    /// `scenarios` that call the processor].
    pub latency_scenarios: Option<&'a [Scenario]>,
    /// Workers at latency 0.
    pub cfg: LoadConfig,
    /// Workers of every scenario at latencies above 0.
    pub latency_concurrency: usize,
    pub processor_timeout_secs: Option<u64>,
}

/// The server runs for every database, in the order of `latencies_ms` (duplicates
/// dropped). Above 0 ms every scenario, `healthz` included, runs with
/// `latency_concurrency` workers, so the ceiling is measured at the same connection count.
pub fn plans(a: &PlanArgs) -> Vec<RunPlan> {
    dedup(a.latencies_ms.iter().copied())
        .into_iter()
        .map(|latency_ms| {
            if latency_ms == 0 {
                return RunPlan {
                    latency_ms,
                    scenarios: with_healthz(a.scenarios.iter().copied()),
                    cfg: a.cfg,
                    processor_timeout_secs: a.processor_timeout_secs,
                };
            }
            let chosen: Vec<Scenario> = match a.latency_scenarios {
                Some(list) => list.to_vec(),
                None => a
                    .scenarios
                    .iter()
                    .copied()
                    .filter(|s| s.calls_processor())
                    .collect(),
            };
            RunPlan {
                latency_ms,
                scenarios: with_healthz(chosen),
                cfg: LoadConfig {
                    concurrency: a.latency_concurrency,
                    payment_concurrency: a.latency_concurrency,
                    ..a.cfg
                },
                processor_timeout_secs: Some(processor_timeout_secs(
                    latency_ms,
                    a.processor_timeout_secs,
                )),
            }
        })
        .collect()
}

/// The processor timeout for a run with `latency_ms`: the one given, else comfortably
/// above the latency (ten times it, at least the server's default), so that queueing
/// under load does not turn into 202 *outcome unknown* answers.
pub fn processor_timeout_secs(latency_ms: u64, given: Option<u64>) -> u64 {
    given.unwrap_or_else(|| (latency_ms.div_ceil(1000) * 10).max(SERVER_PROCESSOR_TIMEOUT_SECS))
}

/// `healthz` first (every ratio is relative to it), then `rest` without duplicates.
pub fn with_healthz(rest: impl IntoIterator<Item = Scenario>) -> Vec<Scenario> {
    dedup(std::iter::once(Scenario::Healthz).chain(rest))
}

pub fn dedup<T: PartialEq + Copy>(items: impl IntoIterator<Item = T>) -> Vec<T> {
    let mut out = Vec::new();
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

/// What benchmarking one database produced. Rows of the runs that completed are kept
/// even when a later run failed.
#[derive(Default)]
pub struct DbOutcome {
    pub results: Vec<ScenarioStats>,
    /// Warnings such as an unclean shutdown.
    pub notes: Vec<String>,
    /// Why the database's runs stopped early, if they did.
    pub failure: Option<String>,
}

/// Seeds the demo data once, then does every run in `plans` on the database. The first
/// failing run ends the database (its state may be broken); later runs are skipped.
pub async fn bench_database(bin: &Path, env: &DbEnv, port: u16, plans: &[RunPlan]) -> DbOutcome {
    let mut out = DbOutcome::default();
    let demo = match server::seed(bin, env).await {
        Ok(d) => d,
        Err(e) => {
            out.failure = Some(format!("{e:#}"));
            return out;
        }
    };
    for plan in plans {
        match bench_run(bin, env, port, &demo, plan, &mut out.notes).await {
            Ok(rows) => out.results.extend(rows),
            Err(e) => {
                out.failure = Some(format!("sandbox {} ms: {e:#}", plan.latency_ms));
                break;
            }
        }
    }
    out
}

/// One server run: starts the standalone sandbox processor if the plan has a latency,
/// then the server, runs the plan's scenarios, and stops both (the server first, so no
/// call to the processor is cut off). Shutdown warnings go to `notes`.
async fn bench_run(
    bin: &Path,
    env: &DbEnv,
    port: u16,
    demo: &Demo,
    plan: &RunPlan,
    notes: &mut Vec<String>,
) -> Result<Vec<ScenarioStats>> {
    let db = env.kind.name();
    let label = format!("{db}, sandbox {} ms", plan.latency_ms);
    let mut sandbox: Option<Service> = None;
    let processor = if plan.latency_ms == 0 {
        Processor::InProcess
    } else {
        let svc = start_sandbox(bin, env, plan.latency_ms).await?;
        eprintln!(
            "== {label}: sandbox processor ready on {} (ledger {})",
            svc.base_url,
            env.sandbox_ledger(plan.latency_ms)
        );
        let url = svc.base_url.clone();
        sandbox = Some(svc);
        Processor::Http { url }
    };
    let opts = ServeOpts {
        processor,
        processor_timeout_secs: plan.processor_timeout_secs,
        operator_token: payments::random_token(),
    };
    let sandbox_pid = sandbox.as_ref().and_then(Service::pid);
    let result = serve_and_run(
        bin,
        env,
        port,
        demo,
        plan,
        &opts,
        sandbox_pid,
        &label,
        notes,
    )
    .await;
    if let Some(svc) = sandbox {
        note_stop(svc, &label, env, notes).await;
    }
    result
}

/// Starts the standalone sandbox processor and waits until it answers.
async fn start_sandbox(bin: &Path, env: &DbEnv, latency_ms: u64) -> Result<Service> {
    let ledger = env.sandbox_ledger(latency_ms);
    let log = format!("sandbox-{latency_ms}ms.log");
    let mut svc =
        Service::sandbox_processor(bin, env, server::free_port()?, &ledger, latency_ms, &log)?;
    if let Err(e) = svc.wait_ready().await {
        svc.stop().await;
        return Err(e);
    }
    Ok(svc)
}

/// Starts the server, runs the plan's scenarios against it (probing its `/metrics` and
/// CPU time, and the CPU time of the sandbox processor `sandbox_pid`) and stops it.
#[allow(clippy::too_many_arguments)] // one call site; a struct would only rename them
async fn serve_and_run(
    bin: &Path,
    env: &DbEnv,
    port: u16,
    demo: &Demo,
    plan: &RunPlan,
    opts: &ServeOpts,
    sandbox_pid: Option<u32>,
    label: &str,
    notes: &mut Vec<String>,
) -> Result<Vec<ScenarioStats>> {
    let port = if port == 0 {
        server::free_port()?
    } else {
        port
    };
    let log = format!("server-{}ms.log", plan.latency_ms);
    let mut srv = Service::server(bin, env, port, opts, &log)?;
    let ready = match srv.wait_ready().await {
        Ok(t) => t,
        Err(e) => {
            srv.stop().await;
            return Err(e);
        }
    };
    eprintln!(
        "== {label}: server ready on {} after {:.1} s",
        srv.base_url,
        ready.as_secs_f64()
    );
    let result = async {
        let target = Target::new(
            &srv.base_url,
            Some(demo.clone()),
            Some(&opts.operator_token),
        )?;
        let probe = new_probe(&srv.base_url, srv.pid(), sandbox_pid, label, notes).await?;
        run_scenarios(&target, plan, env.kind.name(), Some(&probe)).await
    }
    .await;
    note_stop(srv, label, env, notes).await;
    result
}

/// A probe of the server at `base`; when its `/metrics` cannot be read, a warning (also
/// in `notes`) says which figures are missing.
pub async fn new_probe(
    base: &str,
    server_pid: Option<u32>,
    sandbox_pid: Option<u32>,
    label: &str,
    notes: &mut Vec<String>,
) -> Result<Probe> {
    let (probe, warning) = Probe::new(base, server_pid, sandbox_pid).await?;
    if let Some(w) = warning {
        let n = format!(
            "{label}: {w}; statements per payment/request and commits per fsync not measured"
        );
        eprintln!("warning: {n}");
        notes.push(n);
    }
    if server_pid.is_none() {
        eprintln!("   {label}: server pid unknown; its CPU time is not measured");
    }
    Ok(probe)
}

/// Stops a service; an unclean exit after SIGTERM breaks the shutdown contract, so it is
/// recorded as a note.
async fn note_stop(svc: Service, label: &str, env: &DbEnv, notes: &mut Vec<String>) {
    let log = svc.log_name();
    if let Some(n) = svc.stop().await {
        eprintln!(
            "warning: {label}: {n}; see {}",
            env.dir.join(&log).display()
        );
        notes.push(format!("{label}: {n}"));
    }
}

/// Sets up what scenario `s` needs before its window: for `payment` and `refund` an order
/// and invoice per worker, for `checkout` a namespace and access token. Returns it with
/// the seconds it took (`None` when there was nothing to do).
async fn seed_scenario(
    target: &Target,
    s: Scenario,
    workers: usize,
    db: &str,
) -> Result<(Seeded, Option<f64>)> {
    let t0 = Instant::now();
    let mut seeded = Seeded::default();
    let what = if let Some(seed_payment) = s.seat_needs() {
        seeded.seats = payments::seed(target, workers, seed_payment)
            .await
            .with_context(|| format!("seeding {db}/{}", s.name()))?;
        format!(
            "seeded {workers} orders + invoices{} ({} at a time)",
            match seed_payment {
                Some(c) => format!(" and paid ${}.{:02} on each", c / 100, c % 100),
                None => String::new(),
            },
            payments::SEED_CONCURRENCY
        )
    } else if s.needs_merchant() {
        let m = checkout::setup(target)
            .await
            .with_context(|| format!("setting up {db}/{}", s.name()))?;
        let what = format!("set up namespace {}, API key and access token", m.namespace);
        seeded.merchant = Some(m);
        what
    } else {
        return Ok((seeded, None));
    };
    let secs = t0.elapsed().as_secs_f64();
    eprintln!("   {db}/{}: {what} in {secs:.2} s", s.name());
    Ok((seeded, Some((secs * 1000.0).round() / 1000.0)))
}

/// Runs the plan's scenarios in order against one server and fills in `vs_healthz`
/// (relative to this run's `healthz`). `db` names the rows; progress lines show the
/// run as `db@<latency>ms`. With a `probe`, every row also gets the server's counters
/// and CPU time over its window.
pub async fn run_scenarios(
    target: &Target,
    plan: &RunPlan,
    db: &str,
    probe: Option<&Probe>,
) -> Result<Vec<ScenarioStats>> {
    let cfg = plan.cfg;
    let tag = format!("{db}@{}ms", plan.latency_ms);
    let mut out = Vec::new();
    for &s in &plan.scenarios {
        let workers = cfg.workers(s);
        let (seeded, seed_secs) = seed_scenario(target, s, workers, &tag).await?;
        eprintln!(
            "   {tag}/{}: {workers} workers, {} s warmup + {} s",
            s.name(),
            cfg.warmup.as_secs(),
            cfg.duration.as_secs()
        );
        // A fresh pool per scenario, so no scenario inherits warm connections.
        let client = load::build_client(workers)?;
        let m = load::run(&client, target, s, workers, &seeded, cfg, probe).await?;
        let mut st = ScenarioStats::new(s, db, workers, &m);
        st.seed_secs = seed_secs;
        st.sandbox_latency_ms = plan.latency_ms;
        st.processor = plan.processor_name().to_string();
        st.processor_timeout_secs = plan.processor_timeout_secs;
        print_progress(&tag, &st);
        out.push(st);
    }
    fill_ratios(&mut out);
    Ok(out)
}

/// Prints a finished scenario's rates and its steps' latencies while the run goes on.
fn print_progress(tag: &str, st: &ScenarioStats) {
    let payments = st
        .payments_per_sec
        .map(|p| format!(", {p:.1} payments/s"))
        .unwrap_or_default();
    eprintln!(
        "   {tag}/{}: {:.1} req/s{payments}, {} errors",
        st.scenario, st.rps, st.errors
    );
    if st.requests == 0 {
        // Not a failure of the server: no operation was short enough to end in the window.
        eprintln!(
            "   {tag}/{}:   nothing completed in the {} s window: an operation takes longer; \
             use more --warmup-secs and --duration-secs",
            st.scenario, st.measured_secs
        );
    }
    for step in &st.steps {
        eprintln!(
            "   {tag}/{}:   {} p50 {} ms, p99 {} ms ({} sampled)",
            st.scenario,
            step.step,
            step.p50_ms.map_or("-".into(), |v| format!("{v:.2}")),
            step.p99_ms.map_or("-".into(), |v| format!("{v:.2}")),
            step.count
        );
    }
    if let Some(line) = cost_line(st) {
        eprintln!("   {tag}/{}:   {line}", st.scenario);
    }
    if let Some(c) = &st.server_counters {
        if let Some(e) = &c.metrics_error {
            eprintln!("   {tag}/{}:   server counters not read: {e}", st.scenario);
        } else if c.route_requests == Some(0) && st.requests > 0 {
            // The route labels of /metrics do not match what the bench expects.
            eprintln!(
                "   {tag}/{}:   warning: /metrics counted no request on {}",
                st.scenario,
                c.routes.join(", ")
            );
        }
    }
}

/// The server's costs of a row in one line, e.g. `server: 11.50 statements/payment,
/// 5.75 statements/request, 3.20 commits/fsync, 0.612 ms CPU/payment, ...`.
fn cost_line(st: &ScenarioStats) -> Option<String> {
    let figures = [
        (st.statements_per_payment, "statements/payment", 2),
        (st.statements_per_request, "statements/request", 2),
        (st.commits_per_fsync, "commits/fsync", 2),
        (st.server_cpu_ms_per_payment, "ms CPU/payment", 3),
        (st.server_cpu_ms_per_request, "ms CPU/request", 3),
        (st.sandbox_cpu_ms_per_payment, "ms sandbox CPU/payment", 3),
        (st.sandbox_cpu_ms_per_request, "ms sandbox CPU/request", 3),
    ];
    let parts: Vec<String> = figures
        .iter()
        .filter_map(|(v, what, d)| v.map(|v| format!("{v:.d$} {what}", d = *d)))
        .collect();
    (!parts.is_empty()).then(|| format!("server: {}", parts.join(", ")))
}

/// Sets every row's `vs_healthz`: its req/s over the `healthz` req/s among `rows` (one
/// server run), to four decimals, so that slow scenarios keep a readable ratio.
pub fn fill_ratios(rows: &mut [ScenarioStats]) {
    let base = rows
        .iter()
        .find(|r| r.scenario == Scenario::Healthz.name())
        .map(|r| r.rps)
        .filter(|b| *b > 0.0);
    if let Some(base) = base {
        for r in rows {
            r.vs_healthz = Some((r.rps / base * 10_000.0).round() / 10_000.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn cfg() -> LoadConfig {
        LoadConfig {
            concurrency: 8,
            payment_concurrency: 4,
            warmup: Duration::ZERO,
            duration: Duration::from_secs(1),
        }
    }

    fn all() -> Vec<Scenario> {
        use Scenario::*;
        vec![Healthz, PaymentRequest, Status, Payment, Checkout, Refund]
    }

    #[test]
    fn one_run_per_latency_with_healthz_first() {
        let scenarios = all();
        let p = plans(&PlanArgs {
            latencies_ms: &[0, 200, 0],
            scenarios: &scenarios,
            latency_scenarios: None,
            cfg: cfg(),
            latency_concurrency: 1000,
            processor_timeout_secs: None,
        });
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].scenarios, scenarios);
        assert_eq!(p[0].cfg.workers(Scenario::Payment), 4);
        assert_eq!(p[0].processor_timeout_secs, None);
        assert_eq!(p[0].processor_name(), "in-process");
        // Above 0 ms: only what calls the processor, all with the latency concurrency.
        use Scenario::*;
        assert_eq!(p[1].scenarios, vec![Healthz, Payment, Checkout, Refund]);
        assert_eq!(p[1].cfg.workers(Healthz), 1000);
        assert_eq!(p[1].cfg.workers(Payment), 1000);
        assert_eq!(p[1].processor_timeout_secs, Some(15));
        assert_eq!(p[1].processor_name(), "http");

        let p = plans(&PlanArgs {
            latencies_ms: &[200],
            scenarios: &[Payment],
            latency_scenarios: Some(&[Status]),
            cfg: cfg(),
            latency_concurrency: 10,
            processor_timeout_secs: Some(3),
        });
        assert_eq!(p[0].scenarios, vec![Healthz, Status]);
        assert_eq!(p[0].processor_timeout_secs, Some(3));
    }

    #[test]
    fn processor_timeout_is_well_above_the_latency() {
        assert_eq!(processor_timeout_secs(200, None), 15);
        assert_eq!(processor_timeout_secs(2_500, None), 30);
        assert_eq!(processor_timeout_secs(200, Some(5)), 5);
    }

    #[test]
    fn ratios_are_relative_to_the_runs_healthz() {
        let m = |ok_requests| load::Measurement {
            latencies_us: vec![1],
            ok_ops: 1,
            ok_requests,
            steps: Vec::new(),
            errors: 0,
            error_samples: Vec::new(),
            elapsed: Duration::from_secs(1),
            server: None,
            flood: None,
        };
        let mut rows = vec![
            ScenarioStats::new(Scenario::Healthz, "sqlite", 1, &m(40_000)),
            ScenarioStats::new(Scenario::Payment, "sqlite", 1, &m(600)),
        ];
        fill_ratios(&mut rows);
        assert_eq!(rows[0].vs_healthz, Some(1.0));
        assert_eq!(rows[1].vs_healthz, Some(0.015));
        // Without healthz there is nothing to compare with.
        let mut lone = vec![ScenarioStats::new(Scenario::Status, "sqlite", 1, &m(5))];
        fill_ratios(&mut lone);
        assert_eq!(lone[0].vs_healthz, None);
    }
}
