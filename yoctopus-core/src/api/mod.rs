//! The API of a server's plugins as data, and the documents made from it.
//!
//! Everything here is read from the static definitions `#[plugin]` generates: the endpoint
//! tables with each method's request format and response type, and the declared pushes. The
//! same [`Api`] answers `api:api` `read` on a running server and writes the JSON Schema and
//! AsyncAPI documents at build time, so the documents cannot say something the server does not
//! do.

mod asyncapi;
mod json_schema;
mod read;
mod schemas;

use serde_json::Value;

use crate::dispatch::Router;
use crate::plugin::{EndpointDef, PushDef};

pub use asyncapi::AsyncApiInfo;

/// The endpoints and pushes of a set of plugins, under the names clients use.
///
/// Made by [`ServerBuilder::api`](crate::ServerBuilder::api) (before a server starts) or
/// [`Server::api`](crate::Server::api) (its plugins now).
///
/// ```
/// # use yoctopus_core::prelude::*;
/// #[plugin]
/// mod greeter {
///     use yoctopus_core::prelude::*;
///
///     #[derive(RequestFormat)]
///     pub struct Hello {
///         pub name: String,
///     }
///
///     #[endpoint(name = "hello", method = "read")]
///     async fn hello(request: Hello) -> String {
///         format!("Hello, {}!", request.name)
///     }
/// }
///
/// let api = Server::builder().plugin(greeter::plugin()).api().unwrap();
/// assert_eq!(api.read()["greeter:hello"]["read"]["requestFormat"], serde_json::json!({"name": "string"}));
/// let document = api.asyncapi(&yoctopus_core::AsyncApiInfo::new("Greeter", "1.0.0"));
/// assert_eq!(document["asyncapi"], "3.0.0");
/// ```
#[derive(Debug, Clone)]
pub struct Api {
    endpoints: Vec<ApiEndpoint>,
    pushes: Vec<ApiPush>,
}

/// One endpoint as clients name it.
#[derive(Debug, Clone)]
struct ApiEndpoint {
    /// The name clients use: the alias where there is one, else `plugin:endpoint`.
    name: String,
    /// `plugin:endpoint`, which keeps working beside an alias.
    full_name: String,
    def: &'static EndpointDef,
}

/// One declared push.
#[derive(Debug, Clone)]
struct ApiPush {
    plugin: &'static str,
    def: &'static PushDef,
}

impl Api {
    pub(crate) fn new(router: &Router) -> Self {
        let mut endpoints = Vec::new();
        let mut pushes = Vec::new();
        for plugin in router.plugins() {
            for endpoint in plugin.endpoints {
                endpoints.push(ApiEndpoint {
                    name: router.public_name(plugin, endpoint.name),
                    full_name: format!("{}:{}", plugin.name, endpoint.name),
                    def: endpoint,
                });
            }
            pushes.extend(plugin.pushes.iter().map(|def| ApiPush {
                plugin: plugin.name,
                def,
            }));
        }
        Self { endpoints, pushes }
    }

    /// The `api:api` `read` answer: every endpoint and method, keyed by the name clients use,
    /// with its request format in the original's notation (`{"name": "string"}`), which of its
    /// fields are optional and which custom validators check it, its requirements, and the JSON
    /// Schemas of its request and response `data`, each self-contained.
    pub fn read(&self) -> Value {
        read::read(self)
    }

    /// The whole API as one JSON Schema (draft-07) document: `endpoints.<name>.<method>` holds
    /// `request` and `response`, `pushes.<type>` holds `data`, `aliases.<alias>` names the
    /// endpoint an alias stands for, and the shared definitions sit under `components.schemas`,
    /// where an AsyncAPI document keeps them too.
    pub fn json_schema(&self, title: &str) -> Value {
        json_schema::document(self, title)
    }

    /// The whole API as an AsyncAPI 3.0 document, from the server's side: each request is a
    /// `receive` operation whose `reply` is the response or an error response, correlated by
    /// `meta.id`; each declared push is a `send` operation.
    pub fn asyncapi(&self, info: &AsyncApiInfo) -> Value {
        asyncapi::document(self, info)
    }

    /// The names clients use for the endpoints, in registration order.
    pub fn endpoint_names(&self) -> impl Iterator<Item = &str> {
        self.endpoints.iter().map(|endpoint| endpoint.name.as_str())
    }
}
