//! `dealerpay`: the payments service and its operator tools in one binary.

mod admin;
mod demo;

/// The server allocates and frees many small buffers per request (rows, JSON); mimalloc's
/// thread-local free lists do that with far less contention than glibc's malloc.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use anyhow::Context;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "dealerpay",
    version,
    about = "Self-hostable payments for automotive dealerships (myKaarma Payments API v7.6.1 wire contract)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Clone)]
struct DbArgs {
    /// Database URL: a SQLite file path or `sqlite://path`, or `postgres://user@host/db`.
    #[arg(
        long = "database",
        env = "DATABASE_URL",
        default_value = "./dealerpay.db"
    )]
    database: String,
}

#[derive(clap::Args, Clone)]
struct ProcessorArgs {
    /// Use the standalone sandbox processor at this URL instead of the in-process one.
    #[arg(long, env = "DEALERPAY_PROCESSOR_URL")]
    processor_url: Option<String>,
    /// Ledger of the in-process sandbox [default: beside the database].
    #[arg(long, env = "DEALERPAY_SANDBOX_LEDGER")]
    sandbox_ledger: Option<String>,
    /// Latency the in-process sandbox adds to every call, in milliseconds.
    #[arg(long, env = "DEALERPAY_SANDBOX_LATENCY_MS", default_value_t = 0)]
    sandbox_latency_ms: u64,
    /// How long the sandbox's slow test card takes, in milliseconds.
    #[arg(long, env = "DEALERPAY_SANDBOX_SLOW_MS", default_value_t = 3000)]
    sandbox_slow_ms: u64,
    /// Seconds to wait for the processor before an outcome counts as unknown (then the
    /// attempt stays in flight and the resolver asks the processor).
    #[arg(long, env = "DEALERPAY_PROCESSOR_TIMEOUT_SECS", default_value_t = 15)]
    processor_timeout_secs: u64,
    /// How long past the processor timeout an in-flight attempt's lease lasts before the
    /// resolver may settle it, in milliseconds.
    #[arg(long, env = "DEALERPAY_LEASE_GRACE_MS", default_value_t = 5000)]
    lease_grace_ms: u64,
    /// How often the in-flight resolver (and the session expiry job) runs, in milliseconds.
    #[arg(long, env = "DEALERPAY_RESOLVER_INTERVAL_MS", default_value_t = 2000)]
    resolver_interval_ms: u64,
    /// More processors dealers may select by name (their `paymentProvider`): a standalone
    /// sandbox at URL, as `NAME=URL` (repeatable).
    #[arg(long = "processor", value_name = "NAME=URL", value_parser = parse_processor)]
    processors: Vec<(String, String)>,
}

fn parse_processor(s: &str) -> Result<(String, String), String> {
    let (name, url) = s.split_once('=').ok_or("expected NAME=URL")?;
    let name = name.trim().to_ascii_uppercase();
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err("NAME must be letters, digits or '_'".into());
    }
    url::Url::parse(url.trim()).map_err(|e| format!("URL: {e}"))?;
    Ok((name, url.trim().to_string()))
}

