//! The API's JSON Schemas checked against real traffic.
//!
//! [`Check`] compiles, once per server, a validator for the `data` of every endpoint's request
//! and ok response and of every declared push, from the server's own JSON Schema document
//! ([`Api::json_schema`](yoctopus_core::Api::json_schema)), plus the envelopes of the wire
//! protocol. [`start_with`](super::start_with) registers each server's check under its address,
//! and every [`Client`](super::Client) connected to that address keeps a [`Traffic`] that checks
//! what it sends and receives:
//!
//! - a sent frame that reads as a request (a JSON object whose `meta` has string `endpoint` and
//!   `method`) is kept by `meta.id`, `endpoint` and `method`, which its response repeats;
//! - an ok response must have the ok envelope, its `data` must match the endpoint's `response`
//!   schema, and the request it answers must match the `request` schema: only requests the
//!   server accepted are checked, so tests may send malformed requests, unknown endpoints and
//!   data that fails a format on purpose (a server whose `request_received` listeners rewrite
//!   `data` before the format sees it opts out of this part with
//!   [`requests_rewritten_by_listeners`]);
//! - an error response must have the error envelope (`error` a string or an array of strings);
//! - a push must have the push envelope, and its `data` must match the schema of its type when a
//!   plugin declares that type.
//!
//! A mismatch panics, naming the endpoint (or push type), the schema's complaints and the frame.
//! Frames that are not JSON objects are left to the tests, and so are endpoints the document
//! does not list (a plugin added after the server started).

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock, Mutex};

use jsonschema::Validator;
use serde_json::{json, Map, Value};
use yoctopus_core::Server;

/// The checks of the servers the tests started, by address.
static CHECKS: LazyLock<Mutex<HashMap<SocketAddr, Arc<Check>>>> = LazyLock::new(Default::default);

/// Registers `server`'s check under its address, replacing that of an earlier server which had
/// the same address. [`start_with`](super::start_with) calls it; after `Server::add_plugin` or
/// `remove_plugin`, calling it again checks the new API for the clients that connect from then
/// on (until then, endpoints the document does not list are not checked).
pub fn register(server: &Server) {
    let check = Arc::new(Check::for_server(server));
    CHECKS
        .lock()
        .expect("the checks are readable")
        .insert(server.local_addr(), check);
}

/// Registers `check` under `addr`, in place of the check made from the document of the server
/// there: for tests of the checker itself, which give a server a document it does not keep.
pub fn register_as(addr: SocketAddr, check: Check) {
    CHECKS
        .lock()
        .expect("the checks are readable")
        .insert(addr, Arc::new(check));
}

/// Says that `server`'s `request_received` listeners rewrite a request's `data` before its
/// format is checked (a listener may fill in a field the client left out), so the `data` a
/// client sends need not match the request schema, which describes what the handler reads: its
/// clients' requests are then not checked. Their responses, errors and pushes still are.
pub fn requests_rewritten_by_listeners(server: &Server) {
    registered(server.local_addr())
        .expect("the server was started with `start_with`")
        .requests_rewritten
        .store(true, Ordering::Relaxed);
}

/// The check of the server registered at `addr`, if any.
pub fn registered(addr: SocketAddr) -> Option<Arc<Check>> {
    CHECKS
        .lock()
        .expect("the checks are readable")
        .get(&addr)
        .cloned()
}

/// The envelopes of the wire protocol (../shared/spec/PROTOCOL.md), compiled once.
struct Envelopes {
    ok: Validator,
    error: Validator,
    push: Validator,
}

static ENVELOPES: LazyLock<Envelopes> = LazyLock::new(|| Envelopes {
    ok: compile(&json!({
        "type": "object",
        "required": ["meta", "data"],
        "properties": {
            "meta": {
                "type": "object",
                "required": ["endpoint", "method", "status"],
                "properties": {
                    "id": {"type": ["string", "number"]},
                    "endpoint": {"type": "string"},
                    "method": {"type": "string"},
                    "status": {"const": "ok"}
                }
            }
        }
    })),
    error: compile(&json!({
        "type": "object",
        "required": ["meta", "error"],
        "properties": {
            "meta": {
                "type": "object",
                "required": ["status"],
                "properties": {
                    "status": {"const": "error"}
                }
            },
            "error": {
                "anyOf": [
                    {"type": "string"},
                    {"type": "array", "items": {"type": "string"}}
                ]
            }
        },
        "not": {"required": ["data"]}
    })),
    push: compile(&json!({
        "type": "object",
        "required": ["meta", "data"],
        "properties": {
            "meta": {
                "type": "object",
                "required": ["method", "type"],
                "properties": {
                    "method": {"const": "notify"},
                    "type": {"type": "string"}
                },
                "not": {"required": ["status"]}
            }
        }
    })),
});

