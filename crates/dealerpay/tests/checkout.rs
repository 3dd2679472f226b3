//! Checkout: merchant namespaces, API keys and JWT access tokens, merchant users and password
//! resets, and the session lifecycle — each Checkout catalog error from a real condition.

mod common;
use common::*;
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

/// The checkout outbox's unsent messages: (id, kind, recipient, payload).
async fn outbox_pending(app: &TestApp) -> Vec<(i64, String, String, String)> {
    app.db()
        .read(|c| Box::pin(async move { store::repo::checkout::outbox_pending(c, 10).await }))
        .await
        .unwrap()
}

/// The token in the link of the `n`th pending reset message, as the sender renders it.
async fn reset_token(app: &TestApp, n: usize) -> String {
    let messages = app.state.engine.pending_messages(10).await.unwrap();
    let url = messages[n].body["resetUrl"].as_str().unwrap().to_string();
    assert!(url.starts_with(&app.url("/checkout/reset?token=")), "{url}");
    url.split("token=").nth(1).unwrap().to_string()
}

fn co_error(body: &Value, name: &str) -> i64 {
    assert_eq!(body["error"]["name"], name, "expected {name}, got {body}");
    let code = body["error"]["code"].as_i64().unwrap();
    assert!((9_300_000..9_400_000).contains(&code), "{body}");
    code
}

struct Merchant<'a> {
    app: &'a TestApp,
    ns: String,
    seed: Seed,
    key: String,
    key_id: String,
    token: String,
}