fn parse_net(s: &str) -> Result<ipnet::IpNet, String> {
    let s = s.trim();
    s.parse::<ipnet::IpNet>()
        .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("{s:?} is neither an IP address nor a CIDR block"))
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server (migrates the database first). Stops gracefully on SIGTERM/Ctrl-C.
    Serve {
        /// Address to listen on.
        #[arg(long, env = "DEALERPAY_LISTEN", default_value = "127.0.0.1:8080")]
        listen: String,
        #[command(flatten)]
        db: DbArgs,
        /// Base URL customers reach this server at, used in pay links [default: http://<listen>].
        #[arg(long, env = "DEALERPAY_PUBLIC_URL")]
        public_url: Option<String>,
        /// Seed the demo data first and print working credentials and curl commands.
        #[arg(long)]
        demo: bool,
        #[command(flatten)]
        processor: ProcessorArgs,
        /// Customer pages: page views allowed per client address per minute (counted in the
        /// database, so across every server on it).
        #[arg(long, env = "DEALERPAY_PAGE_VIEWS_PER_MINUTE", default_value_t = 300)]
        page_views_per_minute: u32,
        /// Customer pages: form posts (payments) allowed per client address per minute.
        #[arg(long, env = "DEALERPAY_PAGE_POSTS_PER_MINUTE", default_value_t = 30)]
        page_posts_per_minute: u32,
        /// Failed password sign-ins allowed from one client address per window (all servers
        /// on the database together); past it, password checks answer 429 until the window ends.
        #[arg(
            long,
            env = "DEALERPAY_AUTH_FAILURES_PER_ADDRESS",
            default_value_t = 100
        )]
        auth_failures_per_address: i64,
        /// Failed password sign-ins allowed for one username per window.
        #[arg(
            long,
            env = "DEALERPAY_AUTH_FAILURES_PER_USERNAME",
            default_value_t = 10
        )]
        auth_failures_per_username: i64,
        /// The sign-in throttle's window, in seconds.
        #[arg(
            long,
            env = "DEALERPAY_AUTH_FAILURE_WINDOW_SECS",
            default_value_t = 300
        )]
        auth_failure_window_secs: u64,
        /// Let Checkout merchants use plain http success/cancel URLs to this machine
        /// (127.0.0.1, ::1, localhost): for local development only.
        #[arg(long, env = "DEALERPAY_ALLOW_HTTP_LOOPBACK_URLS")]
        allow_http_loopback_urls: bool,
        /// Seconds a client may take to send a request head; also how long an idle
        /// keep-alive connection stays open. Behind a load balancer, set it above the
        /// balancer's own idle timeout.
        #[arg(long, env = "DEALERPAY_HEADER_READ_TIMEOUT_SECS", default_value_t = 20)]
        header_read_timeout_secs: u64,
        /// Seconds a client may take to send a request body once its head has arrived.
        #[arg(long, env = "DEALERPAY_BODY_READ_TIMEOUT_SECS", default_value_t = 30)]
        body_read_timeout_secs: u64,
        /// Proxies (addresses or CIDR blocks, comma-separated) whose X-Forwarded-For names
        /// the client for rate limits and the sign-in throttle. Empty: the peer is the client.
        #[arg(
            long,
            env = "DEALERPAY_TRUSTED_PROXIES",
            value_delimiter = ',',
            value_parser = parse_net
        )]
        trusted_proxies: Vec<ipnet::IpNet>,
    },
    /// Run the sandbox processor as its own HTTP service (for realistic failure testing);
    /// point servers at it with --processor-url.
    SandboxProcessor {
        #[arg(long, default_value = "127.0.0.1:8090")]
        listen: String,
        /// The sandbox's durable ledger (SQLite file or PostgreSQL URL).
        #[arg(long, default_value = "./sandbox-ledger.db")]
        ledger: String,
        /// Latency added to every call, in milliseconds.
        #[arg(long, default_value_t = 0)]
        latency_ms: u64,
        /// How long the slow test card takes, in milliseconds.
        #[arg(long, default_value_t = 3000)]
        slow_ms: u64,
        /// Base URL of its challenge pages [default: http://<listen>].
        #[arg(long)]
        public_url: Option<String>,
        /// Fault injection: wait this long after recording a charge before answering.
        #[arg(long, default_value_t = 0)]
        reply_delay_ms: u64,
        /// Fault injection at run time: serve `GET/POST /sandbox/faults` (loopback clients
        /// only) to switch faults on and off and read call counts, and log every charge and
        /// resolve call in the ledger's `sandbox_calls` table (for tests).
        #[arg(long)]
        fault_injection: bool,
    },
    /// Compare our records with the processor's ledger; exits 1 on any difference.
    Reconcile {
        #[command(flatten)]
        db: DbArgs,
        #[command(flatten)]
        processor: ProcessorArgs,
    },
    /// Seed a demo dealer with an open repair order, invoice, payment request and a partner
    /// credential holding payment.all. Safe to run repeatedly.
    Demo {
        /// Print exactly one JSON object (uuids, guids, username, password) instead of curl commands.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        db: DbArgs,
        /// Base URL printed in the curl commands.
        #[arg(
            long,
            env = "DEALERPAY_PUBLIC_URL",
            default_value = "http://127.0.0.1:8080"
        )]
        public_url: String,
    },
    /// Operator tasks: partners, scope grants, dealer/department tokens, operator tokens.
    Admin {
        #[command(flatten)]
        db: DbArgs,
        /// Base URL customers reach the servers at (links the outbox prints).
        #[arg(long, env = "DEALERPAY_PUBLIC_URL", global = true)]
        public_url: Option<String>,
        #[command(subcommand)]
        command: admin::AdminCommand,
    },
    /// Apply database migrations and exit.
    Migrate {
        #[command(flatten)]
        db: DbArgs,
    },
}

