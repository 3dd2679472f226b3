//! Two `dealerpay serve` processes on one database (a PostgreSQL schema, or one SQLite
//! file), sharing `DEALERPAY_CARD_HASH_KEY`, against one standalone sandbox processor:
//!
//! 1. the same attempts confirmed on both at once: exactly one charge each (one 200, one
//!    409; the processor is called once per key);
//! 2. the same charge refunded from both at once, six refunds of a third each, retried
//!    while the order is busy: exactly three go through, never above the charge;
//! 3. the same manual-capture checkout sessions captured on both at once: captured once;
//! 4. background jobs on both: attempts left in flight (processor answered 500 after or
//!    before charging) are resolved exactly once (one `resolve` call per key at the
//!    processor), and sessions past their expiry are expired exactly once (one version
//!    bump each).
//!
//! Then nothing is in flight, the books add up and `dealerpay reconcile` is clean.
//!
//! PostgreSQL only: several servers on one database is a PostgreSQL deployment. (Two
//! processes on one SQLite file stay correct — each writer opens `BEGIN IMMEDIATE` and waits
//! its turn under `busy_timeout` — but they take turns on one file lock, so SQLite is for one
//! server.)

mod common;
use common::process::*;
use common::*;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

async fn start_server(db: &str, sandbox: &str, name: &str) -> ServerProcess {
    ServerProcess::serve(db)
        .args(["--processor-url", sandbox, "--processor-timeout-secs", "1"])
        .env("DEALERPAY_LEASE_GRACE_MS", "300")
        .env("DEALERPAY_RESOLVER_INTERVAL_MS", "100")
        .env("DEALERPAY_CARD_HASH_KEY", SHARED_CARD_HASH_KEY)
        .env("DEALERPAY_OPERATOR_TOKEN", OPERATOR)
        .log_prefix(name)
        .log_tail(80)
        .start()
        .await
}

/// A merchant of a checkout namespace on the demo dealer; its token works on both servers.
struct Merchant {
    client: reqwest::Client,
    ns: String,
    token: String,
}

