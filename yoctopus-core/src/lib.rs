//! Yoctopus is a plugin-based WebSocket server framework for real-time JSON APIs. A plugin is a
//! Rust module: `#[plugin]` turns its `#[endpoint]` functions, its request types and its
//! connection-scoped `#[settings]` into validators, typed settings slots, a dispatch table and an
//! API description, all at compile time, and a mistake in a plugin is a compile error. Clients
//! speak the original Node.js Yoctopus's JSON protocol, unchanged.
//!
//! # Quick start
//!
//! ```no_run
//! use yoctopus_core::prelude::*;
//!
//! #[plugin]
//! mod greeter {
//!     use yoctopus_core::prelude::*;
//!
//!     #[derive(RequestFormat)]
//!     pub struct Hello {
//!         pub name: String,
//!     }
//!
//!     #[endpoint(name = "hello", method = "read")]
//!     async fn hello(request: Hello) -> serde_json::Value {
//!         serde_json::json!({ "message": format!("Hello, {}!", request.name) })
//!     }
//! }
//!
//! #[yoctopus_core::main]
//! async fn main() -> Result<(), yoctopus_core::ServerError> {
//!     let server = Server::builder().port(3000).plugin(greeter::plugin()).start().await?;
//!     server.run_until(async { tokio::signal::ctrl_c().await.ok(); }).await;
//!     Ok(())
//! }
//! ```
//!
//! A client sends `{"meta":{"id":"1","endpoint":"greeter:hello","method":"read"},"data":{"name":"Alice"}}`
//! and receives `{"meta":{"id":"1","endpoint":"greeter:hello","method":"read","status":"ok"},"data":{"message":"Hello, Alice!"}}`.
//!
//! # Features
//!
//! | capability | where |
//! | --- | --- |
//! | plugins, endpoints, requirements, settings | [`plugin`], [`endpoint`], [`settings`] |
//! | request formats with per-field errors | [`RequestFormat`](derive@RequestFormat), [`Email`], [`Hostname`], [`IsoDate`] |
//! | handler arguments by type | [`Connection`], [`ConnectionSettings`], [`ConnectionId`], [`Notify`], [`State`], [`Meta`], [`UpgradeRequest`] |
//! | settings changed with the response, whole or field by field | [`Reply`] |
//! | settings names on the wire (`#[settings(rename_all = "camelCase")]`) | [`settings`] |
//! | lifecycle listeners: connection opened and closed, request received, response prepared and sent, connection changed | [`on`], [`Data`], [`Reject`], [`Closed`], [`ConnectionChanged`] |
//! | setting-change listeners (`#[on(auth.authenticated)]`) | [`on`], [`Changed`] |
//! | upgrade checks that refuse a connection with an HTTP status before it exists | [`on`], [`Refusal`] |
//! | values one plugin passes to every other (`passToListeners`) | [`provide`], [`Plugin::provide`], [`State`] |
//! | the bundled `yoctopus` plugin (`yoctopus:label`) | [`yoctopus`] |
//! | server options, origins, pings, limits, shutdown, options from the environment | [`ServerBuilder`], [`Server`] |
//! | `wss://` with optional client certificates | [`TlsConfig`] |
//! | binary messages; a plain WebSocket server on the same connection layer | [`ServerBuilder::binary_handler`], [`ServerBuilder::message_handler`], [`Message`] |
//! | the API description (`api:api`), as JSON Schema and AsyncAPI 3.0, at build time or while serving | [`Api`], [`ServerBuilder::api`], [`Server::api`], [`push`], [`ServedApi`] |
//! | plugins added and removed while the server runs | [`Server::add_plugin`], [`Server::remove_plugin`] |
//! | multicast and the `api` plugin | the `yoctopus-plugins` crate |

#![cfg_attr(docsrs, feature(doc_cfg))]

extern crate self as yoctopus_core;

// Each module uses only the modules below it; `layering.rs` lists them from the bottom up and
// its test checks every `crate::` path against that order.
mod api;
mod app;
#[cfg(test)]
mod arbitrary_input;
mod builtin;
mod cluster;
mod connection;
mod connections;
mod delivery;
mod dispatch;
mod error;
mod extract;
mod fault;
mod filter;
mod json_match;
#[cfg(test)]
mod layering;
mod lifecycle;
mod listener;
pub mod logs;
mod plugin;
mod protocol;
mod register;
mod reply;
pub mod runtime;
mod served_api;
mod server;
mod services;
mod settings;
mod transport;
mod validate;

#[doc(hidden)]
pub mod __private;

pub use api::{Api, AsyncApiInfo};
pub use builtin::yoctopus;
pub use bytes::Bytes;
pub use cluster::Cluster;
pub use connection::{Connection, ConnectionId, IdError, NodeId, UpgradeRequest};
pub use connections::{Connections, Gathered};
pub use delivery::{
    Command, Delivery, DeliveryError, DeliveryFuture, Found, Listing, LocalDelivery, Survey,
};
pub use error::{ConfigError, PushError, ServerError, SettingsError};
pub use extract::{
    scope, Call, Closed, ConnectionChanged, ConnectionSettings, FromCall, FromUpgrade, Need,
    Notify, State,
};
pub use fault::ErrorEvent;
pub use filter::{FilterError, SettingsFilter};
pub use listener::{
    Admission, ChangeOf, Changed, Data, InitialSettings, ListenerError, ListenerOutput, Refusal,
    Reject, Step,
};
pub use logs::Log;
pub use plugin::{ListenerEvent, Plugin, PluginDef};
pub use protocol::{Meta, Outcome, Push, PushMessage};
pub use reply::Reply;
pub use served_api::ServedApi;
pub use server::{Server, ServerBuilder, StaticFiles, TlsConfig};
pub use settings::PluginSettings;
pub use transport::Message;
pub use validate::{
    validate, Email, FieldPath, Hostname, IsoDate, RequestFormat, ValidationErrors,
    ValidatorOutcome,
};
pub use yoctopus_macros::{
    binary, endpoint, filter, main, on, plugin, provide, push, settings, RequestFormat,
};

/// Everything a plugin module usually needs: `use yoctopus_core::prelude::*;`.
pub mod prelude {
    pub use crate::{
        binary, endpoint, on, plugin, provide, push, settings, Changed, Closed, Connection,
        ConnectionChanged, ConnectionId, ConnectionSettings, Data, Email, Hostname, IsoDate, Log,
        Meta, Notify, Plugin, Push, Refusal, Reject, Reply, RequestFormat, Server, ServerBuilder,
        State, StaticFiles, UpgradeRequest,
    };
}
