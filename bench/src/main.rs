//! Load test for the dealerpay server: starts the real `dealerpay` binary per
//! database, drives it over loopback HTTP with closed-loop workers and reports
//! throughput and latency as a table, `latest.json` and `latest.svg`.

mod checkout;
mod limits;
mod load;
mod payments;
mod report;
mod server;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Parser;

use load::{LoadConfig, Scenario, ScenarioStats, Seeded, Target};
use report::{Report, Skipped};
use server::{Database, DbEnv, PrepError, ServeOpts, Server};

#[derive(Parser, Debug)]
#[command(about = "Load-test the dealerpay server over loopback HTTP")]
struct Args {
    /// Server executable [default: `dealerpay` next to this executable].
    #[arg(long)]
    server_bin: Option<PathBuf>,
    /// Databases to benchmark, comma separated.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "sqlite,postgres"
    )]
    databases: Vec<Database>,
    /// Admin connection used (via `psql`) to create and drop the bench database.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    postgres_url: String,
    /// Scenarios to run, comma separated; healthz always runs first.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "healthz,paymentrequest,status,payment,checkout,refund"
    )]
    scenarios: Vec<Scenario>,
    /// Concurrent connections (one closed-loop worker each).
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Workers of the payment scenarios (payment, refund, checkout) [default:
    /// --concurrency].
    #[arg(long)]
    payment_concurrency: Option<usize>,
    /// Latency the server's in-process sandbox processor adds to every call (ms).
    #[arg(long, default_value_t = 0)]
    sandbox_latency_ms: u64,
    /// Passed to `serve --processor-timeout-secs` [default: the server's own].
    #[arg(long)]
    processor_timeout_secs: Option<u64>,
    /// Measured seconds per scenario.
    #[arg(long, default_value_t = 10)]
    duration_secs: u64,
    /// Seconds per scenario whose results are discarded before measuring.
    #[arg(long, default_value_t = 2)]
    warmup_secs: u64,
    /// Directory for latest.json and latest.svg.
    #[arg(long, default_value = "bench/results")]
    out_dir: PathBuf,
    /// Server port on 127.0.0.1; 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Testing aid: skip server management and run only healthz against
    /// `URL/healthz` of an already running server.
    #[arg(long, hide = true, value_name = "URL")]
    target_url: Option<String>,
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Args::parse()).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn default_server_bin() -> Result<PathBuf> {
    let exe = std::env::current_exe().context("locating own executable")?;
    let dir = exe.parent().context("own executable has no directory")?;
    Ok(dir.join(format!("dealerpay{}", std::env::consts::EXE_SUFFIX)))
}

