//! What the request bodies require, written into the OpenAPI document.
//!
//! The wire structs read most fields as `Option<T>`, so that a missing field gets the catalog
//! error naming it and the engine decides what is required; utoipa, seeing `Option`, documents
//! each such field as optional and nullable. This pass writes the server's rules over that:
//! [`rules`] is the table, one line per rule, grouped by route, each naming the validation it
//! mirrors (`required_text`, `optional_text`, `uuid`, …). Only requests change: a component the
//! answers also use is copied where a request needs it stricter, so answers are judged as
//! before.
//!
//! A rule that names a schema or field the document does not have panics when the document is
//! built (`cargo test -p api` builds it), so a renamed field cannot silently lose its rule.
//!
//! Patterns are read by three regex dialects: ECMA-262 (the standard's), Rust's (validators
//! such as jsonschema-rs) and Python's (fuzzers drawing values). They therefore spell classes
//! out rather than use `\s`/`\d`, whose meanings differ between them, use no lookaround but the
//! final `(?!\n)` (Python's `$` also matches before a trailing newline), and are anchored.

use super::UUID_PATTERN;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// What `str::trim` removes (Unicode `White_Space`), for use inside a character class.
const WHITESPACE: &str = r"\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";
/// `char::is_control` (category Cc), for use inside a character class.
const CONTROL: &str = r"\x00-\x1f\x7f-\x9f";

/// `validate::text` and friends: the value trimmed is at most `max` characters without control
/// characters, and (unless `blank_ok`) not empty. Trimming is part of the rule: surrounding
/// whitespace is allowed and not counted.
fn text_pattern(max: usize, blank_ok: bool) -> String {
    assert!(max >= 2, "a text rule of at most {max} character");
    let ws = format!("[{WHITESPACE}]*");
    let edge = format!("[^{CONTROL}{WHITESPACE}]");
    let inner = format!("[^{CONTROL}]");
    let content = format!("{edge}(?:{inner}{{0,{}}}{edge})?", max - 2);
    if blank_ok {
        format!("^{ws}(?:{content}{ws})?$(?!\\n)")
    } else {
        format!("^{ws}{content}{ws}$(?!\\n)")
    }
}

/// Anything with a character that is not whitespace (`s.trim().is_empty()` is false).
fn not_blank_pattern() -> String {
    format!("^[{WHITESPACE}]*[^{WHITESPACE}][\\s\\S]*$(?!\\n)")
}

/// `domain::Timestamp` as it is read: RFC 3339 (`T` or `t`, `Z`, `z` or an offset of at most
/// 23:59, any fraction of a second), years 1900–9998, no leap second.
const TIMESTAMP_PATTERN: &str = concat!(
    "^(?:19[0-9]{2}|[2-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])",
    "-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])",
    "[Tt](?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\\.[0-9]+)?",
    "(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])$(?!\\n)"
);

/// Card processors every server has: the built-in `SANDBOX` (in-process or, with
/// `--processor-url`, over HTTP under the same name). Processors a server adds with
/// `--processor NAME=URL` are accepted as well but are not in this static document, which is
/// then stricter than that server.
const PROVIDERS: &[&str] = &["SANDBOX"];

/// One rule: at a component schema (`"NewPartner"`) or an operation's inline JSON body
/// (`"POST /path"`), a property (`"a.b"` goes through the object `a`; `""` is the object
/// itself), what the server requires of it.
struct Rule {
    at: &'static str,
    field: &'static str,
    /// Present and not null.
    required: bool,
    /// JSON Schema keywords the value must also satisfy.
    facets: Map<String, Value>,
    /// On an object: `anyOf`/`oneOf` over `(property, schema)`: at least one, or exactly one,
    /// of the properties is present with a value of its schema.
    alternatives: Option<(&'static str, Vec<(&'static str, Value)>)>,
    /// The rule in words, added to the description (patterns are hard to read).
    note: Option<String>,
}

fn field(at: &'static str, field: &'static str) -> Rule {
    Rule {
        at,
        field,
        required: false,
        facets: Map::new(),
        alternatives: None,
        note: None,
    }
}

