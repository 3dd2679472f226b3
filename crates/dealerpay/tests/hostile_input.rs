//! Hostile-input sweep: every operation of the served OpenAPI document, as the operator, as
//! nobody, and (where the operator is not accepted) as a Checkout merchant with an access
//! token or a partner holding `payment.all`, with hostile path, query and header parameters
//! and hostile request bodies. Every answer must be a non-5xx, well-formed answer of its
//! route family that never echoes client input, the server must stay healthy, and nothing
//! may be written by a refused request.
//!
//! The sweep must also have got past authentication: each credential's answers are at most
//! 10% 401s and at least 30% catalog validation errors, no operation's credentialed answers
//! are mostly 401s, and every operation with a JSON body got a validation error at least
//! once — so a credential that stops working fails the sweep instead of passing it as 401s.

mod common;
use common::*;
use reqwest::header::{HeaderName, HeaderValue, CONTENT_TYPE, LOCATION};
use reqwest::{Client, Method};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// Planted in every hostile value; no error body may contain it.
const MARKER: &str = "4242424242424242";
/// Requests in flight at once.
const CONCURRENCY: usize = 8;
/// The sweep refuses to pass over a document this small.
const MIN_OPERATIONS: usize = 25;
const JSON: &str = "application/json";
/// Size of the oversized body (the server accepts at most 1 MiB).
const BIG_BODY_BYTES: usize = 2 * 1024 * 1024;

// ---------------------------------------------------------------------------------------
// The OpenAPI document
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Str,
    Num,
    Int,
    Bool,
    Obj,
    Arr(Box<Kind>),
    Map,
    Any,
}

struct Op {
    method: Method,
    template: String,
    path_params: Vec<String>,
    query_params: Vec<String>,
    header_params: Vec<String>,
    /// `(component name, schema)` of an `application/json` request body.
    body: Option<(String, Value)>,
    /// Content types the document lists for this operation's success and redirect answers.
    ok_types: Vec<String>,
    /// The operator token is among the accepted credentials (or the route is public).
    operator_accepted: bool,
    /// No credentials are required.
    public: bool,
    /// A Checkout merchant's bearer token is among the accepted credentials.
    merchant_accepted: bool,
}

