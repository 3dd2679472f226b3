//! Card payments end to end over real HTTP: prePayment rules, confirm through the sandbox,
//! declines, 3-D Secure, refunds and voids, fees, concurrency, and the in-flight resolver.

#![recursion_limit = "256"]
mod common;
use common::*;
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

fn card(number: &str) -> Value {
    let cvv = if number.starts_with("37") {
        "1234"
    } else {
        "123"
    };
    json!({"card": {"number": number, "expMonth": 12, "expYear": 2031, "cvv": cvv, "zip": "94107", "holderName": "Jo Rivera"}})
}

struct Payer<'a> {
    app: &'a TestApp,
    p: Partner,
    s: Seed,
}

impl<'a> Payer<'a> {
    async fn new(app: &'a TestApp, invoice_amount: f64) -> Payer<'a> {
        let s = app.seed(invoice_amount).await;
        let p = app.partner(&[(&s.dealer, None, "payment.all")]).await;
        Payer { app, p, s }
    }

    fn body(&self, amount: f64, extra: Value) -> Value {
        let mut b = json!({"dealerUuid": self.s.dealer, "customerUuid": self.s.customer, "dealerOrderUuid": self.s.order,
            "invoiceGUID": self.s.invoice, "amount": amount, "ignorePaymentAttemptValidation": true});
        if let (Some(m), Some(x)) = (b.as_object_mut(), extra.as_object()) {
            for (k, v) in x {
                m.insert(k.clone(), v.clone());
            }
        }
        b
    }

    async fn prepay(&self, body: Value) -> (u16, Value) {
        TestApp::send(
            self.p
                .auth(
                    self.app
                        .req(Method::POST, "/payment/kpayment/v1/prepayment"),
                )
                .json(&body),
        )
        .await
    }

    async fn attempt(&self, amount: f64) -> String {
        let (st, b) = self.prepay(self.body(amount, json!({}))).await;
        assert_eq!(st, 200, "{b}");
        b["paymentAttempt"]["uuid"].as_str().unwrap().to_string()
    }

    async fn confirm(&self, uuid: &str, body: Value) -> (u16, Value) {
        let path = format!("/payment/kpayment/v1/paymentattempts/{uuid}/confirm");
        TestApp::send(self.p.auth(self.app.req(Method::POST, &path)).json(&body)).await
    }

    async fn pay(&self, amount: f64, number: &str) -> Value {
        let a = self.attempt(amount).await;
        let (st, b) = self.confirm(&a, card(number)).await;
        assert_eq!(st, 200, "{b}");
        b["paymentAttempt"].clone()
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        TestApp::send(self.p.auth(self.app.req(Method::POST, path)).json(&body)).await
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        TestApp::send(self.p.auth(self.app.req(Method::GET, path))).await
    }

    async fn status(&self) -> Value {
        let (st, b) = self
            .get(&format!(
                "/payment/v3/department/{}/status?invoiceId={}",
                self.s.department, self.s.invoice
            ))
            .await;
        assert_eq!(st, 200, "{b}");
        b
    }

    async fn invoice_cents(&self) -> (i64, i64) {
        row(
            self.app.db(),
            format!(
                "SELECT paid_cents, refunded_cents FROM invoices WHERE guid = '{}'",
                self.s.invoice
            ),
            vec![],
        )
        .await
    }
}

async fn assert_reconciled(app: &TestApp) -> engine::reconcile::Report {
    let r = app.state.engine.reconcile().await.unwrap();
    assert!(r.differences.is_empty(), "reconcile: {:#?}", r.differences);
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approved_payment_end_to_end() {
    let app = TestApp::spawn().await;
    let py = Payer::new(&app, 250.0).await;
    let (st, b) = py
        .prepay(py.body(100.0, json!({"feeRequest": {"tenderType": "CREDIT", "cardType": "VISA"},
            "fetchDuplicateTransactionWindow": true, "fetchEnforceCvvDso": true, "fetchEnforceZipDso": true,
            "cardDigits": "4242", "locale": "es", "desc": "brakes", "attributes": {"lane": "3"}})))
        .await;
    assert_eq!(st, 200, "{b}");
    // Dealer: surcharge 3.5% capped to Visa's 3%, sales tax 10% on the fee.
    assert_eq!(b["fees"]["surchargePercent"], json!(3.0));
    assert_eq!(b["fees"]["surcharge"], json!(3.0));
    assert_eq!(b["fees"]["salesTax"], json!(0.3));
    assert_eq!(b["fees"]["total"], json!(103.3));
    assert_eq!(b["duplicateTransactionWindow"], json!(10));
    assert_eq!(b["enforceCvvDso"], json!(true));
    assert_eq!(b["enforceZipDso"], json!(false));
    assert_eq!(b["warnings"][0]["warningTitle"], "NO_PREFERRED_DEALER_ID");
    assert_eq!(b["warnings"][0]["warningCode"], json!(150000));
    let attempt = &b["paymentAttempt"];
    assert_eq!(attempt["status"], "Created");
    assert_eq!(attempt["attemptNumber"], json!(1));
    assert_eq!(attempt["paymentAttemptAttributes"]["lane"], "3");
    let uuid = attempt["uuid"].as_str().unwrap().to_string();

    let (st, b) = py.confirm(&uuid, card("4242424242424242")).await;
    assert_eq!(st, 200, "{b}");
    let a = &b["paymentAttempt"];
    assert_eq!(a["status"], "Succeeded");
    assert!(a["transactionIncomplete"].is_null());
    let t = &a["transaction"];
    assert_eq!(t["status"], "APPROVED");
    assert_eq!(t["transactionType"], "CHARGE");
    assert_eq!(t["transAmount"], json!(103.3));
    assert_eq!(a["transactionId"], t["id"]);
    assert_eq!(t["tenderData"]["data"], "VISA ending 4242");
    let hash = t["tenderData"]["hash"].as_str().unwrap();
    assert!(
        hash.len() == 64 && hash.bytes().all(|c| c.is_ascii_hexdigit()),
        "{hash}"
    );
    assert_eq!(
        t["tenderData"]["tenderSubType"]["tenderType"]["tenderName"],
        "CREDIT"
    );
    let g = &t["paymentGatewayResponse"];
    assert_eq!(
        (g["isApproved"].clone(), g["responseCode"].clone()),
        (json!(true), json!(1))
    );
    assert_eq!(g["authorizationCode"].as_str().unwrap().len(), 6);
    assert_eq!(g["paymentAttemptUuid"], json!(uuid));
    assert_eq!(t["invoice"]["invoiceStatus"], "PARTIALLY_PAID");
    assert_eq!(t["roOwner"]["uuid"], json!(py.s.associate));
    assert_eq!(py.invoice_cents().await, (10_000, 0));

    // The v3 status shows it; the payment request lists the transaction.
    let status = py.status().await;
    assert_eq!(status["paymentAttempts"].as_array().unwrap().len(), 1);
    assert_eq!(
        status["paymentAttempts"][0]["transaction"]["uuid"],
        t["uuid"]
    );
    let (st, pr) = app.payment_request(&py.s, json!({})).await;
    assert_eq!(st, 201, "{pr}");
    assert_eq!(
        pr["paymentRequest"]["amount"],
        json!(150.0),
        "what is still due"
    );
    let (st, got) = py
        .get(&format!(
            "/payment/kpayment/v1/paymentrequest/{}",
            pr["paymentRequest"]["guid"].as_str().unwrap()
        ))
        .await;
    assert_eq!(st, 200);
    assert_eq!(
        got["paymentRequest"]["invoice"]["transactions"][0]["transactionType"]["shortCode"],
        "CHARGE"
    );
    assert_eq!(
        got["paymentRequest"]["invoice"]["transactions"][0]["transAmount"],
        json!(103.3)
    );

    // Unknown attempts.
    for bad in [uuid::Uuid::new_v4().to_string(), "nope".to_string()] {
        let (st, b) = py.confirm(&bad, card("4242424242424242")).await;
        assert_eq!(st, 404);
        v1_error(&b, "INVALID_PAYMENT_ATTEMPT_ID");
    }
    // An attempt is charged once.
    let (st, b) = py.confirm(&uuid, card("4242424242424242")).await;
    assert_eq!(st, 409);
    v1_error(&b, "EERROR_UPDATING_PAYMENT_ATTEMPT");
    let r = assert_reconciled(&app).await;
    assert_eq!(r.approved_charges, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declines_brands_debit_and_tokens() {
    let app = TestApp::spawn().await;
    let py = Payer::new(&app, 10_000.0).await;
    for (number, status, reason, code) in [
        ("4000000000000002", "Failed", "generic_decline", "05"),
        ("4000000000009995", "Failed", "insufficient_funds", "51"),
        ("4000000000000069", "Failed", "expired_card", "54"),
        ("4000000000000127", "Failed", "incorrect_cvc", "N7"),
        ("4000000000000119", "Failed", "processing_error", "96"),
        ("5555555555554444", "Succeeded", "approved", "00"),
        ("378282246310005", "Succeeded", "approved", "00"),
        ("6011111111111117", "Succeeded", "approved", "00"),
    ] {
        let a = py.pay(10.0, number).await;
        assert_eq!(a["status"], status, "{number}: {a}");
        assert_eq!(a["responseDescription"], reason, "{number}");
        assert_eq!(a["responseCode"], code, "{number}");
        if status == "Failed" {
            assert!(a["transaction"].is_null());
            let ti = &a["transactionIncomplete"];
            let expected = if reason == "processing_error" {
                "ERROR"
            } else {
                "DECLINED"
            };
            assert_eq!(ti["status"], expected, "{number}");
            assert_eq!(ti["paymentGatewayResponse"]["responseReasonText"], reason);
        }
    }
    // Mastercard: the dealer's 3.5% is under its 4% cap.
    let mc = py.pay(100.0, "5555555555554444").await;
    assert_eq!(mc["transaction"]["transAmount"], json!(103.85));
    // Debit: never surcharged.
    let debit = py.pay(100.0, "4000056655665556").await;
    assert_eq!(debit["status"], "Succeeded");
    assert_eq!(debit["transaction"]["transAmount"], json!(100.0));
    assert_eq!(
        debit["transaction"]["tenderData"]["tenderSubType"]["tenderType"]["tenderName"],
        "DEBIT"
    );
    // Tokens instead of card details.
    let a = py.attempt(5.0).await;
    let (st, b) = py.confirm(&a, json!({"token": "tok_amex"})).await;
    assert_eq!(st, 200);
    assert_eq!(
        b["paymentAttempt"]["transaction"]["tenderData"]["data"],
        "AMEX ending 0005"
    );
    let a = py.attempt(5.0).await;
    let (st, b) = py.confirm(&a, json!({"token": "tok_nope"})).await;
    assert_eq!(st, 400);
    assert!(v1_error(&b, "INVALID_DATA_FOR_THE_FIELD").starts_with("token"));
    // Expired by date, missing CVV where the dealer enforces it, bad card numbers.
    let a = py.attempt(5.0).await;
    let (_, b) = py.confirm(&a, json!({"card": {"number": "4242424242424242", "expMonth": 1, "expYear": 2020, "cvv": "123"}})).await;
    assert_eq!(b["paymentAttempt"]["responseDescription"], "expired_card");
    let a = py.attempt(5.0).await;
    let (_, b) = py
        .confirm(
            &a,
            json!({"card": {"number": "4242424242424242", "expMonth": 1, "expYear": 2030}}),
        )
        .await;
    assert_eq!(b["paymentAttempt"]["responseDescription"], "incorrect_cvc");
    let a = py.attempt(5.0).await;
    for (body, field) in [
        (
            json!({"card": {"number": "4242424242424241", "expMonth": 1, "expYear": 2030, "cvv": "123"}}),
            "card.number",
        ),
        (
            json!({"card": {"number": "4242", "expMonth": 1, "expYear": 2030, "cvv": "123"}}),
            "card.number",
        ),
        (
            json!({"card": {"number": "4242424242424242", "expMonth": 13, "expYear": 2030, "cvv": "123"}}),
            "card.expMonth",
        ),
        (
            json!({"card": {"number": "4242424242424242", "expMonth": 1, "expYear": 2030, "cvv": "12a"}}),
            "card.cvv",
        ),
        (json!({}), "card"),
    ] {
        let (st, b) = py.confirm(&a, body.clone()).await;
        assert_eq!(st, 400, "{body}");
        let d = b["errors"][0]["errorDescription"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(d.starts_with(field), "{body} → {d}");
        assert!(
            !b.to_string().contains("42424242"),
            "never echo a card number: {b}"
        );
    }
    // The attempt is untouched by invalid requests and can still be confirmed.
    let (st, b) = py.confirm(&a, card("4242424242424242")).await;
    assert_eq!(
        (st, b["paymentAttempt"]["status"].clone()),
        (200, json!("Succeeded"))
    );

    // ZIP 00000 fails address verification where the dealer enforces ZIP.
    let (st, _) = app
        .put_op(
            &format!("/payment/kpayment/v1/dealers/{}", py.s.dealer),
            json!({"name": "Test Motors", "settings": {"enforceZip": true}}),
        )
        .await;
    assert_eq!(st, 200);
    let a = py.attempt(5.0).await;
    let (_, b) = py.confirm(&a, json!({"card": {"number": "4242424242424242", "expMonth": 1, "expYear": 2030, "cvv": "123", "zip": "00000"}})).await;
    assert_eq!(b["paymentAttempt"]["responseDescription"], "avs_failure");
    assert_eq!(
        b["paymentAttempt"]["transactionIncomplete"]["paymentGatewayResponse"]["avsresponse"],
        "N"
    );

    // Only approved charges count toward the invoice.
    let paid: i64 = 1000 * 3 + 10_000 * 2 + 500 * 2;
    assert_eq!(py.invoice_cents().await.0, paid);
    assert_reconciled(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_d_secure_pass_and_fail() {
    let app = TestApp::spawn().await;
    let py = &Payer::new(&app, 1000.0).await;
    let challenge = |b: &Value| {
        b["paymentAttempt"]["nextAction"]["redirectToUrlAction"]["redirectUrl"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let complete = |uuid: String| async move {
        py.post(
            &format!("/payment/kpayment/v1/paymentattempts/{uuid}/complete"),
            json!({}),
        )
        .await
    };

    let a = py.attempt(50.0).await;
    let (st, b) = py.confirm(&a, card("4000000000003220")).await;
    assert_eq!(st, 200, "{b}");
    assert_eq!(b["paymentAttempt"]["status"], "RequiresAction");
    assert_eq!(
        b["paymentAttempt"]["nextAction"]["actionType"],
        "REDIRECT_TO_URL"
    );
    let url = challenge(&b);
    assert!(
        url.starts_with(&format!("{}/sandbox/challenge/", app.base)),
        "{url}"
    );
    // While it waits, the order takes no other payment.
    let other = py.attempt(10.0).await;
    let (st, b2) = py.confirm(&other, card("4242424242424242")).await;
    assert_eq!(st, 409);
    v1_error(&b2, "ANOTHER_REQUEST_IN_PROGRESS");
    // Completing before the customer answered keeps it waiting.
    let (st, b2) = complete(a.clone()).await;
    assert_eq!(
        (st, b2["paymentAttempt"]["status"].clone()),
        (200, json!("RequiresAction"))
    );
    let page = app.client.get(&url).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert!(page
        .text()
        .await
        .unwrap()
        .contains("Complete authentication"));
    let r = app
        .client
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("result=pass")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let (st, b) = complete(a.clone()).await;
    assert_eq!(st, 200, "{b}");
    let pa = &b["paymentAttempt"];
    assert_eq!(pa["status"], "Succeeded");
    assert_eq!(
        pa["transaction"]["paymentGatewayResponse"]["cardholderAuthenticationVerificationResponse"],
        "Y"
    );
    assert_eq!(
        pa["transaction"]["threeDSAuthenticationFailed"],
        json!(false)
    );

    // Failing the challenge; with a return URL the customer is sent back.
    let a = py.attempt(20.0).await;
    let mut body = card("4000000000003220");
    body["returnUrl"] = json!("https://dealer.example/paid");
    let (_, b) = py.confirm(&a, body).await;
    let r = app
        .client
        .post(challenge(&b))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("result=fail")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(
        r.headers()["location"],
        "https://dealer.example/paid?threeDS=failed"
    );
    let (st, b) = complete(a.clone()).await;
    assert_eq!(st, 200);
    let pa = &b["paymentAttempt"];
    assert_eq!(pa["status"], "Failed");
    assert_eq!(pa["responseDescription"], "authentication_failed");
    assert_eq!(
        pa["transactionIncomplete"]["threeDSAuthenticationFailed"],
        json!(true)
    );
    let (st, b) = complete(a).await;
    assert_eq!(st, 409);
    v1_error(&b, "EERROR_UPDATING_PAYMENT_ATTEMPT");
    assert_eq!(py.invoice_cents().await.0, 5_000);
    assert_reconciled(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prepayment_rules_in_order() {
    let app = TestApp::spawn().await;
    let py = Payer::new(&app, 100.0).await;
    let other = app.seed(100.0).await;
    let expect = |r: (u16, Value), st: u16, title: &str| {
        assert_eq!(r.0, st, "{title}: {}", r.1);
        v1_error(&r.1, title)
    };
    let without = |k: &str| {
        let mut b = py.body(10.0, json!({}));
        b.as_object_mut().unwrap().remove(k);
        b
    };
    for k in [
        "dealerUuid",
        "amount",
        "customerUuid",
        "invoiceGUID",
        "dealerOrderUuid",
    ] {
        let d = expect(
            py.prepay(without(k)).await,
            400,
            "PEPAYMENT_VALIDATION_FAILED",
        );
        assert!(d.starts_with(k), "{d}");
    }
    for (extra, field) in [
        (json!({"amount": "ten"}), "amount"),
        (json!({"amount": 1.234}), "amount"),
        (json!({"locale": "de"}), "locale"),
        (json!({"cardDigits": "12"}), "cardDigits"),
        (
            json!({"transactionTypeShortCode": "REFUND"}),
            "transactionTypeShortCode",
        ),
        (json!({"paymentProvider": "ACME"}), "paymentProvider"),
        (json!({"isMobilePayment": "yes"}), "isMobilePayment"),
        (
            json!({"transactionDetailsList": {"transactionDetails": [{"type": "LABOR", "amount": 11.0}]}}),
            "transactionDetailsList",
        ),
    ] {
        let d = expect(
            py.prepay(py.body(10.0, extra.clone())).await,
            400,
            "PEPAYMENT_VALIDATION_FAILED",
        );
        assert!(d.starts_with(field), "{extra} → {d}");
    }
    let r = TestApp::send(
        py.p.auth(app.req(Method::POST, "/payment/kpayment/v1/prepayment"))
            .body("{nope")
            .header("content-type", "application/json"),
    )
    .await;
    expect(r, 400, "INVALID_REQUEST_DATA");
    // Authorization before existence.
    let stranger = app.partner(&[(&other.dealer, None, "payment.all")]).await;
    let r = TestApp::send(
        stranger
            .auth(app.req(Method::POST, "/payment/kpayment/v1/prepayment"))
            .json(&py.body(10.0, json!({}))),
    )
    .await;
    expect(r, 401, "INVALID_SCOPE_DEALER");
    let r = TestApp::send(
        app.op(Method::POST, "/payment/kpayment/v1/prepayment")
            .json(&py.body(10.0, json!({"dealerUuid": uuid::Uuid::new_v4()}))),
    )
    .await;
    expect(r, 400, "INVALID_DEALER");
    expect(
        py.prepay(py.body(10.0, json!({"customerUuid": other.customer})))
            .await,
        400,
        "INVALID_CUSTOMER_UUID",
    );
    expect(
        py.prepay(py.body(10.0, json!({"dealerOrderUuid": other.order})))
            .await,
        400,
        "INVALID_DEALERORDER_UUID",
    );
    expect(
        py.prepay(py.body(10.0, json!({"invoiceGUID": other.invoice})))
            .await,
        400,
        "INVALID_INVOICE_ID",
    );
    let d = expect(
        py.prepay(py.body(100.01, json!({}))).await,
        400,
        "PEPAYMENT_VALIDATION_FAILED",
    );
    assert!(d.starts_with("amount"));
    // By order number instead of uuid.
    let mut by_number = without("dealerOrderUuid");
    by_number["orderNumber"] = json!(format!("RO-{}", &py.s.order[..8]));
    assert_eq!(py.prepay(by_number).await.0, 200);
    // Fees.
    expect(
        py.prepay(py.body(10.0, json!({"feeRequest": {"tenderType": "CHECK"}})))
            .await,
        400,
        "ERROR_WHILE_FETHING_FEES",
    );
    expect(
        py.prepay(py.body(10.0, json!({"feeRequest": {"cardType": "DINERS"}})))
            .await,
        400,
        "ERROR_WHILE_FETHING_FEES",
    );
    expect(
        py.prepay(py.body(10.0, json!({"feeRequest": {"dealerUuid": other.dealer}})))
            .await,
        400,
        "ERROR_WHILE_FETHING_FEES",
    );
    // The seed page's full request, every field, is accepted.
    let full = json!({"dealerUuid": py.s.dealer, "customerUuid": py.s.customer, "orderNumber": "ignored", "invoiceGUID": py.s.invoice,
        "customerID": 0, "paymentUserID": 0, "currentPaymentUser": {"id": 0, "dealerAssociateUUID": py.s.associate, "userUUID": "u", "dealerDepartmentUUID": py.s.department},
        "originalPaymentUserId": 0, "originalPaymentUser": {"id": 0, "dealerAssociateUUID": "x", "userUUID": "u", "dealerDepartmentUUID": "d"},
        "dealerID": 0, "desc": "string", "amount": 1, "dealerOrderAmount": 0, "dealerOrderUuid": py.s.order, "reminderDate": "string",
        "reminderMileage": 0, "orderType": "RO", "isMobilePayment": true, "fetchDuplicateTransactionWindow": true, "fetchEnforceCvvDso": true,
        "fetchEnforceZipDso": true, "skin": "string", "locale": "en", "cardDigits": "4242", "ignorePaymentAttemptValidation": true,
        "isThirdPartyVendor": true, "paymentProvider": "SANDBOX", "transactionTypeShortCode": "CHARGE", "signatureType": "string",
        "signatureData": "string", "ipAddress": "203.0.113.7",
        "transactionDetailsList": {"transactionDetails": [{"id": 0, "transactionId": 0, "transactionIncompleteId": 0, "type": "LABOR", "amount": 0.5, "description": "string"}]},
        "feeRequest": {"fetchSurcharge": true, "fetchApplicationFee": true, "dealerId": 0, "tenderType": "CREDIT", "cardType": "VISA",
            "transactionDepartment": "SERVICE", "paymentType": "ONLINE", "dealerUuid": py.s.dealer},
        "attributes": {}});
    let (st, b) = py.prepay(full).await;
    assert_eq!(st, 200, "{b}");
    let a = b["paymentAttempt"]["uuid"].as_str().unwrap();
    assert_eq!(
        b["paymentAttempt"]["paymentUser"]["dealerAssociateUUID"],
        json!(py.s.associate)
    );
    let (_, b) = py.confirm(a, card("4242424242424242")).await;
    assert_eq!(
        b["paymentAttempt"]["transaction"]["transactionDetails"][0]["type"],
        "LABOR"
    );
    assert_eq!(
        b["paymentAttempt"]["transaction"]["ipAddress"],
        "203.0.113.7"
    );
    assert_eq!(
        b["paymentAttempt"]["transaction"]["cashier"]["uuid"],
        json!(py.s.associate)
    );

    // Order, customer and invoice states.
    let zero = app.seed(0.0).await;
    let pz = app.partner(&[(&zero.dealer, None, "payment.all")]).await;
    let zb = json!({"dealerUuid": zero.dealer, "customerUuid": zero.customer, "dealerOrderUuid": zero.order, "invoiceGUID": zero.invoice, "amount": 1.0});
    expect(
        TestApp::send(
            pz.auth(app.req(Method::POST, "/payment/kpayment/v1/prepayment"))
                .json(&zb),
        )
        .await,
        400,
        "INVOICE_ALREADY_PAID",
    );
    let order = json!({"orderNumber": format!("RO-{}", &py.s.order[..8]), "orderType": "RO", "amount": 100.0, "orderStatus": "CLOSED",
        "departmentUuid": py.s.department, "customerUuid": py.s.customer});
    assert_eq!(
        app.put_op(
            &format!(
                "/payment/kpayment/v1/dealers/{}/orders/{}",
                py.s.dealer, py.s.order
            ),
            order.clone()
        )
        .await
        .0,
        200
    );
    expect(
        py.prepay(py.body(10.0, json!({}))).await,
        400,
        "REPAIR_ORDER_CLOSED",
    );
    let mut open = order;
    open["orderStatus"] = json!("OPEN");
    assert_eq!(
        app.put_op(
            &format!(
                "/payment/kpayment/v1/dealers/{}/orders/{}",
                py.s.dealer, py.s.order
            ),
            open
        )
        .await
        .0,
        200
    );
    app.put_op(
        &format!(
            "/payment/kpayment/v1/dealers/{}/customers/{}",
            py.s.dealer, py.s.customer
        ),
        json!({"lastName": "R", "blacklisted": true}),
    )
    .await;
    expect(
        py.prepay(py.body(10.0, json!({}))).await,
        400,
        "CUSTOMER_BLACKLISTED",
    );
    app.put_op(
        &format!(
            "/payment/kpayment/v1/dealers/{}/customers/{}",
            py.s.dealer, py.s.customer
        ),
        json!({"lastName": "R"}),
    )
    .await;

    // Card testing: ten failures on an invoice in a day stop new attempts.
    for _ in 0..10 {
        let a = py.attempt(1.0).await;
        assert_eq!(
            py.confirm(&a, card("4000000000000002")).await.1["paymentAttempt"]["status"],
            "Failed"
        );
    }
    expect(
        py.prepay(py.body(1.0, json!({}))).await,
        400,
        "ERROR_CREATING_PAYMENTATTEMPT",
    );

    // A preferred dealer id silences the warning.
    app.put_op(
        &format!("/payment/kpayment/v1/dealers/{}", other.dealer),
        json!({"name": "Other", "settings": {"preferredDealerId": "D-77"}}),
    )
    .await;
    let po = app
        .partner(&[(&other.dealer, None, "payment.prepayment")])
        .await;
    let ob = json!({"dealerUuid": other.dealer, "customerUuid": other.customer, "dealerOrderUuid": other.order, "invoiceGUID": other.invoice, "amount": 1.0});
    let (st, b) = TestApp::send(
        po.auth(app.req(Method::POST, "/payment/kpayment/v1/prepayment"))
            .json(&ob),
    )
    .await;
    assert_eq!(st, 200, "{b}");
    assert_eq!(b["warnings"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suspected_duplicates() {
    let app = TestApp::spawn().await;
    let py = Payer::new(&app, 1000.0).await;
    let body = |amount: f64, ignore: bool| {
        py.body(
            amount,
            json!({"cardDigits": "4242", "ignorePaymentAttemptValidation": ignore}),
        )
    };
    let (st, b) = py.prepay(body(25.0, false)).await;
    assert_eq!(st, 200);
    py.confirm(
        b["paymentAttempt"]["uuid"].as_str().unwrap(),
        card("4242424242424242"),
    )
    .await;
    let (st, b) = py.prepay(body(25.0, false)).await;
    assert_eq!(st, 400);
    v1_error(&b, "SUSPECTED_DUPLICATE_PAYMENT");
    assert_eq!(
        py.prepay(body(25.0, true)).await.0,
        200,
        "ignorePaymentAttemptValidation"
    );
    assert_eq!(py.prepay(body(26.0, false)).await.0, 200, "another amount");
    assert_eq!(
        py.prepay(py.body(
            25.0,
            json!({"cardDigits": "1111", "ignorePaymentAttemptValidation": false})
        ))
        .await
        .0,
        200
    );
    app.put_op(
        &format!("/payment/kpayment/v1/dealers/{}", py.s.dealer),
        json!({"name": "T", "settings": {"duplicateTransactionWindowMinutes": 0}}),
    )
    .await;
    assert_eq!(
        py.prepay(body(25.0, false)).await.0,
        200,
        "window 0 disables the check"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refunds_and_voids() {
    let app = TestApp::spawn().await;
    let py = &Payer::new(&app, 1000.0).await;
    let charge = py.pay(100.0, "4242424242424242").await; // 100 + 3.00 surcharge + 0.30 tax
    let t = charge["transaction"]["uuid"].as_str().unwrap().to_string();
    let refund = |uuid: String, body: Value| async move {
        py.post(
            &format!("/payment/kpayment/v1/transactions/{uuid}/refund"),
            body,
        )
        .await
    };
    let void = |uuid: String| async move {
        py.post(
            &format!("/payment/kpayment/v1/transactions/{uuid}/void"),
            json!({}),
        )
        .await
    };

    let (st, b) = refund(t.clone(), json!({"amount": 30.0, "reason": "goodwill"})).await;
    assert_eq!(st, 200, "{b}");
    let r = &b["paymentAttempt"];
    assert_eq!(
        (r["status"].clone(), r["transactionType"].clone()),
        (json!("Succeeded"), json!("REFUND"))
    );
    assert_eq!(r["transaction"]["parentTransaction"]["uuid"], json!(t));
    assert_eq!(r["transaction"]["transactionType"], "REFUND");
    assert_eq!(r["transaction"]["invoice"]["refundedAmount"], json!(30.0));
    assert_eq!(py.invoice_cents().await, (10_000, 3_000));
    let (st, b) = refund(t.clone(), json!({"amount": 80.0})).await;
    assert_eq!(st, 409);
    assert!(v1_error(&b, "INVALID_DATA_FOR_THE_FIELD").starts_with("amount"));
    // The rest: 73.30, of which 70.00 is the invoice's part.
    let (st, b) = refund(t.clone(), json!({})).await;
    assert_eq!(st, 200);
    assert_eq!(
        b["paymentAttempt"]["transaction"]["transAmount"],
        json!(73.3)
    );
    assert_eq!(py.invoice_cents().await, (10_000, 10_000));
    let (st, _) = refund(t.clone(), json!({})).await;
    assert_eq!(st, 400, "nothing left");
    let (st, b) = void(t.clone()).await;
    assert_eq!(st, 409);
    v1_error(&b, "EERROR_UPDATING_PAYMENT_ATTEMPT");

    // Void before settlement undoes the payment.
    let c2 = py.pay(50.0, "5555555555554444").await;
    let t2 = c2["transaction"]["uuid"].as_str().unwrap().to_string();
    let (st, b) = void(t2.clone()).await;
    assert_eq!(st, 200, "{b}");
    assert_eq!(b["paymentAttempt"]["transactionType"], "VOID");
    assert_eq!(
        b["paymentAttempt"]["transaction"]["parentTransaction"]["isVoided"],
        json!(true)
    );
    assert_eq!(py.invoice_cents().await, (10_000, 10_000));
    assert_eq!(void(t2.clone()).await.0, 409);
    assert_eq!(
        refund(t2, json!({"amount": 1.0})).await.0,
        409,
        "a voided charge cannot be refunded"
    );

    // After settlement only a refund is possible; a partly refunded charge cannot be voided.
    let c3 = py.pay(20.0, "4242424242424242").await;
    let t3 = c3["transaction"]["uuid"].as_str().unwrap().to_string();
    assert_eq!(refund(t3.clone(), json!({"amount": 1.0})).await.0, 200);
    assert_eq!(void(t3).await.0, 409);
    let c4 = py.pay(20.0, "4242424242424242").await;
    let t4 = c4["transaction"]["uuid"].as_str().unwrap().to_string();
    let (st, b) = TestApp::send(
        app.op(Method::POST, "/payment/admin/v1/settlement")
            .json(&json!({})),
    )
    .await;
    assert_eq!(st, 200, "{b}");
    assert!(b["settlement"]["settled"].as_i64().unwrap() >= 1);
    let (st, b) = void(t4.clone()).await;
    assert_eq!(st, 409);
    assert!(v1_error(&b, "EERROR_UPDATING_PAYMENT_ATTEMPT").contains("settled"));
    assert_eq!(refund(t4, json!({"amount": 5.0})).await.0, 200);

    // Unknown or non-charge transactions.
    let (st, b) = refund(uuid::Uuid::new_v4().to_string(), json!({})).await;
    assert_eq!(st, 404);
    v1_error(&b, "ERROR_FETCHING_TRANSACTION");
    let declined = py.pay(5.0, "4000000000000002").await;
    let (st, _) = refund(
        declined["transactionIncomplete"]["uuid"]
            .as_str()
            .unwrap()
            .to_string(),
        json!({}),
    )
    .await;
    assert_eq!(st, 409);
    // A partner without payment.refund cannot refund.
    let weak = app
        .partner(&[(&py.s.dealer, None, "payment.prepayment")])
        .await;
    let path = format!(
        "/payment/kpayment/v1/transactions/{}/refund",
        c3["transaction"]["uuid"].as_str().unwrap()
    );
    let (st, b) = TestApp::send(
        weak.auth(app.req(Method::POST, &path))
            .json(&json!({"amount": 1.0})),
    )
    .await;
    assert_eq!(st, 401);
    v1_error(&b, "INVALID_SCOPE_DEALER");
    let r = assert_reconciled(&app).await;
    assert_eq!(r.approved_reversals, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_confirms_make_one_charge() {
    let app = TestApp::spawn().await;
    let py = Payer::new(&app, 100.0).await;
    let mut attempts = Vec::new();
    for _ in 0..50 {
        attempts.push(py.attempt(100.0).await);
    }
    let mut tasks = Vec::new();
    for a in attempts {
        let rb =
            py.p.auth(app.req(
                Method::POST,
                &format!("/payment/kpayment/v1/paymentattempts/{a}/confirm"),
            ))
            .json(&card("4242424242424242"));
        tasks.push(tokio::spawn(async move { TestApp::send(rb).await }));
    }
    let mut succeeded = 0;
    for t in tasks {
        let (st, b) = t.await.unwrap();
        match st {
            200 => {
                assert_eq!(b["paymentAttempt"]["status"], "Succeeded", "{b}");
                succeeded += 1;
            }
            409 => assert_eq!(b["errors"][0]["errorTitle"], "ANOTHER_REQUEST_IN_PROGRESS"),
            400 => assert_eq!(b["errors"][0]["errorTitle"], "INVOICE_ALREADY_PAID"),
            other => panic!("{other}: {b}"),
        }
    }
    assert_eq!(succeeded, 1);
    assert_eq!(py.invoice_cents().await.0, 10_000);
    let ledger = app.processor().ledger().await.unwrap();
    assert_eq!(ledger.iter().filter(|e| e.status == "approved").count(), 1);
    assert_reconciled(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_refunds_never_exceed_the_charge() {
    let app = TestApp::spawn().await;
    let py = Payer::new(&app, 100.0).await;
    let c = py.pay(100.0, "4000056655665556").await; // debit: 100.00, no fees
    let t = c["transaction"]["uuid"].as_str().unwrap().to_string();
    let mut approved_cents = 0i64;
    // Waves of 50 concurrent refunds of 7.00 until nothing is left.
    for _wave in 0..40 {
        let mut tasks = Vec::new();
        for _ in 0..50 {
            let rb =
                py.p.auth(app.req(
                    Method::POST,
                    &format!("/payment/kpayment/v1/transactions/{t}/refund"),
                ))
                .json(&json!({"amount": 7.0}));
            tasks.push(tokio::spawn(async move { TestApp::send(rb).await }));
        }
        for task in tasks {
            let (st, b) = task.await.unwrap();
            match st {
                200 => {
                    assert_eq!(b["paymentAttempt"]["status"], "Succeeded");
                    approved_cents += 700;
                }
                409 => {}
                other => panic!("{other}: {b}"),
            }
        }
        if approved_cents >= 9_800 {
            break;
        }
    }
    assert_eq!(
        approved_cents, 9_800,
        "14 refunds of 7.00 fit in 100.00, a 15th never does"
    );
    let (reversed, total): (i64, i64) = row(
        app.db(),
        format!("SELECT reversed_cents, total_cents FROM transactions WHERE uuid = '{t}'"),
        vec![],
    )
    .await;
    assert_eq!((reversed, total), (9_800, 10_000));
    assert_eq!(py.invoice_cents().await, (10_000, 9_800));
    assert_reconciled(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotency_key_replays_a_confirm() {
    let app = TestApp::spawn().await;
    let py = Payer::new(&app, 100.0).await;
    let a = py.attempt(10.0).await;
    let send = || {
        py.p.auth(app.req(
            Method::POST,
            &format!("/payment/kpayment/v1/paymentattempts/{a}/confirm"),
        ))
        .header("Idempotency-Key", "confirm-1")
        .json(&card("4242424242424242"))
        .send()
    };
    let first = send().await.unwrap();
    assert_eq!(first.status().as_u16(), 200);
    let first = first.text().await.unwrap();
    let again = send().await.unwrap();
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.text().await.unwrap(), first);
    assert_eq!(app.processor().ledger().await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_resolver_settles_unknown_outcomes_and_abandoned_challenges() {
    let app = TestApp::spawn_with(|c| {
        c.processor_timeout = Duration::from_secs(1);
        c.sandbox_slow_delay = Duration::from_millis(1500);
        c.resolver_interval = Duration::from_millis(300);
        c.challenge_timeout = Duration::from_secs(1);
    })
    .await;
    let py = Payer::new(&app, 100.0).await;
    // The slow card answers after our timeout: 202, in flight, then settled by the resolver.
    let a = py.attempt(10.0).await;
    let (st, b) = py.confirm(&a, card("4000000000006975")).await;
    assert_eq!(st, 202, "{b}");
    assert_eq!(b["paymentAttempt"]["status"], "InProgress");
    let settled = poll(&py, &a, "Succeeded").await;
    assert_eq!(settled["transaction"]["status"], "APPROVED");
    // An abandoned 3-D Secure challenge fails the attempt and frees the order.
    let a = py.attempt(10.0).await;
    let (_, b) = py.confirm(&a, card("4000000000003220")).await;
    assert_eq!(b["paymentAttempt"]["status"], "RequiresAction");
    let failed = poll(&py, &a, "Failed").await;
    assert_eq!(failed["responseDescription"], "authentication_abandoned");
    assert_eq!(
        failed["transactionIncomplete"]["threeDSAuthenticationFailed"],
        json!(true)
    );
    assert_eq!(
        py.pay(10.0, "4242424242424242").await["status"],
        "Succeeded"
    );
    assert_eq!(py.invoice_cents().await.0, 2_000);
    assert_reconciled(&app).await;
}

async fn poll(py: &Payer<'_>, uuid: &str, want: &str) -> Value {
    for _ in 0..100 {
        let (_, b) = py
            .get(&format!("/payment/kpayment/v1/paymentattempts/{uuid}"))
            .await;
        if b["paymentAttempt"]["status"] == want {
            return b["paymentAttempt"].clone();
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("attempt {uuid} never reached {want}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fee_quotes_match_payments() {
    let app = TestApp::spawn().await;
    let py = &Payer::new(&app, 100.0).await;
    let quote = |tender: &str, card: Option<&str>| {
        let mut b = json!({"dealerUuid": py.s.dealer, "amount": 200.0, "tenderType": tender});
        if let Some(c) = card {
            b["cardType"] = json!(c);
        }
        async move { py.post("/payment/kpayment/v1/fees/quote", b).await }
    };
    let (st, b) = quote("CREDIT", Some("VISA")).await;
    assert_eq!(st, 200, "{b}");
    assert_eq!(
        (
            b["fees"]["surcharge"].clone(),
            b["fees"]["salesTax"].clone(),
            b["fees"]["total"].clone()
        ),
        (json!(6.0), json!(0.6), json!(206.6))
    );
    let (_, b) = quote("CREDIT", Some("MASTERCARD")).await;
    assert_eq!(b["fees"]["surcharge"], json!(7.0));
    let (_, b) = quote("DEBIT", Some("VISA")).await;
    assert_eq!(b["fees"]["total"], json!(200.0));
    let (st, b) = quote("CASH", None).await;
    assert_eq!(st, 400);
    assert!(v1_error(&b, "INVALID_DATA_FOR_THE_FIELD").starts_with("tenderType"));
    // Dual pricing instead of surcharge.
    app.put_op(&format!("/payment/kpayment/v1/dealers/{}", py.s.dealer), json!({"name": "T", "settings": {"surchargeEnabled": false, "dualPricingEnabled": true, "dualPricingPercent": 4.0}})).await;
    let (_, b) = quote("DEBIT", None).await;
    assert_eq!(
        (
            b["fees"]["dualPricingFee"].clone(),
            b["fees"]["isDualPricing"].clone(),
            b["fees"]["total"].clone()
        ),
        (json!(8.0), json!(true), json!(208.8))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorize_only_then_capture_or_cancel() {
    let app = TestApp::spawn().await;
    let py = Payer::new(&app, 500.0).await;
    let a = py.attempt(100.0).await;
    let mut body = card("4242424242424242");
    body["capture"] = json!(false);
    let (st, b) = py.confirm(&a, body.clone()).await;
    assert_eq!(st, 200, "{b}");
    assert_eq!(b["paymentAttempt"]["status"], "RequiresCapture");
    assert!(
        b["paymentAttempt"]["transaction"].is_null(),
        "nothing is charged yet"
    );
    assert_eq!(py.invoice_cents().await.0, 0);
    // The hold keeps the order's payment slot.
    let other = py.attempt(10.0).await;
    assert_eq!(py.confirm(&other, card("4242424242424242")).await.0, 409);
    let (st, b) = py
        .post(
            &format!("/payment/kpayment/v1/paymentattempts/{a}/capture"),
            json!({"amount": 150.0}),
        )
        .await;
    assert_eq!(st, 400);
    assert!(v1_error(&b, "INVALID_DATA_FOR_THE_FIELD").starts_with("amount"));
    let (st, b) = py
        .post(
            &format!("/payment/kpayment/v1/paymentattempts/{a}/capture"),
            json!({"amount": 60.0}),
        )
        .await;
    assert_eq!(st, 200, "{b}");
    let pa = &b["paymentAttempt"];
    assert_eq!(pa["status"], "Succeeded");
    assert_eq!(pa["amount"], json!(60.0));
    assert_eq!(
        pa["transaction"]["transAmount"],
        json!(61.98),
        "60.00 + 3% + 10% tax on the fee"
    );
    assert_eq!(py.invoice_cents().await.0, 6_000);
    let (st, _) = py
        .post(
            &format!("/payment/kpayment/v1/paymentattempts/{a}/capture"),
            json!({}),
        )
        .await;
    assert_eq!(st, 409);

    // Authorize, then cancel: the hold is released and the order is free again.
    let a2 = py.attempt(20.0).await;
    let (_, b) = py.confirm(&a2, body).await;
    assert_eq!(b["paymentAttempt"]["status"], "RequiresCapture");
    let (st, b) = py
        .post(
            &format!("/payment/kpayment/v1/paymentattempts/{a2}/cancel"),
            json!({}),
        )
        .await;
    assert_eq!(st, 200, "{b}");
    assert_eq!(b["paymentAttempt"]["status"], "Cancelled");
    assert_eq!(
        py.pay(10.0, "4242424242424242").await["status"],
        "Succeeded"
    );
    assert_reconciled(&app).await;
}
