//! The real `dealerpay` binary as a child process: one-shot commands (`demo --json`,
//! `reconcile`, …) and [`ServerProcess`], a long-running subcommand (`serve`,
//! `sandbox-processor`) on a free port with its output in a log file.
#![allow(dead_code)]

use super::{rows, scalar};
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
        "DEALERPAY_LEASE_GRACE_MS",
        "DEALERPAY_RESOLVER_INTERVAL_MS",
        "DEALERPAY_CARD_HASH_KEY",
        "DEALERPAY_KEY_FILE",
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
#[derive(Clone)]
pub struct ServerOptions {
    port: Option<u16>,
    subcommand: String,
    args: Vec<String>,
    env: Vec<(String, String)>,
    ready_path: &'static str,
    log_prefix: String,
    log_tail: Option<usize>,
    nofile: Option<u64>,
}

impl ServerOptions {
    fn new(subcommand: &str, ready_path: &'static str) -> ServerOptions {
        ServerOptions {
            port: None,
            subcommand: subcommand.to_string(),
            args: vec![],
            env: vec![],
            ready_path,
            log_prefix: subcommand.to_string(),
            log_tail: None,
            nofile: None,
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

    /// Listen on this port instead of a free one (to restart a killed process at the same
    /// address).
    pub fn port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    /// When the test fails, show only the last `lines` of the log (default: all of it).
    pub fn log_tail(mut self, lines: usize) -> Self {
        self.log_tail = Some(lines);
        self
    }

    /// Start the child with this open-files limit (`ulimit -n`), soft and hard.
    pub fn nofile(mut self, limit: u64) -> Self {
        self.nofile = Some(limit);
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
        let listen = format!("127.0.0.1:{}", self.port.unwrap_or_else(free_port));
        let mut command = cmd();
        if let Some(n) = self.nofile {
            // The limit is set by a shell that then becomes the server (`exec`).
            command = Command::new("sh");
            for (k, _) in std::env::vars() {
                if k.starts_with("DEALERPAY_") || k == "DATABASE_URL" {
                    command.env_remove(k);
                }
            }
            command.args(["-c", &format!("ulimit -n {n} && exec \"$0\" \"$@\""), BIN]);
        }
        let child = command
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

// ----- shared by the load, crash, two-server and processor-fault tests -----

/// A card number the sandbox approves.
pub const VISA: &str = "4242424242424242";

/// A fixed card-hash key for servers that must agree (two servers on one database).
pub const SHARED_CARD_HASH_KEY: &str = "load-test-card-hash-key-0123456789abcdef";

/// A directory removed on drop (the sandbox's ledger lives in one; ours may be PostgreSQL).
pub struct ScratchDir(pub PathBuf);

impl ScratchDir {
    pub fn new(prefix: &str) -> ScratchDir {
        let dir = std::env::temp_dir().join(format!(
            "dealerpay-{prefix}-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        ScratchDir(dir)
    }

    pub fn file(&self, name: &str) -> String {
        self.0.join(name).display().to_string()
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A small deterministic RNG (SplitMix64) so that kill times repeat from a seed.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo).max(1)
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.range(0, 100) < percent
    }
}

/// `dealerpay reconcile` against the sandbox at `processor`: (exit code, stdout + stderr).
pub async fn reconcile(db: &str, processor: &str) -> (i32, String) {
    let out = run(&["reconcile", "--database", db, "--processor-url", processor]).await;
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// Asserts `dealerpay reconcile` exits 0 with no differences.
pub async fn assert_reconciled(db: &str, processor: &str) -> String {
    let (code, out) = reconcile(db, processor).await;
    assert_eq!(code, 0, "reconcile found differences:\n{out}");
    assert!(out.contains("reconciled: no differences"), "{out}");
    out
}

/// The standalone sandbox's whole ledger.
pub async fn sandbox_ledger(sandbox: &str) -> Vec<Value> {
    let r = Client::new()
        .get(format!("{sandbox}/sandbox/v1/ledger"))
        .send()
        .await
        .expect("ledger answers");
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.expect("ledger is JSON")
}

/// Switches a sandbox fault (needs `--fault-injection`), e.g.
/// `{"mode": "error_after", "ops": ["charge"], "count": 1}`.
pub async fn set_fault(sandbox: &str, fault: Value) {
    let r = Client::new()
        .post(format!("{sandbox}/sandbox/faults"))
        .json(&fault)
        .send()
        .await
        .expect("fault switch answers");
    let st = r.status();
    let body = r.text().await.unwrap_or_default();
    assert_eq!(st, StatusCode::OK, "fault switch: {body}");
}

/// How often the sandbox was called for `op` with `key` (needs `--fault-injection`).
pub async fn sandbox_calls(sandbox: &str, op: &str, key: &str) -> u64 {
    fault_state(sandbox).await["calls"][op][key]
        .as_u64()
        .unwrap_or(0)
}

/// What the sandbox's fault switch reports (`GET /sandbox/faults`).
async fn fault_state(sandbox: &str) -> Value {
    Client::new()
        .get(format!("{sandbox}/sandbox/faults"))
        .send()
        .await
        .expect("fault switch answers")
        .json()
        .await
        .unwrap()
}

/// The modes of the faults the sandbox injected into calls of `op` with `key`, in order
/// (needs `--fault-injection`): proof that a fault switched on really hit that call.
pub async fn sandbox_injected(sandbox: &str, op: &str, key: &str) -> Vec<String> {
    fault_state(sandbox).await["injected"][op][key]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|m| m.as_str().expect("a fault mode").to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Milliseconds since the Unix epoch (the clock the sandbox stamps its call log with).
pub fn wall_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// One call the sandbox logged durably (`--fault-injection`; see
/// `connectors::sandbox::CALL_LOG`): it survives the sandbox being killed and restarted.
#[derive(Debug, Clone)]
pub struct LoggedCall {
    /// `charge` or `resolve`.
    pub op: String,
    pub key: String,
    /// This call created the key's ledger row.
    pub fresh: bool,
    /// The ledger row's status after the call.
    pub status: String,
    /// When the sandbox handled it (ms since the epoch).
    pub at: i64,
}

impl LoggedCall {
    /// A charge call that left the charge approved (or authorized): money taken by it.
    pub fn took_money(&self) -> bool {
        self.op == "charge" && (self.status == "approved" || self.status == "authorized")
    }
}

/// Every call in the call log of the sandbox ledger at `ledger`, oldest first.
pub async fn sandbox_call_log(ledger: &str) -> Vec<LoggedCall> {
    let db = db::Db::connect(ledger).await.unwrap();
    let calls: Vec<(String, String, i64, String, i64)> = rows(
        &db,
        "SELECT op, key, fresh, status, at FROM sandbox_calls ORDER BY at",
        vec![],
    )
    .await;
    db.close().await;
    calls
        .into_iter()
        .map(|(op, key, fresh, status, at)| LoggedCall {
            op,
            key,
            fresh: fresh == 1,
            status,
            at,
        })
        .collect()
}

/// The logged calls of `op` for `key`.
pub fn calls_for<'a>(log: &'a [LoggedCall], op: &str, key: &str) -> Vec<&'a LoggedCall> {
    log.iter().filter(|c| c.op == op && c.key == key).collect()
}

/// The idempotency keys the processor was asked to charge twice in a way that took money
/// twice (two charge calls that each left it approved), or at all twice — the engine sends
/// one charge per attempt, whatever crashed — described; and how many keys were charged.
/// The ledger's key would absorb a second charge; the call log sees it.
pub fn charged_twice(log: &[LoggedCall]) -> (Vec<String>, usize) {
    let mut per_key = std::collections::BTreeMap::<&str, (usize, usize)>::new();
    for c in log.iter().filter(|c| c.op == "charge") {
        let e = per_key.entry(c.key.as_str()).or_default();
        e.0 += 1;
        e.1 += usize::from(c.took_money());
    }
    let twice = per_key
        .iter()
        .filter(|(_, (calls, _))| *calls > 1)
        .map(|(key, (calls, took))| {
            if *took > 1 {
                format!("{key}: {calls} charge calls, {took} took money: charged twice")
            } else {
                format!("{key}: {calls} charge calls ({took} took money)")
            }
        })
        .collect();
    (twice, per_key.len())
}

/// Panics if a key was charged twice (see [`charged_twice`]); returns how many keys were
/// charged.
pub fn assert_charged_once_per_key(log: &[LoggedCall]) -> usize {
    let (twice, keys) = charged_twice(log);
    assert!(
        twice.is_empty(),
        "keys sent to the processor's charge more than once:\n{}",
        twice.join("\n")
    );
    keys
}

/// A v1 client with the demo partner's credentials. Never panics on transport errors: a
/// server killed under it is part of the tests.
#[derive(Clone)]
pub struct PartnerApi {
    pub client: Client,
    pub base: String,
    pub user: String,
    pub pass: String,
}

pub type Answer = Result<(u16, Value), String>;

impl PartnerApi {
    pub fn new(base: &str, demo: &Value, timeout: Duration) -> PartnerApi {
        PartnerApi {
            client: Client::builder().timeout(timeout).build().unwrap(),
            base: base.to_string(),
            user: s(demo, "username").into(),
            pass: s(demo, "password").into(),
        }
    }

    pub async fn send(&self, rb: reqwest::RequestBuilder) -> Answer {
        let r = rb
            .basic_auth(&self.user, Some(&self.pass))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let st = r.status().as_u16();
        let text = r.text().await.map_err(|e| e.to_string())?;
        Ok((st, serde_json::from_str(&text).unwrap_or(Value::Null)))
    }

    pub async fn post(&self, path: &str, body: Value) -> Answer {
        self.send(self.client.post(format!("{}{path}", self.base)).json(&body))
            .await
    }

    /// prePayment of `amount` on a demo order/invoice (`order` is a `demo --json` object).
    pub async fn prepay(&self, order: &Value, amount: f64) -> Answer {
        self.post(
            "/payment/kpayment/v1/prepayment",
            serde_json::json!({
                "dealerUuid": s(order, "dealerUuid"), "customerUuid": s(order, "customerUuid"),
                "dealerOrderUuid": s(order, "dealerOrderUuid"), "invoiceGUID": s(order, "invoiceGuid"),
                "amount": amount, "ignorePaymentAttemptValidation": true
            }),
        )
        .await
    }

    /// Confirms with a sandbox card (CVV and ZIP as the demo dealer enforces them).
    pub async fn confirm(&self, attempt: &str, number: &str, capture: bool) -> Answer {
        self.post(
            &format!("/payment/kpayment/v1/paymentattempts/{attempt}/confirm"),
            serde_json::json!({"card": {"number": number, "expMonth": 12, "expYear": 2034,
                "cvv": "123", "zip": "94107"}, "capture": capture}),
        )
        .await
    }

    pub async fn refund(&self, transaction: &str, amount: f64) -> Answer {
        self.post(
            &format!("/payment/kpayment/v1/transactions/{transaction}/refund"),
            serde_json::json!({ "amount": amount }),
        )
        .await
    }

    pub async fn attempt(&self, attempt: &str) -> Answer {
        self.send(self.client.get(format!(
            "{}/payment/kpayment/v1/paymentattempts/{attempt}",
            self.base
        )))
        .await
    }

    /// Polls the attempt until its status is final (not InProgress/Created); panics after
    /// `within`.
    pub async fn wait_settled(&self, attempt: &str, within: Duration) -> Value {
        let deadline = Instant::now() + within;
        loop {
            if let Ok((200, b)) = self.attempt(attempt).await {
                let st = b["paymentAttempt"]["status"].as_str().unwrap_or("");
                if !["InProgress", "Created"].contains(&st) {
                    return b["paymentAttempt"].clone();
                }
            }
            assert!(
                Instant::now() < deadline,
                "attempt {attempt} not settled within {within:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Waits until no attempt is in flight (authorization holds aside); panics after `within`.
pub async fn wait_nothing_in_flight(db: &str, within: Duration) -> Duration {
    let started = Instant::now();
    let store = db::Db::connect(db).await.unwrap();
    loop {
        let n: i64 = scalar(
            &store,
            "SELECT COUNT(*) FROM payment_attempts WHERE in_flight = 1 AND status <> 'RequiresCapture'",
            vec![],
        )
        .await;
        if n == 0 {
            store.close().await;
            return started.elapsed();
        }
        let left: Vec<(String, String, String)> = rows(
            &store,
            "SELECT uuid, transaction_type, status FROM payment_attempts WHERE in_flight = 1 AND status <> 'RequiresCapture'",
            vec![],
        )
        .await;
        assert!(
            started.elapsed() < within,
            "{n} attempts still in flight after {within:?}: {left:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The bookkeeping invariants over the whole database, as a list of violations (empty: all
/// hold):
/// - no attempt in flight (authorization holds aside);
/// - every attempt has at most one transaction; a Succeeded attempt exactly one APPROVED,
///   any other none;
/// - no attempt has two APPROVED CHARGE transactions;
/// - each invoice's paid amount is its approved charges less its voids, its refunded amount
///   its approved refunds; each order's paid amount is charges less refunds and voids;
/// - each charge's reserved reversal amounts equal its approved refunds and voids.
pub async fn books_violations(db: &str) -> Vec<String> {
    let store = db::Db::connect(db).await.unwrap();
    let mut v = Vec::new();
    let q = |sql: &'static str| rows::<(String, i64, i64)>(&store, sql, vec![]);
    let in_flight: Vec<(String, String)> = rows(
        &store,
        "SELECT uuid, status FROM payment_attempts WHERE in_flight = 1 AND status <> 'RequiresCapture'",
        vec![],
    )
    .await;
    for (u, st) in in_flight {
        v.push(format!("attempt {u} still in flight ({st})"));
    }
    let attempts: Vec<(String, String, i64, i64)> = rows(
        &store,
        "SELECT a.uuid, a.status, \
           (SELECT COUNT(*) FROM transactions t WHERE t.attempt_id = a.id), \
           (SELECT COUNT(*) FROM transactions t WHERE t.attempt_id = a.id AND t.status = 'APPROVED') \
         FROM payment_attempts a",
        vec![],
    )
    .await;
    for (u, st, all, approved) in attempts {
        if all > 1 {
            v.push(format!("attempt {u} ({st}) has {all} transactions"));
        }
        match (st.as_str(), approved) {
            ("Succeeded", 1) => {}
            ("Succeeded", n) => v.push(format!("attempt {u} Succeeded with {n} approvals")),
            (_, 0) => {}
            (s, n) => v.push(format!("attempt {u} is {s} but has {n} approvals")),
        }
    }
    for (inv, got, want) in q(
        "SELECT i.guid, i.paid_cents, \
           CAST(COALESCE((SELECT SUM(CASE t.transaction_type WHEN 'CHARGE' THEN t.amount_cents WHEN 'VOID' THEN -t.amount_cents ELSE 0 END) \
             FROM transactions t WHERE t.invoice_id = i.id AND t.status = 'APPROVED'), 0) AS BIGINT) FROM invoices i",
    )
    .await
    {
        if got != want {
            v.push(format!("invoice {inv}: paid {got}, transactions say {want}"));
        }
    }
    for (inv, got, want) in q(
        "SELECT i.guid, i.refunded_cents, \
           CAST(COALESCE((SELECT SUM(t.amount_cents) FROM transactions t \
             WHERE t.invoice_id = i.id AND t.status = 'APPROVED' AND t.transaction_type = 'REFUND'), 0) AS BIGINT) FROM invoices i",
    )
    .await
    {
        if got != want {
            v.push(format!("invoice {inv}: refunded {got}, transactions say {want}"));
        }
    }
    for (o, got, want) in q(
        "SELECT o.uuid, o.paid_cents, \
           CAST(COALESCE((SELECT SUM(CASE t.transaction_type WHEN 'CHARGE' THEN t.amount_cents ELSE -t.amount_cents END) \
             FROM transactions t WHERE t.dealer_order_id = o.id AND t.status = 'APPROVED'), 0) AS BIGINT) FROM dealer_orders o",
    )
    .await
    {
        if got != want {
            v.push(format!("order {o}: paid {got}, transactions say {want}"));
        }
    }
    for (t, got, want) in q(
        "SELECT c.uuid, c.reversed_cents, \
           CAST(COALESCE((SELECT SUM(r.total_cents) FROM transactions r WHERE r.parent_id = c.id AND r.status = 'APPROVED'), 0) AS BIGINT) \
         FROM transactions c WHERE c.transaction_type = 'CHARGE' AND c.status = 'APPROVED'",
    )
    .await
    {
        if got != want {
            v.push(format!("charge {t}: {got} reserved for reversals, {want} reversed"));
        }
    }
    for (t, total, reversed) in q(
        "SELECT uuid, total_cents, reversed_cents FROM transactions WHERE transaction_type = 'CHARGE' AND reversed_cents > total_cents",
    )
    .await
    {
        v.push(format!("charge {t}: reversed {reversed} of {total}"));
    }
    store.close().await;
    v
}

/// Panics with every violated invariant (see [`books_violations`]); also checks the
/// sandbox ledger holds at most one charge per key.
pub async fn assert_books(db: &str, sandbox: &str) {
    let v = books_violations(db).await;
    assert!(v.is_empty(), "bookkeeping violated:\n{}", v.join("\n"));
    let ledger = sandbox_ledger(sandbox).await;
    let mut per_key = std::collections::HashMap::<String, usize>::new();
    for e in &ledger {
        if e["kind"] == "charge" {
            *per_key
                .entry(e["key"].as_str().unwrap().to_string())
                .or_default() += 1;
        }
    }
    let twice: Vec<_> = per_key.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "charged twice at the processor: {twice:?}"
    );
}
