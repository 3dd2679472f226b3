//! Demo data: one dealer with settings, a department, an associate, a customer, a vehicle,
//! an open repair order with an invoice and a payment request, and a partner holding
//! `payment.all`. The dealer and its people keep fixed uuids; every run adds a fresh repair
//! order, invoice and payment request and gives the demo partner a new password, so a
//! second run never fails and always prints working credentials.

use api::app::AppState;
use engine::{dealer_data as dd, partners, payment_requests as prq};
use engine::{Actor, EngineError, Kind};
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

fn fail(e: EngineError) -> anyhow::Error {
    anyhow::anyhow!("seeding demo data failed: {} ({:?})", e.detail, e.code)
}

fn profile<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> T {
    serde_json::from_value(v).expect("demo profiles match the profile types")
}

fn some(s: &str) -> Option<String> {
    Some(s.to_string())
}

pub async fn seed(app: &AppState) -> anyhow::Result<Seeded> {
    let e = &app.engine;
    let op = Actor::Operator;
    e.upsert_dealer(
        &op,
        dd::UpsertDealer {
            dealer_uuid: DEALER.into(),
            name: some("Demo Motors"),
            settings: dd::DealerSettingsChange {
                duplicate_transaction_window_minutes: Some(10),
                enforce_cvv: Some(true),
                enforce_zip: Some(true),
                surcharge_enabled: Some(true),
                surcharge_percent: Some(3.0),
                dual_pricing_enabled: None,
                dual_pricing_percent: None,
                sales_tax_enabled: Some(true),
                sales_tax_percent: Some(8.25),
                allow_partial_payments: Some(true),
                payment_provider: some("SANDBOX"),
                ach_provider: None,
                preferred_dealer_id: None,
            },
            profile: profile(json!({ "phoneNumber": "+1 555 0100", "emailID": "service@demo-motors.example",
                         "website": "https://demo-motors.example", "serviceDeptHoursText": "Mon–Fri 7:00–18:00",
                         "loanerOffered": true, "shuttleOffered": true, "nickName": "Demo" })),
        },
    )
    .await
    .map_err(fail)?;
    e.upsert_department(
        &op,
        dd::UpsertDepartment {
            dealer_uuid: DEALER.into(),
            department_uuid: DEPARTMENT.into(),
            name: some("Service"),
            department_type: some("SERVICE"),
            profile: Default::default(),
        },
    )
    .await
    .map_err(fail)?;
    e.upsert_associate(
        &op,
        dd::UpsertAssociate {
            dealer_uuid: DEALER.into(),
            associate_uuid: ASSOCIATE.into(),
            user_uuid: some("6f1c2a3e-0d4b-4c5a-9e7f-1a2b3c4d5e06"),
            first_name: some("Sam"),
            last_name: some("Advisor"),
            department_uuid: some(DEPARTMENT),
            profile: profile(json!({"roleName": "Service Advisor", "roleAcronym": "SA"})),
        },
    )
    .await
    .map_err(fail)?;
    e.upsert_customer(
        &op,
        dd::UpsertCustomer {
            dealer_uuid: DEALER.into(),
            customer_uuid: CUSTOMER.into(),
            first_name: some("Jordan"),
            middle_name: None,
            last_name: some("Rivera"),
            company: None,
            email: some("jordan@example.com"),
            phone: some("+1 555 0142"),
            blacklisted: false,
            profile: profile(json!({"preferredLocale": "en"})),
        },
    )
    .await
    .map_err(fail)?;
    e.upsert_vehicle(
        &op,
        dd::UpsertVehicle {
            dealer_uuid: DEALER.into(),
            vehicle_uuid: VEHICLE.into(),
            customer_uuid: some(CUSTOMER),
            vin: some("1HGCM82633A004352"),
            make: some("Honda"),
            profile: profile(
                json!({"model": "Accord", "year": "2021", "color": "Blue", "mileage": "42000"}),
            ),
        },
    )
    .await
    .map_err(fail)?;

    let order_uuid = uuid::Uuid::new_v4().to_string();
    let order_number = format!("RO-{}", &order_uuid[..8].to_ascii_uppercase());
    let amount = domain::Money::from_cents(48_625).expect("a valid amount");
    e.upsert_order(
        &op,
        dd::UpsertOrder {
            dealer_uuid: DEALER.into(),
            order_uuid: order_uuid.clone(),
            order_number: Some(order_number),
            order_type: some("RO"),
            order_status: None,
            amount: Some(amount),
            order_date: None,
            department_uuid: some(DEPARTMENT),
            customer_uuid: some(CUSTOMER),
            vehicle_uuid: some(VEHICLE),
            dealer_associate_uuid: some(ASSOCIATE),
            profile: profile(
                json!({"description": "30k service, brake pads", "mileageText": "42,000 mi"}),
            ),
        },
    )
    .await
    .map_err(fail)?;
    let invoice_guid = uuid::Uuid::new_v4().to_string();
    e.upsert_invoice(
        &op,
        dd::UpsertInvoice {
            invoice_guid: invoice_guid.clone(),
            dealer_uuid: some(DEALER),
            dealer_order_uuid: Some(order_uuid.clone()),
            customer_uuid: some(CUSTOMER),
            dealer_associate_uuid: some(ASSOCIATE),
            amount: Some(amount),
            invoice_date: None,
            description: some("Repair order invoice"),
            file_name: None,
            reminder_date: None,
            reminder_mileage: None,
            attributes: [("laborTotal", "310.00"), ("partsTotal", "176.25")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        },
    )
    .await
    .map_err(fail)?;
    let pr = e
        .create_payment_request(
            &op,
            prq::NewPaymentRequest {
                dealer_uuid: some(DEALER),
                invoice_guid: Some(invoice_guid.clone()),
                amount: None,
                ttl: None,
                source: some("DEMO"),
                source_info: None,
                payment_type: None,
                locale: some("en"),
                attributes: Default::default(),
            },
        )
        .await
        .map_err(fail)?;

    let creds = match e.create_partner(&op, USERNAME).await {
        Ok(c) => c,
        Err(err) if err.kind == Kind::Conflict => {
            let uuid = e.partner_uuid_for(&op, USERNAME).await.map_err(fail)?;
            e.set_partner_disabled(&op, &uuid, false)
                .await
                .map_err(fail)?;
            e.rotate_partner_secret(&op, &uuid).await.map_err(fail)?
        }
        Err(err) => return Err(fail(err)),
    };
    let grant = partners::GrantSpec {
        dealer_uuid: DEALER.into(),
        department_uuid: None,
        scope: "payment.all".into(),
    };
    e.grant(&op, &creds.uuid, grant).await.map_err(fail)?;
    Ok(Seeded {
        username: creds.username,
        password: creds.secret,
        dealer_order_uuid: order_uuid,
        invoice_guid,
        payment_request_guid: pr.request.guid.clone(),
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
