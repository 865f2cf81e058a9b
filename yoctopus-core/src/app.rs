//! The application: what a server runs for its connections, apart from the network.
//!
//! It owns the router, the settings registry, the shared services and the listener tables, and
//! knows a connection's life from the application's side: admitted at the upgrade check, opened,
//! given frames, closed. The network side (`server/`) owns sockets, TLS, origins, limits and
//! shutdown, and calls in here; nothing here reaches back to it.

use std::any::{Any, TypeId};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use bytes::Bytes;
use tokio::sync::mpsc;

use crate::connection::{
    Connection, ConnectionId, ConnectionParts, NodeId, SettingsObserver, UpgradeRequest,
};
use crate::dispatch::{Dispatch, Router};
use crate::error::ConfigError;
use crate::extract::{Call, RequestData, UpgradeCall};
use crate::fault::ErrorHook;
use crate::lifecycle::Lifecycle;
use crate::listener::Refusal;
use crate::plugin::{BoxFuture, Handler, MethodDef, Plugin};
use crate::protocol::{Outcome, ReplyHead};
use crate::services::Services;
use crate::settings::{AnySettings, SettingsRegistry, SettingsStore};
use crate::transport::{Message, Outbound};

pub(crate) type BinaryHandler = Arc<dyn Fn(Connection, Bytes) -> BoxFuture<()> + Send + Sync>;
pub(crate) type MessageHandler = Arc<dyn Fn(Connection, Message) -> BoxFuture<()> + Send + Sync>;

/// What [`App::new`] is made of.
pub(crate) struct AppParts {
    pub(crate) plugins: Vec<Plugin>,
    pub(crate) state: Vec<(TypeId, Arc<dyn Any + Send + Sync>)>,
    pub(crate) on_error: Option<ErrorHook>,
    pub(crate) binary_handler: Option<BinaryHandler>,
    pub(crate) message_handler: Option<MessageHandler>,
    pub(crate) max_json_depth: usize,
    pub(crate) node: NodeId,
}

/// A connection admitted by the upgrade checks, with its first settings.
pub(crate) struct Admitted {
    upgrade: UpgradeRequest,
    store: SettingsStore,
}

impl Admitted {
    pub(crate) fn remote_addr(&self) -> std::net::SocketAddr {
        self.upgrade.remote_addr()
    }
}

/// Who handles binary messages.
enum BinaryMessages {
    /// Nobody: they are answered with a push of type `error`.
    Refused,
    /// A closure given to the builder.
    Closure(BinaryHandler),
    /// A plugin's `#[binary]` handler, requirements included.
    Plugin(Handler),
}

pub(crate) struct App {
    router: Router,
    registry: Arc<SettingsRegistry>,
    services: Arc<Services>,
    lifecycle: Arc<Lifecycle>,
    binary: BinaryMessages,
    message_handler: Option<MessageHandler>,
    max_json_depth: usize,
    /// Handed to each connection when listeners hear settings changes; empty otherwise.
    observer: Weak<dyn SettingsObserver>,
    node: NodeId,
    next_sequence: AtomicU64,
    /// Whether connections keep their upgrade request after opening (a plugin asks for it).
    keeps_upgrade_request: bool,
}

