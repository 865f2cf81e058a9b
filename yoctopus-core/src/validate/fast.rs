//! The fast way of reading a request: straight from JSON text into the type, no tree in between.

use serde::de::{Deserialize, Deserializer, Error, MapAccess, Visitor};

use super::{FieldPath, RequestFormat, ValidationErrors};

/// Deserializes a [`RequestFormat`] by its fast way; what `serde_json::from_str` is called with.
#[derive(Debug)]
pub struct Fast<T>(pub T);

impl<'de, T: RequestFormat> Deserialize<'de> for Fast<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize_fast(deserializer).map(Fast)
    }
}

/// Reads the value of the field whose key was just read, by its fast way.
pub fn next_field<'de, T: RequestFormat, A: MapAccess<'de>>(map: &mut A) -> Result<T, A::Error> {
    map.next_value::<Fast<T>>().map(|Fast(value)| value)
}

/// The value of an absent field: `None` for an `Option`, an error for a required field.
pub fn missing_field<T: RequestFormat, E: Error>(key: &'static str) -> Result<T, E> {
    T::from_missing(&FieldPath::root(), &mut ValidationErrors::new())
        .ok_or_else(|| E::missing_field(key))
}

/// Reads a string that must be one of `values`; returns its index.
pub fn deserialize_literal<'de, D: Deserializer<'de>>(
    deserializer: D,
    values: &'static [&'static str],
) -> Result<usize, D::Error> {
    struct Literal(&'static [&'static str]);
    impl Visitor<'_> for Literal {
        type Value = usize;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "one of {:?}", self.0)
        }

        fn visit_str<E: Error>(self, text: &str) -> Result<usize, E> {
            self.0
                .iter()
                .position(|value| *value == text)
                .ok_or_else(|| E::unknown_variant(text, self.0))
        }
    }
    deserializer.deserialize_str(Literal(values))
}
