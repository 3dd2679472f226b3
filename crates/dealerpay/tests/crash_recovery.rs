//! Crash recovery with the standalone HTTP sandbox processor: "killing the server (SIGKILL)
//! between the processor's approval and our commit, then restarting, ends with the charge
//! recorded exactly once and `dealerpay reconcile` clean".
//!
//! Every process is the real binary: `dealerpay sandbox-processor` with its own SQLite
//! ledger, `dealerpay serve --processor-url … --processor-timeout-secs 2` on a fresh SQLite
//! or PostgreSQL database (seeded with `demo --json`), and `dealerpay reconcile`.
//!
//! 1. The sandbox records the charge, then waits 3 s before answering; the server is
//!    SIGKILLed in that window. After a restart the resolver (lease = timeout 2 s + 5 s) asks
//!    the processor and records the approval exactly once; reconcile is clean. The sandbox's
//!    durable call log (`--fault-injection`) shows one charge call for the key (approved,
//!    before the kill) and one resolver call after the restart; a second charge call for a
//!    key, which the ledger's key absorbs, is shown to be caught by that log. Then
//!    reconcile is shown to detect real differences: a charge approved at the processor that
//!    we never recorded, and our transaction row deleted.
//! 2. The sandbox sleeps 3 s before it records anything; server and sandbox are both
//!    SIGKILLed before it does. After restarts the resolver marks the attempt Failed
//!    ("abandoned"): the processor never saw it (no charge call in the call log; the
//!    resolver's call after the restart gave the key up), and a late charge with the same
//!    key is declined (one charge call, which took nothing). Reconcile is clean.

