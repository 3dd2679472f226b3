//! Instants stored as Unix milliseconds and written on the wire as RFC 3339 UTC with
//! milliseconds (`2025-03-28T11:34:46.794Z`).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::{format_description::well_known::Rfc3339, OffsetDateTime};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    pub fn now() -> Timestamp {
        Timestamp((OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64)
    }
    pub fn from_millis(ms: i64) -> Timestamp {
        Timestamp(ms)
    }
    pub fn millis(self) -> i64 {
        self.0
    }
    pub fn plus_seconds(self, s: i64) -> Timestamp {
        Timestamp(self.0.saturating_add(s.saturating_mul(1000)))
    }
    pub fn to_rfc3339(self) -> String {
        let dt = OffsetDateTime::from_unix_timestamp_nanos(self.0 as i128 * 1_000_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            dt.year(),
            dt.month() as u8,
            dt.day(),
            dt.hour(),
            dt.minute(),
            dt.second(),
            dt.millisecond()
        )
    }
    /// Accepts any RFC 3339 instant (any offset, any fraction) within years 1900–9998, as
    /// written (in its own offset). Not 9999: late in that year a negative offset puts the
    /// instant in year 10000 in UTC, which [`Self::to_rfc3339`] cannot write (RFC 3339 years
    /// have four digits).
    pub fn parse(s: &str) -> Option<Timestamp> {
        let dt = OffsetDateTime::parse(s, &Rfc3339).ok()?;
        if !(1900..=9998).contains(&dt.year()) {
            return None;
        }
        Some(Timestamp((dt.unix_timestamp_nanos() / 1_000_000) as i64))
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_rfc3339())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        let s = String::deserialize(d)?;
        Timestamp::parse(&s).ok_or_else(|| {
            serde::de::Error::custom("must be an RFC 3339 timestamp, e.g. 2025-03-28T11:34:46.794Z")
        })
    }
}

impl utoipa::PartialSchema for Timestamp {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                utoipa::openapi::KnownFormat::DateTime,
            )))
            .examples([serde_json::json!("2025-03-28T11:34:46.794Z")])
            .into()
    }
}
impl utoipa::ToSchema for Timestamp {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_with_millis() {
        let t = Timestamp::parse("2025-03-28T11:34:46.794Z").unwrap();
        assert_eq!(t.to_rfc3339(), "2025-03-28T11:34:46.794Z");
        let t = Timestamp::parse("2025-03-28T13:34:46+02:00").unwrap();
        assert_eq!(t.to_rfc3339(), "2025-03-28T11:34:46.000Z");
        assert!(Timestamp::parse("yesterday").is_none());
    }

    #[test]
    fn every_accepted_instant_writes_back_as_rfc3339() {
        for s in [
            "1900-01-01T00:00:00+23:59",
            "1900-01-01T00:00:00-23:59",
            "9998-12-31T23:59:59.999-23:59",
            "9998-12-31T23:59:59.999+23:59",
        ] {
            let t = Timestamp::parse(s).unwrap_or_else(|| panic!("{s}"));
            let back = t.to_rfc3339();
            assert_eq!(back.len(), "2025-03-28T11:34:46.794Z".len(), "{s} → {back}");
            let again = OffsetDateTime::parse(&back, &Rfc3339).expect(&back);
            assert_eq!(again.unix_timestamp_nanos() / 1_000_000, t.millis() as i128);
        }
        for s in [
            "9999-12-31T23:00:00-05:00",
            "9999-01-01T00:00:00Z",
            "1899-12-31T23:59:59Z",
            "0001-01-01T00:00:00Z",
        ] {
            assert!(Timestamp::parse(s).is_none(), "{s}");
        }
    }
}
