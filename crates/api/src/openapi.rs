//! The OpenAPI 3.1 document and the router, built from one list of routes so that every
//! route is documented.

use crate::app::AppState;
use crate::pages;
use crate::routes::*;
use std::sync::OnceLock;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

mod requests;

/// A canonical UUID. `format: uuid` alone is an annotation: fuzzers may still send "" as a
/// valid value.
const UUID_PATTERN: &str =
    "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$(?!\\n)";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "dealerpay",
        description = "Payments for automotive dealerships, speaking the myKaarma Payments API v7.6.1 wire contract.\n\n\
            Money is a JSON number of US dollars with at most 2 decimals. Timestamps are RFC 3339 UTC with milliseconds.\n\n\
            Errors: v1 routes answer `{errors:[{errorCode,errorTitle,errorMessage,errorDescription}],warnings:[]}`; \
            `/payment/v3/...` routes `{error:{errorCode,errorDescription},warnings:[]}`; `errorDescription` names the offending field.\n\n\
            Every POST accepts an `Idempotency-Key` header (1–255 visible ASCII characters, kept 24 h, per caller): a retry with \
            the same key and body replays the first response (header `idempotent-replayed: true`); the same key with a different \
            body answers 409.\n\n\
            Scopes: `payment.all` implies every scope; `payment.prepayment`, `payment.payisland`, `payment.paymentrequest`, \
            `payment.dealerdata`, `payment.refund`. Grants are per dealer (all departments) or per department.",
        version = "7.6.1"
    ),
    modifiers(&Security),
    tags(
        (name = "payment requests", description = "Payment requests and the documented read"),
        (name = "payment status", description = "The documented v3 status route"),
        (name = "card payments", description = "prePayment, confirm, 3-D Secure, refunds, voids, fees"),
        (name = "dealer data", description = "DMS-sync upserts"),
        (name = "admin", description = "Operator API"),
        (name = "checkout", description = "Hosted checkout: merchant namespaces, API keys, users, sessions (Checkout error catalog 93xxxxx)"),
        (name = "customer pages", description = "Pages customers open"),
        (name = "operations", description = "Health, metrics, docs")
    )
)]
struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let c = doc.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            "partnerBasic",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Basic)),
        );
        let bearer = |desc: &str| {
            let mut h = Http::new(HttpAuthScheme::Bearer);
            h.description = Some(desc.to_string());
            SecurityScheme::Http(h)
        };
        c.add_security_scheme(
            "dealerToken",
            bearer("Signed dealer token (`dpt1.…`) minted by an operator"),
        );
        c.add_security_scheme(
            "departmentToken",
            bearer("Signed department token (`dpt1.…`) minted by an operator"),
        );
        c.add_security_scheme(
            "operatorToken",
            bearer("Operator token (`dpo_…` or DEALERPAY_OPERATOR_TOKEN)"),
        );
        // The Checkout routes' merchant access token (a 15-minute HS256 JWT from
        // `…/namespaces/{namespace}/token` or `…/users/login`).
        let mut checkout = Http::new(HttpAuthScheme::Bearer);
        checkout.bearer_format = Some("JWT".to_string());
        checkout.description = Some(
            "Merchant access token (HS256 JWT, 15 minutes) from `/payment/checkout/v1/namespaces/{namespace}/token` or `…/users/login`"
                .to_string(),
        );
        c.add_security_scheme("checkoutBearer", SecurityScheme::Http(checkout));
    }
}

/// The idempotency middleware serves every POST of the API: it takes an `Idempotency-Key` header and
/// answers 400 (a key that is not 1–255 visible ASCII characters) and 409 (the key was used
/// with another body, or its first request is still running) in the route family's envelope
/// (documented routes keep to their statuses: 409 answers as 400 there). Say so on each POST.
struct IdempotencyKey;

