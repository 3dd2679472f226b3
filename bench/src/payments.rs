//! Card payment scenarios: per-worker repair orders and invoices seeded over HTTP as the
//! operator, the prePayment + confirm pair and refunds.
//!
//! The server allows one payment operation in flight per dealer order and never pays an
//! invoice beyond its amount, so every worker owns an order and invoice of its own with a
//! large amount (`ORDER_AMOUNT_CENTS`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use reqwest::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Client, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::time::Instant;

use crate::load::{self, Failure, Target};

/// Amount of every seeded order and invoice: $1,000,000.00, room for a million $1.00
/// payments (plus the $1,000.00 seed payments of the refund scenario).
pub const ORDER_AMOUNT_CENTS: i64 = 100_000_000;
/// Amount of each payment of the `payment` scenario: $1.00.
pub const PAYMENT_CENTS: i64 = 100;
/// Amount of the one payment a `refund` worker makes before the window: $1,000.00 plus
/// fees (the demo dealer surcharges), i.e. more than 100,000 refunds of `REFUND_CENTS`, so
/// a worker never runs out within a window.
pub const REFUND_SEED_PAYMENT_CENTS: i64 = 100_000;
/// Amount of each refund: $0.01.
pub const REFUND_CENTS: i64 = 1;
/// Orders and invoices (and seed payments) created at a time before a scenario.
pub const SEED_CONCURRENCY: usize = 32;
/// The sandbox token confirm is called with (an approved Visa credit card).
pub const CARD_TOKEN: &str = "tok_visa";
/// The body of every confirm: `{"token":CARD_TOKEN}`, sent without copying.
const CONFIRM_BODY: &str = r#"{"token":"tok_visa"}"#;

