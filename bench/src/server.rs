//! Databases and the `dealerpay` server process: create/drop the database,
//! seed demo data, start `serve` (and the standalone `sandbox-processor`), wait for
//! readiness, stop with SIGTERM.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, Context, Result};
use tokio::process::{Child, Command};
use tokio::time::{sleep, timeout, Instant};

use crate::load::Demo;

const READY_TIMEOUT: Duration = Duration::from_secs(30);
const DEMO_TIMEOUT: Duration = Duration::from_secs(120);
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
const PSQL_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Database {
    Sqlite,
    Postgres,
}

impl Database {
    pub fn name(self) -> &'static str {
        match self {
            Database::Sqlite => "sqlite",
            Database::Postgres => "postgres",
        }
    }
}

/// Why a database could not be benchmarked.
pub enum PrepError {
    /// Environment lacks it (no psql, PostgreSQL unreachable): not a failure.
    Skip(String),
    Fail(anyhow::Error),
}

/// A fresh database plus a scratch directory for logs (and the SQLite file).
pub struct DbEnv {
    pub kind: Database,
    pub url: String,
    pub dir: PathBuf,
    /// `(admin url, database name)` of a PostgreSQL database to drop at the end.
    pg: Option<(String, String)>,
}

fn make_temp_dir(kind: Database) -> Result<PathBuf> {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!(
        "dealerpay-bench-{}-{}-{nanos}",
        kind.name(),
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    dir.canonicalize()
        .with_context(|| format!("resolving {}", dir.display()))
}

/// Replaces the database name (URL path) of a PostgreSQL URL, keeping any query.
pub fn pg_url_with_db(admin: &str, db: &str) -> Result<String> {
    let scheme_end = admin.find("://").context("PostgreSQL URL has no scheme")? + 3;
    let (head, query) = match admin.find('?') {
        Some(q) => admin.split_at(q),
        None => (admin, ""),
    };
    let authority_end = head[scheme_end..]
        .find('/')
        .map_or(head.len(), |i| scheme_end + i);
    Ok(format!("{}/{db}{query}", &head[..authority_end]))
}

async fn psql(admin_url: &str, sql: &str) -> Result<()> {
    let mut cmd = Command::new("psql");
    cmd.arg(admin_url)
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql])
        .env("PGCONNECT_TIMEOUT", "5")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    let out = timeout(PSQL_TIMEOUT, cmd.output())
        .await
        .map_err(|_| anyhow!("psql timed out after {PSQL_TIMEOUT:?}"))?
        .context("running psql")?;
    if !out.status.success() {
        bail!(
            "psql {sql:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

impl DbEnv {
    pub async fn prepare(kind: Database, postgres_admin_url: &str) -> Result<DbEnv, PrepError> {
        match kind {
            Database::Sqlite => {
                let dir = make_temp_dir(kind).map_err(PrepError::Fail)?;
                let url = format!("sqlite://{}", dir.join("bench.db").display());
                Ok(DbEnv {
                    kind,
                    url,
                    dir,
                    pg: None,
                })
            }
            Database::Postgres => {
                let name = format!("dealerpay_bench_{}", std::process::id());
                let url = pg_url_with_db(postgres_admin_url, &name).map_err(PrepError::Fail)?;
                // A leftover from an earlier run with the same pid would not be fresh.
                let create = async {
                    psql(
                        postgres_admin_url,
                        &format!("DROP DATABASE IF EXISTS \"{name}\""),
                    )
                    .await?;
                    psql(postgres_admin_url, &format!("CREATE DATABASE \"{name}\"")).await
                };
                if let Err(e) = create.await {
                    return Err(PrepError::Skip(format!("{e:#}")));
                }
                let dir = match make_temp_dir(kind) {
                    Ok(d) => d,
                    Err(e) => {
                        drop_pg(postgres_admin_url, &name).await;
                        return Err(PrepError::Fail(e));
                    }
                };
                Ok(DbEnv {
                    kind,
                    url,
                    dir,
                    pg: Some((postgres_admin_url.to_string(), name)),
                })
            }
        }
    }

    /// Ledger of a standalone sandbox processor: a SQLite file of its own in the scratch
    /// directory (so it does not contend for the server's database file), or the bench's
    /// PostgreSQL database (the `sandbox_ledger` table, as the in-process sandbox keeps it).
    pub fn sandbox_ledger(&self, latency_ms: u64) -> String {
        match self.kind {
            Database::Sqlite => format!(
                "sqlite://{}",
                self.dir
                    .join(format!("sandbox-ledger-{latency_ms}ms.db"))
                    .display()
            ),
            Database::Postgres => self.url.clone(),
        }
    }

    /// Drops the PostgreSQL database (best effort) and removes the scratch
    /// directory unless `keep_dir` (kept for its logs after a failure).
    pub async fn cleanup(self, keep_dir: bool) {
        if let Some((admin, name)) = &self.pg {
            drop_pg(admin, name).await;
        }
        if !keep_dir {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

async fn drop_pg(admin: &str, name: &str) {
    // WITH (FORCE) needs PostgreSQL 13+; fall back to a plain drop.
    let forced = psql(
        admin,
        &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
    )
    .await;
    if forced.is_err() {
        if let Err(e) = psql(admin, &format!("DROP DATABASE IF EXISTS \"{name}\"")).await {
            eprintln!("warning: could not drop database {name}: {e:#}");
        }
    }
}

/// Last `n` lines of a log file, for error messages.
pub fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Parses the demo output: the whole stdout, or failing that its last JSON line.
fn parse_demo(stdout: &str) -> Result<Demo> {
    let whole = serde_json::from_str::<Demo>(stdout.trim());
    whole.or_else(|first_err| {
        stdout
            .lines()
            .rev()
            .find(|l| l.trim_start().starts_with('{'))
            .and_then(|l| serde_json::from_str(l.trim()).ok())
            .ok_or(first_err)
            .context("parsing `demo --json` output")
    })
}

/// Runs `dealerpay demo --json` and returns the seeded ids and credentials.
/// Its stderr is saved to `demo.log`.
pub async fn seed(bin: &Path, env: &DbEnv) -> Result<Demo> {
    let mut cmd = Command::new(bin);
    cmd.args(["demo", "--json", "--database", &env.url])
        .stdin(Stdio::null())
        .kill_on_drop(true);
    // tokio's output() pipes stdout and stderr whatever was configured.
    let out = timeout(DEMO_TIMEOUT, cmd.output())
        .await
        .map_err(|_| anyhow!("`demo` timed out after {DEMO_TIMEOUT:?}"))?
        .with_context(|| format!("running {}", bin.display()))?;
    let log = env.dir.join("demo.log");
    std::fs::write(&log, &out.stderr).with_context(|| format!("writing {}", log.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!(
            "`demo --json` failed ({}); demo.log:\n{}",
            out.status,
            tail(&log, 20)
        );
    }
    parse_demo(&stdout).with_context(|| format!("stdout was: {}", stdout.trim()))
}

/// Picks a free loopback port by binding port 0 and releasing it.
pub fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").context("binding 127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

/// Which sandbox processor the server pays with.
#[derive(Clone, Debug)]
pub enum Processor {
    /// The server's in-process sandbox, without added latency.
    InProcess,
    /// The standalone sandbox processor at this base URL (`serve --processor-url URL`).
    Http { url: String },
}

/// How `dealerpay serve` is started besides its address and database.
#[derive(Clone, Debug)]
pub struct ServeOpts {
    pub processor: Processor,
    /// `--processor-timeout-secs`; `None` keeps the server's default.
    pub processor_timeout_secs: Option<u64>,
    /// `DEALERPAY_OPERATOR_TOKEN`, used to seed orders and invoices over HTTP.
    pub operator_token: String,
}

/// A child process serving HTTP on loopback: the `dealerpay` server or the standalone
/// sandbox processor. Its stdout and stderr go to a log file in the scratch directory.
pub struct Service {
    child: Child,
    pub base_url: String,
    log: PathBuf,
    /// `server` or `sandbox processor`, for messages.
    what: &'static str,
    /// Polled until it answers 200 (`/readyz`, or `/healthz` of the processor).
    ready_path: &'static str,
}

impl Service {
    /// Starts `dealerpay serve` on `127.0.0.1:port`, logging to `log` (a file name in the
    /// scratch directory).
    pub fn server(
        bin: &Path,
        env: &DbEnv,
        port: u16,
        opts: &ServeOpts,
        log: &str,
    ) -> Result<Service> {
        let listen = format!("127.0.0.1:{port}");
        let mut cmd = Command::new(bin);
        cmd.args(["serve", "--listen", &listen, "--database", &env.url]);
        match &opts.processor {
            // Explicit, and without DEALERPAY_PROCESSOR_URL, so that the caller's
            // environment cannot switch the run to another processor or latency.
            Processor::InProcess => cmd
                .args(["--sandbox-latency-ms", "0"])
                .env_remove("DEALERPAY_PROCESSOR_URL"),
            Processor::Http { url } => cmd.arg("--processor-url").arg(url),
        };
        if let Some(t) = opts.processor_timeout_secs {
            cmd.arg("--processor-timeout-secs").arg(t.to_string());
        }
        cmd.env("DEALERPAY_OPERATOR_TOKEN", &opts.operator_token);
        Service::spawn(cmd, listen, env.dir.join(log), "server", "/readyz")
    }

    /// Starts the standalone `dealerpay sandbox-processor` on `127.0.0.1:port` with its
    /// ledger `ledger` (a database URL) and `latency_ms` added to every call.
    pub fn sandbox_processor(
        bin: &Path,
        env: &DbEnv,
        port: u16,
        ledger: &str,
        latency_ms: u64,
        log: &str,
    ) -> Result<Service> {
        let listen = format!("127.0.0.1:{port}");
        let mut cmd = Command::new(bin);
        cmd.args(["sandbox-processor", "--listen", &listen, "--ledger", ledger])
            .arg("--latency-ms")
            .arg(latency_ms.to_string());
        Service::spawn(
            cmd,
            listen,
            env.dir.join(log),
            "sandbox processor",
            "/healthz",
        )
    }

    fn spawn(
        mut cmd: Command,
        listen: String,
        log: PathBuf,
        what: &'static str,
        ready_path: &'static str,
    ) -> Result<Service> {
        let out = File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        let err = out.try_clone()?;
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            // Safety net: SIGKILL if we bail out (error, Ctrl-C) without stop().
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting the {what}"))?;
        Ok(Service {
            child,
            base_url: format!("http://{listen}"),
            log,
            what,
            ready_path,
        })
    }

    /// The child's process id (`None` once it has been reaped). The bench starts the
    /// binary itself, not a shell, so this is the server's (or processor's) own pid, whose
    /// `/proc/<pid>/stat` has its CPU time.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// The log file's name, for messages.
    pub fn log_name(&self) -> String {
        self.log
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
    }

    /// Polls the ready path until it answers 200, the process exits, or 30 s pass.
    pub async fn wait_ready(&mut self) -> Result<Duration> {
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(2))
            .build()?;
        let url = format!("{}{}", self.base_url, self.ready_path);
        let (what, log) = (self.what, self.log_name());
        let start = Instant::now();
        let mut last = String::from("no answer yet");
        while start.elapsed() < READY_TIMEOUT {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "{what} exited before becoming ready ({status}); {log}:\n{}",
                    tail(&self.log, 30)
                );
            }
            match client.get(&url).send().await {
                Ok(r) if r.status().is_success() => return Ok(start.elapsed()),
                Ok(r) => last = format!("HTTP {}", r.status()),
                Err(e) => last = e.to_string(),
            }
            sleep(Duration::from_millis(100)).await;
        }
        bail!(
            "{what} not ready after {READY_TIMEOUT:?} (last {}: {last}); {log}:\n{}",
            self.ready_path,
            tail(&self.log, 30)
        )
    }

    /// SIGTERM, wait up to 10 s, then SIGKILL. Returns a warning if the shutdown was not
    /// clean: a clean exit after SIGTERM is part of the contract.
    pub async fn stop(mut self) -> Option<String> {
        let what = self.what;
        if let Ok(Some(status)) = self.child.try_wait() {
            return Some(format!("{what} had already exited ({status})"));
        }
        let Some(pid) = self.child.id() else {
            return Some(format!("{what} pid unknown"));
        };
        let term = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status();
        if !matches!(term, Ok(s) if s.success()) {
            let _ = self.child.kill().await;
            return Some(format!("`kill -TERM {pid}` failed ({term:?}); killed"));
        }
        match timeout(STOP_TIMEOUT, self.child.wait()).await {
            Ok(Ok(status)) if status.success() => None,
            Ok(Ok(status)) => Some(describe_exit(what, status)),
            Ok(Err(e)) => Some(format!("waiting for the {what}: {e}")),
            Err(_) => {
                let _ = self.child.kill().await;
                Some(format!(
                    "{what} did not exit within {STOP_TIMEOUT:?} of SIGTERM; sent SIGKILL"
                ))
            }
        }
    }
}

fn describe_exit(what: &str, status: ExitStatus) -> String {
    format!("{what} exited uncleanly after SIGTERM ({status})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pg_url_rewrite() {
        let f = |u| pg_url_with_db(u, "x").unwrap();
        assert_eq!(
            f("postgres://postgres@127.0.0.1:5432/postgres"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(f("postgres://u:p@h:5432"), "postgres://u:p@h:5432/x");
        assert_eq!(
            f("postgresql://h/db?sslmode=disable"),
            "postgresql://h/x?sslmode=disable"
        );
        assert_eq!(
            f("postgres://h?sslmode=disable"),
            "postgres://h/x?sslmode=disable"
        );
    }

    #[test]
    fn demo_parsing() {
        let j = r#"{"username":"u","password":"p","dealerUuid":"d","departmentUuid":"dp",
            "customerUuid":"c","dealerOrderUuid":"o","invoiceGuid":"i","paymentRequestGuid":"r","extra":1}"#;
        assert_eq!(parse_demo(j).unwrap().payment_request_guid, "r");
        let noisy = format!("seeding...\n{}\n", j.replace('\n', ""));
        assert_eq!(parse_demo(&noisy).unwrap().invoice_guid, "i");
        assert!(parse_demo("nope").is_err());
    }
}
