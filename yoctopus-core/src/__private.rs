//! Re-exports that only macro output uses. Not part of the public API; may change at any time.

pub use schemars;
pub use serde;
pub use serde_json;

pub use crate::extract::{
    any, first_some, scope, Call, FromCall, FromUpgrade, Need, RequestData, UpgradeCall,
};
pub use crate::listener::{settings_of, Admission, ChangeOf, ListenerOutput, Step};
pub use crate::plugin::{
    BoxFuture, EndpointDef, Handler, ListenerDef, ListenerEvent, MethodDef, PluginDef, ProvideDef,
    PushDef, Route, SchemaFn, SettingListenerDef, UpgradeCheckDef, Verdict,
};
pub use crate::protocol::{ErrorBody, Outcome, ReadData};
pub use crate::runtime::build as build_runtime;
pub use crate::settings::{PluginSettings, SettingsDef};
pub use crate::validate::{
    deserialize_literal, expect_object, missing_field, next_field, take_field, Fast, FieldPath,
    RequestFormat, ValidationErrors, ValidatorOutcome,
};

/// What a requirement without a comparison (`auth.authenticated`) tests: a `bool` setting.
#[diagnostic::on_unimplemented(
    message = "a requirement or filter without a comparison tests a `bool` setting, not `{Self}`",
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

/// A setting as generated code reads it: as JSON, for `get(plugin, setting)`, and compared with a
/// filter's value. One bounded entry point, so a setting type that is not `Serialize` is one error.
pub fn setting<T: serde::Serialize>(value: &T) -> &dyn SettingRead {
    value
}

/// What generated code does with a setting; see [`setting`].
pub trait SettingRead {
    /// The setting as JSON. Settings types are plain data; one that cannot be represented in
    /// JSON (a map with non-string keys) reads as `null`.
    fn to_json(&self) -> serde_json::Value;
    /// Whether it holds a filter's value: scalars are compared as they serialize, without
    /// building their JSON.
    fn matches(&self, wanted: &serde_json::Value) -> bool;
}

impl<T: serde::Serialize> SettingRead for T {
    fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    fn matches(&self, wanted: &serde_json::Value) -> bool {
        crate::json_match::serialized_contains(self, wanted)
    }
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

/// The JSON Schema of an object format: `(key, schema, optional, custom validator)` per field;
/// with `deny_unknown_keys`, no other key is allowed. A field checked by a custom validator says
/// so in its `description` (and in `x-validator`, for tools), the schema alone being unable to.
pub fn object_schema(
    fields: Vec<(&'static str, schemars::Schema, bool, Option<&'static str>)>,
    deny_unknown_keys: bool,
) -> schemars::Schema {
    let required: Vec<&str> = fields
        .iter()
        .filter(|(_, _, optional, _)| !optional)
        .map(|(key, _, _, _)| *key)
        .collect();
    let properties: serde_json::Map<String, serde_json::Value> = fields
        .into_iter()
        .map(|(key, schema, _, validator)| {
            let schema = match validator {
                Some(validator) => with_validator(schema, validator),
                None => schema,
            };
            (key.to_owned(), schema.to_value())
        })
        .collect();
    if deny_unknown_keys {
        schemars::json_schema!({ "type": "object", "properties": properties, "required": required, "additionalProperties": false })
    } else {
        schemars::json_schema!({ "type": "object", "properties": properties, "required": required })
    }
}

/// `schema`, noting that `validator` checks it too. A reference is wrapped, since draft-07
/// ignores the keywords beside `$ref`.
fn with_validator(schema: schemars::Schema, validator: &'static str) -> schemars::Schema {
    let description = format!("checked by the custom validator `{validator}`");
    let mut value = schema.to_value();
    if value.get("$ref").is_some() || !value.is_object() {
        value = serde_json::json!({ "allOf": [value] });
    }
    if let serde_json::Value::Object(object) = &mut value {
        let description = match object.get("description").and_then(|known| known.as_str()) {
            Some(known) => format!("{known} ({description})"),
            None => description,
        };
        object.insert("description".to_owned(), description.into());
        object.insert("x-validator".to_owned(), validator.into());
    }
    schemars::Schema::try_from(value).unwrap_or_default()
}

/// Records every key left in `object` once the known ones were taken, for a format that denies
/// unknown keys; `None` when there was one.
pub fn unknown_keys(
    object: &serde_json::Map<String, serde_json::Value>,
    known: &[&str],
    at: &FieldPath<'_>,
    errors: &mut ValidationErrors,
) -> Option<()> {
    let expected = known
        .iter()
        .map(|key| format!("`{key}`"))
        .collect::<Vec<_>>()
        .join(", ");
    for key in object.keys() {
        errors.push(
            &at.key(key),
            format_args!("unknown key; expected one of {expected}"),
        );
    }
    object.is_empty().then_some(())
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

/// The requirement `[!]plugin.setting[.field...][ op value]` as clients know it: the plugin's
/// name and the setting's wire name, whatever path reached them in Rust.
pub fn setting_requirement<S: PluginSettings>(
    negated: bool,
    setting: &'static str,
    fields: &[&str],
    comparison: &str,
) -> String {
    let mut text = String::new();
    if negated {
        text.push('!');
    }
    text.push_str(S::PLUGIN);
    text.push('.');
    text.push_str(S::wire_name(setting));
    for field in fields {
        text.push('.');
        text.push_str(field);
    }
    text.push_str(comparison);
    text
}

/// A value a requirement compares a setting of type `S` with.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be compared with a `{S}` setting",
    label = "expected a value of the setting's type, `{S}`",
    note = "compare a setting with a value of its own type, e.g. `auth.authenticated == true` or `auth.role == \"admin\"`"
)]
pub trait SettingValue<S: ?Sized> {
    /// Whether `setting` equals this value.
    fn equals(&self, setting: &S) -> bool;
}

