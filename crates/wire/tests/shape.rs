//! The wire types must serialize to exactly the key paths (and JSON value kinds) of the
//! documented 200 examples, copied verbatim from the seed pages into `tests/fixtures/`.

use std::collections::{BTreeMap, BTreeSet};

use domain::{Money, Timestamp};
use serde_json::{Map, Value};
use wire::*;

const PAYMENT_REQUEST_200: &str = include_str!("fixtures/payment_request_200.json");
const PAYMENT_STATUS_200: &str = include_str!("fixtures/payment_status_200.json");

// ---------------------------------------------------------------------------------------------
// Key-path machinery
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Null,
    Bool,
    Number,
    String,
    Array,
    Object,
}

fn kind(v: &Value) -> Kind {
    match v {
        Value::Null => Kind::Null,
        Value::Bool(_) => Kind::Bool,
        Value::Number(_) => Kind::Number,
        Value::String(_) => Kind::String,
        Value::Array(_) => Kind::Array,
        Value::Object(_) => Kind::Object,
    }
}

/// Every key path (`a.b[].c`) with the kind of its value; arrays descend into their first element.
/// Every key path of `v`, through every element of every array (not just the first): the
/// elements of one array must agree on each path's kind, a `null` giving way to a value.
fn key_paths(v: &Value) -> BTreeMap<String, Kind> {
    fn put(out: &mut BTreeMap<String, Kind>, path: String, k: Kind) {
        match out.get(&path) {
            None | Some(Kind::Null) => {
                out.insert(path, k);
            }
            Some(existing) if k != Kind::Null && *existing != k => {
                panic!("the elements disagree at {path}: {existing:?} and {k:?}")
            }
            Some(_) => {}
        }
    }
    fn walk(v: &Value, prefix: &str, out: &mut BTreeMap<String, Kind>) {
        match v {
            Value::Object(map) => {
                for (k, child) in map {
                    let path = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    put(out, path.clone(), kind(child));
                    walk(child, &path, out);
                }
            }
            Value::Array(items) => {
                for item in items {
                    walk(item, &format!("{prefix}[]"), out);
                }
            }
            _ => {}
        }
    }
    let mut out = BTreeMap::new();
    walk(v, "", &mut out);
    out
}

