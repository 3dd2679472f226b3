//! Property tests of every JSON request body the API deserialises. The operations come from
//! the served OpenAPI document (every operation with an `application/json` request body), and
//! the document is checked against the routes' `JsonBody` extractors so none is missed. Each
//! operation gets arbitrary JSON values (biased towards the document's field names, enum
//! values, UUIDs, amounts and a planted card number) and arbitrary bytes, posted in-process
//! through `api::router` with credentials that get past authentication. Every answer must be
//! a non-5xx; every refusal a 4xx catalog error in the route family's envelope that never
//! echoes the planted card number; bytes that are not a JSON object are always refused.
//!
//! Cases per property and operation: `PROPTEST_CASES` (default 64). The run is deterministic:
//! `DEALERPAY_PROPTEST_SEED` (default 1) seeds it; a failure prints the minimal input.

mod common;
use axum::body::Body;
use axum::http::{header, Method, Request};
use common::*;
use domain::catalog::{checkout, v1};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use serde_json::{json, Map, Value};
use std::collections::BTreeSet;
use std::time::Instant;
use tower::ServiceExt;

/// Planted in generated strings; no error body may contain it.
const MARKER: &str = "4242424242424242";

#[derive(Clone, Copy, Debug, PartialEq)]
enum Auth {
    Operator,
    Partner,
    Merchant,
    None,
}

#[derive(Debug)]
struct Op {
    method: Method,
    template: String,
    path: String,
    auth: Auth,
}

impl Op {
    fn label(&self) -> String {
        format!("{} {}", self.method, self.template)
    }
}

fn deref<'a>(spec: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => spec
            .pointer(r.trim_start_matches('#'))
            .unwrap_or(&Value::Null),
        None => v,
    }
}

/// Every operation whose request body is `application/json`, with the credentials to send.
fn json_operations(spec: &Value, fill: impl Fn(&str) -> String) -> Vec<Op> {
    let mut ops = vec![];
    for (template, item) in spec["paths"].as_object().expect("paths") {
        for (m, o) in item.as_object().expect("path item") {
            let Ok(method) = m.to_ascii_uppercase().parse::<Method>() else {
                continue;
            };
            let Some(rb) = o.get("requestBody").map(|rb| deref(spec, rb)) else {
                continue;
            };
            if rb["content"].get("application/json").is_none() {
                continue;
            }
            let schemes: Vec<String> = o["security"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_object)
                .flat_map(|r| r.keys().cloned())
                .collect();
            let has = |s: &str| schemes.iter().any(|x| x == s);
            let auth = if has("operatorToken") {
                Auth::Operator
            } else if has("partnerBasic") {
                Auth::Partner
            } else if has("checkoutBearer") {
                Auth::Merchant
            } else {
                assert!(
                    schemes.is_empty(),
                    "{m} {template}: no credentials for {schemes:?}"
                );
                Auth::None
            };
            let path = template
                .split('/')
                .map(
                    |seg| match seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                        Some(name) => fill(name),
                        None => seg.to_string(),
                    },
                )
                .collect::<Vec<_>>()
                .join("/");
            ops.push(Op {
                method,
                template: template.clone(),
                path,
                auth,
            });
        }
    }
    ops
}

/// Every property name and every string enum value of the document: what the generated
/// bodies are made of, so that they reach the field validation and not only "missing field".
fn vocabulary(spec: &Value) -> (Vec<String>, Vec<String>) {
    fn walk(v: &Value, keys: &mut BTreeSet<String>, enums: &mut BTreeSet<String>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::Object(props)) = m.get("properties") {
                    keys.extend(props.keys().cloned());
                }
                if let Some(Value::Array(e)) = m.get("enum") {
                    enums.extend(e.iter().filter_map(Value::as_str).map(str::to_string));
                }
                m.values().for_each(|x| walk(x, keys, enums));
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, keys, enums)),
            _ => {}
        }
    }
    let (mut keys, mut enums) = (BTreeSet::new(), BTreeSet::new());
    walk(&spec["components"], &mut keys, &mut enums);
    (keys.into_iter().collect(), enums.into_iter().collect())
}