#[diagnostic::do_not_recommend]
impl<S: PartialEq<R> + ?Sized, R: ?Sized> SettingValue<S> for R {
    fn equals(&self, setting: &S) -> bool {
        setting == self
    }
}

/// A value a requirement orders a setting of type `S` against.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be compared with a `{S}` setting",
    label = "expected a value of the setting's type, `{S}`",
    note = "compare a setting with a value of its own type, e.g. `auth.login_count >= 3`"
)]
pub trait SettingBound<S: ?Sized> {
    /// How `setting` orders against this value.
    fn order(&self, setting: &S) -> Option<std::cmp::Ordering>;
}

#[diagnostic::do_not_recommend]
impl<S: PartialOrd<R> + ?Sized, R: ?Sized> SettingBound<S> for R {
    fn order(&self, setting: &S) -> Option<std::cmp::Ordering> {
        setting.partial_cmp(self)
    }
}

/// `setting == expected`, with the error at `expected` when the types do not compare.
pub fn setting_eq<R: SettingValue<S> + ?Sized, S: ?Sized>(expected: &R, setting: &S) -> bool {
    expected.equals(setting)
}

/// How `setting` orders against `expected`.
pub fn setting_cmp<R: SettingBound<S> + ?Sized, S: ?Sized>(
    expected: &R,
    setting: &S,
) -> Option<std::cmp::Ordering> {
    expected.order(setting)
}

/// A handler's response: anything `Serialize`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a handler's response",
    label = "not `Serialize`",
    note = "a handler returns `()`, a `Serialize` type, `Reply<Settings, T>` or `Result<T, E>` with `T` one of those and `E: Display`",
    note = "the shape is read from the written type: a type alias of `Result` or `Reply` hides it, so write `Result<..>` or `Reply<..>` out in the signature, or derive `Serialize` for a plain response"
)]
pub trait ResponseData {
    /// The reply's `data`.
    fn to_outcome(&self) -> Outcome;
}

#[diagnostic::do_not_recommend]
impl<T: serde::Serialize + ?Sized> ResponseData for T {
    fn to_outcome(&self) -> Outcome {
        Outcome::data(self)
    }
}

/// What a handler's response, or a declared push, needs for the API description: a JSON Schema.
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no JSON Schema, which the API description needs",
    label = "does not implement `schemars::JsonSchema`",
    note = "derive it beside `Serialize`: `#[derive(Serialize, schemars::JsonSchema)]`; serde's attributes (`rename_all`, `skip`) are read by both"
)]
pub trait ResponseSchema {
    /// The schema of the value as it is serialized.
    fn response_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema;
}

#[diagnostic::do_not_recommend]
impl<T: schemars::JsonSchema + ?Sized> ResponseSchema for T {
    fn response_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        generator.subschema_for::<T>()
    }
}

/// The schema of a reply's `data` of type `T`.
pub fn response_schema<T: ResponseSchema + ?Sized>(
    generator: &mut schemars::SchemaGenerator,
) -> schemars::Schema {
    T::response_schema(generator)
}

/// The schema of `{}`, the `data` of a handler that returns nothing.
pub fn empty_response_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({ "type": "object", "additionalProperties": false })
}

/// The schema of a `Reply<S, T>`'s `data`: `T`, or `{}` for a reply of settings only.
pub fn reply_response_schema<T: ResponseSchema + ?Sized>(
    generator: &mut schemars::SchemaGenerator,
) -> schemars::Schema {
    let response = T::response_schema(generator).to_value();
    let empty = empty_response_schema(generator).to_value();
    schemars::json_schema!({ "anyOf": [response, empty] })
}

/// The `data` of an ok reply.
pub fn response_data<T: ResponseData + ?Sized>(value: &T) -> Outcome {
    value.to_outcome()
}

/// A listener whose argument could not be made (the reason is logged where it was found).
pub fn listener_argument_missing() -> BoxFuture<Step> {
    Box::pin(async { Step::Failed("an argument of the listener is missing".to_owned()) })
}

/// Whether a listened setting kept its value.
pub fn unchanged<T: PartialEq>(old: &T, new: &T) -> bool {
    old == new
}

/// The change argument of a setting listener.
pub fn change_of<C: ChangeOf<T>, T: Clone>(
    value: &T,
    old: &T,
    plugin: &'static str,
    setting: &'static str,
) -> C {
    C::from_change(value.clone(), old.clone(), plugin, setting)
}

/// A `#[provide]` function's value, shared.
pub fn provided<T: std::any::Any + Send + Sync>(
    value: T,
) -> std::sync::Arc<dyn std::any::Any + Send + Sync> {
    std::sync::Arc::new(value)
}

/// A filter's value as JSON, wrapped in objects for the fields below the setting
/// (`auth.profile.city == "Oslo"` → `{"city": "Oslo"}` for setting `profile`).
pub fn filter_value<T: serde::Serialize + ?Sized>(fields: &[&str], value: &T) -> serde_json::Value {
    let value = serde_json::to_value(value).unwrap_or(serde_json::Value::Null);
    fields.iter().rev().fold(value, |inner, field| {
        let mut object = serde_json::Map::new();
        object.insert((*field).to_owned(), inner);
        serde_json::Value::Object(object)
    })
}
