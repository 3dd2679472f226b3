//! What an adversarial probe found (issue "Hardening"), each row a test: an unknown-username
//! flood starves nobody, usernames cannot be told apart by the answer or its cost, failed
//! sign-ins are throttled per address and per username (in the database), and an
//! Idempotency-Key replays only to the same live caller, whatever credential it now uses.

mod common;
use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

fn card() -> Value {
    json!({"card": {"number": "4242424242424242", "expMonth": 12, "expYear": 2031, "cvv": "123", "zip": "94107", "holderName": "Jo Rivera"}})
}

/// A partner paid for `s`'s invoice; returns the charge's transaction uuid.
async fn charge(app: &TestApp, p: &Partner, s: &Seed, amount: f64) -> String {
    let body = json!({"dealerUuid": s.dealer, "customerUuid": s.customer, "dealerOrderUuid": s.order,
        "invoiceGUID": s.invoice, "amount": amount, "ignorePaymentAttemptValidation": true});
    let (st, b) = TestApp::send(
        p.auth(app.req(Method::POST, "/payment/kpayment/v1/prepayment"))
            .json(&body),
    )
    .await;
    assert_eq!(st, 200, "{b}");
    let a = b["paymentAttempt"]["uuid"].as_str().unwrap().to_string();
    let path = format!("/payment/kpayment/v1/paymentattempts/{a}/confirm");
    let (st, b) = TestApp::send(p.auth(app.req(Method::POST, &path)).json(&card())).await;
    assert_eq!(st, 200, "{b}");
    b["paymentAttempt"]["transaction"]["uuid"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn refunds_of(app: &TestApp, transaction: &str) -> i64 {
    scalar(
        app.db(),
        format!(
            "SELECT COUNT(*) FROM transactions WHERE parent_id = \
             (SELECT id FROM transactions WHERE uuid = '{transaction}')"
        ),
        vec![],
    )
    .await
}

fn random_name() -> String {
    format!("nobody{}", &uuid::Uuid::new_v4().simple().to_string()[..10])
}

/// Peak resident memory of this process (the server runs in it), in MiB.
fn peak_rss_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb / 1024)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_unknown_username_flood_starves_nobody() {
    let app = TestApp::spawn().await;
    let s = app.seed(500.0).await;
    let p = app.partner(&[(&s.dealer, None, "payment.all")]).await;
    let (st, pr) = app.payment_request(&s, json!({"amount": 10.0})).await;
    assert_eq!(st, 201, "{pr}");
    let guid = pr["paymentRequest"]["guid"].as_str().unwrap().to_string();
    let documented = format!("/payment/kpayment/v1/paymentrequest/{guid}");
    let ours = format!(
        "/payment/kpayment/v1/paymentattempts/{}",
        uuid::Uuid::new_v4()
    );
    // The legitimate partner has signed in once (its secret is verified and remembered).
    let (st, b) = TestApp::send(p.auth(app.req(Method::GET, &documented))).await;
    assert_eq!(st, 200, "{b}");

    let flood_until = Instant::now() + Duration::from_secs(6);
    let mut flood = Vec::new();
    for i in 0..300 {
        let rb = app
            .req(Method::GET, if i % 2 == 0 { &documented } else { &ours })
            .basic_auth(random_name(), Some("guess"));
        flood.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            while Instant::now() < flood_until {
                let r = rb.try_clone().unwrap().send().await.expect("answered");
                seen.push(r.status().as_u16());
            }
            seen
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut legit = Vec::new();
    for _ in 0..8 {
        let rb = p.auth(app.req(Method::GET, &documented));
        legit.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            while Instant::now() < flood_until {
                let t0 = Instant::now();
                let r = rb.try_clone().unwrap().send().await.expect("answered");
                seen.push((r.status().as_u16(), t0.elapsed()));
            }
            seen
        }));
    }
    let mut flood_statuses = std::collections::BTreeMap::<u16, u64>::new();
    for t in flood {
        for st in t.await.unwrap() {
            *flood_statuses.entry(st).or_default() += 1;
        }
    }
    let mut latencies = Vec::new();
    for t in legit {
        for (st, d) in t.await.unwrap() {
            assert_eq!(st, 200, "a legitimate request was refused during the flood");
            latencies.push(d);
        }
    }
    latencies.sort();
    let p99 = latencies[(latencies.len() * 99 / 100).min(latencies.len() - 1)];
    eprintln!(
        "flood answers {flood_statuses:?}; legitimate: {} requests, p99 {p99:?}; peak RSS {} MiB; argon2 runs {}",
        latencies.len(),
        peak_rss_mib(),
        app.state.engine.credentials.verifications()
    );
    assert!(
        flood_statuses.keys().all(|s| [401, 429].contains(s)),
        "the flood gets only 401 or 429, never a 5xx: {flood_statuses:?}"
    );
    assert!(
        flood_statuses.get(&429).copied().unwrap_or(0) > 0,
        "the address is throttled: {flood_statuses:?}"
    );
    // A debug build sharing two cores with the suite: this asserts that legitimate callers
    // keep being served (before the fix none was answered within 8 s); the latency target
    // itself (p99 <= 100 ms, release build) is the benchmark's `authflood` scenario.
    assert!(latencies.len() >= 100, "legitimate callers were served");
    assert!(
        p99 < Duration::from_secs(2),
        "legitimate p99 {p99:?} under the flood"
    );
    assert!(peak_rss_mib() < 1024, "RSS stays bounded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_and_known_usernames_answer_the_same_at_the_same_cost() {
    let app = TestApp::spawn().await;
    let s = app.seed(50.0).await;
    let p = app.partner(&[(&s.dealer, None, "payment.all")]).await;
    let path = format!(
        "/payment/v3/department/{}/status?invoiceId={}",
        s.department, s.invoice
    );
    // Signed in once: the right secret is remembered, which must not make wrong ones cheap.
    let (st, b) = TestApp::send(p.auth(app.req(Method::GET, &path))).await;
    assert_eq!(st, 200, "{b}");
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    let mut bodies = std::collections::BTreeSet::new();
    for _ in 0..5 {
        for is_known in [true, false] {
            let name = if is_known {
                p.username.clone()
            } else {
                random_name()
            };
            let t0 = Instant::now();
            let r = app
                .req(Method::GET, &path)
                .basic_auth(name, Some("not-the-secret"))
                .send()
                .await
                .unwrap();
            let d = t0.elapsed();
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
            bodies.insert(r.text().await.unwrap());
            if is_known { &mut known } else { &mut unknown }.push(d);
        }
    }
    assert_eq!(bodies.len(), 1, "one answer for both: {bodies:?}");
    known.sort();
    unknown.sort();
    let (k, u) = (known[2].as_secs_f64(), unknown[2].as_secs_f64());
    eprintln!("median wrong secret: known username {k:.4} s, unknown {u:.4} s");
    assert!(
        k / u > 0.5 && k / u < 2.0,
        "known {k:.4} s vs unknown {u:.4} s: the cost tells usernames apart"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_sign_ins_are_throttled_per_username_and_per_address() {
    let app = TestApp::spawn_with(|c| {
        c.auth_throttle = engine::throttle::AuthThrottle {
            window: Duration::from_secs(120),
            per_address: 8,
            per_username: 3,
            refusal_delay: Duration::from_millis(50),
        }
    })
    .await;
    let s = app.seed(50.0).await;
    let remembered = app.partner(&[(&s.dealer, None, "payment.all")]).await;
    let target = app.partner(&[(&s.dealer, None, "payment.all")]).await;
    let late = app.partner(&[(&s.dealer, None, "payment.all")]).await;
    let ours = format!(
        "/payment/kpayment/v1/paymentattempts/{}",
        uuid::Uuid::new_v4()
    );
    let documented = format!(
        "/payment/v3/department/{}/status?invoiceId={}",
        s.department, s.invoice
    );
    let get = |path: &str, user: &str, secret: &str| {
        let rb = app.req(Method::GET, path).basic_auth(user, Some(secret));
        async move {
            let r = rb.send().await.unwrap();
            let retry = r
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_string());
            let st = r.status().as_u16();
            (st, retry, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (st, _, b) = get(&documented, &remembered.username, &remembered.secret).await;
    assert_eq!(st, 200, "{b}");

    // Per username: three wrong secrets, then even the right one is refused for a while.
    for _ in 0..3 {
        let (st, _, _) = get(&ours, &target.username, "wrong").await;
        assert_eq!(st, 401);
    }
    let (st, retry, b) = get(&ours, &target.username, &target.secret).await;
    assert_eq!(st, 429, "{b}");
    let secs: u64 = retry.expect("Retry-After").parse().unwrap();
    assert!((1..=120).contains(&secs), "{secs}");
    v1_error(&b, "WRONG_CREDENTIAL");
    // The documented route keeps its documented status (401), with the same hint.
    let (st, retry, b) = get(&documented, &target.username, &target.secret).await;
    assert_eq!(st, 401, "{b}");
    assert!(retry.is_some());
    assert_eq!(b["error"]["errorCode"], "100003", "{b}");
    let counted = scalar(
        app.db(),
        format!(
            "SELECT failures FROM auth_failures WHERE bucket = 'user:{}'",
            target.username
        ),
        vec![],
    )
    .await;
    assert_eq!(counted, 3, "the counters live in the database");

    // Per address: unknown usernames from this address use up its allowance (8 with the 3
    // above), after which a first sign-in from here waits too.
    for _ in 0..5 {
        let (st, _, _) = get(&ours, &random_name(), "guess").await;
        assert_eq!(st, 401);
    }
    let (st, _, b) = get(&ours, &random_name(), "guess").await;
    assert_eq!(st, 429, "{b}");
    let (st, _, b) = get(&ours, &late.username, &late.secret).await;
    assert_eq!(st, 429, "{b}");
    // A caller whose secret already passed is not slowed by someone else's guessing.
    let (st, _, b) = get(&documented, &remembered.username, &remembered.secret).await;
    assert_eq!(st, 200, "{b}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_partner_gets_its_auth_error_not_the_stored_answer() {
    let app = TestApp::spawn().await;
    let s = app.seed(200.0).await;
    let p = app.partner(&[(&s.dealer, None, "payment.all")]).await;
    let t = charge(&app, &p, &s, 100.0).await;
    let refund = || {
        p.auth(app.req(
            Method::POST,
            &format!("/payment/kpayment/v1/transactions/{t}/refund"),
        ))
        .header("Idempotency-Key", "refund-1")
        .json(&json!({"amount": 5.0}))
    };
    let (st, b) = TestApp::send(refund()).await;
    assert_eq!(st, 200, "{b}");
    let r = refund().send().await.unwrap();
    assert_eq!(r.headers()["idempotent-replayed"], "true");

    let (st, b) = TestApp::send(app.op(
        Method::POST,
        &format!("/payment/admin/v1/partners/{}/disable", p.uuid),
    ))
    .await;
    assert_eq!(st, 200, "{b}");
    let r = refund().send().await.unwrap();
    assert_eq!(r.status().as_u16(), 401);
    assert!(r.headers().get("idempotent-replayed").is_none());
    let b: Value = r.json().await.unwrap();
    v1_error(&b, "ACCESS_FORBIDDEN_INVALID_PARTNER");
    assert!(
        !b.to_string().contains("Jo Rivera"),
        "nothing of the stored answer: {b}"
    );
    assert_eq!(refunds_of(&app, &t).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renewed_dealer_token_finds_its_key_and_moves_money_once() {
    let app = TestApp::spawn().await;
    let s = app.seed(200.0).await;
    let p = app.partner(&[(&s.dealer, None, "payment.all")]).await;
    let t = charge(&app, &p, &s, 100.0).await;
    let app = &app;
    let dealer = s.dealer.clone();
    let mint = |ttl: i64| {
        let body =
            json!({"kind": "dealer", "uuid": dealer, "scopes": ["payment.all"], "ttlSeconds": ttl});
        async move {
            let (st, b) =
                TestApp::send(app.op(Method::POST, "/payment/admin/v1/tokens").json(&body)).await;
            assert_eq!(st, 201, "{b}");
            b["token"]["token"].as_str().unwrap().to_string()
        }
    };
    let first = mint(600).await;
    let renewed = mint(900).await;
    assert_ne!(first, renewed);
    let refund = |token: &str| {
        app.req(
            Method::POST,
            &format!("/payment/kpayment/v1/transactions/{t}/refund"),
        )
        .bearer_auth(token)
        .header("Idempotency-Key", "renewal-retry")
        .json(&json!({"amount": 7.0}))
    };
    let r1 = refund(&first).send().await.unwrap();
    assert_eq!(r1.status().as_u16(), 200);
    let b1 = r1.text().await.unwrap();
    let r2 = refund(&renewed).send().await.unwrap();
    assert_eq!(r2.status().as_u16(), 200);
    assert_eq!(r2.headers()["idempotent-replayed"], "true");
    assert_eq!(r2.text().await.unwrap(), b1);
    assert_eq!(refunds_of(app, &t).await, 1, "one refund, not two");
}

/// A Checkout namespace with an access token: (the namespace's route prefix, token).
async fn merchant(app: &TestApp) -> (String, String) {
    let seed = app.seed(10.0).await;
    let ns = TestApp::new_namespace();
    let token = app.checkout_merchant(&seed, &ns).await;
    (format!("/payment/checkout/v1/namespaces/{ns}"), token)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_namespace_takes_no_payment_on_the_hosted_page() {
    let app = TestApp::spawn().await;
    let (base, token) = merchant(&app).await;
    let session = |reference: &str| {
        app.req(Method::POST, &format!("{base}/sessions"))
            .bearer_auth(&token)
            .json(&json!({"referenceId": reference, "amount": 42.5,
                "successUrl": "https://shop.example/ok", "cancelUrl": "https://shop.example/no"}))
    };
    let (st, open) = TestApp::send(session("before-disable")).await;
    assert_eq!(st, 201, "{open}");
    let id = open["id"].as_str().unwrap().to_string();

    let (st, b) = TestApp::send(app.op(Method::POST, &format!("{base}/disable"))).await;
    assert!(st == 200 || st == 204, "{st} {b}");
    // The hosted page's use-case: the session link is the customer's only credential.
    let e = app
        .state
        .engine
        .pay_hosted_session(
            &id,
            connectors::PaymentMethod::Token("tok_visa".into()),
            None,
        )
        .await
        .expect_err("a disabled namespace takes no payment");
    assert_eq!(e.kind, engine::Kind::Forbidden, "{e}");
    let charges = scalar(
        app.db(),
        "SELECT COUNT(*) FROM transactions".to_string(),
        vec![],
    )
    .await;
    assert_eq!(charges, 0, "nothing reached the processor");
    // And the API refuses the namespace's token as before.
    let (st, _) = TestApp::send(session("after-disable")).await;
    assert_eq!(st, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merchant_urls_are_parsed_and_must_be_https() {
    let app = TestApp::spawn().await;
    let (base, token) = merchant(&app).await;
    let create = |n: usize, url: &str| {
        let body = json!({"referenceId": format!("u-{n}"), "amount": 10.0,
            "successUrl": url, "cancelUrl": "https://shop.example/no"});
        TestApp::send(
            app.req(Method::POST, &format!("{base}/sessions"))
                .bearer_auth(&token)
                .json(&body),
        )
    };
    for (n, bad) in [
        "http://shop.example/ok",
        "http://127.0.0.1:9/ok",
        "https://shop.example/ok#done",
        "https://user:pw@shop.example/ok",
        "//shop.example/ok",
        "javascript:alert(1)",
        "https://",
    ]
    .iter()
    .enumerate()
    {
        let (st, b) = create(n, bad).await;
        assert_eq!(st, 400, "{bad}: {b}");
        assert!(
            b["error"]["detail"]
                .as_str()
                .unwrap_or("")
                .starts_with("successUrl"),
            "{bad}: {b}"
        );
    }
    // Hostile characters are percent-encoded by the parser before anything stores or sends them.
    let (st, b) = create(100, "https://shop.example/done page?next=\"><script>").await;
    assert_eq!(st, 201, "{b}");
    let stored = b["successUrl"].as_str().unwrap();
    assert!(
        !stored.contains(' ') && !stored.contains('"') && !stored.contains('<'),
        "{stored}"
    );
    assert!(
        stored.starts_with("https://shop.example/done%20page?next="),
        "{stored}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_an_api_key_ends_the_tokens_issued_before_it() {
    let app = TestApp::spawn().await;
    let (base, token) = merchant(&app).await;
    let list = |token: String| {
        TestApp::send(
            app.req(Method::GET, &format!("{base}/sessions"))
                .bearer_auth(token),
        )
    };
    let (st, b) = list(token.clone()).await;
    assert_eq!(st, 200, "{b}");
    let key = |label: &'static str| {
        TestApp::send(
            app.op(Method::POST, &format!("{base}/api-keys"))
                .json(&json!({ "label": label })),
        )
    };
    let (st, other) = key("other").await;
    assert_eq!(st, 201, "{other}");
    let (st, b) = TestApp::send(app.op(
        Method::POST,
        &format!("{base}/api-keys/{}/revoke", other["id"].as_str().unwrap()),
    ))
    .await;
    assert!(st == 200 || st == 204, "{st} {b}");
    let (st, b) = list(token).await;
    assert_eq!(
        st, 401,
        "a token issued before the revocation is refused: {b}"
    );
    assert_eq!(b["error"]["name"], "INVALID_ACCESS_TOKEN", "{b}");
    // A token exchanged afterwards works.
    let (st, fresh) = key("fresh").await;
    assert_eq!(st, 201, "{fresh}");
    let (st, b) = TestApp::send(
        app.req(Method::POST, &format!("{base}/token"))
            .json(&json!({"apiKey": fresh["apiKey"]})),
    )
    .await;
    assert_eq!(st, 200, "{b}");
    let (st, b) = list(b["accessToken"].as_str().unwrap().to_string()).await;
    assert_eq!(st, 200, "{b}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_without_credentials_learns_nothing_about_keys() {
    let app = TestApp::spawn().await;
    // An operator's request with a key.
    let (st, b) = TestApp::send(
        app.op(Method::POST, "/payment/admin/v1/partners")
            .header("Idempotency-Key", "shared-key-1")
            .json(&json!({"username": "keyed-partner"})),
    )
    .await;
    assert_eq!(st, 201, "{b}");
    // The same key without credentials, with another body, and a malformed key: 401 each
    // time, never "already used" (which would say someone used it) nor a key-format error.
    for key in ["shared-key-1", "bad key with spaces"] {
        let (st, b) = TestApp::send(
            app.req(Method::POST, "/payment/admin/v1/partners")
                .header("Idempotency-Key", key)
                .json(&json!({"username": "someone-else"})),
        )
        .await;
        assert_eq!(st, 401, "{key}: {b}");
        let (st, b) = TestApp::send(
            app.req(Method::POST, "/payment/kpayment/v1/prepayment")
                .header("Idempotency-Key", key)
                .json(&json!({})),
        )
        .await;
        assert_eq!(st, 401, "{key}: {b}");
    }
}
