//! Plugins as the runtime sees them: the static definition `#[plugin]` generates, and the
//! registration options (aliases) a server adds to it.
//!
//! Everything a plugin is made of is known at compile time, so [`PluginDef`] is a `static`: its
//! endpoint table, a generated `match` that routes `(endpoint, method)` to a handler, and the list
//! of what its handlers need from the server. Nothing is built per request or looked up by name in
//! a map that start-up fills.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::pin::Pin;

use schemars::{Schema, SchemaGenerator};
use serde_json::Value;

use crate::connection::SettingsDef;
use crate::extract::{Call, Need};
use crate::protocol::Outcome;

/// A boxed handler future.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// A generated handler: requirements, extraction, the user's function, and the reply.
pub type Handler = fn(Call) -> BoxFuture<Outcome>;

/// Reads an endpoint's request from the JSON text where `data` starts, by the format's fast way;
/// returns the request and how many bytes it took, or `None` when it does not fit.
pub type ReadData = fn(&str) -> Option<(Box<dyn Any + Send>, usize)>;

/// A plugin as `#[plugin]` defines it.
#[derive(Debug)]
pub struct PluginDef {
    /// The plugin's name: the part before `:` in an endpoint name.
    pub name: &'static str,
    /// The plugin's settings slot, if it declares settings.
    pub settings: Option<SettingsDef>,
    /// Every endpoint and method, for the API description.
    pub endpoints: &'static [EndpointDef],
    /// The generated router.
    pub route: fn(&str, &str) -> Route,
    /// What the plugin's handlers and requirements need from the server.
    pub needs: &'static [Need],
}

/// One endpoint: a name with its methods.
#[derive(Debug)]
pub struct EndpointDef {
    /// The endpoint's name within its plugin.
    pub name: &'static str,
    /// Its methods.
    pub methods: &'static [MethodDef],
}

/// One method of an endpoint.
pub struct MethodDef {
    /// The method name (`read`, `create`, ...).
    pub method: &'static str,
    /// The generated handler.
    pub handler: Handler,
    /// Its requirements as written, for the API description.
    pub requirements: &'static [&'static str],
    /// Its request format in the original notation; `None` accepts any `data`.
    pub format: Option<fn() -> Value>,
    /// Its request's JSON Schema; `None` accepts any `data`.
    pub schema: Option<fn(&mut SchemaGenerator) -> Schema>,
    /// Reads its request while the envelope is read, when `data` follows `meta`.
    pub read: Option<ReadData>,
}

impl fmt::Debug for MethodDef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MethodDef")
            .field("method", &self.method)
            .field("requirements", &self.requirements)
            .finish_non_exhaustive()
    }
}

/// Where `(endpoint, method)` leads within a plugin.
#[derive(Debug)]
pub enum Route {
    /// To this method.
    Found(&'static MethodDef),
    /// The plugin has no such endpoint.
    UnknownEndpoint,
    /// The endpoint exists but has no such method.
    UnknownMethod,
}

/// A plugin ready to be added to a server, with its registration options.
///
/// Made by the `plugin()` function that `#[plugin]` generates in the plugin's module.
#[derive(Debug, Clone)]
pub struct Plugin {
    def: &'static PluginDef,
    aliases: Vec<(String, String)>,
}

impl Plugin {
    /// Wraps a generated definition.
    pub fn new(def: &'static PluginDef) -> Self {
        Self {
            def,
            aliases: Vec::new(),
        }
    }

    /// Makes endpoint `endpoint` of this plugin reachable as `alias` too (the original's
    /// `endpointAliases`): `user::plugin().alias("user", "account")` serves `account` as well as
    /// `user:user`.
    pub fn alias(mut self, endpoint: impl Into<String>, alias: impl Into<String>) -> Self {
        self.aliases.push((endpoint.into(), alias.into()));
        self
    }

    /// The plugin's name.
    pub fn name(&self) -> &'static str {
        self.def.name
    }

    pub(crate) fn def(&self) -> &'static PluginDef {
        self.def
    }

    pub(crate) fn aliases(&self) -> &[(String, String)] {
        &self.aliases
    }
}