impl Rule {
    /// Present and not null (`EngineError::missing` otherwise).
    fn required(mut self) -> Rule {
        self.required = true;
        self
    }
    fn facet(mut self, key: &str, value: Value) -> Rule {
        self.facets.insert(key.into(), value);
        self
    }
    /// `validate::required_text`: present, and 1 to `max` characters once trimmed.
    fn text(mut self, max: usize) -> Rule {
        self.note = Some(format!(
            "1 to {max} characters, surrounding whitespace not counted; no control characters."
        ));
        self.required()
            .facet("pattern", text_pattern(max, false).into())
    }
    /// `validate::optional_text` / `validate::text`: at most `max` characters once trimmed
    /// (blank counts as absent).
    fn optional_text(mut self, max: usize) -> Rule {
        self.note = Some(format!(
            "At most {max} characters, surrounding whitespace not counted (blank is as absent); \
             no control characters."
        ));
        self.facet("pattern", text_pattern(max, true).into())
    }
    /// A UUID, present (`validate::uuid` and the like).
    fn uuid(self) -> Rule {
        self.required()
            .facet("format", "uuid".into())
            .facet("pattern", UUID_PATTERN.into())
    }
    fn pattern(self, p: &str) -> Rule {
        self.facet("pattern", p.into())
    }
    /// One of `values` (the server trims and folds case for some; the document lists the
    /// canonical spellings).
    fn one_of(self, values: &[&str]) -> Rule {
        self.facet("enum", json!(values))
    }
    fn range(self, min: i64, max: i64) -> Rule {
        self.facet("minimum", min.into())
            .facet("maximum", max.into())
    }
    fn items(self, min: usize, max: usize) -> Rule {
        self.facet("minItems", min.into())
            .facet("maxItems", max.into())
    }
    fn each_one_of(self, values: &[&str]) -> Rule {
        self.facet("items", json!({"type": "string", "enum": values}))
    }
    /// A string map: at most `max` entries, keys 1 to `key_max` characters once trimmed
    /// (`required_text`), values at most `value_max` (`text`).
    fn entries(self, max: usize, key_max: usize, value_max: usize) -> Rule {
        self.facet("maxProperties", max.into())
            .facet(
                "propertyNames",
                json!({"type": "string", "pattern": text_pattern(key_max, false)}),
            )
            .facet(
                "additionalProperties",
                json!({"type": "string", "pattern": text_pattern(value_max, true)}),
            )
    }
    /// At least one of the properties is present with a value of its schema.
    fn any_of(mut self, alternatives: Vec<(&'static str, Value)>) -> Rule {
        self.alternatives = Some(("anyOf", alternatives));
        self
    }
    /// Exactly one of the properties is present with a value of its schema.
    fn exactly_one_of(mut self, alternatives: Vec<(&'static str, Value)>) -> Rule {
        self.alternatives = Some(("oneOf", alternatives));
        self
    }
}

/// A required text's schema, for alternatives.
fn text_schema(max: usize) -> Value {
    json!({"type": "string", "pattern": text_pattern(max, false)})
}

/// The table. Each group names the route and the code whose checks it mirrors; a field not
/// listed is as its wire struct says.
fn rules() -> Vec<Rule> {
    let scopes: Vec<&str> = domain::scope::Scope::EVERY
        .iter()
        .map(|s| s.as_str())
        .collect();
    let locales = engine::payments::LOCALES;
    vec![
        // --- admin (engine::partners) ---
        // create_partner: 3–64 of [A-Za-z0-9._-], untrimmed.
        field("NewPartner", "username")
            .pattern("^[A-Za-z0-9._-]{3,64}$(?!\\n)")
            .facet("minLength", 3.into())
            .facet("maxLength", 64.into()),
        // grant_target (grants and their revocation).
        field("GrantView", "scope").one_of(&scopes),
        // mint_scoped_token.
        field("TokenRequest", "kind").one_of(&["dealer", "department"]),
        field("TokenRequest", "scopes")
            .facet("minItems", 1.into())
            .each_one_of(&scopes),
        field("TokenRequest", "ttlSeconds").range(60, 2_592_000),
        // SettlementRequest.before: a request timestamp (see `request_timestamps`).

        // --- checkout: namespaces, keys, tokens (engine::checkout::namespaces, auth) ---
        // create_namespace: trimmed, then 3–40 of [a-z0-9-]; name: required_text(200).
        field("NamespaceCreate", "namespace").pattern(&format!(
            "^[{WHITESPACE}]*[a-z0-9-]{{3,40}}[{WHITESPACE}]*$(?!\\n)"
        )),
        field("NamespaceCreate", "name").text(200),
        field("ApiKeyCreate", "label").optional_text(100),
        // exchange_api_key: apiKey trimmed must not be empty.
        field(
            "POST /payment/checkout/v1/namespaces/{namespace}/token",
            "apiKey",
        )
        .required()
        .pattern(&not_blank_pattern()),
        // --- checkout: users and resets (engine::checkout::users) ---
        // email(): required_text(254) (then it must look like an address); password(): 12 to
        // 256 characters.
        field("UserCreate", "email").text(254),
        field("UserCreate", "password")
            .facet("minLength", 12.into())
            .facet("maxLength", 256.into()),
        field("Login", "email").text(254),
        field("ResetRequest", "email").text(254),
        field("ResetConfirm", "newPassword")
            .facet("minLength", 12.into())
            .facet("maxLength", 256.into()),
        // --- checkout: sessions (engine::checkout::sessions::create_session, list) ---
        field("SessionCreate", "referenceId").text(100),
        field("SessionCreate", "amount").required(),
        field("SessionCreate", "currency").one_of(&["USD"]),
        field("SessionCreate", "captureMethod").one_of(&["automatic", "manual"]),
        field("SessionCreate", "paymentMethods")
            .items(1, 4)
            .each_one_of(&["card", "pin_debit"]),
        field("SessionCreate", "expiresInSeconds").range(1800, 86_400),
        field("SessionCreate", "successUrl").optional_text(2000),
        field("SessionCreate", "cancelUrl").optional_text(2000),
        // --- checkout: payment intents (engine::checkout::intents) ---
        // pay_session: amount; payment_method(): card or token, exactly one; return_url().
        field("IntentCreate", "amount").required(),
        field("IntentCreate", "paymentMethod").one_of(&["card", "pin_debit"]),
        field("IntentCreate", "token").optional_text(200),
        field("IntentCreate", "returnUrl").optional_text(2000),
        field("IntentCreate", "").exactly_one_of(card_or_token()),
        // --- card payments (api::routes::payments) ---
        // confirm_command: card or token, exactly one; the card's own checks.
        field("ConfirmRequest", "token").optional_text(200),
        field("ConfirmRequest", "returnUrl").optional_text(2000),
        field("ConfirmRequest", "").exactly_one_of(card_or_token()),
        // CardNumber::parse (digits, spaces and dashes; 12–19 digits; Luhn, which no pattern
        // says), Cvv::parse (trimmed, 3 or 4 digits), expiry, zip and holder name.
        field("CardInput", "number").pattern("^[ -]*(?:[0-9][ -]*){12,19}$(?!\\n)"),
        field("CardInput", "cvv").pattern(&format!(
            "^[{WHITESPACE}]*[0-9]{{3,4}}[{WHITESPACE}]*$(?!\\n)"
        )),
        field("CardInput", "expMonth").range(1, 12),
        field("CardInput", "expYear").range(2000, 2100),
        field("CardInput", "zip").optional_text(10),
        field("CardInput", "holderName").optional_text(100),
        field("RefundBody", "reason").optional_text(500),
        // fee_quote.
        field("FeeQuoteRequest", "dealerUuid").uuid(),
        field("FeeQuoteRequest", "amount").required(),
        field("FeeQuoteRequest", "tenderType").one_of(&["CREDIT", "DEBIT"]),
        field("FeeQuoteRequest", "cardType").one_of(CARD_TYPES),
        // prepayment_command (every malformed field answers PEPAYMENT_VALIDATION_FAILED).
        field("PrePaymentRequest", "dealerUuid").uuid(),
        field("PrePaymentRequest", "amount").required(),
        field("PrePaymentRequest", "customerUuid").uuid(),
        field("PrePaymentRequest", "invoiceGUID").uuid(),
        field("PrePaymentRequest", "orderNumber").optional_text(64),
        field("PrePaymentRequest", "").any_of(vec![
            (
                "dealerOrderUuid",
                json!({"type": "string", "format": "uuid", "pattern": UUID_PATTERN}),
            ),
            ("orderNumber", text_schema(64)),
        ]),
        field("PrePaymentRequest", "locale").one_of(locales),
        field("PrePaymentRequest", "cardDigits").pattern(&format!(
            "^[{WHITESPACE}]*(?:[0-9]{{4}}[{WHITESPACE}]*)?$(?!\\n)"
        )),
        field("PrePaymentRequest", "transactionTypeShortCode").one_of(&["CHARGE", "SALE", "CC"]),
        field("PrePaymentRequest", "paymentProvider").one_of(PROVIDERS),
        field("PrePaymentRequest", "attributes").facet("maxProperties", 50.into()),
        field("PrePaymentRequest", "desc").optional_text(1000),
        field("TransactionDetailsList", "transactionDetails").items(0, 100),
        field("TransactionDetailInput", "type").text(64),
        field("TransactionDetailInput", "amount").required(),
        field("TransactionDetailInput", "description").optional_text(500),
        // prepayment's fee request (ERROR_WHILE_FETHING_FEES when neither).
        field("FeeRequest", "tenderType").one_of(&["CREDIT", "DEBIT"]),
        field("FeeRequest", "cardType").one_of(CARD_TYPES),
        // --- payment requests (engine::payment_requests::create_payment_request) ---
        field("PaymentRequestCreate", "dealerUuid").uuid(),
        field("PaymentRequestCreate", "invoiceGuid").uuid(),
        field("PaymentRequestCreate", "ttl").range(
            engine::payment_requests::MIN_TTL,
            engine::payment_requests::MAX_TTL,
        ),
        field("PaymentRequestCreate", "locale").one_of(locales),
        field("PaymentRequestCreate", "source").optional_text(64),
        field("PaymentRequestCreate", "sourceInfo").optional_text(500),
        field("PaymentRequestCreate", "paymentType").optional_text(32),
        field("PaymentRequestCreate", "attributes").entries(50, 100, 1000),
        // --- dealer data (engine::dealer_data) ---
        // upsert_dealer.
        field("DealerUpsert", "name").text(200),
        field("DealerSettingsInput", "duplicateTransactionWindowMinutes").range(0, 10_080),
        field("DealerSettingsInput", "surchargePercent").range(0, 4),
        field("DealerSettingsInput", "dualPricingPercent").range(0, 10),
        field("DealerSettingsInput", "salesTaxPercent").range(0, 25),
        field("DealerSettingsInput", "paymentProvider").one_of(PROVIDERS),
        field("DealerSettingsInput", "achProvider").optional_text(32),
        field("DealerSettingsInput", "preferredDealerId").optional_text(64),
        // upsert_department.
        field("DepartmentUpsert", "name").text(200),
        field("DepartmentUpsert", "departmentType")
            .required()
            .one_of(engine::dealer_data::DEPARTMENT_TYPES),
        // upsert_associate.
        field("AssociateUpsert", "userUuid").uuid(),
        field("AssociateUpsert", "firstName").text(100),
        field("AssociateUpsert", "lastName").text(100),
        // upsert_customer: one of firstName, lastName and company is not blank.
        field("CustomerUpsert", "firstName").optional_text(100),
        field("CustomerUpsert", "middleName").optional_text(100),
        field("CustomerUpsert", "lastName").optional_text(100),
        field("CustomerUpsert", "company").optional_text(200),
        field("CustomerUpsert", "email").optional_text(254),
        field("CustomerUpsert", "phone").optional_text(32),
        field("CustomerUpsert", "").any_of(vec![
            ("firstName", text_schema(100)),
            ("lastName", text_schema(100)),
            ("company", text_schema(200)),
        ]),
        // upsert_vehicle: vin trimmed, 17 of [A-Z0-9] but I, O, Q (either case).
        field("VehicleUpsert", "vin").pattern(&format!(
            "^[{WHITESPACE}]*(?:[A-HJ-NPR-Za-hj-npr-z0-9]{{17}}[{WHITESPACE}]*)?$(?!\\n)"
        )),
        field("VehicleUpsert", "make").optional_text(60),
        // upsert_order.
        field("OrderUpsert", "orderNumber").text(64),
        field("OrderUpsert", "orderType").text(32),
        field("OrderUpsert", "orderStatus").one_of(&["OPEN", "CLOSED"]),
        field("OrderUpsert", "amount").required(),
        field("OrderUpsert", "departmentUuid").uuid(),
        field("OrderUpsert", "customerUuid").uuid(),
        // upsert_invoice: the four references (100087–100090), the amount, the attributes.
        field("InvoiceUpsert", "paymentDealer").required(),
        field("InvoiceUpsert", "paymentDealer.dealerUuid").uuid(),
        field("InvoiceUpsert", "paymentDealerOrder").required(),
        field("InvoiceUpsert", "paymentDealerOrder.dealerOrderUuid").uuid(),
        field("InvoiceUpsert", "paymentCustomer").required(),
        field("InvoiceUpsert", "paymentCustomer.customerUuid").uuid(),
        field("InvoiceUpsert", "paymentUser").required(),
        field("InvoiceUpsert", "paymentUser.dealerAssociateUUID").uuid(),
        field("InvoiceUpsert", "amount").required(),
        field("InvoiceUpsert", "reminderMileage").range(0, 10_000_000),
        field("InvoiceUpsert", "invoiceAttributes").entries(100, 100, 1000),
        field("InvoiceUpsert", "description").optional_text(2000),
        field("InvoiceUpsert", "fileName").optional_text(255),
    ]
}

/// `CardBrand::parse`.
const CARD_TYPES: &[&str] = &[
    "VISA",
    "MASTERCARD",
    "MC",
    "AMEX",
    "AMERICAN_EXPRESS",
    "DISCOVER",
];

/// Card details or a processor token (confirm and payment intents).
fn card_or_token() -> Vec<(&'static str, Value)> {
    vec![
        ("card", json!({"type": "object"})),
        ("token", json!({"type": "string"})),
    ]
}

/// Path and query parameters by name, wherever they appear.
fn parameter_rules() -> Vec<(&'static str, Value)> {
    vec![
        // is_session_id / is_intent_id: nothing else names a session or an intent.
        (
            "sessionId",
            json!({"pattern": "^cs_[0-9a-fA-F]{32}$(?!\\n)"}),
        ),
        (
            "startingAfter",
            json!({"pattern": "^cs_[0-9a-fA-F]{32}$(?!\\n)"}),
        ),
        (
            "intentId",
            json!({"pattern": "^pi_[0-9a-fA-F]{32}$(?!\\n)"}),
        ),
        // list_sessions.
        ("limit", json!({"minimum": 1, "maximum": 100})),
        // API key ids are UUIDs.
        ("keyId", json!({"format": "uuid", "pattern": UUID_PATTERN})),
    ]
}

pub(super) fn apply(doc: &mut Value) {
    request_timestamps(doc);
    for rule in rules() {
        rule.apply(doc);
    }
    for (name, facets) in parameter_rules() {
        let mut found = false;
        for op in operations_mut(doc) {
            let params = op.get_mut("parameters").and_then(Value::as_array_mut);
            for p in params.into_iter().flatten() {
                if p["name"] == name && matches!(p["in"].as_str(), Some("path" | "query")) {
                    merge(&mut p["schema"], &facets);
                    found = true;
                }
            }
        }
        assert!(found, "no parameter is named {name}");
    }
}

/// Every operation of every path (the values under `paths.*`).
fn operations_mut(doc: &mut Value) -> impl Iterator<Item = &mut Value> {
    doc["paths"]
        .as_object_mut()
        .into_iter()
        .flat_map(|p| p.values_mut())
        .filter_map(Value::as_object_mut)
        .flat_map(|o| o.values_mut())
}

fn merge(schema: &mut Value, facets: &Value) {
    for (k, v) in facets.as_object().expect("facets are an object") {
        schema[k] = v.clone();
    }
}

/// JSON pointer escaping of one token.
fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

fn component_name(schema: &Value) -> Option<&str> {
    schema
        .get("$ref")?
        .as_str()?
        .strip_prefix("#/components/schemas/")
}

fn get<'a>(doc: &'a Value, ptr: &str) -> &'a Value {
    doc.pointer(ptr)
        .unwrap_or_else(|| panic!("the OpenAPI document has nothing at {ptr}"))
}

