//! The application: what a server runs for its connections, apart from the network.
//!
//! It owns the settings registry, the shared services and the plan (the plugins with their
//! router and listener tables), and knows a connection's life from the application's side:
//! admitted at the upgrade check, opened, given frames, closed. The network side (`server/`)
//! owns sockets, TLS, origins, limits and shutdown, and calls in here; nothing here reaches back
//! to it.
//!
//! Plugins can be added and removed while the server runs. A change builds a whole new plan,
//! checked like the first, and swaps it in; a frame is routed by the plan of the moment it is
//! read, so a request already routed to a plugin that is then removed runs to its answer, and
//! the next one is answered `unknown endpoint`.

use std::any::{Any, TypeId};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use arc_swap::ArcSwap;
use bytes::Bytes;
use tokio::sync::mpsc;

use crate::api::Api;
use crate::cluster::ClusterNode;
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
use crate::register::Register;
use crate::served_api::ApiChannels;
use crate::services::{Services, StateEntry};
use crate::settings::{AnySettings, SettingsRegistry, SettingsStore};
use crate::transport::{Message, Outbound, WriteGate};

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
    /// The register the server's connections enter (a cluster node answers from it too).
    pub(crate) register: Arc<Register>,
    pub(crate) api: ApiChannels,
    pub(crate) cluster: Option<Arc<ClusterNode>>,
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
#[derive(Clone)]
enum BinaryMessages {
    /// Nobody: they are answered with a push of type `error`.
    Refused,
    /// A closure given to the builder.
    Closure(BinaryHandler),
    /// A plugin's `#[binary]` handler, requirements included.
    Plugin(Handler),
}

pub(crate) struct App {
    plan: ArcSwap<Plan>,
    /// Held while plugins are added or removed, so that changes apply one at a time.
    changing: std::sync::Mutex<()>,
    registry: Arc<SettingsRegistry>,
    services: Arc<Services>,
    /// `ServerBuilder::binary_handler`'s closure, for every plan.
    binary_closure: Option<BinaryHandler>,
    message_handler: Option<MessageHandler>,
    max_json_depth: usize,
    /// Handed to each connection, which reports settings changes to it.
    observer: Weak<dyn SettingsObserver>,
    node: NodeId,
    next_sequence: AtomicU64,
}

/// The plugins of the moment, with what is built from them.
struct Plan {
    plugins: Vec<Plugin>,
    router: Router,
    lifecycle: Arc<Lifecycle>,
    binary: BinaryMessages,
    /// Whether connections keep their upgrade request after opening (a plugin asks for it).
    keeps_upgrade_request: bool,
}

impl Plan {
    /// Checks `plugins` as a whole (names, aliases, pushes, needs, binary handlers) and builds
    /// their tables. Their settings slots are added to the registry.
    fn build(
        plugins: Vec<Plugin>,
        registry: &SettingsRegistry,
        services: &Services,
        binary_closure: Option<&BinaryHandler>,
    ) -> Result<Self, ConfigError> {
        let router = Router::new(&plugins)?;
        for settings in router.plugins().iter().filter_map(|plugin| plugin.settings) {
            registry.add(settings);
        }
        router.check_needs(
            |type_id| {
                router.plugins().iter().any(|plugin| {
                    plugin
                        .settings
                        .is_some_and(|settings| settings.type_id() == type_id)
                })
            },
            |type_id| services.has_state(type_id),
        )?;
        let binary = binary_messages(&router, binary_closure.cloned())?;
        let keeps_upgrade_request = router
            .plugins()
            .iter()
            .any(|plugin| plugin.keeps_upgrade_request);
        let lifecycle = Arc::new(Lifecycle::new(router.plugins(), registry));
        Ok(Self {
            plugins,
            router,
            lifecycle,
            binary,
            keeps_upgrade_request,
        })
    }
}

/// The values `plugin` provides, as state entries.
fn provided_by(plugin: &Plugin) -> Vec<StateEntry> {
    plugin
        .provided()
        .into_iter()
        .map(|(type_id, type_name, value)| StateEntry {
            type_id,
            type_name,
            owner: Some(plugin.name()),
            value,
        })
        .collect()
}