impl Op {
    fn label(&self) -> String {
        format!("{} {}", self.method, self.template)
    }
    fn family(&self) -> Family {
        if ["/pay/", "/checkout/", "/assets/"]
            .iter()
            .any(|p| self.template.starts_with(p))
        {
            Family::Html
        } else if self.template.starts_with("/p/") {
            Family::ShortLink
        } else if self.template.starts_with("/payment/v3/") {
            Family::V3
        } else if self.template.starts_with("/payment/checkout/") {
            Family::Checkout
        } else {
            Family::V1
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Family {
    V1,
    V3,
    Checkout,
    Html,
    ShortLink,
}

fn deref<'a>(spec: &'a Value, mut s: &'a Value) -> &'a Value {
    for _ in 0..16 {
        match s.get("$ref").and_then(Value::as_str) {
            Some(r) => {
                s = spec
                    .pointer(r.trim_start_matches('#'))
                    .unwrap_or(&Value::Null)
            }
            None => break,
        }
    }
    s
}

/// The schema with `oneOf`/`anyOf`/`allOf` wrappers and a `null` alternative removed. An
/// object with properties of its own is itself (its `anyOf`/`oneOf` only say which of them
/// must be present, as a customer's "one of firstName, lastName and company").
fn concrete<'a>(spec: &'a Value, s: &'a Value) -> &'a Value {
    let s = deref(spec, s);
    if s.get("properties").is_some() {
        return s;
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(alts) = s.get(key).and_then(Value::as_array) {
            if let Some(x) = alts
                .iter()
                .find(|x| deref(spec, x).get("type") != Some(&json!("null")))
            {
                return concrete(spec, x);
            }
        }
    }
    s
}

fn kind(spec: &Value, s: &Value) -> Kind {
    let s = concrete(spec, s);
    let t = match s.get("type") {
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("")
            .to_string(),
        _ if s.get("properties").is_some() => "object".into(),
        _ => String::new(),
    };
    match t.as_str() {
        "string" => Kind::Str,
        "number" => Kind::Num,
        "integer" => Kind::Int,
        "boolean" => Kind::Bool,
        "array" => Kind::Arr(Box::new(kind(spec, s.get("items").unwrap_or(&Value::Null)))),
        "object" if s.get("properties").is_none() && s.get("additionalProperties").is_some() => {
            Kind::Map
        }
        "object" => Kind::Obj,
        _ => Kind::Any,
    }
}

/// Every property of an object schema, nested objects included, as `(key path, kind)`.
fn properties(spec: &Value, schema: &Value, prefix: &[String], out: &mut Vec<(Vec<String>, Kind)>) {
    let s = concrete(spec, schema);
    let Some(props) = s.get("properties").and_then(Value::as_object) else {
        return;
    };
    for (name, ps) in props {
        let mut path = prefix.to_vec();
        path.push(name.clone());
        let k = kind(spec, ps);
        out.push((path.clone(), k.clone()));
        if k == Kind::Obj && path.len() < 4 {
            properties(spec, ps, &path, out);
        }
    }
}

fn operations(spec: &Value) -> Vec<Op> {
    let mut ops = vec![];
    let paths = spec["paths"].as_object().expect("the document has paths");
    for (template, item) in paths {
        let item = item.as_object().expect("a path item is an object");
        for (m, o) in item {
            let method = match m.as_str() {
                "get" => Method::GET,
                "put" => Method::PUT,
                "post" => Method::POST,
                "delete" => Method::DELETE,
                "patch" => Method::PATCH,
                "head" => Method::HEAD,
                "options" => Method::OPTIONS,
                "trace" => Method::TRACE,
                _ => continue,
            };
            let mut params: Vec<Value> = item
                .get("parameters")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            params.extend(
                o.get("parameters")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default(),
            );
            let names = |loc: &str| -> Vec<String> {
                params
                    .iter()
                    .map(|p| deref(spec, p))
                    .filter(|p| p["in"] == loc)
                    .filter_map(|p| p["name"].as_str().map(str::to_string))
                    .collect()
            };
            let mut path_params = names("path");
            // Placeholders in the template that the parameter list forgot are swept too.
            for seg in template.split('/') {
                if let Some(n) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    if !path_params.iter().any(|p| p == n) {
                        path_params.push(n.to_string());
                    }
                }
            }
            let body = o
                .get("requestBody")
                .map(|rb| deref(spec, rb))
                .and_then(|rb| {
                    let content = rb.get("content")?.as_object()?;
                    let (_, media) = content
                        .iter()
                        .find(|(ct, _)| ct.contains("json"))
                        .or_else(|| content.iter().next())?;
                    let schema = media.get("schema").cloned().unwrap_or(json!({}));
                    let name = schema
                        .get("$ref")
                        .and_then(Value::as_str)
                        .and_then(|r| r.rsplit('/').next())
                        .unwrap_or("")
                        .to_string();
                    Some((name, schema))
                });
            let mut ok_types = vec![];
            if let Some(resps) = o.get("responses").and_then(Value::as_object) {
                for (code, r) in resps {
                    if code.starts_with('2') || code.starts_with('3') {
                        if let Some(c) = deref(spec, r).get("content").and_then(Value::as_object) {
                            ok_types.extend(c.keys().cloned());
                        }
                    }
                }
            }
            let security = o
                .get("security")
                .or_else(|| spec.get("security"))
                .and_then(Value::as_array);
            let public = match security {
                None => true,
                Some(reqs) => {
                    reqs.is_empty()
                        || reqs
                            .iter()
                            .any(|r| r.as_object().is_some_and(|r| r.is_empty()))
                }
            };
            let operator_accepted = public
                || security.is_some_and(|reqs| {
                    reqs.iter().any(|r| {
                        r.as_object()
                            .is_some_and(|r| r.contains_key("operatorToken"))
                    })
                });
            let merchant_accepted = security.is_some_and(|reqs| {
                reqs.iter().any(|r| {
                    r.as_object()
                        .is_some_and(|r| r.contains_key("checkoutBearer"))
                })
            });
            ops.push(Op {
                method,
                template: template.clone(),
                path_params,
                query_params: names("query"),
                header_params: names("header"),
                body,
                ok_types,
                operator_accepted,
                public,
                merchant_accepted,
            });
        }
    }
    ops
}

// ---------------------------------------------------------------------------------------
// Hostile values
// ---------------------------------------------------------------------------------------

fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Hostile path (and query) values, already percent-encoded where the URL needs it.
fn hostile_path_values() -> Vec<(&'static str, String)> {
    let long: String = MARKER.repeat(5000 / MARKER.len() + 1)[..5000].to_string();
    vec![
        ("not-a-uuid", "not-a-uuid".into()),
        ("%00", "%00".into()),
        ("traversal", "..%2F..%2Fetc".into()),
        ("5000 chars", long),
        ("sql", format!("%27%20OR%201%3D1%20--%20{MARKER}")),
        (
            "rtl+emoji",
            format!("%E2%80%AE{MARKER}%F0%9F%92%B3%D8%A7%D9%84"),
        ),
        ("invalid utf-8", format!("%FF%FE{MARKER}")),
        ("unknown uuid", uuid()),
    ]
}

/// Hostile values for string properties; each carries the marker.
fn hostile_strings() -> Vec<(&'static str, String)> {
    vec![
        ("nul", format!("\u{0}{MARKER}\u{0}")),
        ("escape", format!("\u{1b}[31m{MARKER}\u{1b}[0m\r\n")),
        ("10k chars", MARKER.repeat(10_000 / MARKER.len())),
        ("sql", format!("' OR 1=1 -- {MARKER}")),
        ("sql drop", format!("{MARKER}'); DROP TABLE dealers; --")),
        (
            "html",
            format!("<script>alert('{MARKER}')</script><img src=x onerror=alert(1)>"),
        ),
        (
            "rtl+emoji",
            format!("\u{202e}{MARKER}\u{1F4B3}\u{200f}مرحبا"),
        ),
    ]
}

/// Raw JSON number texts for number properties (`1e400` is not representable by serde_json,
/// so it travels as a placeholder that [`render`] substitutes).
fn hostile_numbers() -> Vec<(&'static str, Value)> {
    vec![
        ("-1", json!(-1)),
        ("1e400", raw("1e400")),
        ("0.001", raw("0.001")),
        ("10000000.01", raw("10000000.01")),
        ("huge", raw(MARKER)),
        ("huge negative", raw(&format!("-{MARKER}"))),
        ("-0.0", raw("-0.0")),
    ]
}

fn raw(text: &str) -> Value {
    Value::String(format!("@@RAW:{text}@@"))
}

/// Serialises a body, substituting raw number placeholders.
fn render(v: &Value) -> Vec<u8> {
    let s = serde_json::to_string(v).unwrap();
    let mut out = String::with_capacity(s.len());
    let mut rest = s.as_str();
    while let Some(i) = rest.find("\"@@RAW:") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 7..];
        let end = after.find("@@\"").expect("placeholder is closed");
        out.push_str(&after[..end]);
        rest = &after[end + 3..];
    }
    out.push_str(rest);
    out.into_bytes()
}

fn set_path(body: &mut Value, path: &[String], v: Value) {
    let mut cur = body;
    for (i, key) in path.iter().enumerate() {
        if !cur.is_object() {
            *cur = Value::Object(Map::new());
        }
        let obj = cur.as_object_mut().unwrap();
        if i == path.len() - 1 {
            obj.insert(key.clone(), v);
            return;
        }
        cur = obj.entry(key.clone()).or_insert_with(|| json!({}));
    }
}

/// Values of the wrong JSON type for a property of `kind`.
fn wrong_types(kind: &Kind) -> Vec<(&'static str, Value)> {
    let obj = json!({"v": MARKER});
    let num = raw(MARKER);
    match kind {
        Kind::Str => vec![
            ("number for string", num),
            ("object for string", obj),
            ("array for string", json!([MARKER])),
            ("bool for string", json!(true)),
        ],
        Kind::Num | Kind::Int => vec![
            ("string for number", json!(MARKER)),
            ("object for number", obj),
            ("bool for number", json!(true)),
            ("array for number", json!([1])),
        ],
        Kind::Bool => vec![
            ("string for bool", json!(MARKER)),
            ("number for bool", json!(1)),
            ("object for bool", obj),
        ],
        Kind::Obj => vec![
            ("string for object", json!(MARKER)),
            ("number for object", num),
            ("array for object", json!([MARKER])),
            ("bool for object", json!(false)),
        ],
        Kind::Arr(_) => vec![
            ("string for array", json!(MARKER)),
            ("object for array", obj),
            ("number for array", num),
        ],
        Kind::Map => vec![
            ("string for map", json!(MARKER)),
            ("array for map", json!([MARKER])),
            (
                "number value in map",
                json!({ format!("k{MARKER}"): raw(MARKER) }),
            ),
            (
                "object value in map",
                json!({ format!("k{MARKER}"): {"v": MARKER} }),
            ),
        ],
        Kind::Any => vec![("object for any", obj), ("string for any", json!(MARKER))],
    }
}

