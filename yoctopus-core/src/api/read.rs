//! The `api:api` `read` answer: the original's shape, `{"greeter:hello": {"read":
//! {"requestFormat": {"name": "string"}}}}`, with what the original notation cannot say beside
//! it: optional fields, custom validators, requirements, and the JSON Schemas.

use serde_json::{Map, Value};

use super::{schemas, Api};
use crate::plugin::MethodDef;

/// How deep the walk for optional fields goes into nested and recursive formats.
const MAX_DEPTH: usize = 16;

pub(super) fn read(api: &Api) -> Value {
    let mut answer = Map::new();
    for endpoint in &api.endpoints {
        let methods = endpoint
            .def
            .methods
            .iter()
            .map(|method| (method.method.to_owned(), Value::Object(describe(method))))
            .collect();
        answer.insert(endpoint.name.clone(), Value::Object(methods));
    }
    Value::Object(answer)
}

fn describe(method: &MethodDef) -> Map<String, Value> {
    let mut description = Map::new();
    if let Some(format) = method.format {
        description.insert("requestFormat".to_owned(), format());
    }
    let request = method.schema.map(schemas::self_contained);
    if let Some(request) = &request {
        let mut marks = Marks::default();
        marks.walk(request, request, "", 0);
        if !marks.optional.is_empty() {
            description.insert("optional".to_owned(), marks.optional.into());
        }
        if !marks.validators.is_empty() {
            description.insert("validators".to_owned(), Value::Object(marks.validators));
        }
    }
    if !method.requirements.is_empty() {
        let requirements: Vec<String> = method.requirements.iter().map(|text| text()).collect();
        description.insert("requirements".to_owned(), requirements.into());
    }
    if !method.description.is_empty() {
        description.insert("description".to_owned(), method.description.into());
    }
    description.insert(
        "requestSchema".to_owned(),
        request.unwrap_or(Value::Bool(true)),
    );
    description.insert(
        "responseSchema".to_owned(),
        schemas::self_contained(method.response),
    );
    description
}

/// The optional fields and custom validators of a request format, by path (`user.address.zip`,
/// `tags[]` for an array's items, `scores.*` for a map's values), read off its schema.
#[derive(Default)]
struct Marks {
    optional: Vec<String>,
    validators: Map<String, Value>,
}

impl Marks {
    fn walk(&mut self, root: &Value, schema: &Value, path: &str, depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        let Some(object) = schema.as_object() else {
            return;
        };
        if let Some(Value::String(reference)) = object.get("$ref") {
            if let Some(target) = reference
                .strip_prefix('#')
                .and_then(|pointer| root.pointer(pointer))
            {
                self.walk(root, target, path, depth + 1);
            }
        }
        for key in ["allOf", "anyOf", "oneOf"] {
            for part in object
                .get(key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                self.walk(root, part, path, depth + 1);
            }
        }
        if let Some(Value::Object(properties)) = object.get("properties") {
            let required: Vec<&str> = object
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            for (key, property) in properties {
                let at = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                if !required.contains(&key.as_str()) && !self.optional.contains(&at) {
                    self.optional.push(at.clone());
                }
                if let Some(validator) = property.get("x-validator") {
                    self.validators.insert(at.clone(), validator.clone());
                }
                self.walk(root, property, &at, depth + 1);
            }
        }
        if let Some(items) = object.get("items") {
            self.walk(root, items, &format!("{path}[]"), depth + 1);
        }
        if let Some(values @ Value::Object(_)) = object.get("additionalProperties") {
            self.walk(root, values, &format!("{path}.*"), depth + 1);
        }
    }
}