fn get_mut<'a>(doc: &'a mut Value, ptr: &str) -> &'a mut Value {
    doc.pointer_mut(ptr)
        .unwrap_or_else(|| panic!("the OpenAPI document has nothing at {ptr}"))
}

/// The index of the non-null alternative of a `oneOf: [{type: null}, X]` (utoipa's `Option`
/// of a referenced schema).
fn nullable_alternative(schema: &Value) -> Option<usize> {
    let alts = schema.get("oneOf")?.as_array()?;
    let nulls = alts.iter().filter(|a| a["type"] == "null").count();
    (alts.len() == 2 && nulls == 1).then(|| alts.iter().position(|a| a["type"] != "null"))?
}

/// Makes the schema at `ptr` one that can be changed for this use alone: a reference is
/// replaced by a copy of what it names (keeping the reference's own keywords, such as its
/// description). Through utoipa's nullable wrapper, the non-null alternative is the one made
/// so. Returns the pointer to the schema to change.
fn own(doc: &mut Value, ptr: &str) -> String {
    if let Some(i) = nullable_alternative(get(doc, ptr)) {
        return own(doc, &format!("{ptr}/oneOf/{i}"));
    }
    if let Some(name) = component_name(get(doc, ptr)).map(str::to_string) {
        let mut copy = get(doc, &format!("/components/schemas/{}", escape(&name))).clone();
        let node = get_mut(doc, ptr);
        for (k, v) in node.as_object().expect("a schema is an object") {
            if k != "$ref" {
                copy[k] = v.clone();
            }
        }
        *node = copy;
    }
    ptr.to_string()
}

