//! Plugins as the runtime sees them: the static definition `#[plugin]` generates, and the
//! registration options (aliases, provided values) a server adds to it.
//!
//! Everything a plugin is made of is known at compile time, so [`PluginDef`] is a `static`: its
//! endpoint table, a generated `match` that routes `(endpoint, method)` to a handler, its
//! listeners, and the list of what its functions need from the server. Nothing is built per
//! request or looked up by name in a map that start-up fills.

use std::any::{Any, TypeId};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use schemars::{Schema, SchemaGenerator};
use serde_json::Value;

use crate::extract::{Call, Need, UpgradeCall};
use crate::listener::{InitialSettings, Refusal, Step};
use crate::protocol::{Outcome, ReadData};
use crate::settings::SettingsDef;

/// A boxed handler future.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// A generated handler: requirements, extraction, the user's function, and the reply.
pub type Handler = fn(Call) -> BoxFuture<Outcome>;

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
    /// What the plugin's handlers, requirements and listeners need from the server.
    pub needs: &'static [Need],
    /// Its handler of binary messages (`#[binary]`), requirements included.
    pub binary: Option<Handler>,
    /// Whether an endpoint or a listener past `connection_opened` takes the upgrade request, which
    /// connections then keep for their whole life.
    pub keeps_upgrade_request: bool,
    /// Its lifecycle listeners, in declaration order.
    pub listeners: &'static [ListenerDef],
    /// Its listeners of single settings.
    pub setting_listeners: &'static [SettingListenerDef],
    /// Its upgrade checks.
    pub upgrade_checks: &'static [UpgradeCheckDef],
    /// The values it provides to every handler and listener (`#[provide]`).
    pub provides: &'static [ProvideDef],
    /// The pushes it declares (`#[push]`), for the API description.
    pub pushes: &'static [PushDef],
}

/// A JSON Schema made by generated code, in the generator's settings (draft-07 for the API
/// documents, with shared definitions under the generator's path).
pub type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

/// A push a plugin declares with `#[push("type")]`.
#[derive(Debug, Clone, Copy)]
pub struct PushDef {
    /// Its `meta.type`.
    pub kind: &'static str,
    /// The declaring type's doc comment.
    pub description: &'static str,
    /// The JSON Schema of its `data`.
    pub schema: SchemaFn,
}

/// The lifecycle events a listener can hear.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenerEvent {
    /// A connection opened (after the upgrade, before its first request is read).
    ConnectionOpened,
    /// A connection closed, however it ended; heard once per connection.
    ConnectionClosed,
    /// A request arrived, before its format is checked.
    RequestReceived,
    /// A reply is ready, before it is sent.
    ResponsePrepared,
    /// A reply was handed to the connection's writer.
    ResponseSent,
    /// A setting of any plugin changed on the connection.
    ConnectionChanged,
}

/// A generated listener: extraction, the user's function, and the step its return value means.
pub(crate) type ListenerFn = fn(&mut Call) -> BoxFuture<Step>;

/// One lifecycle listener.
#[derive(Debug, Clone, Copy)]
pub struct ListenerDef {
    /// What it listens to.
    pub event: ListenerEvent,
    /// `plugin::function`, for logs and the error hook.
    pub name: &'static str,
    /// The generated listener.
    pub run: ListenerFn,
    /// Whether it reads `data` (takes [`Data`](crate::Data)).
    pub reads_data: bool,
    /// Whether it can replace `data` (returns [`Data`](crate::Data)).
    pub transforms: bool,
    /// Whether it reads the request's `meta`.
    pub reads_meta: bool,
    /// Whether it takes the upgrade request.
    pub reads_upgrade: bool,
}

/// A generated setting listener: given the old and new settings of the plugin it listens to,
/// it compares the one setting and returns the listener's work only when that changed.
pub(crate) type SettingListenerFn = fn(&mut Call, &dyn Any, &dyn Any) -> Option<BoxFuture<Step>>;

/// A listener of one setting.
#[derive(Debug, Clone, Copy)]
pub struct SettingListenerDef {
    /// The settings slot it watches.
    pub settings: SettingsDef,
    /// `plugin::function`.
    pub name: &'static str,
    /// The generated listener.
    pub run: SettingListenerFn,
}

/// What an upgrade check decides.
pub type Verdict = Result<Option<InitialSettings>, Refusal>;

/// A generated upgrade check.
#[derive(Debug, Clone, Copy)]
pub struct UpgradeCheckDef {
    /// `plugin::function`.
    pub name: &'static str,
    /// The generated check.
    pub run: fn(&UpgradeCall) -> BoxFuture<Verdict>,
}

/// A value a plugin provides.
#[derive(Debug, Clone, Copy)]
pub struct ProvideDef {
    /// The value's type.
    pub type_id: fn() -> TypeId,
    /// Its name, for errors.
    pub type_name: fn() -> &'static str,
    /// Makes the value, once, when the server starts.
    pub make: fn() -> Arc<dyn Any + Send + Sync>,
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
    /// The handler's doc comment.
    pub description: &'static str,
    /// The generated handler.
    pub handler: Handler,
    /// The JSON Schema of the reply's `data` when the handler succeeds, from its return type.
    pub response: SchemaFn,
    /// Its requirements as clients know them (`auth.authenticated`), for the API description.
    pub requirements: &'static [fn() -> String],
    /// Its request format in the original notation; `None` accepts any `data`.
    pub format: Option<fn() -> Value>,
    /// Its request's JSON Schema; `None` accepts any `data`.
    pub schema: Option<SchemaFn>,
    /// Reads its request while the envelope is read, when `data` follows `meta`.
    pub read: Option<ReadData>,
    /// Whether the handler asks for the request's `meta`.
    pub reads_meta: bool,
}

impl fmt::Debug for MethodDef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MethodDef")
            .field("method", &self.method)
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
#[derive(Clone)]
pub struct Plugin {
    def: &'static PluginDef,
    aliases: Vec<(String, String)>,
    provided: Vec<(TypeId, &'static str, Arc<dyn Any + Send + Sync>)>,
}

impl Plugin {
    /// Wraps a generated definition.
    pub fn new(def: &'static PluginDef) -> Self {
        Self {
            def,
            aliases: Vec::new(),
            provided: Vec::new(),
        }
    }

    /// Provides `value` to every handler and listener of every plugin on the server, which
    /// receive it as [`State<T>`](crate::State): the original's `passToListeners`, for values made
    /// at run time (a database pool, a client). Values known when the plugin is written can be
    /// provided in the plugin itself with `#[provide]`.
    pub fn provide<T: Any + Send + Sync>(mut self, value: T) -> Self {
        self.provided
            .retain(|(type_id, _, _)| *type_id != TypeId::of::<T>());
        self.provided.push((
            TypeId::of::<T>(),
            std::any::type_name::<T>(),
            Arc::new(value),
        ));
        self
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

    /// Every value this plugin provides: `#[provide]` functions' values, then `provide`'s.
    pub(crate) fn provided(&self) -> Vec<(TypeId, &'static str, Arc<dyn Any + Send + Sync>)> {
        self.def
            .provides
            .iter()
            .map(|provide| ((provide.type_id)(), (provide.type_name)(), (provide.make)()))
            .chain(self.provided.iter().cloned())
            .collect()
    }
}

impl fmt::Debug for Plugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Plugin")
            .field("name", &self.def.name)
            .field("aliases", &self.aliases)
            .finish_non_exhaustive()
    }
}
