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
