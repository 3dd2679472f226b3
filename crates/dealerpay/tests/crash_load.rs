//! Crash-and-recover under load: concurrent clients pay (prePayment + confirm) and refund
//! against `dealerpay serve --processor-url <standalone sandbox>` while the test SIGKILLs
//! the server at least 10 times and the sandbox processor at least 3 times, at moments
//! drawn from a seeded RNG (`DEALERPAY_CRASH_SEED`, printed), restarting each at the same
//! address. Then recovery runs (the in-flight resolver; bounded wait until nothing is in
//! flight) and the books are checked:
//!
//! - every payment a client saw acknowledged (200 Succeeded) is recorded, with the same
//!   transaction; every acknowledged refund too;
//! - no attempt charged twice (one transaction per attempt; one ledger charge per key; and
//!   in the sandbox's durable call log, which its ledger's key cannot hide a second call
//!   from, one charge call per key, and exactly one call that took money per approved
//!   charge we recorded);
//! - the kills landed while payments were in flight: some confirms lost their answer to a
//!   server kill and were settled by a restarted server's resolver (it asked the processor
//!   about the key after the kill);
//! - each invoice's and order's paid and refunded amounts equal the sums of its
//!   transactions; each charge's reserved reversals equal its approved ones;
//! - nothing left in flight; `dealerpay reconcile` exits 0 (every processor charge
//!   recorded exactly once, every recorded approval known to the processor).
//!
//! Short by default (about 15 s of kills); `DEALERPAY_SOAK_SECS=N` keeps killing for N
//! seconds.

mod common;
use common::process::*;
use common::*;
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const CLIENTS: usize = 4;

#[derive(Default)]
struct Seen {
    /// (attempt, transaction) of payments answered 200 Succeeded.
    paid: Vec<(String, String)>,
    /// Refund attempts answered 200 Succeeded.
    refunded: Vec<String>,
    /// Answers that were not a definite outcome (202, transport errors…).
    unknown: u64,
    /// Confirms whose outcome the client never learned: (attempt, when it was sent (ms
    /// since the epoch), whether the answer was a transport error rather than an HTTP one).
    unknown_confirms: Vec<(String, i64, bool)>,
    declined_or_failed: u64,
}