impl Merchant {
    async fn new(base: &str, d: &Value) -> Merchant {
        let client = reqwest::Client::new();
        let ns = format!("two-{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
        let (st, b) = TestApp::send(
            client
                .post(format!("{base}/payment/checkout/v1/namespaces"))
                .bearer_auth(OPERATOR)
                .json(&json!({"namespace": ns, "name": "Two Servers", "dealerUuid": s(d, "dealerUuid"),
                    "departmentUuid": s(d, "departmentUuid"), "dealerAssociateUUID": s(d, "dealerAssociateUuid")})),
        )
        .await;
        assert_eq!(st, 201, "namespace: {b}");
        let (st, b) = TestApp::send(
            client
                .post(format!(
                    "{base}/payment/checkout/v1/namespaces/{ns}/api-keys"
                ))
                .bearer_auth(OPERATOR)
                .json(&json!({})),
        )
        .await;
        assert_eq!(st, 201, "api key: {b}");
        let key = s(&b, "apiKey").to_string();
        let (st, b) = TestApp::send(
            client
                .post(format!("{base}/payment/checkout/v1/namespaces/{ns}/token"))
                .json(&json!({"apiKey": key})),
        )
        .await;
        assert_eq!(st, 200, "token: {b}");
        let token = s(&b, "accessToken").to_string();
        Merchant { client, ns, token }
    }

    async fn post(&self, base: &str, rest: &str, body: Value) -> (u16, Value) {
        TestApp::send(
            self.client
                .post(format!(
                    "{base}/payment/checkout/v1/namespaces/{}{rest}",
                    self.ns
                ))
                .bearer_auth(&self.token)
                .json(&body),
        )
        .await
    }

    async fn session(&self, base: &str, amount: f64, manual: bool) -> String {
        let (st, b) = self
            .post(
                base,
                "/sessions",
                json!({"referenceId": uuid::Uuid::new_v4().to_string(), "amount": amount,
                       "captureMethod": if manual { "manual" } else { "automatic" },
                       "successUrl": "https://shop.example/ok"}),
            )
            .await;
        assert_eq!(st, 201, "session: {b}");
        s(&b, "id").to_string()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_one_database() {
    if backend() != "postgres" {
        eprintln!(
            "two_servers: skipped on SQLite — two processes' overlapping deferred \
             transactions on one file get SQLITE_BUSY (503 retry) instead of waiting; \
             run with DEALERPAY_TEST_DB=postgres"
        );
        return;
    }
    let started = Instant::now();
    let dir = ScratchDir::new("two-servers-ledger");
    let (db, _db_dir) = fresh_database().await;
    let sandbox = ServerProcess::command("sandbox-processor")
        .args(["--ledger", &dir.file("ledger.db"), "--fault-injection"])
        .log_prefix("two-sandbox")
        .log_tail(40)
        .start()
        .await;
    let sb = sandbox.base.clone();
    let orders = [demo(&db).await, demo(&db).await, demo(&db).await];
    let creds = orders[2].clone();
    let a = start_server(&db, &sb, "two-serve-a").await;
    let b = start_server(&db, &sb, "two-serve-b").await;
    let timeout = Duration::from_secs(30);
    let api_a = PartnerApi::new(&a.base, &creds, timeout);
    let api_b = PartnerApi::new(&b.base, &creds, timeout);

    // 1. Concurrent confirms of the same attempt on both servers.
    let mut charges = Vec::new();
    for i in 0..8 {
        let (st, p) = api_a.prepay(&orders[0], 3.00 + i as f64).await.unwrap();
        assert_eq!(st, 200, "{p}");
        let attempt = s(&p["paymentAttempt"], "uuid").to_string();
        let (ra, rb) = tokio::join!(
            api_a.confirm(&attempt, VISA, true),
            api_b.confirm(&attempt, VISA, true)
        );
        let (ra, rb) = (ra.unwrap(), rb.unwrap());
        let mut codes = [ra.0, rb.0];
        codes.sort();
        assert_eq!(codes, [200, 409], "one confirm wins: {ra:?} {rb:?}");
        let won = if ra.0 == 200 { &ra.1 } else { &rb.1 };
        assert_eq!(won["paymentAttempt"]["status"], "Succeeded", "{won}");
        assert_eq!(sandbox_calls(&sb, "charge", &attempt).await, 1, "{attempt}");
        charges.push(won["paymentAttempt"]["transaction"].clone());
    }

    // 2. Concurrent refunds of one charge from both servers: a third of it each, six times.
    let charge = &charges[7];
    let txn = s(charge, "uuid").to_string();
    let total = (charge["transAmount"].as_f64().unwrap() * 100.0).round() as i64;
    let part = total / 3;
    let mut tasks = Vec::new();
    for i in 0..6 {
        let api = if i % 2 == 0 {
            api_a.clone()
        } else {
            api_b.clone()
        };
        let txn = txn.clone();
        tasks.push(tokio::spawn(async move {
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                let (st, b) = api.refund(&txn, part as f64 / 100.0).await.unwrap();
                // The order's one in-flight slot is taken by another refund: try again.
                if st == 409 && b.to_string().contains("ANOTHER_REQUEST_IN_PROGRESS") {
                    assert!(Instant::now() < deadline, "refund never got a turn");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
                return (st, b);
            }
        }));
    }
    let mut refunded = 0;
    let mut answers = Vec::new();
    for t in tasks {
        let (st, b) = t.await.unwrap();
        answers.push(format!(
            "{st} {} {}",
            b["paymentAttempt"]["status"], b["errors"][0]["errorDescription"]
        ));
        match st {
            200 => {
                assert_eq!(b["paymentAttempt"]["status"], "Succeeded", "{b}");
                refunded += part;
            }
            409 => {} // nothing left to refund for this one
            _ => panic!("refund: {st} {b}"),
        }
    }
    assert_eq!(
        refunded,
        3 * part,
        "three of six refunds fit in {total} cents"
    );
    let ledger = sandbox_ledger(&sb).await;
    let at_processor: i64 = ledger
        .iter()
        .filter(|e| {
            e["kind"] == "refund" && e["chargeKey"].as_str().is_some() && e["status"] == "approved"
        })
        .map(|e| e["amountCents"].as_i64().unwrap())
        .sum();
    assert_eq!(
        at_processor, refunded,
        "the processor refunded what we recorded"
    );
    assert!(at_processor <= total);

    // 3. Concurrent captures of the same manual-capture sessions on both servers.
    let m = Merchant::new(&a.base, &orders[0]).await;
    for i in 0..3 {
        let amount = 20.00 + i as f64;
        let id = m.session(&a.base, amount, true).await;
        let (st, p) = m
            .post(
                &b.base,
                &format!("/sessions/{id}/payment-intents"),
                json!({"amount": amount, "token": "tok_visa"}),
            )
            .await;
        assert_eq!(st, 201, "pay: {p}");
        assert_eq!(p["status"], "requires_capture", "{p}");
        let key = s(&p, "paymentAttemptUuid").to_string();
        let path = format!("/sessions/{id}/capture");
        let (ca, cb) = tokio::join!(
            m.post(&a.base, &path, json!({})),
            m.post(&b.base, &path, json!({}))
        );
        let mut codes = [ca.0, cb.0];
        codes.sort();
        assert_eq!(codes, [200, 409], "one capture wins: {ca:?} {cb:?}");
        let won = if ca.0 == 200 { &ca.1 } else { &cb.1 };
        assert_eq!(won["status"], "succeeded", "{won}");
        assert_eq!(won["amountCaptured"].as_f64(), Some(amount), "{won}");
        assert_eq!(
            sandbox_calls(&sb, "capture", &key).await,
            1,
            "captured once"
        );
        let e: Vec<Value> = sandbox_ledger(&sb)
            .await
            .into_iter()
            .filter(|e| e["key"] == key.as_str())
            .collect();
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!(e[0]["status"], "approved", "{e:?}");
    }

    // 4a. Attempts left in flight are resolved exactly once by the two resolvers.
    set_fault(&sb, json!({"mode": "error_after", "count": 1})).await;
    let (_, p) = api_a.prepay(&orders[1], 5.00).await.unwrap();
    let charged = s(&p["paymentAttempt"], "uuid").to_string();
    let (st, r) = api_a.confirm(&charged, VISA, true).await.unwrap();
    assert_eq!(st, 202, "{r}");
    set_fault(&sb, json!({"mode": "error_before", "count": 1})).await;
    let (_, p) = api_b.prepay(&orders[2], 6.00).await.unwrap();
    let never = s(&p["paymentAttempt"], "uuid").to_string();
    let (st, r) = api_b.confirm(&never, VISA, true).await.unwrap();
    assert_eq!(st, 202, "{r}");
    let x = api_b.wait_settled(&charged, Duration::from_secs(20)).await;
    assert_eq!(x["status"], "Succeeded", "{x}");
    let y = api_a.wait_settled(&never, Duration::from_secs(20)).await;
    assert_eq!(
        (y["status"].as_str(), y["responseDescription"].as_str()),
        (Some("Failed"), Some("abandoned"))
    );
    // Give both resolvers several more passes to do double work, then count.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sandbox_calls(&sb, "resolve", &charged).await, 1);
    assert_eq!(sandbox_calls(&sb, "resolve", &never).await, 1);

    // 4b. Sessions past their expiry are expired once, by whichever server gets there.
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(m.session(&b.base, 9.99, false).await);
    }
    let store = db::Db::connect(&db).await.unwrap();
    let version = |id: String| {
        let store = &store;
        async move {
            row::<(String, i64)>(
                store,
                "SELECT status, version FROM checkout_sessions WHERE uuid = $1",
                vec![id.into()],
            )
            .await
        }
    };
    let mut before = Vec::new();
    for id in &ids {
        before.push(version(id.clone()).await.1);
    }
    let past = domain::Timestamp::now().millis() - 1000;
    for id in &ids {
        exec(
            &store,
            "UPDATE checkout_sessions SET expires_at = $1 WHERE uuid = $2",
            vec![past.into(), id.into()],
        )
        .await;
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    for (id, v0) in ids.iter().zip(before) {
        loop {
            let (st, v) = version(id.clone()).await;
            if st == "expired" {
                assert_eq!(v, v0 + 1, "session {id} expired once");
                break;
            }
            assert!(
                Instant::now() < deadline,
                "session {id} never expired ({st})"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    store.close().await;

    wait_nothing_in_flight(&db, Duration::from_secs(20)).await;
    assert_books(&db, &sb).await;
    let out = assert_reconciled(&db, &sb).await;
    eprintln!("{}: {out}total {:?}", backend(), started.elapsed());
    drop((a, b));
}
