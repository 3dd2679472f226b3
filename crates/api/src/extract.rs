//! Request parsing that never panics and never answers with anything but a catalog error
//! naming the offending field. Error texts are built from serde's classification, never by
//! echoing client input (which could be card data).

use crate::app::AppState;
use crate::error::{ApiError, ApiResult};
use axum::extract::{FromRequest, Request};
use axum::http::header;
use serde::de::DeserializeOwned;

/// Largest accepted request body.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// A JSON body parsed into `T`.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _: &AppState) -> ApiResult<JsonBody<T>> {
        // A body without a JSON content type is refused, not guessed at: a browser form
        // (or `text/plain` from another site) must never be executed as an API call.
        let essence = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|ct| ct.to_str().ok())
            .map(|ct| {
                ct.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            })
            .unwrap_or_default();
        if essence != "application/json" && !essence.ends_with("+json") {
            return Err(ApiError::malformed(
                "Content-Type: must be application/json",
            ));
        }
        let bytes = axum::body::to_bytes(req.into_body(), MAX_BODY_BYTES)
            .await
            .map_err(|_| {
                ApiError::malformed(format!("body: larger than {MAX_BODY_BYTES} bytes"))
            })?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// Parses a request body, which is always a JSON object.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> ApiResult<T> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::malformed(
            "body: is empty; expected a JSON object",
        ));
    }
    // serde's derived structs also accept a JSON array, binding its elements to the fields in
    // declaration order (`["name"]` would create a partner); every request body is an object.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return Err(ApiError::invalid("body", "must be a JSON object"));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = field_path(e.path());
        classify(&path, e.into_inner())
    })?;
    de.end()
        .map_err(|_| ApiError::malformed("body: trailing characters after the JSON value"))?;
    Ok(value)
}

/// The path to the offending value with only field names in it. Map keys are client input
/// (they could be anything, even a card number), so a segment that does not look like one of
/// our field names is shown as `*`.
fn field_path(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for seg in path.iter() {
        match seg {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } => {
                let looks_like_field = key.len() <= 40
                    && key.starts_with(|c: char| c.is_ascii_alphabetic())
                    && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    && !key
                        .as_bytes()
                        .windows(4)
                        .any(|w| w.iter().all(u8::is_ascii_digit));
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(if looks_like_field { key } else { "*" });
            }
            Segment::Enum { variant } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(variant);
            }
            Segment::Unknown => {}
        }
    }
    if out.is_empty() {
        ".".into()
    } else {
        out
    }
}

fn classify(path: &str, e: serde_json::Error) -> ApiError {
    use serde_json::error::Category;
    match e.classify() {
        Category::Syntax | Category::Eof | Category::Io => ApiError::malformed(format!(
            "body: not valid JSON (line {}, column {})",
            e.line(),
            e.column()
        )),
        Category::Data => {
            let msg = e.to_string();
            let msg = msg.rsplit_once(" at line ").map(|(m, _)| m).unwrap_or(&msg);
            let field = if path == "." {
                String::new()
            } else {
                path.to_string()
            };
            if let Some(rest) = msg.strip_prefix("missing field `") {
                let name = rest.split('`').next().unwrap_or("");
                let full = if field.is_empty() {
                    name.to_string()
                } else {
                    format!("{field}.{name}")
                };
                return ApiError::missing(&full);
            }
            let field = if field.is_empty() {
                "body".to_string()
            } else {
                field
            };
            ApiError::invalid(&field, describe(msg))
        }
    }
}

/// Rewrites serde's message without the offending value.
fn describe(msg: &str) -> String {
    if msg.starts_with("invalid type:") || msg.starts_with("invalid value:") {
        match msg.split_once(", expected ") {
            Some((_, expected)) => format!("has the wrong type or value; expected {expected}"),
            None => "has the wrong type or value".into(),
        }
    } else if msg.starts_with("unknown variant") {
        match msg.split_once(", expected ") {
            Some((_, expected)) => format!("unknown value; expected {expected}"),
            None => "unknown value".into(),
        }
    } else if msg.starts_with("invalid length") {
        "has the wrong number of elements".into()
    } else if msg.starts_with("duplicate field") {
        "appears more than once".into()
    } else {
        // Our own Deserialize impls (Money, Timestamp, …) write messages without input values.
        msg.to_string()
    }
}

/// Parses a path or query UUID, naming the field when it is not one.
pub fn uuid_param(field: &str, value: &str) -> ApiResult<uuid::Uuid> {
    uuid::Uuid::parse_str(value).map_err(|_| ApiError::invalid(field, "must be a UUID"))
}

/// Decoded `key=value` pairs of a query string.
pub fn query_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    raw.unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                match u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16)
                {
                    Ok(x) => {
                        out.push(x);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub use engine::validate::{optional_text, required_text, text};

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(rename_all = "camelCase")]
    #[allow(dead_code)]
    struct Probe {
        card_number: String,
        inner: Option<Inner>,
    }
    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Inner {
        amount: domain::Money,
    }

    #[test]
    fn errors_name_the_field_and_never_echo_input() {
        let e = parse_json::<Probe>(br#"{"cardNumber": 4242424242424242}"#).unwrap_err();
        assert!(e.detail.starts_with("cardNumber:"), "{}", e.detail);
        assert!(!e.detail.contains("4242"), "{}", e.detail);
        let e = parse_json::<Probe>(br#"{"inner": {}}"#).unwrap_err();
        assert_eq!(e.detail, "inner.amount: is required");
        let e =
            parse_json::<Probe>(br#"{"cardNumber": "x", "inner": {"amount": 1.001}}"#).unwrap_err();
        assert!(
            e.detail
                .starts_with("inner.amount: amount must have at most 2 decimal"),
            "{}",
            e.detail
        );
        let e = parse_json::<Probe>(br#" ["x", null]"#).unwrap_err();
        assert_eq!(e.detail, "body: must be a JSON object");
        assert!(parse_json::<Probe>(b"{").is_err());
        assert!(parse_json::<Probe>(b"").is_err());
        assert!(parse_json::<Probe>(br#"{"cardNumber":"x"} x"#).is_err());
    }

    #[test]
    fn query_decoding() {
        let q = query_pairs(Some("invoiceId=a%2Db&x=1+2&bad=%zz&end=%4"));
        assert_eq!(q[0], ("invoiceId".into(), "a-b".into()));
        assert_eq!(q[1].1, "1 2");
        assert_eq!(q[2].1, "%zz");
        assert_eq!(q[3].1, "%4");
    }
}