/// One client: its own repair order (one payment in flight per order), paying small
/// amounts and sometimes refunding part of a payment, until `stop`.
async fn client(
    api: PartnerApi,
    order: Value,
    seed: u64,
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<Seen>>,
    requests: Arc<AtomicU64>,
) {
    let mut rng = Rng(seed);
    let pause = || tokio::time::sleep(Duration::from_millis(50));
    // This client's acknowledged charges, oldest first: refunded in full when the invoice
    // runs out of amount due (long soaks).
    let mut mine: Vec<String> = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        requests.fetch_add(1, Ordering::Relaxed);
        let amount = rng.range(100, 500) as f64 / 100.0;
        let attempt = match api.prepay(&order, amount).await {
            Ok((200, b)) => b["paymentAttempt"]["uuid"].as_str().unwrap().to_string(),
            Ok((400, b))
                if (b.to_string().contains("INVOICE_ALREADY_PAID")
                    || b.to_string().contains("exceeds the amount due"))
                    && !mine.is_empty() =>
            {
                let txn = mine.remove(0);
                requests.fetch_add(1, Ordering::Relaxed);
                let path = format!("/payment/kpayment/v1/transactions/{txn}/refund");
                if let Ok((200, b)) = api.post(&path, serde_json::json!({})).await {
                    if b["paymentAttempt"]["status"] == "Succeeded" {
                        let u = b["paymentAttempt"]["uuid"].as_str().unwrap().to_string();
                        seen.lock().unwrap().refunded.push(u);
                    }
                }
                continue;
            }
            Ok((st, b)) if st < 500 && st != 409 => {
                panic!("prepayment refused: {st} {b}")
            }
            _ => {
                pause().await;
                continue;
            }
        };
        // Confirm; while another operation of the order is in flight (an earlier attempt
        // or refund whose outcome is being resolved) the attempt is still Created: retry.
        let mut sent_ms;
        let answer = loop {
            requests.fetch_add(1, Ordering::Relaxed);
            sent_ms = wall_ms();
            let r = api.confirm(&attempt, VISA, true).await;
            if let Ok((409, _)) = &r {
                if let Ok((200, a)) = api.attempt(&attempt).await {
                    if a["paymentAttempt"]["status"] == "Created" && !stop.load(Ordering::Relaxed) {
                        pause().await;
                        continue;
                    }
                }
            }
            break r;
        };
        let txn = match answer {
            Ok((200, b)) if b["paymentAttempt"]["status"] == "Succeeded" => {
                let t = b["paymentAttempt"]["transaction"]["uuid"]
                    .as_str()
                    .unwrap_or_else(|| panic!("Succeeded without transaction: {b}"))
                    .to_string();
                seen.lock().unwrap().paid.push((attempt.clone(), t.clone()));
                mine.push(t.clone());
                t
            }
            Ok((200, _)) => {
                seen.lock().unwrap().declined_or_failed += 1;
                continue;
            }
            other => {
                let mut seen = seen.lock().unwrap();
                seen.unknown += 1;
                seen.unknown_confirms
                    .push((attempt.clone(), sent_ms, other.is_err()));
                continue;
            }
        };
        if !rng.chance(35) {
            continue;
        }
        let part = rng.range(10, 100) as f64 / 100.0;
        let answer = loop {
            requests.fetch_add(1, Ordering::Relaxed);
            let r = api.refund(&txn, part).await;
            match &r {
                Ok((409, b))
                    if b.to_string().contains("ANOTHER_REQUEST_IN_PROGRESS")
                        && !stop.load(Ordering::Relaxed) =>
                {
                    pause().await;
                    continue;
                }
                _ => break r,
            }
        };
        match answer {
            Ok((200, b)) if b["paymentAttempt"]["status"] == "Succeeded" => {
                let u = b["paymentAttempt"]["uuid"].as_str().unwrap().to_string();
                seen.lock().unwrap().refunded.push(u);
            }
            _ => seen.lock().unwrap().unknown += 1,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payments_survive_repeated_kills_of_server_and_processor() {
    let started = Instant::now();
    let seed: u64 = std::env::var("DEALERPAY_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5EED_D1A1);
    let soak = std::env::var("DEALERPAY_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .map(Duration::from_secs);
    eprintln!(
        "{}: crash load with DEALERPAY_CRASH_SEED={seed}{}",
        backend(),
        soak.map(|d| format!(", soak {d:?}")).unwrap_or_default()
    );
    let mut rng = Rng(seed);
    let dir = ScratchDir::new("crash-load-ledger");
    let ledger = dir.file("ledger.db");
    let (db, _db_dir) = fresh_database().await;

    // A little latency, and a delay between recording a charge and answering: windows in
    // which a kill leaves a charge approved at the processor but not yet recorded by us.
    // Fault injection (no fault is switched on) logs every charge and resolve call in the
    // ledger, across the sandbox's restarts.
    let sandbox_opts = ServerProcess::command("sandbox-processor")
        .args([
            "--ledger",
            &ledger,
            "--latency-ms",
            "15",
            "--reply-delay-ms",
            "40",
            "--fault-injection",
        ])
        .port(free_port())
        .log_prefix("crash-load-sandbox")
        .log_tail(60);
    let mut sandbox = sandbox_opts.clone().start().await;
    let mut orders = Vec::new();
    for _ in 0..CLIENTS {
        orders.push(demo(&db).await);
    }
    // Each demo run gives the partner a new password: the last one holds.
    let creds = orders.last().unwrap().clone();
    let server_opts = ServerProcess::serve(&db)
        .args([
            "--processor-url",
            &sandbox.base,
            "--processor-timeout-secs",
            "1",
        ])
        .env("DEALERPAY_LEASE_GRACE_MS", "500")
        .env("DEALERPAY_RESOLVER_INTERVAL_MS", "100")
        .env("DEALERPAY_CARD_HASH_KEY", SHARED_CARD_HASH_KEY)
        .port(free_port())
        .log_prefix("crash-load-serve")
        .log_tail(80);
    let mut server = server_opts.clone().start().await;

    let stop = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(Mutex::new(Seen::default()));
    let requests = Arc::new(AtomicU64::new(0));
    let mut clients = Vec::new();
    for (i, order) in orders.iter().enumerate() {
        let api = PartnerApi::new(&server.base, &creds, Duration::from_secs(10));
        clients.push(tokio::spawn(client(
            api,
            order.clone(),
            seed ^ (i as u64 + 1).wrapping_mul(0x1234_5678_9ABC),
            stop.clone(),
            seen.clone(),
            requests.clone(),
        )));
    }

    // The killer: at least 10 server and 3 processor kills (every third kill hits the
    // processor until 3 did), at random moments.
    let (mut server_kills, mut sandbox_kills) = (0, 0);
    // When each server kill landed (ms since the epoch).
    let mut server_killed_at: Vec<i64> = Vec::new();
    let kill_phase = Instant::now();
    loop {
        let enough = server_kills >= 10 && sandbox_kills >= 3;
        if enough && soak.is_none_or(|d| kill_phase.elapsed() >= d) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(rng.range(300, 1100))).await;
        if let Some(i) = clients.iter().position(|c| c.is_finished()) {
            clients.remove(i).await.expect("a client panicked");
            panic!("a client stopped early");
        }
        if (server_kills + sandbox_kills) % 4 == 1 || (server_kills >= 10 && sandbox_kills < 3) {
            sandbox.kill9();
            sandbox_kills += 1;
            // Down for a moment: calls in that window fail and stay in flight.
            tokio::time::sleep(Duration::from_millis(rng.range(0, 300))).await;
            sandbox = sandbox_opts.clone().start().await;
        } else {
            server.kill9();
            server_killed_at.push(wall_ms());
            server_kills += 1;
            server = server_opts.clone().start().await;
        }
    }
    stop.store(true, Ordering::Relaxed);
    let kill_time = kill_phase.elapsed();
    for c in clients {
        tokio::time::timeout(Duration::from_secs(30), c)
            .await
            .expect("clients stop")
            .expect("client panicked");
    }

    // Recovery: the resolver settles whatever the kills left in flight.
    let recovered_in = wait_nothing_in_flight(&db, Duration::from_secs(30)).await;

    let seen = std::mem::take(&mut *seen.lock().unwrap());
    assert!(
        seen.paid.len() >= 10,
        "too few acknowledged payments to prove anything: {}",
        seen.paid.len()
    );
    let store = db::Db::connect(&db).await.unwrap();
    for (attempt, txn) in &seen.paid {
        let rows: Vec<(String, String, String, String)> = rows(
            &store,
            "SELECT a.status, t.uuid, t.transaction_type, t.status FROM payment_attempts a \
             JOIN transactions t ON t.attempt_id = a.id WHERE a.uuid = $1",
            vec![attempt.into()],
        )
        .await;
        assert_eq!(
            rows,
            vec![(
                "Succeeded".to_string(),
                txn.clone(),
                "CHARGE".to_string(),
                "APPROVED".to_string()
            )],
            "acknowledged payment {attempt} not recorded as acknowledged"
        );
    }
    for attempt in &seen.refunded {
        let rows: Vec<(String, String, String)> = rows(
            &store,
            "SELECT a.status, t.transaction_type, t.status FROM payment_attempts a \
             JOIN transactions t ON t.attempt_id = a.id WHERE a.uuid = $1",
            vec![attempt.into()],
        )
        .await;
        assert_eq!(
            rows,
            vec![(
                "Succeeded".to_string(),
                "REFUND".to_string(),
                "APPROVED".to_string()
            )],
            "acknowledged refund {attempt} not recorded"
        );
    }
    let doubled: Vec<(i64, i64)> = rows(
        &store,
        "SELECT attempt_id, COUNT(*) FROM transactions WHERE transaction_type = 'CHARGE' \
         AND status = 'APPROVED' GROUP BY attempt_id HAVING COUNT(*) > 1",
        vec![],
    )
    .await;
    assert!(doubled.is_empty(), "attempts charged twice: {doubled:?}");
    let (recovered_ok, recovered_failed): (i64, i64) = row(
        &store,
        "SELECT \
           CAST(COALESCE(SUM(CASE WHEN status = 'Succeeded' THEN 1 ELSE 0 END), 0) AS BIGINT), \
           CAST(COALESCE(SUM(CASE WHEN status = 'Failed' THEN 1 ELSE 0 END), 0) AS BIGINT) \
         FROM payment_attempts",
        vec![],
    )
    .await;
    // No key was charged twice: the processor's call log counts the charge calls per key
    // (the ledger's key would absorb a second one); and every charge we recorded as
    // approved was taken by exactly one approving call.
    let log = sandbox_call_log(&ledger).await;
    let charged_keys = assert_charged_once_per_key(&log);
    let approved: Vec<String> = scalars(
        &store,
        "SELECT a.uuid FROM payment_attempts a JOIN transactions t ON t.attempt_id = a.id \
         WHERE t.transaction_type = 'CHARGE' AND t.status = 'APPROVED'",
        vec![],
    )
    .await;
    assert!(approved.len() >= seen.paid.len());
    for a in &approved {
        let took: Vec<_> = calls_for(&log, "charge", a)
            .into_iter()
            .filter(|c| c.took_money())
            .collect();
        assert_eq!(took.len(), 1, "approved charge {a}: charge calls {took:?}");
    }
    // The kills landed while payments were in flight: confirms whose answer was lost when
    // the server died under them, left in flight, and settled by the resolver of a
    // restarted server (it asked the processor about the key after the kill).
    let mut resolved_at: HashMap<&str, Vec<i64>> = HashMap::new();
    for c in log.iter().filter(|c| c.op == "resolve") {
        resolved_at.entry(c.key.as_str()).or_default().push(c.at);
    }
    let (mut settled_by_resolver, mut settled_after_server_kill) = (0, 0);
    for (attempt, sent, transport_error) in &seen.unknown_confirms {
        let (status, in_flight): (String, i64) = row(
            &store,
            "SELECT status, in_flight FROM payment_attempts WHERE uuid = $1",
            vec![attempt.into()],
        )
        .await;
        let settled = in_flight == 0 && (status == "Succeeded" || status == "Failed");
        let Some(resolves) = resolved_at.get(attempt.as_str()).filter(|_| settled) else {
            continue;
        };
        settled_by_resolver += 1;
        let after_a_kill = server_killed_at
            .iter()
            .any(|k| k >= sent && resolves.iter().any(|r| r > k));
        if *transport_error && after_a_kill {
            settled_after_server_kill += 1;
        }
    }
    assert!(
        settled_after_server_kill > 0,
        "no server kill landed while a payment was in flight: of {} confirms without an \
         answer, {settled_by_resolver} were settled by the resolver, none after a kill",
        seen.unknown_confirms.len()
    );
    store.close().await;
    let acked: HashSet<&str> = seen.paid.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(
        acked.len(),
        seen.paid.len(),
        "an attempt acknowledged twice"
    );

    assert_books(&db, &sandbox.base).await;
    let out = assert_reconciled(&db, &sandbox.base).await;
    eprintln!(
        "{}: {server_kills} server and {sandbox_kills} processor kills in {kill_time:?}; \
         {} requests; acknowledged {} payments and {} refunds, {} declined/failed answers, \
         {} unknown answers; all attempts: {recovered_ok} Succeeded, {recovered_failed} Failed; \
         {charged_keys} keys charged, each once; of {} confirms without an answer, \
         {settled_by_resolver} settled by the resolver, {settled_after_server_kill} after a \
         server kill; recovery {recovered_in:?}; total {:?}\n{out}",
        backend(),
        requests.load(Ordering::Relaxed),
        seen.paid.len(),
        seen.refunded.len(),
        seen.declined_or_failed,
        seen.unknown,
        seen.unknown_confirms.len(),
        started.elapsed()
    );
    drop(server);
}
