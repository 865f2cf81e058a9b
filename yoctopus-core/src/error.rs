//! The public error types, one per area.

use std::net::SocketAddr;

/// A server definition that cannot run; reported by [`ServerBuilder::start`](crate::ServerBuilder::start).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// Two plugins have the same name.
    #[error("plugin `{0}` is registered twice")]
    DuplicatePlugin(String),
    /// An alias names an endpoint its plugin does not have.
    #[error("alias `{alias}` names endpoint `{endpoint}`, which plugin `{plugin}` does not have")]
    AliasOfUnknownEndpoint {
        /// The plugin the alias was given to.
        plugin: String,
        /// The endpoint it names.
        endpoint: String,
        /// The alias.
        alias: String,
    },
    /// Two aliases, or an alias and a full endpoint name, are the same.
    #[error("alias `{0}` is used twice")]
    DuplicateAlias(String),
    /// A plugin reads the settings of a plugin that is not registered.
    #[error("plugin `{plugin}` reads settings of plugin `{needs}`, which is not registered")]
    MissingPlugin {
        /// The plugin that needs the other.
        plugin: String,
        /// The plugin it needs.
        needs: String,
    },
    /// A handler asks for shared state that was not given to the builder.
    #[error("plugin `{plugin}` asks for `State<{type_name}>`, which neither `ServerBuilder::state` nor a registered plugin provides")]
    MissingState {
        /// The plugin whose handler asks.
        plugin: String,
        /// The state's type.
        type_name: &'static str,
    },
    /// Two plugins, or a plugin and the builder, provide state of the same type.
    #[error("plugin `{plugin}` provides `{type_name}`, which is already provided")]
    DuplicateState {
        /// The plugin that provides it a second time.
        plugin: String,
        /// The value's type.
        type_name: &'static str,
    },
    /// Two plugins declare a push of the same type, which clients could not tell apart.
    #[error("plugins `{first}` and `{second}` both declare a push of type `{kind}`")]
    DuplicatePush {
        /// The push type.
        kind: String,
        /// The plugin that declared it first.
        first: String,
        /// The other.
        second: String,
    },
    /// A plugin to remove is not registered.
    #[error("plugin `{0}` is not registered")]
    UnknownPlugin(String),
    /// The bundled `yoctopus` plugin cannot be removed.
    #[error("plugin `{0}` is part of every server and cannot be removed")]
    BundledPlugin(String),
    /// Binary messages have more than one handler.
    #[error("binary messages have two handlers ({0}); a server has one")]
    TwoBinaryHandlers(String),
    /// A TLS key, certificate or CA file cannot be used.
    #[error("TLS file {path:?}: {problem}")]
    Tls {
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// An environment variable or option has a value the server cannot use.
    #[error("{name} = {value:?}: {problem}")]
    InvalidValue {
        /// The option or variable.
        name: &'static str,
        /// The value given.
        value: String,
        /// What is wrong with it.
        problem: String,
    },
}

/// A server that could not start or stopped on a fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// The server definition is inconsistent.
    #[error("invalid server configuration")]
    Config(#[from] ConfigError),
    /// The cluster could not be joined: its NATS server did not answer, or refused.
    #[error("cannot join the cluster at {url}: {message}")]
    Cluster {
        /// The NATS URL.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// The listening socket could not be bound.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// Why it failed.
        #[source]
        source: std::io::Error,
    },
}

/// Why settings could not be changed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum SettingsError {
    /// The settings belong to a plugin this server does not have.
    #[error("plugin `{plugin}` is not registered on this server")]
    PluginNotRegistered {
        /// The plugin's name.
        plugin: &'static str,
    },
}

/// Why a push was not queued.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PushError {
    /// The connection's outbound queue is full: the client is not reading.
    #[error("the connection's outbound queue is full")]
    QueueFull,
    /// The connection is closed.
    #[error("the connection is closed")]
    Closed,
    /// The push's data could not be serialized.
    #[error("the push data cannot be serialized")]
    Serialize(#[source] serde_json::Error),
}