enum Payload {
    Bytes(Vec<u8>),
    Static(&'static [u8]),
}

struct BodyCase {
    what: String,
    payload: Payload,
    content_type: Option<&'static str>,
}

impl BodyCase {
    fn json(what: impl Into<String>, v: &Value) -> BodyCase {
        BodyCase {
            what: what.into(),
            payload: Payload::Bytes(render(v)),
            content_type: Some(JSON),
        }
    }
    fn raw(what: &str, bytes: &[u8], ct: Option<&'static str>) -> BodyCase {
        BodyCase {
            what: what.into(),
            payload: Payload::Bytes(bytes.to_vec()),
            content_type: ct,
        }
    }
}

/// One JSON object with a single 2 MB string property (built once, shared by every probe).
fn big_body() -> &'static [u8] {
    static BIG: OnceLock<Vec<u8>> = OnceLock::new();
    BIG.get_or_init(|| {
        let s = MARKER.repeat(BIG_BODY_BYTES / MARKER.len());
        render(&json!({ "name": s }))
    })
}

/// Every hostile body for an operation whose valid body is `base`.
fn body_cases(spec: &Value, schema: &Value, base: &Value) -> Vec<BodyCase> {
    let mut props = vec![];
    properties(spec, schema, &[], &mut props);
    let first_string = props
        .iter()
        .find(|(p, k)| p.len() == 1 && *k == Kind::Str)
        .map(|(p, _)| p[0].clone())
        .unwrap_or_else(|| "name".into());
    let base_text = render(base);
    let mut cases = vec![
        BodyCase::raw("malformed `{`", b"{", Some(JSON)),
        BodyCase::raw("empty body", b"", Some(JSON)),
        BodyCase::raw("empty body, no content type", b"", None),
        BodyCase::raw("malformed, no content type", b"{\"", None),
        BodyCase::raw("whitespace body", b" \r\n\t ", Some(JSON)),
        BodyCase::raw("null", b"null", Some(JSON)),
        BodyCase::raw("[]", b"[]", Some(JSON)),
        BodyCase::raw(
            "json string",
            format!("\"{MARKER}\"").as_bytes(),
            Some(JSON),
        ),
        BodyCase::raw("json number", MARKER.as_bytes(), Some(JSON)),
        BodyCase::raw("json true", b"true", Some(JSON)),
        BodyCase::raw("{} (every field missing)", b"{}", Some(JSON)),
        BodyCase::raw(
            "trailing garbage",
            &[base_text.as_slice(), format!(" {MARKER}").as_bytes()].concat(),
            Some(JSON),
        ),
        BodyCase::raw(
            "two JSON values",
            &[base_text.as_slice(), base_text.as_slice()].concat(),
            Some(JSON),
        ),
        BodyCase::raw(
            "deep nesting",
            format!(
                "{{\"{first_string}\":{}{}}}",
                "[".repeat(50_000),
                "]".repeat(50_000)
            )
            .as_bytes(),
            Some(JSON),
        ),
        BodyCase::raw(
            "duplicate key",
            format!("{{\"{first_string}\":\"a\",\"{first_string}\":\"{MARKER}\"}}").as_bytes(),
            Some(JSON),
        ),
        BodyCase::raw(
            "invalid utf-8 in a string",
            &[
                format!("{{\"{first_string}\":\"{MARKER}").as_bytes(),
                b"\xff\xfe\"}",
            ]
            .concat(),
            Some(JSON),
        ),
        BodyCase::raw(
            "lone surrogate escape",
            format!("{{\"{first_string}\":\"\\ud800{MARKER}\"}}").as_bytes(),
            Some(JSON),
        ),
        BodyCase::raw(
            "utf-8 BOM",
            &[b"\xef\xbb\xbf".as_slice(), &base_text].concat(),
            Some(JSON),
        ),
        BodyCase::raw("valid body as text/plain", &base_text, Some("text/plain")),
        BodyCase::raw(
            "valid body as form",
            &base_text,
            Some("application/x-www-form-urlencoded"),
        ),
        BodyCase::raw("valid body, content type `json`", &base_text, Some("json")),
        BodyCase {
            what: "2 MB body".into(),
            payload: Payload::Static(big_body()),
            content_type: Some(JSON),
        },
        BodyCase {
            what: "2 MB body as text/plain".into(),
            payload: Payload::Static(big_body()),
            content_type: Some("text/plain"),
        },
    ];
    for (path, k) in &props {
        let name = path.join(".");
        let mut with = |what: String, v: Value| {
            let mut b = base.clone();
            set_path(&mut b, path, v);
            cases.push(BodyCase::json(what, &b));
        };
        with(format!("{name}: null"), Value::Null);
        for (w, v) in wrong_types(k) {
            with(format!("{name}: {w}"), v);
        }
        match k {
            Kind::Str => {
                for (w, s) in hostile_strings() {
                    with(format!("{name}: {w}"), json!(s));
                }
                with(format!("{name}: blank"), json!("   "));
            }
            Kind::Num | Kind::Int => {
                for (w, n) in hostile_numbers() {
                    with(format!("{name}: {w}"), n);
                }
            }
            Kind::Arr(item) => {
                if **item == Kind::Str {
                    for (w, s) in hostile_strings() {
                        with(format!("{name}: [{w}]"), json!([s]));
                    }
                }
                with(
                    format!("{name}: 10000 elements"),
                    Value::Array(vec![json!(MARKER); 10_000]),
                );
            }
            Kind::Map => {
                for (w, s) in hostile_strings() {
                    with(
                        format!("{name}: value {w}"),
                        json!({ format!("k{MARKER}"): s }),
                    );
                    with(format!("{name}: key {w}"), json!({ s: "v" }));
                }
                let many: Map<String, Value> = (0..500)
                    .map(|i| (format!("k{i}-{MARKER}"), json!("v")))
                    .collect();
                with(format!("{name}: 500 entries"), Value::Object(many));
            }
            _ => {}
        }
    }
    cases
}

