//! DMS-sync upserts: created and updated in place, validated with catalog errors naming
//! the field, references checked against the same dealer, nothing half-written.

mod common;
use common::*;
use reqwest::Method;
use serde_json::{json, Value};

async fn count(app: &TestApp, table: &str) -> i64 {
    scalar(app.db(), format!("SELECT COUNT(*) FROM {table}"), vec![]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dealers_are_created_by_operators_and_updated_in_place() {
    let app = TestApp::spawn().await;
    let d = uuid::Uuid::new_v4().to_string();
    let path = format!("/payment/kpayment/v1/dealers/{d}");
    let (st, b) = app.put_op(&path, json!({"name": "Alpha Auto", "settings": {"enforceZip": true, "surchargeEnabled": true, "surchargePercent": 2.75}})).await;
    assert_eq!(st, 201, "{b}");
    assert_eq!(b["dealer"]["settings"]["surchargePercent"], json!(2.75));
    assert_eq!(b["dealer"]["settings"]["enforceZip"], json!(true));
    assert_eq!(
        b["dealer"]["settings"]["enforceCvv"],
        json!(true),
        "default"
    );
    assert_eq!(b["dealer"]["version"], json!(0));
    // Update: omitted settings keep their values; the version moves.
    let (st, b) = app.put_op(&path, json!({"name": "Alpha Auto Group", "settings": {"duplicateTransactionWindowMinutes": 30}})).await;
    assert_eq!(st, 200, "{b}");
    assert_eq!(b["dealer"]["name"], "Alpha Auto Group");
    assert_eq!(b["dealer"]["settings"]["surchargePercent"], json!(2.75));
    assert_eq!(
        b["dealer"]["settings"]["duplicateTransactionWindowMinutes"],
        json!(30)
    );
    assert_eq!(b["dealer"]["version"], json!(1));
    assert_eq!(count(&app, "dealers").await, 1);

    // A partner cannot create dealers, but can update one it holds payment.dealerdata for.
    let p = app.partner(&[(&d, None, "payment.dealerdata")]).await;
    let other = format!("/payment/kpayment/v1/dealers/{}", uuid::Uuid::new_v4());
    let (st, b) = TestApp::send(
        p.auth(app.req(Method::PUT, &other))
            .json(&json!({"name": "Mine"})),
    )
    .await;
    assert_eq!(st, 401);
    v1_error(&b, "INVALID_SCOPE_DEALER");
    let (st, b) = TestApp::send(
        p.auth(app.req(Method::PUT, &path))
            .json(&json!({"name": "Alpha"})),
    )
    .await;
    assert_eq!(st, 200, "{b}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dealer_settings_are_validated() {
    let app = TestApp::spawn().await;
    let path = format!("/payment/kpayment/v1/dealers/{}", uuid::Uuid::new_v4());
    let cases: Vec<(Value, &str, &str)> = vec![
        (json!({}), "REQUIRED_FIELDS_MISSING", "name"),
        (json!({"name": "  "}), "REQUIRED_FIELDS_MISSING", "name"),
        (json!({"name": 5}), "INVALID_DATA_FOR_THE_FIELD", "name"),
        (
            json!({"name": "x", "settings": {"surchargePercent": 4.5}}),
            "INVALID_DATA_FOR_THE_FIELD",
            "settings.surchargePercent",
        ),
        (
            json!({"name": "x", "settings": {"surchargePercent": 1.234}}),
            "INVALID_DATA_FOR_THE_FIELD",
            "settings.surchargePercent",
        ),
        (
            json!({"name": "x", "settings": {"salesTaxPercent": -1}}),
            "INVALID_DATA_FOR_THE_FIELD",
            "settings.salesTaxPercent",
        ),
        (
            json!({"name": "x", "settings": {"duplicateTransactionWindowMinutes": 99999}}),
            "INVALID_DATA_FOR_THE_FIELD",
            "settings.duplicateTransactionWindowMinutes",
        ),
        (
            json!({"name": "x", "settings": {"paymentProvider": "ACME"}}),
            "INVALID_DATA_FOR_THE_FIELD",
            "settings.paymentProvider",
        ),
        (
            json!({"name": "x", "settings": {"enforceCvv": "yes"}}),
            "INVALID_DATA_FOR_THE_FIELD",
            "settings.enforceCvv",
        ),
        (
            json!({"name": "x", "settings": {"surchargeEnabled": true, "dualPricingEnabled": true}}),
            "INVALID_DATA_FOR_THE_FIELD",
            "settings.dualPricingEnabled",
        ),
        (
            json!({"name": "x", "profile": {"latitude": 123.0}}),
            "INVALID_DATA_FOR_THE_FIELD",
            "profile.latitude",
        ),
        (
            json!({"name": "bad\u{0007}name"}),
            "INVALID_DATA_FOR_THE_FIELD",
            "name",
        ),
    ];
    for (body, title, field) in cases {
        let (st, b) = app.put_op(&path, body.clone()).await;
        assert_eq!(st, 400, "{body} → {b}");
        let desc = v1_error(&b, title);
        assert!(
            desc.starts_with(field),
            "{body}: description {desc:?} should name {field}"
        );
    }
    let (st, b) = app
        .put_op(
            "/payment/kpayment/v1/dealers/not-a-uuid",
            json!({"name": "x"}),
        )
        .await;
    assert_eq!(st, 400);
    assert!(v1_error(&b, "INVALID_DATA_FOR_THE_FIELD").starts_with("dealerUuid"));
    assert_eq!(count(&app, "dealers").await, 0, "nothing half-written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_check_their_references() {
    let app = TestApp::spawn().await;
    let s = app.seed(100.0).await;
    let other = app.seed(100.0).await;
    let orders_before = count(&app, "dealer_orders").await;
    let path = |o: &str| format!("/payment/kpayment/v1/dealers/{}/orders/{o}", s.dealer);
    let base = json!({"orderNumber": "RO-77", "orderType": "RO", "amount": 10.5, "departmentUuid": s.department,
        "customerUuid": s.customer, "vehicleUuid": s.vehicle, "dealerAssociateUuid": s.associate});
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    let new = || uuid::Uuid::new_v4().to_string();

    let (st, b) = app
        .put_op(
            &path(&new()),
            with("departmentUuid", json!(other.department)),
        )
        .await;
    assert_eq!(st, 400);
    v1_error(&b, "INVALID_DEPARTMENT");
    let (st, b) = app
        .put_op(&path(&new()), with("customerUuid", json!(other.customer)))
        .await;
    assert_eq!(st, 400);
    v1_error(&b, "INVALID_CUSTOMER_UUID");
    let (st, b) = app
        .put_op(&path(&new()), with("vehicleUuid", json!(new())))
        .await;
    assert_eq!(st, 400);
    v1_error(&b, "ERROR_WHILE_CREATING_ORDER");
    let (st, b) = app
        .put_op(
            &path(&new()),
            with("dealerAssociateUuid", json!(other.associate)),
        )
        .await;
    assert_eq!(st, 400);
    v1_error(&b, "DEALER_ASSOCIATE_NOT_FOUND");
    // An associate without a department cannot own an order.
    let loose = new();
    let (st, _) = app
        .put_op(
            &format!(
                "/payment/kpayment/v1/dealers/{}/associates/{loose}",
                s.dealer
            ),
            json!({"userUuid": new(), "firstName": "No", "lastName": "Dept"}),
        )
        .await;
    assert_eq!(st, 200);
    let (st, b) = app
        .put_op(&path(&new()), with("dealerAssociateUuid", json!(loose)))
        .await;
    assert_eq!(st, 400);
    v1_error(&b, "DEALER_ASSOCIATE_DEPARTMENT_MISSING");
    // A vehicle owned by another customer of the same dealer.
    let c2 = new();
    app.put_op(
        &format!("/payment/kpayment/v1/dealers/{}/customers/{c2}", s.dealer),
        json!({"lastName": "Other"}),
    )
    .await;
    let (st, b) = app
        .put_op(&path(&new()), with("customerUuid", json!(c2)))
        .await;
    assert_eq!(st, 400);
    v1_error(&b, "ERROR_WHILE_CREATING_ORDER");
    for (field, body) in [
        ("amount", with("amount", Value::Null)),
        ("orderNumber", with("orderNumber", json!(""))),
        ("departmentUuid", with("departmentUuid", Value::Null)),
    ] {
        let (st, b) = app.put_op(&path(&new()), body).await;
        assert_eq!(st, 400);
        assert!(
            v1_error(&b, "REQUIRED_FIELDS_MISSING").starts_with(field),
            "{b}"
        );
    }
    let (st, b) = app
        .put_op(&path(&new()), with("orderStatus", json!("PENDING")))
        .await;
    assert_eq!(st, 400);
    assert!(v1_error(&b, "INVALID_DATA_FOR_THE_FIELD").starts_with("orderStatus"));
    assert_eq!(
        count(&app, "dealer_orders").await,
        orders_before,
        "no order was written by a failed request"
    );

    // Create, then ORDER_ALREADY_EXISTS for the same number and type under another uuid.
    let o = new();
    let (st, b) = app.put_op(&path(&o), base.clone()).await;
    assert_eq!(st, 200, "{b}");
    let (st, b) = app.put_op(&path(&new()), base.clone()).await;
    assert_eq!(st, 409);
    v1_error(&b, "ORDER_ALREADY_EXISTS");
    // Same number with another type is a different order.
    assert_eq!(
        app.put_op(&path(&new()), with("orderType", json!("DEAL")))
            .await
            .0,
        200
    );
    // Close it.
    let (st, b) = app
        .put_op(&path(&o), with("orderStatus", json!("CLOSED")))
        .await;
    assert_eq!(st, 200);
    assert_eq!(b["dealerOrder"]["orderStatus"], "CLOSED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invoices_require_their_invoice_dto_references() {
    let app = TestApp::spawn().await;
    let s = app.seed(100.0).await;
    let other = app.seed(100.0).await;
    let full = json!({"paymentDealer": {"dealerUuid": s.dealer}, "paymentDealerOrder": {"dealerOrderUuid": s.order},
        "paymentCustomer": {"customerUuid": s.customer}, "paymentUser": {"dealerAssociateUUID": s.associate}, "amount": 99.99});
    let without = |k: &str| {
        let mut b = full.clone();
        b.as_object_mut().unwrap().remove(k);
        b
    };
    let with = |k: &str, v: Value| {
        let mut b = full.clone();
        b[k] = v;
        b
    };
    let path = format!("/payment/kpayment/v1/invoices/{}", uuid::Uuid::new_v4());
    let before = count(&app, "invoices").await;
    for (body, title) in [
        (
            without("paymentDealer"),
            "PAYMENT_DEALER_NOT_PRESENT_IN_INVOICE",
        ),
        (
            without("paymentDealerOrder"),
            "PAYMENT_DEALER_ORDER_NOT_PRESENT_IN_INVOICE",
        ),
        (
            without("paymentCustomer"),
            "PAYMENT_CUSTOMER_NOT_PRESENT_IN_INVOICE",
        ),
        (
            without("paymentUser"),
            "PAYMENT_USER_NOT_PRESENT_IN_INVOICE",
        ),
        (
            with(
                "paymentDealerOrder",
                json!({"dealerOrderUuid": other.order}),
            ),
            "INVALID_DEALERORDER_UUID",
        ),
        (
            with("paymentCustomer", json!({"customerUuid": other.customer})),
            "INVALID_CUSTOMER_UUID",
        ),
        (
            with(
                "paymentUser",
                json!({"dealerAssociateUUID": other.associate}),
            ),
            "DEALER_ASSOCIATE_NOT_FOUND",
        ),
        (without("amount"), "REQUIRED_FIELDS_MISSING"),
        (with("amount", json!(1.001)), "INVALID_DATA_FOR_THE_FIELD"),
        (with("amount", json!(-5)), "INVALID_DATA_FOR_THE_FIELD"),
        (
            with("amount", json!(10_000_000.01)),
            "INVALID_DATA_FOR_THE_FIELD",
        ),
        (
            with("reminderMileage", json!(-1)),
            "INVALID_DATA_FOR_THE_FIELD",
        ),
    ] {
        let (st, b) = app.put_op(&path, body.clone()).await;
        assert_eq!(st, 400, "{body} → {b}");
        v1_error(&b, title);
    }
    let (st, b) = app
        .put_op(
            &path,
            with("paymentDealer", json!({"dealerUuid": uuid::Uuid::new_v4()})),
        )
        .await;
    assert_eq!(st, 404);
    v1_error(&b, "INVALID_DEALER");
    assert_eq!(count(&app, "invoices").await, before);
    let (st, b) = app
        .put_op(
            &path,
            with("invoiceAttributes", json!({"ro": "77", "tax": "1.00"})),
        )
        .await;
    assert_eq!(st, 200, "{b}");
    assert_eq!(b["invoice"]["invoiceStatus"], "UNPAID");
    assert_eq!(b["invoice"]["amountDue"], json!(99.99));
    assert_eq!(b["invoice"]["invoiceAttributes"]["ro"], "77");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sub_resources_of_unknown_dealers_and_bad_values() {
    let app = TestApp::spawn().await;
    let s = app.seed(10.0).await;
    let ghost = uuid::Uuid::new_v4();
    let (st, b) = app
        .put_op(
            &format!(
                "/payment/kpayment/v1/dealers/{ghost}/departments/{}",
                uuid::Uuid::new_v4()
            ),
            json!({"name": "S", "departmentType": "SERVICE"}),
        )
        .await;
    assert_eq!(st, 404);
    v1_error(&b, "INVALID_DEALER");
    let cases = [
        (
            format!("departments/{}", uuid::Uuid::new_v4()),
            json!({"name": "S", "departmentType": "SPACESHIP"}),
            "departmentType",
        ),
        (
            format!("customers/{}", uuid::Uuid::new_v4()),
            json!({"lastName": "X", "email": "not-an-email"}),
            "email",
        ),
        (
            format!("customers/{}", uuid::Uuid::new_v4()),
            json!({"lastName": "X", "phone": "call me"}),
            "phone",
        ),
        (
            format!("vehicles/{}", uuid::Uuid::new_v4()),
            json!({"vin": "SHORT"}),
            "vin",
        ),
        (
            format!("vehicles/{}", uuid::Uuid::new_v4()),
            json!({"vin": "1HGCM82633A00435O"}),
            "vin",
        ),
        (
            format!("associates/{}", uuid::Uuid::new_v4()),
            json!({"userUuid": "nope", "firstName": "A", "lastName": "B"}),
            "userUuid",
        ),
    ];
    for (sub, body, field) in cases {
        let (st, b) = app
            .put_op(
                &format!("/payment/kpayment/v1/dealers/{}/{sub}", s.dealer),
                body.clone(),
            )
            .await;
        assert_eq!(st, 400, "{sub} {body} → {b}");
        assert!(
            v1_error(&b, "INVALID_DATA_FOR_THE_FIELD").starts_with(field),
            "{b}"
        );
    }
    let (st, b) = app
        .put_op(
            &format!(
                "/payment/kpayment/v1/dealers/{}/customers/{}",
                s.dealer,
                uuid::Uuid::new_v4()
            ),
            json!({"email": "a@b.example"}),
        )
        .await;
    assert_eq!(st, 400);
    v1_error(&b, "REQUIRED_FIELDS_MISSING");
    let (st, b) = app.put_op(&format!("/payment/kpayment/v1/dealers/{}/associates/{}", s.dealer, uuid::Uuid::new_v4()),
        json!({"userUuid": uuid::Uuid::new_v4(), "firstName": "A", "lastName": "B", "departmentUuid": uuid::Uuid::new_v4()})).await;
    assert_eq!(st, 400);
    v1_error(&b, "INVALID_DEPARTMENT");
}
