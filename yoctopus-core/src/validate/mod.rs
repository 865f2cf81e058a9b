//! Request formats: the checks that `#[derive(RequestFormat)]` and the built-in types run on `data`.
//!
//! Every format reads `data` two ways. The fast way deserializes the JSON text straight into the
//! type, checks included, and gives up at the first problem; it is what almost every request
//! takes. When it gives up, the thorough way parses `data` into a `serde_json::Value` and walks it
//! once, recording every failing field with its path, so a client sees all of its mistakes in one
//! error response. The fast way must never accept what the thorough way rejects.

mod custom;
mod fast;
mod maps;
mod path;
mod primitives;
mod text_formats;

pub use custom::ValidatorOutcome;
pub use fast::{deserialize_literal, missing_field, next_field, Fast};
pub use path::FieldPath;
pub use text_formats::{Email, Hostname, IsoDate};

use serde_json::Value;

/// A type that `data` can be checked against and converted into.
///
/// Implemented for strings, numbers, `bool`, `Vec<T>`, `Option<T>` (an optional field),
/// `serde_json::Value` (anything), `serde_json::Map` (any object), `HashMap<String, T>` and
/// `BTreeMap<String, T>` (an object with any keys, each value of format `T`), `serde_json::Number`
/// (a number kept as written: `30` stays `30`, `2.50` stays `2.50`), [`Email`], [`Hostname`],
/// [`IsoDate`], and every type with `#[derive(RequestFormat)]`: structs become nested object formats,
/// enums of unit variants become unions of literal strings.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be validated as a request format",
    label = "not a request format",
    note = "derive `RequestFormat` for it, or use a supported type: `String`, numbers, `bool`, `Vec<T>`, `Option<T>`, `HashMap<String, T>`, `BTreeMap<String, T>`, `Email`, `Hostname`, `IsoDate`, `serde_json::Number`, `serde_json::Value`, `serde_json::Map<String, Value>`",
    note = "a handler argument is either a request format or an extractor such as `Connection`, `ConnectionSettings<T>`, `ConnectionId`, `Notify` or `State<T>`"
)]
pub trait RequestFormat: Sized + schemars::JsonSchema {
    /// What this format expects, as it appears in error messages (`string`, `email`, `one of ...`).
    const EXPECTED: &'static str;

    /// Whether the field may be absent (only `Option<T>` says yes).
    const OPTIONAL: bool = false;

    /// Checks `value` and converts it; on failure, records every problem in `errors` and returns `None`.
    fn from_json(value: Value, at: &FieldPath<'_>, errors: &mut ValidationErrors) -> Option<Self>;

    /// Called instead of [`from_json`](Self::from_json) when an object field is absent.
    fn from_missing(at: &FieldPath<'_>, errors: &mut ValidationErrors) -> Option<Self> {
        errors.push(at, format_args!("missing, expected {}", Self::EXPECTED));
        None
    }

    /// The format in the original Yoctopus notation: `"string"`, `["a", "b"]`, `{"name": "string"}`.
    fn describe() -> Value;

    /// Reads the value straight from JSON text, checks included, failing at the first problem
    /// (the caller then takes the thorough way to report every problem). Never accepts what
    /// [`from_json`](Self::from_json) rejects.
    fn deserialize_fast<'de, D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Self, D::Error>;
}

/// Every failure found while checking a request, one message per failing field.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ValidationErrors {
    messages: Vec<String>,
}

impl ValidationErrors {
    /// No errors yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a failure at `at`, written as `path: message`.
    pub fn push(&mut self, at: &FieldPath<'_>, message: impl std::fmt::Display) {
        self.messages.push(format!("{at}: {message}"));
    }

    /// Records that `found` is not what `expected` describes.
    pub fn mismatch(&mut self, at: &FieldPath<'_>, expected: &str, found: &Value) {
        self.push(
            at,
            format_args!("expected {expected}, got {}", kind_of(found)),
        );
    }

    /// Whether nothing has failed.
    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    /// The messages, in the order the fields were checked.
    pub fn messages(&self) -> &[String] {
        &self.messages
    }

    /// Takes the messages out.
    pub fn into_messages(self) -> Vec<String> {
        self.messages
    }
}

/// The JSON kind of a value, as error messages name it.
pub(crate) fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Checks and converts a whole request `data` value against `T`.
pub fn validate<T: RequestFormat>(data: Value) -> Result<T, ValidationErrors> {
    let mut errors = ValidationErrors::new();
    match T::from_json(data, &FieldPath::root(), &mut errors) {
        Some(value) if errors.is_empty() => Ok(value),
        _ => Err(errors),
    }
}

/// Reads field `key` of `object` as `T`, recording failures under `at.key`.
///
/// Generated validators call this once per field; it removes the value so no copy is made.
pub fn take_field<T: RequestFormat>(
    object: &mut serde_json::Map<String, Value>,
    key: &'static str,
    at: &FieldPath<'_>,
    errors: &mut ValidationErrors,
) -> Option<T> {
    let at = at.key(key);
    match object.remove(key) {
        Some(value) => T::from_json(value, &at, errors),
        None => T::from_missing(&at, errors),
    }
}

/// Takes the object out of `value`, or records that an object was expected.
pub fn expect_object(
    value: Value,
    at: &FieldPath<'_>,
    errors: &mut ValidationErrors,
) -> Option<serde_json::Map<String, Value>> {
    match value {
        Value::Object(object) => Some(object),
        other => {
            errors.mismatch(at, "object", &other);
            None
        }
    }
}