impl App {
    /// Checks the definition: plugin and alias names, and that every plugin's needs are met.
    pub(crate) fn new(parts: AppParts) -> Result<Arc<Self>, ConfigError> {
        let builder_state = parts
            .state
            .into_iter()
            .map(|(type_id, value)| StateEntry {
                type_id,
                type_name: "",
                owner: None,
                value,
            })
            .collect();
        let services = Arc::new(Services::new(
            builder_state,
            parts.on_error,
            parts.register,
            parts.api,
            parts.cluster,
        ));
        for plugin in &parts.plugins {
            services
                .add_state(provided_by(plugin))
                .map_err(|type_name| ConfigError::DuplicateState {
                    plugin: plugin.name().to_owned(),
                    type_name,
                })?;
        }
        let registry = Arc::new(SettingsRegistry::new([]));
        let plan = Plan::build(
            parts.plugins,
            &registry,
            &services,
            parts.binary_handler.as_ref(),
        )?;
        services.publish_first_api(Api::new(&plan.router).read());
        Ok(Arc::new_cyclic(|app: &Weak<Self>| {
            let observer: Weak<dyn SettingsObserver> = app.clone();
            Self {
                plan: ArcSwap::from_pointee(plan),
                changing: std::sync::Mutex::new(()),
                registry,
                services,
                binary_closure: parts.binary_handler,
                message_handler: parts.message_handler,
                max_json_depth: parts.max_json_depth,
                observer,
                node: parts.node,
                next_sequence: AtomicU64::new(1),
            }
        }))
    }

    /// Adds `plugin` while the server runs, checked as at start (a clash of names, aliases or
    /// pushes, or a need no plugin meets, is refused and changes nothing). Connections opened
    /// before hold its settings at their defaults; requests read from now on reach it.
    pub(crate) fn add_plugin(&self, plugin: Plugin) -> Result<(), ConfigError> {
        let _changing = self
            .changing
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut plugins = self.plan.load().plugins.clone();
        if plugins.iter().any(|known| known.name() == plugin.name()) {
            return Err(ConfigError::DuplicatePlugin(plugin.name().to_owned()));
        }
        self.services
            .add_state(provided_by(&plugin))
            .map_err(|type_name| ConfigError::DuplicateState {
                plugin: plugin.name().to_owned(),
                type_name,
            })?;
        let name = plugin.name();
        plugins.push(plugin);
        match Plan::build(
            plugins,
            &self.registry,
            &self.services,
            self.binary_closure.as_ref(),
        ) {
            Ok(plan) => {
                self.install(plan);
                Ok(())
            }
            Err(error) => {
                self.services.take_state_of(name);
                Err(error)
            }
        }
    }

    /// Removes plugin `name` while the server runs; refused when another plugin needs it, or for
    /// the bundled `yoctopus` plugin. Requests already routed to it run to their answer; later
    /// ones are answered `unknown endpoint`. Connections keep its settings, so adding it back
    /// finds them.
    pub(crate) fn remove_plugin(&self, name: &str) -> Result<Plugin, ConfigError> {
        // The bundled plugin every server has (it sits in `builtin`, above this module).
        if name == "yoctopus" {
            return Err(ConfigError::BundledPlugin(name.to_owned()));
        }
        let _changing = self
            .changing
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut plugins = self.plan.load().plugins.clone();
        let Some(position) = plugins.iter().position(|plugin| plugin.name() == name) else {
            return Err(ConfigError::UnknownPlugin(name.to_owned()));
        };
        let removed = plugins.remove(position);
        let taken = self.services.take_state_of(removed.name());
        match Plan::build(
            plugins,
            &self.registry,
            &self.services,
            self.binary_closure.as_ref(),
        ) {
            Ok(plan) => {
                self.install(plan);
                Ok(removed)
            }
            Err(error) => {
                // The values were taken just now under the lock, so giving them back cannot clash.
                let _ = self.services.add_state(taken);
                Err(error)
            }
        }
    }

    /// Swaps `plan` in and tells the API's watchers.
    fn install(&self, plan: Plan) {
        let read = Api::new(&plan.router).read();
        self.plan.store(Arc::new(plan));
        self.services.publish_api(read);
    }

