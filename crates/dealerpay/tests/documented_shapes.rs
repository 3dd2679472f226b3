//! The two documented GET routes return every field of the seed examples, with the
//! documented JSON names and types, and null only where the thing does not exist — in every
//! element of every array (each checked against the documented element), the transactions
//! of a paid and refunded invoice and the transaction / transactionIncomplete subtrees of
//! approved, refunded and declined attempts included.

mod common;
use common::*;
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

fn fixture(name: &str) -> Value {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../wire/tests/fixtures")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// What [`walk`] found.
#[derive(Default)]
struct Shape {
    /// Concrete paths (`paymentAttempts[2].transaction.uuid`) missing from ours.
    missing: Vec<String>,
    wrong: Vec<String>,
    /// Concrete paths that are null, with their abstract path (`paymentAttempts[].…`).
    nulls: Vec<(String, String)>,
    /// Documented arrays that are empty in ours: (concrete path, abstract path), both
    /// ending in `[]`.
    empty: Vec<(String, String)>,
    /// How many elements of each documented array (abstract path) were checked.
    elements: BTreeMap<String, usize>,
}

/// Walks `ours` along the seed example: every documented field must be present in every
/// object, with the documented JSON type where it is not null; every element of every
/// array is checked against the documented element.
fn walk(example: &Value, ours: &Value, path: &str, abs: &str, out: &mut Shape) {
    let join = |p: &str, k: &str| {
        if p.is_empty() {
            k.to_string()
        } else {
            format!("{p}.{k}")
        }
    };
    if ours.is_null() {
        if !example.is_null() {
            out.nulls.push((path.to_string(), abs.to_string()));
        }
        return;
    }
    if !example.is_null() && json_type(example) != json_type(ours) {
        out.wrong.push(format!(
            "{path}: documented {}, got {}",
            json_type(example),
            json_type(ours)
        ));
        return;
    }
    match (example, ours) {
        (Value::Object(want), Value::Object(got)) => {
            for (k, x) in want {
                let (p, a) = (join(path, k), join(abs, k));
                match got.get(k) {
                    None => out.missing.push(p),
                    Some(y) => walk(x, y, &p, &a, out),
                }
            }
        }
        (Value::Array(want), Value::Array(got)) => {
            let Some(element) = want.first() else {
                return;
            };
            let a = format!("{abs}[]");
            *out.elements.entry(a.clone()).or_default() += got.len();
            if got.is_empty() {
                out.empty.push((format!("{path}[]"), a.clone()));
            }
            for (i, y) in got.iter().enumerate() {
                walk(element, y, &format!("{path}[{i}]"), &a, out);
            }
        }
        _ => {}
    }
}

/// Checks `ours` against the seed example at every element of every array (see [`walk`]):
/// nulls are limited to the fields `may_be_null(concrete path, abstract path)` allows, and
/// a documented array may be empty only if its abstract or concrete path is listed in
/// `may_be_empty` (e.g. no warnings).
/// Returns how many elements of each documented array were checked.
fn assert_shape_with(
    example: &Value,
    ours: &Value,
    may_be_empty: &[&str],
    may_be_null: &dyn Fn(&str, &str) -> bool,
) -> BTreeMap<String, usize> {
    let may_be_empty: Vec<String> = may_be_empty.iter().map(|s| s.to_string()).collect();
    let mut shape = Shape::default();
    walk(example, ours, "", "", &mut shape);
    assert!(
        shape.missing.is_empty(),
        "missing documented fields: {:#?}",
        shape.missing
    );
    assert!(
        shape.wrong.is_empty(),
        "wrong JSON types: {:#?}",
        shape.wrong
    );
    let unexpected: Vec<_> = shape
        .nulls
        .iter()
        .filter(|(path, abs)| !may_be_null(path, abs))
        .map(|(p, _)| p)
        .collect();
    assert!(
        unexpected.is_empty(),
        "null where the data exists: {unexpected:#?}"
    );
    let empty: Vec<_> = shape
        .empty
        .iter()
        .filter(|(c, a)| !may_be_empty.contains(c) && !may_be_empty.contains(a))
        .map(|(c, _)| c)
        .collect();
    assert!(empty.is_empty(), "documented arrays left empty: {empty:#?}");
    shape.elements
}

/// [`assert_shape_with`], nulls allowed where the abstract path ends with one of `may_be_null`.
fn assert_shape(
    example: &Value,
    ours: &Value,
    may_be_empty: &[&str],
    may_be_null: &[&str],
) -> BTreeMap<String, usize> {
    assert_shape_with(example, ours, may_be_empty, &|_, abs| {
        may_be_null.iter().any(|m| abs.ends_with(m))
    })
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
    let (st, b) = app
        .put_op(
            &format!(
                "/payment/kpayment/v1/dealers/{}/departments/{}",
                s.dealer, s.department
            ),
            json!({"name": "Service", "departmentType": "SERVICE", "profile": {
                "calendarUuid": "c0ffee00-0000-4000-8000-000000000001", "brokerNumber": "B-7",
                "communicationGroup": "service-desk"}}),
        )
        .await;
    assert_eq!(st, 200, "{b}");
    let (st, b) = app.put_op(&format!("/payment/kpayment/v1/dealers/{}/associates/{}", s.dealer, s.associate), json!({
        "userUuid": uuid::Uuid::new_v4(), "firstName": "Sam", "lastName": "Advisor", "departmentUuid": s.department,
        "profile": {"userName": "sadvisor", "cellPhone": "+1 555 0101", "textNumber": "+1 555 0102",
            "isTextNumberVerified": true, "emailAddress": "sam@tm.example", "nickname": "Sam",
            "associateDmsID": "DMS-42", "imageUrl": "https://i.example/sam.png", "bio": "Service advisor",
            "roleName": "Service Advisor", "roleAcronym": "SA"}
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

/// prePayment of `amount` on the seeded invoice, confirmed with `number`: the attempt.
async fn pay(app: &TestApp, p: &Partner, s: &Seed, amount: f64, number: &str) -> Value {
    let (st, b) = TestApp::send(
        p.auth(app.req(Method::POST, "/payment/kpayment/v1/prepayment"))
            .json(&json!({"dealerUuid": s.dealer, "customerUuid": s.customer,
                "dealerOrderUuid": s.order, "invoiceGUID": s.invoice, "amount": amount,
                "ignorePaymentAttemptValidation": true, "ipAddress": "203.0.113.7",
                "currentPaymentUser": {"dealerAssociateUUID": s.associate},
                "transactionDetailsList": {"transactionDetails": [
                    {"type": "LABOR", "amount": amount, "description": "Brake pads"}]}})),
    )
    .await;
    assert_eq!(st, 200, "prepayment: {b}");
    let uuid = b["paymentAttempt"]["uuid"].as_str().unwrap().to_string();
    let (st, b) = TestApp::send(
        p.auth(app.req(
            Method::POST,
            &format!("/payment/kpayment/v1/paymentattempts/{uuid}/confirm"),
        ))
        .json(
            &json!({"card": {"number": number, "expMonth": 12, "expYear": 2031,
            "cvv": "123", "zip": "94107", "holderName": "Jo Rivera"}}),
        ),
    )
    .await;
    assert_eq!(st, 200, "confirm: {b}");
    b["paymentAttempt"].clone()
}

/// An approved charge of `amount` and a refund of `refund` of it: (charge, refund) attempts.
async fn charge_and_refund(
    app: &TestApp,
    p: &Partner,
    s: &Seed,
    amount: f64,
    refund: f64,
) -> (Value, Value) {
    let charge = pay(app, p, s, amount, connectors::sandbox::cards::VISA).await;
    assert_eq!(charge["status"], "Succeeded", "{charge}");
    let txn = charge["transaction"]["uuid"].as_str().unwrap();
    let (st, b) = TestApp::send(
        p.auth(app.req(
            Method::POST,
            &format!("/payment/kpayment/v1/transactions/{txn}/refund"),
        ))
        .json(&json!({ "amount": refund })),
    )
    .await;
    assert_eq!(st, 200, "refund: {b}");
    assert_eq!(b["paymentAttempt"]["status"], "Succeeded", "{b}");
    (charge, b["paymentAttempt"].clone())
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
    // Nothing paid yet: no transactions.
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

    // Paid in part and refunded in part: every element of `invoice.transactions[]` (the
    // charge and the refund) has every documented field.
    let payer = app.partner(&[(&s.dealer, None, "payment.all")]).await;
    let (charge, refund) = charge_and_refund(&app, &payer, &s, 100.00, 25.00).await;
    let (st, body) = TestApp::send(p.auth(app.req(
        Method::GET,
        &format!("/payment/kpayment/v1/paymentrequest/{guid}"),
    )))
    .await;
    assert_eq!(st, 200, "{body}");
    let mut may_be_null = NOT_EXISTING.to_vec();
    // Not settled (batch close comes a day later), never reconciled, no card-reader device;
    // a refund carries no authorization code (checked present on the charge below).
    may_be_null.extend([
        "transactions[].settledDate",
        "transactions[].reconciledDate",
        "transactions[].deviceId",
        "transactions[].transRefNum",
    ]);
    let checked = assert_shape(
        &fixture("payment_request_200.json"),
        &body,
        &["errors[]", "warnings[]"],
        &may_be_null,
    );
    let transactions = body["paymentRequest"]["invoice"]["transactions"]
        .as_array()
        .unwrap();
    let uuids: BTreeSet<&str> = transactions
        .iter()
        .filter_map(|t| t["uuid"].as_str())
        .collect();
    for a in [&charge, &refund] {
        let t = a["transaction"]["uuid"].as_str().unwrap();
        assert!(uuids.contains(t), "transaction {t} not listed: {body}");
    }
    let charged = transactions
        .iter()
        .find(|t| t["uuid"] == charge["transaction"]["uuid"])
        .unwrap();
    assert!(charged["transRefNum"].is_string(), "{charged}");
    assert_eq!(
        checked["paymentRequest.invoice.transactions[]"],
        transactions.len()
    );
    assert!(transactions.len() >= 2, "{body}");
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
        &["warnings[]"],
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

    // Real payments: an approved charge, its refund and a declined charge. Every element
    // of every array is checked, the transaction and transactionIncomplete subtrees (with
    // their transactionDetails[]) included.
    let payer = app.partner(&[(&s.dealer, None, "payment.all")]).await;
    let (charge, refund) = charge_and_refund(&app, &payer, &s, 100.00, 25.00).await;
    let declined = pay(&app, &payer, &s, 10.00, connectors::sandbox::cards::DECLINE).await;
    assert_eq!(declined["status"], "Failed", "{declined}");
    let (st, body) = TestApp::send(p.auth(app.req(Method::GET, &path))).await;
    assert_eq!(st, 200, "{body}");
    let attempts = body["paymentAttempts"].as_array().unwrap();
    // What may be null depends on the attempt: null only where its thing does not exist.
    let kind_of = |uuid: &Value| {
        [
            (&charge, "charge"),
            (&refund, "refund"),
            (&declined, "declined"),
        ]
        .into_iter()
        .find(|(a, _)| a["uuid"] == *uuid)
        .map_or("created", |(_, k)| k)
    };
    let kinds: Vec<&str> = attempts.iter().map(|a| kind_of(&a["uuid"])).collect();
    let allowed = |concrete: &str, abs: &str| {
        let ends = |list: &[&str]| list.iter().any(|m| abs.ends_with(m));
        if ends(NOT_EXISTING) {
            return true;
        }
        let Some(i) = concrete
            .strip_prefix("paymentAttempts[")
            .and_then(|r| r.split(']').next())
            .and_then(|i| i.parse::<usize>().ok())
        else {
            // No error on success; no signature requested.
            return ends(&["error", "signedDocumentUrl"]);
        };
        // Every attempt: no 3-D Secure here (no next action, no authentication result),
        // nothing settled yet (batch close comes a day later), never reconciled, no
        // card-reader device, and the associate data the product does not keep (invites,
        // message threads, out of office).
        if ends(&[
            "nextAction",
            "cardholderAuthenticationVerificationResponse",
            "settledDate",
            "parentTransaction.reconciledDate",
            "parentTransaction.deviceId",
            "defaultThreadOwnerUserUUID",
            "outOfOfficeStartDate",
            "userInviteStatus",
        ]) {
            return true;
        }
        match kinds[i] {
            // Not confirmed: nothing charged.
            "created" => ends(&["transaction", "transactionIncomplete", "transactionId"]),
            // Approved: no incomplete transaction (its line items name the transaction);
            // a charge has no parent.
            "charge" => ends(&[
                "transactionIncomplete",
                "transactionDetails[].transactionIncompleteId",
                "parentTransaction",
                "pgtransRefId",
            ]),
            // A refund names no associate or IP address, and checks no card.
            "refund" => ends(&[
                "transactionIncomplete",
                "paymentUser",
                "cashier",
                "ipAddress",
                "authorizationCode",
                "avsresponse",
                "cardCodeResponse",
            ]),
            // Declined: no transaction (its line items name the incomplete one), no parent,
            // no authorization.
            "declined" => ends(&[
                "transaction",
                "transactionDetails[].transactionId",
                "parentTransaction",
                "pgtransRefId",
                "authorizationCode",
            ]),
            k => unreachable!("{k}"),
        }
    };
    // A refund has no line items of its own.
    let refund_details = format!(
        "paymentAttempts[{}].transaction.transactionDetails[]",
        kinds.iter().position(|k| *k == "refund").unwrap()
    );
    let checked = assert_shape_with(
        &fixture("payment_status_200.json"),
        &body,
        &["warnings[]", &refund_details],
        &allowed,
    );
    assert_eq!(attempts.len(), 4, "{body}");
    assert_eq!(checked["paymentAttempts[]"], 4);
    // Null only where the thing does not exist: an approved attempt has its transaction,
    // a declined one its transactionIncomplete.
    for want in [&charge, &refund, &declined] {
        let uuid = want["uuid"].as_str().unwrap();
        let a = attempts
            .iter()
            .find(|a| a["uuid"] == uuid)
            .unwrap_or_else(|| panic!("attempt {uuid} not listed: {body}"));
        let (present, absent) = if want["status"] == "Succeeded" {
            ("transaction", "transactionIncomplete")
        } else {
            ("transactionIncomplete", "transaction")
        };
        assert!(a[present].is_object(), "{uuid}: no {present}: {a}");
        assert!(a[absent].is_null(), "{uuid}: {absent} too: {a}");
    }
    let refunded = attempts
        .iter()
        .find(|a| a["uuid"] == refund["uuid"])
        .unwrap();
    assert_eq!(
        refunded["transaction"]["parentTransaction"]["uuid"], charge["transaction"]["uuid"],
        "{refunded}"
    );
    for array in [
        "paymentAttempts[].transaction.transactionDetails[]",
        "paymentAttempts[].transactionIncomplete.transactionDetails[]",
    ] {
        assert!(
            checked.get(array).is_some_and(|n| *n > 0),
            "no element of {array} checked: {checked:?}"
        );
    }
}
