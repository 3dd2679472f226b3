//! Database unavailable: PostgreSQL goes away under a payment load and comes back.
//!
//! The machine's PostgreSQL is shared with other tests, so it is never stopped: the test puts
//! a small TCP proxy of its own between `dealerpay serve` (the real binary, in-process sandbox
//! processor whose ledger is a table of the same database) and PostgreSQL, and flips it:
//!
//! * **refuse**: the proxy closes its listening socket (new connections are refused, as when
//!   PostgreSQL is stopped) and cuts every open connection;
//! * **blackhole**: the proxy accepts new connections but never forwards a byte (a
//!   partitioned network or a wedged server: the nasty case, where only our own timeouts end
//!   the wait) and cuts every open connection.
//!
//! A few concurrent clients pay (prePayment + confirm with an Idempotency-Key) the whole time.
//! During each outage every request answers within a bound, with the SERVICE_UNAVAILABLE
//! entry and Retry-After (a 503, or a 500 on the documented routes; the v3 and Checkout
//! families in their own envelopes), `/readyz` is 503 and `/healthz` 200. After each restore
//! the same process serves payments again within a bound. At the end: every payment a
//! client saw approved is recorded, invoice and order paid amounts equal the sum of their
//! approved charges, nothing is left in flight once the resolver has run, and
//! `dealerpay reconcile` exits 0.
//!
//! PostgreSQL only (`DEALERPAY_TEST_DB=postgres`); on SQLite the test prints why and passes.

mod common;
use common::process::{cmd, s, ServerProcess};
use common::*;
use reqwest::Client;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

/// The card-hash secret of every process in this test (so none writes a key file).
const HASH_KEY: &str = "database-outage-test-card-hash-key-0123456789";
/// Concurrent paying clients, each on its own repair order and invoice.
const CLIENTS: usize = 3;
/// How long each outage lasts.
const OUTAGE: Duration = Duration::from_secs(7);
/// A request that starts while the database is unreachable answers within this.
const FAIL_FAST: Duration = Duration::from_millis(4_500);
/// A request already running when the database goes away: processor timeout (2 s) plus
/// one failing database wait, with slack.
const CAUGHT_IN_THE_CUT: Duration = Duration::from_secs(8);
/// After the database returns, `/readyz` is green again within this.
const READY_AGAIN: Duration = Duration::from_secs(5);
/// …and every client has completed a payment within this (an attempt caught in the cut
/// keeps its order's in-flight slot until its lease — processor timeout 2 s + 5 s — runs
/// out and the resolver settles it).
const PAYING_AGAIN: Duration = Duration::from_secs(15);
/// Approved after `--sandbox-slow-ms`.
const SLOW_CARD: &str = "4000000000006975";

// ---------------------------------------------------------------------------------------
// The switchable proxy
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Up,
    Refuse,
    Blackhole,
}

/// A TCP proxy on a loopback port in front of PostgreSQL.
struct DbProxy {
    port: u16,
    mode: watch::Sender<Mode>,
    task: tokio::task::JoinHandle<()>,
}

impl DbProxy {
    async fn start(upstream: SocketAddr) -> DbProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (mode, rx) = watch::channel(Mode::Up);
        let task = tokio::spawn(proxy_loop(listener, port, upstream, rx));
        DbProxy { port, mode, task }
    }

    fn set(&self, mode: Mode) {
        self.mode.send_replace(mode);
    }
}

impl Drop for DbProxy {
    fn drop(&mut self) {
        // Aborting the loop drops its JoinSet, which aborts every forwarding task.
        self.task.abort();
    }
}