// ---------------------------------------------------------------------------------------
// Valid requests to mutate
// ---------------------------------------------------------------------------------------

struct World {
    seed: Seed,
    payment_request: String,
    short_code: String,
    /// Partner whose uuid fills `{partnerUuid}` (the sweep may disable or rotate it).
    victim: String,
    /// The Checkout merchant's namespace, for the routes the merchant is sent to.
    namespace: String,
    /// Another namespace of the dealer, for the operator's namespace routes (the sweep may
    /// disable it or revoke its keys, which must not lock the merchant out).
    victim_namespace: String,
    /// A checkout session of the merchant.
    session: String,
    counter: AtomicU64,
}

impl World {
    /// A value of a known parameter that names something that exists.
    fn real(&self, name: &str) -> String {
        let s = &self.seed;
        match name {
            "dealerUuid" => s.dealer.clone(),
            "departmentUuid" => s.department.clone(),
            "dealerAssociateUuid" => s.associate.clone(),
            "customerUuid" => s.customer.clone(),
            "vehicleUuid" => s.vehicle.clone(),
            "dealerOrderUuid" => s.order.clone(),
            "invoiceGuid" | "invoiceId" => s.invoice.clone(),
            "guid" => self.payment_request.clone(),
            "code" => self.short_code.clone(),
            "partnerUuid" => self.victim.clone(),
            "namespace" => self.victim_namespace.clone(),
            "sessionId" => self.session.clone(),
            _ => uuid(),
        }
    }

    /// [`World::real`] for `op`: a merchant's route names the merchant's own namespace.
    fn real_for(&self, op: &Op, name: &str) -> String {
        if name == "namespace" && op.merchant_accepted && !op.operator_accepted {
            return self.namespace.clone();
        }
        self.real(name)
    }

    /// Path parameters naming a resource that does not exist yet (under the real dealer
    /// when the dealer is not the resource itself).
    fn fresh_params(&self, params: &[String]) -> HashMap<String, String> {
        params
            .iter()
            .map(|p| {
                let v = if p == "dealerUuid" && params.len() > 1 {
                    self.real(p)
                } else {
                    uuid()
                };
                (p.clone(), v)
            })
            .collect()
    }

    fn next(&self) -> u64 {
        self.counter.fetch_add(1, Ordering::Relaxed)
    }

    /// A valid body for a request body schema, so that each mutation is the only fault.
    /// Free-text fields carry the marker too: an error must not echo even valid input.
    fn base_body(&self, spec: &Value, component: &str, schema: &Value) -> Value {
        let s = &self.seed;
        let n = self.next();
        let m = MARKER;
        match component {
            "NewPartner" => json!({"username": format!("hostile-{n}-{}", &uuid()[..8])}),
            "GrantView" => {
                json!({"dealerUuid": s.dealer, "departmentUuid": s.department, "scope": "payment.all"})
            }
            "TokenRequest" => {
                json!({"kind": "dealer", "uuid": s.dealer, "scopes": ["payment.all"], "ttlSeconds": 3600})
            }
            "DealerUpsert" => json!({
                "name": format!("Hostile Motors {m}"),
                "settings": {"surchargeEnabled": true, "surchargePercent": 3.5, "salesTaxEnabled": true,
                    "salesTaxPercent": 10, "paymentProvider": "SANDBOX", "duplicateTransactionWindowMinutes": 10},
                "profile": {"contractName": format!("HM LLC {m}"), "latitude": 37.1, "longitude": -122.2}
            }),
            "DepartmentUpsert" => json!({"name": format!("Parts {m}"), "departmentType": "PARTS",
                "profile": {"brokerNumber": format!("B{m}")}}),
            "AssociateUpsert" => {
                json!({"userUuid": uuid(), "firstName": format!("Sam{m}"), "lastName": "Advisor",
                "departmentUuid": s.department, "profile": {"bio": format!("bio {m}")}})
            }
            "CustomerUpsert" => json!({"firstName": "Jo", "lastName": format!("Rivera {m}"),
                "email": format!("jo{m}@example.com"), "phone": "+1 555 0142", "profile": {"gender": "F"}}),
            "VehicleUpsert" => json!({"customerUuid": s.customer, "vin": "1HGCM82633A004352",
                "make": format!("Honda {m}"), "profile": {"model": format!("Accord {m}"), "boughtDate": "2021-03-01T00:00:00Z"}}),
            "OrderUpsert" => json!({
                "orderNumber": format!("HI-{n}-{m}"), "orderType": "RO", "amount": 250.40,
                "departmentUuid": s.department, "customerUuid": s.customer, "vehicleUuid": s.vehicle,
                "dealerAssociateUuid": s.associate, "profile": {"description": format!("d {m}"), "deliveryAmount": 0}
            }),
            "InvoiceUpsert" => json!({
                "paymentDealer": {"dealerUuid": s.dealer}, "paymentDealerOrder": {"dealerOrderUuid": s.order},
                "paymentCustomer": {"customerUuid": s.customer}, "paymentUser": {"dealerAssociateUUID": s.associate},
                "amount": 250.40, "description": format!("inv {m}"), "reminderMileage": 47000,
                "invoiceAttributes": {"laborTotal": format!("10.00 {m}")}
            }),
            "PaymentRequestCreate" => json!({"dealerUuid": s.dealer, "invoiceGuid": s.invoice,
                "sourceInfo": format!("hostile sweep {m}"), "attributes": {"channel": format!("sms {m}")}}),
            _ => generic_body(spec, schema),
        }
    }
}

/// A body with every required property present, for schemas this test does not know.
fn generic_body(spec: &Value, schema: &Value) -> Value {
    let s = concrete(spec, schema);
    let mut out = Map::new();
    let required: Vec<&str> = s
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if let Some(props) = s.get("properties").and_then(Value::as_object) {
        for (name, ps) in props {
            if !required.contains(&name.as_str()) {
                continue;
            }
            let v = match kind(spec, ps) {
                Kind::Str => json!(uuid()),
                Kind::Num | Kind::Int => json!(1),
                Kind::Bool => json!(true),
                Kind::Obj => generic_body(spec, ps),
                Kind::Arr(_) => json!([]),
                Kind::Map | Kind::Any => json!({}),
            };
            out.insert(name.clone(), v);
        }
    }
    Value::Object(out)
}

