//! Processor faults through the real HTTP path: `dealerpay sandbox-processor
//! --fault-injection` (its run-time switch `POST /sandbox/faults`, see
//! `connectors::faults`) and `dealerpay serve --processor-url …` with a 1 s processor
//! timeout, a 300 ms lease grace and a 100 ms resolver interval.
//!
//! Every fault ends consistent: the customer-facing answer is honest (200 only with the
//! final outcome, else 202 InProgress — never a false success or a false failure), the
//! attempt is settled (by the request or by the in-flight resolver) as Succeeded exactly
//! when the processor charged, a retried confirm never reaches the processor again, and
//! `dealerpay reconcile` is clean.
//!
//! | fault | expected |
//! |---|---|
//! | slow answer inside the timeout | 200 Succeeded |
//! | slow answer past the timeout (charged at once) | 202, resolver: Succeeded |
//! | hang (never records, never answers in time) | 202, resolver: Failed "abandoned" |
//! | late (recorded after the client gave up) | 202, resolver abandons the key first: the late charge is declined; Failed |
//! | HTTP 500 before charging | 202, resolver: Failed "abandoned" |
//! | HTTP 500 after charging | 202, resolver: Succeeded; confirm retries get 409 and never reach the processor |
//! | connection dropped after charging | 202, resolver: Succeeded |
//! | resolver's own calls failing twice | settled on the third pass |
//! | refund answered 500 after it was made | 202, resolver: refund Succeeded, invoice refunded |
//! | capture connection dropped after capturing | 202, resolver: Succeeded for the captured amount |

mod common;
use common::process::*;
use common::*;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// Confirm's answer must be honest: 200 with the outcome it will keep, or 202 InProgress.
fn assert_honest(what: &str, answer: &(u16, Value), final_attempt: &Value) {
    let (st, b) = answer;
    match st {
        200 => assert_eq!(
            b["paymentAttempt"]["status"], final_attempt["status"],
            "{what}: answered 200 {} but the attempt ended {}",
            b["paymentAttempt"]["status"], final_attempt["status"]
        ),
        202 => assert_eq!(
            b["paymentAttempt"]["status"], "InProgress",
            "{what}: 202 must say InProgress: {b}"
        ),
        other => panic!("{what}: unexpected answer {other} {b}"),
    }
}

/// The ledger's entry for `key` (at most one: keys are unique at the processor).
async fn ledger_entry(sandbox: &str, key: &str) -> Option<Value> {
    let all: Vec<Value> = sandbox_ledger(sandbox)
        .await
        .into_iter()
        .filter(|e| e["key"] == key)
        .collect();
    assert!(all.len() <= 1, "{key} twice in the ledger: {all:?}");
    all.into_iter().next()
}

/// Settled as the processor says: Succeeded iff the ledger holds the charge approved.
async fn assert_matches_ledger(sandbox: &str, what: &str, a: &Value) {
    let key = a["uuid"].as_str().unwrap();
    let e = ledger_entry(sandbox, key).await;
    let charged = e.as_ref().is_some_and(|e| e["status"] == "approved");
    assert_eq!(
        a["status"] == "Succeeded",
        charged,
        "{what}: attempt {} but the processor says {e:?}",
        a["status"]
    );
}

struct Rig {
    sandbox: ServerProcess,
    server: ServerProcess,
    db: String,
    d: Value,
    api: PartnerApi,
}

impl Rig {
    /// prePayment of `amount`, then confirm (optionally authorize-only); returns the attempt
    /// uuid and the confirm answer.
    async fn pay(&self, amount: f64, capture: bool) -> (String, (u16, Value)) {
        let (st, b) = self.api.prepay(&self.d, amount).await.unwrap();
        assert_eq!(st, 200, "prepayment: {b}");
        let uuid = b["paymentAttempt"]["uuid"].as_str().unwrap().to_string();
        let answer = self.api.confirm(&uuid, VISA, capture).await.unwrap();
        (uuid, answer)
    }

    async fn settle(&self, uuid: &str) -> Value {
        self.api.wait_settled(uuid, Duration::from_secs(20)).await
    }

    async fn fault(&self, f: Value) {
        set_fault(&self.sandbox.base, f).await;
    }

    async fn calls(&self, op: &str, key: &str) -> u64 {
        sandbox_calls(&self.sandbox.base, op, key).await
    }
}