/// Binds the proxy's port again after a refuse phase.
async fn rebind(port: u16) -> TcpListener {
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let r = TcpSocket::new_v4().and_then(|s| {
            s.set_reuseaddr(true)?;
            s.bind(addr)?;
            s.listen(1024)
        });
        match r {
            Ok(l) => return l,
            Err(e) => {
                assert!(Instant::now() < deadline, "rebinding {addr}: {e}");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
}

async fn proxy_loop(
    listener: TcpListener,
    port: u16,
    upstream: SocketAddr,
    mut rx: watch::Receiver<Mode>,
) {
    let mut listener = Some(listener);
    let mut forwarding = JoinSet::new();
    // Blackholed connections: accepted, never read, never answered.
    let mut held: Vec<TcpStream> = Vec::new();
    loop {
        let mode = *rx.borrow_and_update();
        if mode != Mode::Blackhole {
            held.clear();
        }
        if mode == Mode::Refuse {
            // No listener: connecting is refused, as with PostgreSQL stopped.
            listener = None;
            if rx.changed().await.is_err() {
                return;
            }
            continue;
        }
        if listener.is_none() {
            listener = Some(rebind(port).await);
        }
        let l = listener.as_ref().unwrap();
        tokio::select! {
            r = l.accept() => {
                if let Ok((sock, _)) = r {
                    if mode == Mode::Up {
                        forwarding.spawn(forward(sock, upstream, rx.clone()));
                    } else {
                        held.push(sock);
                    }
                }
            }
            r = rx.changed() => if r.is_err() { return },
            Some(_) = forwarding.join_next(), if !forwarding.is_empty() => {}
        }
    }
}

/// Forwards one connection until either side closes it or the proxy leaves `Up`, which cuts
/// it (both sockets are closed; PostgreSQL sees the close and rolls back whatever the
/// connection had open).
async fn forward(mut client: TcpStream, upstream: SocketAddr, mut rx: watch::Receiver<Mode>) {
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
        _ = rx.wait_for(|m| *m != Mode::Up) => {}
    }
}

/// `host:port` of a `postgres://user@host:port/db?…` URL.
fn host_port(url: &str) -> String {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let authority = rest.split(['/', '?']).next().unwrap_or(rest);
    let host = authority
        .rsplit_once('@')
        .map(|(_, h)| h)
        .unwrap_or(authority);
    if host.contains(':') {
        host.to_string()
    } else {
        format!("{host}:5432")
    }
}

// ---------------------------------------------------------------------------------------
// Clients
// ---------------------------------------------------------------------------------------

/// One answered (or not) request (`client` and `body` are read in failure messages).
#[derive(Debug, Clone)]
#[allow(dead_code)]
struct Sample {
    client: usize,
    route: &'static str,
    /// Since the test's start.
    started: Duration,
    took: Duration,
    /// None: no HTTP answer at all (connection dropped, client timeout).
    status: Option<u16>,
    /// The error entry's title / name, when the body is an error envelope.
    title: String,
    retry_after: bool,
    body: String,
}

impl Sample {
    fn ended(&self) -> Duration {
        self.started + self.took
    }
    /// The answer a client must get while the database is away.
    fn is_unavailable(&self) -> bool {
        let want = if self.route == "prepayment" { 500 } else { 503 };
        self.status == Some(want) && self.title == "SERVICE_UNAVAILABLE" && self.retry_after
    }
}

/// A payment the client was told is approved.
#[derive(Debug, Clone)]
struct Acked {
    attempt: String,
    transaction: String,
    invoice: String,
    started: Duration,
}

#[derive(Clone)]
struct Api {
    client: Client,
    base: String,
    user: String,
    pass: String,
    t0: Instant,
}

impl Api {
    /// Sends and records a sample; returns it with the parsed body.
    async fn call(
        &self,
        client: usize,
        route: &'static str,
        rb: reqwest::RequestBuilder,
    ) -> (Sample, Value) {
        let start = Instant::now();
        let started = start - self.t0;
        let r = rb.send().await;
        let (status, retry_after, text) = match r {
            Ok(r) => {
                let status = r.status().as_u16();
                let retry_after = r.headers().contains_key("retry-after");
                let text = r.text().await.unwrap_or_else(|e| format!("<body: {e}>"));
                (Some(status), retry_after, text)
            }
            Err(e) => (None, false, format!("<no answer: {e}>")),
        };
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let title = body["errors"][0]["errorTitle"]
            .as_str()
            .or_else(|| body["error"]["name"].as_str())
            .or_else(|| {
                body["error"]["errorDescription"]
                    .as_str()
                    .and_then(|d| d.split(':').next())
            })
            .unwrap_or("")
            .to_string();
        let sample = Sample {
            client,
            route,
            started,
            took: start.elapsed(),
            status,
            title,
            retry_after,
            body: text.chars().take(400).collect(),
        };
        (sample, body)
    }

    fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.client
            .post(format!("{}{path}", self.base))
            .basic_auth(&self.user, Some(&self.pass))
    }

    fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.client
            .get(format!("{}{path}", self.base))
            .basic_auth(&self.user, Some(&self.pass))
    }
}