impl<'a> Merchant<'a> {
    async fn new(app: &'a TestApp) -> Merchant<'a> {
        let seed = app.seed(10.0).await;
        let ns = TestApp::new_namespace();
        app.checkout_namespace(&seed, &ns, "Test Motors Online")
            .await;
        let (key, key_id) = app.checkout_key(&ns).await;
        let mut m = Merchant {
            app,
            ns,
            seed,
            key,
            key_id,
            token: String::new(),
        };
        let (st, b) = m.exchange(&m.key.clone()).await;
        assert_eq!(st, 200, "{b}");
        assert_eq!(b["tokenType"], "Bearer");
        assert_eq!(b["expiresIn"], json!(900));
        m.token = b["accessToken"].as_str().unwrap().to_string();
        m
    }

    async fn exchange(&self, key: &str) -> (u16, Value) {
        TestApp::send(
            self.app
                .req(
                    Method::POST,
                    &format!("/payment/checkout/v1/namespaces/{}/token", self.ns),
                )
                .json(&json!({"apiKey": key})),
        )
        .await
    }

    fn path(&self, rest: &str) -> String {
        format!("/payment/checkout/v1/namespaces/{}{rest}", self.ns)
    }

    async fn call(&self, method: Method, rest: &str, body: Option<Value>) -> (u16, Value) {
        let mut rb = self
            .app
            .req(method, &self.path(rest))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        TestApp::send(rb).await
    }

    async fn session(&self, reference: &str, extra: Value) -> (u16, Value) {
        let mut body = json!({"referenceId": reference, "amount": 42.5, "successUrl": "https://shop.example/ok", "cancelUrl": "https://shop.example/no"});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        self.call(Method::POST, "/sessions", Some(body)).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_keys_and_access_tokens() {
    let app = TestApp::spawn().await;
    let m = Merchant::new(&app).await;
    let other = Merchant::new(&app).await;

    // API keys.
    let (st, b) = m.exchange("dpk_not-a-key").await;
    assert_eq!(st, 401);
    assert_eq!(co_error(&b, "API_KEY_NOT_FOUND"), 9_300_400);
    let (st, b) = m.exchange(&other.key).await;
    assert_eq!(st, 403);
    co_error(&b, "INVALID_NAMESPACE");
    let (st, b) = m.exchange("").await;
    assert_eq!(st, 400);
    co_error(&b, "VALIDATION_ERROR");

    // Bearer tokens on a merchant route.
    let sessions = m.path("/sessions");
    let (st, b) = TestApp::send(app.req(Method::GET, &sessions)).await;
    assert_eq!(st, 401);
    assert_eq!(co_error(&b, "ACCESS_TOKEN_REQUIRED"), 9_300_011);
    let (st, b) = TestApp::send(app.req(Method::GET, &sessions).bearer_auth("not.a-jwt")).await;
    assert_eq!(st, 401);
    co_error(&b, "INVALID_JWT_TOKEN");
    let parts: Vec<&str> = m.token.split('.').collect();
    let forged_claims = base64_url(&json!({"iss": "dealerpay", "sub": "key:1", "ns": m.ns, "iat": 0, "exp": 9_999_999_999i64, "jti": "x"}).to_string());
    let forged = format!("{}.{}.{}", parts[0], forged_claims, parts[2]);
    let (st, b) = TestApp::send(app.req(Method::GET, &sessions).bearer_auth(&forged)).await;
    assert_eq!(st, 401);
    co_error(&b, "INVALID_ACCESS_TOKEN");
    let expired = app
        .state
        .engine
        .mint_access_token(&m.ns, "key:1", now_s() - 3600);
    let (st, b) = TestApp::send(app.req(Method::GET, &sessions).bearer_auth(&expired)).await;
    assert_eq!(st, 401);
    co_error(&b, "JWT_TOKEN_EXPIRED");
    let (st, b) = TestApp::send(app.req(Method::GET, &sessions).bearer_auth(&other.token)).await;
    assert_eq!(st, 403);
    assert_eq!(co_error(&b, "INVALID_NAMESPACE"), 9_300_015);
    assert_eq!(m.call(Method::GET, "/sessions", None).await.0, 200);

    // Revoked keys cannot be exchanged; a disabled namespace's tokens stop working.
    let path = format!(
        "/payment/checkout/v1/namespaces/{}/api-keys/{}/revoke",
        m.ns, m.key_id
    );
    assert_eq!(TestApp::send(app.op(Method::POST, &path)).await.0, 204);
    let (st, b) = m.exchange(&m.key).await;
    assert_eq!(st, 401);
    co_error(&b, "API_KEY_NOT_FOUND");
    let (st, b) = TestApp::send(app.op(Method::POST, &path)).await;
    assert_eq!(st, 404);
    co_error(&b, "API_KEY_NOT_FOUND");
    assert_eq!(
        TestApp::send(app.op(
            Method::POST,
            &format!("/payment/checkout/v1/namespaces/{}/disable", m.ns)
        ))
        .await
        .0,
        204
    );
    let (st, b) = m.call(Method::GET, "/sessions", None).await;
    assert_eq!(st, 401);
    assert_eq!(co_error(&b, "UNAUTHORIZED"), 9_300_003);

    // Only operators set merchants up.
    let (st, b) = TestApp::send(
        app.req(Method::POST, "/payment/checkout/v1/namespaces")
            .bearer_auth(&other.token)
            .json(&json!({})),
    )
    .await;
    assert_eq!(st, 401);
    co_error(&b, "UNAUTHORIZED");
}

fn base64_url(s: &str) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let b = s.as_bytes();
    let mut out = String::new();
    for chunk in b.chunks(3) {
        let n = (chunk[0] as u32) << 16
            | (*chunk.get(1).unwrap_or(&0) as u32) << 8
            | *chunk.get(2).unwrap_or(&0) as u32;
        for i in 0..=chunk.len() {
            out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

fn now_s() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merchant_users_and_password_resets() {
    let app = &TestApp::spawn().await;
    let m = Merchant::new(app).await;
    let (st, b) = m
        .call(
            Method::POST,
            "/users",
            Some(json!({"email": "Ops@Shop.example", "password": "correct horse battery"})),
        )
        .await;
    assert_eq!(st, 201, "{b}");
    assert_eq!(b["email"], "ops@shop.example");
    let (st, b) = m
        .call(
            Method::POST,
            "/users",
            Some(json!({"email": "ops@shop.example", "password": "correct horse battery"})),
        )
        .await;
    assert_eq!(st, 409);
    co_error(&b, "VALIDATION_ERROR");
    let (st, b) = m
        .call(
            Method::POST,
            "/users",
            Some(json!({"email": "x@shop.example", "password": "short"})),
        )
        .await;
    assert_eq!(st, 400);
    assert_eq!(co_error(&b, "VALIDATION_ERROR"), 9_300_004);
    assert!(b["error"]["detail"]
        .as_str()
        .unwrap()
        .starts_with("password"));

    let login = |pw: &'static str| {
        let path = m.path("/users/login");
        async move {
            TestApp::send(
                app.req(Method::POST, &path)
                    .json(&json!({"email": "ops@shop.example", "password": pw})),
            )
            .await
        }
    };
    let (st, b) = login("correct horse battery").await;
    assert_eq!(st, 200, "{b}");
    let user_token = b["accessToken"].as_str().unwrap().to_string();
    assert_eq!(
        TestApp::send(
            app.req(Method::GET, &m.path("/sessions"))
                .bearer_auth(&user_token)
        )
        .await
        .0,
        200
    );
    let (st, b) = login("wrong horse battery").await;
    assert_eq!(st, 401);
    co_error(&b, "UNAUTHORIZED");

    // A reset for a registered address goes to the outbox; an unknown one answers the same.
    let reset = |email: &'static str| {
        let path = m.path("/password-resets");
        async move {
            TestApp::send(app.req(Method::POST, &path).json(&json!({"email": email})))
                .await
                .0
        }
    };
    assert_eq!(reset("ops@shop.example").await, 202);
    assert_eq!(reset("nobody@shop.example").await, 202);
    let outbox = outbox_pending(app).await;
    assert_eq!(
        outbox.len(),
        1,
        "only the registered address gets a message"
    );
    assert_eq!(outbox[0].2, "ops@shop.example");
    // The message as the sender sends it: the link rebuilt with the server's key.
    let token = reset_token(app, 0).await;
    assert!(token.starts_with("rst_") && token.len() > 40, "{token}");
    let stored: i64 = scalar(
        app.db(),
        format!(
            "SELECT COUNT(*) FROM checkout_password_resets WHERE token_hash = '{token}' \
             OR token_hash LIKE '%{token}%'"
        ),
        vec![],
    )
    .await;
    assert_eq!(stored, 0, "only a hash of the token is stored");
    assert!(
        !outbox[0].3.contains(&token) && !outbox[0].3.contains("rst_"),
        "the outbox keeps no bearer secret: {}",
        outbox[0].3
    );
    let confirm = |t: String| async move {
        TestApp::send(
            app.req(Method::POST, "/payment/checkout/v1/password-resets/confirm")
                .json(&json!({"token": t, "newPassword": "a brand new passphrase"})),
        )
        .await
    };
    let (st, b) = confirm(token.clone()).await;
    assert_eq!(st, 204, "{b}");
    assert_eq!(login("a brand new passphrase").await.0, 200);
    // The reset ended the access tokens issued before it.
    let (st, b) = TestApp::send(
        app.req(Method::GET, &m.path("/sessions"))
            .bearer_auth(&user_token),
    )
    .await;
    assert_eq!(st, 401, "a token from before the reset: {b}");
    co_error(&b, "INVALID_ACCESS_TOKEN");
    assert_eq!(login("correct horse battery").await.0, 401);
    for t in [token, "rst_nope".to_string()] {
        let (st, b) = confirm(t).await;
        assert_eq!(st, 400);
        assert_eq!(co_error(&b, "INVALID_RESET_PASSWORD_TOKEN"), 9_300_014);
    }
    // An expired token.
    assert_eq!(reset("ops@shop.example").await, 202);
    let token = reset_token(app, 1).await;
    app.sql("UPDATE checkout_password_resets SET expires_at = 1 WHERE used_at IS NULL")
        .await;
    let (st, b) = confirm(token).await;
    assert_eq!(st, 400);
    co_error(&b, "INVALID_RESET_PASSWORD_TOKEN");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_creation_rules() {
    let app = TestApp::spawn().await;
    let m = Merchant::new(&app).await;
    let stranger = app.seed(1.0).await;
    let (st, s) = m.session("order-1", json!({"customer": {"customerUuid": m.seed.customer}, "captureMethod": "manual", "paymentMethods": ["card", "pin_debit"]})).await;
    assert_eq!(st, 201, "{s}");
    let id = s["id"].as_str().unwrap();
    assert!(id.starts_with("cs_") && id.len() == 35);
    assert_eq!(s["status"], "open");
    assert_eq!(s["amount"], json!(42.5));
    assert_eq!(s["captureMethod"], "manual");
    assert_eq!(s["customerUuid"], json!(m.seed.customer));
    assert_eq!(s["url"], json!(format!("{}/checkout/{id}", app.base)));
    let expires = s["expiresAt"].as_str().unwrap();
    let created = s["createdAt"].as_str().unwrap();
    assert!(expires > created);

    let (st, b) = m.session("order-1", json!({})).await;
    assert_eq!(st, 409);
    assert_eq!(co_error(&b, "REFERENCE_ID_EXISTED"), 9_300_101);
    for customer in [
        stranger.customer.clone(),
        uuid::Uuid::new_v4().to_string(),
        "nope".into(),
    ] {
        let (st, b) = m
            .session("order-2", json!({"customer": {"customerUuid": customer}}))
            .await;
        assert_eq!(st, 400);
        assert_eq!(co_error(&b, "INVALID_CUSTOMER"), 9_300_300);
    }
    let (st, b) = m.session("order-2", json!({"processor": "ADYEN"})).await;
    assert_eq!(st, 400);
    assert_eq!(co_error(&b, "INVALID_PAYMENT_PROCESSOR"), 9_300_402);
    for (extra, field) in [
        (json!({"expiresInSeconds": 60}), "expiresInSeconds"),
        (json!({"expiresInSeconds": 90000}), "expiresInSeconds"),
        (json!({"amount": null}), "amount"),
        (json!({"amount": 0}), "amount"),
        (json!({"amount": 1.001}), "amount"),
        (json!({"captureMethod": "later"}), "captureMethod"),
        (json!({"paymentMethods": ["cash"]}), "paymentMethods"),
        (json!({"currency": "EUR"}), "currency"),
        (json!({"successUrl": "javascript:alert(1)"}), "successUrl"),
        (json!({"referenceId": ""}), "referenceId"),
    ] {
        let (st, b) = m.session("order-3", extra.clone()).await;
        assert_eq!(st, 400, "{extra}");
        co_error(&b, "VALIDATION_ERROR");
        assert!(
            b["error"]["detail"].as_str().unwrap().starts_with(field),
            "{extra} → {b}"
        );
    }
    // The same reference in another namespace is fine.
    let other = Merchant::new(&app).await;
    assert_eq!(other.session("order-1", json!({})).await.0, 201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_lifecycle_and_listing() {
    let app = TestApp::spawn_with(|c| c.resolver_interval = Duration::from_millis(200)).await;
    let m = Merchant::new(&app).await;
    let other = Merchant::new(&app).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let (st, s) = m.session(&format!("ref-{i}"), json!({})).await;
        assert_eq!(st, 201);
        ids.push(s["id"].as_str().unwrap().to_string());
    }
    // Cursor pagination.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let q = match &cursor {
            Some(c) => format!("/sessions?limit=2&startingAfter={c}"),
            None => "/sessions?limit=2".into(),
        };
        let (st, page) = m.call(Method::GET, &q, None).await;
        assert_eq!(st, 200, "{page}");
        for s in page["data"].as_array().unwrap() {
            seen.push(s["id"].as_str().unwrap().to_string());
        }
        if page["hasMore"] != json!(true) {
            assert!(page["nextCursor"].is_null());
            break;
        }
        cursor = page["nextCursor"].as_str().map(str::to_string);
    }
    assert_eq!(seen, ids);
    let (st, b) = m.call(Method::GET, "/sessions?limit=500", None).await;
    assert_eq!(st, 400);
    co_error(&b, "VALIDATION_ERROR");

    // Lookups.
    let (st, b) = m.call(Method::GET, "/sessions/not-a-session", None).await;
    assert_eq!(st, 400);
    assert_eq!(co_error(&b, "INVALID_SESSION"), 9_300_109);
    let (st, b) = m
        .call(
            Method::GET,
            &format!("/sessions/cs_{}", uuid::Uuid::new_v4().simple()),
            None,
        )
        .await;
    assert_eq!(st, 404);
    assert_eq!(co_error(&b, "SESSION_NOT_FOUND"), 9_300_100);
    let (st, b) = other
        .call(Method::GET, &format!("/sessions/{}", ids[0]), None)
        .await;
    assert_eq!(
        st, 404,
        "another merchant's session does not exist for them"
    );
    co_error(&b, "SESSION_NOT_FOUND");

    // Cancel, expire, and the terminal states.
    let (st, s) = m
        .call(Method::POST, &format!("/sessions/{}/cancel", ids[0]), None)
        .await;
    assert_eq!((st, s["status"].clone()), (200, json!("cancelled")));
    for action in ["cancel", "expire"] {
        let (st, b) = m
            .call(
                Method::POST,
                &format!("/sessions/{}/{action}", ids[0]),
                None,
            )
            .await;
        assert_eq!(st, 409);
        assert_eq!(co_error(&b, "SESSION_ALREADY_CANCELLED"), 9_300_106);
    }
    let (st, s) = m
        .call(Method::POST, &format!("/sessions/{}/expire", ids[1]), None)
        .await;
    assert_eq!((st, s["status"].clone()), (200, json!("expired")));
    let (st, b) = m
        .call(Method::POST, &format!("/sessions/{}/cancel", ids[1]), None)
        .await;
    assert_eq!(st, 409);
    assert_eq!(co_error(&b, "SESSION_ALREADY_EXPIRED"), 9_300_105);
    // A session whose payment is being processed cannot be cancelled.
    app.sql(&format!(
        "UPDATE checkout_sessions SET status = 'processing' WHERE uuid = '{}'",
        ids[2]
    ))
    .await;
    let (st, b) = m
        .call(Method::POST, &format!("/sessions/{}/cancel", ids[2]), None)
        .await;
    assert_eq!(st, 409);
    assert_eq!(co_error(&b, "SESSION_COULD_NOT_CANCEL"), 9_300_115);

    // The expiry job expires sessions past their time without anyone asking, once: the
    // session's row is updated exactly once (its version moves by one), read straight from
    // the database (a GET would expire it itself).
    let before = session_row(&app, &ids[3]).await;
    assert_eq!(before.0, "open");
    app.sql(&format!(
        "UPDATE checkout_sessions SET expires_at = 1 WHERE uuid = '{}'",
        ids[3]
    ))
    .await;
    let mut now = before.clone();
    for _ in 0..50 {
        now = session_row(&app, &ids[3]).await;
        if now.0 == "expired" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        now,
        ("expired".to_string(), before.1 + 1),
        "expired by the job"
    );
    // Later passes of the job leave it alone.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        session_row(&app, &ids[3]).await,
        ("expired".to_string(), before.1 + 1),
        "expired again by a later pass"
    );
}

/// A session's (status, version), read from the database without the lazy expiry a GET does.
async fn session_row(app: &TestApp, uuid: &str) -> (String, i64) {
    row(
        app.db(),
        "SELECT status, version FROM checkout_sessions WHERE uuid = $1",
        vec![uuid.into()],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_expiry_runners_expire_each_session_exactly_once() {
    // No background pass while the runners race (the first one runs at start, when nothing
    // is due): the runners below are the only ones that can expire anything.
    let app = TestApp::spawn_with(|c| c.resolver_interval = Duration::from_secs(3600)).await;
    let m = Merchant::new(&app).await;
    let mut ids = Vec::new();
    for i in 0..6 {
        let (st, s) = m.session(&format!("due-{i}"), json!({})).await;
        assert_eq!(st, 201, "{s}");
        ids.push(s["id"].as_str().unwrap().to_string());
    }
    let due = &ids[..4];
    let mut before = Vec::new();
    for id in &ids {
        let r = session_row(&app, id).await;
        assert_eq!(r.0, "open");
        before.push(r.1);
    }
    for id in due {
        app.sql(&format!(
            "UPDATE checkout_sessions SET expires_at = 1 WHERE uuid = '{id}'"
        ))
        .await;
    }
    // Eight runners released at once.
    let runners = 8;
    let gate = std::sync::Arc::new(tokio::sync::Barrier::new(runners));
    let runs: Vec<_> = (0..runners)
        .map(|_| {
            let (engine, gate) = (app.state.engine.clone(), gate.clone());
            tokio::spawn(async move {
                gate.wait().await;
                engine.expire_sessions().await.unwrap()
            })
        })
        .collect();
    let mut total = 0;
    for r in runs {
        total += r.await.unwrap();
    }
    assert_eq!(
        total,
        due.len() as u64,
        "sessions expired, summed over the runners"
    );
    for (i, id) in ids.iter().enumerate() {
        let want = if due.contains(id) {
            ("expired".to_string(), before[i] + 1)
        } else {
            ("open".to_string(), before[i])
        };
        assert_eq!(session_row(&app, id).await, want, "session {id}");
    }
    // Nothing left to expire: another round changes nothing.
    assert_eq!(app.state.engine.expire_sessions().await.unwrap(), 0);
    for (i, id) in ids.iter().enumerate() {
        let v = session_row(&app, id).await.1;
        let want = before[i] + i64::from(due.contains(id));
        assert_eq!(v, want, "session {id} updated again");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_outages_answer_with_checkout_errors() {
    let app = TestApp::spawn().await;
    let m = Merchant::new(&app).await;
    app.db().close().await;
    let (st, b) = m.call(Method::GET, "/sessions", None).await;
    assert_eq!(st, 503);
    assert_eq!(co_error(&b, "AUTHORIZATION_ERROR"), 9_300_002);
    let r = app
        .req(Method::POST, &m.path("/token"))
        .json(&json!({"apiKey": m.key}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 503);
    assert!(r.headers().get("retry-after").is_some());
    let b: Value = r.json().await.unwrap();
    assert_eq!(co_error(&b, "SERVICE_UNAVAILABLE"), 9_300_005);
}

fn visa() -> Value {
    json!({"number": "4242424242424242", "expMonth": 12, "expYear": 2031, "cvv": "123", "zip": "94107"})
}

async fn pay(m: &Merchant<'_>, session: &str, body: Value) -> (u16, Value) {
    m.call(
        Method::POST,
        &format!("/sessions/{session}/payment-intents"),
        Some(body),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paying_a_session() {
    let app = TestApp::spawn().await;
    let m = Merchant::new(&app).await;
    let (_, s) = m
        .session("pay-1", json!({"paymentMethods": ["card", "pin_debit"]}))
        .await;
    let id = s["id"].as_str().unwrap().to_string();

    let (st, b) = pay(&m, &id, json!({"amount": 40.0, "card": visa()})).await;
    assert_eq!(st, 400);
    assert_eq!(co_error(&b, "MISMATCH_PAYMENT_AMOUNT"), 9_300_110);
    let (st, b) = pay(
        &m,
        &id,
        json!({"amount": 42.5, "paymentMethod": "pin_debit", "token": "tok_visa_debit"}),
    )
    .await;
    assert_eq!(st, 400);
    assert_eq!(co_error(&b, "MISSING_PIN_TOKEN"), 9_300_114);
    let (st, b) = pay(&m, &id, json!({"amount": 42.5, "card": {"number": "4242424242424241", "expMonth": 1, "expYear": 2030}})).await;
    assert_eq!(st, 400, "invalid card numbers never reach the processor");
    co_error(&b, "VALIDATION_ERROR");
    assert!(!b.to_string().contains("424242424242424"));

    let (st, i) = pay(&m, &id, json!({"amount": 42.5, "card": visa()})).await;
    assert_eq!(st, 201, "{i}");
    assert_eq!(i["status"], "succeeded");
    assert!(i["id"].as_str().unwrap().starts_with("pi_"));
    let (_, s) = m.call(Method::GET, &format!("/sessions/{id}"), None).await;
    assert_eq!(s["status"], "succeeded");
    assert_eq!(s["amountCaptured"], json!(42.5));
    // The charge is an ordinary PaymentAttempt underneath: reconcilable, visible on the v1 routes.
    let (st, a) = TestApp::send(app.op(
        Method::GET,
        &format!(
            "/payment/kpayment/v1/paymentattempts/{}",
            i["paymentAttemptUuid"].as_str().unwrap()
        ),
    ))
    .await;
    assert_eq!(st, 200);
    assert_eq!(a["paymentAttempt"]["transaction"]["status"], "APPROVED");

    let (st, b) = pay(&m, &id, json!({"amount": 42.5, "card": visa()})).await;
    assert_eq!(st, 409);
    assert_eq!(co_error(&b, "SESSION_PAYMENT_ALREADY_COMPLETED"), 9_300_103);
    let (st, b) = m
        .call(Method::POST, &format!("/sessions/{id}/cancel"), None)
        .await;
    assert_eq!(st, 409);
    assert_eq!(co_error(&b, "SESSION_ALREADY_SUCCEEDED"), 9_300_104);
    let (st, i2) = m
        .call(
            Method::GET,
            &format!(
                "/sessions/{id}/payment-intents/{}",
                i["id"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!((st, i2["status"].clone()), (200, json!("succeeded")));

    // PIN debit with a PIN token.
    let (_, s) = m
        .session("pay-2", json!({"paymentMethods": ["pin_debit"]}))
        .await;
    let (st, i) = pay(&m, s["id"].as_str().unwrap(), json!({"amount": 42.5, "paymentMethod": "pin_debit", "token": "tok_visa_debit", "pinToken": "pin_7f3a9c2e"})).await;
    assert_eq!((st, i["status"].clone()), (201, json!("succeeded")));

    // A decline fails the session for good.
    let (_, s) = m.session("pay-3", json!({})).await;
    let sid = s["id"].as_str().unwrap().to_string();
    let (st, i) = pay(
        &m,
        &sid,
        json!({"amount": 42.5, "token": "tok_chargeDeclined"}),
    )
    .await;
    assert_eq!(st, 201);
    assert_eq!(
        (i["status"].clone(), i["failureReason"].clone()),
        (json!("failed"), json!("generic_decline"))
    );
    let (st, b) = pay(&m, &sid, json!({"amount": 42.5, "card": visa()})).await;
    assert_eq!(st, 409);
    assert_eq!(co_error(&b, "SESSION_ALREADY_FAILED"), 9_300_107);

    // A processor failure.
    let (_, s) = m.session("pay-4", json!({})).await;
    let (st, b) = pay(&m, s["id"].as_str().unwrap(), json!({"amount": 42.5, "card": {"number": "4000000000000119", "expMonth": 12, "expYear": 2031, "cvv": "123"}})).await;
    assert_eq!(st, 502);
    assert_eq!(co_error(&b, "EXTERNAL_SERVER_ERROR"), 9_300_007);

    let r = app.state.engine.reconcile().await.unwrap();
    assert!(r.differences.is_empty(), "{:?}", r.differences);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_d_secure_on_a_session() {
    let app = TestApp::spawn().await;
    let m = Merchant::new(&app).await;
    let (_, s) = m.session("tds-1", json!({})).await;
    let id = s["id"].as_str().unwrap().to_string();
    let (st, i) = pay(
        &m,
        &id,
        json!({"amount": 42.5, "token": "tok_threeDSecureRequired"}),
    )
    .await;
    assert_eq!(st, 201, "{i}");
    assert_eq!(i["status"], "requires_action");
    let url = i["nextActionUrl"].as_str().unwrap().to_string();
    let (st, b) = pay(&m, &id, json!({"amount": 42.5, "card": visa()})).await;
    assert_eq!(st, 409);
    assert_eq!(co_error(&b, "PAYMENT_INTENT_EXISTED"), 9_300_108);
    let (st, b) = m
        .call(Method::POST, &format!("/sessions/{id}/cancel"), None)
        .await;
    assert_eq!(st, 409);
    co_error(&b, "SESSION_COULD_NOT_CANCEL");
    let r = app
        .client
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("result=pass")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let (st, done) = m
        .call(
            Method::POST,
            &format!(
                "/sessions/{id}/payment-intents/{}/complete",
                i["id"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(st, 200, "{done}");
    assert_eq!(done["status"], "succeeded");
    let (_, s) = m.call(Method::GET, &format!("/sessions/{id}"), None).await;
    assert_eq!(s["status"], "succeeded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_pays_make_one_intent_and_one_charge() {
    let app = TestApp::spawn().await;
    let m = Merchant::new(&app).await;
    let (_, s) = m.session("race-1", json!({})).await;
    let id = s["id"].as_str().unwrap().to_string();
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let rb = app
            .req(
                Method::POST,
                &m.path(&format!("/sessions/{id}/payment-intents")),
            )
            .bearer_auth(&m.token)
            .json(&json!({"amount": 42.5, "card": visa()}));
        tasks.push(tokio::spawn(async move { TestApp::send(rb).await }));
    }
    let mut succeeded = 0;
    for t in tasks {
        let (st, b) = t.await.unwrap();
        match st {
            201 => {
                assert_eq!(b["status"], "succeeded");
                succeeded += 1;
            }
            409 => assert!(
                [
                    "PAYMENT_INTENT_EXISTED",
                    "SESSION_PAYMENT_ALREADY_COMPLETED"
                ]
                .contains(&b["error"]["name"].as_str().unwrap()),
                "{b}"
            ),
            other => panic!("{other}: {b}"),
        }
    }
    assert_eq!(succeeded, 1);
    let intents: i64 = scalar(
        app.db(),
        "SELECT COUNT(*) FROM checkout_payment_intents",
        vec![],
    )
    .await;
    assert_eq!(intents, 1);
    let ledger = app.processor().ledger().await.unwrap();
    assert_eq!(ledger.iter().filter(|e| e.status == "approved").count(), 1);
}

async fn capture(m: &Merchant<'_>, session: &str, body: Value) -> (u16, Value) {
    m.call(
        Method::POST,
        &format!("/sessions/{session}/capture"),
        Some(body),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_capture_full_partial_and_cancel() {
    let app = TestApp::spawn().await;
    let m = Merchant::new(&app).await;
    // Nothing to capture yet.
    let (_, open) = m.session("cap-0", json!({"captureMethod": "manual"})).await;
    let (st, b) = capture(&m, open["id"].as_str().unwrap(), json!({})).await;
    assert_eq!(st, 409);
    assert_eq!(co_error(&b, "SESSION_COULD_NOT_CAPTURE"), 9_300_112);

    // Partial capture.
    let (_, s) = m.session("cap-1", json!({"captureMethod": "manual"})).await;
    let id = s["id"].as_str().unwrap().to_string();
    let (st, i) = pay(&m, &id, json!({"amount": 42.5, "token": "tok_visa"})).await;
    assert_eq!(st, 201, "{i}");
    assert_eq!(i["status"], "requires_capture");
    let (_, s) = m.call(Method::GET, &format!("/sessions/{id}"), None).await;
    assert_eq!(
        (
            s["status"].clone(),
            s["amountAuthorized"].clone(),
            s["amountCaptured"].clone()
        ),
        (json!("requires_capture"), json!(42.5), json!(0.0))
    );
    let (st, b) = capture(&m, &id, json!({"amount": 50.0})).await;
    assert_eq!(st, 400);
    assert_eq!(co_error(&b, "INVALID_CAPTURE_AMOUNT"), 9_300_113);
    let (st, s) = capture(&m, &id, json!({"amount": 30.0})).await;
    assert_eq!(st, 200, "{s}");
    assert_eq!(
        (
            s["status"].clone(),
            s["amountCaptured"].clone(),
            s["amountAuthorized"].clone()
        ),
        (json!("succeeded"), json!(30.0), json!(42.5))
    );
    let (st, b) = capture(&m, &id, json!({})).await;
    assert_eq!(st, 409);
    assert_eq!(co_error(&b, "SESSION_ALREADY_COMPLETED"), 9_300_102);
    let paid: i64 = scalar(
        app.db(),
        format!(
            "SELECT i.paid_cents FROM invoices i JOIN checkout_sessions s ON s.invoice_id = i.id WHERE s.uuid = '{id}'"
        ),
        vec![],
    )
    .await;
    assert_eq!(paid, 3_000, "only the captured part is paid");

    // Full capture.
    let (_, s) = m.session("cap-2", json!({"captureMethod": "manual"})).await;
    let id2 = s["id"].as_str().unwrap().to_string();
    pay(&m, &id2, json!({"amount": 42.5, "card": visa()})).await;
    let (st, s) = capture(&m, &id2, json!({})).await;
    assert_eq!((st, s["amountCaptured"].clone()), (200, json!(42.5)));

    // Cancelling an authorized session releases the hold: nothing is charged.
    let (_, s) = m.session("cap-3", json!({"captureMethod": "manual"})).await;
    let id3 = s["id"].as_str().unwrap().to_string();
    let (_, i3) = pay(&m, &id3, json!({"amount": 42.5, "token": "tok_visa"})).await;
    let (st, s) = m
        .call(Method::POST, &format!("/sessions/{id3}/cancel"), None)
        .await;
    assert_eq!((st, s["status"].clone()), (200, json!("cancelled")), "{s}");
    let (_, i3) = m
        .call(
            Method::GET,
            &format!(
                "/sessions/{id3}/payment-intents/{}",
                i3["id"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(i3["status"], "canceled");
    let (st, b) = capture(&m, &id3, json!({})).await;
    assert_eq!(st, 409);
    co_error(&b, "SESSION_ALREADY_CANCELLED");
    let ledger = app.processor().ledger().await.unwrap();
    assert_eq!(ledger.iter().filter(|e| e.status == "released").count(), 1);
    let r = app.state.engine.reconcile().await.unwrap();
    assert!(r.differences.is_empty(), "{:?}", r.differences);
    assert_eq!(r.approved_charges, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_captures_capture_once() {
    let app = TestApp::spawn().await;
    let m = Merchant::new(&app).await;
    let (_, s) = m
        .session("cap-race", json!({"captureMethod": "manual"}))
        .await;
    let id = s["id"].as_str().unwrap().to_string();
    let (_, i) = pay(&m, &id, json!({"amount": 42.5, "token": "tok_visa"})).await;
    assert_eq!(i["status"], "requires_capture");
    let mut tasks = Vec::new();
    for _ in 0..12 {
        let rb = app
            .req(Method::POST, &m.path(&format!("/sessions/{id}/capture")))
            .bearer_auth(&m.token)
            .json(&json!({}));
        tasks.push(tokio::spawn(async move { TestApp::send(rb).await }));
    }
    let mut ok = 0;
    for t in tasks {
        let (st, b) = t.await.unwrap();
        match st {
            200 => ok += 1,
            409 => assert!(
                ["SESSION_COULD_NOT_CAPTURE", "SESSION_ALREADY_COMPLETED"]
                    .contains(&b["error"]["name"].as_str().unwrap()),
                "{b}"
            ),
            other => panic!("{other}: {b}"),
        }
    }
    assert_eq!(ok, 1);
    let charges: i64 = scalar(
        app.db(),
        "SELECT COUNT(*) FROM transactions WHERE transaction_type = 'CHARGE' AND status = 'APPROVED'",
        vec![],
    )
    .await;
    assert_eq!(charges, 1);
    let r = app.state.engine.reconcile().await.unwrap();
    assert!(r.differences.is_empty(), "{:?}", r.differences);
}