fn json_value(keys: Vec<String>, enums: Vec<String>) -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f)
            .map(Value::Number)
            .unwrap_or(Value::Null)),
        // Plausible, negative and over-precise amounts.
        (-1_000i64..=10_000_001_000).prop_map(|c| json!(c as f64 / 1000.0)),
        (0i64..=100_000).prop_map(|c| json!(c as f64 / 100.0)),
        any::<String>().prop_map(Value::from),
        "[ -~]{0,40}".prop_map(Value::from),
        Just(Value::from(MARKER)),
        Just(Value::from(format!("{MARKER}\u{0}\u{7}"))),
        any::<u128>().prop_map(|n| Value::from(uuid::Uuid::from_u128(n).to_string())),
        proptest::sample::select(enums).prop_map(Value::from),
        // Timestamps, well-formed or nearly.
        "20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9](\\.[0-9]{1,3})?(Z|[+-][0-9]{2}:[0-9]{2})?"
            .prop_map(Value::from),
    ];
    let key = prop_oneof![
        6 => proptest::sample::select(keys),
        1 => "[a-zA-Z_]{1,12}",
        1 => any::<String>(),
    ];
    let value = leaf.prop_recursive(4, 64, 10, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            proptest::collection::vec((key.clone(), inner), 0..10)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    });
    // Mostly objects at the top, as the API expects.
    prop_oneof![
        1 => value.clone(),
        4 => value.prop_filter("an object", Value::is_object),
    ]
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..256),
        // JSON-ish text: brackets, quotes, numbers, escapes, broken UTF-8 and nesting.
        proptest::collection::vec(
            prop_oneof![
                Just(b"{".to_vec()),
                Just(b"}".to_vec()),
                Just(b"[".to_vec()),
                Just(b"]".to_vec()),
                Just(b"\"".to_vec()),
                Just(b":".to_vec()),
                Just(b",".to_vec()),
                Just(b"\\u00".to_vec()),
                Just(b"\\ud800".to_vec()),
                Just(b"\xff\xfe".to_vec()),
                Just(b"1e999".to_vec()),
                Just(b"-0.001".to_vec()),
                Just(b"null".to_vec()),
                Just(b"\"amount\"".to_vec()),
                Just(format!("\"{MARKER}\"").into_bytes()),
                "[ -~]{1,8}".prop_map(String::into_bytes),
            ],
            0..40,
        )
        .prop_map(|parts| parts.concat()),
        // Deep nesting.
        (1usize..2000).prop_map(|n| format!("{}{}", "[".repeat(n), "]".repeat(n)).into_bytes()),
        (1usize..2000).prop_map(|n| "{\"a\":".repeat(n).into_bytes()),
    ]
}

fn content_types() -> impl Strategy<Value = Option<&'static str>> {
    prop_oneof![
        8 => Just(Some("application/json")),
        1 => Just(Some("application/json; charset=utf-8")),
        1 => Just(None),
    ]
}

struct Env {
    rt: tokio::runtime::Runtime,
    app: TestApp,
    /// Built once: building the router builds the whole OpenAPI document too.
    router: axum::Router,
    partner_basic: String,
    merchant_token: String,
}

impl Env {
    /// Posts in-process through the full router (middleware included) and returns
    /// (status, content type, body).
    fn send(
        &self,
        op: &Op,
        ct: Option<&str>,
        body: Vec<u8>,
    ) -> Result<(u16, String, Vec<u8>), TestCaseError> {
        let mut rb = Request::builder().method(op.method.clone()).uri(&op.path);
        if let Some(ct) = ct {
            rb = rb.header(header::CONTENT_TYPE, ct);
        }
        rb = match op.auth {
            Auth::Operator => rb.header(header::AUTHORIZATION, format!("Bearer {OPERATOR}")),
            Auth::Partner => rb.header(header::AUTHORIZATION, &self.partner_basic),
            Auth::Merchant => rb.header(
                header::AUTHORIZATION,
                format!("Bearer {}", self.merchant_token),
            ),
            Auth::None => rb,
        };
        let req = rb.body(Body::from(body)).unwrap();
        let router = self.router.clone();
        self.rt.block_on(async move {
            let resp = router
                .oneshot(req)
                .await
                .map_err(|e| TestCaseError::fail(format!("the router failed: {e:?}")))?;
            let status = resp.status().as_u16();
            let ct = resp
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            let body = axum::body::to_bytes(resp.into_body(), 4 * 1024 * 1024)
                .await
                .map_err(|e| TestCaseError::fail(format!("reading the answer: {e}")))?;
            Ok((status, ct, body.to_vec()))
        })
    }
}

