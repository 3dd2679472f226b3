//! SPEC §2: every auth error code is produced by a real condition, and a caller never
//! reads or changes another dealer's data.

mod common;
use common::*;
use reqwest::Method;
use serde_json::json;

fn pr_path(guid: &str) -> String {
    format!("/payment/kpayment/v1/paymentrequest/{guid}")
}

async fn request_for(app: &TestApp, s: &Seed) -> String {
    let (st, b) = app.payment_request(s, json!({})).await;
    assert_eq!(st, 201, "{b}");
    b["paymentRequest"]["guid"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credential_errors() {
    let app = TestApp::spawn().await;
    let s = app.seed(100.0).await;
    let guid = request_for(&app, &s).await;
    let p = app.partner(&[(&s.dealer, None, "payment.all")]).await;
    let get = || app.req(Method::GET, &pr_path(&guid));

    // 100001: no credentials, an empty header, empty Basic credentials.
    let (st, b) = TestApp::send(get()).await;
    assert_eq!(st, 401);
    v1_error(&b, "NULL_CREDENTIALS");
    let (st, b) = TestApp::send(get().header("Authorization", "")).await;
    assert_eq!(st, 401);
    v1_error(&b, "NULL_CREDENTIALS");
    let (st, b) = TestApp::send(get().basic_auth("", Some(""))).await;
    assert_eq!(st, 401);
    v1_error(&b, "NULL_CREDENTIALS");

    // 100003: wrong password, unknown user, garbage, unsupported scheme.
    for rb in [
        get().basic_auth(&p.username, Some("wrong")),
        get().basic_auth("nobody-here", Some(&p.secret)),
        get().header("Authorization", "Basic !!!not-base64!!!"),
        get().header("Authorization", "Digest username=x"),
        // PostgreSQL refuses NUL in text: must be a plain 401, not a 500.
        get().basic_auth("bad\u{0}user", Some(&p.secret)),
    ] {
        let (st, b) = TestApp::send(rb).await;
        assert_eq!(st, 401, "{b}");
        v1_error(&b, "WRONG_CREDENTIAL");
    }

    // The right secret works.
    let (st, b) = TestApp::send(p.auth(get())).await;
    assert_eq!(st, 200, "{b}");

    // 100008: a disabled partner, even with the right secret; re-enabled it works again.
    let (st, _) = TestApp::send(app.op(
        Method::POST,
        &format!("/payment/admin/v1/partners/{}/disable", p.uuid),
    ))
    .await;
    assert_eq!(st, 200);
    let (st, b) = TestApp::send(p.auth(get())).await;
    assert_eq!(st, 401);
    v1_error(&b, "ACCESS_FORBIDDEN_INVALID_PARTNER");
    let (st, _) = TestApp::send(app.op(
        Method::POST,
        &format!("/payment/admin/v1/partners/{}/enable", p.uuid),
    ))
    .await;
    assert_eq!(st, 200);
    assert_eq!(TestApp::send(p.auth(get())).await.0, 200);

    // A rotated secret stops working at once; the new one works.
    let (st, b) = TestApp::send(app.op(
        Method::POST,
        &format!("/payment/admin/v1/partners/{}/rotate-secret", p.uuid),
    ))
    .await;
    assert_eq!(st, 200, "{b}");
    let new_secret = b["partner"]["secret"].as_str().unwrap().to_string();
    let (st, b) = TestApp::send(p.auth(get())).await;
    assert_eq!(st, 401);
    v1_error(&b, "WRONG_CREDENTIAL");
    assert_eq!(
        TestApp::send(get().basic_auth(&p.username, Some(&new_secret)))
            .await
            .0,
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_routes_and_unknown_partner() {
    let app = TestApp::spawn().await;
    let s = app.seed(100.0).await;
    let p = app.partner(&[(&s.dealer, None, "payment.all")]).await;
    // 100002: a partner (valid credentials) or a wrong token on the admin API.
    let (st, b) = TestApp::send(
        p.auth(app.req(Method::POST, "/payment/admin/v1/partners"))
            .json(&json!({"username": "x123"})),
    )
    .await;
    assert_eq!(st, 401);
    v1_error(&b, "ACCESS_FORBIDDEN");
    let (st, b) = TestApp::send(
        app.req(
            Method::GET,
            &format!("/payment/admin/v1/partners/{}", p.uuid),
        )
        .bearer_auth("nope-nope-nope-nope"),
    )
    .await;
    assert_eq!(st, 401);
    v1_error(&b, "ACCESS_FORBIDDEN");
    // 100037: an unknown service subscriber.
    for id in [uuid::Uuid::new_v4().to_string(), "not-a-uuid".to_string()] {
        let (st, b) =
            TestApp::send(app.op(Method::GET, &format!("/payment/admin/v1/partners/{id}"))).await;
        assert_eq!(st, 404);
        v1_error(&b, "INVALID_SERVICESUBSCRIBER_UUID");
        let (st, b) = TestApp::send(app.op(
            Method::POST,
            &format!("/payment/admin/v1/partners/{id}/disable"),
        ))
        .await;
        assert_eq!(st, 404);
        v1_error(&b, "INVALID_SERVICESUBSCRIBER_UUID");
    }
    // A duplicate username is a conflict, not a 500.
    let (st, b) = TestApp::send(
        app.op(Method::POST, "/payment/admin/v1/partners")
            .json(&json!({"username": p.username})),
    )
    .await;
    assert_eq!(st, 409, "{b}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dealer_and_department_tokens() {
    let app = TestApp::spawn().await;
    let a = app.seed(100.0).await;
    let b_seed = app.seed(100.0).await;
    let guid_a = request_for(&app, &a).await;
    let guid_b = request_for(&app, &b_seed).await;
    let mint = |kind: &str, uuid: &str, scopes: Vec<&str>| {
        let body = json!({"kind": kind, "uuid": uuid, "scopes": scopes, "ttlSeconds": 600});
        TestApp::send(app.op(Method::POST, "/payment/admin/v1/tokens").json(&body))
    };
    let (st, t) = mint("dealer", &a.dealer, vec!["payment.payisland"]).await;
    assert_eq!(st, 201, "{t}");
    let dealer_token = t["token"]["token"].as_str().unwrap().to_string();

    let get = |guid: &str, token: &str| {
        TestApp::send(app.req(Method::GET, &pr_path(guid)).bearer_auth(token))
    };
    assert_eq!(get(&guid_a, &dealer_token).await.0, 200);
    // 100011: a dealer token for another dealer.
    let (st, b) = get(&guid_b, &dealer_token).await;
    assert_eq!(st, 401);
    v1_error(&b, "INVALID_SCOPE_DEALER");
    // 100011: the right dealer but not the route's scope.
    let (_, t) = mint("dealer", &a.dealer, vec!["payment.prepayment"]).await;
    let (st, b) = get(&guid_a, t["token"]["token"].as_str().unwrap()).await;
    assert_eq!(st, 401);
    v1_error(&b, "INVALID_SCOPE_DEALER");

    // 100010: forged, tampered, expired dealer tokens.
    let engine = &app.state.engine;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let expired = engine.mint_token(
        engine::auth::TokenKind::Dealer,
        &a.dealer,
        &[domain_all()],
        now - 7200,
        60,
    );
    let forged = sign_with(
        &[7u8; 32],
        &engine.mint_token(
            engine::auth::TokenKind::Dealer,
            &a.dealer,
            &[domain_all()],
            now,
            600,
        ),
    );
    let mut tampered = dealer_token.clone();
    tampered.insert(10, 'x');
    for t in [
        expired.as_str(),
        forged.as_str(),
        tampered.as_str(),
        "dpt1.garbage",
        "some-random-token",
    ] {
        let (st, b) = get(&guid_a, t).await;
        assert_eq!(st, 401, "{t}: {b}");
        v1_error(&b, "INVALID_DEALER_TOKEN");
    }

    // Department tokens: 100013 when bad, 100014 for another department, 100004 on a dealer-level route.
    let (st, t) = mint("department", &a.department, vec!["payment.all"]).await;
    assert_eq!(st, 201);
    let dept_token = t["token"]["token"].as_str().unwrap().to_string();
    let status = |dept: &str, inv: &str, token: &str| {
        TestApp::send(
            app.req(
                Method::GET,
                &format!("/payment/v3/department/{dept}/status?invoiceId={inv}"),
            )
            .bearer_auth(token),
        )
    };
    let (st, b) = status(&a.department, &a.invoice, &dept_token).await;
    assert_eq!(st, 200, "{b}");
    let (st, b) = status(&b_seed.department, &b_seed.invoice, &dept_token).await;
    assert_eq!(st, 401);
    v3_error(&b, "100014");
    let expired = engine.mint_token(
        engine::auth::TokenKind::Department,
        &a.department,
        &[domain_all()],
        now - 7200,
        60,
    );
    let (st, b) = status(&a.department, &a.invoice, &expired).await;
    assert_eq!(st, 401);
    v3_error(&b, "100013");
    let (st, b) = get(&guid_a, &dept_token).await;
    assert_eq!(st, 401);
    v1_error(&b, "REQUEST_NOT_AUTHORIZED");
    // Tokens cannot be minted for things that do not exist.
    let (st, b) = mint(
        "dealer",
        &uuid::Uuid::new_v4().to_string(),
        vec!["payment.all"],
    )
    .await;
    assert_eq!(st, 404);
    v1_error(&b, "INVALID_DEALER");
}

fn domain_all() -> domain::scope::Scope {
    domain::scope::Scope::All
}

/// The same token `dpt1.<claims>.<hmac>` signed with `key` instead of the server's key.
fn sign_with(key: &[u8], token: &str) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    let (signing_input, _) = token.rsplit_once('.').unwrap();
    let sig = URL_SAFE_NO_PAD.encode(engine::crypto::hmac_raw(key, signing_input.as_bytes()));
    format!("{signing_input}.{sig}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_never_reads_or_changes_another_dealers_data() {
    let app = TestApp::spawn().await;
    let a = app.seed(100.0).await;
    let b = app.seed(200.0).await;
    let guid_b = request_for(&app, &b).await;
    let pa = app.partner(&[(&a.dealer, None, "payment.all")]).await;

    // Read B's payment request and status.
    let (st, body) = TestApp::send(pa.auth(app.req(Method::GET, &pr_path(&guid_b)))).await;
    assert_eq!(st, 401);
    v1_error(&body, "INVALID_SCOPE_DEALER");
    let path = format!(
        "/payment/v3/department/{}/status?invoiceId={}",
        b.department, b.invoice
    );
    let (st, body) = TestApp::send(pa.auth(app.req(Method::GET, &path))).await;
    assert_eq!(st, 401);
    v3_error(&body, "100014");
    // B's invoice through A's own department: not found there.
    let path = format!(
        "/payment/v3/department/{}/status?invoiceId={}",
        a.department, b.invoice
    );
    let (st, body) = TestApp::send(pa.auth(app.req(Method::GET, &path))).await;
    assert_eq!(st, 422);
    v3_error(&body, "100040");

    // Create a payment request on B's invoice, naming either dealer.
    let (st, body) = TestApp::send(
        pa.auth(app.req(Method::POST, "/payment/kpayment/v1/paymentrequest"))
            .json(&json!({"dealerUuid": b.dealer, "invoiceGuid": b.invoice})),
    )
    .await;
    assert_eq!(st, 401);
    v1_error(&body, "INVALID_SCOPE_DEALER");
    let (st, body) = TestApp::send(
        pa.auth(app.req(Method::POST, "/payment/kpayment/v1/paymentrequest"))
            .json(&json!({"dealerUuid": a.dealer, "invoiceGuid": b.invoice})),
    )
    .await;
    assert_eq!(st, 400);
    v1_error(&body, "INVALID_INVOICE_UUID");

    // Change B's data: directly, or by reusing B's uuids under A.
    let (st, body) = TestApp::send(
        pa.auth(app.req(
            Method::PUT,
            &format!(
                "/payment/kpayment/v1/dealers/{}/customers/{}",
                b.dealer, b.customer
            ),
        ))
        .json(&json!({"lastName": "Hijacked"})),
    )
    .await;
    assert_eq!(st, 401);
    v1_error(&body, "INVALID_SCOPE_DEALER");
    let (st, body) = TestApp::send(
        pa.auth(app.req(
            Method::PUT,
            &format!(
                "/payment/kpayment/v1/dealers/{}/customers/{}",
                a.dealer, b.customer
            ),
        ))
        .json(&json!({"lastName": "Hijacked"})),
    )
    .await;
    assert_eq!(st, 409, "{body}");
    v1_error(&body, "INVALID_DATA_FOR_THE_FIELD");
    let (st, body) = TestApp::send(pa.auth(app.req(Method::PUT, &format!("/payment/kpayment/v1/invoices/{}", b.invoice))).json(&json!({
        "paymentDealer": {"dealerUuid": a.dealer}, "paymentDealerOrder": {"dealerOrderUuid": a.order},
        "paymentCustomer": {"customerUuid": a.customer}, "paymentUser": {"dealerAssociateUUID": a.associate}, "amount": 1.0
    }))).await;
    assert_eq!(st, 409, "{body}");
    let (st, body) = TestApp::send(
        pa.auth(app.req(
            Method::PUT,
            &format!("/payment/kpayment/v1/dealers/{}", b.dealer),
        ))
        .json(&json!({"name": "Mine"})),
    )
    .await;
    assert_eq!(st, 401);
    v1_error(&body, "INVALID_SCOPE_DEALER");
    // B's data is untouched.
    let name: Option<String> = scalar_as(
        app.db(),
        format!(
            "SELECT last_name FROM customers WHERE uuid = '{}'",
            b.customer
        ),
        vec![],
    )
    .await;
    assert_eq!(name.as_deref(), Some("Rivera"));
    let amount: i64 = scalar(
        app.db(),
        format!(
            "SELECT amount_cents FROM invoices WHERE guid = '{}'",
            b.invoice
        ),
        vec![],
    )
    .await;
    assert_eq!(amount, 20_000);
    let dealer_name: String = scalar_as(
        app.db(),
        format!("SELECT name FROM dealers WHERE uuid = '{}'", b.dealer),
        vec![],
    )
    .await;
    assert_eq!(dealer_name, "Test Motors");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn department_grants_cover_only_their_department() {
    let app = TestApp::spawn().await;
    let a = app.seed(100.0).await;
    let other_dept = uuid::Uuid::new_v4().to_string();
    let (st, _) = app
        .put_op(
            &format!(
                "/payment/kpayment/v1/dealers/{}/departments/{other_dept}",
                a.dealer
            ),
            json!({"name": "Parts", "departmentType": "PARTS"}),
        )
        .await;
    assert_eq!(st, 200);
    let guid = request_for(&app, &a).await;
    let p = app
        .partner(&[(&a.dealer, Some(&a.department), "payment.all")])
        .await;
    let status = |dept: &str| {
        format!(
            "/payment/v3/department/{dept}/status?invoiceId={}",
            a.invoice
        )
    };
    assert_eq!(
        TestApp::send(p.auth(app.req(Method::GET, &status(&a.department))))
            .await
            .0,
        200
    );
    let (st, b) = TestApp::send(p.auth(app.req(Method::GET, &status(&other_dept)))).await;
    assert_eq!(st, 401);
    v3_error(&b, "100014");
    // A department grant does not reach dealer-level (ServiceSubscriberScope) routes.
    let (st, b) = TestApp::send(p.auth(app.req(Method::GET, &pr_path(&guid)))).await;
    assert_eq!(st, 401);
    v1_error(&b, "INVALID_SCOPE_DEALER");
    // A dealer-level grant of a narrower scope does not satisfy payment.all.
    let narrow = app.partner(&[(&a.dealer, None, "payment.payisland")]).await;
    let (st, b) = TestApp::send(narrow.auth(app.req(Method::GET, &status(&a.department)))).await;
    assert_eq!(st, 401);
    v3_error(&b, "100014");
    assert_eq!(
        TestApp::send(narrow.auth(app.req(Method::GET, &pr_path(&guid))))
            .await
            .0,
        200
    );
    // An unknown department looks the same as one without a grant.
    let (st, b) =
        TestApp::send(p.auth(app.req(Method::GET, &status(&uuid::Uuid::new_v4().to_string()))))
            .await;
    assert_eq!(st, 401);
    v3_error(&b, "100014");
}
