//! Demo data: one dealer with settings, a department, an associate, a customer, a vehicle,
//! an open repair order with an invoice and a payment request, and a partner holding
//! `payment.all`. The dealer and its people keep fixed uuids; every run adds a fresh repair
//! order, invoice and payment request and gives the demo partner a new password, so a
//! second run never fails and always prints working credentials.

use api::app::AppState;
use api::auth::Principal;
use api::core::{dealer_data as dd, partners, payment_requests as prq};
use api::ApiError;
use serde_json::json;

pub const DEALER: &str = "6f1c2a3e-0d4b-4c5a-9e7f-1a2b3c4d5e01";
pub const DEPARTMENT: &str = "6f1c2a3e-0d4b-4c5a-9e7f-1a2b3c4d5e02";
pub const ASSOCIATE: &str = "6f1c2a3e-0d4b-4c5a-9e7f-1a2b3c4d5e03";
pub const CUSTOMER: &str = "6f1c2a3e-0d4b-4c5a-9e7f-1a2b3c4d5e04";
pub const VEHICLE: &str = "6f1c2a3e-0d4b-4c5a-9e7f-1a2b3c4d5e05";
pub const USERNAME: &str = "demo";

pub struct Seeded {
    pub username: String,
    pub password: String,
    pub dealer_order_uuid: String,
    pub invoice_guid: String,
    pub payment_request_guid: String,
    pub pay_url: String,
    pub short_url: String,
}

impl Seeded {
    pub fn to_json(&self) -> serde_json::Value {
        json!({
            "username": self.username,
            "password": self.password,
            "dealerUuid": DEALER,
            "departmentUuid": DEPARTMENT,
            "dealerAssociateUuid": ASSOCIATE,
            "customerUuid": CUSTOMER,
            "vehicleUuid": VEHICLE,
            "dealerOrderUuid": self.dealer_order_uuid,
            "invoiceGuid": self.invoice_guid,
            "paymentRequestGuid": self.payment_request_guid,
            "payUrl": self.pay_url,
            "shortUrl": self.short_url,
        })
    }
}

fn fail(e: ApiError) -> anyhow::Error {
    anyhow::anyhow!(
        "seeding demo data failed: {} ({})",
        e.detail,
        e.entry(api::error::Family::V1).title
    )
}

fn parse<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> T {
    serde_json::from_value(v).expect("demo payloads match the request types")
}

