//! How the API's JSON Schemas are made: draft-07, which AsyncAPI 3 reads, with shared
//! definitions where the document keeps them.

use schemars::generate::SchemaSettings;
use schemars::transform::{
    RemoveRefSiblings, ReplacePrefixItems, ReplaceUnevaluatedProperties, Transform,
};
use schemars::{Schema, SchemaGenerator};
use serde_json::Value;

use crate::plugin::SchemaFn;

/// Where the documents keep shared definitions: `#/components/schemas/`, as AsyncAPI does.
pub(super) const COMPONENTS: &str = "/components/schemas";

/// The draft-07 meta-schema.
pub(super) const DRAFT_07: &str = "http://json-schema.org/draft-07/schema#";

/// A generator for one document, its shared definitions under `definitions_path`.
pub(super) fn generator(definitions_path: &str) -> SchemaGenerator {
    let mut settings = SchemaSettings::draft07();
    settings.definitions_path = definitions_path.to_owned().into();
    SchemaGenerator::new(settings)
}

/// Runs `make` and brings its schema to draft-07, as the generator does for definitions.
pub(super) fn make(make: SchemaFn, generator: &mut SchemaGenerator) -> Value {
    let mut schema = make(generator);
    to_draft_07(&mut schema);
    schema.to_value()
}

/// The shared definitions made so far, in draft-07.
pub(super) fn definitions(generator: &mut SchemaGenerator) -> serde_json::Map<String, Value> {
    generator.take_definitions(true)
}

fn to_draft_07(schema: &mut Schema) {
    ReplaceUnevaluatedProperties::default().transform(schema);
    RemoveRefSiblings::default().transform(schema);
    ReplacePrefixItems::default().transform(schema);
}

/// A schema that stands alone: `make`'s schema with the definitions it refers to inside it,
/// under `definitions`.
pub(super) fn self_contained(make_schema: SchemaFn) -> Value {
    let mut generator = generator("/definitions");
    let mut schema = make(make_schema, &mut generator);
    let definitions = definitions(&mut generator);
    if !definitions.is_empty() {
        match &mut schema {
            Value::Object(object) => {
                object.insert("definitions".to_owned(), Value::Object(definitions));
            }
            other => {
                *other =
                    serde_json::json!({ "allOf": [other.clone()], "definitions": definitions });
            }
        }
    }
    schema
}

/// A key for a component: AsyncAPI allows only `[A-Za-z0-9.\-_]`, so `chat:room` becomes
/// `chat.room`.
pub(super) fn component_key(parts: &[&str]) -> String {
    parts
        .join(".")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '.'
            }
        })
        .collect()
}

/// `schema` as a schema object: AsyncAPI 3 takes only objects under `components.schemas`, so the
/// draft-07 schemas `true` and `false` become `{}` and `{"not": {}}`.
pub(super) fn as_object(schema: Value) -> Value {
    match schema {
        Value::Bool(true) => serde_json::json!({}),
        Value::Bool(false) => serde_json::json!({ "not": {} }),
        other => other,
    }
}
