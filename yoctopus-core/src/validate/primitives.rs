//! Request formats of the standard types: strings, numbers, booleans, arrays, options, raw JSON.

use serde_json::{Map, Value};

use serde::{Deserialize, Deserializer};

use super::{Fast, FieldPath, RequestFormat, ValidationErrors};

impl RequestFormat for String {
    const EXPECTED: &'static str = "string";

    fn from_json(value: Value, at: &FieldPath<'_>, errors: &mut ValidationErrors) -> Option<Self> {
        match value {
            Value::String(text) => Some(text),
            other => {
                errors.mismatch(at, Self::EXPECTED, &other);
                None
            }
        }
    }

    fn describe() -> Value {
        Value::from("string")
    }

    fn deserialize_fast<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer)
    }
}

impl RequestFormat for bool {
    const EXPECTED: &'static str = "bool";

    fn from_json(value: Value, at: &FieldPath<'_>, errors: &mut ValidationErrors) -> Option<Self> {
        match value {
            Value::Bool(flag) => Some(flag),
            other => {
                errors.mismatch(at, Self::EXPECTED, &other);
                None
            }
        }
    }

    fn describe() -> Value {
        Value::from("bool")
    }

    fn deserialize_fast<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        bool::deserialize(deserializer)
    }
}

macro_rules! float_format {
    ($($float:ty),*) => {$(
        impl RequestFormat for $float {
            const EXPECTED: &'static str = "number";

            fn from_json(value: Value, at: &FieldPath<'_>, errors: &mut ValidationErrors) -> Option<Self> {
                match value.as_f64() {
                    #[allow(clippy::cast_possible_truncation, reason = "f32 fields accept the nearest f32")]
                    Some(number) => Some(number as $float),
                    None => {
                        errors.mismatch(at, Self::EXPECTED, &value);
                        None
                    }
                }
            }

            fn describe() -> Value {
                Value::from("number")
            }

            fn deserialize_fast<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                <$float>::deserialize(deserializer)
            }
        }
    )*};
}

float_format!(f64, f32);

macro_rules! integer_format {
    ($expected:literal: $($int:ty),*) => {$(
        impl RequestFormat for $int {
            const EXPECTED: &'static str = $expected;

            fn from_json(value: Value, at: &FieldPath<'_>, errors: &mut ValidationErrors) -> Option<Self> {
                let Value::Number(number) = &value else {
                    errors.mismatch(at, Self::EXPECTED, &value);
                    return None;
                };
                let in_range = if let Some(signed) = number.as_i64() {
                    <$int>::try_from(signed).ok()
                } else if let Some(unsigned) = number.as_u64() {
                    <$int>::try_from(unsigned).ok()
                } else if let Some(whole) = whole_number(number) {
                    <$int>::try_from(whole).ok()
                } else {
                    errors.push(at, format_args!("expected {}, got a fraction", Self::EXPECTED));
                    return None;
                };
                if in_range.is_none() {
                    errors.push(
                        at,
                        format_args!("expected {} between {} and {}, got {number}", Self::EXPECTED, <$int>::MIN, <$int>::MAX),
                    );
                }
                in_range
            }

            fn describe() -> Value {
                Value::from("number")
            }

            fn deserialize_fast<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                <$int>::deserialize(deserializer)
            }
        }
    )*};
}

/// A number written with a fraction or exponent that is still whole (`2.0`, `1e2`).
fn whole_number(number: &serde_json::Number) -> Option<i128> {
    let float = number.as_f64()?;
    #[allow(
        clippy::cast_possible_truncation,
        reason = "the value is whole and below 2^64 in size"
    )]
    (float.fract() == 0.0 && float.abs() < 1.8e19).then_some(float as i128)
}

integer_format!("integer": i8, i16, i32, i64, isize);
integer_format!("non-negative integer": u8, u16, u32, u64, usize);

impl<T: RequestFormat> RequestFormat for Vec<T> {
    const EXPECTED: &'static str = "array";

    fn from_json(value: Value, at: &FieldPath<'_>, errors: &mut ValidationErrors) -> Option<Self> {
        let Value::Array(items) = value else {
            errors.mismatch(at, Self::EXPECTED, &value);
            return None;
        };
        let mut converted = Vec::with_capacity(items.len());
        let mut all_valid = true;
        for (index, item) in items.into_iter().enumerate() {
            match T::from_json(item, &at.index(index), errors) {
                Some(item) if all_valid => converted.push(item),
                Some(_) => {}
                None => all_valid = false,
            }
        }
        all_valid.then_some(converted)
    }

    fn describe() -> Value {
        Value::from("array")
    }

    fn deserialize_fast<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let items = Vec::<Fast<T>>::deserialize(deserializer)?;
        Ok(items.into_iter().map(|Fast(item)| item).collect())
    }
}

impl<T: RequestFormat> RequestFormat for Option<T> {
    const EXPECTED: &'static str = T::EXPECTED;
    const OPTIONAL: bool = true;

    fn from_json(value: Value, at: &FieldPath<'_>, errors: &mut ValidationErrors) -> Option<Self> {
        match value {
            Value::Null => Some(None),
            present => T::from_json(present, at, errors).map(Some),
        }
    }

