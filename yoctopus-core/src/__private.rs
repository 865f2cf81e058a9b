//! Re-exports that only macro output uses. Not part of the public API; may change at any time.

pub use schemars;
pub use serde;
pub use serde_json;

pub use crate::connection::{PluginSettings, SettingsDef};
pub use crate::extract::{first_some, Call, FromCall, Need, RequestData};
pub use crate::plugin::{BoxFuture, EndpointDef, Handler, MethodDef, PluginDef, ReadData, Route};
pub use crate::protocol::{ErrorBody, FieldIndex, Outcome};
pub use crate::validate::{
    deserialize_literal, expect_object, missing_field, next_field, take_field, Fast, FieldPath,
    RequestFormat, ValidationErrors, ValidatorOutcome,
};

/// What a requirement without a comparison (`auth.authenticated`) tests: a `bool` setting.
#[diagnostic::on_unimplemented(
    message = "a requirement without a comparison tests a `bool` setting, not `{Self}`",
    label = "not a `bool`",
    note = "compare the setting with a value instead, e.g. `plugin.setting != None` or `plugin.setting > 0`"
)]
pub trait Flag {
    /// Whether the setting is true.
    fn is_set(&self) -> bool;
}

#[diagnostic::do_not_recommend]
impl Flag for bool {
    fn is_set(&self) -> bool {
        *self
    }
}

/// Applies a handler's `Reply` (settings, then response). A function of its own so that a
/// `Reply` whose settings type is not a plugin's settings is reported at that type.
pub fn reply_outcome<S: PluginSettings, T: serde::Serialize>(
    reply: crate::Reply<S, T>,
    connection: &crate::Connection,
) -> Outcome {
    reply.__into_outcome(connection)
}

/// The reply to a request whose requirement is not met. Names the requirement as written,
/// never the connection's values.
pub fn requirement_not_met(requirement: &str) -> Outcome {
    Outcome::error(format!("requirement not met: {requirement}"))
}

/// Converts a handler's `Err` into an error reply carrying its message.
pub fn handler_error(error: &dyn std::fmt::Display) -> Outcome {
    Outcome::error(error.to_string())
}

/// A setting as JSON, for `get(plugin, setting)`. Settings types are plain data; one that cannot
/// be represented in JSON (a map with non-string keys) reads as `null`.
pub fn setting_to_json<T: serde::Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

/// How a field's format describes itself: `RequestFormat::describe` of its type.
pub type Describe = fn() -> serde_json::Value;

/// The original-notation description of an object format.
pub fn describe_object(fields: &[(&'static str, Describe)]) -> serde_json::Value {
    serde_json::Value::Object(
        fields
            .iter()
            .map(|(key, describe)| ((*key).to_owned(), describe()))
            .collect(),
    )
}

/// The JSON Schema of an object format: `(key, schema, optional)` per field.
pub fn object_schema(fields: Vec<(&'static str, schemars::Schema, bool)>) -> schemars::Schema {
    let required: Vec<&str> = fields
        .iter()
        .filter(|(_, _, optional)| !optional)
        .map(|(key, _, _)| *key)
        .collect();
    let properties: serde_json::Map<String, serde_json::Value> = fields
        .into_iter()
        .map(|(key, schema, _)| (key.to_owned(), schema.to_value()))
        .collect();
    schemars::json_schema!({ "type": "object", "properties": properties, "required": required })
}

/// The JSON Schema of a union of literal strings.
pub fn enum_schema(values: &[&str]) -> schemars::Schema {
    schemars::json_schema!({ "type": "string", "enum": values })
}

/// How an error message shows a value that matched none of a union's literals: strings are
/// quoted (cut short), other values are named by kind.
pub fn describe_value(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(text) => {
            let short: String = text.chars().take(64).collect();
            format!("{short:?}")
        }
        other => crate::validate::kind_of(other).to_owned(),
    }
}