fn fill(template: &str, values: &HashMap<String, String>) -> String {
    let mut p = template.to_string();
    for (k, v) in values {
        p = p.replace(&format!("{{{k}}}"), v);
    }
    p
}

// ---------------------------------------------------------------------------------------
// Probes
// ---------------------------------------------------------------------------------------

#[derive(Clone)]
enum Auth {
    Operator,
    Anonymous,
    Partner(Arc<(String, String)>),
    /// A Checkout merchant's access token.
    Merchant(Arc<String>),
}

impl Auth {
    fn name(&self) -> &'static str {
        match self {
            Auth::Operator => "operator",
            Auth::Anonymous => "anonymous",
            Auth::Partner(_) => "partner",
            Auth::Merchant(_) => "merchant",
        }
    }
}

struct Probe {
    op: usize,
    method: Method,
    /// Path and query, already encoded.
    target: String,
    auth: Auth,
    body: Option<BodyCase>,
    headers: Vec<(String, Vec<u8>)>,
    what: String,
}

struct Outcome {
    op: usize,
    /// Who sent it ([`Auth::name`]).
    auth: &'static str,
    status: u16,
    title: Option<String>,
    /// Oversized-body attempts whose connection closed before the answer was read.
    early_closes: u32,
    /// `(what is wrong, the request and answer)`.
    failures: Vec<(String, String)>,
}

fn probes(
    spec: &Value,
    ops: &[Op],
    world: &World,
    partner: &Arc<(String, String)>,
    merchant: &Arc<String>,
) -> Vec<Probe> {
    let mut out = vec![];
    for (i, op) in ops.iter().enumerate() {
        let mut auths = vec![Auth::Anonymous];
        if op.operator_accepted {
            auths.push(Auth::Operator);
        } else if op.merchant_accepted {
            // The operator or a partner would be refused before validation; use a caller
            // the route accepts.
            auths.push(Auth::Merchant(merchant.clone()));
        } else {
            auths.push(Auth::Partner(partner.clone()));
        }
        let real_params = || -> HashMap<String, String> {
            op.path_params
                .iter()
                .map(|p| (p.clone(), world.real_for(op, p)))
                .collect()
        };
        let valid_body = || {
            op.body.as_ref().map(|(name, schema)| {
                BodyCase::json("valid body", &world.base_body(spec, name, schema))
            })
        };
        for auth in &auths {
            let mut push = |target: String, body: Option<BodyCase>, headers, what: String| {
                out.push(Probe {
                    op: i,
                    method: op.method.clone(),
                    target,
                    auth: auth.clone(),
                    body,
                    headers,
                    what,
                })
            };
            // 1. Hostile path parameters, one at a time, the others naming real things.
            for p in &op.path_params {
                for (w, v) in hostile_path_values() {
                    let mut values = real_params();
                    values.insert(p.clone(), v);
                    push(
                        fill(&op.template, &values),
                        valid_body(),
                        vec![],
                        format!("path {p} = {w}"),
                    );
                }
            }
            // 3. Junk query strings, and hostile values of documented query parameters.
            let real_path = fill(&op.template, &real_params());
            for q in [
                "?invoiceId=%zz&invoiceId=&x=%00".to_string(),
                format!("?invoiceId={MARKER}%00&%zz=%E2%80%AE&&=&invoiceId=%&x=%FF%FE"),
                format!("?{}", "a=1&".repeat(2_000)),
            ] {
                push(
                    format!("{real_path}{q}"),
                    valid_body(),
                    vec![],
                    format!("junk query {}", &q[..q.len().min(40)]),
                );
            }
            for qp in &op.query_params {
                for (w, v) in hostile_path_values() {
                    push(
                        format!("{real_path}?{qp}={v}"),
                        valid_body(),
                        vec![],
                        format!("query {qp} = {w}"),
                    );
                }
            }
            // Hostile values of documented header parameters.
            for h in &op.header_params {
                let values: Vec<(&str, Vec<u8>)> = vec![
                    ("not-a-uuid", b"not-a-uuid".to_vec()),
                    ("5000 chars", MARKER.repeat(313).into_bytes()),
                    ("sql", format!("' OR 1=1 -- {MARKER}").into_bytes()),
                    ("utf-8", format!("\u{202e}{MARKER}\u{1F4B3}").into_bytes()),
                    ("unknown uuid", uuid().into_bytes()),
                ];
                for (w, v) in values {
                    push(
                        real_path.clone(),
                        valid_body(),
                        vec![(h.clone(), v)],
                        format!("header {h} = {w}"),
                    );
                }
            }
            // 2. Hostile bodies: on real resources, and (as the operator) on new ones, a
            // fresh valid-but-unknown uuid per request.
            if let Some((name, schema)) = &op.body {
                let mut variants = vec![false];
                if matches!(auth, Auth::Operator) && !op.path_params.is_empty() {
                    variants.push(true);
                }
                for new in variants {
                    let base = world.base_body(spec, name, schema);
                    for case in body_cases(spec, schema, &base) {
                        let values = if new {
                            world.fresh_params(&op.path_params)
                        } else {
                            real_params()
                        };
                        let label = if new { "new" } else { "existing" };
                        let what = format!("body ({label} resource) {}", case.what);
                        push(fill(&op.template, &values), Some(case), vec![], what);
                    }
                }
            }
        }
    }
    out
}

fn excerpt(s: &str, n: usize) -> String {
    let mut e: String = s.chars().take(n).collect();
    if s.chars().count() > n {
        e.push('…');
    }
    e
}

