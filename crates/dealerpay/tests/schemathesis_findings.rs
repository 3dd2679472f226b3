//! Regressions for what `scripts/schemathesis` found: each test pins a server behaviour the
//! fuzzer showed to be wrong (a status no document lists, a value accepted and then written
//! back in a form the document does not allow, a rule the server states and did not keep).

mod common;
use common::*;
use reqwest::Method;

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
