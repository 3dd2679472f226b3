//! Regressions for what `scripts/schemathesis` found: each test pins a server behaviour the
//! fuzzer showed to be wrong (a status no document lists, a value accepted and then written
//! back in a form the document does not allow, a rule the server states and did not keep).

mod common;
use common::*;
use reqwest::Method;
use serde_json::json;

/// `GET …/paymentrequest/{guid}/expire` is not the documented read `GET …/paymentrequest/{guid}`
/// (whose page lists only 200, 400, 401 and 500): it is our POST route asked with the wrong
/// method, so 405 like any other, not the documented read's 400.
#[tokio::test]
async fn a_wrong_method_under_a_documented_prefix_is_405() {
    let app = TestApp::spawn().await;
    let guid = uuid::Uuid::new_v4();
    let path = format!("/payment/kpayment/v1/paymentrequest/{guid}/expire");
    let (st, b) = TestApp::send(app.op(Method::GET, &path)).await;
    assert_eq!(st, 405, "GET {path}: {b}");
    let d = v1_error(&b, "INVALID_REQUEST_DATA");
    assert!(d.contains("method"), "{d}");
    // A path with more segments than the documented status route names no route: 404.
    let path = format!("/payment/v3/department/{guid}/x/status");
    let (st, b) = TestApp::send(app.op(Method::GET, &path)).await;
    assert_eq!(st, 404, "GET {path}: {b}");
}

/// A timestamp late in 9999 with a negative offset is in year 10000 in UTC, which an answer
/// cannot write in RFC 3339 (it wrote `10000-01-01T…`, breaking `format: date-time`): requests
/// take the years 1900–9998, and whatever they take is written back as a four-digit year.
#[tokio::test]
async fn accepted_timestamps_are_written_back_as_rfc3339() {
    let app = TestApp::spawn().await;
    let s = app.seed(10.0).await;
    let order = |date: &str| {
        json!({
            "orderNumber": format!("RO-{}", &s.order[..8]), "orderType": "RO", "amount": 10.0,
            "departmentUuid": s.department, "customerUuid": s.customer, "orderDate": date
        })
    };
    let path = format!(
        "/payment/kpayment/v1/dealers/{}/orders/{}",
        s.dealer, s.order
    );
    for (date, written) in [
        ("9998-12-31T23:30:00-23:59", "9999-01-01T23:29:00.000Z"),
        ("1900-01-01T00:00:00+01:00", "1899-12-31T23:00:00.000Z"),
    ] {
        let (st, b) = app.put_op(&path, order(date)).await;
        assert_eq!(st, 200, "{date}: {b}");
        assert_eq!(b["dealerOrder"]["orderDate"], written, "{date}");
    }
    for date in [
        "9999-12-31T23:30:00-05:00",
        "9999-01-01T00:00:00Z",
        "1899-12-31T23:00:00Z",
    ] {
        let (st, b) = app.put_op(&path, order(date)).await;
        assert_eq!(st, 400, "{date}: {b}");
        let d = v1_error(&b, "INVALID_DATA_FOR_THE_FIELD");
        assert!(
            d.starts_with("orderDate: must be an RFC 3339 timestamp"),
            "{d}"
        );
    }
}

/// A struct inside a body is a JSON object: serde's derived structs also read a JSON array
/// (its elements bound to the fields in order), which took `"profile": [null, null]` for an
/// empty profile, `"paymentDealer": ["<uuid>"]` for a reference, and so on.
#[tokio::test]
async fn nested_objects_sent_as_arrays_are_refused() {
    let app = TestApp::spawn().await;
    let s = app.seed(10.0).await;
    let cases = [
        (
            format!("/payment/kpayment/v1/dealers/{}", s.dealer),
            json!({"name": "Test Motors", "profile": [null, null]}),
            "profile",
        ),
        (
            format!("/payment/kpayment/v1/dealers/{}", s.dealer),
            json!({"name": "Test Motors", "settings": [10]}),
            "settings",
        ),
        (
            format!(
                "/payment/kpayment/v1/dealers/{}/departments/{}",
                s.dealer, s.department
            ),
            json!({"name": "Service", "departmentType": "SERVICE", "profile": ["x"]}),
            "profile",
        ),
        (
            format!("/payment/kpayment/v1/invoices/{}", s.invoice),
            json!({
                "paymentDealer": [s.dealer], "paymentDealerOrder": {"dealerOrderUuid": s.order},
                "paymentCustomer": {"customerUuid": s.customer},
                "paymentUser": {"dealerAssociateUUID": s.associate}, "amount": 10.0
            }),
            "paymentDealer",
        ),
    ];
    for (path, body, field) in cases {
        let (st, b) = app.put_op(&path, body.clone()).await;
        assert_eq!(st, 400, "PUT {path} {body}: {b}");
        let d = v1_error(&b, "INVALID_DATA_FOR_THE_FIELD");
        assert!(d.starts_with(&format!("{field}:")), "{d}");
        assert!(d.contains("expected a JSON object"), "{d}");
    }
    // prePayment: a transaction detail line that is an array.
    let partner = app.partner(&[(&s.dealer, None, "payment.all")]).await;
    let (st, b) = TestApp::send(
        partner
            .auth(app.req(Method::POST, "/payment/kpayment/v1/prepayment"))
            .json(&json!({
                "dealerUuid": s.dealer, "customerUuid": s.customer, "invoiceGUID": s.invoice,
                "dealerOrderUuid": s.order, "amount": 10.0,
                "transactionDetailsList": {"transactionDetails": [["LABOR", 10.0]]}
            })),
    )
    .await;
    assert_eq!(st, 400, "{b}");
    let d = v1_error(&b, "PEPAYMENT_VALIDATION_FAILED");
    assert!(
        d.starts_with("transactionDetailsList.transactionDetails[0]:"),
        "{d}"
    );
}

/// Passwords are 12 to 256 *characters*, as the error and the reset page say; the upper bound
/// counted UTF-8 bytes, so a 100-character password of accented letters was refused (and the
/// reset page, which counts characters, let it through to that refusal).
#[tokio::test]
async fn password_lengths_count_characters() {
    let app = TestApp::spawn().await;
    let s = app.seed(10.0).await;
    let ns = TestApp::new_namespace();
    let token = app.checkout_merchant(&s, &ns).await;
    let user = |email: &str, password: String| {
        app.req(
            Method::POST,
            &format!("/payment/checkout/v1/namespaces/{ns}/users"),
        )
        .bearer_auth(&token)
        .json(&json!({"email": email, "password": password}))
    };
    let (st, b) = TestApp::send(user("a@shop.example", "é".repeat(256))).await;
    assert_eq!(st, 201, "{b}");
    let (st, b) = TestApp::send(user("b@shop.example", "é".repeat(257))).await;
    assert_eq!(st, 400, "{b}");
    assert_eq!(
        b["error"]["detail"],
        "password: must be 12 to 256 characters"
    );
    let (st, b) = TestApp::send(user("c@shop.example", "é".repeat(11))).await;
    assert_eq!(st, 400, "{b}");
}