/// What one fault row is documented to end with (see the table above).
struct Expected {
    /// The confirm answer: 200 with the final outcome, or 202 InProgress (outcome unknown).
    answer: u16,
    /// The attempt's final status, and its `responseDescription` where the row names one.
    status: &'static str,
    description: Option<&'static str>,
    /// How often the resolver asked the processor about the key: 0 when the confirm itself
    /// settled the attempt, 1 when the answer was unknown and the resolver settled it.
    resolves: u64,
    /// The confirm cannot have been answered sooner (the fault's delay, or the timeout).
    answered_after: Duration,
}

/// One charge under `fault` (switched on for one charge call): checks the answer is the
/// row's documented one and honest, that the fault really hit this charge, who settled the
/// attempt, and that the outcome matches the processor. Returns (attempt, final attempt).
async fn charge_under(
    rig: &Rig,
    what: &str,
    fault: Value,
    amount: f64,
    want: Expected,
) -> (String, Value) {
    let mode = fault["mode"].as_str().unwrap().to_string();
    rig.fault(fault).await;
    let sent = Instant::now();
    let (uuid, answer) = rig.pay(amount, true).await;
    let answered = sent.elapsed();
    let a = rig.settle(&uuid).await;
    assert_honest(what, &answer, &a);
    assert_eq!(
        answer.0, want.answer,
        "{what}: the documented answer is {}: {}",
        want.answer, answer.1
    );
    assert!(
        answered >= want.answered_after,
        "{what}: answered after {answered:?}, before the fault could have played out ({:?})",
        want.answered_after
    );
    assert_eq!(a["status"], want.status, "{what}: {a}");
    if let Some(d) = want.description {
        assert_eq!(a["responseDescription"], d, "{what}: {a}");
    }
    assert_matches_ledger(&rig.sandbox.base, what, &a).await;
    assert_eq!(rig.calls("charge", &uuid).await, 1, "{what}: charge calls");
    assert_eq!(
        sandbox_injected(&rig.sandbox.base, "charge", &uuid).await,
        vec![mode],
        "{what}: the fault did not hit this charge"
    );
    assert_eq!(
        rig.calls("resolve", &uuid).await,
        want.resolves,
        "{what}: resolver calls ({})",
        if want.resolves == 0 {
            "the confirm knew the outcome: nothing to resolve"
        } else {
            "the outcome was unknown: the resolver settles it, once"
        }
    );
    eprintln!(
        "{what}: answered {} after {answered:?}, ended {} ({}) after {:?}",
        answer.0,
        a["status"],
        a["responseDescription"],
        sent.elapsed()
    );
    (uuid, a)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_processor_fault_ends_consistent() {
    let started = Instant::now();
    let dir = ScratchDir::new("faults-ledger");
    let (db, _db_dir) = fresh_database().await;
    let sandbox = ServerProcess::command("sandbox-processor")
        .args(["--ledger", &dir.file("ledger.db"), "--fault-injection"])
        .log_prefix("faults-sandbox")
        .start()
        .await;
    let d = demo(&db).await;
    let server = ServerProcess::serve(&db)
        .args([
            "--processor-url",
            &sandbox.base,
            "--processor-timeout-secs",
            "1",
        ])
        .env("DEALERPAY_LEASE_GRACE_MS", "300")
        .env("DEALERPAY_RESOLVER_INTERVAL_MS", "100")
        .env("DEALERPAY_CARD_HASH_KEY", SHARED_CARD_HASH_KEY)
        .log_prefix("faults-serve")
        .start()
        .await;
    let api = PartnerApi::new(&server.base, &d, Duration::from_secs(30));
    let rig = Rig {
        sandbox,
        server,
        db,
        d,
        api,
    };

    // The switch refuses nonsense.
    let r = reqwest::Client::new()
        .post(rig.sandbox.url("/sandbox/faults"))
        .json(&json!({"mode": "explode"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);

    let timeout = Duration::from_secs(1);
    // A slow answer inside the timeout: the honest 200 with the final outcome, settled by
    // the confirm itself (the resolver never asks).
    charge_under(
        &rig,
        "slow 200 ms",
        json!({"mode": "slow", "delayMs": 200, "count": 1}),
        1.00,
        Expected {
            answer: 200,
            status: "Succeeded",
            description: None,
            resolves: 0,
            answered_after: Duration::from_millis(200),
        },
    )
    .await;

    // Charged at once, answered after the timeout: the outcome is unknown when the confirm
    // answers (202 InProgress); the resolver asks the processor and records the charge.
    charge_under(
        &rig,
        "slow 1500 ms",
        json!({"mode": "slow", "delayMs": 1500, "count": 1}),
        1.01,
        Expected {
            answer: 202,
            status: "Succeeded",
            description: None,
            resolves: 1,
            answered_after: timeout,
        },
    )
    .await;

    // Never recorded, never answered in time: abandoned, and the key is dead.
    let (uuid, _) = charge_under(
        &rig,
        "hang",
        json!({"mode": "hang", "delayMs": 2500, "count": 1}),
        1.02,
        Expected {
            answer: 202,
            status: "Failed",
            description: Some("abandoned"),
            resolves: 1,
            answered_after: timeout,
        },
    )
    .await;
    let e = ledger_entry(&rig.sandbox.base, &uuid).await.unwrap();
    assert_eq!(e["status"], "abandoned", "{e}");

    // Handled after the client gave up: the resolver gave up on the key first, so the late
    // charge is declined — nothing charged, the attempt Failed, both sides agree.
    let sent = Instant::now();
    let (uuid, _) = charge_under(
        &rig,
        "late",
        json!({"mode": "late", "delayMs": 2500, "count": 1}),
        1.03,
        Expected {
            answer: 202,
            status: "Failed",
            description: Some("abandoned"),
            resolves: 1,
            answered_after: timeout,
        },
    )
    .await;
    // Wait for the late request to have been handled at the processor, then look again.
    let late_done = sent + Duration::from_millis(3500);
    if let Some(wait) = late_done.checked_duration_since(Instant::now()) {
        tokio::time::sleep(wait).await;
    }
    let e = ledger_entry(&rig.sandbox.base, &uuid).await.unwrap();
    assert_ne!(
        e["status"], "approved",
        "late charge after abandonment: {e}"
    );
    let a = rig.api.attempt(&uuid).await.unwrap().1;
    assert_eq!(a["paymentAttempt"]["status"], "Failed");

    // HTTP 500 before charging: unknown to us, never seen by the processor: abandoned.
    charge_under(
        &rig,
        "500 before",
        json!({"mode": "error_before", "count": 1}),
        1.04,
        Expected {
            answer: 202,
            status: "Failed",
            description: Some("abandoned"),
            resolves: 1,
            answered_after: Duration::ZERO,
        },
    )
    .await;

    // HTTP 500 after charging; retries of the confirm never reach the processor.
    rig.fault(json!({"mode": "error_after", "count": 1})).await;
    let (uuid, answer) = rig.pay(1.05, true).await;
    assert_eq!(answer.0, 202, "{:?}", answer.1);
    let (st, b) = rig.api.confirm(&uuid, VISA, true).await.unwrap();
    assert_eq!(st, 409, "retry while in flight: {b}");
    let a = rig.settle(&uuid).await;
    assert_honest("500 after", &answer, &a);
    assert_eq!(a["status"], "Succeeded", "{a}");
    assert_matches_ledger(&rig.sandbox.base, "500 after", &a).await;
    let (st, b) = rig.api.confirm(&uuid, VISA, true).await.unwrap();
    assert_eq!(st, 409, "retry after settlement: {b}");
    assert_eq!(rig.calls("charge", &uuid).await, 1, "charged once");
    assert_eq!(
        sandbox_injected(&rig.sandbox.base, "charge", &uuid).await,
        ["error_after"]
    );
    assert_eq!(
        rig.calls("resolve", &uuid).await,
        1,
        "settled by the resolver"
    );
    let charged_txn = a["transaction"]["uuid"].as_str().unwrap().to_string();

    // The connection dropped after charging: no answer, so 202 InProgress; the resolver
    // finds the charge and records it.
    charge_under(
        &rig,
        "drop after",
        json!({"mode": "drop_after", "count": 1}),
        1.06,
        Expected {
            answer: 202,
            status: "Succeeded",
            description: None,
            resolves: 1,
            answered_after: Duration::ZERO,
        },
    )
    .await;

    // The resolver's own calls fail twice: it settles on a later pass.
    rig.fault(json!({"mode": "error_after", "count": 1})).await;
    let (uuid, answer) = rig.pay(1.07, true).await;
    assert_eq!(answer.0, 202, "{:?}", answer.1);
    rig.fault(json!({"mode": "error_before", "ops": ["resolve"], "count": 2}))
        .await;
    let a = rig.settle(&uuid).await;
    assert_eq!(a["status"], "Succeeded", "{a}");
    assert_eq!(
        rig.calls("resolve", &uuid).await,
        3,
        "two failed passes, one good"
    );
    assert_eq!(
        sandbox_injected(&rig.sandbox.base, "resolve", &uuid).await,
        ["error_before", "error_before"]
    );
    assert_eq!(rig.calls("charge", &uuid).await, 1);

    // A refund answered 500 after the processor made it.
    let before = invoice_refunded(&rig.db, s(&rig.d, "invoiceGuid")).await;
    rig.fault(json!({"mode": "error_after", "ops": ["refund"], "count": 1}))
        .await;
    let (st, b) = rig.api.refund(&charged_txn, 0.50).await.unwrap();
    assert_eq!(st, 202, "refund: {b}");
    assert_eq!(b["paymentAttempt"]["status"], "InProgress", "{b}");
    let refund = b["paymentAttempt"]["uuid"].as_str().unwrap().to_string();
    let r = rig.settle(&refund).await;
    assert_eq!(r["status"], "Succeeded", "{r}");
    assert_eq!(
        rig.calls("refund", &refund).await,
        2,
        "once faulted, once by the resolver"
    );
    assert_eq!(
        sandbox_injected(&rig.sandbox.base, "refund", &refund).await,
        ["error_after"]
    );
    assert_eq!(
        invoice_refunded(&rig.db, s(&rig.d, "invoiceGuid")).await,
        before + 50
    );
    let e = ledger_entry(&rig.sandbox.base, &refund).await.unwrap();
    assert_eq!(
        (e["status"].as_str(), e["amountCents"].as_i64()),
        (Some("approved"), Some(50))
    );

    // Authorize, then the capture's connection drops after the processor captured.
    let (uuid, answer) = rig.pay(2.00, false).await;
    assert_eq!(answer.0, 200, "{:?}", answer.1);
    assert_eq!(answer.1["paymentAttempt"]["status"], "RequiresCapture");
    rig.fault(json!({"mode": "drop_after", "ops": ["capture"], "count": 1}))
        .await;
    let (st, b) = rig
        .api
        .post(
            &format!("/payment/kpayment/v1/paymentattempts/{uuid}/capture"),
            json!({"amount": 1.50}),
        )
        .await
        .unwrap();
    assert_eq!(st, 202, "capture: {b}");
    assert_eq!(b["paymentAttempt"]["status"], "InProgress", "{b}");
    let a = rig.settle(&uuid).await;
    assert_eq!(a["status"], "Succeeded", "{a}");
    assert_eq!(
        sandbox_injected(&rig.sandbox.base, "capture", &uuid).await,
        ["drop_after"]
    );
    assert_eq!(rig.calls("capture", &uuid).await, 1);
    assert_eq!(
        rig.calls("resolve", &uuid).await,
        1,
        "settled by the resolver"
    );
    let e = ledger_entry(&rig.sandbox.base, &uuid).await.unwrap();
    assert_eq!(e["status"], "approved", "{e}");
    assert_eq!(
        a["transaction"]["transAmount"]
            .as_f64()
            .map(|x| (x * 100.0).round() as i64),
        e["amountCents"].as_i64(),
        "recorded the captured amount: {a}"
    );

    wait_nothing_in_flight(&rig.db, Duration::from_secs(20)).await;
    assert_books(&rig.db, &rig.sandbox.base).await;
    let out = assert_reconciled(&rig.db, &rig.sandbox.base).await;
    eprintln!("{}: {out}total {:?}", backend(), started.elapsed());
    drop(rig.server);
}

async fn invoice_refunded(db: &str, guid: &str) -> i64 {
    let store = db::Db::connect(db).await.unwrap();
    let v: i64 = scalar(
        &store,
        "SELECT refunded_cents FROM invoices WHERE guid = $1",
        vec![guid.into()],
    )
    .await;
    store.close().await;
    v
}
