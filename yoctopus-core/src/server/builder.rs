//! Describing a server: address, limits, origins, plugins and shared state.

use std::any::{Any, TypeId};
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::network::Limits;
use super::{accept_loop, liveness, AllowedOrigins, Network, Server, StaticFiles, TlsConfig};
use crate::app::{App, AppParts, BinaryHandler, MessageHandler};
use crate::cluster::{Cluster, ClusterNode, Route};
use crate::connection::{Connection, NodeId};
use crate::error::{ConfigError, ServerError};
use crate::fault::{ErrorEvent, ErrorHook};
use crate::plugin::Plugin;
use crate::register::Register;
use crate::served_api::ApiChannels;
use crate::transport::Message;

/// Describes a server; [`start`](Self::start) runs it.
///
/// ```no_run
/// # async fn run() -> Result<(), yoctopus_core::ServerError> {
/// # #[yoctopus_core::plugin] mod greeter {}
/// use yoctopus_core::Server;
///
/// let server = Server::builder()
///     .port(3000)
///     .allowed_origins(["https://example.com"])
///     .plugin(greeter::plugin())
///     .start()
///     .await?;
/// println!("listening on {}", server.local_addr());
/// # Ok(()) }
/// ```
pub struct ServerBuilder {
    pub(super) host: IpAddr,
    pub(super) port: u16,
    pub(super) allowed_origins: Vec<String>,
    pub(super) limits: Limits,
    plugins: Vec<Plugin>,
    state: Vec<(TypeId, Arc<dyn Any + Send + Sync>)>,
    on_error: Option<ErrorHook>,
    binary_handler: Option<BinaryHandler>,
    message_handler: Option<MessageHandler>,
    pub(super) tls: Option<TlsConfig>,
    pub(super) node: Option<NodeId>,
    pub(super) cluster: Option<Cluster>,
    cluster_routes: Vec<Route>,
    static_files: Option<StaticFiles>,
}

/// Defaults, chosen to hold at 10,000 connections (see the README's table of options).
impl Default for ServerBuilder {
    fn default() -> Self {
        Self {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 3000,
            allowed_origins: vec!["*".to_owned()],
            limits: Limits {
                max_message_size: 1 << 20,
                max_json_depth: 64,
                max_connections: 100_000,
                max_in_flight: 64,
                header_read_timeout: Duration::from_secs(10),
                handshake_timeout: Duration::from_secs(15),
                outbound_queue: 256,
                ping_interval: Duration::from_secs(10),
                max_lost_pings: 3,
                shutdown_timeout: Duration::from_secs(10),
            },
            plugins: Vec::new(),
            state: Vec::new(),
            on_error: None,
            binary_handler: None,
            message_handler: None,
            tls: None,
            node: None,
            cluster: None,
            cluster_routes: Vec::new(),
            static_files: None,
        }
    }
}

impl ServerBuilder {
    /// A server on 127.0.0.1:3000 with the default limits and no plugins.
    pub fn new() -> Self {
        Self::default()
    }

    /// The address to listen on; default `127.0.0.1`.
    pub fn host(mut self, host: impl Into<IpAddr>) -> Self {
        self.host = host.into();
        self
    }

    /// The port to listen on; default 3000, and 0 picks a free one.
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Origins whose pages may connect; default `["*"]` (any). Clients that send no `Origin`
    /// header (anything but a browser) are always allowed.
    pub fn allowed_origins<I, S>(mut self, origins: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.allowed_origins = origins.into_iter().map(Into::into).collect();
        self
    }

    /// Time between liveness pings; default 10 s.
    pub fn ping_interval(mut self, interval: Duration) -> Self {
        self.limits.ping_interval = interval;
        self
    }

    /// Unanswered pings in a row after which a connection is dropped; default 3.
    pub fn max_lost_pings(mut self, pings: u32) -> Self {
        self.limits.max_lost_pings = pings;
        self
    }

