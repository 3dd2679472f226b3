//! Load test for the dealerpay server: starts the real `dealerpay` binary per database
//! and sandbox latency (with the standalone sandbox processor when the latency is above
//! 0), drives it over loopback HTTP with closed-loop workers and reports throughput and
//! latency as a table, `latest.json` and `latest.svg`.

mod checkout;
mod flood;
mod limits;
mod load;
mod payments;
mod probe;
mod report;
mod runs;
mod server;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Parser;

use load::{LoadConfig, Scenario, Target};
use report::{Report, Skipped};
use runs::{PlanArgs, RunPlan};
use server::{Database, DbEnv, PrepError};

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
        default_value = "healthz,paymentrequest,status,payment,checkout,refund,authflood"
    )]
    scenarios: Vec<Scenario>,
    /// Concurrent connections (one closed-loop worker each).
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Workers of the payment scenarios (payment, refund, checkout) [default:
    /// --concurrency].
    #[arg(long)]
    payment_concurrency: Option<usize>,
    /// Sandbox processor latencies (ms), comma separated: one server run per database
    /// each. 0 uses the server's in-process sandbox; more starts the standalone
    /// `dealerpay sandbox-processor --latency-ms N` and points the server at it.
    /// (`--sandbox-latency-ms N` is the old spelling.)
    #[arg(
        long,
        alias = "sandbox-latency-ms",
        value_delimiter = ',',
        default_value = "0,200"
    )]
    sandbox_latencies: Vec<u64>,
    /// Workers of every scenario (healthz included) in the runs with a latency above 0.
    #[arg(long, default_value_t = 1000)]
    latency_concurrency: usize,
    /// Scenarios of the runs with a latency above 0, comma separated; healthz always runs
    /// first [default: those of --scenarios that call the processor: payment, checkout,
    /// refund].
    #[arg(long, value_enum, value_delimiter = ',')]
    latency_scenarios: Option<Vec<Scenario>>,
    /// Passed to `serve --processor-timeout-secs` [default: the server's own at latency
    /// 0; above it, ten times the latency rounded up to seconds, at least 15].
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

