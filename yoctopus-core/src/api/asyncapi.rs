//! The API as an AsyncAPI 3.0 document, written from the server's side.
//!
//! A WebSocket connection is one channel (`/`). Each endpoint method is a `receive` operation:
//! its message is the request envelope, and its `reply` is the response envelope or an error
//! response, correlated by `meta.id`. Each declared push is a `send` operation. The `data`
//! schemas sit under `components.schemas`, shared with the JSON Schema document's layout.

use serde_json::{json, Map, Value};

use super::{schemas, Api};

/// The channel every message travels on: the WebSocket itself.
const CHANNEL: &str = "connection";

/// The document's `info`, and the server clients connect to.
#[derive(Debug, Clone)]
pub struct AsyncApiInfo {
    title: String,
    version: String,
    description: Option<String>,
    host: Option<String>,
}

impl AsyncApiInfo {
    /// A document titled `title`, describing version `version` of the API.
    pub fn new(title: impl Into<String>, version: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            version: version.into(),
            description: None,
            host: None,
        }
    }

    /// What the API is for, in `info.description`.
    #[must_use]
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// The `host:port` clients connect to with `ws://`, listed under `servers`.
    #[must_use]
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.host = Some(host.into());
        self
    }
}

pub(super) fn document(api: &Api, info: &AsyncApiInfo) -> Value {
    let mut generator = schemas::generator(schemas::COMPONENTS);
    let mut data_schemas = Map::new();
    let mut messages = Map::new();
    let mut operations = Map::new();
    messages.insert("error".to_owned(), error_message());
    for endpoint in &api.endpoints {
        for method in endpoint.def.methods {
            let operation = schemas::component_key(&[&endpoint.name, method.method]);
            let request = format!("{operation}.request");
            let response = format!("{operation}.response");
            let request_data = method.schema.map_or(Value::Bool(true), |make| {
                schemas::make(make, &mut generator)
            });
            data_schemas.insert(request.clone(), request_data);
            data_schemas.insert(
                response.clone(),
                schemas::make(method.response, &mut generator),
            );
            let mut names = vec![Value::from(endpoint.name.as_str())];
            if endpoint.full_name != endpoint.name {
                names.push(endpoint.full_name.as_str().into());
            }
            let title = format!("{} {}", endpoint.name, method.method);
            messages.insert(
                request.clone(),
                json!({
                    "name": request,
                    "title": format!("{title} request"),
                    "correlationId": { "$ref": "#/components/correlationIds/metaId" },
                    "payload": {
                        "type": "object",
                        "required": ["meta"],
                        "properties": {
                            "meta": {
                                "type": "object",
                                "required": ["endpoint", "method"],
                                "properties": {
                                    "id": { "$ref": "#/components/schemas/RequestId" },
                                    "endpoint": { "enum": names },
                                    "method": { "const": method.method },
                                },
                            },
                            "data": { "$ref": format!("#/components/schemas/{request}") },
                        },
                    },
                }),
            );
            messages.insert(
                response.clone(),
                json!({
                    "name": response,
                    "title": format!("{title} response"),
                    "correlationId": { "$ref": "#/components/correlationIds/metaId" },
                    "payload": {
                        "type": "object",
                        "required": ["meta", "data"],
                        "properties": {
                            "meta": {
                                "type": "object",
                                "required": ["endpoint", "method", "status"],
                                "properties": {
                                    "id": { "$ref": "#/components/schemas/RequestId" },
                                    "endpoint": { "enum": names },
                                    "method": { "const": method.method },
                                    "status": { "const": "ok" },
                                },
                            },
                            "data": { "$ref": format!("#/components/schemas/{response}") },
                        },
                    },
                }),
            );
            let mut entry = json!({
                "action": "receive",
                "channel": { "$ref": format!("#/channels/{CHANNEL}") },
                "summary": title,
                "messages": [{ "$ref": format!("#/channels/{CHANNEL}/messages/{request}") }],
                "reply": {
                    "channel": { "$ref": format!("#/channels/{CHANNEL}") },
                    "messages": [
                        { "$ref": format!("#/channels/{CHANNEL}/messages/{response}") },
                        { "$ref": format!("#/channels/{CHANNEL}/messages/error") },
                    ],
                },
            });
            let requirements: Vec<String> = method.requirements.iter().map(|text| text()).collect();
            let mut description = method.description.to_owned();
            if !requirements.is_empty() {
                if !description.is_empty() {
                    description.push_str("\n\n");
                }
                description.push_str("Requires: ");
                description.push_str(&requirements.join(", "));
                description.push('.');
            }
            if !description.is_empty() {
                entry["description"] = description.into();
            }
            operations.insert(operation, entry);
        }
    }
    for push in &api.pushes {
        let key = schemas::component_key(&["push", push.def.kind]);
        data_schemas.insert(key.clone(), schemas::make(push.def.schema, &mut generator));
        let mut message = json!({
            "name": key,
            "title": format!("{} push", push.def.kind),
            "payload": {
                "type": "object",
                "required": ["meta", "data"],
                "properties": {
                    "meta": {
                        "type": "object",
                        "required": ["method", "type"],
                        "properties": {
                            "method": { "const": "notify" },
                            "type": { "const": push.def.kind },
                        },
                    },
                    "data": { "$ref": format!("#/components/schemas/{key}") },
                },
            },
        });
        let mut operation = json!({
            "action": "send",
            "channel": { "$ref": format!("#/channels/{CHANNEL}") },
            "summary": format!("{} push, from plugin `{}`", push.def.kind, push.plugin),
            "messages": [{ "$ref": format!("#/channels/{CHANNEL}/messages/{key}") }],
        });
        if !push.def.description.is_empty() {
            message["description"] = push.def.description.into();
            operation["description"] = push.def.description.into();
        }
        messages.insert(key.clone(), message);
        operations.insert(key, operation);
    }
    let mut components_schemas = schemas::definitions(&mut generator);
    components_schemas.extend(data_schemas);
    for schema in components_schemas.values_mut() {
        *schema = schemas::as_object(std::mem::take(schema));
    }
    components_schemas.insert(
        "RequestId".to_owned(),
        json!({
            "description": "Chosen by the client, echoed back unchanged.",
            "type": ["string", "number"],
        }),
    );
    let channel_messages: Map<String, Value> = messages
        .keys()
        .map(|key| {
            (
                key.clone(),
                json!({ "$ref": format!("#/components/messages/{key}") }),
            )
        })
        .collect();
    let mut info_object = json!({ "title": info.title, "version": info.version });
    if let Some(description) = &info.description {
        info_object["description"] = description.as_str().into();
    }
    let mut document = json!({
        "asyncapi": "3.0.0",
        "info": info_object,
        "defaultContentType": "application/json",
        "channels": {
            CHANNEL: {
                "address": "/",
                "title": "The WebSocket connection",
                "description": "One JSON object per text frame, both ways.",
                "messages": channel_messages,
            },
        },
        "operations": operations,
        "components": {
            "messages": messages,
            "schemas": components_schemas,
            "correlationIds": {
                "metaId": {
                    "description": "A response carries its request's `meta.id`.",
                    "location": "$message.payload#/meta/id",
                },
            },
        },
    });
    if let Some(host) = &info.host {
        document["servers"] = json!({ "local": { "host": host, "protocol": "ws" } });
        document["channels"][CHANNEL]["servers"] = json!([{ "$ref": "#/servers/local" }]);
    }
    document
}

/// The error response every request may get instead of its response.
fn error_message() -> Value {
    json!({
        "name": "error",
        "title": "error response",
        "summary": "The request could not be answered: its `error` says why.",
        "correlationId": { "$ref": "#/components/correlationIds/metaId" },
        "payload": {
            "type": "object",
            "required": ["meta", "error"],
            "properties": {
                "meta": {
                    "type": "object",
                    "required": ["status"],
                    "properties": {
                        "id": { "$ref": "#/components/schemas/RequestId" },
                        "endpoint": { "type": "string" },
                        "method": { "type": "string" },
                        "status": { "const": "error" },
                    },
                },
                "error": {
                    "oneOf": [
                        { "type": "string" },
                        { "type": "array", "items": { "type": "string" } },
                    ],
                },
            },
        },
    })
}