    fn from_missing(_at: &FieldPath<'_>, _errors: &mut ValidationErrors) -> Option<Self> {
        Some(None)
    }

    fn describe() -> Value {
        T::describe()
    }

    fn deserialize_fast<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Option::<Fast<T>>::deserialize(deserializer)?.map(|Fast(value)| value))
    }
}

impl<T: RequestFormat> RequestFormat for Box<T> {
    const EXPECTED: &'static str = T::EXPECTED;
    const OPTIONAL: bool = T::OPTIONAL;

    fn from_json(value: Value, at: &FieldPath<'_>, errors: &mut ValidationErrors) -> Option<Self> {
        T::from_json(value, at, errors).map(Box::new)
    }

    fn from_missing(at: &FieldPath<'_>, errors: &mut ValidationErrors) -> Option<Self> {
        T::from_missing(at, errors).map(Box::new)
    }

    fn describe() -> Value {
        T::describe()
    }

    fn deserialize_fast<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize_fast(deserializer).map(Box::new)
    }
}

/// Any JSON value, `null` included: the format of an endpoint that checks `data` itself.
impl RequestFormat for Value {
    const EXPECTED: &'static str = "any value";

    fn from_json(
        value: Value,
        _at: &FieldPath<'_>,
        _errors: &mut ValidationErrors,
    ) -> Option<Self> {
        Some(value)
    }

    fn from_missing(_at: &FieldPath<'_>, _errors: &mut ValidationErrors) -> Option<Self> {
        Some(Value::Null)
    }

    fn describe() -> Value {
        Value::from("any")
    }

    fn deserialize_fast<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Value::deserialize(deserializer)
    }
}

/// Any JSON number, kept as the client wrote it (`30` is not read back as `30.0`): for handlers
/// that pass a number on rather than compute with it.
impl RequestFormat for serde_json::Number {
    const EXPECTED: &'static str = "number";

    fn from_json(value: Value, at: &FieldPath<'_>, errors: &mut ValidationErrors) -> Option<Self> {
        match value {
            Value::Number(number) => Some(number),
            other => {
                errors.mismatch(at, Self::EXPECTED, &other);
                None
            }
        }
    }

    fn describe() -> Value {
        Value::from("number")
    }

    fn deserialize_fast<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        serde_json::Number::deserialize(deserializer)
    }
}

/// Any JSON object: the original's `'object'`.
impl RequestFormat for Map<String, Value> {
    const EXPECTED: &'static str = "object";

    fn from_json(value: Value, at: &FieldPath<'_>, errors: &mut ValidationErrors) -> Option<Self> {
        super::expect_object(value, at, errors)
    }

    fn describe() -> Value {
        Value::from("object")
    }

    fn deserialize_fast<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Map::deserialize(deserializer)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::validate::validate;

    #[test]
    fn integers_reject_fractions_and_out_of_range_values() {
        assert_eq!(validate::<u8>(json!(200)), Ok(200));
        assert_eq!(
            validate::<u8>(json!(300)).unwrap_err().messages(),
            ["data: expected non-negative integer between 0 and 255, got 300"]
        );
        assert_eq!(
            validate::<i32>(json!(1.5)).unwrap_err().messages(),
            ["data: expected integer, got a fraction"]
        );
        assert_eq!(validate::<i32>(json!(2.0)), Ok(2));
        assert_eq!(
            validate::<u16>(serde_json::from_str("1e2").unwrap()),
            Ok(100)
        );
        assert_eq!(
            validate::<u64>(json!(-1)).unwrap_err().messages(),
            ["data: expected non-negative integer between 0 and 18446744073709551615, got -1"]
        );
    }

    #[test]
    fn arrays_report_every_bad_element() {
        assert_eq!(
            validate::<Vec<String>>(json!(["a", 1, "c", false]))
                .unwrap_err()
                .messages(),
            [
                "data[1]: expected string, got number",
                "data[3]: expected string, got bool"
            ]
        );
        assert_eq!(validate::<Vec<f64>>(json!([1, 2.5])), Ok(vec![1.0, 2.5]));
    }

    #[test]
    fn a_number_stays_as_written() {
        let number = validate::<serde_json::Number>(json!(30)).unwrap();
        assert_eq!(serde_json::to_string(&number).unwrap(), "30");
        let fraction =
            validate::<serde_json::Number>(serde_json::from_str("2.5").unwrap()).unwrap();
        assert_eq!(serde_json::to_string(&fraction).unwrap(), "2.5");
        assert_eq!(
            validate::<serde_json::Number>(json!("30"))
                .unwrap_err()
                .messages(),
            ["data: expected number, got string"]
        );
    }

    #[test]
    fn options_accept_null_and_check_present_values() {
        assert_eq!(validate::<Option<bool>>(json!(null)), Ok(None));
        assert_eq!(validate::<Option<bool>>(json!(true)), Ok(Some(true)));
        assert!(validate::<Option<bool>>(json!("yes")).is_err());
    }
}
