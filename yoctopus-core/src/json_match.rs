//! Whether one JSON value holds another, as settings filters ask: objects as subsets, everything
//! else by equality. And the same question of a value that is not JSON yet, answered without
//! building its JSON where it is a scalar.
//!
//! A multicast tests its filter against every connection, and the settings filters name are
//! nearly always scalars: a label, a user id, a flag. Rendering each as a `serde_json::Value` to
//! compare it allocates (a `String` for every label) once per connection; this serializer compares
//! a scalar as it is serialized instead. Anything else (a sequence, a map, a struct) is rendered
//! and compared as before, so the two ways always agree with [`contains`].

use serde::ser::{self, Impossible, Serialize};
use serde_json::Value;

/// Whether `actual` holds `wanted`: objects as subsets, everything else by equality.
pub(crate) fn contains(actual: &Value, wanted: &Value) -> bool {
    match (actual, wanted) {
        (Value::Object(actual), Value::Object(wanted)) => wanted.iter().all(|(key, wanted)| {
            actual
                .get(key)
                .is_some_and(|actual| contains(actual, wanted))
        }),
        _ => actual == wanted,
    }
}

/// Whether `actual`, rendered as JSON, holds `wanted`: objects as subsets, everything else by
/// equality (the same answer as rendering it and calling [`contains`]).
pub(crate) fn serialized_contains<T: Serialize + ?Sized>(actual: &T, wanted: &Value) -> bool {
    match actual.serialize(ScalarEquals { wanted }) {
        Ok(equal) => equal,
        Err(NotScalar) => {
            serde_json::to_value(actual).is_ok_and(|actual| contains(&actual, wanted))
        }
    }
}

/// Compares a scalar with `wanted` as it is serialized.
struct ScalarEquals<'a> {
    wanted: &'a Value,
}

impl ScalarEquals<'_> {
    fn number(self, number: impl Into<serde_json::Number>) -> Result<bool, NotScalar> {
        Ok(matches!(self.wanted, Value::Number(wanted) if *wanted == number.into()))
    }
}

/// The value is not a scalar (or not one JSON has): render it and compare that.
#[derive(Debug)]
struct NotScalar;

impl std::fmt::Display for NotScalar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("not a scalar")
    }
}

impl std::error::Error for NotScalar {}

impl ser::Error for NotScalar {
    fn custom<T: std::fmt::Display>(_: T) -> Self {
        NotScalar
    }
}