/// Checks one answer against its route family's contract.
fn judge(
    op: &Op,
    status: u16,
    content_type: &str,
    location: Option<&str>,
    text: &str,
) -> (Vec<String>, Option<String>) {
    let mut f = vec![];
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let parsed: Option<Value> = serde_json::from_str(text).ok();
    let family = op.family();
    let mut title = None;
    if status >= 500 {
        f.push(format!("server error {status}"));
    }
    match status {
        // No content: nothing to judge but that there is none.
        204 => {
            if !text.is_empty() {
                f.push("a 204 answer has a body".into());
            }
        }
        200..=299 => {
            let html_ok = family == Family::Html && essence == "text/html";
            let documented = op.ok_types.iter().any(|t| t.eq_ignore_ascii_case(&essence));
            match &parsed {
                Some(v) if essence == JSON => {
                    if let Some(errs) = v.get("errors").and_then(Value::as_array) {
                        if !errs.is_empty() {
                            f.push("2xx answer carries errors".into());
                        }
                    }
                }
                _ if html_ok || (documented && essence != JSON) => {}
                _ => f.push(format!(
                    "2xx answer is neither JSON nor a documented content type ({content_type})"
                )),
            }
            // Free text is refused with control characters; a 2xx showing one stored it.
            if essence == JSON && (text.contains("\\u0000") || text.contains("\\u001b")) {
                f.push("a 2xx answer shows a stored control character".into());
            }
        }
        300..=399 => {
            if family != Family::ShortLink || !(status == 302 || status == 303) {
                f.push(format!("unexpected redirect {status}"));
            }
            if !location.is_some_and(|l| l.starts_with("/pay/")) {
                f.push(format!("redirect to {location:?}, expected /pay/…"));
            }
        }
        _ => {
            match family {
                Family::Html => {
                    if essence != "text/html" {
                        f.push(format!("a customer page answered {content_type}, not HTML"));
                    }
                }
                Family::V1 | Family::ShortLink => match &parsed {
                    Some(v) => {
                        let errs = v.get("errors").and_then(Value::as_array);
                        match errs.map(Vec::as_slice) {
                            Some([e]) => {
                                if !e["errorCode"].is_i64() {
                                    f.push("v1 errorCode is not an integer".into());
                                }
                                match e["errorTitle"].as_str() {
                                    Some(t) if !t.is_empty() => title = Some(t.to_string()),
                                    _ => f.push("v1 errorTitle is missing or empty".into()),
                                }
                            }
                            _ => f.push("not a v1 envelope with exactly one error".into()),
                        }
                        if !v["warnings"].is_array() {
                            f.push("v1 warnings is not an array".into());
                        }
                    }
                    None => f.push(format!("error body is not JSON ({content_type})")),
                },
                Family::Checkout => match &parsed {
                    Some(v) => {
                        match v["error"]["code"].as_i64() {
                            Some(c) if (9_300_000..9_400_000).contains(&c) => {
                                title = v["error"]["name"].as_str().map(|n| format!("checkout {n}"))
                            }
                            _ => f.push("checkout error.code is not a 93xxxxx integer".into()),
                        }
                        if v["error"]["name"].as_str().is_none_or(|n| n.is_empty()) {
                            f.push("checkout error.name is missing or empty".into());
                        }
                        if !v["error"]["message"].is_string() {
                            f.push("checkout error.message is not a string".into());
                        }
                    }
                    None => f.push(format!("error body is not JSON ({content_type})")),
                },
                Family::V3 => match &parsed {
                    Some(v) => {
                        match v["error"]["errorCode"].as_str() {
                            Some(c) if !c.is_empty() && c.bytes().all(|b| b.is_ascii_digit()) => {
                                title = Some(format!("v3 {c}"))
                            }
                            _ => f.push("v3 error.errorCode is not a string of digits".into()),
                        }
                        if !v["error"]["errorDescription"].is_string() {
                            f.push("v3 error.errorDescription is not a string".into());
                        }
                        if !v["warnings"].is_array() {
                            f.push("v3 warnings is not an array".into());
                        }
                    }
                    None => f.push(format!("error body is not JSON ({content_type})")),
                },
            }
            if text.contains(MARKER) {
                f.push("error body echoes client input".into());
            }
        }
    }
    (f, title)
}

fn request(client: &Client, base: &str, p: &Probe) -> reqwest::RequestBuilder {
    let mut rb = client.request(p.method.clone(), format!("{base}{}", p.target));
    rb = match &p.auth {
        Auth::Operator => rb.bearer_auth(OPERATOR),
        Auth::Anonymous => rb,
        Auth::Partner(c) => rb.basic_auth(&c.0, Some(&c.1)),
        Auth::Merchant(t) => rb.bearer_auth(t),
    };
    for (k, v) in &p.headers {
        rb = rb.header(
            HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_bytes(v).unwrap(),
        );
    }
    if let Some(b) = &p.body {
        if let Some(ct) = b.content_type {
            rb = rb.header(CONTENT_TYPE, ct);
        }
        rb = match &b.payload {
            Payload::Bytes(v) => rb.body(v.clone()),
            Payload::Static(s) => rb.body(*s),
        };
    }
    rb
}

/// Attempts at an oversized body. The server answers such a request without reading all of
/// it and closes the connection, so the client may see its write fail (EPIPE/RST) before it
/// reads the answer; that is a property of HTTP/1.1, not an answer, so it is retried.
const OVERSIZED_ATTEMPTS: u32 = 5;