mod common;
use common::process::{
    assert_charged_once_per_key, calls_for, charged_twice, demo, run, s, sandbox_call_log, wall_ms,
    ServerProcess,
};
use common::*;
use reqwest::Client;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// `dealerpay reconcile`: (exit code, stdout + stderr).
async fn reconcile(db: &str, processor: &str) -> (i32, String) {
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

/// `dealerpay sandbox-processor` on a ledger file, with fault injection flags; its charge
/// and resolve calls are logged in the ledger (`--fault-injection`).
async fn start_sandbox(ledger: &str, extra: &[&str]) -> ServerProcess {
    ServerProcess::command("sandbox-processor")
        .args(["--ledger", ledger, "--fault-injection"])
        .args(extra)
        .log_prefix("crash-sandbox")
        .start()
        .await
}

/// `dealerpay serve` on `db` against the sandbox at `processor`, timeout 2 s.
async fn start_serve(db: &str, processor: &str) -> ServerProcess {
    ServerProcess::serve(db)
        .args([
            "--processor-url",
            processor,
            "--processor-timeout-secs",
            "2",
        ])
        .log_prefix("crash-serve")
        .start()
        .await
}

/// The demo partner's client for one server.
struct Api {
    client: Client,
    base: String,
    user: String,
    pass: String,
}

impl Api {
    fn new(server: &ServerProcess, d: &Value) -> Api {
        Api {
            client: Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            base: server.base.clone(),
            user: s(d, "username").into(),
            pass: s(d, "password").into(),
        }
    }

    async fn prepay(&self, d: &Value, amount: f64) -> (String, i64) {
        let (st, b) = TestApp::send(
            self.client
                .post(format!("{}/payment/kpayment/v1/prepayment", self.base))
                .basic_auth(&self.user, Some(&self.pass))
                .json(&json!({
                    "dealerUuid": s(d, "dealerUuid"), "customerUuid": s(d, "customerUuid"),
                    "dealerOrderUuid": s(d, "dealerOrderUuid"), "invoiceGUID": s(d, "invoiceGuid"),
                    "amount": amount, "ignorePaymentAttemptValidation": true
                })),
        )
        .await;
        assert_eq!(st, 200, "prepayment: {b}");
        assert_eq!(b["paymentAttempt"]["status"], "Created", "{b}");
        let total = b["fees"]["total"].as_f64().expect("fees.total");
        (
            b["paymentAttempt"]["uuid"].as_str().unwrap().to_string(),
            (total * 100.0).round() as i64,
        )
    }

    /// Sends confirm in a task of its own; the server will die before it answers.
    fn confirm_in_background(&self, attempt: &str) -> tokio::task::JoinHandle<Result<u16, String>> {
        let rb = self
            .client
            .post(format!(
                "{}/payment/kpayment/v1/paymentattempts/{attempt}/confirm",
                self.base
            ))
            .basic_auth(&self.user, Some(&self.pass))
            .json(
                &json!({"card": {"number": "4242424242424242", "expMonth": 12, "expYear": 2034,
                                   "cvv": "123", "zip": "94107", "holderName": "Test Holder"}}),
            );
        tokio::spawn(async move {
            match rb.send().await {
                Ok(r) => Ok(r.status().as_u16()),
                Err(e) => Err(e.to_string()),
            }
        })
    }

    async fn attempt(&self, attempt: &str) -> Value {
        let (st, b) = TestApp::send(
            self.client
                .get(format!(
                    "{}/payment/kpayment/v1/paymentattempts/{attempt}",
                    self.base
                ))
                .basic_auth(&self.user, Some(&self.pass)),
        )
        .await;
        assert_eq!(st, 200, "GET attempt: {b}");
        b["paymentAttempt"].clone()
    }

    /// Polls the attempt until its status is `want`; returns it and how long that took.
    async fn wait_for_status(&self, attempt: &str, want: &str, within: Duration) -> Value {
        let deadline = Instant::now() + within;
        loop {
            let a = self.attempt(attempt).await;
            if a["status"] == want {
                return a;
            }
            assert!(
                Instant::now() < deadline,
                "attempt still {} after {within:?}, expected {want}: {a}",
                a["status"]
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// The sandbox's ledger entries for `key`.
async fn ledger_entries(sandbox: &ServerProcess, key: &str) -> Vec<Value> {
    let (st, b) = TestApp::send(Client::new().get(sandbox.url("/sandbox/v1/ledger"))).await;
    assert_eq!(st, 200, "ledger: {b}");
    b.as_array()
        .expect("ledger is an array")
        .iter()
        .filter(|e| e["key"] == key)
        .cloned()
        .collect()
}

/// What our database says about one attempt.
struct DbView {
    status: String,
    in_flight: i64,
    /// (type, status, total_cents) of its transactions.
    transactions: Vec<(String, String, i64)>,
    invoice_paid_cents: i64,
    attempts_in_flight: i64,
}

async fn db_view(url: &str, attempt: &str, invoice_guid: &str) -> DbView {
    let db = db::Db::connect(url).await.unwrap();
    let (status, in_flight): (String, i64) = row(
        &db,
        "SELECT status, in_flight FROM payment_attempts WHERE uuid = $1",
        vec![attempt.into()],
    )
    .await;
    let transactions: Vec<(String, String, i64)> = rows(
        &db,
        "SELECT t.transaction_type, t.status, t.total_cents FROM transactions t \
         JOIN payment_attempts a ON a.id = t.attempt_id WHERE a.uuid = $1",
        vec![attempt.into()],
    )
    .await;
    let invoice_paid_cents: i64 = scalar(
        &db,
        "SELECT paid_cents FROM invoices WHERE guid = $1",
        vec![invoice_guid.into()],
    )
    .await;
    let attempts_in_flight: i64 = scalar(
        &db,
        "SELECT COUNT(*) FROM payment_attempts WHERE in_flight = 1",
        vec![],
    )
    .await;
    db.close().await;
    DbView {
        status,
        in_flight,
        transactions,
        invoice_paid_cents,
        attempts_in_flight,
    }
}

/// A directory for the sandbox's ledger (always SQLite; ours may be PostgreSQL).
fn ledger_dir() -> TempDir {
    let dir = std::env::temp_dir().join(format!(
        "dealerpay-crash-ledger-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    TempDir(dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_after_the_processor_approved_the_charge_is_recorded_once() {
    let started = Instant::now();
    let dir = ledger_dir();
    let ledger = dir.0.join("ledger.db").display().to_string();
    let (db, _db_dir) = fresh_database().await;

    // The sandbox records a charge, then waits 3 s before answering: the window.
    let sandbox = start_sandbox(&ledger, &["--reply-delay-ms", "3000"]).await;
    let d = demo(&db).await;
    let invoice = s(&d, "invoiceGuid").to_string();
    let mut server = start_serve(&db, &sandbox.base).await;
    let api = Api::new(&server, &d);
    let (attempt, total_cents) = api.prepay(&d, 12.34).await;
    assert_eq!(db_view(&db, &attempt, &invoice).await.invoice_paid_cents, 0);

    let sent = Instant::now();
    let confirm = api.confirm_in_background(&attempt);
    // Wait until the processor has approved and recorded the charge, then kill the server
    // while the sandbox is still holding its answer back.
    let deadline = sent + Duration::from_secs(5);
    loop {
        let entries = ledger_entries(&sandbox, &attempt).await;
        if entries.iter().any(|e| e["status"] == "approved") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the sandbox never approved {attempt}: {entries:?}\n{}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    server.kill9();
    let killed_after = sent.elapsed();
    // The sandbox answers 3 s after recording; normally the kill comes long before the
    // server's own 2 s timeout, but a slow machine may let it answer 202 first.
    assert!(
        killed_after < Duration::from_secs(3),
        "killed only {killed_after:?} after confirm: the sandbox may have answered"
    );
    let answer = confirm.await.unwrap();
    assert!(
        answer.is_err() || answer == Ok(202),
        "confirm was answered ({answer:?}) although the processor's answer never arrived"
    );

    // Dead between the approval and our commit: in flight, no transaction, nothing paid.
    let v = db_view(&db, &attempt, &invoice).await;
    assert_eq!((v.status.as_str(), v.in_flight), ("InProgress", 1));
    assert!(v.transactions.is_empty(), "{:?}", v.transactions);
    assert_eq!(v.invoice_paid_cents, 0);
    let entries = ledger_entries(&sandbox, &attempt).await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["kind"], "charge");
    assert_eq!(entries[0]["amountCents"], total_cents, "{entries:?}");

    // Restart: the resolver settles the attempt once its lease (2 s + 5 s) has run out.
    let restarted = Instant::now();
    let restarted_ms = wall_ms();
    let server = start_serve(&db, &sandbox.base).await;
    let api = Api::new(&server, &d);
    let a = api
        .wait_for_status(&attempt, "Succeeded", Duration::from_secs(30))
        .await;
    let settled_after = restarted.elapsed();
    assert_eq!(a["transaction"]["status"], "APPROVED", "{a}");

    let v = db_view(&db, &attempt, &invoice).await;
    assert_eq!((v.status.as_str(), v.in_flight), ("Succeeded", 0));
    assert_eq!(
        v.transactions,
        vec![("CHARGE".to_string(), "APPROVED".to_string(), total_cents)],
        "exactly one approved charge"
    );
    assert_eq!(v.invoice_paid_cents, 1234, "paid exactly the amount, once");
    assert_eq!(v.attempts_in_flight, 0);
    let entries = ledger_entries(&sandbox, &attempt).await;
    assert_eq!(
        entries.len(),
        1,
        "charged once at the processor: {entries:?}"
    );
    assert_eq!(entries[0]["status"], "approved");
    // The processor's call log (which the ledger's key cannot hide a second call from):
    // charged by one call, which approved; settled by the restarted server's resolver,
    // which asked once.
    let log = sandbox_call_log(&ledger).await;
    let charges = calls_for(&log, "charge", &attempt);
    assert_eq!(charges.len(), 1, "charge calls: {charges:?}");
    assert!(charges[0].fresh && charges[0].took_money(), "{charges:?}");
    assert!(
        charges[0].at < restarted_ms,
        "charged after the restart: {charges:?}"
    );
    let resolves = calls_for(&log, "resolve", &attempt);
    assert_eq!(resolves.len(), 1, "resolver calls: {resolves:?}");
    assert!(
        resolves[0].at >= restarted_ms && resolves[0].status == "approved",
        "not resolved by the restarted server: {resolves:?}"
    );
    assert_charged_once_per_key(&log);

    // The settled attempt cannot be confirmed again.
    let (st, b) = TestApp::send(
        api.client
            .post(server.url(&format!(
                "/payment/kpayment/v1/paymentattempts/{attempt}/confirm"
            )))
            .basic_auth(&api.user, Some(&api.pass))
            .json(
                &json!({"card": {"number": "4242424242424242", "expMonth": 12, "expYear": 2034,
                                   "cvv": "123", "zip": "94107"}}),
            ),
    )
    .await;
    assert_eq!(st, 409, "{b}");

    let (code, out) = reconcile(&db, &sandbox.base).await;
    assert_eq!(code, 0, "reconcile after recovery:\n{out}");
    assert!(out.contains("reconciled: no differences"), "{out}");
    assert!(out.contains("approved charges matched: 1"), "{out}");

    // Reconcile detects real differences. (a) A charge the processor approved that we never
    // recorded (sent to the sandbox directly, with a fresh key).
    let stray = uuid::Uuid::new_v4().to_string();
    let stray_charge = json!({"key": stray, "amountCents": 500, "currency": "USD",
            "card": {"number": "4242424242424242", "expMonth": 12, "expYear": 2034,
                     "cvv": "123", "zip": "94107", "holderName": null},
            "enforceCvv": true, "enforceZip": true, "returnUrl": null});
    let (st, b) = TestApp::send(
        Client::new()
            .post(sandbox.url("/sandbox/v1/charges"))
            .json(&stray_charge),
    )
    .await;
    assert_eq!(st, 200, "{b}");
    assert_eq!(b["status"], "approved", "{b}");
    let (code, out) = reconcile(&db, &sandbox.base).await;
    assert_eq!(code, 1, "reconcile must fail:\n{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("DIFFERENCE") && l.contains(&stray)),
        "{out}"
    );
    assert!(!out.contains("reconciled: no differences"), "{out}");

    // (b) Our record of the recovered charge deleted.
    drop(server);
    let store_db = db::Db::connect(&db).await.unwrap();
    let deleted = exec(
        &store_db,
        "DELETE FROM transactions WHERE attempt_id = (SELECT id FROM payment_attempts WHERE uuid = $1)",
        vec![(&attempt).into()],
    )
    .await;
    store_db.close().await;
    assert_eq!(deleted, 1);
    let (code, out) = reconcile(&db, &sandbox.base).await;
    assert_eq!(code, 1, "reconcile must fail:\n{out}");
    let line = out
        .lines()
        .find(|l| l.starts_with("DIFFERENCE") && l.contains(&attempt))
        .unwrap_or_else(|| panic!("no difference for {attempt}:\n{out}"));
    assert!(line.contains("not recorded"), "{line}");

    // The call log sees what the ledger hides: the stray charge sent again with its key is
    // absorbed by the ledger (still one entry), but the check counts two charge calls
    // that each took money, and fails.
    let (st, b) = TestApp::send(
        Client::new()
            .post(sandbox.url("/sandbox/v1/charges"))
            .json(&stray_charge),
    )
    .await;
    assert_eq!((st, &b["status"]), (200, &json!("approved")), "{b}");
    assert_eq!(ledger_entries(&sandbox, &stray).await.len(), 1);
    let log = sandbox_call_log(&ledger).await;
    assert_eq!(calls_for(&log, "charge", &stray).len(), 2);
    let (twice, _) = charged_twice(&log);
    assert!(
        twice.len() == 1 && twice[0].starts_with(&stray) && twice[0].contains("2 took money"),
        "a key charged twice went unnoticed: {twice:?}"
    );
    eprintln!(
        "{}: killed {killed_after:?} after confirm; settled {settled_after:?} after the restart; \
         total {:?}",
        backend(),
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_before_the_processor_saw_the_charge_is_abandoned() {
    let started = Instant::now();
    let dir = ledger_dir();
    let ledger = dir.0.join("ledger.db").display().to_string();
    let (db, _db_dir) = fresh_database().await;

    // Latency is applied before the sandbox records anything.
    let mut sandbox = start_sandbox(&ledger, &["--latency-ms", "3000"]).await;
    let d = demo(&db).await;
    let invoice = s(&d, "invoiceGuid").to_string();
    let mut server = start_serve(&db, &sandbox.base).await;
    let api = Api::new(&server, &d);
    let (attempt, total_cents) = api.prepay(&d, 7.50).await;

    let sent = Instant::now();
    let confirm = api.confirm_in_background(&attempt);
    // Once the attempt is in flight the server is calling the sandbox, which sleeps 3 s
    // before it records anything.
    let deadline = sent + Duration::from_secs(2);
    while db_view(&db, &attempt, &invoice).await.status != "InProgress" {
        assert!(Instant::now() < deadline, "the attempt never took off");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Kill both: the request in flight at the sandbox dies with it, unrecorded.
    server.kill9();
    sandbox.kill9();
    let killed_after = sent.elapsed();
    assert!(
        killed_after < Duration::from_millis(2500),
        "killed only {killed_after:?} after confirm: the sandbox may have recorded it"
    );
    let answer = confirm.await.unwrap();
    assert!(answer.is_err(), "confirm was answered: {answer:?}");

    let v = db_view(&db, &attempt, &invoice).await;
    assert_eq!((v.status.as_str(), v.in_flight), ("InProgress", 1));
    assert!(v.transactions.is_empty(), "{:?}", v.transactions);

    // The sandbox comes back on the same ledger (without the latency, so that the resolver
    // gets its answers within the 2 s timeout); it never saw the key.
    let sandbox = start_sandbox(&ledger, &[]).await;
    let entries = ledger_entries(&sandbox, &attempt).await;
    assert!(
        entries.is_empty(),
        "the processor saw the charge: {entries:?}"
    );

    let restarted = Instant::now();
    let restarted_ms = wall_ms();
    let server = start_serve(&db, &sandbox.base).await;
    let api = Api::new(&server, &d);
    let a = api
        .wait_for_status(&attempt, "Failed", Duration::from_secs(30))
        .await;
    let settled_after = restarted.elapsed();
    assert_eq!(a["responseDescription"], "abandoned", "{a}");

    let v = db_view(&db, &attempt, &invoice).await;
    assert_eq!((v.status.as_str(), v.in_flight), ("Failed", 0));
    assert!(
        v.transactions.iter().all(|t| t.1 != "APPROVED"),
        "{:?}",
        v.transactions
    );
    assert_eq!(v.invoice_paid_cents, 0, "nothing was paid");
    assert_eq!(v.attempts_in_flight, 0);
    // The processor now knows the key as given up on.
    let entries = ledger_entries(&sandbox, &attempt).await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["status"], "abandoned", "{entries:?}");
    // The call log: the charge never reached the ledger; the restarted server's resolver
    // asked once and gave the key up.
    let log = sandbox_call_log(&ledger).await;
    let charges = calls_for(&log, "charge", &attempt);
    assert!(
        charges.is_empty(),
        "the processor handled the charge: {charges:?}"
    );
    let resolves = calls_for(&log, "resolve", &attempt);
    assert_eq!(resolves.len(), 1, "resolver calls: {resolves:?}");
    assert!(
        resolves[0].at >= restarted_ms && resolves[0].fresh && resolves[0].status == "abandoned",
        "not abandoned by the restarted server: {resolves:?}"
    );

    let (code, out) = reconcile(&db, &sandbox.base).await;
    assert_eq!(code, 0, "reconcile after abandonment:\n{out}");
    assert!(out.contains("reconciled: no differences"), "{out}");

    // A late charge with the same key (the lost request, retried) can never succeed.
    let (st, b) = TestApp::send(Client::new().post(sandbox.url("/sandbox/v1/charges")).json(
        &json!({"key": attempt, "amountCents": total_cents, "currency": "USD",
                "card": {"number": "4242424242424242", "expMonth": 12, "expYear": 2034,
                         "cvv": "123", "zip": "94107", "holderName": "Test Holder"},
                "enforceCvv": true, "enforceZip": true, "returnUrl": null}),
    ))
    .await;
    assert_ne!(b["status"], "approved", "late charge: {st} {b}");
    assert!(st == 200 || st == 409, "late charge: {st} {b}");
    let entries = ledger_entries(&sandbox, &attempt).await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["status"], "abandoned", "{entries:?}");
    // The late charge reached the processor — one call, which took nothing.
    let log = sandbox_call_log(&ledger).await;
    let charges = calls_for(&log, "charge", &attempt);
    assert_eq!(charges.len(), 1, "{charges:?}");
    assert!(!charges[0].fresh && !charges[0].took_money(), "{charges:?}");
    assert_charged_once_per_key(&log);
    let a = api.attempt(&attempt).await;
    assert_eq!(a["status"], "Failed", "{a}");
    let (code, out) = reconcile(&db, &sandbox.base).await;
    assert_eq!(code, 0, "reconcile after the late charge:\n{out}");
    assert!(out.contains("reconciled: no differences"), "{out}");
    drop(server);
    eprintln!(
        "{}: killed {killed_after:?} after confirm; abandoned {settled_after:?} after the \
         restart; total {:?}",
        backend(),
        started.elapsed()
    );
}