fn compile(schema: &Value) -> Validator {
    jsonschema::draft7::options()
        .build(schema)
        .unwrap_or_else(|error| panic!("the schema {schema} compiles: {error}"))
}

/// What a schema found wrong with a frame or a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// What was checked, e.g. "the response `data` of `greeter:hello` `read`".
    pub what: String,
    /// Each complaint, with the path of the offending value (`/message: 5 is not of type
    /// "string"`).
    pub errors: Vec<String>,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} does not match its schema: {}",
            self.what,
            self.errors.join("; ")
        )
    }
}

fn validate(validator: &Validator, value: &Value, what: impl FnOnce() -> String) -> Checked {
    if validator.is_valid(value) {
        return Ok(());
    }
    let errors = validator
        .iter_errors(value)
        .map(|error| {
            let path = error.instance_path().to_string();
            let path = if path.is_empty() { "/" } else { &path };
            format!("{path}: {error}")
        })
        .collect();
    Err(Mismatch {
        what: what(),
        errors,
    })
}

/// The outcome of one check.
pub type Checked = Result<(), Mismatch>;

struct MethodCheck {
    request: Validator,
    response: Validator,
}

/// The validators of one server's API.
pub struct Check {
    /// By the name clients use (the alias where there is one), then by method.
    endpoints: HashMap<String, HashMap<String, MethodCheck>>,
    /// The name the document lists an endpoint under, by the full name of an aliased endpoint.
    aliased: HashMap<String, String>,
    /// By `meta.type`.
    pushes: HashMap<String, Validator>,
    /// Whether the server's listeners rewrite requests' `data` before the format sees it.
    requests_rewritten: AtomicBool,
}

impl Check {
    /// The check of `server`'s API as it is now.
    pub fn for_server(server: &Server) -> Self {
        Self::new(&server.api().json_schema("yoctopus-tests"))
    }

    /// The check of a JSON Schema document made by `Api::json_schema`: each schema in it is
    /// compiled with the document's `components` beside it, where its `#/components/schemas/...`
    /// references point.
    pub fn new(document: &Value) -> Self {
        let components = document.get("components").cloned().unwrap_or(Value::Null);
        let schema = |schema: &Value, place: &str| {
            let mut root = Map::new();
            root.insert("allOf".to_owned(), Value::Array(vec![schema.clone()]));
            root.insert("components".to_owned(), components.clone());
            jsonschema::draft7::options()
                .build(&Value::Object(root))
                .unwrap_or_else(|error| panic!("the schema of {place} compiles: {error}"))
        };
        let mut endpoints = HashMap::new();
        for (name, methods) in object(document, "endpoints") {
            let mut checks = HashMap::new();
            for (method, entry) in methods.as_object().into_iter().flatten() {
                let part = |key: &str| {
                    let place = format!("`{name}` `{method}` {key}");
                    schema(
                        entry
                            .get(key)
                            .unwrap_or_else(|| panic!("the document gives {place}")),
                        &place,
                    )
                };
                checks.insert(
                    method.clone(),
                    MethodCheck {
                        request: part("request"),
                        response: part("response"),
                    },
                );
            }
            endpoints.insert(name.clone(), checks);
        }
        let aliased = object(document, "aliases")
            .map(|(alias, full)| {
                let full = full.as_str().expect("an alias names its endpoint");
                (full.to_owned(), alias.clone())
            })
            .collect();
        let pushes = object(document, "pushes")
            .map(|(kind, entry)| {
                let place = format!("push `{kind}`");
                let data = entry
                    .get("data")
                    .unwrap_or_else(|| panic!("the document gives the data of {place}"));
                (kind.clone(), schema(data, &place))
            })
            .collect();
        Self {
            endpoints,
            aliased,
            pushes,
            requests_rewritten: AtomicBool::new(false),
        }
    }

    fn method(&self, endpoint: &str, method: &str) -> Option<&MethodCheck> {
        let methods = match self.endpoints.get(endpoint) {
            Some(methods) => methods,
            None => self.endpoints.get(self.aliased.get(endpoint)?)?,
        };
        methods.get(method)
    }

