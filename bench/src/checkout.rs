//! The `checkout` scenario: a merchant namespace with an API key, exchanged once for an
//! access token before the window (as a merchant integration would cache it), then per
//! operation a checkout session and its payment intent.
//!
//! Every session gets a repair order and invoice of its own on the server, so workers need
//! no seeded orders; one namespace serves all of them.

use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use reqwest::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Client, StatusCode, Url};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::time::Instant;

use crate::load::{self, Failure, Target};
use crate::payments::{self, bad_answer, send_checked, send_json, Steps};

/// Amount of every checkout session and payment: $25.00.
pub const CHECKOUT_CENTS: i64 = 2_500;
/// How long the server's access tokens live (`TOKEN_TTL_SECS`, 15 minutes). The token is
/// minted right before the scenario and reused throughout.
pub const TOKEN_TTL: Duration = Duration::from_secs(900);
/// Longest `--warmup-secs` + `--duration-secs` the token covers, leaving room for the
/// operations still running after the window (each request has a 10 s timeout).
pub const MAX_SCENARIO_SECS: u64 = TOKEN_TTL.as_secs() - 60;

/// A namespace and its access token.
#[derive(Clone, Debug)]
pub struct Merchant {
    pub namespace: String,
    /// `Authorization: Bearer <accessToken>`.
    pub auth: HeaderValue,
}

/// POSTs `body` as JSON with `auth` and returns the parsed answer if its status is `want`.
async fn post(
    client: &Client,
    target: &Target,
    path: &str,
    auth: &HeaderValue,
    body: &Value,
    want: StatusCode,
) -> Result<Value> {
    let req = client
        .post(target.url(path)?)
        .header(AUTHORIZATION, auth.clone())
        .json(body);
    let step = format!("POST {path}");
    let (status, v) = send_json(req, &step)
        .await
        .map_err(|f| anyhow!("{} {}", f.kind, f.example))?;
    if status != want {
        bail!(
            "{step}: HTTP {status} (expected {want}): {}",
            load::snippet(v.to_string().as_bytes())
        );
    }
    Ok(v)
}

fn text<'a>(v: &'a Value, field: &str, step: &str) -> Result<&'a str> {
    v.get(field)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .with_context(|| {
            format!(
                "{step}: no {field} in the answer: {}",
                load::snippet(v.to_string().as_bytes())
            )
        })
}

/// As the operator: creates namespace `bench-<random>` for the demo dealer, department and
/// associate, an API key for it, and exchanges the key for an access token.
pub async fn setup(target: &Target) -> Result<Merchant> {
    let d = target.demo.as_ref().context("checkout needs demo data")?;
    let operator = target
        .operator
        .as_ref()
        .context("creating a checkout namespace needs the operator token")?;
    let associate = d
        .dealer_associate_uuid
        .as_deref()
        .context("demo --json printed no dealerAssociateUuid (needed for a checkout namespace)")?;
    let client = load::build_client(1)?;
    let ns = format!("bench-{}", payments::random_hex::<4>());
    let base = "/payment/checkout/v1/namespaces";
    let body = json!({
        "namespace": ns,
        "name": "Bench",
        "dealerUuid": d.dealer_uuid,
        "departmentUuid": d.department_uuid,
        "dealerAssociateUUID": associate,
    });
    post(&client, target, base, operator, &body, StatusCode::CREATED).await?;
    let path = format!("{base}/{ns}/api-keys");
    let v = post(
        &client,
        target,
        &path,
        operator,
        &json!({}),
        StatusCode::CREATED,
    )
    .await?;
    let key = text(&v, "apiKey", &path)?;
    // The token route takes no Authorization; the API key in the body is the credential.
    let path = format!("{base}/{ns}/token");
    let req = client
        .post(target.url(&path)?)
        .json(&json!({ "apiKey": key }));
    let (status, v) = send_json(req, &format!("POST {path}"))
        .await
        .map_err(|f| anyhow!("{} {}", f.kind, f.example))?;
    if status != StatusCode::OK {
        bail!("POST {path}: HTTP {status} (expected 200 OK)");
    }
    let token = text(&v, "accessToken", &path)?;
    let auth = HeaderValue::from_str(&format!("Bearer {token}"))
        .context("access token is not a valid header value")?;
    Ok(Merchant {
        namespace: ns,
        auth,
    })
}

/// The part of a session answer the bench reads: its `id`.
#[derive(Debug, Deserialize)]
struct SessionAnswer {
    id: Option<String>,
}

/// The part of a payment-intent answer the bench reads.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct IntentAnswer {
    status: Option<String>,
    failure_reason: Option<String>,
}