/// A refusal must be a 4xx catalog error in the envelope of `op`'s route family.
fn check_answer(
    op: &Op,
    sent: &[u8],
    (status, ct, body): &(u16, String, Vec<u8>),
    must_refuse: bool,
) -> Result<(), TestCaseError> {
    let label = op.label();
    let shown = String::from_utf8_lossy(body);
    prop_assert!(
        *status < 500,
        "{} answered {} to {:?}: {}",
        label,
        status,
        String::from_utf8_lossy(sent),
        shown
    );
    if (200..300).contains(status) {
        prop_assert!(
            !must_refuse,
            "{} accepted {:?}: {} {}",
            label,
            String::from_utf8_lossy(sent),
            status,
            shown
        );
        return Ok(());
    }
    prop_assert!(
        (400..500).contains(status),
        "{label}: status {status}: {shown}"
    );
    prop_assert!(
        ct.starts_with("application/json"),
        "{label}: {status} with content type {ct:?}"
    );
    prop_assert!(
        !shown.contains(MARKER),
        "{label}: the error echoes the card number: {shown}"
    );
    let v: Value = serde_json::from_slice(body).map_err(|e| {
        TestCaseError::fail(format!("{label}: {status} body is not JSON ({e}): {shown}"))
    })?;
    match api::error::Family::of(&op.template) {
        api::error::Family::V1 => {
            let errors = v["errors"].as_array();
            prop_assert!(
                errors.is_some_and(|e| !e.is_empty()),
                "{label}: no errors[]: {v}"
            );
            prop_assert_eq!(&v["warnings"], &json!([]), "{}: {}", label, v);
            for e in errors.unwrap() {
                let (code, title) = (e["errorCode"].as_i64(), e["errorTitle"].as_str());
                prop_assert!(
                    v1::ALL
                        .iter()
                        .any(|c| Some(c.code) == code && Some(c.title) == title),
                    "{label}: not a v1 catalog entry: {e}"
                );
                prop_assert!(e["errorMessage"].is_string(), "{label}: {e}");
                prop_assert!(
                    e["errorDescription"]
                        .as_str()
                        .is_some_and(|d| !d.is_empty()),
                    "{label}: no errorDescription: {e}"
                );
            }
        }
        api::error::Family::V3 => {
            let code = v["error"]["errorCode"].as_str().unwrap_or("");
            prop_assert!(
                v1::ALL.iter().any(|c| c.code.to_string() == code),
                "{label}: not a catalog code: {v}"
            );
            prop_assert!(v["error"]["errorDescription"].is_string(), "{label}: {v}");
            prop_assert_eq!(&v["warnings"], &json!([]), "{}: {}", label, v);
        }
        api::error::Family::Checkout => {
            let e = &v["error"];
            let (code, name) = (e["code"].as_i64(), e["name"].as_str());
            prop_assert!(
                checkout::ALL
                    .iter()
                    .any(|c| Some(c.code) == code && Some(c.title) == name),
                "{label}: not a Checkout catalog entry: {v}"
            );
            prop_assert!(
                e["message"].is_string() && e["detail"].is_string(),
                "{label}: {v}"
            );
        }
    }
    Ok(())
}

/// Whether an answer is a catalog error of input validation (`100006 INVALID_REQUEST_DATA`,
/// `100026 PEPAYMENT_VALIDATION_FAILED`, `100034 REQUIRED_FIELDS_MISSING`, `100035
/// INVALID_DATA_FOR_THE_FIELD`, `9300004 VALIDATION_ERROR`): the request got past
/// authentication and was refused for its body.
fn is_validation_error(op: &Op, (status, _, body): &(u16, String, Vec<u8>)) -> bool {
    if !(400..500).contains(status) {
        return false;
    }
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return false;
    };
    let v1_entries = [
        v1::INVALID_REQUEST_DATA,
        v1::PEPAYMENT_VALIDATION_FAILED,
        v1::REQUIRED_FIELDS_MISSING,
        v1::INVALID_DATA_FOR_THE_FIELD,
    ];
    match api::error::Family::of(&op.template) {
        api::error::Family::V1 => v["errors"].as_array().is_some_and(|errors| {
            errors.iter().any(|e| {
                v1_entries
                    .iter()
                    .any(|c| e["errorCode"].as_i64() == Some(c.code) && e["errorTitle"] == c.title)
            })
        }),
        api::error::Family::V3 => v1_entries
            .iter()
            .any(|c| v["error"]["errorCode"].as_str() == Some(&c.code.to_string())),
        api::error::Family::Checkout => {
            v["error"]["code"].as_i64() == Some(checkout::VALIDATION_ERROR.code)
        }
    }
}