impl Modify for IdempotencyKey {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
        use utoipa::openapi::{ContentBuilder, Ref, Required, ResponseBuilder};
        let schema = utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .min_length(Some(1))
            .max_length(Some(255))
            // `(?!\n)`: Python's `$` (the fuzzers' generators) also matches before a final newline.
            .pattern(Some("^[!-~]{1,255}$(?!\\n)"))
            .build();
        for (path, item) in doc.paths.paths.iter_mut() {
            // Customer pages are not behind it (their form posts never answer JSON).
            let Some(op) = item.post.as_mut().filter(|_| !pages::is_public_path(path)) else {
                continue;
            };
            let params = op.parameters.get_or_insert_with(Vec::new);
            let declared = params
                .iter_mut()
                .find(|p| p.name.eq_ignore_ascii_case("Idempotency-Key"));
            if let Some(p) = declared {
                // A route's own declaration (`Option<String>`) keeps its description and
                // gets the rule the middleware applies.
                p.schema = Some(schema.clone().into());
            } else {
                params.push(
                    ParameterBuilder::new()
                        .name("Idempotency-Key")
                        .parameter_in(ParameterIn::Header)
                        .required(Required::False)
                        .description(Some(
                            "Replays the first response to a retry with the same key and body (kept 24 h, per caller)",
                        ))
                        .schema(Some(schema.clone()))
                        .build(),
                );
            }
            let envelope = match crate::error::Family::of(path) {
                crate::error::Family::Checkout => "CheckoutErrorEnvelope",
                crate::error::Family::V3 => "V3ErrorEnvelope",
                crate::error::Family::V1 => "V1ErrorEnvelope",
            };
            let documented = crate::observe::is_documented(&axum::http::Method::POST, path);
            let statuses: &[(&str, &str)] = if documented {
                &[(
                    "400",
                    "Bad Idempotency-Key, or the key was used with another request",
                )]
            } else {
                &[
                    ("400", "Bad Idempotency-Key"),
                    ("409", "The Idempotency-Key was used with another request, or its first request is still running"),
                ]
            };
            for (status, why) in statuses {
                if !op.responses.responses.contains_key(*status) {
                    let content = ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name(envelope)))
                        .build();
                    op.responses.responses.insert(
                        status.to_string(),
                        ResponseBuilder::new()
                            .description(*why)
                            .content("application/json", content)
                            .build()
                            .into(),
                    );
                }
            }
        }
    }
}

fn router_and_spec() -> (axum::Router<AppState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(payment_requests::get_payment_request))
        .routes(routes!(payment_requests::create_payment_request))
        .routes(routes!(payment_requests::expire_payment_request))
        .routes(routes!(payment_requests::short_link))
        .routes(routes!(status::get_payment_status))
        .routes(routes!(payments::prepayment))
        .routes(routes!(payments::confirm))
        .routes(routes!(payments::complete))
        .routes(routes!(payments::get_attempt))
        .routes(routes!(payments::capture))
        .routes(routes!(payments::cancel))
        .routes(routes!(payments::refund))
        .routes(routes!(payments::void))
        .routes(routes!(payments::fee_quote))
        .routes(routes!(dealer_data::upsert_dealer))
        .routes(routes!(dealer_data::upsert_department))
        .routes(routes!(dealer_data::upsert_associate))
        .routes(routes!(dealer_data::upsert_customer))
        .routes(routes!(dealer_data::upsert_vehicle))
        .routes(routes!(dealer_data::upsert_order))
        .routes(routes!(dealer_data::upsert_invoice))
        .routes(routes!(admin::create_partner))
        .routes(routes!(admin::get_partner))
        .routes(routes!(admin::disable_partner))
        .routes(routes!(admin::enable_partner))
        .routes(routes!(admin::rotate_secret))
        .routes(routes!(admin::add_grant))
        .routes(routes!(admin::revoke_grant))
        .routes(routes!(admin::mint_token))
        .routes(routes!(admin::settle))
        .routes(routes!(checkout::create_namespace))
        .routes(routes!(checkout::disable_namespace))
        .routes(routes!(checkout::create_api_key))
        .routes(routes!(checkout::revoke_api_key))
        .routes(routes!(checkout::token))
        .routes(routes!(checkout::create_user))
        .routes(routes!(checkout::login))
        .routes(routes!(checkout::request_reset))
        .routes(routes!(checkout::confirm_reset))
        .routes(routes!(checkout::create_session, checkout::list_sessions))
        .routes(routes!(checkout::get_session))
        .routes(routes!(checkout::cancel_session))
        .routes(routes!(checkout::expire_session))
        .routes(routes!(checkout::create_intent))
        .routes(routes!(checkout::get_intent))
        .routes(routes!(checkout::complete_intent))
        .routes(routes!(checkout::capture_session))
        .routes(routes!(pages::pay::pay_page, pages::pay::pay_submit))
        .routes(routes!(pages::pay::pay_return))
        .routes(routes!(pages::receipt::receipt_page))
        .routes(routes!(pages::receipt::receipt_pdf))
        .routes(routes!(
            pages::checkout::checkout_page,
            pages::checkout::checkout_submit
        ))
        .routes(routes!(pages::checkout::checkout_return))
        .routes(routes!(
            pages::reset::reset_page,
            pages::reset::reset_submit
        ))
        .routes(routes!(pages::pages_css))
        .routes(routes!(pages::pay_js))
        .routes(routes!(ops::healthz))
        .routes(routes!(ops::readyz))
        .routes(routes!(ops::metrics))
        .routes(routes!(ops::openapi_json))
        .routes(routes!(ops::docs))
        .routes(routes!(ops::docs_js))
        .routes(routes!(ops::docs_css))
        .split_for_parts()
}

