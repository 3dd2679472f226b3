//! The real `dealerpay` binary as a child process: one-shot commands (`demo --json`,
//! `reconcile`, …) and [`ServerProcess`], a long-running subcommand (`serve`,
//! `sandbox-processor`) on a free port with its output in a log file.
#![allow(dead_code)]

use reqwest::{Client, StatusCode};
use serde_json::Value;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_dealerpay");

/// `dealerpay` with none of our configuration variables inherited from the environment.
pub fn cmd() -> Command {
    let mut c = Command::new(BIN);
    for v in [
        "DATABASE_URL",
        "DEALERPAY_OPERATOR_TOKEN",
        "DEALERPAY_PUBLIC_URL",
        "DEALERPAY_LISTEN",
        "DEALERPAY_LOG",
        "DEALERPAY_PROCESSOR_URL",
        "DEALERPAY_SANDBOX_LEDGER",
        "DEALERPAY_SANDBOX_LATENCY_MS",
        "DEALERPAY_SANDBOX_SLOW_MS",
        "DEALERPAY_PROCESSOR_TIMEOUT_SECS",
    ] {
        c.env_remove(v);
    }
    c
}

/// Runs `dealerpay args…` to completion (on a blocking thread, not the runtime's).
pub async fn run(args: &[&str]) -> Output {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || cmd().args(&args).output().expect("dealerpay runs"))
        .await
        .unwrap()
}

/// Runs and asserts success; returns stdout.
pub async fn run_ok(args: &[&str]) -> String {
    let out = run(args).await;
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "dealerpay {args:?} failed ({}):\nstdout: {stdout}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Runs, asserts success and parses stdout as one JSON value.
pub async fn run_json(args: &[&str]) -> Value {
    let stdout = run_ok(args).await;
    serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!("dealerpay {args:?}: stdout is not one JSON value ({e}):\n{stdout}")
    })
}

/// `dealerpay demo --json --database db`: a fresh order and invoice, and fresh credentials.
pub async fn demo(db: &str) -> Value {
    run_json(&["demo", "--json", "--database", db]).await
}

/// The string at `key` of a JSON object (a demo run, an admin command's output…).
pub fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} missing in {v}"))
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// How to start a [`ServerProcess`]; made by [`ServerProcess::serve`] or
/// [`ServerProcess::command`], then adjusted and [`started`](ServerOptions::start).
pub struct ServerOptions {
    subcommand: String,
    args: Vec<String>,
    env: Vec<(String, String)>,
    ready_path: &'static str,
    log_prefix: String,
    log_tail: Option<usize>,
}

impl ServerOptions {
    fn new(subcommand: &str, ready_path: &'static str) -> ServerOptions {
        ServerOptions {
            subcommand: subcommand.to_string(),
            args: vec![],
            env: vec![],
            ready_path,
            log_prefix: subcommand.to_string(),
            log_tail: None,
        }
    }