/// One client's repair order and invoice (from its own `demo` run), and its card.
#[derive(Clone)]
struct Order {
    card: &'static str,
    dealer: String,
    customer: String,
    order: String,
    invoice: String,
}

struct Shared {
    samples: Mutex<Vec<Sample>>,
    acked: Mutex<Vec<Acked>>,
    stop: AtomicBool,
}

/// Pays $1.00 on its order again and again until told to stop.
async fn pay_loop(i: usize, api: Api, o: Order, shared: Arc<Shared>) {
    while !shared.stop.load(Ordering::SeqCst) {
        let (sample, b) = api
            .call(
                i,
                "prepayment",
                api.post("/payment/kpayment/v1/prepayment").json(&json!({
                    "dealerUuid": o.dealer, "customerUuid": o.customer,
                    "dealerOrderUuid": o.order, "invoiceGUID": o.invoice,
                    "amount": 1.00, "ignorePaymentAttemptValidation": true
                })),
            )
            .await;
        let ok = sample.status == Some(200);
        shared.samples.lock().unwrap().push(sample);
        if !ok {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        }
        let attempt = b["paymentAttempt"]["uuid"].as_str().unwrap().to_string();
        let (sample, b) = api
            .call(
                i,
                "confirm",
                api.post(&format!(
                    "/payment/kpayment/v1/paymentattempts/{attempt}/confirm"
                ))
                .header("Idempotency-Key", format!("outage-{attempt}"))
                .json(&json!({"card": {"number": o.card, "expMonth": 12,
                    "expYear": 2034, "cvv": "123", "zip": "94107"}})),
            )
            .await;
        if sample.status == Some(200) && b["paymentAttempt"]["status"] == "Succeeded" {
            shared.acked.lock().unwrap().push(Acked {
                attempt: attempt.clone(),
                transaction: b["paymentAttempt"]["transaction"]["uuid"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                invoice: o.invoice.clone(),
                started: sample.started,
            });
        }
        let ok = sample.status == Some(200);
        shared.samples.lock().unwrap().push(sample);
        tokio::time::sleep(Duration::from_millis(if ok { 20 } else { 100 })).await;
    }
}

// ---------------------------------------------------------------------------------------
// The scenario
// ---------------------------------------------------------------------------------------

/// Runs `dealerpay args…` with this test's secret; (exit code, stdout, stderr).
async fn run_dealerpay(args: &[&str]) -> (i32, String, String) {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let out = tokio::task::spawn_blocking(move || {
        cmd()
            .args(&args)
            .env("DEALERPAY_CARD_HASH_KEY", HASH_KEY)
            .output()
            .expect("dealerpay runs")
    })
    .await
    .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// Probes of every route family, the health endpoints included, while the database is away.
struct Probes {
    api: Api,
    health: Client,
    department: String,
    invoice: String,
    payment_request: String,
    namespace: String,
    api_key: String,
    jwt: String,
}

impl Probes {
    async fn check_outage(&self, phase: &str) {
        let base = &self.api.base;
        // Liveness does no I/O: immediate 200.
        let t = Instant::now();
        let r = self
            .health
            .get(format!("{base}/healthz"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "{phase}: /healthz");
        assert!(
            t.elapsed() < Duration::from_secs(1),
            "{phase}: /healthz took {:?}",
            t.elapsed()
        );
        // Readiness and every route family at once (each waits on the database).
        let readyz = self
            .api
            .call(0, "readyz", self.health.get(format!("{base}/readyz")));
        let documented_v1 = self.api.call(
            0,
            "paymentrequest",
            self.api.get(&format!(
                "/payment/kpayment/v1/paymentrequest/{}",
                self.payment_request
            )),
        );
        let documented_v3 = self.api.call(
            0,
            "v3 status",
            self.api.get(&format!(
                "/payment/v3/department/{}/status?invoiceId={}",
                self.department, self.invoice
            )),
        );
        let checkout_token = self.api.call(
            0,
            "checkout token",
            self.health
                .post(format!(
                    "{base}/payment/checkout/v1/namespaces/{}/token",
                    self.namespace
                ))
                .json(&json!({"apiKey": self.api_key})),
        );
        let checkout_sessions = self.api.call(
            0,
            "checkout sessions",
            self.health
                .get(format!(
                    "{base}/payment/checkout/v1/namespaces/{}/sessions",
                    self.namespace
                ))
                .bearer_auth(&self.jwt),
        );
        let ((r, _), documented_v1, documented_v3, checkout_token, checkout_sessions) = tokio::join!(
            readyz,
            documented_v1,
            documented_v3,
            checkout_token,
            checkout_sessions
        );
        // Readiness is red, fast, with Retry-After and the v1 envelope.
        assert!(
            r.status == Some(503) && r.title == "SERVICE_UNAVAILABLE" && r.retry_after,
            "{phase}: /readyz {r:?}"
        );
        assert!(
            r.took <= Duration::from_millis(2_500),
            "{phase}: /readyz {r:?}"
        );
        for (s, _) in [
            &documented_v1,
            &documented_v3,
            &checkout_token,
            &checkout_sessions,
        ] {
            assert!(
                s.took <= FAIL_FAST,
                "{phase}: {} answered after {:?}: {s:?}",
                s.route,
                s.took
            );
            assert!(
                s.retry_after,
                "{phase}: {} without Retry-After: {s:?}",
                s.route
            );
        }
        // Documented routes keep to their listed statuses: 500, saying SERVICE_UNAVAILABLE.
        let (s, b) = &documented_v1;
        assert_eq!(s.status, Some(500), "{phase}: {s:?}");
        assert_eq!(b["errors"][0]["errorCode"], 100100, "{phase}: {s:?}");
        let (s, b) = &documented_v3;
        assert_eq!(s.status, Some(500), "{phase}: {s:?}");
        assert_eq!(b["error"]["errorCode"], "100100", "{phase}: {s:?}");
        assert!(
            b["error"]["errorDescription"]
                .as_str()
                .unwrap_or("")
                .starts_with("SERVICE_UNAVAILABLE: "),
            "{phase}: {s:?}"
        );
        // Checkout: its own envelope, 503.
        let (s, b) = &checkout_token;
        assert_eq!(s.status, Some(503), "{phase}: {s:?}");
        assert_eq!(b["error"]["name"], "SERVICE_UNAVAILABLE", "{phase}: {s:?}");
        assert_eq!(b["error"]["code"], 9_300_005, "{phase}: {s:?}");
        // A merchant route fails in its authorization step (documented AUTHORIZATION_ERROR).
        let (s, b) = &checkout_sessions;
        assert_eq!(s.status, Some(503), "{phase}: {s:?}");
        assert!(
            b["error"]["name"] == "AUTHORIZATION_ERROR"
                || b["error"]["name"] == "SERVICE_UNAVAILABLE",
            "{phase}: {s:?}"
        );
    }
}

/// Polls `/readyz` until 200; returns how long that took.
async fn wait_ready(client: &Client, base: &str, within: Duration, phase: &str) -> Duration {
    let t = Instant::now();
    loop {
        if let Ok(r) = client.get(format!("{base}/readyz")).send().await {
            if r.status().as_u16() == 200 {
                return t.elapsed();
            }
        }
        assert!(
            t.elapsed() < within,
            "{phase}: /readyz not green {within:?} after the database returned"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until every client has had a payment approved that started after `since`.
async fn wait_paying(shared: &Shared, since: Duration, within: Duration, phase: &str) -> Duration {
    let t = Instant::now();
    loop {
        let paid: std::collections::HashSet<String> = shared
            .acked
            .lock()
            .unwrap()
            .iter()
            .filter(|a| a.started >= since)
            .map(|a| a.invoice.clone())
            .collect();
        if paid.len() == CLIENTS {
            return t.elapsed();
        }
        assert!(
            t.elapsed() < within,
            "{phase}: only {} of {CLIENTS} clients paid within {within:?} of the database's return",
            paid.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What the samples of one outage show; asserts the failure contract.
fn check_outage_samples(
    samples: &[Sample],
    cut: Duration,
    restored: Duration,
    phase: &str,
) -> (usize, Duration) {
    // The cut reaches every connection within moments of the switch.
    let grace = Duration::from_millis(200);
    let mut during = 0;
    let mut slowest = Duration::ZERO;
    for s in samples {
        if s.ended() < cut || s.started > restored {
            continue;
        }
        let started_inside = s.started >= cut + grace && s.started < restored;
        if started_inside {
            // Started with the database away: fails fast — or, if it was still waiting when
            // the database came back, may succeed.
            let bound = if s.ended() <= restored {
                FAIL_FAST
            } else {
                FAIL_FAST + Duration::from_secs(2)
            };
            assert!(
                s.took <= bound,
                "{phase}: a request that started during the outage answered after {:?}: {s:?}",
                s.took
            );
            if s.ended() <= restored {
                during += 1;
                slowest = slowest.max(s.took);
                assert!(
                    s.is_unavailable(),
                    "{phase}: during the outage {} answered {:?} instead of SERVICE_UNAVAILABLE with Retry-After: {s:?}",
                    s.route,
                    s.status
                );
            }
        } else {
            // Caught in the cut (or overlapping the return).
            assert!(
                s.took <= CAUGHT_IN_THE_CUT,
                "{phase}: a request caught in the cut answered after {:?}: {s:?}",
                s.took
            );
        }
        let acceptable = s.status == Some(200)
            || (s.route == "confirm" && s.status == Some(202))
            || (s.route == "confirm"
                && s.status == Some(409)
                && s.title == "ANOTHER_REQUEST_IN_PROGRESS")
            || s.is_unavailable();
        assert!(
            acceptable,
            "{phase}: {} answered {:?} {}: {s:?}",
            s.route, s.status, s.title
        );
    }
    (during, slowest)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_outage_fails_fast_and_recovers_by_itself() {
    if backend() != "postgres" {
        eprintln!(
            "database_outage: skipped on SQLite — an embedded database file has no network \
             outage to simulate; run with DEALERPAY_TEST_DB=postgres"
        );
        return;
    }
    let t0 = Instant::now();
    let (direct, _) = fresh_database().await;
    let upstream = tokio::net::lookup_host(host_port(&direct))
        .await
        .unwrap()
        .next()
        .expect("PostgreSQL address");
    let proxy = DbProxy::start(upstream).await;
    let via_proxy = direct.replacen(&host_port(&direct), &format!("127.0.0.1:{}", proxy.port), 1);
    assert_ne!(via_proxy, direct);

    // One demo run per client: its own repair order and invoice. The last run's password is
    // the demo partner's current one.
    let (code, out, err) = run_dealerpay(&["migrate", "--database", &direct]).await;
    assert_eq!(code, 0, "migrate: {out}{err}");
    let mut runs = Vec::new();
    for _ in 0..CLIENTS {
        runs.push(demo_with_key(&direct).await);
    }
    let last = runs.last().unwrap().clone();

    let server = ServerProcess::serve(&via_proxy)
        .args(["--processor-timeout-secs", "2", "--sandbox-slow-ms", "1000"])
        .env("DEALERPAY_CARD_HASH_KEY", HASH_KEY)
        .env("DEALERPAY_OPERATOR_TOKEN", OPERATOR)
        .log_prefix("outage-serve")
        .log_tail(60)
        .start()
        .await;
    let http = Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let api = Api {
        client: http.clone(),
        base: server.base.clone(),
        user: s(&last, "username").into(),
        pass: s(&last, "password").into(),
        t0,
    };

    // A Checkout merchant for the Checkout-family probes.
    let namespace = format!("outage-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let r = http
        .post(server.url("/payment/checkout/v1/namespaces"))
        .bearer_auth(OPERATOR)
        .json(&json!({"namespace": namespace, "name": "Outage Motors", "dealerUuid": s(&last, "dealerUuid"),
            "departmentUuid": s(&last, "departmentUuid"), "dealerAssociateUUID": s(&last, "dealerAssociateUuid")}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201, "{}", r.text().await.unwrap());
    let b: Value = http
        .post(server.url(&format!(
            "/payment/checkout/v1/namespaces/{namespace}/api-keys"
        )))
        .bearer_auth(OPERATOR)
        .json(&json!({"label": "outage"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let api_key = b["apiKey"].as_str().expect("apiKey").to_string();
    let b: Value = http
        .post(server.url(&format!(
            "/payment/checkout/v1/namespaces/{namespace}/token"
        )))
        .json(&json!({"apiKey": api_key}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let jwt = b["accessToken"].as_str().expect("accessToken").to_string();
    let probes = Probes {
        api: api.clone(),
        health: http.clone(),
        department: s(&last, "departmentUuid").into(),
        invoice: s(&last, "invoiceGuid").into(),
        payment_request: s(&last, "paymentRequestGuid").into(),
        namespace,
        api_key,
        jwt,
    };

    // The load.
    let shared = Arc::new(Shared {
        samples: Mutex::new(Vec::new()),
        acked: Mutex::new(Vec::new()),
        stop: AtomicBool::new(false),
    });
    let orders: Vec<Order> = runs
        .iter()
        .enumerate()
        .map(|(i, d)| Order {
            // Client 0 pays with the sandbox's slow card: its charge is under way at the
            // processor for a second, and the cuts land in that window.
            card: if i == 0 {
                SLOW_CARD
            } else {
                "4242424242424242"
            },
            dealer: s(d, "dealerUuid").into(),
            customer: s(d, "customerUuid").into(),
            order: s(d, "dealerOrderUuid").into(),
            invoice: s(d, "invoiceGuid").into(),
        })
        .collect();
    let mut clients = JoinSet::new();
    for (i, o) in orders.iter().enumerate() {
        clients.spawn(pay_loop(i, api.clone(), o.clone(), shared.clone()));
    }
    let warm_from = t0.elapsed();
    wait_paying(&shared, warm_from, Duration::from_secs(10), "warm-up").await;

    let mut report = Vec::new();
    let db = db::Db::connect(&direct).await.unwrap();
    for (phase, mode) in [("refuse", Mode::Refuse), ("blackhole", Mode::Blackhole)] {
        // Cut while client 0's charge is at the processor (its attempt in flight), so that
        // the cut leaves an attempt for the resolver.
        let t = Instant::now();
        loop {
            let n: i64 = scalar(
                &db,
                "SELECT COUNT(*) FROM payment_attempts a JOIN dealer_orders d ON d.id = a.dealer_order_id \
                 WHERE d.uuid = $1 AND a.in_flight = 1",
                vec![(&orders[0].order).into()],
            )
            .await;
            if n > 0 {
                break;
            }
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "{phase}: client 0 never had a charge under way"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let cut = t0.elapsed();
        proxy.set(mode);
        tokio::time::sleep(Duration::from_millis(1_000)).await;
        probes.check_outage(phase).await;
        let rest = OUTAGE.saturating_sub(t0.elapsed() - cut);
        tokio::time::sleep(rest).await;
        let restored = t0.elapsed();
        proxy.set(Mode::Up);
        let ready = wait_ready(&http, &server.base, READY_AGAIN, phase).await;
        let left_in_flight: i64 = scalar(
            &db,
            "SELECT COUNT(*) FROM payment_attempts WHERE in_flight = 1",
            vec![],
        )
        .await;
        let paying = wait_paying(&shared, restored, PAYING_AGAIN, phase).await;
        let samples = shared.samples.lock().unwrap().clone();
        let (during, slowest) = check_outage_samples(&samples, cut, restored, phase);
        // Every client saw the outage as SERVICE_UNAVAILABLE (its own requests' bounds and
        // shapes are checked above).
        let told: std::collections::HashSet<usize> = samples
            .iter()
            .filter(|s| s.ended() >= cut && s.started <= restored && s.is_unavailable())
            .map(|s| s.client)
            .collect();
        assert_eq!(
            told.len(),
            CLIENTS,
            "{phase}: not every client was told SERVICE_UNAVAILABLE ({cut:?}..{restored:?}): {:#?}",
            samples
                .iter()
                .filter(|s| s.ended() >= cut)
                .collect::<Vec<_>>()
        );
        report.push(format!(
            "{phase}: {during} requests started and failed inside the outage, slowest {slowest:?}; \
             /readyz green {ready:?}, {left_in_flight} attempt(s) in flight, every client \
             paying {paying:?} after the return"
        ));
    }

    // Stop the load; every response outside the outages must have been a success (or the
    // in-flight slot of an attempt caught in a cut).
    shared.stop.store(true, Ordering::SeqCst);
    let stop_deadline = tokio::time::timeout(Duration::from_secs(25), async {
        while clients.join_next().await.is_some() {}
    })
    .await;
    assert!(stop_deadline.is_ok(), "clients did not stop");
    let samples = shared.samples.lock().unwrap().clone();
    let acked = shared.acked.lock().unwrap().clone();
    for s in &samples {
        assert!(s.status.is_some(), "{} got no HTTP answer: {s:?}", s.route);
    }

    // Nothing stays in flight: the resolver settles what the cuts left behind.
    let t = Instant::now();
    loop {
        let n: i64 = scalar(
            &db,
            "SELECT COUNT(*) FROM payment_attempts WHERE in_flight = 1",
            vec![],
        )
        .await;
        if n == 0 {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(15),
            "{n} attempts still in flight 15 s after the load stopped"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let settled_in = t.elapsed();

    // Every approval a client saw is recorded, once.
    for a in &acked {
        let (status, in_flight): (String, i64) = row(
            &db,
            "SELECT status, in_flight FROM payment_attempts WHERE uuid = $1",
            vec![(&a.attempt).into()],
        )
        .await;
        assert_eq!((status.as_str(), in_flight), ("Succeeded", 0), "{a:?}");
        let txs: Vec<(String, String, String)> = rows(
            &db,
            "SELECT t.uuid, t.transaction_type, t.status FROM transactions t \
             JOIN payment_attempts a ON a.id = t.attempt_id WHERE a.uuid = $1",
            vec![(&a.attempt).into()],
        )
        .await;
        assert_eq!(
            txs,
            vec![(a.transaction.clone(), "CHARGE".into(), "APPROVED".into())],
            "{a:?}"
        );
    }
    // Nothing half-written: a transaction exactly for every finished attempt of ours.
    let orphans: i64 = scalar(
        &db,
        "SELECT COUNT(*) FROM payment_attempts a WHERE a.status = 'Succeeded' \
         AND NOT EXISTS (SELECT 1 FROM transactions t WHERE t.attempt_id = a.id AND t.status = 'APPROVED')",
        vec![],
    )
    .await;
    assert_eq!(
        orphans, 0,
        "succeeded attempts without an approved transaction"
    );
    let orphans: i64 = scalar(
        &db,
        "SELECT COUNT(*) FROM transactions t JOIN payment_attempts a ON a.id = t.attempt_id \
         WHERE t.status = 'APPROVED' AND a.status <> 'Succeeded'",
        vec![],
    )
    .await;
    assert_eq!(orphans, 0, "approved transactions of unsucceeded attempts");
    // Paid amounts are the sums of the approved charges.
    for o in &orders {
        let (paid, sum): (i64, i64) = row(
            &db,
            "SELECT i.paid_cents, CAST(COALESCE((SELECT SUM(t.amount_cents) FROM transactions t \
             WHERE t.invoice_id = i.id AND t.transaction_type = 'CHARGE' AND t.status = 'APPROVED'), 0) AS BIGINT) \
             FROM invoices i WHERE i.guid = $1",
            vec![(&o.invoice).into()],
        )
        .await;
        assert_eq!(paid, sum, "invoice {} paid_cents", o.invoice);
        let acked_here = acked.iter().filter(|a| a.invoice == o.invoice).count() as i64;
        assert!(
            sum >= acked_here * 100,
            "invoice {}: {sum} cents recorded, {acked_here} approvals seen",
            o.invoice
        );
        let (paid, sum): (i64, i64) = row(
            &db,
            "SELECT d.paid_cents, CAST(COALESCE((SELECT SUM(t.amount_cents) FROM transactions t \
             WHERE t.dealer_order_id = d.id AND t.transaction_type = 'CHARGE' AND t.status = 'APPROVED'), 0) AS BIGINT) \
             FROM dealer_orders d WHERE d.uuid = $1",
            vec![(&o.order).into()],
        )
        .await;
        assert_eq!(paid, sum, "order {} paid_cents", o.order);
    }
    db.close().await;

    // Our records agree with the processor's ledger.
    let (code, out, err) = run_dealerpay(&["reconcile", "--database", &direct]).await;
    assert_eq!(code, 0, "reconcile:\n{out}{err}");

    let answered = samples.len();
    eprintln!(
        "database_outage: {answered} requests, {} payments approved; {}; in-flight attempts settled {settled_in:?} after the load stopped; total {:?}",
        acked.len(),
        report.join("; "),
        t0.elapsed()
    );
    drop(server);
}

/// `dealerpay demo --json` with this test's secret.
async fn demo_with_key(db: &str) -> Value {
    let (code, out, err) = run_dealerpay(&["demo", "--json", "--database", db]).await;
    assert_eq!(code, 0, "demo: {out}{err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("demo --json: {e}:\n{out}"))
}
