//! Nested objects of request bodies must be JSON objects. serde's derived structs also accept a
//! JSON array, binding its elements to the fields in declaration order (`"profile": [null]`
//! was taken for an empty profile); the body itself is checked for that when it is parsed,
//! and fields holding a struct use these (`#[serde(deserialize_with = …)]`), which ask for a
//! map and so refuse an array with "expected a JSON object".

use serde::de::value::MapAccessDeserializer;
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use std::fmt;
use std::marker::PhantomData;

struct ObjectVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        T::deserialize(MapAccessDeserializer::new(map))
    }
}

/// A struct field (with `#[serde(default)]` where it may be absent).
pub fn object<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<T, D::Error> {
    d.deserialize_map(ObjectVisitor(PhantomData))
}

/// An `Option` of a struct: `null` is `None` (use with `#[serde(default)]`).
pub fn optional_object<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<T>, D::Error> {
    struct OptionVisitor<T>(PhantomData<T>);

    impl<'de, T: Deserialize<'de>> Visitor<'de> for OptionVisitor<T> {
        type Value = Option<T>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a JSON object or null")
        }

        fn visit_none<E>(self) -> Result<Option<T>, E> {
            Ok(None)
        }

        fn visit_unit<E>(self) -> Result<Option<T>, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Option<T>, D::Error> {
            object(d).map(Some)
        }
    }

    d.deserialize_option(OptionVisitor(PhantomData))
}

/// A list of structs (use with `#[serde(default)]` where it may be absent).
pub fn objects<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Vec<T>, D::Error> {
    struct Element<T>(PhantomData<T>);

    impl<'de, T: Deserialize<'de>> DeserializeSeed<'de> for Element<T> {
        type Value = T;

        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<T, D::Error> {
            object(d)
        }
    }

    struct ListVisitor<T>(PhantomData<T>);

    impl<'de, T: Deserialize<'de>> Visitor<'de> for ListVisitor<T> {
        type Value = Vec<T>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a JSON array of objects")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
            let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
            while let Some(x) = seq.next_element_seed(Element(PhantomData))? {
                out.push(x);
            }
            Ok(out)
        }
    }

    d.deserialize_seq(ListVisitor(PhantomData))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default, Deserialize, PartialEq)]
    #[serde(default)]
    struct Inner {
        a: Option<String>,
        b: i64,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Outer {
        #[serde(default, deserialize_with = "object")]
        inner: Inner,
        #[serde(default, deserialize_with = "optional_object")]
        maybe: Option<Inner>,
        #[serde(default, deserialize_with = "objects")]
        list: Vec<Inner>,
    }

    fn parse(s: &str) -> Result<Outer, String> {
        serde_json::from_str(s).map_err(|e| e.to_string())
    }

    #[test]
    fn objects_are_read_and_arrays_refused() {
        let o =
            parse(r#"{"inner": {"a": "x"}, "maybe": {"b": 2}, "list": [{}, {"b": 1}]}"#).unwrap();
        assert_eq!(o.inner.a.as_deref(), Some("x"));
        assert_eq!(o.maybe.map(|m| m.b), Some(2));
        assert_eq!(o.list.len(), 2);
        let o = parse(r#"{"maybe": null}"#).unwrap();
        assert_eq!((o.inner, o.maybe, o.list), (Inner::default(), None, vec![]));
        for bad in [
            r#"{"inner": [null, 1]}"#,
            r#"{"inner": null}"#,
            r#"{"maybe": ["x"]}"#,
            r#"{"list": [["x", 1]]}"#,
            r#"{"list": {}}"#,
        ] {
            let e = parse(bad).unwrap_err();
            assert!(e.contains("expected a JSON"), "{bad}: {e}");
        }
    }
}