    /// More command-line arguments, after `<subcommand> --listen <addr>`.
    pub fn args<S: AsRef<str>>(mut self, args: impl IntoIterator<Item = S>) -> Self {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_string()));
        self
    }

    /// An environment variable for the child (on top of [`cmd`]'s cleaned environment).
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    /// The log file is `<temp dir>/dealerpay-<prefix>-<pid>-<uuid>.log` (default prefix:
    /// the subcommand).
    pub fn log_prefix(mut self, prefix: &str) -> Self {
        self.log_prefix = prefix.to_string();
        self
    }

    /// When the test fails, show only the last `lines` of the log (default: all of it).
    pub fn log_tail(mut self, lines: usize) -> Self {
        self.log_tail = Some(lines);
        self
    }

    /// Spawns `dealerpay <subcommand> --listen 127.0.0.1:<free port> <args…>` with stdout
    /// and stderr in the log file, and waits up to 20 s for the ready path to answer 200.
    pub async fn start(self) -> ServerProcess {
        let name = format!("dealerpay {}", self.subcommand);
        let log = std::env::temp_dir().join(format!(
            "dealerpay-{}-{}-{}.log",
            self.log_prefix,
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        let file = std::fs::File::create(&log).unwrap();
        let listen = format!("127.0.0.1:{}", free_port());
        let child = cmd()
            .args([self.subcommand.as_str(), "--listen", &listen])
            .args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .unwrap_or_else(|e| panic!("{name} starts: {e}"));
        let mut p = ServerProcess {
            name,
            child,
            base: format!("http://{listen}"),
            log,
            log_tail: self.log_tail,
        };
        p.wait_ready(self.ready_path).await;
        p
    }
}

/// A `dealerpay` child listening on a free port, its stdout and stderr in a log file;
/// killed on drop, its log shown if the test failed.
pub struct ServerProcess {
    name: String,
    child: Child,
    /// `http://127.0.0.1:<port>`
    pub base: String,
    log: PathBuf,
    log_tail: Option<usize>,
}

impl ServerProcess {
    /// `dealerpay serve --database database`, ready once `/readyz` answers.
    pub fn serve(database: &str) -> ServerOptions {
        ServerOptions::new("serve", "/readyz").args(["--database", database])
    }

    /// Any listening subcommand (`sandbox-processor`…), ready once `/healthz` answers.
    pub fn command(subcommand: &str) -> ServerOptions {
        ServerOptions::new(subcommand, "/healthz")
    }

    async fn wait_ready(&mut self, path: &str) {
        let client = Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("{} exited early ({status}):\n{}", self.name, self.log());
            }
            if let Ok(r) = client.get(self.url(path)).send().await {
                if r.status() == StatusCode::OK {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "{} not ready:\n{}",
                self.name,
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn log_bytes(&self) -> Vec<u8> {
        std::fs::read(&self.log).unwrap_or_default()
    }

    pub fn log(&self) -> String {
        String::from_utf8_lossy(&self.log_bytes()).to_string()
    }

    pub fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Sends `signal` through `kill` (no libc needed).
    fn signal(&self, signal: &str) {
        let pid = self.child.id().to_string();
        let st = Command::new("kill")
            .args([&format!("-{signal}"), &pid])
            .status()
            .expect("kill runs");
        assert!(st.success(), "kill -{signal} {pid} failed");
    }

    pub fn sigterm(&self) {
        self.signal("TERM");
    }

    /// SIGKILL, and reap.
    pub fn kill9(&mut self) {
        self.signal("KILL");
        let status = self.child.wait().unwrap();
        assert!(
            !status.success(),
            "{} survived SIGKILL: {status}",
            self.name
        );
    }

    /// Waits until `deadline` for the exit status.
    pub async fn wait_exit(&mut self, deadline: Instant) -> Option<ExitStatus> {
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Asserts a successful exit within 10 s of the SIGTERM sent at `signalled`.
    pub async fn assert_graceful_stop(&mut self, signalled: Instant) {
        let status = self.wait_exit(signalled + Duration::from_secs(10)).await;
        let status = status.unwrap_or_else(|| {
            panic!(
                "{} still running 10 s after SIGTERM:\n{}",
                self.name,
                self.log()
            )
        });
        assert!(
            status.success(),
            "exit after SIGTERM: {status}\n{}",
            self.log()
        );
    }

    /// SIGTERM, then [`assert_graceful_stop`](ServerProcess::assert_graceful_stop).
    pub async fn stop(&mut self) {
        let signalled = Instant::now();
        self.sigterm();
        self.assert_graceful_stop(signalled).await;
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if std::thread::panicking() {
            let log = self.log();
            match self.log_tail {
                None => eprintln!("--- {} log ---\n{log}", self.name),
                Some(n) => {
                    let tail: Vec<&str> = log.lines().rev().take(n).collect();
                    eprintln!("--- {} log (last {} lines) ---", self.name, tail.len());
                    for l in tail.iter().rev() {
                        eprintln!("{l}");
                    }
                }
            }
        }
        let _ = std::fs::remove_file(&self.log);
    }
}
