//! The API as one JSON Schema (draft-07) document, for tools that read JSON Schema and not
//! AsyncAPI (validators, client generators).

use serde_json::{json, Map, Value};

use super::{schemas, Api};

pub(super) fn document(api: &Api, title: &str) -> Value {
    let mut generator = schemas::generator(schemas::COMPONENTS);
    let mut endpoints = Map::new();
    let mut aliases = Map::new();
    for endpoint in &api.endpoints {
        if endpoint.full_name != endpoint.name {
            aliases.insert(endpoint.name.clone(), endpoint.full_name.as_str().into());
        }
        let mut methods = Map::new();
        for method in endpoint.def.methods {
            let request = method.schema.map_or(Value::Bool(true), |make| {
                schemas::make(make, &mut generator)
            });
            let response = schemas::make(method.response, &mut generator);
            let mut entry = Map::new();
            if !method.description.is_empty() {
                entry.insert("description".to_owned(), method.description.into());
            }
            if !method.requirements.is_empty() {
                let requirements: Vec<String> =
                    method.requirements.iter().map(|text| text()).collect();
                entry.insert("requirements".to_owned(), requirements.into());
            }
            entry.insert("request".to_owned(), request);
            entry.insert("response".to_owned(), response);
            methods.insert(method.method.to_owned(), Value::Object(entry));
        }
        endpoints.insert(endpoint.name.clone(), Value::Object(methods));
    }
    let mut pushes = Map::new();
    for push in &api.pushes {
        let mut entry = Map::new();
        entry.insert("plugin".to_owned(), push.plugin.into());
        if !push.def.description.is_empty() {
            entry.insert("description".to_owned(), push.def.description.into());
        }
        entry.insert(
            "data".to_owned(),
            schemas::make(push.def.schema, &mut generator),
        );
        pushes.insert(push.def.kind.to_owned(), Value::Object(entry));
    }
    json!({
        "$schema": schemas::DRAFT_07,
        "title": title,
        "description": "The `data` of every request and response, by endpoint (the name clients use) and method, and of every push, by type. `aliases` maps each alias to the full name, which keeps working. The schemas they share are under `components.schemas`.",
        "endpoints": endpoints,
        "aliases": aliases,
        "pushes": pushes,
        "components": { "schemas": schemas::definitions(&mut generator) },
    })
}