fn init_logging(default: &str) {
    // JSON lines on stderr; stdout stays free for command output (`demo --json`).
    let filter = tracing_subscriber::EnvFilter::try_from_env("DEALERPAY_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

fn config(public_url: String, p: Option<&ProcessorArgs>) -> api::app::Config {
    let mut c = api::app::Config {
        public_url,
        operator_token: std::env::var("DEALERPAY_OPERATOR_TOKEN")
            .ok()
            .filter(|t| t.len() >= 16),
        card_hash_key: std::env::var("DEALERPAY_CARD_HASH_KEY")
            .ok()
            .filter(|k| k.len() >= 32),
        key_file: std::env::var_os("DEALERPAY_KEY_FILE").map(Into::into),
        ..Default::default()
    };
    if let Some(p) = p {
        c.processor_url = p.processor_url.clone();
        c.sandbox_ledger = p.sandbox_ledger.clone();
        c.sandbox_latency = std::time::Duration::from_millis(p.sandbox_latency_ms);
        c.sandbox_slow_delay = std::time::Duration::from_millis(p.sandbox_slow_ms);
        c.processor_timeout = std::time::Duration::from_secs(p.processor_timeout_secs.max(1));
        c.lease_grace = std::time::Duration::from_millis(p.lease_grace_ms);
        c.resolver_interval = std::time::Duration::from_millis(p.resolver_interval_ms.max(10));
        c.extra_processors = p.processors.clone();
        // A request may wait for the processor, then record: well past the processor timeout.
        c.request_timeout = c.processor_timeout * 2 + std::time::Duration::from_secs(30);
    }
    c
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutdown requested; draining in-flight requests");
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve {
            listen,
            db,
            public_url,
            demo,
            processor,
            page_views_per_minute,
            page_posts_per_minute,
            auth_failures_per_address,
            auth_failures_per_username,
            auth_failure_window_secs,
            allow_http_loopback_urls,
            header_read_timeout_secs,
            body_read_timeout_secs,
            trusted_proxies,
        } => {
            init_logging("info");
            let listener = tokio::net::TcpListener::bind(&listen)
                .await
                .with_context(|| format!("binding {listen}"))?;
            let addr = listener.local_addr()?;
            let public_url = public_url.unwrap_or_else(|| format!("http://{addr}"));
            let mut cfg = config(public_url.clone(), Some(&processor));
            cfg.page_views_per_minute = page_views_per_minute;
            cfg.page_posts_per_minute = page_posts_per_minute;
            cfg.allow_http_loopback_urls = allow_http_loopback_urls;
            cfg.timeouts = api::server::Timeouts {
                header_read: std::time::Duration::from_secs(header_read_timeout_secs.max(1)),
                body_read: std::time::Duration::from_secs(body_read_timeout_secs.max(1)),
            };
            cfg.trusted_proxies = trusted_proxies;
            cfg.auth_throttle = engine::throttle::AuthThrottle {
                window: std::time::Duration::from_secs(auth_failure_window_secs.max(1)),
                per_address: auth_failures_per_address,
                per_username: auth_failures_per_username,
                ..Default::default()
            };
            let state = api::build(&db.database, cfg)
                .await
                .context("opening the database")?;
            if demo {
                let seeded = demo::seed(&state).await?;
                println!("{}", demo::instructions(&seeded, &public_url));
            }
            tracing::info!(%addr, backend = ?state.engine.db.backend(), "dealerpay listening");
            api::serve(listener, state.clone(), shutdown_signal()).await?;
            state.engine.db.close().await;
            tracing::info!("stopped");
        }
        Command::Demo {
            json,
            db,
            public_url,
        } => {
            init_logging("warn");
            let state = api::build(&db.database, config(public_url.clone(), None))
                .await
                .context("opening the database")?;
            let seeded = demo::seed(&state).await?;
            if json {
                println!("{}", serde_json::to_string(&seeded.to_json())?);
            } else {
                println!("{}", demo::instructions(&seeded, &public_url));
            }
            state.engine.db.close().await;
        }
        Command::Admin {
            db,
            public_url,
            command,
        } => {
            init_logging("warn");
            let state = api::build(&db.database, config(public_url.unwrap_or_default(), None))
                .await
                .context("opening the database")?;
            let r = admin::run(&state, command).await;
            state.engine.db.close().await;
            r?;
        }
        Command::SandboxProcessor {
            listen,
            ledger,
            latency_ms,
            slow_ms,
            public_url,
            reply_delay_ms,
            fault_injection,
        } => {
            init_logging("info");
            let listener = tokio::net::TcpListener::bind(&listen)
                .await
                .with_context(|| format!("binding {listen}"))?;
            let addr = listener.local_addr()?;
            let cfg = connectors::sandbox::SandboxConfig {
                latency: std::time::Duration::from_millis(latency_ms),
                slow_delay: std::time::Duration::from_millis(slow_ms),
                public_url: public_url.unwrap_or_else(|| format!("http://{addr}")),
                reply_delay: std::time::Duration::from_millis(reply_delay_ms),
                fault_injection,
            };
            let sandbox = std::sync::Arc::new(
                connectors::sandbox::Sandbox::open(&ledger, cfg)
                    .await
                    .context("opening the ledger")?,
            );
            tracing::info!(%addr, ledger = %ledger, "sandbox processor listening");
            // With the peer address, so that the fault switch answers loopback clients only.
            axum::serve(
                listener,
                api::sandbox_http::api_router(sandbox)
                    .into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .with_graceful_shutdown(shutdown_signal())
            .await?;
        }
        Command::Reconcile { db, processor } => {
            init_logging("warn");
            let state = api::build(&db.database, config(String::new(), Some(&processor)))
                .await
                .context("opening the database")?;
            let report = state
                .engine
                .reconcile()
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.detail))?;
            state.engine.db.close().await;
            println!(
                "processor ledger entries: {}\nour transactions: {}\napproved charges matched: {}\napproved refunds/voids matched: {}\nattempts in flight: {}",
                report.processor_entries, report.our_transactions, report.approved_charges, report.approved_reversals, report.in_flight
            );
            if report.differences.is_empty() {
                println!("reconciled: no differences");
            } else {
                for d in &report.differences {
                    println!("DIFFERENCE: {d}");
                }
                std::process::exit(1);
            }
        }
        Command::Migrate { db } => {
            init_logging("info");
            let state = api::build(&db.database, config(String::new(), None))
                .await
                .context("opening the database")?;
            state.engine.db.close().await;
            println!("migrations applied");
        }
    }
    Ok(())
}
