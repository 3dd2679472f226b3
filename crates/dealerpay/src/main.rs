//! `dealerpay`: the payments service and its operator tools in one binary.

mod admin;
mod demo;

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

fn config(public_url: String) -> api::app::Config {
    api::app::Config {
        public_url,
        operator_token: std::env::var("DEALERPAY_OPERATOR_TOKEN")
            .ok()
            .filter(|t| t.len() >= 16),
    }
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
        } => {
            init_logging("info");
            let listener = tokio::net::TcpListener::bind(&listen)
                .await
                .with_context(|| format!("binding {listen}"))?;
            let addr = listener.local_addr()?;
            let public_url = public_url.unwrap_or_else(|| format!("http://{addr}"));
            let state = api::build(&db.database, config(public_url.clone()))
                .await
                .context("opening the database")?;
            if demo {
                let seeded = demo::seed(&state).await?;
                println!("{}", demo::instructions(&seeded, &public_url));
            }
            tracing::info!(%addr, backend = ?state.db.backend(), "dealerpay listening");
            api::serve(listener, state.clone(), shutdown_signal()).await?;
            state.db.close().await;
            tracing::info!("stopped");
        }
        Command::Demo {
            json,
            db,
            public_url,
        } => {
            init_logging("warn");
            let state = api::build(&db.database, config(public_url.clone()))
                .await
                .context("opening the database")?;
            let seeded = demo::seed(&state).await?;
            if json {
                println!("{}", serde_json::to_string(&seeded.to_json())?);
            } else {
                println!("{}", demo::instructions(&seeded, &public_url));
            }
            state.db.close().await;
        }
        Command::Admin { db, command } => {
            init_logging("warn");
            let state = api::build(&db.database, config(String::new()))
                .await
                .context("opening the database")?;
            let r = admin::run(&state, command).await;
            state.db.close().await;
            r?;
        }
        Command::Migrate { db } => {
            init_logging("info");
            let state = api::build(&db.database, config(String::new()))
                .await
                .context("opening the database")?;
            state.db.close().await;
            println!("migrations applied");
        }
    }
    Ok(())
}
