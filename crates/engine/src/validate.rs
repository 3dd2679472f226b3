//! Field checks shared by every command: never a panic, never an echo of client input, always
//! a catalog error naming the field.

use crate::error::{EngineError, EngineResult};

/// Checks a free-text field: trimmed length within `max` and no control characters.
pub fn text(field: &str, value: &str, max: usize) -> EngineResult<String> {
    let v = value.trim();
    if v.chars().count() > max {
        return Err(EngineError::invalid(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if v.chars().any(|c| c.is_control()) {
        return Err(EngineError::invalid(
            field,
            "must not contain control characters",
        ));
    }
    Ok(v.to_string())
}

/// Like [`text`] but the value must also be non-empty.
pub fn required_text(field: &str, value: Option<&str>, max: usize) -> EngineResult<String> {
    let v = text(
        field,
        value.ok_or_else(|| EngineError::missing(field))?,
        max,
    )?;
    if v.is_empty() {
        return Err(EngineError::missing(field));
    }
    Ok(v)
}

pub fn optional_text(field: &str, value: Option<&str>, max: usize) -> EngineResult<Option<String>> {
    match value {
        None => Ok(None),
        Some(v) => {
            let v = text(field, v, max)?;
            Ok((!v.is_empty()).then_some(v))
        }
    }
}

/// A UUID in canonical (lower-case, hyphenated) form.
pub fn uuid(field: &str, value: &str) -> EngineResult<String> {
    uuid::Uuid::parse_str(value.trim())
        .map(|u| u.to_string())
        .map_err(|_| EngineError::invalid(field, "must be a UUID"))
}

/// An optional UUID; blank counts as absent.
pub fn optional_uuid(field: &str, value: Option<&str>) -> EngineResult<Option<String>> {
    match value.map(str::trim).filter(|s| !s.is_empty()) {
        Some(v) => uuid(field, v).map(Some),
        None => Ok(None),
    }
}

/// An absolute http(s) URL, parsed (not pattern-matched).
pub fn http_url(field: &str, value: &str) -> EngineResult<url::Url> {
    let u = url::Url::parse(value.trim())
        .map_err(|_| EngineError::invalid(field, "must be an absolute URL"))?;
    if !matches!(u.scheme(), "https" | "http") || u.host_str().is_none() {
        return Err(EngineError::invalid(field, "must be an http(s) URL"));
    }
    Ok(u)
}

/// Basis points from a wire percentage with at most 2 decimals (3.5 → 350).
pub fn percent_to_bps(field: &str, pct: f64, max_pct: f64) -> EngineResult<i64> {
    if !pct.is_finite() || pct < 0.0 || pct > max_pct {
        return Err(EngineError::invalid(
            field,
            format!("must be a percentage between 0 and {max_pct}"),
        ));
    }
    // A fixed tolerance on `pct × 100` accepted 3.500000001 as 3.5.
    domain::money::exact_hundredths(pct)
        .ok_or_else(|| EngineError::invalid(field, "must have at most 2 decimal places"))
}

pub fn bps_to_percent(bps: i64) -> f64 {
    bps as f64 / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts() {
        assert_eq!(text("f", "  a  ", 3).unwrap(), "a");
        assert!(text("f", "abcd", 3).unwrap_err().detail.starts_with("f:"));
        assert!(text("f", "a\u{0}", 3).is_err());
        assert_eq!(optional_text("f", Some("  "), 3).unwrap(), None);
        assert!(required_text("f", Some(" "), 3).is_err());
    }

    #[test]
    fn urls_are_parsed() {
        assert!(http_url("u", "https://shop.example/ok?x=1").is_ok());
        assert!(http_url("u", "javascript:alert(1)").is_err());
        assert!(http_url("u", "https://").is_err());
        assert!(http_url("u", "/relative").is_err());
    }

    #[test]
    fn percents() {
        assert_eq!(percent_to_bps("p", 3.5, 4.0).unwrap(), 350);
        assert!(percent_to_bps("p", 3.500000001, 4.0).is_err());
        assert!(percent_to_bps("p", 5.0, 4.0).is_err());
    }
}