/// `n` random bytes from the OS, or (without `/dev/urandom`) from std's randomly keyed
/// SipHash over a counter and the clock. No extra crate needed.
fn random_bytes<const N: usize>() -> [u8; N] {
    use std::io::Read;
    let mut out = [0u8; N];
    if std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut out))
        .is_ok()
    {
        return out;
    }
    use std::hash::{BuildHasher, Hasher};
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    for chunk in out.chunks_mut(8) {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        h.write_u128(nanos);
        let v = h.finish().to_le_bytes();
        chunk.copy_from_slice(&v[..chunk.len()]);
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `N` random bytes as `2 * N` lowercase hex digits.
pub fn random_hex<const N: usize>() -> String {
    hex(&random_bytes::<N>())
}

/// A random 32-character operator token for `DEALERPAY_OPERATOR_TOKEN`.
pub fn random_token() -> String {
    random_hex::<16>()
}

/// A random (version 4) UUID in its canonical text form.
pub fn random_uuid() -> String {
    let mut b = random_bytes::<16>();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex(&b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// Cents as the JSON number the server expects (dollars, at most two decimals).
pub fn dollars(cents: i64) -> Value {
    json!(cents as f64 / 100.0)
}

/// One worker's own repair order and invoice, and for refunds the charge to refund.
#[derive(Clone, Debug)]
pub struct Seat {
    pub order_uuid: String,
    pub invoice_guid: String,
    /// `paymentAttempt.transaction.uuid` of the seed payment (refund scenario only).
    pub charge_uuid: Option<String>,
}

/// The time a step of a multi-request operation took.
pub type Steps = Vec<(&'static str, Duration)>;

/// Sends a request, and for a 2xx answer deserializes the body as `T` and hands status and
/// value to `check`, whose result it returns. `T` is a small struct with only the fields
/// the bench looks at (serde skips the rest of the body without building it), or
/// [`Value`] where the whole answer is wanted (setup, not measured). A failure's kind is
/// prefixed with `step` so errors of different steps stay apart; a failure of `check`
/// without an example gets the start of the body as one.
pub async fn send_checked<T: DeserializeOwned, R>(
    req: reqwest::RequestBuilder,
    step: &str,
    check: impl FnOnce(StatusCode, T) -> Result<R, Failure>,
) -> Result<R, Failure> {
    let fail = |kind: String, example: String| Failure {
        kind: format!("{step}: {kind}"),
        example,
    };
    let resp = req
        .send()
        .await
        .map_err(|e| fail(load::error_chain(&e), String::new()))?;
    let status = resp.status();
    let body = resp.bytes().await.map_err(|e| {
        fail(
            format!("reading body: {}", load::error_chain(&e)),
            String::new(),
        )
    })?;
    if !status.is_success() {
        return Err(fail(format!("HTTP {status}"), load::snippet(&body)));
    }
    let v: T = serde_json::from_slice(&body).map_err(|e| {
        fail(
            format!("HTTP {status} with a body that is not the expected JSON: {e}"),
            load::snippet(&body),
        )
    })?;
    check(status, v).map_err(|f| {
        let example = if f.example.is_empty() {
            load::snippet(&body)
        } else {
            f.example
        };
        fail(f.kind, example)
    })
}

/// [`send_checked`] keeping the whole answer: status and JSON value of a 2xx answer.
pub async fn send_json(
    req: reqwest::RequestBuilder,
    step: &str,
) -> Result<(StatusCode, Value), Failure> {
    send_checked(req, step, |status, v: Value| Ok((status, v))).await
}

/// A failure of an answer's check, to be prefixed with the step and given the start of
/// the body by [`send_checked`].
pub fn bad_answer(kind: impl Into<String>) -> Failure {
    Failure {
        kind: kind.into(),
        example: String::new(),
    }
}

/// The part of a prePayment answer the bench reads: `paymentAttempt.uuid`.
#[derive(Debug, Deserialize)]
struct PrepaymentAnswer {
    #[serde(rename = "paymentAttempt")]
    payment_attempt: Option<AttemptUuid>,
}

#[derive(Debug, Deserialize)]
struct AttemptUuid {
    uuid: Option<String>,
}

/// The part of a confirm or refund answer the bench reads: `paymentAttempt.status`,
/// `.responseDescription` and `.transaction.uuid`.
#[derive(Debug, Deserialize)]
struct AttemptAnswer {
    #[serde(rename = "paymentAttempt")]
    payment_attempt: Option<AttemptOutcome>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AttemptOutcome {
    status: Option<String>,
    response_description: Option<String>,
    transaction: Option<AttemptUuid>,
}

/// `paymentAttempt.uuid` of a prePayment answer.
fn attempt_uuid(a: PrepaymentAnswer) -> Result<String, Failure> {
    a.payment_attempt
        .and_then(|p| p.uuid)
        .filter(|u| !u.is_empty())
        .ok_or_else(|| bad_answer("no paymentAttempt.uuid in the answer"))
}

/// Everything one payment (prePayment + confirm) needs, prepared once per worker.
pub struct Payer {
    prepay_url: Url,
    prepay_body: Vec<u8>,
    base: String,
    auth: Option<HeaderValue>,
}

impl Payer {
    pub fn new(target: &Target, seat: &Seat, amount_cents: i64) -> Result<Payer> {
        let d = target.demo.as_ref().context("payments need demo data")?;
        let body = json!({
            "dealerUuid": d.dealer_uuid,
            "customerUuid": d.customer_uuid,
            "dealerOrderUuid": seat.order_uuid,
            "invoiceGUID": seat.invoice_guid,
            "amount": dollars(amount_cents),
            "ignorePaymentAttemptValidation": true,
        });
        Ok(Payer {
            prepay_url: target.url("/payment/kpayment/v1/prepayment")?,
            prepay_body: serde_json::to_vec(&body)?,
            base: target.base.clone(),
            auth: target.auth.clone(),
        })
    }

    fn post(
        &self,
        client: &Client,
        url: Url,
        body: impl Into<reqwest::Body>,
    ) -> reqwest::RequestBuilder {
        let req = client
            .post(url)
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .body(body);
        match &self.auth {
            Some(a) => req.header(AUTHORIZATION, a.clone()),
            None => req,
        }
    }

    /// prePayment then confirm with the test token. Returns the charge's transaction uuid,
    /// and adds the successful requests and their durations to `steps`.
    pub async fn pay(&self, client: &Client, steps: &mut Steps) -> Result<String, Failure> {
        let t0 = Instant::now();
        let req = self.post(client, self.prepay_url.clone(), self.prepay_body.clone());
        let uuid = send_checked(req, "prepayment", |_, a| attempt_uuid(a)).await?;
        steps.push(("prepayment", t0.elapsed()));
        let url = format!(
            "{}/payment/kpayment/v1/paymentattempts/{uuid}/confirm",
            self.base
        );
        let url = Url::parse(&url).map_err(|e| Failure {
            kind: format!("confirm: bad URL: {e}"),
            example: url.clone(),
        })?;
        let t1 = Instant::now();
        let req = self.post(client, url, CONFIRM_BODY);
        let charge = send_checked(req, "confirm", succeeded).await?;
        steps.push(("confirm", t1.elapsed()));
        Ok(charge)
    }
}

/// Checks a 200 answer whose `paymentAttempt.status` is `Succeeded` and returns
/// `paymentAttempt.transaction.uuid` (for [`send_checked`], which prefixes the step).
fn succeeded(status: StatusCode, a: AttemptAnswer) -> Result<String, Failure> {
    let attempt = a.payment_attempt;
    let attempt_status = attempt
        .as_ref()
        .and_then(|p| p.status.as_deref())
        .unwrap_or("(none)");
    if status != StatusCode::OK || attempt_status != "Succeeded" {
        // 202: the processor's answer is unknown; the attempt stays in flight.
        let reason = attempt
            .as_ref()
            .and_then(|p| p.response_description.as_deref())
            .unwrap_or("");
        return Err(Failure {
            kind: format!("HTTP {status}, paymentAttempt.status {attempt_status}"),
            example: format!("responseDescription: {reason}"),
        });
    }
    attempt
        .and_then(|p| p.transaction)
        .and_then(|t| t.uuid)
        .filter(|u| !u.is_empty())
        .ok_or_else(|| bad_answer("Succeeded without paymentAttempt.transaction.uuid"))
}

/// A refund of `REFUND_CENTS` against one worker's charge, prepared once per worker.
pub struct Refunder {
    url: Url,
    body: Vec<u8>,
    auth: Option<HeaderValue>,
}

impl Refunder {
    pub fn new(target: &Target, seat: &Seat) -> Result<Refunder> {
        let charge = seat
            .charge_uuid
            .as_deref()
            .context("refund worker without a seed payment")?;
        Ok(Refunder {
            url: target.url(&format!(
                "/payment/kpayment/v1/transactions/{charge}/refund"
            ))?,
            body: serde_json::to_vec(&json!({ "amount": dollars(REFUND_CENTS) }))?,
            auth: target.auth.clone(),
        })
    }

    pub async fn refund(&self, client: &Client) -> Result<(), Failure> {
        let mut req = client
            .post(self.url.clone())
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .body(self.body.clone());
        if let Some(a) = &self.auth {
            req = req.header(AUTHORIZATION, a.clone());
        }
        send_checked(req, "refund", succeeded).await.map(|_| ())
    }
}

async fn put_json(client: &Client, target: &Target, path: &str, body: &Value) -> Result<()> {
    let op = target
        .operator
        .as_ref()
        .context("seeding orders needs the operator token")?;
    let req = client
        .put(target.url(path)?)
        .header(AUTHORIZATION, op.clone())
        .json(body);
    send_json(req, &format!("PUT {path}"))
        .await
        .map_err(|f| anyhow!("{} {}", f.kind, f.example))?;
    Ok(())
}

/// Creates order and invoice number `n` (and with `seed_payment` pays it once).
async fn seed_one(
    client: &Client,
    target: &Target,
    run: &str,
    n: usize,
    seed_payment: Option<i64>,
) -> Result<Seat> {
    let d = target.demo.as_ref().context("seeding needs demo data")?;
    let seat = Seat {
        order_uuid: random_uuid(),
        invoice_guid: random_uuid(),
        charge_uuid: None,
    };
    let order = json!({
        "orderNumber": format!("BENCH-{run}-{n}"),
        "orderType": "RO",
        "amount": dollars(ORDER_AMOUNT_CENTS),
        "departmentUuid": d.department_uuid,
        "customerUuid": d.customer_uuid,
    });
    put_json(
        client,
        target,
        &format!(
            "/payment/kpayment/v1/dealers/{}/orders/{}",
            d.dealer_uuid, seat.order_uuid
        ),
        &order,
    )
    .await?;
    let mut invoice = json!({
        "paymentDealer": {"dealerUuid": d.dealer_uuid},
        "paymentDealerOrder": {"dealerOrderUuid": seat.order_uuid},
        "paymentCustomer": {"customerUuid": d.customer_uuid},
        "amount": dollars(ORDER_AMOUNT_CENTS),
    });
    if let Some(a) = &d.dealer_associate_uuid {
        invoice["paymentUser"] = json!({ "dealerAssociateUUID": a });
    }
    put_json(
        client,
        target,
        &format!("/payment/kpayment/v1/invoices/{}", seat.invoice_guid),
        &invoice,
    )
    .await?;
    match seed_payment {
        None => Ok(seat),
        Some(cents) => {
            let payer = Payer::new(target, &seat, cents)?;
            let charge = payer
                .pay(client, &mut Vec::new())
                .await
                .map_err(|f| anyhow!("seed payment: {} {}", f.kind, f.example))?;
            Ok(Seat {
                charge_uuid: Some(charge),
                ..seat
            })
        }
    }
}

/// Seeds `n` orders with their invoices, `SEED_CONCURRENCY` at a time, and with
/// `seed_payment` pays each once. Fails on the first error (after the others finish).
pub async fn seed(target: &Target, n: usize, seed_payment: Option<i64>) -> Result<Vec<Seat>> {
    let client = load::build_client(SEED_CONCURRENCY)?;
    // Order numbers are unique per dealer: tag this batch.
    let run = random_hex::<4>();
    let next = Arc::new(AtomicUsize::new(0));
    let target = Arc::new(target.clone());
    let mut tasks = Vec::new();
    for _ in 0..SEED_CONCURRENCY.min(n) {
        let (client, next, target, run) =
            (client.clone(), next.clone(), target.clone(), run.clone());
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return Ok::<_, anyhow::Error>(out);
                }
                let seat = seed_one(&client, &target, &run, i, seed_payment)
                    .await
                    .with_context(|| format!("seeding order {i}"))?;
                out.push((i, seat));
            }
        }));
    }
    let mut seats: Vec<Option<Seat>> = vec![None; n];
    let mut first_err = None;
    for t in tasks {
        match t.await.context("seeding task panicked")? {
            Ok(done) => {
                for (i, s) in done {
                    seats[i] = Some(s);
                }
            }
            Err(e) => {
                // Stop the others from taking more work.
                next.store(n, Ordering::Relaxed);
                first_err.get_or_insert(e);
            }
        }
    }
    if let Some(e) = first_err {
        return Err(e);
    }
    let seats: Vec<Seat> = seats.into_iter().flatten().collect();
    if seats.len() != n {
        bail!("seeded {} of {n} orders", seats.len());
    }
    Ok(seats)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_v4_shaped_and_distinct() {
        let a = random_uuid();
        let b = random_uuid();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        let parts: Vec<&str> = a.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('4'));
        assert!(matches!(&parts[3][..1], "8" | "9" | "a" | "b"));
        assert_eq!(random_token().len(), 32);
    }

    #[test]
    fn answers_are_read_for_their_fields_only() {
        let prepay: PrepaymentAnswer = serde_json::from_str(
            r#"{"paymentAttempt":{"uuid":"a-1","status":"Created","amount":1.0,
                "fees":[{"x":1}],"transaction":null},"dealer":{"name":"D"}}"#,
        )
        .unwrap();
        assert_eq!(attempt_uuid(prepay).unwrap(), "a-1");
        for body in [
            r#"{"paymentAttempt":{"status":"Created"}}"#,
            r#"{"paymentAttempt":{"uuid":""}}"#,
            r#"{"paymentAttempt":null}"#,
            r#"{}"#,
        ] {
            let a: PrepaymentAnswer = serde_json::from_str(body).unwrap();
            assert!(attempt_uuid(a)
                .unwrap_err()
                .kind
                .contains("no paymentAttempt.uuid"));
        }

        let ok = r#"{"paymentAttempt":{"uuid":"a-1","status":"Succeeded",
            "responseDescription":"Approved","transaction":{"uuid":"t-9","amount":1.03}},
            "invoice":{"balance":5}}"#;
        let a: AttemptAnswer = serde_json::from_str(ok).unwrap();
        assert_eq!(succeeded(StatusCode::OK, a).unwrap(), "t-9");
        // 202 outcome unknown, or 200 Failed: errors with the reason as the example.
        let a: AttemptAnswer = serde_json::from_str(ok).unwrap();
        let f = succeeded(StatusCode::ACCEPTED, a).unwrap_err();
        assert_eq!(f.kind, "HTTP 202 Accepted, paymentAttempt.status Succeeded");
        let failed = r#"{"paymentAttempt":{"status":"Failed","responseDescription":"Declined"}}"#;
        let f = succeeded(StatusCode::OK, serde_json::from_str(failed).unwrap()).unwrap_err();
        assert_eq!(f.kind, "HTTP 200 OK, paymentAttempt.status Failed");
        assert_eq!(f.example, "responseDescription: Declined");
        let f = succeeded(StatusCode::OK, serde_json::from_str("{}").unwrap()).unwrap_err();
        assert!(f.kind.ends_with("paymentAttempt.status (none)"));
        let no_tx = r#"{"paymentAttempt":{"status":"Succeeded","transaction":null}}"#;
        let f = succeeded(StatusCode::OK, serde_json::from_str(no_tx).unwrap()).unwrap_err();
        assert!(f.kind.contains("without paymentAttempt.transaction.uuid"));
        // An empty example is filled in with the body by send_checked.
        assert!(f.example.is_empty());
        assert_eq!(CONFIRM_BODY, format!(r#"{{"token":"{CARD_TOKEN}"}}"#));
    }

    #[test]
    fn amounts_render_as_dollars() {
        assert_eq!(dollars(100).to_string(), "1.0");
        assert_eq!(dollars(1).to_string(), "0.01");
        assert_eq!(dollars(ORDER_AMOUNT_CENTS).to_string(), "1000000.0");
    }
}