pub async fn seed(app: &AppState) -> anyhow::Result<Seeded> {
    let op = Principal::Operator;
    dd::upsert_dealer(
        app,
        &op,
        DEALER,
        parse(json!({
            "name": "Demo Motors",
            "settings": { "duplicateTransactionWindowMinutes": 10, "enforceCvv": true, "enforceZip": true,
                          "surchargeEnabled": true, "surchargePercent": 3.0, "salesTaxEnabled": true,
                          "salesTaxPercent": 8.25, "allowPartialPayments": true, "paymentProvider": "SANDBOX" },
            "profile": { "phoneNumber": "+1 555 0100", "emailID": "service@demo-motors.example",
                         "website": "https://demo-motors.example", "serviceDeptHoursText": "Mon–Fri 7:00–18:00",
                         "loanerOffered": true, "shuttleOffered": true, "nickName": "Demo" }
        })),
    )
    .await
    .map_err(fail)?;
    dd::upsert_department(
        app,
        &op,
        DEALER,
        DEPARTMENT,
        parse(json!({"name": "Service", "departmentType": "SERVICE"})),
    )
    .await
    .map_err(fail)?;
    dd::upsert_associate(
        app,
        &op,
        DEALER,
        ASSOCIATE,
        parse(json!({"userUuid": "6f1c2a3e-0d4b-4c5a-9e7f-1a2b3c4d5e06", "firstName": "Sam", "lastName": "Advisor",
                     "departmentUuid": DEPARTMENT, "profile": {"roleName": "Service Advisor", "roleAcronym": "SA"}})),
    )
    .await
    .map_err(fail)?;
    dd::upsert_customer(
        app,
        &op,
        DEALER,
        CUSTOMER,
        parse(json!({"firstName": "Jordan", "lastName": "Rivera", "email": "jordan@example.com", "phone": "+1 555 0142",
                     "profile": {"preferredLocale": "en"}})),
    )
    .await
    .map_err(fail)?;
    dd::upsert_vehicle(
        app,
        &op,
        DEALER,
        VEHICLE,
        parse(json!({"customerUuid": CUSTOMER, "vin": "1HGCM82633A004352", "make": "Honda",
                     "profile": {"model": "Accord", "year": "2021", "color": "Blue", "mileage": "42000"}})),
    )
    .await
    .map_err(fail)?;

    let order_uuid = uuid::Uuid::new_v4().to_string();
    let order_number = format!("RO-{}", &order_uuid[..8].to_ascii_uppercase());
    dd::upsert_order(
        app,
        &op,
        DEALER,
        &order_uuid,
        parse(json!({"orderNumber": order_number, "orderType": "RO", "amount": 486.25, "departmentUuid": DEPARTMENT,
                     "customerUuid": CUSTOMER, "vehicleUuid": VEHICLE, "dealerAssociateUuid": ASSOCIATE,
                     "profile": {"description": "30k service, brake pads", "mileageText": "42,000 mi"}})),
    )
    .await
    .map_err(fail)?;
    let invoice_guid = uuid::Uuid::new_v4().to_string();
    dd::upsert_invoice(
        app,
        &op,
        &invoice_guid,
        parse(json!({"paymentDealer": {"dealerUuid": DEALER}, "paymentDealerOrder": {"dealerOrderUuid": order_uuid},
                     "paymentCustomer": {"customerUuid": CUSTOMER}, "paymentUser": {"dealerAssociateUUID": ASSOCIATE},
                     "amount": 486.25, "description": "Repair order invoice",
                     "invoiceAttributes": {"laborTotal": "310.00", "partsTotal": "176.25"}})),
    )
    .await
    .map_err(fail)?;
    let pr = prq::create(
        app,
        &op,
        parse(json!({"dealerUuid": DEALER, "invoiceGuid": invoice_guid, "source": "DEMO", "locale": "en"})),
    )
    .await
    .map_err(fail)?
    .payment_request;

    let creds = match partners::create(&app.db, USERNAME).await {
        Ok(c) => c,
        Err(e) if e.status == api::StatusCode::CONFLICT => {
            let uuid = partners::uuid_for(&app.db, USERNAME).await.map_err(fail)?;
            partners::set_disabled(&app.db, &uuid, false)
                .await
                .map_err(fail)?;
            partners::rotate_secret(&app.db, &uuid)
                .await
                .map_err(fail)?
        }
        Err(e) => return Err(fail(e)),
    };
    let grant = partners::GrantView {
        dealer_uuid: DEALER.into(),
        department_uuid: None,
        scope: "payment.all".into(),
    };
    partners::grant(&app.db, &creds.uuid, &grant)
        .await
        .map_err(fail)?;
    Ok(Seeded {
        username: creds.username,
        password: creds.secret,
        dealer_order_uuid: order_uuid,
        invoice_guid,
        payment_request_guid: pr.guid,
        pay_url: pr.pay_url,
        short_url: pr.short_url,
    })
}

pub fn instructions(s: &Seeded, base: &str) -> String {
    let base = base.trim_end_matches('/');
    let auth = format!("{}:{}", s.username, s.password);
    format!(
        "dealerpay demo data is ready (dealer \"Demo Motors\", {DEALER}).\n\
         Partner credentials (payment.all for the demo dealer):\n  username: {u}\n  password: {p}\n\n\
         Try it:\n\
         curl -s -u '{auth}' {base}/payment/kpayment/v1/paymentrequest/{pr}\n\
         curl -s -u '{auth}' '{base}/payment/v3/department/{DEPARTMENT}/status?invoiceId={inv}'\n\
         curl -s -u '{auth}' -X POST {base}/payment/kpayment/v1/paymentrequest -H 'Content-Type: application/json' \\\n  \
           -H 'Idempotency-Key: demo-1' -d '{{\"dealerUuid\":\"{DEALER}\",\"invoiceGuid\":\"{inv}\",\"amount\":100.00}}'\n\n\
         Pay page: {pay}   (short link: {short})\n\
         API docs: {base}/payment/docs\n",
        u = s.username,
        p = s.password,
        pr = s.payment_request_guid,
        inv = s.invoice_guid,
        pay = s.pay_url,
        short = s.short_url,
    )
}
