//! The requests the benchmark sends and the replies it expects, written once so that the load
//! generator and both servers agree on them.
//!
//! Both kinds are answered with the same reply, `{"message":"Hello, <name>!"}`, so that comparing
//! them prices only what differs: reading and validating a flat one-field request against a
//! nested twenty-field one. The one exception is Yoctopus with the transforming listeners (see
//! [`Listeners`]), whose replies also carry [`TRANSFORMED`].

use std::io::Write as _;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// `greeter:hello` `read`: the Quick Start's greeter, `{"name": "string"}`.
pub const GREETER: Endpoint = Endpoint {
    endpoint: "greeter:hello",
    method: "read",
};

/// `bench:order` `create`: an order with twenty fields across nested objects and an array.
pub const NESTED: Endpoint = Endpoint {
    endpoint: "bench:order",
    method: "create",
};

/// An endpoint and method pair as it appears in a request's `meta`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoint {
    /// `"<plugin>:<endpoint>"`.
    pub endpoint: &'static str,
    /// The method.
    pub method: &'static str,
}

/// Which request a load generator sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RequestKind {
    /// [`GREETER`] with `{"name": ...}`.
    Greeter,
    /// [`NESTED`] with a twenty-field order.
    Nested,
}

impl RequestKind {
    /// The name used on command lines and in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Greeter => "greeter",
            Self::Nested => "nested",
        }
    }

    /// The endpoint this kind of request goes to.
    pub fn endpoint(self) -> Endpoint {
        match self {
            Self::Greeter => GREETER,
            Self::Nested => NESTED,
        }
    }

    /// Appends the request's JSON text, with `meta.id` the number `id` and the greeted name `name`.
    ///
    /// `name` must need no JSON escaping (see [`client_name`]).
    pub fn write(self, out: &mut Vec<u8>, id: u64, name: &str) {
        let Endpoint { endpoint, method } = self.endpoint();
        let written = match self {
            Self::Greeter => write!(
                out,
                r#"{{"meta":{{"id":{id},"endpoint":"{endpoint}","method":"{method}"}},"data":{{"name":"{name}"}}}}"#
            ),
            Self::Nested => write!(
                out,
                concat!(
                    r#"{{"meta":{{"id":{id},"endpoint":"{endpoint}","method":"{method}"}},"data":{{"#,
                    r#""id":"order-{id}","#,
                    r#""customer":{{"name":"{name}","email":"{name}@example.com","age":42,"vip":true,"#,
                    r#""address":{{"street":"1 Main Street","city":"Springfield","zip":"12345","country":"US"}}}},"#,
                    r#""status":"pending","#,
                    r#""items":[{{"sku":"A-1","quantity":2,"price":9.5}},{{"sku":"B-2","quantity":1,"price":20.0}}],"#,
                    r#""note":"leave it at the door","total":39.0,"currency":"EUR","gift":false}}}}"#,
                ),
                id = id,
                endpoint = endpoint,
                method = method,
                name = name,
            ),
        };
        written.expect("writing into a Vec cannot fail");
    }
}

impl FromStr for RequestKind {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "greeter" => Ok(Self::Greeter),
            "nested" => Ok(Self::Nested),
            other => Err(format!(
                "unknown request kind `{other}`; expected `greeter` or `nested`"
            )),
        }
    }
}

impl std::fmt::Display for RequestKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The lifecycle listeners `bench-yoctopus` registers around its endpoints, chosen with its
/// `--listeners` flag; the load generator takes the same flag to know which reply to expect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listeners {
    /// No listener: the server as the Quick Start writes it.
    None,
    /// A `request_received` and a `response_prepared` listener that do nothing and read nothing.
    Noop,
    /// A `request_received` listener that rewrites the greeted name (trimmed, which leaves the
    /// benchmark's names as they are) and a `response_prepared` listener that adds
    /// `"transformed": true` ([`TRANSFORMED`]) to the reply's data.
    Transform,
}

impl Listeners {
    /// The name used on command lines.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Noop => "noop",
            Self::Transform => "transform",
        }
    }

    /// Whether replies carry `"transformed": true` ([`TRANSFORMED`]); otherwise they must not
    /// carry the field at all.
    pub fn marks_replies(self) -> bool {
        self == Self::Transform
    }
}

impl FromStr for Listeners {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "none" => Ok(Self::None),
            "noop" => Ok(Self::Noop),
            "transform" => Ok(Self::Transform),
            other => Err(format!(
                "unknown listeners `{other}`; expected `none`, `noop` or `transform`"
            )),
        }
    }
}

impl std::fmt::Display for Listeners {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The field the transforming `response_prepared` listener adds to every reply's `data`, with the
/// value `true`.
pub const TRANSFORMED: &str = "transformed";

/// The name connection number `connection` sends: plain ASCII, so it needs no escaping.
pub fn client_name(connection: usize) -> String {
    format!("user{connection}")
}

/// The `message` every reply to a request carrying `name` must hold.
pub fn greeting(name: &str) -> String {
    format!("Hello, {name}!")
}

#[cfg(test)]
mod tests {
    use super::{client_name, Listeners, RequestKind};

    fn request(kind: RequestKind) -> serde_json::Value {
        let mut out = Vec::new();
        kind.write(&mut out, 7, &client_name(3));
        serde_json::from_slice(&out).expect("the request is JSON")
    }

    #[test]
    fn the_greeter_request_is_the_quick_start_request() {
        assert_eq!(
            request(RequestKind::Greeter),
            serde_json::json!({"meta": {"id": 7, "endpoint": "greeter:hello", "method": "read"}, "data": {"name": "user3"}})
        );
    }

    #[test]
    fn the_nested_request_has_twenty_fields() {
        fn count(value: &serde_json::Value) -> usize {
            match value {
                serde_json::Value::Object(map) => map.values().map(|v| 1 + count(v)).sum(),
                // Count the fields of one array element: they are the same format.
                serde_json::Value::Array(items) => items.first().map_or(0, count),
                _ => 0,
            }
        }
        let request = request(RequestKind::Nested);
        assert_eq!(request["meta"]["endpoint"], "bench:order");
        assert_eq!(count(&request["data"]), 20);
    }

    #[test]
    fn listeners_read_back_their_names() {
        for listeners in [Listeners::None, Listeners::Noop, Listeners::Transform] {
            assert_eq!(listeners.as_str().parse(), Ok(listeners));
        }
        assert!("all".parse::<Listeners>().is_err());
    }
}