impl ser::Serializer for ScalarEquals<'_> {
    type Ok = bool;
    type Error = NotScalar;
    type SerializeSeq = Impossible<bool, NotScalar>;
    type SerializeTuple = Impossible<bool, NotScalar>;
    type SerializeTupleStruct = Impossible<bool, NotScalar>;
    type SerializeTupleVariant = Impossible<bool, NotScalar>;
    type SerializeMap = Impossible<bool, NotScalar>;
    type SerializeStruct = Impossible<bool, NotScalar>;
    type SerializeStructVariant = Impossible<bool, NotScalar>;

    fn serialize_bool(self, value: bool) -> Result<bool, NotScalar> {
        Ok(self.wanted.as_bool() == Some(value))
    }

    fn serialize_i8(self, value: i8) -> Result<bool, NotScalar> {
        self.number(value)
    }

    fn serialize_i16(self, value: i16) -> Result<bool, NotScalar> {
        self.number(value)
    }

    fn serialize_i32(self, value: i32) -> Result<bool, NotScalar> {
        self.number(value)
    }

    fn serialize_i64(self, value: i64) -> Result<bool, NotScalar> {
        self.number(value)
    }

    fn serialize_u8(self, value: u8) -> Result<bool, NotScalar> {
        self.number(value)
    }

    fn serialize_u16(self, value: u16) -> Result<bool, NotScalar> {
        self.number(value)
    }

    fn serialize_u32(self, value: u32) -> Result<bool, NotScalar> {
        self.number(value)
    }

    fn serialize_u64(self, value: u64) -> Result<bool, NotScalar> {
        self.number(value)
    }

    // 128-bit integers, and floats that JSON cannot hold (NaN, infinities), render as serde_json
    // renders them.
    fn serialize_i128(self, _: i128) -> Result<bool, NotScalar> {
        Err(NotScalar)
    }

    fn serialize_u128(self, _: u128) -> Result<bool, NotScalar> {
        Err(NotScalar)
    }

    fn serialize_f32(self, value: f32) -> Result<bool, NotScalar> {
        match serde_json::Number::from_f64(f64::from(value)) {
            Some(number) => self.number(number),
            None => Err(NotScalar),
        }
    }

    fn serialize_f64(self, value: f64) -> Result<bool, NotScalar> {
        match serde_json::Number::from_f64(value) {
            Some(number) => self.number(number),
            None => Err(NotScalar),
        }
    }

    fn serialize_char(self, value: char) -> Result<bool, NotScalar> {
        let mut buffer = [0; 4];
        self.serialize_str(value.encode_utf8(&mut buffer))
    }

    fn serialize_str(self, value: &str) -> Result<bool, NotScalar> {
        Ok(self.wanted.as_str() == Some(value))
    }

    fn serialize_bytes(self, _: &[u8]) -> Result<bool, NotScalar> {
        Err(NotScalar)
    }

    fn serialize_none(self) -> Result<bool, NotScalar> {
        Ok(self.wanted.is_null())
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<bool, NotScalar> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<bool, NotScalar> {
        Ok(self.wanted.is_null())
    }

    fn serialize_unit_struct(self, _: &'static str) -> Result<bool, NotScalar> {
        Ok(self.wanted.is_null())
    }

    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<bool, NotScalar> {
        self.serialize_str(variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<bool, NotScalar> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<bool, NotScalar> {
        Err(NotScalar)
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, NotScalar> {
        Err(NotScalar)
    }

    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, NotScalar> {
        Err(NotScalar)
    }

    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, NotScalar> {
        Err(NotScalar)
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, NotScalar> {
        Err(NotScalar)
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, NotScalar> {
        Err(NotScalar)
    }

    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStruct, NotScalar> {
        Err(NotScalar)
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, NotScalar> {
        Err(NotScalar)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;
    use serde_json::{json, Value};

    use super::{contains, serialized_contains};

    /// The answer of rendering `actual` and comparing, which the serializer must always give.
    fn rendered<T: serde::Serialize>(actual: &T, wanted: &Value) -> bool {
        contains(&serde_json::to_value(actual).unwrap(), wanted)
    }

    #[derive(serde::Serialize)]
    enum Role {
        Admin,
        Guest(u8),
    }

    #[test]
    fn scalars_compare_as_their_json() {
        let wanted = [
            json!("al"),
            json!(1),
            json!(-1),
            json!(1.5),
            json!(1.0),
            json!(true),
            json!(null),
            json!("Admin"),
            json!({"Guest": 3}),
            json!(["a"]),
            json!({}),
        ];
        for wanted in &wanted {
            assert_eq!(serialized_contains("al", wanted), rendered(&"al", wanted));
            assert_eq!(serialized_contains(&1u64, wanted), rendered(&1u64, wanted));
            assert_eq!(
                serialized_contains(&-1i32, wanted),
                rendered(&-1i32, wanted)
            );
            assert_eq!(
                serialized_contains(&1.5f64, wanted),
                rendered(&1.5f64, wanted)
            );
            assert_eq!(
                serialized_contains(&1.0f32, wanted),
                rendered(&1.0f32, wanted)
            );
            assert_eq!(serialized_contains(&true, wanted), rendered(&true, wanted));
            assert_eq!(
                serialized_contains(&None::<u8>, wanted),
                rendered(&None::<u8>, wanted)
            );
            assert_eq!(
                serialized_contains(&Some("al"), wanted),
                rendered(&Some("al"), wanted)
            );
            assert_eq!(
                serialized_contains(&Role::Admin, wanted),
                rendered(&Role::Admin, wanted)
            );
            let guest = Role::Guest(3);
            assert_eq!(
                serialized_contains(&guest, wanted),
                rendered(&guest, wanted)
            );
            assert_eq!(
                serialized_contains(&vec!["a"], wanted),
                rendered(&vec!["a"], wanted)
            );
            let map = BTreeMap::from([("k", 1)]);
            assert_eq!(serialized_contains(&map, wanted), rendered(&map, wanted));
        }
        assert!(serialized_contains(&Some("al"), &json!("al")));
        assert!(
            !serialized_contains(&1u64, &json!(1.0)),
            "1 is not 1.0 in JSON"
        );
        assert!(serialized_contains(&Role::Guest(3), &json!({"Guest": 3})));
    }

    proptest! {
        #[test]
        fn agrees_with_rendering_for_any_scalar(
            text in ".{0,8}",
            integer in any::<i64>(),
            unsigned in any::<u64>(),
            float in any::<f64>(),
            flag in any::<bool>(),
            pick in 0..5usize,
        ) {
            let candidates = [json!(text), json!(integer), json!(unsigned), json!(flag), json!(float)];
            let wanted = &candidates[pick];
            prop_assert_eq!(serialized_contains(&text, wanted), rendered(&text, wanted));
            prop_assert_eq!(serialized_contains(&integer, wanted), rendered(&integer, wanted));
            prop_assert_eq!(serialized_contains(&unsigned, wanted), rendered(&unsigned, wanted));
            prop_assert_eq!(serialized_contains(&float, wanted), rendered(&float, wanted));
            prop_assert_eq!(serialized_contains(&flag, wanted), rendered(&flag, wanted));
        }
    }
}