async fn run(args: Args) -> Result<ExitCode> {
    let plans = plan_runs(&args)?;
    // Every worker holds a connection, in the bench and in the server (see limits).
    let max_workers = plans
        .iter()
        .flat_map(|p| p.scenarios.iter().map(|&s| p.cfg.workers(s)))
        .max()
        .unwrap_or(1);
    if let Some(msg) = limits::ensure_nofile(limits::wanted(max_workers)) {
        eprintln!("{msg}");
    }
    let mut report = new_report(&args, &plans);
    let mut failed = false;

    if let Some(url) = &args.target_url {
        let target = Target::new(url, None, None)?;
        eprintln!(
            "== target {}: healthz only, no server management",
            target.base
        );
        // Someone else's server: its /metrics if it has one, but no pid to read CPU from.
        let probe = runs::new_probe(&target.base, None, None, "target", &mut report.notes).await?;
        let run = runs::run_scenarios(&target, &plans[0], "target", Some(&probe));
        tokio::select! {
            r = run => report.results = r?,
            _ = tokio::signal::ctrl_c() => return Ok(interrupted()),
        }
    } else {
        let bin = server_bin(&args)?;
        for db in runs::dedup(args.databases.iter().copied()) {
            match bench_database(&bin, db, &args, &plans, &mut report).await {
                Some(ok) => failed |= !ok,
                None => return Ok(interrupted()),
            }
        }
    }

    if args.target_url.is_none() {
        report.targets = report::targets(&report.results);
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

/// Checks the options and turns them into the server runs done on every database.
fn plan_runs(args: &Args) -> Result<Vec<RunPlan>> {
    let payment_concurrency = args.payment_concurrency.unwrap_or(args.concurrency);
    if args.concurrency == 0
        || payment_concurrency == 0
        || args.latency_concurrency == 0
        || args.duration_secs == 0
    {
        bail!("--concurrency, --payment-concurrency, --latency-concurrency and --duration-secs must be at least 1");
    }
    let cfg = LoadConfig {
        concurrency: args.concurrency,
        payment_concurrency,
        warmup: Duration::from_secs(args.warmup_secs),
        duration: Duration::from_secs(args.duration_secs),
    };
    if args.target_url.is_some() {
        // One healthz run against someone else's server.
        return Ok(vec![RunPlan {
            latency_ms: 0,
            scenarios: vec![Scenario::Healthz],
            cfg,
            processor_timeout_secs: None,
        }]);
    }
    if args.sandbox_latencies.is_empty() {
        bail!("--sandbox-latencies needs at least one value");
    }
    let plans = runs::plans(&PlanArgs {
        latencies_ms: &args.sandbox_latencies,
        scenarios: &args.scenarios,
        latency_scenarios: args.latency_scenarios.as_deref(),
        cfg,
        latency_concurrency: args.latency_concurrency,
        processor_timeout_secs: args.processor_timeout_secs,
    });
    let with_checkout = plans
        .iter()
        .any(|p| p.scenarios.contains(&Scenario::Checkout));
    if with_checkout
        && args.warmup_secs.saturating_add(args.duration_secs) > checkout::MAX_SCENARIO_SECS
    {
        bail!(
            "checkout reuses one access token, valid {} s: --warmup-secs + --duration-secs must be at most {}",
            checkout::TOKEN_TTL.as_secs(),
            checkout::MAX_SCENARIO_SECS
        );
    }
    Ok(plans)
}

/// The report's metadata, before any result.
fn new_report(args: &Args, plans: &[RunPlan]) -> Report {
    let (timestamp, unix_time) = report::now_utc();
    let cfg = plans[0].cfg;
    let with_latency = plans.iter().any(|p| p.latency_ms > 0);
    Report {
        timestamp,
        unix_time,
        git_commit: report::git_commit(),
        nproc: report::nproc(),
        os: std::env::consts::OS.into(),
        arch: std::env::consts::ARCH.into(),
        concurrency: cfg.concurrency,
        payment_concurrency: cfg.payment_concurrency,
        sandbox_latencies_ms: plans.iter().map(|p| p.latency_ms).collect(),
        latency_concurrency: with_latency.then_some(args.latency_concurrency),
        processor_timeout_secs: args.processor_timeout_secs,
        duration_secs: args.duration_secs,
        warmup_secs: args.warmup_secs,
        target_url: args.target_url.clone(),
        results: Vec::new(),
        targets: Vec::new(),
        skipped: Vec::new(),
        notes: Vec::new(),
    }
}

fn server_bin(args: &Args) -> Result<PathBuf> {
    let bin = match &args.server_bin {
        Some(p) => p.clone(),
        None => default_server_bin()?,
    };
    if !bin.is_file() {
        bail!(
            "server binary {} not found; build it (./scripts/bench, or cargo build --release -p dealerpay) or pass --server-bin",
            bin.display()
        );
    }
    Ok(bin)
}

/// Prepares database `db`, does every run on it and cleans up, adding rows, notes and
/// any skip or failure to `report`. Returns whether it went without failure (a skip is
/// not one), or `None` after Ctrl-C (cleaned up too).
async fn bench_database(
    bin: &std::path::Path,
    db: Database,
    args: &Args,
    plans: &[RunPlan],
    report: &mut Report,
) -> Option<bool> {
    eprintln!("== {}: preparing database", db.name());
    let skip = |status: &str, reason: String| Skipped {
        database: db.name().into(),
        status: status.into(),
        reason,
    };
    let env = match DbEnv::prepare(db, &args.postgres_url).await {
        Ok(env) => env,
        Err(PrepError::Skip(reason)) => {
            eprintln!("== {}: skipped: {reason}", db.name());
            report.skipped.push(skip("skipped", reason));
            return Some(true);
        }
        Err(PrepError::Fail(e)) => {
            eprintln!("== {}: failed: {e:#}", db.name());
            report.skipped.push(skip("failed", format!("{e:#}")));
            return Some(false);
        }
    };
    let outcome = tokio::select! {
        o = runs::bench_database(bin, &env, args.port, plans) => o,
        _ = tokio::signal::ctrl_c() => {
            // The children are killed on drop; drop the database too.
            eprintln!("interrupted; cleaning up (logs kept in {})", env.dir.display());
            env.cleanup(true).await;
            return None;
        }
    };
    report.results.extend(outcome.results);
    report.notes.extend(outcome.notes);
    match outcome.failure {
        None => {
            env.cleanup(false).await;
            Some(true)
        }
        Some(e) => {
            let reason = format!("{e}\n(logs kept in {})", env.dir.display());
            eprintln!("== {}: failed: {reason}", db.name());
            report.skipped.push(skip("failed", reason));
            env.cleanup(true).await;
            Some(false)
        }
    }
}

fn interrupted() -> ExitCode {
    eprintln!("interrupted; no report written");
    ExitCode::from(130)
}

fn print_summary(report: &Report) {
    println!();
    println!("{}", report::table(&report.results).trim_end());
    for r in report.results.iter().filter(|r| r.errors > 0) {
        println!(
            "\nerrors in {}/{} at sandbox {} ms ({} total):",
            r.database, r.scenario, r.sandbox_latency_ms, r.errors
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
    for r in &report.results {
        if let Some(f) = &r.flood {
            let answers: Vec<String> = f
                .answers
                .iter()
                .map(|(k, v)| format!("{v} x {k}"))
                .collect();
            let rss = f
                .server_peak_rss_mib
                .map_or("unknown".to_string(), |m| format!("{m:.1} MiB"));
            println!(
                "
auth flood on {}: {} clients of unknown usernames answered {}; 5xx to anyone: {}; paying clients p99 {} ms; server peak RSS {rss}",
                r.database,
                f.clients,
                answers.join(", "),
                f.server_errors,
                r.p99_ms.map_or("-".to_string(), |v| format!("{v:.2}")),
            );
        }
    }
    if !report.targets.is_empty() {
        println!();
        for l in report::target_lines(&report.targets) {
            println!("{l}");
        }
    }
    for s in &report.skipped {
        println!("\n{} {}: {}", s.database, s.status, s.reason);
    }
    for n in &report.notes {
        println!("\nnote: {n}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_options() {
        let a = Args::try_parse_from(["bench"]).unwrap();
        assert_eq!(a.sandbox_latencies, vec![0, 200]);
        assert_eq!(a.latency_concurrency, 1000);
        // The old single-value flag still works.
        let a = Args::try_parse_from(["bench", "--sandbox-latency-ms", "200"]).unwrap();
        assert_eq!(a.sandbox_latencies, vec![200]);
        let a = Args::try_parse_from(["bench", "--sandbox-latencies", "0,50,200"]).unwrap();
        assert_eq!(a.sandbox_latencies, vec![0, 50, 200]);
        let plans = plan_runs(&a).unwrap();
        assert_eq!(plans.len(), 3);
        assert_eq!(plans[2].cfg.workers(Scenario::Healthz), 1000);
    }
}