/// Every operation's answers: at most this share may be 401s, and at least this share must
/// be validation errors (most generated bodies are wrong somewhere).
const MAX_401_SHARE: f64 = 0.10;
const MIN_VALIDATION_SHARE: f64 = 0.25;

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(64)
}

/// A deterministic runner per operation and property.
fn runner(label: &str, property: &str) -> TestRunner {
    let seed: u64 = std::env::var("DEALERPAY_PROPTEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    // FNV-1a over the names, then splitmix64 to fill the 32-byte ChaCha seed.
    let mut h = 0xcbf2_9ce4_8422_2325u64 ^ seed;
    for b in label.bytes().chain(property.bytes()) {
        h = (h ^ b as u64).wrapping_mul(0x0100_0000_01b3);
    }
    let mut bytes = [0u8; 32];
    for chunk in bytes.chunks_mut(8) {
        h = h.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = h;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        chunk.copy_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    TestRunner::new_with_rng(
        Config {
            cases: cases(),
            failure_persistence: None,
            max_shrink_iters: 2048,
            ..Config::default()
        },
        TestRng::from_seed(RngAlgorithm::ChaCha, &bytes),
    )
}

/// How many request bodies the routes extract with `JsonBody`, read from their source.
fn json_extractors_in_routes() -> usize {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../api/src/routes");
    std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .map(|p| {
            std::fs::read_to_string(p)
                .unwrap()
                .matches("JsonBody<")
                .count()
        })
        .sum()
}

fn setup() -> (Env, Vec<Op>, Vec<String>, Vec<String>) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (app, seed, partner, victim, session, token) = rt.block_on(async {
        let app = TestApp::spawn().await;
        let seed = app.seed(250.40).await;
        let partner = app.partner(&[(&seed.dealer, None, "payment.all")]).await;
        let victim = app.partner(&[]).await;
        // A checkout namespace of the seeded dealer, a key, an access token and a session.
        let token = app.checkout_merchant(&seed, "props").await;
        let (st, session) = TestApp::send(
            app.req(
                Method::POST,
                "/payment/checkout/v1/namespaces/props/sessions",
            )
            .bearer_auth(&token)
            .json(&json!({"referenceId": "props-1", "amount": 42.50})),
        )
        .await;
        assert_eq!(st, 201, "{session}");
        let session = session["id"]
            .as_str()
            .or(session["sessionId"].as_str())
            .unwrap_or_default()
            .to_string();
        (app, seed, partner, victim, session, token)
    });
    let spec: Value = serde_json::from_str(api::openapi::json()).unwrap();
    let fill = |name: &str| -> String {
        match name {
            "dealerUuid" => seed.dealer.clone(),
            "departmentUuid" => seed.department.clone(),
            "dealerAssociateUuid" => seed.associate.clone(),
            "customerUuid" => seed.customer.clone(),
            "vehicleUuid" => seed.vehicle.clone(),
            "dealerOrderUuid" => seed.order.clone(),
            "invoiceGuid" | "invoiceId" => seed.invoice.clone(),
            "partnerUuid" => victim.uuid.clone(),
            "namespace" => "props".into(),
            "sessionId" if !session.is_empty() => session.clone(),
            _ => uuid::Uuid::new_v4().to_string(),
        }
    };
    let ops = json_operations(&spec, fill);
    let (keys, enums) = vocabulary(&spec);
    let basic = {
        use base64::Engine as _;
        let raw = format!("{}:{}", partner.username, partner.secret);
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        )
    };
    let env = Env {
        rt,
        router: api::router(app.state.clone()),
        app,
        partner_basic: basic,
        merchant_token: token,
    };
    (env, ops, keys, enums)
}

