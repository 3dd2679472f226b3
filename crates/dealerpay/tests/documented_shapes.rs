//! The two documented GET routes return every field of the seed examples, with the
//! documented JSON names and types, and null only where the thing does not exist.

mod common;
use common::*;
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::BTreeSet;

fn fixture(name: &str) -> Value {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../wire/tests/fixtures")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

/// Checks `ours` against the seed example: every documented path is present; where ours is
/// not null its JSON type is the documented one; nulls are limited to `may_be_null`;
/// `skip` prefixes are subtrees that are legitimately empty (e.g. no transactions yet).
fn assert_shape(example: &Value, ours: &Value, skip: &[&str], may_be_null: &[&str]) {
    let want = key_paths(example);
    let got = key_paths(ours);
    let mut missing = vec![];
    let mut wrong = vec![];
    let mut nulls = BTreeSet::new();
    for (path, t) in &want {
        if skip.iter().any(|s| path.starts_with(s)) {
            continue;
        }
        match got.get(path) {
            None => missing.push(path.clone()),
            Some(&"null") => {
                nulls.insert(path.clone());
            }
            Some(g) if g != t => wrong.push(format!("{path}: documented {t}, got {g}")),
            _ => {}
        }
    }
    assert!(
        missing.is_empty(),
        "missing documented fields: {missing:#?}"
    );
    assert!(wrong.is_empty(), "wrong JSON types: {wrong:#?}");
    let unexpected: Vec<_> = nulls
        .iter()
        .filter(|p| !may_be_null.iter().any(|m| p.ends_with(m)))
        .collect();
    assert!(
        unexpected.is_empty(),
        "null where the data exists: {unexpected:#?}"
    );
}

async fn full_seed(app: &TestApp) -> Seed {
    let s = app.seed(250.40).await;
    // Fill the descriptive fields so every documented field has something to show.
    let (st, b) = app.put_op(&format!("/payment/kpayment/v1/dealers/{}", s.dealer), json!({
        "name": "Test Motors",
        "settings": {"surchargeEnabled": true, "surchargePercent": 3.5, "salesTaxEnabled": true, "salesTaxPercent": 10},
        "profile": {"contractName": "TM LLC", "number": "42", "comments": "c", "phoneNumber": "+1 555 0100",
            "emailID": "a@b.example", "website": "https://x.example", "mapUrl": "https://m.example",
            "serviceDeptHoursText": "9-5", "partsDeptHoursText": "9-5", "salesDeptHoursText": "9-5",
            "fiDeptHoursText": "9-5", "latitude": 37.1, "longitude": -122.2, "altitude": 10.0, "nickName": "TM"}
    })).await;
    assert_eq!(st, 200, "{b}");
    let (st, b) = app.put_op(&format!("/payment/kpayment/v1/dealers/{}/customers/{}", s.dealer, s.customer), json!({
        "firstName": "Jo", "middleName": "Q", "lastName": "Rivera", "company": "Acme", "email": "jo@example.com",
        "phone": "+1 555 0142", "profile": {"gender": "F", "nickName": "J", "customerKey": "K1",
        "imageUrl": "https://i.example/j.png", "status": "ACTIVE", "preferredLocale": "en"}
    })).await;
    assert_eq!(st, 200, "{b}");
    let (st, b) = app.put_op(&format!("/payment/kpayment/v1/dealers/{}/vehicles/{}", s.dealer, s.vehicle), json!({
        "customerUuid": s.customer, "vin": "1HGCM82633A004352", "make": "Honda",
        "profile": {"model": "Accord", "year": "2021", "trim": "EX", "engine": "2.0T", "body": "Sedan",
            "transmission": "AT", "name": "Family car", "mileage": "42000", "latestMileage": "42010",
            "licensePlate": "7ABC123", "licenseStateCode": "CA", "licenseStateDescription": "California",
            "color": "Blue", "vehicleKey": "VK", "status": "ACTIVE", "boughtDate": "2021-03-01T00:00:00Z",
            "soldDate": "2021-03-01T00:00:00Z", "lastServiceDate": "2025-01-01T00:00:00Z"}
    })).await;
    assert_eq!(st, 200, "{b}");
    let (st, b) = app.put_op(&format!("/payment/kpayment/v1/dealers/{}/orders/{}", s.dealer, s.order), json!({
        "orderNumber": format!("RO-{}", &s.order[..8]), "orderType": "RO", "amount": 250.40,
        "departmentUuid": s.department, "customerUuid": s.customer, "vehicleUuid": s.vehicle,
        "dealerAssociateUuid": s.associate,
        "profile": {"description": "d", "invoiceURL": "https://inv.example/1", "readyROData": "r",
            "mileageText": "42,000", "labourOpTypes": "L", "dmsdescription": "dms", "payTypes": "C",
            "laborTypes": "W", "tagOrHat": "T12", "deliveryAmount": 0}
    })).await;
    assert_eq!(st, 200, "{b}");
    let (st, b) = app.put_op(&format!("/payment/kpayment/v1/invoices/{}", s.invoice), json!({
        "paymentDealer": {"dealerUuid": s.dealer}, "paymentDealerOrder": {"dealerOrderUuid": s.order},
        "paymentCustomer": {"customerUuid": s.customer}, "paymentUser": {"dealerAssociateUUID": s.associate},
        "amount": 250.40, "description": "inv", "fileName": "ro.pdf", "reminderDate": "2027-01-01T00:00:00Z",
        "reminderMileage": 47000, "invoiceAttributes": {"laborTotal": "10.00"}
    })).await;
    assert_eq!(st, 200, "{b}");
    s
}

/// Fields whose subject does not exist for an unpaid invoice with no signature or communication ids.
const NOT_EXISTING: &[&str] = &[
    "paidDate",
    "signatureFileName",
    "signatureRequestId",
    "signatureRequestID",
    "customerSignatureUrl",
    "vehicle.parent",
    "phoneCommunicationId",
    "emailCommunicationId",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payment_request_has_every_documented_field() {
    let app = TestApp::spawn().await;
    let s = full_seed(&app).await;
    let (st, created) = app
        .payment_request(
            &s,
            json!({"sourceInfo": "advisor app", "attributes": {"channel": "sms"}}),
        )
        .await;
    assert_eq!(st, 201, "{created}");
    let guid = created["paymentRequest"]["guid"].as_str().unwrap();
    let p = app.partner(&[(&s.dealer, None, "payment.payisland")]).await;
    let (st, body) = TestApp::send(p.auth(app.req(
        Method::GET,
        &format!("/payment/kpayment/v1/paymentrequest/{guid}"),
    )))
    .await;
    assert_eq!(st, 200, "{body}");
    assert_shape(
        &fixture("payment_request_200.json"),
        &body,
        &[
            "errors[]",
            "warnings[]",
            "paymentRequest.invoice.transactions[]",
        ],
        NOT_EXISTING,
    );
    let pr = &body["paymentRequest"];
    assert_eq!(pr["amount"], json!(250.4));
    assert_eq!(pr["status"], "ACTIVE");
    // 3.5% requested, capped at the highest network cap (4%) before the card is known.
    assert_eq!(pr["maxSurchargePercent"], json!(3.5));
    assert_eq!(pr["maxSurcharge"], json!(8.76));
    assert_eq!(pr["salesTax"], json!(0.88));
    assert_eq!(pr["isSurcharge"], json!(true));
    assert_eq!(pr["isDualPricing"], json!(false));
    assert_eq!(pr["invoice"]["dealer"]["uuid"], json!(s.dealer));
    assert_eq!(
        pr["invoice"]["invoiceAttributes"][0],
        json!({"option": "laborTotal", "value": "10.00"})
    );
    assert_eq!(pr["paymentRequestAttributes"][0]["name"], "channel");
    assert_eq!(
        pr["invoice"]["dealerOrder"]["vehicle"]["brand"]["brandName"],
        "Honda"
    );
    let ts = pr["timeStamp"].as_str().unwrap();
    assert!(
        ts.len() == 24 && ts.ends_with('Z') && ts.as_bytes()[19] == b'.',
        "RFC 3339 with millis: {ts}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payment_status_has_every_documented_field() {
    let app = TestApp::spawn().await;
    let s = full_seed(&app).await;
    // Payment attempts are created by prePayment (card-payment work); arrange one directly
    // to pin the wire shape of what this route returns for it.
    let next_action = json!({"actionType": "REDIRECT_TO_URL", "redirectToUrlAction": {"redirectUrl": "https://x.example/3ds"},
        "useStripeSdkAction": {"paymentIntentId": "pi"}, "cardinalSdkAction": {"jwtToken": "j", "sessionId": "s"},
        "redirectToAffirmUrlAction": {"redirectUrl": "https://a.example"}, "useSunbitSdkAction": {"jwtToken": "j"}});
    app.sql(&format!(
        "INSERT INTO payment_attempts (uuid, dealer_id, department_id, dealer_order_id, invoice_id, customer_id, associate_id, \
         attempt_number, status, transaction_type, payment_type, payment_mode, amount_cents, currency, payment_provider, \
         response_code, response_description, next_action, attributes, created_at, updated_at) \
         SELECT '{u}', i.dealer_id, o.department_id, o.id, i.id, i.customer_id, i.associate_id, 1, 'Created', 'CHARGE', \
         'CREDIT', 'ONLINE', 25040, 'USD', 'SANDBOX', '00', 'created', '{na}', '{{\"channel\":\"sms\"}}', 1700000000000, 1700000000000 \
         FROM invoices i JOIN dealer_orders o ON o.id = i.dealer_order_id WHERE i.guid = '{inv}'",
        u = uuid::Uuid::new_v4(),
        na = next_action,
        inv = s.invoice
    ))
    .await;
    let p = app
        .partner(&[(&s.dealer, Some(&s.department), "payment.all")])
        .await;
    let path = format!(
        "/payment/v3/department/{}/status?invoiceId={}",
        s.department, s.invoice
    );
    let (st, body) = TestApp::send(p.auth(app.req(Method::GET, &path))).await;
    assert_eq!(st, 200, "{body}");
    let mut may_be_null = NOT_EXISTING.to_vec();
    // No payment has been made, so there is no transaction, error or signed document.
    may_be_null.extend([
        "error",
        "transaction",
        "transactionIncomplete",
        "transactionId",
        "signedDocumentUrl",
    ]);
    assert_shape(
        &fixture("payment_status_200.json"),
        &body,
        &[
            "error.",
            "warnings[]",
            "paymentAttempts[].transaction.",
            "paymentAttempts[].transactionIncomplete.",
        ],
        &may_be_null,
    );
    let a = &body["paymentAttempts"][0];
    assert_eq!(a["status"], "Created");
    assert_eq!(a["transactionType"], "CHARGE");
    assert_eq!(a["paymentMode"], "ONLINE");
    assert_eq!(a["amount"], json!(250.4));
    assert_eq!(a["nextAction"]["actionType"], "REDIRECT_TO_URL");
    assert_eq!(a["paymentDealerOrder"]["dealerOrderUuid"], json!(s.order));
    assert_eq!(a["creationTime"], "2023-11-14T22:13:20.000Z");
}
