//! Idempotency-Key on POST: replay, refusal of a reused key, per-caller namespaces, and
//! exactly-once under concurrent retries.

mod common;
use common::*;
use reqwest::Method;
use serde_json::json;

async fn request_rows(app: &TestApp) -> i64 {
    scalar(app.db(), "SELECT COUNT(*) FROM payment_requests", vec![]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_replay_and_reused_keys_are_refused() {
    let app = TestApp::spawn().await;
    let s = app.seed(80.0).await;
    let body = json!({"dealerUuid": s.dealer, "invoiceGuid": s.invoice, "amount": 30.0});
    let post = |key: &str, body: &serde_json::Value| {
        app.op(Method::POST, "/payment/kpayment/v1/paymentrequest")
            .header("Idempotency-Key", key)
            .json(body)
    };
    let r1 = post("k-1", &body).send().await.unwrap();
    assert_eq!(r1.status().as_u16(), 201);
    assert!(r1.headers().get("idempotent-replayed").is_none());
    let t1 = r1.text().await.unwrap();
    let r2 = post("k-1", &body).send().await.unwrap();
    assert_eq!(r2.status().as_u16(), 201);
    assert_eq!(r2.headers()["idempotent-replayed"], "true");
    assert_eq!(
        r2.text().await.unwrap(),
        t1,
        "the first response, byte for byte"
    );
    assert_eq!(request_rows(&app).await, 1);

    let (st, b) = TestApp::send(post(
        "k-1",
        &json!({"dealerUuid": s.dealer, "invoiceGuid": s.invoice, "amount": 31.0}),
    ))
    .await;
    assert_eq!(st, 409);
    assert!(v1_error(&b, "INVALID_REQUEST_DATA").starts_with("Idempotency-Key"));
    assert_eq!(request_rows(&app).await, 1);

    // Errors are replayed too (a 4xx is a result).
    let bad = json!({"dealerUuid": s.dealer, "invoiceGuid": s.invoice, "amount": 999.0});
    let (st1, b1) = TestApp::send(post("k-2", &bad)).await;
    let (st2, b2) = TestApp::send(post("k-2", &bad)).await;
    assert_eq!((st1, st2), (400, 400));
    assert_eq!(b1, b2);

    // Keys are per caller: another partner's identical key runs its own request.
    let p = app.partner(&[(&s.dealer, None, "payment.all")]).await;
    let r = p
        .auth(app.req(Method::POST, "/payment/kpayment/v1/paymentrequest"))
        .header("Idempotency-Key", "k-1")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    assert!(r.headers().get("idempotent-replayed").is_none());
    assert_eq!(request_rows(&app).await, 2);

    for key in ["", &"k".repeat(256), "has space"] {
        let (st, b) = TestApp::send(post(key, &body)).await;
        assert_eq!(st, 400, "{key:?}");
        assert!(v1_error(&b, "INVALID_DATA_FOR_THE_FIELD").starts_with("Idempotency-Key"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_retries_run_once() {
    let app = TestApp::spawn().await;
    let s = app.seed(80.0).await;
    let body = json!({"dealerUuid": s.dealer, "invoiceGuid": s.invoice});
    let mut tasks = Vec::new();
    for _ in 0..12 {
        let rb = app
            .op(Method::POST, "/payment/kpayment/v1/paymentrequest")
            .header("Idempotency-Key", "same")
            .json(&body);
        tasks.push(tokio::spawn(async move { TestApp::send(rb).await }));
    }
    let mut guids = std::collections::BTreeSet::new();
    let mut in_progress = 0;
    for t in tasks {
        let (st, b) = t.await.unwrap();
        match st {
            201 => {
                guids.insert(b["paymentRequest"]["guid"].as_str().unwrap().to_string());
            }
            409 => {
                v1_error(&b, "ANOTHER_REQUEST_IN_PROGRESS");
                in_progress += 1;
            }
            other => panic!("unexpected {other}: {b}"),
        }
    }
    assert_eq!(guids.len(), 1, "every success is the same request");
    assert!(in_progress < 12);
    assert_eq!(request_rows(&app).await, 1);
}