/// Fails on any documented path we lack, any kind mismatch where ours is non-null, and any extra path.
fn assert_same_shape(name: &str, ours: &Value, documented: &Value) {
    let ours = key_paths(ours);
    let documented = key_paths(documented);
    let missing: Vec<&String> = documented
        .keys()
        .filter(|k| !ours.contains_key(*k))
        .collect();
    let extra: Vec<&String> = ours
        .keys()
        .filter(|k| !documented.contains_key(*k))
        .collect();
    let mismatched: Vec<String> = ours
        .iter()
        .filter_map(|(path, ours_kind)| {
            let doc_kind = documented.get(path)?;
            (*ours_kind != Kind::Null && ours_kind != doc_kind)
                .then(|| format!("{path}: ours {ours_kind:?}, documented {doc_kind:?}"))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "{name}: documented key paths missing from ours: {missing:#?}"
    );
    assert!(
        mismatched.is_empty(),
        "{name}: JSON value kinds differ: {mismatched:#?}"
    );
    assert!(
        extra.is_empty(),
        "{name}: extra key paths on our side (should be none): {extra:#?}"
    );
}

/// In a fully-populated value every path is non-null, so every kind above was really checked.
fn assert_no_nulls(name: &str, v: &Value) {
    let nulls: Vec<String> = key_paths(v)
        .into_iter()
        .filter(|(_, k)| *k == Kind::Null)
        .map(|(p, _)| p)
        .collect();
    assert!(
        nulls.is_empty(),
        "{name}: fully-populated value still has nulls at {nulls:#?}"
    );
}

/// With `None`s, fields must still be present (as null), never skipped: every documented child of
/// an object we emit must be there.
fn assert_nulls_not_skipped(name: &str, ours: &Value, documented: &Value) {
    let ours = key_paths(ours);
    let documented = key_paths(documented);
    let parent_is_emitted_object = |path: &str| match path.rfind('.') {
        None => true,
        // Element of an array: checkable only if we emitted a first element (some child path).
        Some(i) if path[..i].ends_with("[]") => ours.keys().any(|k| k.starts_with(&path[..=i])),
        Some(i) => ours.get(&path[..i]) == Some(&Kind::Object),
    };
    let skipped: Vec<&String> = documented
        .keys()
        .filter(|p| parent_is_emitted_object(p) && !ours.contains_key(*p))
        .collect();
    assert!(
        skipped.is_empty(),
        "{name}: fields skipped instead of null: {skipped:#?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Fully-populated builders
// ---------------------------------------------------------------------------------------------

fn s(v: &str) -> String {
    v.to_string()
}
fn some(v: &str) -> Option<String> {
    Some(v.to_string())
}
fn money(cents: i64) -> Money {
    Money::from_cents(cents).unwrap()
}
fn ts() -> Timestamp {
    Timestamp::parse("2025-03-28T11:34:46.794Z").unwrap()
}

fn payment_user() -> PaymentUser {
    PaymentUser {
        id: 7,
        dealer_associate_uuid: some("da-1"),
        user_uuid: some("u-1"),
        dealer_department_uuid: some("dd-1"),
    }
}

fn payment_customer() -> PaymentCustomer {
    PaymentCustomer {
        customer_uuid: s("c-1"),
        first_name: some("Ada"),
        middle_name: some("B"),
        last_name: some("Lovelace"),
        company: some("Analytical"),
    }
}

fn payment_dealer() -> PaymentDealer {
    PaymentDealer {
        dealer_uuid: s("d-1"),
        name: some("Main Street Motors"),
    }
}

fn payment_dealer_order() -> PaymentDealerOrder {
    PaymentDealerOrder {
        order_number: s("RO-1"),
        order_type: some("RO"),
        order_date: Some(ts()),
        payment_dealer: payment_dealer(),
        payment_customer: payment_customer(),
        payment_user: Some(payment_user()),
        signature_request_id: Some(3),
        department_uuid: s("dep-1"),
        dealer_order_uuid: s("do-1"),
        number_of_invoices: 1,
        ready_ro_data: some("{}"),
        paid_amount: money(1000),
        amount: money(12550),
        dealer_order_sync_date: Some(ts()),
        paid_in_kaarma: false,
        suspicious: false,
        paid: false,
        payment_request_sent: true,
        paid_online: false,
    }
}

fn transaction_summary() -> TransactionSummary {
    TransactionSummary {
        id: 11,
        transaction_type: TransactionTypeInfo {
            id: 1,
            short_code: s("CHG"),
            description: some("Charge"),
            deposit: 1,
            fee: 0,
        },
        description: some("card payment"),
        trans_date: ts(),
        trans_amount: money(1000),
        account_balance: money(11550),
        trans_ref_num: some("ref"),
        details: some("details"),
        category: some("PAYMENT"),
        source: some("WEB"),
        is_reconciled: false,
        is_settled: true,
        reconciled_date: Some(ts()),
        settled_date: Some(ts()),
        device_id: Some(5),
        payment_gateway_trans_id: some("pg-1"),
        is_voided: false,
        payment_provider: some("STRIPE"),
        uuid: s("t-1"),
    }
}

fn payment_request_response() -> PaymentRequestResponse {
    PaymentRequestResponse {
        errors: vec![V1Error {
            error_code: 1,
            error_title: s("t"),
            error_message: s("m"),
            error_description: s("d"),
        }],
        warnings: vec![V1Warning {
            warning_code: 2,
            warning_title: s("t"),
            warning_message: s("m"),
            warning_description: s("d"),
        }],
        payment_request: Some(PaymentRequestDto {
            id: 1,
            version: 0,
            amount: money(12550),
            time_stamp: ts(),
            source: some("DMS"),
            source_info: some("info"),
            status: s("OPEN"),
            ttl: 3600,
            payment_type: some("FULL"),
            guid: s("pr-1"),
            refund_status: some("NONE"),
            payment_request_attributes: vec![PaymentRequestAttribute {
                id: 1,
                name: s("k"),
                value: some("v"),
            }],
            invoice: PaymentRequestInvoice {
                id: 2,
                version: 0,
                guid: s("inv-1"),
                invoice_status: s("OPEN"),
                amount: money(12550),
                invoice_date: ts(),
                description: some("Oil change"),
                refunded_amount: money(0),
                paid_date: Some(ts()),
                signature_file_name: some("sig.png"),
                payment_user: Some(payment_user()),
                payment_dealer_order_dto: payment_dealer_order(),
                transactions: vec![transaction_summary()],
                reminder_date: Some(ts()),
                reminder_mileage: Some(30000),
                file_name: some("inv.pdf"),
                dealer_order: DealerOrder {
                    id: 3,
                    order_number: s("RO-1"),
                    order_type: some("RO"),
                    amount: money(12550),
                    order_date: Some(ts()),
                    description: some("desc"),
                    order_status: some("OPEN"),
                    invoice_url: some("https://example.invalid/inv"),
                    ready_ro_data: some("{}"),
                    mileage_text: some("30,000"),
                    department_type: some("SERVICE"),
                    labour_op_types: some("A"),
                    dms_description: some("dms"),
                    uuid: s("do-1"),
                    updated_dt: ts(),
                    created_dt: ts(),
                    pay_types: some("C"),
                    labor_types: some("L"),
                    tag_or_hat: some("T12"),
                    vehicle: Some(Vehicle {
                        id: 4,
                        version: 0,
                        brand: Some(VehicleBrand {
                            id: 5,
                            version: 0,
                            brand_name: s("Acme"),
                            is_valid: true,
                        }),
                        vin: some("1HGCM82633A004352"),
                        has_obd_device: false,
                        license_plate: some("ABC123"),
                        bought_date: Some(ts()),
                        sold_date: Some(ts()),
                        added_date: Some(ts()),
                        model: some("Roadster"),
                        year: some("2020"),
                        trim: some("LX"),
                        engine: some("V6"),
                        body: some("Sedan"),
                        latest_mileage: some("30000"),
                        transmission: some("Auto"),
                        name: some("My car"),
                        make: some("Acme"),
                        mileage: some("30000"),
                        is_primary: true,
                        last_service_date: Some(ts()),
                        license_state_code: some("CA"),
                        license_state_description: some("California"),
                        vehicle_key: some("vk"),
                        status: some("ACTIVE"),
                        parent: Some(9),
                        color: some("Red"),
                        uuid: s("v-1"),
                        is_valid: true,
                    }),
                    signature_request_id: Some(3),
                    paid_amount: money(0),
                    delivery_amount: money(500),
                    customer_signature_url: some("https://example.invalid/sig"),
                    paid: false,
                    payment_request_sent: true,
                    paid_online: false,
                },
                dealer: Dealer {
                    id: 6,
                    name: s("Main Street Motors"),
                    contract_name: some("MSM LLC"),
                    number: some("001"),
                    comments: some("c"),
                    is_valid: true,
                    phone_number: some("555-0100"),
                    email_id: some("svc@example.invalid"),
                    website: some("https://example.invalid"),
                    map_url: some("https://example.invalid/map"),
                    pickup_offered: true,
                    dropoff_offered: true,
                    shuttle_offered: false,
                    coupon_offered: false,
                    loaner_offered: true,
                    service_dept_hours_text: some("8-5"),
                    parts_dept_hours_text: some("8-5"),
                    sales_dept_hours_text: some("9-9"),
                    fi_dept_hours_text: some("9-6"),
                    in_network: true,
                    latitude: Some(37.77),
                    longitude: Some(-122.41),
                    altitude: Some(16.0),
                    is_system_dealer: false,
                    nick_name: some("MSM"),
                    uuid: s("d-1"),
                },
                invoice_attributes: vec![InvoiceAttributeOption {
                    option: s("po"),
                    value: some("42"),
                }],
                customer: Customer {
                    first_name: some("Ada"),
                    middle_name: some("B"),
                    last_name: some("Lovelace"),
                    gender: some("F"),
                    company: some("Analytical"),
                    nick_name: some("Ada"),
                    customer_key: some("ck"),
                    image_url: some("https://example.invalid/a.png"),
                    guid: s("c-1"),
                    is_valid: true,
                    status: some("ACTIVE"),
                    opted_out: false,
                    is_indexed: true,
                    preferred_locale: some("en-US"),
                    availability: 1,
                    phone: some("555-0101"),
                    email: some("ada@example.invalid"),
                    phone_communication_id: Some(1),
                    email_communication_id: Some(2),
                },
            },
            sales_tax: money(825),
            max_surcharge: money(300),
            max_surcharge_percent: 3.0,
            is_dual_pricing: false,
            is_surcharge: true,
        }),
    }
}

fn associate(name: &str) -> Associate {
    Associate {
        id: 20,
        uuid: format!("{name}-uuid"),
        user_uuid: s("u-2"),
        first_name: some(name),
        last_name: some("Smith"),
        user_name: some("jsmith"),
        cell_phone: some("555-0102"),
        text_number: some("555-0103"),
        is_text_number_verified: true,
        email_address: some("j@example.invalid"),
        nickname: some("J"),
        associate_dms_id: some("dms-7"),
        image_url: some("https://example.invalid/j.png"),
        is_valid: true,
        bio: some("bio"),
        user_invite_status: some("ACCEPTED"),
        default_thread_owner_user_uuid: some("u-3"),
        out_of_office: false,
        out_of_office_start_date: some("2025-03-28"),
        sso_feature_enabled: false,
        is_dealer_mapped_to_sso_partner: false,
        is_sso_partner_mapped: false,
        department: AssociateDepartment {
            id: 30,
            name: s("Service"),
            uuid: s("dep-1"),
            calendar_uuid: some("cal-1"),
            broker_number: some("b-1"),
            communication_group: some("cg"),
            dealer: DepartmentDealer {
                id: 6,
                name: s("Main Street Motors"),
                uuid: s("d-1"),
                is_valid: true,
            },
        },
        role: AssociateRole {
            role_name: s("Cashier"),
            role_acronym: some("CSH"),
        },
    }
}

fn transaction() -> TransactionDto {
    TransactionDto {
        status: TransactionStatus::Approved,
        id: 40,
        uuid: s("tx-1"),
        payment_gateway_response: Some(PaymentGatewayResponse {
            id: 41,
            version: 0,
            response_code: 1,
            response_reason_code: 1,
            response_reason_text: some("ok"),
            authorization_code: some("AUTH"),
            avs_response: some("Y"),
            description: some("d"),
            amount: money(12550),
            card_code_response: some("M"),
            cardholder_authentication_verification_response: some("2"),
            card_type: some("VISA"),
            pg_trans_id: some("pg-1"),
            pg_trans_ref_id: some("pgr-1"),
            is_approved: true,
            is_declined: false,
            is_error: false,
            is_review: false,
            payment_provider_type: some("STRIPE"),
            uuid: s("pgr-uuid"),
            payment_attempt_uuid: some("pa-1"),
        }),
        payment_user: Some(payment_user()),
        transaction_type: TransactionType::Charge,
        invoice: TransactionInvoice {
            id: 2,
            guid: s("inv-1"),
            invoice_status: s("PAID"),
            amount: money(12550),
            invoice_date: ts(),
            description: some("Oil change"),
            refunded_amount: money(0),
            paid_date: Some(ts()),
            file_name: some("inv.pdf"),
            reminder_mileage: Some(30000),
            reminder_date: Some(ts()),
            signature_file_name: some("sig.png"),
            payment_declines: some("0"),
            invoice_attributes: Map::new(),
            payment_dealer: PaymentDealerRef {
                dealer_uuid: s("d-1"),
            },
            payment_dealer_order: PaymentDealerOrderRef {
                order_number: s("RO-1"),
                order_type: some("RO"),
                department_uuid: s("dep-1"),
                dealer_order_uuid: s("do-1"),
            },
            payment_customer: PaymentCustomerRef {
                customer_uuid: s("c-1"),
            },
            payment_user: Some(payment_user()),
        },
        tender_data: Some(TenderData {
            id: 50,
            data: some("****4242"),
            hash: some("h"),
            tender_sub_type: TenderSubType {
                id: 51,
                sub_tender_name: s("VISA"),
                tender_type: TenderTypeInfo {
                    id: 52,
                    version: 0,
                    tender_name: s("CARD"),
                    available_on_mobile: true,
                },
                valid: true,
            },
        }),
        description: some("card payment"),
        trans_date: ts(),
        trans_amount: money(12550),
        source: some("WEB"),
        payment_provider: some("STRIPE"),
        payment_dealer: payment_dealer(),
        payment_dealer_order: payment_dealer_order(),
        payment_customer: payment_customer(),
        device_type: DeviceType::Manual,
        transaction_attributes: Map::new(),
        account_balance: money(0),
        details: some("details"),
        is_settled: false,
        settled_date: Some(ts()),
        payment_gateway_trans_id: some("pg-1"),
        is_voided: false,
        ip_address: some("203.0.113.7"),
        parent_transaction: Some(transaction_summary()),
        transaction_details: vec![TransactionDetail {
            id: 60,
            transaction_id: Some(40),
            transaction_incomplete_id: Some(41),
            detail_type: s("SURCHARGE"),
            amount: money(300),
            description: some("card surcharge"),
        }],
        ro_owner: Some(associate("Jane")),
        cashier: Some(associate("John")),
        three_ds_authentication_failed: false,
    }
}

fn payment_status_response() -> PaymentStatusResponse {
    PaymentStatusResponse {
        error: Some(V3Error {
            error_code: s("E1"),
            error_description: s("d"),
        }),
        warnings: vec![V3Warning {
            warning_code: s("W1"),
            warning_description: s("d"),
        }],
        payment_attempts: vec![PaymentAttemptDto {
            id: 70,
            uuid: s("pa-1"),
            status: PaymentAttemptStatus::Created,
            payment_customer: payment_customer(),
            payment_dealer_order: payment_dealer_order(),
            payment_user: Some(payment_user()),
            invoice: PaymentAttemptInvoice {
                id: 2,
                version: 0,
                guid: s("inv-1"),
                invoice_status: s("OPEN"),
                amount: money(12550),
                invoice_date: ts(),
                description: some("Oil change"),
                refunded_amount: money(0),
                paid_date: Some(ts()),
                signature_file_name: some("sig.png"),
            },
            transaction_type: TransactionType::Charge,
            payment_type: some("FULL"),
            amount: money(12550),
            creation_time: ts(),
            updated_time_stamp: ts(),
            response_description: some("ok"),
            response_code: some("00"),
            transaction: Some(transaction()),
            transaction_incomplete: Some(transaction()),
            payment_provider: some("STRIPE"),
            payment_mode: PaymentMode::Online,
            transaction_id: Some(40),
            attempt_number: 1,
            currency: s("USD"),
            payment_attempt_attributes: Map::new(),
            next_action: Some(NextAction {
                action_type: NextActionType::RedirectToUrl,
                redirect_to_url_action: Some(RedirectUrlAction {
                    redirect_url: s("https://example.invalid/r"),
                }),
                use_stripe_sdk_action: Some(UseStripeSdkAction {
                    payment_intent_id: s("pi_1"),
                }),
                cardinal_sdk_action: Some(CardinalSdkAction {
                    jwt_token: s("jwt"),
                    session_id: s("sess"),
                }),
                redirect_to_affirm_url_action: Some(RedirectUrlAction {
                    redirect_url: s("https://example.invalid/a"),
                }),
                use_sunbit_sdk_action: Some(UseSunbitSdkAction {
                    jwt_token: s("jwt"),
                }),
            }),
        }],
        signed_document_url: some("https://example.invalid/doc.pdf"),
    }
}

fn documented(text: &str) -> Value {
    serde_json::from_str(text).expect("fixture is valid JSON")
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[test]
fn payment_request_matches_documented_shape() {
    let ours = serde_json::to_value(payment_request_response()).unwrap();
    assert_no_nulls("payment request", &ours);
    assert_same_shape("payment request", &ours, &documented(PAYMENT_REQUEST_200));
}

#[test]
fn payment_status_matches_documented_shape() {
    let ours = serde_json::to_value(payment_status_response()).unwrap();
    assert_no_nulls("payment status", &ours);
    assert_same_shape("payment status", &ours, &documented(PAYMENT_STATUS_200));
}

#[test]
fn documented_examples_deserialize_and_round_trip() {
    let doc = documented(PAYMENT_REQUEST_200);
    let parsed: PaymentRequestResponse =
        serde_json::from_value(doc.clone()).expect("payment request example parses");
    assert_same_shape(
        "payment request round trip",
        &serde_json::to_value(parsed).unwrap(),
        &doc,
    );

    let doc = documented(PAYMENT_STATUS_200);
    let parsed: PaymentStatusResponse =
        serde_json::from_value(doc.clone()).expect("payment status example parses");
    assert_same_shape(
        "payment status round trip",
        &serde_json::to_value(parsed).unwrap(),
        &doc,
    );
}

#[test]
fn absent_values_serialize_as_null_not_skipped() {
    let mut pr = payment_request_response();
    let dto = pr.payment_request.as_mut().unwrap();
    dto.source = None;
    dto.invoice.paid_date = None;
    dto.invoice.payment_user = None;
    dto.invoice.dealer.latitude = None;
    dto.invoice.dealer_order.signature_request_id = None;
    dto.invoice.dealer_order.vehicle.as_mut().unwrap().brand = None;
    dto.invoice.transactions[0].device_id = None;
    let ours = serde_json::to_value(&pr).unwrap();
    assert_nulls_not_skipped("payment request", &ours, &documented(PAYMENT_REQUEST_200));
    assert_eq!(
        ours["paymentRequest"]["invoice"]["dealerOrder"]["vehicle"]["brand"],
        Value::Null
    );
    assert_eq!(
        ours["paymentRequest"]["invoice"]["dealerOrder"]["signatureRequestID"],
        Value::Null
    );

    pr.payment_request = None;
    let ours = serde_json::to_value(&pr).unwrap();
    assert_eq!(ours["paymentRequest"], Value::Null);

    let mut ps = payment_status_response();
    ps.error = None;
    ps.signed_document_url = None;
    let attempt = &mut ps.payment_attempts[0];
    attempt.transaction_incomplete = None;
    attempt.next_action = None;
    attempt.transaction_id = None;
    let tx = attempt.transaction.as_mut().unwrap();
    tx.parent_transaction = None;
    tx.ro_owner = None;
    tx.cashier = None;
    tx.payment_gateway_response = None;
    tx.transaction_details.clear();
    let ours = serde_json::to_value(&ps).unwrap();
    assert_nulls_not_skipped("payment status", &ours, &documented(PAYMENT_STATUS_200));
    assert_eq!(ours["error"], Value::Null);
    assert_eq!(ours["paymentAttempts"][0]["nextAction"], Value::Null);
    assert_eq!(
        ours["paymentAttempts"][0]["transaction"]["roOwner"],
        Value::Null
    );
}

#[test]
fn money_and_timestamps_use_documented_encodings() {
    let ours = serde_json::to_value(payment_status_response()).unwrap();
    let attempt = &ours["paymentAttempts"][0];
    assert_eq!(attempt["amount"], serde_json::json!(125.5));
    assert_eq!(attempt["creationTime"], "2025-03-28T11:34:46.794Z");
    assert_eq!(attempt["status"], "Created");
    assert_eq!(attempt["transactionType"], "CHARGE");
    assert_eq!(attempt["paymentMode"], "ONLINE");
    assert_eq!(attempt["transaction"]["status"], "APPROVED");
    assert_eq!(attempt["transaction"]["deviceType"], "MANUAL");
    assert_eq!(attempt["nextAction"]["actionType"], "REDIRECT_TO_URL");
}

#[test]
fn enums_spell_as_documented_and_round_trip() {
    fn check<T>(
        all: &[T],
        as_str: fn(T) -> &'static str,
        parse: fn(&str) -> Option<T>,
        expected: &[&str],
    ) where
        T: Copy + PartialEq + std::fmt::Debug + serde::Serialize + serde::de::DeserializeOwned,
    {
        let spelled: Vec<&str> = all.iter().map(|v| as_str(*v)).collect();
        assert_eq!(spelled, expected);
        for v in all {
            let json = serde_json::to_value(v).unwrap();
            assert_eq!(json, Value::String(as_str(*v).to_string()));
            assert_eq!(serde_json::from_value::<T>(json).unwrap(), *v);
            assert_eq!(parse(as_str(*v)), Some(*v));
            let lower = as_str(*v).to_lowercase();
            if lower != as_str(*v) {
                assert_eq!(parse(&lower), None, "parse is case-sensitive");
            }
        }
        assert_eq!(parse("nonsense"), None);
    }
    check(
        PaymentAttemptStatus::ALL,
        PaymentAttemptStatus::as_str,
        PaymentAttemptStatus::parse,
        &[
            "Created",
            "InProgress",
            "RequiresAction",
            "RequiresCapture",
            "Succeeded",
            "Failed",
            "Cancelled",
        ],
    );
    check(
        TransactionType::ALL,
        TransactionType::as_str,
        TransactionType::parse,
        &["CHARGE", "REFUND", "VOID"],
    );
    check(
        TransactionStatus::ALL,
        TransactionStatus::as_str,
        TransactionStatus::parse,
        &["APPROVED", "DECLINED", "ERROR", "REVIEW"],
    );
    check(
        DeviceType::ALL,
        DeviceType::as_str,
        DeviceType::parse,
        &["MANUAL"],
    );
    check(
        PaymentMode::ALL,
        PaymentMode::as_str,
        PaymentMode::parse,
        &["ONLINE"],
    );
    check(
        NextActionType::ALL,
        NextActionType::as_str,
        NextActionType::parse,
        &[
            "REDIRECT_TO_URL",
            "CARDINAL_SDK",
            "USE_STRIPE_SDK",
            "REDIRECT_TO_AFFIRM_URL",
            "USE_SUNBIT_SDK",
        ],
    );
}

#[test]
fn error_envelopes_have_documented_keys() {
    let v1 = serde_json::to_value(V1ErrorEnvelope {
        errors: vec![V1Error {
            error_code: 0,
            error_title: s("t"),
            error_message: s("m"),
            error_description: s("d"),
        }],
        warnings: vec![V1Warning {
            warning_code: 0,
            warning_title: s("t"),
            warning_message: s("m"),
            warning_description: s("d"),
        }],
    })
    .unwrap();
    let doc = documented(PAYMENT_REQUEST_200);
    let v1_doc = serde_json::json!({ "errors": doc["errors"], "warnings": doc["warnings"] });
    assert_same_shape("v1 error envelope", &v1, &v1_doc);

    let v3 = serde_json::to_value(V3ErrorEnvelope {
        error: V3Error {
            error_code: s("E"),
            error_description: s("d"),
        },
        warnings: vec![V3Warning {
            warning_code: s("W"),
            warning_description: s("d"),
        }],
    })
    .unwrap();
    let doc = documented(PAYMENT_STATUS_200);
    let v3_doc = serde_json::json!({ "error": doc["error"], "warnings": doc["warnings"] });
    assert_same_shape("v3 error envelope", &v3, &v3_doc);

    let checkout = serde_json::to_value(CheckoutErrorEnvelope {
        error: CheckoutError {
            code: 400,
            name: s("BAD_REQUEST"),
            message: s("m"),
        },
    })
    .unwrap();
    let keys: BTreeSet<String> = key_paths(&checkout).into_keys().collect();
    let expected: BTreeSet<String> = ["error", "error.code", "error.name", "error.message"]
        .iter()
        .map(|k| k.to_string())
        .collect();
    assert_eq!(keys, expected);
}

#[test]
fn openapi_schemas_register_without_collisions() {
    use utoipa::OpenApi;

    #[derive(OpenApi)]
    #[openapi(components(schemas(
        PaymentRequestResponse,
        PaymentStatusResponse,
        V1ErrorEnvelope,
        V3ErrorEnvelope,
        CheckoutErrorEnvelope
    )))]
    struct Doc;

    let doc = serde_json::to_value(Doc::openapi()).unwrap();
    let schemas = doc["components"]["schemas"].as_object().expect("schemas");
    for name in [
        "PaymentRequestResponse",
        "PaymentRequestDto",
        "PaymentRequestInvoice",
        "PaymentStatusResponse",
        "PaymentAttemptDto",
        "PaymentAttemptInvoice",
        "TransactionDto",
        "TransactionInvoice",
        "TransactionSummary",
        "PaymentDealerOrder",
        "Associate",
        "NextAction",
    ] {
        assert!(
            schemas.contains_key(name),
            "schema {name} missing; have {:?}",
            schemas.keys()
        );
    }
    let attempt_props = &schemas["PaymentAttemptDto"]["properties"];
    assert!(attempt_props.get("paymentAttemptAttributes").is_some());
    let tx_props = schemas["TransactionDto"]["properties"].as_object().unwrap();
    assert!(tx_props.contains_key("threeDSAuthenticationFailed"));
    let status = serde_json::to_string(&schemas["PaymentAttemptStatus"]).unwrap();
    assert!(
        status.contains("\"RequiresAction\""),
        "enum schema spells variants: {status}"
    );
    let action = serde_json::to_string(&schemas["NextActionType"]).unwrap();
    assert!(
        action.contains("\"REDIRECT_TO_AFFIRM_URL\""),
        "enum schema spells variants: {action}"
    );
}