fn dedup<T: PartialEq + Copy>(items: impl IntoIterator<Item = T>) -> Vec<T> {
    let mut out = Vec::new();
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

async fn run(args: Args) -> Result<ExitCode> {
    let payment_concurrency = args.payment_concurrency.unwrap_or(args.concurrency);
    if args.concurrency == 0 || payment_concurrency == 0 || args.duration_secs == 0 {
        bail!("--concurrency, --payment-concurrency and --duration-secs must be at least 1");
    }
    let cfg = LoadConfig {
        concurrency: args.concurrency,
        payment_concurrency,
        warmup: Duration::from_secs(args.warmup_secs),
        duration: Duration::from_secs(args.duration_secs),
    };
    // healthz first: every other scenario's ratio is relative to it.
    let scenarios = if args.target_url.is_some() {
        vec![Scenario::Healthz]
    } else {
        dedup(std::iter::once(Scenario::Healthz).chain(args.scenarios.iter().copied()))
    };
    if scenarios.contains(&Scenario::Checkout)
        && args.warmup_secs.saturating_add(args.duration_secs) > checkout::MAX_SCENARIO_SECS
    {
        bail!(
            "checkout reuses one access token, valid {} s: --warmup-secs + --duration-secs must be at most {}",
            checkout::TOKEN_TTL.as_secs(),
            checkout::MAX_SCENARIO_SECS
        );
    }
    // Every worker holds a connection, on both sides of loopback.
    let max_workers = scenarios.iter().map(|&s| cfg.workers(s)).max().unwrap_or(1);
    if let Some(msg) = limits::ensure_nofile(limits::wanted(max_workers)) {
        eprintln!("{msg}");
    }
    let (timestamp, unix_time) = report::now_utc();
    let mut report = Report {
        timestamp,
        unix_time,
        git_commit: report::git_commit(),
        nproc: report::nproc(),
        os: std::env::consts::OS.into(),
        arch: std::env::consts::ARCH.into(),
        concurrency: args.concurrency,
        payment_concurrency,
        sandbox_latency_ms: args.sandbox_latency_ms,
        processor_timeout_secs: args.processor_timeout_secs,
        duration_secs: args.duration_secs,
        warmup_secs: args.warmup_secs,
        target_url: args.target_url.clone(),
        results: Vec::new(),
        skipped: Vec::new(),
        notes: Vec::new(),
    };
    let mut failed = false;

    if let Some(url) = &args.target_url {
        let target = Target::new(url, None, None)?;
        eprintln!(
            "== target {}: healthz only, no server management",
            target.base
        );
        tokio::select! {
            r = run_scenarios(&target, &[Scenario::Healthz], "target", cfg) => report.results = r?,
            _ = tokio::signal::ctrl_c() => return Ok(interrupted()),
        }
    } else {
        let bin = match &args.server_bin {
            Some(p) => p.clone(),
            None => default_server_bin()?,
        };
        if !bin.is_file() {
            bail!(
                "server binary {} not found; build it (cargo build --release -p dealerpay) or pass --server-bin",
                bin.display()
            );
        }
        for db in dedup(args.databases.iter().copied()) {
            eprintln!("== {}: preparing database", db.name());
            let env = match DbEnv::prepare(db, &args.postgres_url).await {
                Ok(env) => env,
                Err(PrepError::Skip(reason)) => {
                    eprintln!("== {}: skipped: {reason}", db.name());
                    report.skipped.push(Skipped {
                        database: db.name().into(),
                        status: "skipped".into(),
                        reason,
                    });
                    continue;
                }
                Err(PrepError::Fail(e)) => {
                    eprintln!("== {}: failed: {e:#}", db.name());
                    failed = true;
                    report.skipped.push(Skipped {
                        database: db.name().into(),
                        status: "failed".into(),
                        reason: format!("{e:#}"),
                    });
                    continue;
                }
            };
            let opts = ServeOpts {
                sandbox_latency_ms: args.sandbox_latency_ms,
                processor_timeout_secs: args.processor_timeout_secs,
                operator_token: payments::random_token(),
            };
            let outcome = tokio::select! {
                r = bench_database(&bin, &env, args.port, &opts, &scenarios, cfg) => r,
                _ = tokio::signal::ctrl_c() => {
                    // The server child is killed on drop; drop the database too.
                    eprintln!("interrupted; cleaning up (logs kept in {})", env.dir.display());
                    env.cleanup(true).await;
                    return Ok(interrupted());
                }
            };
            match outcome {
                Ok((stats, notes)) => {
                    report.results.extend(stats);
                    report.notes.extend(notes);
                    env.cleanup(false).await;
                }
                Err(e) => {
                    failed = true;
                    let reason = format!("{e:#}\n(logs kept in {})", env.dir.display());
                    eprintln!("== {}: failed: {reason}", db.name());
                    report.skipped.push(Skipped {
                        database: db.name().into(),
                        status: "failed".into(),
                        reason,
                    });
                    env.cleanup(true).await;
                }
            }
        }
    }

    print_summary(&report);
    std::fs::create_dir_all(&args.out_dir)
        .with_context(|| format!("creating {}", args.out_dir.display()))?;
    let json = args.out_dir.join("latest.json");
    let svg = args.out_dir.join("latest.svg");
    report::write_json(&json, &report)?;
    report::write_svg(&svg, &report)?;
    println!("\nwrote {} and {}", json.display(), svg.display());
    // Fail if a database broke or a scenario had no successful request (or, for
    // `payment` and `checkout`, no successful payment) at all.
    let useless = report.results.is_empty()
        || report
            .results
            .iter()
            .any(|r| r.rps == 0.0 || r.payments_per_sec == Some(0.0));
    Ok(if failed || useless {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn interrupted() -> ExitCode {
    eprintln!("interrupted; no report written");
    ExitCode::from(130)
}

/// Seeds, starts the server, runs every scenario, stops the server.
/// Returns the stats and any shutdown warnings.
async fn bench_database(
    bin: &Path,
    env: &DbEnv,
    port: u16,
    opts: &ServeOpts,
    scenarios: &[Scenario],
    cfg: LoadConfig,
) -> Result<(Vec<ScenarioStats>, Vec<String>)> {
    let db = env.kind.name();
    let demo = server::seed(bin, env).await?;
    let port = if port == 0 {
        server::free_port()?
    } else {
        port
    };
    let mut srv = Server::start(bin, env, port, opts)?;
    let ready = match srv.wait_ready().await {
        Ok(t) => t,
        Err(e) => {
            srv.stop().await;
            return Err(e);
        }
    };
    eprintln!(
        "== {db}: server ready on {} after {:.1} s",
        srv.base_url,
        ready.as_secs_f64()
    );
    let result = match Target::new(&srv.base_url, Some(demo), Some(&opts.operator_token)) {
        Ok(target) => run_scenarios(&target, scenarios, db, cfg).await,
        Err(e) => Err(e),
    };
    let note = srv.stop().await;
    let stats = result?;
    // A clean exit after SIGTERM is part of the contract; record it if not.
    let notes = note
        .map(|n| {
            eprintln!("warning: {db}: {n}; see {}", env.log_path().display());
            format!("{db}: {n}")
        })
        .into_iter()
        .collect();
    Ok((stats, notes))
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
    let t0 = std::time::Instant::now();
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

/// Runs the scenarios in order against one target and fills in `vs_healthz`.
async fn run_scenarios(
    target: &Target,
    scenarios: &[Scenario],
    db: &str,
    cfg: LoadConfig,
) -> Result<Vec<ScenarioStats>> {
    let mut out = Vec::new();
    for &s in scenarios {
        let workers = cfg.workers(s);
        let (seeded, seed_secs) = seed_scenario(target, s, workers, db).await?;
        eprintln!(
            "   {db}/{}: {workers} workers, {} s warmup + {} s",
            s.name(),
            cfg.warmup.as_secs(),
            cfg.duration.as_secs()
        );
        // A fresh pool per scenario, so no scenario inherits warm connections.
        let client = load::build_client(workers)?;
        let m = load::run(&client, target, s, workers, &seeded, cfg).await?;
        let mut st = ScenarioStats::new(s, db, workers, &m);
        st.seed_secs = seed_secs;
        let payments = st
            .payments_per_sec
            .map(|p| format!(", {p:.1} payments/s"))
            .unwrap_or_default();
        eprintln!(
            "   {db}/{}: {:.1} req/s{payments}, {} errors",
            s.name(),
            st.rps,
            st.errors
        );
        for step in &st.steps {
            eprintln!(
                "   {db}/{}:   {} p50 {} ms, p99 {} ms ({} sampled)",
                s.name(),
                step.step,
                step.p50_ms.map_or("-".into(), |v| format!("{v:.2}")),
                step.p99_ms.map_or("-".into(), |v| format!("{v:.2}")),
                step.count
            );
        }
        out.push(st);
    }
    let base = out
        .iter()
        .find(|r| r.scenario == Scenario::Healthz.name())
        .map(|r| r.rps);
    if let Some(base) = base.filter(|b| *b > 0.0) {
        for r in &mut out {
            r.vs_healthz = Some((r.rps / base * 100.0).round() / 100.0);
        }
    }
    Ok(out)
}

fn print_summary(report: &Report) {
    println!();
    println!("{}", report::table(&report.results).trim_end());
    for r in report.results.iter().filter(|r| r.errors > 0) {
        println!(
            "\nerrors in {}/{} ({} total):",
            r.database, r.scenario, r.errors
        );
        for e in &r.error_samples {
            let example = if e.example.is_empty() {
                String::new()
            } else {
                format!(": {}", e.example)
            };
            println!(
                "  {:>8} x {}{}",
                e.count,
                e.kind,
                example.replace('\n', " ")
            );
        }
    }
    for s in &report.skipped {
        println!("\n{} {}: {}", s.database, s.status, s.reason);
    }
    for n in &report.notes {
        println!("\nnote: {n}");
    }
}