    /// Largest message accepted, in bytes; a larger one closes the connection with 1009.
    /// Default 1 MiB.
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.limits.max_message_size = bytes;
        self
    }

    /// Deepest nesting of arrays and objects accepted in a message; deeper is an
    /// `invalid message` error reply. Default 64.
    pub fn max_json_depth(mut self, depth: usize) -> Self {
        self.limits.max_json_depth = depth;
        self
    }

    /// Most WebSocket connections open at once; further upgrades are refused with 503.
    /// Default 100,000.
    pub fn max_connections(mut self, connections: usize) -> Self {
        self.limits.max_connections = connections;
        self
    }

    /// Most requests of one connection running at once; beyond it the server stops reading that
    /// connection until one finishes. Default 64.
    pub fn max_in_flight(mut self, requests: usize) -> Self {
        self.limits.max_in_flight = requests.max(1);
        self
    }

    /// Most frames queued for one connection (replies and pushes). A push that finds the queue
    /// full closes the connection with 1008: the client is not reading. Default 256.
    pub fn outbound_queue(mut self, frames: usize) -> Self {
        self.limits.outbound_queue = frames.max(1);
        self
    }

    /// How long a client may take to send the upgrade request's headers. Default 10 s.
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.limits.header_read_timeout = timeout;
        self
    }

    /// How long the TLS handshake plus the HTTP upgrade may take. Default 15 s.
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.limits.handshake_timeout = timeout;
        self
    }

    /// Serves `wss://` with this key and certificate (and, with a CA, client certificates).
    pub fn tls(mut self, tls: TlsConfig) -> Self {
        self.tls = Some(tls);
        self
    }

    /// How long [`Server::shutdown`] waits for requests and close handshakes; default 10 s.
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.limits.shutdown_timeout = timeout;
        self
    }

    /// Answers plain HTTP requests (those that are not WebSocket upgrades) from `files`: a web
    /// page and its scripts served on the WebSocket's own port, at any path, `/` included, since
    /// upgrades are told apart by their headers. Without it, such requests are answered
    /// `426 Upgrade Required`; with it, `GET` and `HEAD` of a file's path get the file, another
    /// method there `405`, and any other path `404`. Given twice, the second replaces the first.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// use yoctopus_core::{Server, StaticFiles};
    ///
    /// let server = Server::builder()
    ///     .static_files(StaticFiles::from_dir("web")?)
    ///     .start()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn static_files(mut self, files: StaticFiles) -> Self {
        self.static_files = Some(files);
        self
    }

    /// This server's node id, the first part of every connection id it gives; default: random,
    /// drawn at start, so ids stay unique across restarts and servers.
    pub fn node_id(mut self, node: NodeId) -> Self {
        self.node = Some(node);
        self
    }

    /// Makes this server a node of `cluster`: pushes, multicasts and register queries reach the
    /// connections of every server of the cluster (see [`Cluster`]). Without one, the server
    /// is on its own.
    pub fn cluster(mut self, cluster: Cluster) -> Self {
        self.cluster = Some(cluster);
        self
    }

    /// Routes the cluster's multicasts and register queries by setting `setting` of plugin
    /// `plugin` (wire names, as in a settings filter: `cluster_route("chat", "room")`).
    ///
    /// A filter that pins the setting to a string, number or bool then goes only to the servers
    /// holding a connection with that value, instead of to every server: each server subscribes
    /// to the values its own connections hold and tells the others, so a room's message costs
    /// the servers without anyone in the room nothing. Worth it for settings with many values
    /// that filters pin (rooms, users, documents); each change of such a setting on a
    /// connection may cost one announcement to every server. Without a cluster it does nothing.
    pub fn cluster_route(mut self, plugin: &str, setting: &str) -> Self {
        self.cluster_routes.push(Route {
            plugin: plugin.to_owned(),
            setting: setting.to_owned(),
        });
        self
    }

    /// Adds a plugin (made by the `plugin()` function `#[plugin]` generates).
    pub fn plugin(mut self, plugin: Plugin) -> Self {
        self.plugins.push(plugin);
        self
    }

    /// Adds several plugins, in order, as [`plugin`](Self::plugin) does one.
    pub fn plugins(mut self, plugins: impl IntoIterator<Item = Plugin>) -> Self {
        for plugin in plugins {
            self = self.plugin(plugin);
        }
        self
    }

    /// Shares `state` with every handler that takes a [`State<T>`](crate::State) argument.
    /// Giving a second value of the same type replaces the first.
    pub fn state<T: Any + Send + Sync>(mut self, state: T) -> Self {
        self.state
            .retain(|(type_id, _)| *type_id != TypeId::of::<T>());
        self.state.push((TypeId::of::<T>(), Arc::new(state)));
        self
    }

    /// Calls `hook` on faults on the server's side, such as a handler that panicked.
    pub fn on_error(mut self, hook: impl Fn(&ErrorEvent) + Send + Sync + 'static) -> Self {
        self.on_error = Some(Box::new(hook));
        self
    }

    /// Receives binary messages, which otherwise are answered with a push of type `error`.
    ///
    /// The handler runs in a task of its own per message, like a request handler; it can check
    /// the connection's settings before acting (the original's `binaryHandlerRequirements`).
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), yoctopus_core::ServerError> {
    /// use yoctopus_core::{Bytes, Connection, Push, Server};
    ///
    /// Server::builder()
    ///     .binary_handler(|connection: Connection, bytes: Bytes| async move {
    ///         let size = serde_json::json!({ "size": bytes.len() });
    ///         let _ = connection.notify(Push::new("binary-processed", &size).expect("JSON"));
    ///     })
    ///     .start()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn binary_handler<F, Fut>(mut self, handler: F) -> Self
    where
        F: Fn(Connection, Bytes) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.binary_handler = Some(Arc::new(move |connection, bytes| {
            Box::pin(handler(connection, bytes))
        }));
        self
    }

    /// Takes every message, text and binary, away from the JSON protocol: the server becomes a
    /// plain WebSocket server on Yoctopus's connection layer (origins, limits, pings, close
    /// handshake, shutdown) and `handler` decides what a message means.
    ///
    /// Messages of one connection are handled one at a time, in order, so an echo stays in order.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), yoctopus_core::ServerError> {
    /// use yoctopus_core::{Connection, Message, Server};
    ///
    /// // An echo server.
    /// Server::builder()
    ///     .message_handler(|connection: Connection, message: Message| async move {
    ///         let _ = match message {
    ///             Message::Text(text) => connection.send_text(text).await,
    ///             Message::Binary(bytes) => connection.send_binary(bytes).await,
    ///         };
    ///     })
    ///     .start()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn message_handler<F, Fut>(mut self, handler: F) -> Self
    where
        F: Fn(Connection, Message) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.message_handler = Some(Arc::new(move |connection, message| {
            Box::pin(handler(connection, message))
        }));
        self
    }

    /// The API of the plugins added so far, the bundled [`yoctopus`](crate::yoctopus) plugin
    /// first, as a server would serve it; nothing starts. This is what the API documents are
    /// written from at build time.
    pub fn api(&self) -> Result<crate::Api, ConfigError> {
        let mut plugins = Vec::with_capacity(self.plugins.len() + 1);
        plugins.push(crate::yoctopus::plugin());
        plugins.extend(self.plugins.iter().cloned());
        let router = crate::dispatch::Router::new(&plugins)?;
        Ok(crate::Api::new(&router))
    }

    /// Checks the definition, binds the socket, joins the cluster if one is given, and starts
    /// serving; returns once listening.
    ///
    /// The bundled [`yoctopus`](crate::yoctopus) plugin is added first.
    pub async fn start(mut self) -> Result<Server, ServerError> {
        if let Some(files) = &self.static_files {
            files.check()?;
        }
        self.plugins.insert(0, crate::yoctopus::plugin());
        let node = self.node.unwrap_or_else(NodeId::random);
        let tls = self.tls.as_ref().map(TlsConfig::acceptor).transpose()?;
        let addr = SocketAddr::new(self.host, self.port);
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| ServerError::Bind { addr, source })?;
        let local_addr = listener
            .local_addr()
            .map_err(|source| ServerError::Bind { addr, source })?;
        let register = Arc::new(Register::default());
        let api = ApiChannels::new();
        let cluster = match &self.cluster {
            Some(cluster) => Some(
                ClusterNode::join(
                    cluster,
                    node,
                    self.cluster_routes.clone(),
                    Arc::clone(&register),
                    api.remote_changes(),
                )
                .await?,
            ),
            None => None,
        };
        let app = App::new(AppParts {
            plugins: self.plugins,
            state: self.state,
            on_error: self.on_error,
            binary_handler: self.binary_handler,
            message_handler: self.message_handler,
            max_json_depth: self.limits.max_json_depth,
            node,
            register,
            api,
            cluster: cluster.clone(),
        });
        let app = match (app, cluster) {
            (Ok(app), _) => app,
            (Err(error), Some(cluster)) => {
                cluster.leave().await;
                return Err(error.into());
            }
            (Err(error), None) => return Err(error.into()),
        };
        let network = Arc::new(Network::new(
            app,
            local_addr,
            self.limits,
            AllowedOrigins::new(self.allowed_origins),
            tls,
            self.static_files,
        ));
        let (stop, stopped) = watch::channel(false);
        let accepting = tokio::spawn(accept_loop(listener, Arc::clone(&network), stopped));
        let pinging = tokio::spawn(liveness::ping_forever(Arc::clone(&network)));
        tracing::info!(%local_addr, "yoctopus listening");
        Ok(Server {
            local_addr,
            network,
            stop,
            accepting,
            pinging,
        })
    }
}

impl std::fmt::Debug for ServerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerBuilder")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("allowed_origins", &self.allowed_origins)
            .field("limits", &self.limits)
            .field("plugins", &self.plugins)
            .finish_non_exhaustive()
    }
}