impl Rule {
    fn root(&self) -> String {
        match self.at.split_once(' ') {
            Some((method, path)) => format!(
                "/paths/{}/{}/requestBody/content/application~1json/schema",
                escape(path),
                method.to_ascii_lowercase()
            ),
            None => format!("/components/schemas/{}", self.at),
        }
    }

    fn apply(&self, doc: &mut Value) {
        let mut ptr = self.root();
        get(doc, &ptr);
        let mut segments: Vec<&str> = if self.field.is_empty() {
            vec![]
        } else {
            self.field.split('.').collect()
        };
        let last = segments.pop();
        for seg in segments {
            ptr = own(doc, &ptr);
            ptr = format!("{ptr}/properties/{}", escape(seg));
            get(doc, &ptr);
        }
        let Some(name) = last else {
            // The object itself.
            let ptr = own(doc, &ptr);
            if let Some((keyword, alternatives)) = &self.alternatives {
                let alts: Vec<Value> = alternatives
                    .iter()
                    .map(|(p, s)| {
                        get(doc, &format!("{ptr}/properties/{}", escape(p)));
                        json!({"required": [p], "properties": {*p: s}})
                    })
                    .collect();
                get_mut(doc, &ptr)[*keyword] = Value::Array(alts);
            }
            return;
        };
        let object = own(doc, &ptr);
        let prop = format!("{object}/properties/{}", escape(name));
        get(doc, &prop);
        if self.required {
            let o = get_mut(doc, &object);
            let required = o
                .as_object_mut()
                .expect("an object schema")
                .entry("required")
                .or_insert_with(|| json!([]));
            if !required
                .as_array()
                .is_some_and(|r| r.iter().any(|x| x == name))
            {
                required
                    .as_array_mut()
                    .expect("required is a list")
                    .push(name.into());
            }
            not_null(get_mut(doc, &prop));
        }
        if self.facets.is_empty() {
            return;
        }
        let target = own(doc, &prop);
        let schema = get_mut(doc, &target);
        if let Some(note) = &self.note {
            let description = match schema.get("description").and_then(Value::as_str) {
                Some(d) => format!("{d} {note}"),
                None => note.clone(),
            };
            schema["description"] = description.into();
        }
        let nullable = schema["type"]
            .as_array()
            .is_some_and(|t| t.iter().any(|x| x == "null"));
        for (k, v) in &self.facets {
            let mut v = v.clone();
            if k == "enum" && nullable {
                v.as_array_mut().expect("enum is a list").push(Value::Null);
            }
            schema[k] = v;
        }
    }
}