impl App {
    /// Checks the definition: plugin and alias names, and that every plugin's needs are met.
    pub(crate) fn new(parts: AppParts) -> Result<Arc<Self>, ConfigError> {
        let router = Router::new(&parts.plugins)?;
        let registry = Arc::new(SettingsRegistry::new(
            router.plugins().iter().filter_map(|plugin| plugin.settings),
        ));
        let mut state = parts.state;
        for plugin in &parts.plugins {
            for (type_id, type_name, value) in plugin.provided() {
                if state.iter().any(|(known, _)| *known == type_id) {
                    return Err(ConfigError::DuplicateState {
                        plugin: plugin.name().to_owned(),
                        type_name,
                    });
                }
                state.push((type_id, value));
            }
        }
        let services = Arc::new(Services::new(state.into_boxed_slice(), parts.on_error));
        router.check_needs(
            |type_id| registry.contains(type_id),
            |type_id| services.has_state(type_id),
        )?;
        let binary = binary_messages(&router, parts.binary_handler)?;
        let keeps_upgrade_request = router
            .plugins()
            .iter()
            .any(|plugin| plugin.keeps_upgrade_request);
        let lifecycle = Arc::new(Lifecycle::new(router.plugins(), &registry));
        let observes = lifecycle.observes_settings();
        Ok(Arc::new_cyclic(|app: &Weak<Self>| {
            let observer: Weak<dyn SettingsObserver> = if observes {
                app.clone()
            } else {
                Weak::<Self>::new()
            };
            Self {
                router,
                registry,
                services,
                lifecycle,
                binary,
                message_handler: parts.message_handler,
                max_json_depth: parts.max_json_depth,
                observer,
                node: parts.node,
                next_sequence: AtomicU64::new(1),
                keeps_upgrade_request,
            }
        }))
    }

    /// This server's node id, the first part of its connections' ids.
    pub(crate) fn node(&self) -> NodeId {
        self.node
    }

    /// A connection id never given before, here or on any other node.
    pub(crate) fn next_connection_id(&self) -> ConnectionId {
        ConnectionId::new(
            self.node,
            self.next_sequence.fetch_add(1, Ordering::Relaxed),
        )
    }

    pub(crate) fn router(&self) -> &Router {
        &self.router
    }

    pub(crate) fn services(&self) -> &Arc<Services> {
        &self.services
    }

    /// Whether binary messages have a handler.
    pub(crate) fn handles_binary(&self) -> bool {
        !matches!(self.binary, BinaryMessages::Refused)
    }

    /// The work of one binary message. A plugin's handler that fails a requirement or returns
    /// an error answers with a push of type `error`.
    pub(crate) fn binary(&self, connection: &Connection, bytes: Bytes) -> Option<BoxFuture<()>> {
        match &self.binary {
            BinaryMessages::Refused => None,
            BinaryMessages::Closure(handler) => Some(handler(connection.clone(), bytes)),
            BinaryMessages::Plugin(handler) => {
                let call = Call::new(
                    connection.clone(),
                    Arc::clone(&self.services),
                    RequestData::Binary(Box::new(bytes)),
                );
                let work = handler(call);
                let connection = connection.clone();
                Some(Box::pin(async move {
                    if let Outcome::Error(error) = work.await {
                        let message = match error {
                            crate::protocol::ErrorBody::Message(message) => {
                                serde_json::Value::from(message)
                            }
                            crate::protocol::ErrorBody::List(messages) => messages.into(),
                        };
                        let refusal = serde_json::json!({ "message": message });
                        if let Ok(push) = crate::protocol::Push::new("error", &refusal) {
                            let _ = connection.notify(push);
                        }
                    }
                }))
            }
        }
    }

    pub(crate) fn message_handler(&self) -> Option<&MessageHandler> {
        self.message_handler.as_ref()
    }

    /// Whether anything reads an upgrade request beyond its addresses: an upgrade check, a
    /// `connection_opened` listener or a plugin that keeps it. When nothing does, the server
    /// copies nothing of it.
    pub(crate) fn reads_upgrade_requests(&self) -> bool {
        self.keeps_upgrade_request
            || self.lifecycle.checks_upgrades()
            || self.lifecycle.opened_reads_upgrade()
    }

    /// Runs the upgrade checks; an admitted connection carries the settings they gave it.
    pub(crate) async fn admit(&self, upgrade: UpgradeRequest) -> Result<Admitted, Refusal> {
        let mut store = self.registry.new_store();
        if !self.lifecycle.checks_upgrades() {
            return Ok(Admitted { upgrade, store });
        }
        let call = UpgradeCall::new(upgrade, Arc::clone(&self.services));
        for initial in self.lifecycle.check_upgrade(&call, &self.services).await? {
            if let Some(index) = self.registry.index_of(initial.type_id) {
                store.replace(index, initial.settings);
            }
        }
        Ok(Admitted {
            upgrade: call.into_upgrade(),
            store,
        })
    }

