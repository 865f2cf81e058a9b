//! Objects whose keys the client chooses: `HashMap<String, T>` and `BTreeMap<String, T>`, each
//! value checked against `T` and reported at its key (`scores.alice: expected integer, got
//! string`).

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::hash::BuildHasher;
use std::marker::PhantomData;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::Value;

use super::{Fast, FieldPath, RequestFormat, ValidationErrors};

/// What a map of `T` is made from: the entries, in the order the client wrote them.
trait Entries<T>: Sized + Default {
    fn insert_entry(&mut self, key: String, value: T);
}

impl<T, S: BuildHasher + Default> Entries<T> for HashMap<String, T, S> {
    fn insert_entry(&mut self, key: String, value: T) {
        self.insert(key, value);
    }
}

impl<T> Entries<T> for BTreeMap<String, T> {
    fn insert_entry(&mut self, key: String, value: T) {
        self.insert(key, value);
    }
}

/// Checks every entry of an object against `T`, recording each failure at its key.
fn entries_from_json<T: RequestFormat, M: Entries<T>>(
    value: Value,
    at: &FieldPath<'_>,
    errors: &mut ValidationErrors,
) -> Option<M> {
    let object = super::expect_object(value, at, errors)?;
    let mut map = M::default();
    let mut all_valid = true;
    for (key, value) in object {
        match T::from_json(value, &at.key(&key), errors) {
            Some(value) if all_valid => map.insert_entry(key, value),
            Some(_) => {}
            None => all_valid = false,
        }
    }
    all_valid.then_some(map)
}

/// Reads an object's entries by the fast way of `T`.
fn entries_fast<'de, T: RequestFormat, M: Entries<T>, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<M, D::Error> {
    struct EntriesVisitor<T, M>(PhantomData<(T, M)>);
    impl<'de, T: RequestFormat, M: Entries<T>> Visitor<'de> for EntriesVisitor<T, M> {
        type Value = M;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an object")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<M, A::Error> {
            let mut map = M::default();
            while let Some(key) = access.next_key::<String>()? {
                let Fast(value) = access.next_value::<Fast<T>>()?;
                map.insert_entry(key, value);
            }
            Ok(map)
        }
    }
    deserializer.deserialize_map(EntriesVisitor(PhantomData))
}

/// An object with any keys, each value of format `T`; described `{"*": <T's format>}`.
impl<T: RequestFormat, S: BuildHasher + Default> RequestFormat for HashMap<String, T, S>
where
    HashMap<String, T, S>: schemars::JsonSchema,
{
    const EXPECTED: &'static str = "object";

    fn from_json(value: Value, at: &FieldPath<'_>, errors: &mut ValidationErrors) -> Option<Self> {
        entries_from_json(value, at, errors)
    }

    fn describe() -> Value {
        serde_json::json!({ "*": T::describe() })
    }

    fn deserialize_fast<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        entries_fast::<T, Self, D>(deserializer)
    }
}

/// An object with any keys, each value of format `T`, kept in key order.
impl<T: RequestFormat> RequestFormat for BTreeMap<String, T> {
    const EXPECTED: &'static str = "object";

    fn from_json(value: Value, at: &FieldPath<'_>, errors: &mut ValidationErrors) -> Option<Self> {
        entries_from_json(value, at, errors)
    }

    fn describe() -> Value {
        serde_json::json!({ "*": T::describe() })
    }

    fn deserialize_fast<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        entries_fast::<T, Self, D>(deserializer)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashMap};

    use serde_json::json;

    use crate::validate::{validate, Fast, RequestFormat};

    #[test]
    fn every_bad_entry_is_reported_at_its_key() {
        let scores = validate::<BTreeMap<String, u8>>(json!({"ann": 3, "bob": "x", "cy": 300}));
        assert_eq!(
            scores.unwrap_err().messages(),
            [
                "bob: expected non-negative integer, got string",
                "cy: expected non-negative integer between 0 and 255, got 300"
            ]
        );
        let nested = json!({"tags": {"a": [1], "b": ["x"]}});
        assert_eq!(
            validate::<HashMap<String, HashMap<String, Vec<u8>>>>(nested)
                .unwrap_err()
                .messages(),
            ["tags.b[0]: expected non-negative integer, got string"]
        );
        assert!(validate::<HashMap<String, bool>>(json!([true])).is_err());
    }

    #[test]
    fn the_fast_and_the_thorough_reading_agree() {
        let text = r#"{"ann": 3, "bob": 4}"#;
        let Fast(fast) = serde_json::from_str::<Fast<BTreeMap<String, u8>>>(text).unwrap();
        let thorough = validate::<BTreeMap<String, u8>>(serde_json::from_str(text).unwrap());
        assert_eq!(Ok(fast), thorough);
        assert!(serde_json::from_str::<Fast<BTreeMap<String, u8>>>(r#"{"a": "x"}"#).is_err());
        assert_eq!(
            <HashMap<String, String>>::describe(),
            json!({"*": "string"})
        );
    }
}