    /// Whether the document lists `method` of `endpoint` (by the name clients use or, for an
    /// aliased endpoint, its full name).
    pub fn knows(&self, endpoint: &str, method: &str) -> bool {
        self.method(endpoint, method).is_some()
    }

    /// Whether a plugin declares pushes of type `kind`.
    pub fn knows_push(&self, kind: &str) -> bool {
        self.pushes.contains_key(kind)
    }

    /// Checks a request's `data` against its endpoint's `request` schema; an endpoint or method
    /// the document does not list passes.
    pub fn request(&self, endpoint: &str, method: &str, data: &Value) -> Checked {
        match self.method(endpoint, method) {
            Some(check) => validate(&check.request, data, || {
                format!("the request `data` of `{endpoint}` `{method}`")
            }),
            None => Ok(()),
        }
    }

    /// Checks an ok response's `data` against its endpoint's `response` schema; an endpoint or
    /// method the document does not list passes.
    pub fn response(&self, endpoint: &str, method: &str, data: &Value) -> Checked {
        match self.method(endpoint, method) {
            Some(check) => validate(&check.response, data, || {
                format!("the response `data` of `{endpoint}` `{method}`")
            }),
            None => Ok(()),
        }
    }

    /// Checks a push's `data` against the schema of its type; an undeclared type passes.
    pub fn push(&self, kind: &str, data: &Value) -> Checked {
        match self.pushes.get(kind) {
            Some(validator) => validate(validator, data, || format!("the `data` of push `{kind}`")),
            None => Ok(()),
        }
    }

    /// Checks a frame the server sent, alone: its envelope and, for an ok response or a push,
    /// its `data`. A frame that is not a JSON object passes (it is left to the tests).
    pub fn received(&self, frame: &Value) -> Checked {
        match Received::of(frame) {
            Received::Ok {
                endpoint,
                method,
                data,
            } => {
                validate(&ENVELOPES.ok, frame, || "an ok response".to_owned())?;
                self.response(endpoint, method, data)
            }
            Received::Error => validate(&ENVELOPES.error, frame, || "an error response".to_owned()),
            Received::Push { kind, data } => {
                validate(&ENVELOPES.push, frame, || "a push".to_owned())?;
                match kind {
                    Some(kind) => self.push(kind, data),
                    None => Ok(()),
                }
            }
            Received::Unknown => Err(Mismatch {
                what: "a frame that is neither a response nor a push".to_owned(),
                errors: vec!["/meta: expected `status` \"ok\" or \"error\", or `type`".to_owned()],
            }),
            Received::NotAnObject => Ok(()),
        }
    }

    /// Checks an ok response and the request it answers: the response as
    /// [`received`](Self::received) does, the request's `data` against the `request` schema.
    pub fn exchange(&self, request: &Value, response: &Value) -> Checked {
        self.received(response)?;
        if let (Some(sent), Received::Ok { .. }) = (Sent::of(request), Received::of(response)) {
            self.request(&sent.endpoint, &sent.method, &sent.data)?;
        }
        Ok(())
    }
}

/// The members of `document[key]`, an object (none when it is absent).
fn object<'a>(document: &'a Value, key: &str) -> impl Iterator<Item = (&'a String, &'a Value)> {
    document
        .get(key)
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
}

/// What a frame from the server is, read from its `meta`.
enum Received<'a> {
    Ok {
        endpoint: &'a str,
        method: &'a str,
        data: &'a Value,
    },
    Error,
    Push {
        kind: Option<&'a str>,
        data: &'a Value,
    },
    Unknown,
    NotAnObject,
}

impl<'a> Received<'a> {
    fn of(frame: &'a Value) -> Self {
        let Some(object) = frame.as_object() else {
            return Self::NotAnObject;
        };
        let meta = object.get("meta").unwrap_or(&Value::Null);
        let data = object.get("data").unwrap_or(&Value::Null);
        match meta.get("status").and_then(Value::as_str) {
            Some("ok") => Self::Ok {
                endpoint: meta.get("endpoint").and_then(Value::as_str).unwrap_or(""),
                method: meta.get("method").and_then(Value::as_str).unwrap_or(""),
                data,
            },
            Some("error") => Self::Error,
            Some(_) => Self::Unknown,
            None if meta.get("type").is_some() => Self::Push {
                kind: meta.get("type").and_then(Value::as_str),
                data,
            },
            None => Self::Unknown,
        }
    }
}