/// The session's `id`, if it is usable in a URL path segment.
fn session_id(a: SessionAnswer) -> Result<String, Failure> {
    a.id.filter(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        .ok_or_else(|| bad_answer("no usable id in the answer"))
}

/// A payment intent counts when it answers 201 with status `succeeded`.
fn intent_succeeded(status: StatusCode, a: IntentAnswer) -> Result<(), Failure> {
    let intent_status = a.status.as_deref().unwrap_or("(none)");
    if status != StatusCode::CREATED || intent_status != "succeeded" {
        // 202: still processing (the processor's answer is not in yet).
        return Err(Failure {
            kind: format!("HTTP {status}, status {intent_status}"),
            example: format!(
                "failureReason: {}",
                a.failure_reason.as_deref().unwrap_or("")
            ),
        });
    }
    Ok(())
}

/// Everything one checkout (session + payment intent) needs, prepared once per worker.
pub struct Checkouter {
    sessions_url: Url,
    /// `…/namespaces/{ns}/sessions`, for the payment-intent URL.
    sessions_path: String,
    auth: HeaderValue,
    amount: String,
    intent_body: Vec<u8>,
}

impl Checkouter {
    pub fn new(target: &Target, merchant: &Merchant) -> Result<Checkouter> {
        let sessions_path = format!(
            "{}/payment/checkout/v1/namespaces/{}/sessions",
            target.base, merchant.namespace
        );
        let amount = payments::dollars(CHECKOUT_CENTS);
        Ok(Checkouter {
            sessions_url: Url::parse(&sessions_path)
                .with_context(|| format!("bad URL {sessions_path}"))?,
            sessions_path,
            auth: merchant.auth.clone(),
            intent_body: serde_json::to_vec(
                &json!({ "amount": amount, "token": payments::CARD_TOKEN }),
            )?,
            amount: amount.to_string(),
        })
    }

    /// The body of a session with a reference unique in the namespace: worker and
    /// operation number.
    fn session_body(&self, worker: usize, seq: u64) -> Vec<u8> {
        format!(
            r#"{{"referenceId":"bench-{worker}-{seq}","amount":{}}}"#,
            self.amount
        )
        .into_bytes()
    }

    fn post(&self, client: &Client, url: Url, body: Vec<u8>) -> reqwest::RequestBuilder {
        client
            .post(url)
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .header(AUTHORIZATION, self.auth.clone())
            .body(body)
    }

    /// Creates a session and pays it with the test token; succeeds only when the intent
    /// answers 201 with status `succeeded`. Adds the successful requests and their
    /// durations to `steps`.
    pub async fn checkout(
        &self,
        client: &Client,
        worker: usize,
        seq: u64,
        steps: &mut Steps,
    ) -> Result<(), Failure> {
        let t0 = Instant::now();
        let req = self.post(
            client,
            self.sessions_url.clone(),
            self.session_body(worker, seq),
        );
        let id = send_checked(req, "session", |_, a| session_id(a)).await?;
        steps.push(("session", t0.elapsed()));
        let url = format!("{}/{id}/payment-intents", self.sessions_path);
        let url = Url::parse(&url).map_err(|e| Failure {
            kind: format!("payment-intent: bad URL: {e}"),
            example: url.clone(),
        })?;
        let t1 = Instant::now();
        let req = self.post(client, url, self.intent_body.clone());
        send_checked(req, "payment-intent", intent_succeeded).await?;
        steps.push(("payment-intent", t1.elapsed()));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies() {
        let target = Target::new("http://127.0.0.1:1/", None, None).unwrap();
        let m = Merchant {
            namespace: "bench-0a1b2c3d".into(),
            auth: HeaderValue::from_static("Bearer x"),
        };
        let c = Checkouter::new(&target, &m).unwrap();
        assert_eq!(
            c.sessions_url.as_str(),
            "http://127.0.0.1:1/payment/checkout/v1/namespaces/bench-0a1b2c3d/sessions"
        );
        let s: Value = serde_json::from_slice(&c.session_body(3, 17)).unwrap();
        assert_eq!(s, json!({ "referenceId": "bench-3-17", "amount": 25.0 }));
        let i: Value = serde_json::from_slice(&c.intent_body).unwrap();
        assert_eq!(i, json!({ "amount": 25.0, "token": "tok_visa" }));
    }

    #[test]
    fn answers_are_read_for_their_fields_only() {
        let a: SessionAnswer =
            serde_json::from_str(r#"{"id":"cs_12ab","amount":25.0,"links":{"pay":"/x"}}"#).unwrap();
        assert_eq!(session_id(a).unwrap(), "cs_12ab");
        for body in [r#"{"id":"../x"}"#, r#"{"id":""}"#, r#"{"id":null}"#, "{}"] {
            let a: SessionAnswer = serde_json::from_str(body).unwrap();
            assert!(session_id(a).unwrap_err().kind.contains("no usable id"));
        }
        let ok = r#"{"id":"pi_1","status":"succeeded","charge":{"amount":25.9}}"#;
        assert!(intent_succeeded(StatusCode::CREATED, serde_json::from_str(ok).unwrap()).is_ok());
        let f =
            intent_succeeded(StatusCode::ACCEPTED, serde_json::from_str(ok).unwrap()).unwrap_err();
        assert_eq!(f.kind, "HTTP 202 Accepted, status succeeded");
        let failed = r#"{"status":"failed","failureReason":"card_declined"}"#;
        let f = intent_succeeded(StatusCode::CREATED, serde_json::from_str(failed).unwrap())
            .unwrap_err();
        assert_eq!(f.kind, "HTTP 201 Created, status failed");
        assert_eq!(f.example, "failureReason: card_declined");
    }
}