    /// The API of the plugins now registered.
    pub(crate) fn api(&self) -> Api {
        Api::new(&self.plan.load().router)
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

    pub(crate) fn services(&self) -> &Arc<Services> {
        &self.services
    }

    /// Whether binary messages have a handler.
    pub(crate) fn handles_binary(&self) -> bool {
        !matches!(self.plan.load().binary, BinaryMessages::Refused)
    }

    /// The work of one binary message. A plugin's handler that fails a requirement or returns
    /// an error answers with a push of type `error`.
    pub(crate) fn binary(&self, connection: &Connection, bytes: Bytes) -> Option<BoxFuture<()>> {
        let plan = self.plan.load();
        match &plan.binary {
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
        let plan = self.plan.load();
        plan.keeps_upgrade_request
            || plan.lifecycle.checks_upgrades()
            || plan.lifecycle.opened_reads_upgrade()
    }

    /// Runs the upgrade checks; an admitted connection carries the settings they gave it.
    pub(crate) async fn admit(&self, upgrade: UpgradeRequest) -> Result<Admitted, Refusal> {
        let mut store = self.registry.new_store();
        let lifecycle = Arc::clone(&self.plan.load().lifecycle);
        if !lifecycle.checks_upgrades() {
            return Ok(Admitted { upgrade, store });
        }
        let call = UpgradeCall::new(upgrade, Arc::clone(&self.services));
        for initial in lifecycle.check_upgrade(&call, &self.services).await? {
            if let Some(index) = self.registry.index_of(initial.type_id) {
                store.replace(index, initial.settings, &self.registry);
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
        gate: WriteGate,
        max_in_flight: usize,
    ) -> Connection {
        let upgrade = admitted.upgrade;
        let (keeps_upgrade_request, lifecycle) = {
            let plan = self.plan.load();
            (plan.keeps_upgrade_request, Arc::clone(&plan.lifecycle))
        };
        let connection = Connection::new(ConnectionParts {
            id,
            remote_addr: upgrade.remote_addr(),
            local_port: upgrade.local_addr().port(),
            secure: upgrade.is_secure(),
            upgrade: keeps_upgrade_request.then(|| Box::new(upgrade.clone())),
            store: admitted.store,
            registry: Arc::clone(&self.registry),
            observer: self.observer.clone(),
            outbound,
            gate,
            max_in_flight,
        });
        self.services.register().insert(connection.clone());
        if let Some(cluster) = self.services.cluster() {
            cluster.connection_changed(&connection, None);
        }
        lifecycle
            .connection_opened(&connection, &self.services, upgrade)
            .await;
        connection
    }

    /// Runs the `connection_closed` listeners, then takes the connection out of the register (so
    /// a shutdown that waits for the register to empty waits for them too).
    pub(crate) async fn close(&self, connection: &Connection, code: u16) {
        let lifecycle = Arc::clone(&self.plan.load().lifecycle);
        lifecycle
            .connection_closed(connection, &self.services, code)
            .await;
        self.services.register().remove(connection.id());
        if let Some(cluster) = self.services.cluster() {
            cluster.connection_closed(connection.id());
        }
    }

    /// Reads one text frame and decides what answers it.
    pub(crate) fn dispatch(&self, text: &str) -> Dispatch {
        let plan = self.plan.load();
        plan.router.dispatch(
            text,
            self.max_json_depth,
            !plan.lifecycle.request_data_seen(),
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
        let plan = self.plan.load();
        let work = if !plan.lifecycle.wraps_requests() {
            let call = call.with_meta(method.reads_meta.then(|| head.meta()));
            (method.handler)(call)
        } else {
            let meta = (method.reads_meta || plan.lifecycle.meta_seen()).then(|| head.meta());
            let call = call.with_meta(meta.clone());
            Box::pin(Arc::clone(&plan.lifecycle).around_request(call, method.handler, meta))
        };
        match self
            .services
            .cluster()
            .filter(|cluster| cluster.routes_anything())
        {
            // A request that moved its connection to another room is answered once every
            // server knows: the client may tell anyone, who may ask any server.
            Some(cluster) => {
                let cluster = Arc::clone(cluster);
                Box::pin(async move {
                    let outcome = work.await;
                    cluster.caught_up().await;
                    outcome
                })
            }
            None => work,
        }
    }

    /// Runs the `response_sent` listeners, if any.
    pub(crate) fn response_sent(&self, connection: &Connection, head: &ReplyHead) {
        let plan = self.plan.load();
        if plan.lifecycle.hears_responses_sent() {
            plan.lifecycle
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
        if let Some(cluster) = self.services.cluster() {
            cluster.connection_changed(connection, Some(self.registry.plugin_at(index)));
        }
        self.plan.load().lifecycle.settings_changed(
            connection,
            &self.services,
            self.registry.plugin_at(index),
            index,
            old,
            new,
        );
    }
}