/// A request as a client sent it.
#[derive(Debug, Clone)]
struct Sent {
    /// `meta.id`, `endpoint` and `method`, which the response repeats.
    key: String,
    endpoint: String,
    method: String,
    data: Value,
}

impl Sent {
    /// `frame` as a request: a JSON object whose `meta` has string `endpoint` and `method`.
    fn of(frame: &Value) -> Option<Self> {
        let meta = frame.get("meta")?;
        let endpoint = meta.get("endpoint")?.as_str()?;
        let method = meta.get("method")?.as_str()?;
        Some(Self {
            key: key(meta.get("id"), endpoint, method),
            endpoint: endpoint.to_owned(),
            method: method.to_owned(),
            data: frame.get("data").cloned().unwrap_or(Value::Null),
        })
    }
}

fn key(id: Option<&Value>, endpoint: &str, method: &str) -> String {
    json!([id, endpoint, method]).to_string()
}

/// One client's traffic with a checked server: the requests awaiting their answers.
#[derive(Default)]
pub struct Traffic {
    check: Option<Arc<Check>>,
    /// Requests sent and not yet answered, by `meta.id`, `endpoint` and `method`, oldest first.
    pending: HashMap<String, Vec<Sent>>,
}

impl Traffic {
    /// The traffic of a client of the server at `addr`: checked when `start_with` registered
    /// it, unchecked otherwise.
    pub fn to(addr: Option<SocketAddr>) -> Self {
        Self {
            check: addr.and_then(registered),
            pending: HashMap::new(),
        }
    }

    /// Whether this traffic is checked.
    pub fn is_checked(&self) -> bool {
        self.check.is_some()
    }

    /// Notes a text frame the client sent; requests to endpoints the document lists are kept
    /// until their answer.
    pub fn sent(&mut self, text: &str) {
        let Some(check) = &self.check else { return };
        if check.requests_rewritten.load(Ordering::Relaxed) {
            return;
        }
        let Ok(frame) = serde_json::from_str::<Value>(text) else {
            return;
        };
        if let Some(sent) = Sent::of(&frame) {
            if check.knows(&sent.endpoint, &sent.method) {
                self.pending.entry(sent.key.clone()).or_default().push(sent);
            }
        }
    }

    /// Checks a text frame the client received, panicking on a mismatch.
    pub fn received(&mut self, text: &str) {
        let Some(check) = self.check.clone() else {
            return;
        };
        let Ok(frame) = serde_json::from_str::<Value>(text) else {
            return;
        };
        if let Err(mismatch) = self.check_received(&check, &frame) {
            panic!(
                "schema check: {mismatch}\nframe: {text}{}",
                self.hint(&mismatch)
            );
        }
    }

    /// What to do about a request that the server accepted and its schema rejects.
    fn hint(&self, mismatch: &Mismatch) -> &'static str {
        if mismatch.what.starts_with("the request") {
            "\n(the server answered ok: if its request listeners rewrite `data` before the format \
             is checked, say so with `schema_check::requests_rewritten_by_listeners`)"
        } else {
            ""
        }
    }

    fn check_received(&mut self, check: &Check, frame: &Value) -> Checked {
        check.received(frame)?;
        let meta = &frame["meta"];
        let (Some(endpoint), Some(method)) = (meta["endpoint"].as_str(), meta["method"].as_str())
        else {
            return Ok(());
        };
        let ok = match meta["status"].as_str() {
            Some("ok") => true,
            Some("error") => false,
            _ => return Ok(()),
        };
        let key = key(meta.get("id"), endpoint, method);
        let Some(waiting) = self.pending.get_mut(&key) else {
            return Ok(());
        };
        // Requests that share an id, endpoint and method may be answered in any order: an ok
        // answer takes the oldest of them that matches the schema, an error answer the oldest
        // that does not (else the oldest).
        let matches = |sent: &Sent| check.request(endpoint, method, &sent.data).is_ok();
        let taken = if ok {
            waiting.iter().position(matches)
        } else {
            waiting.iter().position(|sent| !matches(sent))
        };
        let outcome = match (ok, taken) {
            (true, None) => {
                let data = &waiting[0].data;
                check
                    .request(endpoint, method, data)
                    .map_err(|mismatch| Mismatch {
                        what: format!("{} (sent as {data})", mismatch.what),
                        ..mismatch
                    })
            }
            _ => Ok(()),
        };
        waiting.remove(taken.unwrap_or(0));
        if waiting.is_empty() {
            self.pending.remove(&key);
        }
        outcome
    }
}