/// Takes `null` out of what a schema allows (utoipa's `type: [T, "null"]` or its nullable
/// `oneOf` wrapper).
fn not_null(schema: &mut Value) {
    if let Some(i) = nullable_alternative(schema) {
        let mut inner = schema["oneOf"][i].clone();
        for (k, v) in schema.as_object().expect("a schema is an object") {
            if k != "oneOf" && inner.get(k).is_none() {
                inner[k] = v.clone();
            }
        }
        *schema = inner;
        return;
    }
    if let Some(types) = schema.get_mut("type").and_then(Value::as_array_mut) {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            schema["type"] = types[0].clone();
        }
    }
}

/// `domain::Timestamp` in requests is [`TIMESTAMP_PATTERN`] (`RequestTimestamp`); answers keep
/// `Timestamp` (UTC with milliseconds, which may fall on 31 December 1899 for an instant given
/// as 1 January 1900 with a positive offset). Every reference to `Timestamp` in a request body
/// becomes one to `RequestTimestamp`: in place in components only requests use, in a copy
/// where a component is shared with answers (a dealer order's or a vehicle's profile).
fn request_timestamps(doc: &mut Value) {
    const TS: &str = "Timestamp";
    let components = doc["components"]["schemas"].clone();
    let refs = |v: &Value| {
        let mut out = BTreeSet::new();
        collect_refs(v, &mut out);
        out
    };
    // Which components answers use, and which contain a timestamp (through references).
    let mut answered = BTreeSet::new();
    let mut queue: Vec<String> = vec![];
    for item in doc["paths"]
        .as_object()
        .into_iter()
        .flat_map(|p| p.values())
    {
        for op in item.as_object().into_iter().flat_map(|o| o.values()) {
            queue.extend(refs(&op["responses"]));
        }
    }
    while let Some(n) = queue.pop() {
        if answered.insert(n.clone()) {
            queue.extend(refs(&components[&n]));
        }
    }
    let direct: BTreeMap<String, BTreeSet<String>> = components
        .as_object()
        .expect("components")
        .iter()
        .map(|(n, s)| (n.clone(), refs(s)))
        .collect();
    let mut timed: BTreeSet<String> = [TS.to_string()].into();
    loop {
        let more: Vec<String> = direct
            .iter()
            .filter(|(n, r)| !timed.contains(*n) && r.iter().any(|x| timed.contains(x)))
            .map(|(n, _)| n.clone())
            .collect();
        if more.is_empty() {
            break;
        }
        timed.extend(more);
    }

    /// Rewrites the timestamps under `v`: returns the request-only components it reaches
    /// that still need rewriting.
    fn rewrite(
        v: &mut Value,
        components: &Value,
        answered: &BTreeSet<String>,
        timed: &BTreeSet<String>,
        pending: &mut Vec<String>,
    ) {
        if let Some(name) = component_name(v).map(str::to_string) {
            if name == TS {
                v["$ref"] = "#/components/schemas/RequestTimestamp".into();
            } else if timed.contains(&name) {
                if answered.contains(&name) {
                    let mut copy = components[&name].clone();
                    for (k, x) in v.as_object().expect("a schema is an object") {
                        if k != "$ref" {
                            copy[k] = x.clone();
                        }
                    }
                    *v = copy;
                    rewrite(v, components, answered, timed, pending);
                } else {
                    pending.push(name);
                }
            }
            return;
        }
        match v {
            Value::Object(m) => m
                .values_mut()
                .for_each(|x| rewrite(x, components, answered, timed, pending)),
            Value::Array(a) => a
                .iter_mut()
                .for_each(|x| rewrite(x, components, answered, timed, pending)),
            _ => {}
        }
    }

    let mut pending = vec![];
    for op in operations_mut(doc) {
        if let Some(body) = op.get_mut("requestBody") {
            rewrite(body, &components, &answered, &timed, &mut pending);
        }
    }
    let mut done = BTreeSet::new();
    while let Some(name) = pending.pop() {
        if !done.insert(name.clone()) {
            continue;
        }
        assert!(
            !answered.contains(&name),
            "{name} is shared with answers and must not be rewritten in place"
        );
        let mut schema = components[&name].clone();
        // The component's own `$ref`-free body: rewrite what it contains.
        if let Value::Object(m) = &mut schema {
            for x in m.values_mut() {
                rewrite(x, &components, &answered, &timed, &mut pending);
            }
        }
        doc["components"]["schemas"][&name] = schema;
    }
    doc["components"]["schemas"]["RequestTimestamp"] = json!({
        "type": "string",
        "format": "date-time",
        "pattern": TIMESTAMP_PATTERN,
        "description": "An instant as requests give it: RFC 3339 with any offset and any fraction of a second, \
            in the years 1900–9998 (a later one could fall after 9999 in UTC, which answers cannot write). \
            Answers write instants in UTC with milliseconds.",
        "examples": ["2025-03-28T11:34:46.794Z"],
    });
}

