//! The server's network side: builder, accept loop, HTTP upgrade, the connection's loop,
//! liveness pings and graceful shutdown. It serves an [`App`](crate::app::App) and is the only
//! module that touches sockets.

mod builder;
mod env;
mod liveness;
mod network;
mod session;
mod static_files;
mod tls;
mod upgrade;

pub use builder::ServerBuilder;
pub(crate) use network::{AllowedOrigins, Network};
pub use static_files::StaticFiles;
pub use tls::TlsConfig;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::connection::CLOSE_HANDSHAKE_TIMEOUT;
use crate::error::ConfigError;
use crate::fault::ErrorEvent;
use crate::transport::close_code;

/// A running Yoctopus server.
///
/// Made by [`ServerBuilder::start`]; it serves until [`shutdown`](Self::shutdown) is called.
/// Dropping the handle does not stop the server.
pub struct Server {
    local_addr: SocketAddr,
    network: Arc<Network>,
    stop: watch::Sender<bool>,
    accepting: JoinHandle<()>,
    pinging: JoinHandle<()>,
}

impl Server {
    /// Starts describing a server.
    pub fn builder() -> ServerBuilder {
        ServerBuilder::new()
    }

    /// The address the server listens on (with the real port when port 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// This server's node id: the first part of its connections' ids.
    pub fn node_id(&self) -> crate::NodeId {
        self.network.app().node()
    }

    /// The connection register: notify or close a connection by id, multicast, count, list,
    /// export and select connections. A cheap handle to clone into background tasks.
    pub fn connections(&self) -> crate::Connections {
        self.network.app().services().connections().clone()
    }

    /// Subscribes to the log, as [`logs::subscribe`](crate::logs::subscribe) does: entries come
    /// from the [`logs::layer`](crate::logs::layer) the application added to its `tracing`
    /// subscriber.
    pub fn subscribe_to_logs(&self, capacity: usize) -> crate::logs::LogSubscription {
        crate::logs::subscribe(capacity)
    }

    /// How many WebSocket connections are open.
    pub fn connection_count(&self) -> usize {
        self.network.app().services().register().len()
    }

    /// The API of the server's plugins as they are now: what `api:api` `read` answers, and the
    /// JSON Schema and AsyncAPI documents.
    pub fn api(&self) -> crate::Api {
        self.network.app().api()
    }

    /// Adds a plugin while the server runs, checked as at start: a clash of plugin names,
    /// aliases or push types, or a need no registered plugin meets, is refused and changes
    /// nothing.
    ///
    /// Requests read from now on reach it; connections already open hold its settings at their
    /// defaults, hear its listeners from now on (its `connection_opened` listeners do not run for
    /// them), and keep their upgrade request only if they were opened after a plugin that asks
    /// for it. Clients subscribed to `api:api` get an `api-changed` push.
    pub fn add_plugin(&self, plugin: crate::Plugin) -> Result<(), ConfigError> {
        self.network.app().add_plugin(plugin)
    }

    /// Removes plugin `name` while the server runs, and gives it back; refused when another
    /// plugin reads its settings or the state it provides, or for the bundled `yoctopus` plugin.
    ///
    /// A request is routed when it is read: one already routed to the plugin runs to its answer,
    /// a later one is answered `unknown endpoint`. Its listeners stop hearing events (its
    /// `connection_closed` listeners do not run for connections that close later). Connections
    /// keep its settings (`get`, exports and filters still see them), so adding it back finds
    /// them. Clients subscribed to `api:api` get an `api-changed` push.
    pub fn remove_plugin(&self, name: &str) -> Result<crate::Plugin, ConfigError> {
        self.network.app().remove_plugin(name)
    }

    /// Replaces the allowed origins while the server runs (`["*"]` allows every origin).
    pub fn set_allowed_origins<I, S>(&self, origins: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.network
            .set_allowed_origins(AllowedOrigins::new(origins));
    }

    /// Serves until `signal` completes, then shuts down gracefully.
    ///
    /// ```no_run
    /// # async fn run(server: yoctopus_core::Server) {
    /// server.run_until(async { tokio::signal::ctrl_c().await.ok(); }).await;
    /// # }
    /// ```
    pub async fn run_until(self, signal: impl Future<Output = ()>) {
        signal.await;
        self.shutdown().await;
    }

    /// Stops the server gracefully.
    ///
    /// New connections are refused (503) and new requests answered `the server is shutting down`;
    /// requests already running finish, up to the shutdown timeout; then every connection receives
    /// a close frame with code 1001, after the replies already queued for it. The call returns when
    /// all connections have closed, or after a further grace period for the close handshakes (the
    /// shutdown timeout, at most 5 s), when the rest are dropped.
    pub async fn shutdown(self) {
        let timeout = self.network.config().shutdown_timeout;
        let deadline = Instant::now() + timeout;
        self.network.start_draining();
        let _ = self.stop.send(true);
        let _ = self.accepting.await;
        self.pinging.abort();
        if !self.network.in_flight().wait_idle(deadline).await {
            tracing::warn!("shutdown timeout reached with requests still running");
        }
        let register = self.network.app().services().register();
        for connection in register.snapshot() {
            connection.close_with(close_code::GOING_AWAY, "server shutting down");
        }
        let close_deadline = Instant::now() + timeout.min(CLOSE_HANDSHAKE_TIMEOUT);
        if !register.wait_empty(close_deadline).await {
            for connection in register.snapshot() {
                connection.terminate();
            }
            // Connections leave the register only after their closed listeners ran.
            register
                .wait_empty(Instant::now() + CLOSE_HANDSHAKE_TIMEOUT)
                .await;
        }
        if let Some(cluster) = self.network.app().services().cluster() {
            cluster.leave().await;
        }
        tracing::info!("server stopped");
    }
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}

async fn accept_loop(
    listener: TcpListener,
    network: Arc<Network>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, remote_addr)) => {
                    tokio::spawn(upgrade::serve_tcp(stream, remote_addr, Arc::clone(&network)));
                }
                Err(error) => {
                    // Usually out of file descriptors: wait a little instead of spinning.
                    tracing::warn!(%error, "accepting a connection failed");
                    network.app().services().report_error(&ErrorEvent::AcceptFailed { message: error.to_string() });
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            }
        }
    }
}