#[test]
fn every_json_request_body_survives_arbitrary_input() {
    let started = Instant::now();
    let (env, ops, keys, enums) = setup();
    let extractors = json_extractors_in_routes();
    assert_eq!(
        ops.len(),
        extractors,
        "the document lists {} operations with an application/json body, the routes extract {} JsonBody: \
         a route's request_body annotation is missing or wrong",
        ops.len(),
        extractors
    );
    assert!(ops.len() >= 20, "only {} JSON operations", ops.len());

    let mut failures = vec![];
    let mut counts = std::collections::BTreeMap::<u16, usize>::new();
    let mut validation_errors = 0;
    let tally = |counts: &mut std::collections::BTreeMap<u16, usize>, s: u16| {
        *counts.entry(s).or_default() += 1
    };
    for op in &ops {
        let op_started = Instant::now();
        // Arbitrary JSON values: never a 5xx; a refusal is a catalog error; a value that is
        // not an object is always refused.
        // Every answer's status, and whether it was a validation error.
        let seen = std::cell::RefCell::new(vec![]);
        let r = runner(&op.label(), "values").run(
            &(json_value(keys.clone(), enums.clone()), content_types()),
            |(v, ct)| {
                let body = serde_json::to_vec(&v).unwrap();
                let answer = env.send(op, ct, body.clone())?;
                seen.borrow_mut()
                    .push((answer.0, is_validation_error(op, &answer)));
                check_answer(op, &body, &answer, !v.is_object())
            },
        );
        if let Err(e) = r {
            failures.push(format!("{} (JSON values): {e}", op.label()));
        }
        // Arbitrary bytes: refused unless they happen to be a JSON object.
        let r = runner(&op.label(), "bytes").run(&(bytes(), content_types()), |(b, ct)| {
            let answer = env.send(op, ct, b.clone())?;
            seen.borrow_mut()
                .push((answer.0, is_validation_error(op, &answer)));
            let object = serde_json::from_slice::<Value>(&b).is_ok_and(|v| v.is_object());
            check_answer(op, &b, &answer, !object)
        });
        if let Err(e) = r {
            failures.push(format!("{} (bytes): {e}", op.label()));
        }
        // A wrong content type is always refused, whatever the body.
        let answer = env
            .send(op, Some("text/plain"), br#"{"amount": 1}"#.to_vec())
            .map_err(|e| e.to_string())
            .unwrap();
        if let Err(e) = check_answer(op, b"text/plain", &answer, true) {
            failures.push(format!("{} (text/plain): {e}", op.label()));
        }
        let seen = seen.into_inner();
        // The properties are only as good as the share of bodies that reached the
        // validation: credentials that stopped working would make every answer a 401 (or
        // another refusal before the body is looked at), which passes every check above.
        let n = seen.len();
        let unauthorized = seen.iter().filter(|(s, _)| *s == 401).count();
        let validation = seen.iter().filter(|(_, v)| *v).count();
        if n == 0 {
            failures.push(format!("{}: no request was sent", op.label()));
        } else {
            if unauthorized as f64 > MAX_401_SHARE * n as f64 {
                failures.push(format!(
                    "{} ({:?}): {unauthorized} of {n} answers were 401: the credentials do not work",
                    op.label(),
                    op.auth
                ));
            }
            if (validation as f64) < MIN_VALIDATION_SHARE * n as f64 {
                failures.push(format!(
                    "{} ({:?}): only {validation} of {n} answers were validation errors: the bodies did not reach the validation",
                    op.label(),
                    op.auth
                ));
            }
        }
        if std::env::var_os("DEALERPAY_PROPTEST_VERBOSE").is_some() {
            println!(
                "{}: {n} requests ({unauthorized} 401s, {validation} validation errors) in {:.2}s",
                op.label(),
                op_started.elapsed().as_secs_f64()
            );
        }
        validation_errors += validation;
        seen.into_iter().for_each(|(s, _)| tally(&mut counts, s));
    }

    // The server is still healthy.
    let (st, _) = env
        .rt
        .block_on(TestApp::send(env.app.req(Method::GET, "/readyz")));
    assert_eq!(st, 200, "/readyz after the properties");
    println!(
        "properties [{}]: {} JSON operations × {} cases × 2 properties in {:.1}s; statuses {:?}, {} validation errors",
        backend(),
        ops.len(),
        cases(),
        started.elapsed().as_secs_f64(),
        counts,
        validation_errors
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