pub fn spec() -> &'static utoipa::openapi::OpenApi {
    static SPEC: OnceLock<utoipa::openapi::OpenApi> = OnceLock::new();
    SPEC.get_or_init(|| {
        let mut doc = router_and_spec().1;
        // After the routes are in (`modifiers(...)` runs before `OpenApiRouter` adds paths).
        IdempotencyKey.modify(&mut doc);
        doc
    })
}

pub fn json() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| {
        let mut doc: serde_json::Value =
            serde_json::to_value(spec()).expect("the OpenAPI document serialises");
        uuid_formats(&mut doc);
        requests::apply(&mut doc);
        serde_json::to_string_pretty(&doc).expect("the OpenAPI document serialises")
    })
}

/// Every identifier the server reads as a UUID says so (`format: uuid`): path and query
/// parameters and body properties named `…Uuid`/`…UUID`/`…Guid`/`…GUID`/`guid`, so clients and fuzzers
/// send well-formed ones and the document matches the validation.
fn uuid_formats(doc: &mut serde_json::Value) {
    fn is_uuid_name(name: &str) -> bool {
        // A department's calendar id is the DMS's free text (`optional_text`, 64 characters),
        // whatever its name says.
        const NOT_UUIDS: &[&str] = &["calendarUuid"];
        let n = name.to_ascii_lowercase();
        (n.ends_with("uuid") || n.ends_with("guid") || n == "invoiceid")
            && !NOT_UUIDS.contains(&name)
    }
    fn mark(schema: &mut serde_json::Value) {
        let is_string = match schema.get("type") {
            Some(serde_json::Value::String(t)) => t == "string",
            Some(serde_json::Value::Array(ts)) => ts.iter().any(|t| t == "string"),
            _ => false,
        };
        if is_string && schema.get("format").is_none() && schema.get("enum").is_none() {
            schema["format"] = "uuid".into();
            schema["pattern"] = UUID_PATTERN.into();
        }
    }
    fn walk(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(map) => {
                if let Some(serde_json::Value::Object(props)) = map.get_mut("properties") {
                    for (name, schema) in props.iter_mut() {
                        if is_uuid_name(name) {
                            mark(schema);
                        }
                    }
                }
                let is_id_param = matches!(
                    map.get("in").and_then(|i| i.as_str()),
                    Some("path" | "query")
                ) && map
                    .get("name")
                    .and_then(|n| n.as_str())
                    .is_some_and(is_uuid_name);
                if is_id_param {
                    if let Some(schema) = map.get_mut("schema") {
                        mark(schema);
                    }
                }
                for child in map.values_mut() {
                    walk(child);
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(doc);
}

pub fn routes() -> axum::Router<AppState> {
    router_and_spec().0
}