fn collect_refs(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            if let Some(n) = component_name(v) {
                out.insert(n.to_string());
            }
            m.values().for_each(|x| collect_refs(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| collect_refs(x, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine::validate;

    /// The document's pattern as the `regex` crate reads it (it has no lookaround: the final
    /// `(?!\n)` is for Python's `$`, and `$` here already means the end).
    fn regex(pattern: &str) -> regex::Regex {
        let p = pattern
            .strip_suffix("(?!\\n)")
            .unwrap_or_else(|| panic!("not anchored for Python: {pattern}"));
        regex::Regex::new(p).unwrap()
    }

    /// Every string of up to `len` characters over `alphabet`.
    fn strings(alphabet: &[char], len: usize) -> Vec<String> {
        let mut out = vec![String::new()];
        let mut last = vec![String::new()];
        for _ in 0..len {
            last = last
                .iter()
                .flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}")))
                .collect();
            out.extend(last.iter().cloned());
        }
        out
    }

    /// Letters, whitespace `trim` removes (some of it control characters, some of it not
    /// `\s` in every dialect), control characters it does not, and U+FEFF (ECMA-262's `\s`,
    /// not Unicode whitespace).
    const ALPHABET: &[char] = &[
        'a', 'é', ' ', '\t', '\n', '\u{85}', '\u{a0}', '\u{3000}', '\u{0}', '\u{1c}', '\u{7f}',
        '\u{feff}',
    ];

    #[test]
    fn text_patterns_are_the_validation() {
        for max in [2, 3] {
            let required = regex(&text_pattern(max, false));
            let optional = regex(&text_pattern(max, true));
            for s in strings(ALPHABET, max + 2) {
                assert_eq!(
                    required.is_match(&s),
                    validate::required_text("f", Some(&s), max).is_ok(),
                    "required_text({s:?}, {max})"
                );
                assert_eq!(
                    optional.is_match(&s),
                    validate::optional_text("f", Some(&s), max).is_ok(),
                    "optional_text({s:?}, {max})"
                );
            }
        }
        let not_blank = regex(&not_blank_pattern());
        for s in strings(ALPHABET, 3) {
            assert_eq!(not_blank.is_match(&s), !s.trim().is_empty(), "{s:?}");
        }
    }

    #[test]
    fn the_timestamp_pattern_is_the_parser() {
        let p = regex(TIMESTAMP_PATTERN);
        for s in [
            "2025-03-28T11:34:46.794Z",
            "2025-03-28t11:34:46z",
            "2025-03-28T13:34:46.1234567891+02:00",
            "1900-01-01T00:00:00+23:59",
            "9998-12-31T23:59:59-23:59",
            "2024-02-29T00:00:00Z",
        ] {
            assert!(p.is_match(s), "{s}");
            assert!(domain::Timestamp::parse(s).is_some(), "{s}");
        }
        for s in [
            "1899-12-31T23:59:59Z",
            "9999-01-01T00:00:00Z",
            "0001-01-01T00:00:00Z",
            "2025-03-28T24:00:00Z",
            "2025-03-28T23:59:60Z",
            "2025-03-28T11:34:46+24:00",
            "2025-03-28T11:34:46",
            "2025-03-28 11:34:46Z",
            "2025-03-28T11:34:46.Z",
            " 2025-03-28T11:34:46Z",
        ] {
            assert!(!p.is_match(s), "{s}");
        }
        // What the pattern leaves to `format: date-time`: days that are not in the month.
        assert!(p.is_match("2023-02-29T00:00:00Z"));
        assert!(domain::Timestamp::parse("2023-02-29T00:00:00Z").is_none());
    }

    #[test]
    fn every_rule_applies_and_requests_alone_change() {
        let doc: Value = serde_json::from_str(super::super::json()).unwrap();
        let s = &doc["components"]["schemas"];
        // Answers keep `Timestamp`; requests say `RequestTimestamp`, also inside copies of
        // the components answers share.
        assert_eq!(s["Timestamp"].get("pattern"), None);
        let vehicle = &s["VehicleUpsert"]["properties"]["profile"]["properties"];
        assert_eq!(
            vehicle["boughtDate"]["oneOf"][1]["$ref"],
            "#/components/schemas/RequestTimestamp"
        );
        assert_eq!(
            s["VehicleProfile"]["properties"]["boughtDate"]["oneOf"][1]["$ref"],
            "#/components/schemas/Timestamp"
        );
        // A required field is required and not nullable, through a reference copied for this
        // use alone (the session's `customer` is the same `CustomerRef`, optional).
        let invoice = &s["InvoiceUpsert"];
        assert!(invoice["required"]
            .as_array()
            .unwrap()
            .contains(&json!("paymentCustomer")));
        let customer = &invoice["properties"]["paymentCustomer"];
        assert_eq!(customer["required"], json!(["customerUuid"]));
        assert_eq!(customer["properties"]["customerUuid"]["type"], "string");
        assert_eq!(s["CustomerRef"].get("required"), None);
        // The path parameter rules, and the Idempotency-Key a route declares itself.
        let op = &doc["paths"]["/payment/kpayment/v1/prepayment"]["post"];
        let key = op["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "Idempotency-Key")
            .unwrap();
        assert_eq!(key["schema"]["pattern"], "^[!-~]{1,255}$(?!\\n)");
        // Every pattern in the document is anchored for Python and compiles.
        fn patterns(v: &Value, out: &mut Vec<String>) {
            match v {
                Value::Object(m) => {
                    if let Some(Value::String(p)) = m.get("pattern") {
                        out.push(p.clone());
                    }
                    m.values().for_each(|x| patterns(x, out));
                }
                Value::Array(a) => a.iter().for_each(|x| patterns(x, out)),
                _ => {}
            }
        }
        let mut all = vec![];
        patterns(&doc, &mut all);
        assert!(all.len() > 50);
        for p in all {
            assert!(p.starts_with('^'), "{p}");
            regex(&p);
        }
    }
}