async fn fire(client: Client, base: Arc<String>, ops: Arc<Vec<Op>>, p: Probe) -> Outcome {
    let op = &ops[p.op];
    let oversized = matches!(
        p.body,
        Some(BodyCase {
            payload: Payload::Static(_),
            ..
        })
    );
    let mut early_closes = 0;
    let sent = loop {
        match request(&client, &base, &p).send().await {
            Err(e) if oversized && e.is_request() && early_closes + 1 < OVERSIZED_ATTEMPTS => {
                early_closes += 1;
            }
            r => break r,
        }
    };
    let describe = |status: &str, body: &str| {
        format!(
            "{} {} [{}] {} -> {status} {}",
            p.method,
            excerpt(&p.target, 160),
            p.auth.name(),
            p.what,
            excerpt(body, 500)
        )
    };
    match sent {
        Err(e) => Outcome {
            op: p.op,
            auth: p.auth.name(),
            status: 0,
            title: None,
            early_closes,
            failures: vec![(
                "transport error".into(),
                describe("transport error", &format!("{e:?}")),
            )],
        },
        Ok(r) => {
            let status = r.status().as_u16();
            let ct = r
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            let location = r
                .headers()
                .get(LOCATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let text = match r.bytes().await {
                Ok(b) => String::from_utf8_lossy(&b).into_owned(),
                Err(e) => format!("<body unreadable: {e}>"),
            };
            let (mut problems, title) = judge(op, status, &ct, location.as_deref(), &text);
            if matches!(p.auth, Auth::Anonymous) && !op.public && (200..400).contains(&status) {
                problems.push("an anonymous request to a secured route succeeded".into());
            }
            Outcome {
                op: p.op,
                auth: p.auth.name(),
                status,
                title,
                early_closes,
                failures: problems
                    .into_iter()
                    .map(|why| (why, describe(&status.to_string(), &text)))
                    .collect(),
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Database bookkeeping
// ---------------------------------------------------------------------------------------

/// Tables, the operations that may add rows to them when they answer 2xx, and how many rows
/// one such answer may add at most.
const TABLES: &[(&str, &[&str], i64)] = &[
    (
        "dealers",
        &["PUT /payment/kpayment/v1/dealers/{dealerUuid}"],
        1,
    ),
    ("departments", &["/departments/"], 1),
    ("associates", &["/associates/"], 1),
    ("customers", &["/customers/"], 1),
    ("vehicles", &["/vehicles/"], 1),
    ("vehicle_brands", &["/vehicles/"], 1),
    ("dealer_orders", &["/orders/"], 1),
    ("invoices", &["/invoices/"], 1),
    // Attributes are replaced as a whole; at most 100 per invoice.
    ("invoice_attributes", &["/invoices/"], 100),
    (
        "payment_requests",
        &["POST /payment/kpayment/v1/paymentrequest"],
        1,
    ),
    // At most 50 per payment request.
    (
        "payment_request_attributes",
        &["POST /payment/kpayment/v1/paymentrequest"],
        50,
    ),
    ("partners", &["POST /payment/admin/v1/partners"], 1),
    (
        "scope_grants",
        &["POST /payment/admin/v1/partners/{partnerUuid}/grants"],
        1,
    ),
    ("operator_tokens", &[], 0),
    ("payment_attempts", &[], 0),
];

fn writes_table(op: &Op, patterns: &[&str]) -> bool {
    let label = op.label();
    patterns.iter().any(|p| {
        if p.contains(' ') {
            label == *p
        } else {
            op.method != Method::GET && op.template.contains(p)
        }
    })
}

async fn counts(app: &TestApp) -> BTreeMap<&'static str, i64> {
    let mut out = BTreeMap::new();
    for (t, _, _) in TABLES {
        let n = scalar(app.db(), format!("SELECT COUNT(*) FROM {t}"), vec![]).await;
        out.insert(*t, n);
    }
    out
}

/// Rows whose parent is missing (a half-written aggregate).
const ORPHANS: &[&str] = &[
    "SELECT COUNT(*) FROM invoices i LEFT JOIN dealer_orders o ON o.id = i.dealer_order_id WHERE o.id IS NULL",
    "SELECT COUNT(*) FROM invoice_attributes a LEFT JOIN invoices i ON i.id = a.invoice_id WHERE i.id IS NULL",
    "SELECT COUNT(*) FROM payment_requests p LEFT JOIN invoices i ON i.id = p.invoice_id WHERE i.id IS NULL",
    "SELECT COUNT(*) FROM payment_request_attributes a LEFT JOIN payment_requests p ON p.id = a.payment_request_id WHERE p.id IS NULL",
    "SELECT COUNT(*) FROM dealer_orders o LEFT JOIN departments d ON d.id = o.department_id WHERE d.id IS NULL",
    "SELECT COUNT(*) FROM scope_grants g LEFT JOIN partners p ON p.id = g.partner_id WHERE p.id IS NULL",
    "SELECT COUNT(*) FROM (SELECT invoice_id FROM payment_requests WHERE status = 'ACTIVE' GROUP BY invoice_id HAVING COUNT(*) > 1) x",
];

// ---------------------------------------------------------------------------------------
// The test
// ---------------------------------------------------------------------------------------

/// The catalog errors of input validation (as [`judge`] names them): an answer carrying one
/// got past authentication and was refused for what it sent.
const VALIDATION: &[&str] = &[
    "INVALID_REQUEST_DATA",
    "REQUIRED_FIELDS_MISSING",
    "INVALID_DATA_FOR_THE_FIELD",
    "PEPAYMENT_VALIDATION_FAILED",
    "checkout VALIDATION_ERROR",
    "v3 100006",
    "v3 100034",
    "v3 100035",
];

/// Each credential's answers: at most this share may be 401s…
const MAX_401_SHARE: f64 = 0.10;
/// …and at least this share must carry a validation error.
const MIN_VALIDATION_SHARE: f64 = 0.30;

/// A Checkout namespace of the seeded dealer; returns its name.

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_operation_survives_hostile_input() {
    let started = Instant::now();
    let app = TestApp::spawn().await;

    let (st, spec) = TestApp::send(app.req(Method::GET, "/payment/openapi.json")).await;
    assert_eq!(st, 200, "the OpenAPI document is served");
    let ops = operations(&spec);
    assert!(
        ops.len() >= MIN_OPERATIONS,
        "the served document lists only {} operations; expected at least {MIN_OPERATIONS}",
        ops.len()
    );

    // Real things for the parameters to name.
    let seed = app.seed(250.40).await;
    let (st, pr) = app.payment_request(&seed, json!({})).await;
    assert_eq!(st, 201, "{pr}");
    let short_url = pr["paymentRequest"]["shortUrl"].as_str().unwrap();
    // A Checkout merchant (namespace, API key, access token, session), and a second
    // namespace for the operator's namespace routes.
    let namespace = "hostile".to_string();
    let merchant = Arc::new(app.checkout_merchant(&seed, &namespace).await);
    let victim_namespace = "hostile-victim".to_string();
    app.checkout_namespace(&seed, &victim_namespace, "Namespace hostile-victim")
        .await;
    let (st, session) = TestApp::send(
        app.req(
            Method::POST,
            &format!("/payment/checkout/v1/namespaces/{namespace}/sessions"),
        )
        .bearer_auth(&*merchant)
        .json(&json!({"referenceId": "hostile-1", "amount": 42.50})),
    )
    .await;
    assert_eq!(st, 201, "{session}");
    let world = World {
        payment_request: pr["paymentRequest"]["guid"].as_str().unwrap().to_string(),
        short_code: short_url.rsplit('/').next().unwrap().to_string(),
        victim: app
            .partner(&[(&seed.dealer, None, "payment.all")])
            .await
            .uuid,
        seed,
        namespace,
        victim_namespace,
        session: session["id"].as_str().unwrap().to_string(),
        counter: AtomicU64::new(0),
    };
    let caller = app
        .partner(&[(&world.seed.dealer, None, "payment.all")])
        .await;
    let caller = Arc::new((caller.username, caller.secret));

    let before = counts(&app).await;
    let all = probes(&spec, &ops, &world, &caller, &merchant);
    let sent = all.len();
    let per_op_probes = all.iter().fold(vec![0usize; ops.len()], |mut v, p| {
        v[p.op] += 1;
        v
    });
    for (i, n) in per_op_probes.iter().enumerate() {
        assert!(*n >= 6, "{} got only {n} probes", ops[i].label());
    }

    let client = Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let ops = Arc::new(ops);
    let base = Arc::new(app.base.clone());
    let gate = Arc::new(Semaphore::new(CONCURRENCY));
    let mut tasks = JoinSet::new();
    for p in all {
        let permit = gate.clone().acquire_owned().await.unwrap();
        let (client, base, ops) = (client.clone(), base.clone(), ops.clone());
        tasks.spawn(async move {
            let o = fire(client, base, ops, p).await;
            drop(permit);
            o
        });
    }
    let mut outcomes = Vec::with_capacity(sent);
    while let Some(r) = tasks.join_next().await {
        outcomes.push(r.expect("probe task"));
    }

    // Every answer.
    let mut statuses: BTreeMap<u16, usize> = BTreeMap::new();
    let mut titles: BTreeMap<String, usize> = BTreeMap::new();
    let mut ok_per_op = vec![0i64; ops.len()];
    // Failures grouped by (what is wrong, operation, status), with a count and an example.
    let mut groups: BTreeMap<(String, String, u16), (usize, String)> = BTreeMap::new();
    let mut early_closes = 0;
    for o in &outcomes {
        early_closes += o.early_closes;
        *statuses.entry(o.status).or_default() += 1;
        if let Some(t) = &o.title {
            *titles.entry(t.clone()).or_default() += 1;
        }
        if (200..300).contains(&o.status) {
            ok_per_op[o.op] += 1;
        }
        for (why, example) in &o.failures {
            let g = groups
                .entry((why.clone(), ops[o.op].label(), o.status))
                .or_insert_with(|| (0, example.clone()));
            g.0 += 1;
        }
    }

    let mut failures: Vec<String> = groups
        .iter()
        .map(|((why, op, status), (n, example))| {
            format!("{why} — {op} -> {status} ({n}×), e.g. {example}")
        })
        .collect();
    let wrong: usize = groups.values().map(|g| g.0).sum();

    // The sweep reached the validation: a credential that stopped working (a broken
    // operator token, partner secret or merchant token) would turn its half of the sweep
    // into 401s that pass every check above.
    let validation = |o: &Outcome| o.title.as_deref().is_some_and(|t| VALIDATION.contains(&t));
    // Per credential: (answers, 401s, validation errors).
    let mut per_auth: BTreeMap<&str, (usize, usize, usize)> = BTreeMap::new();
    // Per operation, the credentialed answers: (answers, 401s, validation errors).
    let mut per_op = vec![(0usize, 0usize, 0usize); ops.len()];
    for o in outcomes.iter().filter(|o| o.auth != "anonymous") {
        for e in [per_auth.entry(o.auth).or_default(), &mut per_op[o.op]] {
            e.0 += 1;
            e.1 += usize::from(o.status == 401);
            e.2 += usize::from(validation(o));
        }
    }
    for auth in ["operator", "partner", "merchant"] {
        let (n, unauthorized, valid) = per_auth.get(auth).copied().unwrap_or_default();
        if n == 0 {
            failures.push(format!("no request was sent as the {auth}"));
            continue;
        }
        if unauthorized as f64 > MAX_401_SHARE * n as f64 {
            failures.push(format!(
                "{unauthorized} of the {auth}'s {n} requests were answered 401: its credential does not work"
            ));
        }
        if (valid as f64) < MIN_VALIDATION_SHARE * n as f64 {
            failures.push(format!(
                "only {valid} of the {auth}'s {n} requests got a validation error: the sweep did not reach the validation"
            ));
        }
    }
    for (i, op) in ops.iter().enumerate() {
        let (n, unauthorized, valid) = per_op[i];
        if 2 * unauthorized >= n && n > 0 {
            failures.push(format!(
                "{}: {unauthorized} of its {n} requests with credentials were answered 401",
                op.label()
            ));
        }
        if op.body.is_some() && op.family() != Family::Html && valid == 0 {
            failures.push(format!(
                "{}: none of its {n} requests with credentials got a validation error",
                op.label()
            ));
        }
    }

    // The server is still healthy and still writes.
    let (st, _) = TestApp::send(app.req(Method::GET, "/healthz")).await;
    assert_eq!(st, 200, "/healthz after the sweep");
    let (st, _) = TestApp::send(app.req(Method::GET, "/readyz")).await;
    assert_eq!(st, 200, "/readyz after the sweep");
    let metrics = app
        .req(Method::GET, "/metrics")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !metrics.contains(MARKER),
        "/metrics carries client input (unbounded label values)"
    );

    // Nothing half-written: a table grows by at most the 2xx answers of its writers.
    let after = counts(&app).await;
    for (table, writers, per_answer) in TABLES {
        let answers: i64 = ops
            .iter()
            .enumerate()
            .filter(|(_, op)| writes_table(op, writers))
            .map(|(i, _)| ok_per_op[i])
            .sum();
        let allowed = answers * per_answer;
        let grown = after[table] - before[table];
        if grown > allowed {
            failures.push(format!(
                "{table} grew by {grown} rows; its writers' {answers} 2xx answers allow at most {allowed}"
            ));
        }
    }
    for q in ORPHANS {
        let n = scalar(app.db(), *q, vec![]).await;
        if n != 0 {
            failures.push(format!("{n} inconsistent rows: {q}"));
        }
    }
    let (st, b) = app
        .put_op(
            &format!(
                "/payment/kpayment/v1/dealers/{}/customers/{}",
                world.seed.dealer,
                uuid()
            ),
            json!({"lastName": "After"}),
        )
        .await;
    assert_eq!(st, 200, "a valid write after the sweep: {b}");

    println!(
        "hostile_input [{}]: {} operations swept, {} requests ({} oversized retried after an early close) in {:.1}s, statuses {:?}, \
         (answers, 401s, validation errors) per credential {:?}, error titles {:?}",
        backend(),
        ops.len(),
        sent,
        early_closes,
        started.elapsed().as_secs_f64(),
        statuses,
        per_auth,
        titles
    );
    assert!(
        failures.is_empty(),
        "{wrong} of {sent} hostile requests were answered wrongly, or the data is inconsistent:\n{}",
        failures.join("\n")
    );
}