    /// Makes the connection of an admitted client, enters it in the register and runs the
    /// `connection_opened` listeners.
    pub(crate) async fn open(
        &self,
        id: ConnectionId,
        admitted: Admitted,
        outbound: mpsc::Sender<Outbound>,
        max_in_flight: usize,
    ) -> Connection {
        let upgrade = admitted.upgrade;
        let connection = Connection::new(ConnectionParts {
            id,
            remote_addr: upgrade.remote_addr(),
            local_port: upgrade.local_addr().port(),
            secure: upgrade.is_secure(),
            upgrade: self
                .keeps_upgrade_request
                .then(|| Box::new(upgrade.clone())),
            store: admitted.store,
            registry: Arc::clone(&self.registry),
            observer: self.observer.clone(),
            outbound,
            max_in_flight,
        });
        self.services.register().insert(connection.clone());
        self.lifecycle
            .connection_opened(&connection, &self.services, upgrade)
            .await;
        connection
    }

    /// Runs the `connection_closed` listeners, then takes the connection out of the register (so
    /// a shutdown that waits for the register to empty waits for them too).
    pub(crate) async fn close(&self, connection: &Connection, code: u16) {
        self.lifecycle
            .connection_closed(connection, &self.services, code)
            .await;
        self.services.register().remove(connection.id());
    }

    /// Reads one text frame and decides what answers it.
    pub(crate) fn dispatch(&self, text: &str) -> Dispatch {
        self.router.dispatch(
            text,
            self.max_json_depth,
            !self.lifecycle.request_data_seen(),
        )
    }

    /// The work of one request: its handler, and around it the request listeners, if any.
    pub(crate) fn request(
        &self,
        connection: &Connection,
        method: &'static MethodDef,
        head: &ReplyHead,
        data: RequestData,
    ) -> BoxFuture<Outcome> {
        let call = Call::new(connection.clone(), Arc::clone(&self.services), data);
        if !self.lifecycle.wraps_requests() {
            let call = call.with_meta(method.reads_meta.then(|| head.meta()));
            return (method.handler)(call);
        }
        let meta = (method.reads_meta || self.lifecycle.meta_seen()).then(|| head.meta());
        let call = call.with_meta(meta.clone());
        Box::pin(Arc::clone(&self.lifecycle).around_request(call, method.handler, meta))
    }

    /// Runs the `response_sent` listeners, if any.
    pub(crate) fn response_sent(&self, connection: &Connection, head: &ReplyHead) {
        if self.lifecycle.hears_responses_sent() {
            self.lifecycle
                .response_sent(connection, &self.services, head.meta());
        }
    }
}

/// The one handler of binary messages: the builder's closure or a plugin's `#[binary]`.
fn binary_messages(
    router: &Router,
    closure: Option<BinaryHandler>,
) -> Result<BinaryMessages, ConfigError> {
    let mut handlers = router
        .plugins()
        .iter()
        .filter_map(|plugin| plugin.binary.map(|handler| (plugin.name, handler)));
    let first = handlers.next();
    if let Some((second, _)) = handlers.next() {
        return Err(ConfigError::TwoBinaryHandlers(format!(
            "plugins `{}` and `{second}`",
            first.map_or("", |(name, _)| name)
        )));
    }
    match (first, closure) {
        (Some((plugin, _)), Some(_)) => Err(ConfigError::TwoBinaryHandlers(format!(
            "plugin `{plugin}` and `ServerBuilder::binary_handler`"
        ))),
        (Some((_, handler)), None) => Ok(BinaryMessages::Plugin(handler)),
        (None, Some(closure)) => Ok(BinaryMessages::Closure(closure)),
        (None, None) => Ok(BinaryMessages::Refused),
    }
}

impl SettingsObserver for App {
    fn settings_changed(
        &self,
        connection: &Connection,
        index: usize,
        old: &Arc<dyn AnySettings>,
        new: &Arc<dyn AnySettings>,
    ) {
        self.lifecycle.settings_changed(
            connection,
            &self.services,
            self.registry.plugin_at(index),
            index,
            old,
            new,
        );
    }
}
