//! Connections: ids, the handle plugins use to read and change a connection, and its upgrade
//! request.
//!
//! A [`Connection`] holds only its own parts: its settings store, its outbound queue, its
//! wake-up signals, its upgrade request, and the table of settings slots. It never reaches up to
//! the application or the server: a setting change is reported to an observer that the
//! application installs (held weakly, so a `Connection` kept in a subscriber list keeps nothing
//! else alive), and frames to the client go through a bounded queue that the connection's own
//! loop drains; only a push to an idle connection is written into its socket by the sender, when
//! the connection's write gate lets it (`transport::WriteGate`). Settings sit behind a short-held
//! mutex that is never held across an `.await`.

mod id;
mod signal;
mod upgrade_request;

pub use id::{ConnectionId, IdError, NodeId};
pub use upgrade_request::UpgradeRequest;

use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use bytes::Bytes;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::error::{PushError, SettingsError};
use crate::protocol::Push;
use crate::settings::{downcast, AnySettings, PluginSettings, SettingsRegistry, SettingsStore};
use crate::transport::{close_code, Outbound, WriteGate};
use signal::{Places, Signal};

/// The longest reason a close frame carries: 125 bytes of payload less the code.
const MAX_CLOSE_REASON: usize = 123;

/// How long to wait for the other side of a close handshake before dropping the socket.
pub(crate) const CLOSE_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// Learns of every settings change on a connection; the application's listeners implement it.
pub(crate) trait SettingsObserver: Send + Sync {
    /// Slot `index` of `connection` went from `old` to `new`; called outside any lock, after the
    /// change is visible.
    fn settings_changed(
        &self,
        connection: &Connection,
        index: usize,
        old: &Arc<dyn AnySettings>,
        new: &Arc<dyn AnySettings>,
    );
}

/// The parts a connection is made of, handed over by whoever accepts it.
pub(crate) struct ConnectionParts {
    pub(crate) id: ConnectionId,
    pub(crate) remote_addr: SocketAddr,
    pub(crate) local_port: u16,
    pub(crate) secure: bool,
    /// The whole upgrade request, kept only when a plugin asks for it after the connection
    /// opened (most do not, and headers cost memory on every idle connection).
    pub(crate) upgrade: Option<Box<UpgradeRequest>>,
    pub(crate) store: SettingsStore,
    pub(crate) registry: Arc<SettingsRegistry>,
    pub(crate) observer: Weak<dyn SettingsObserver>,
    pub(crate) outbound: mpsc::Sender<Outbound>,
    pub(crate) gate: WriteGate,
    pub(crate) max_in_flight: usize,
}

/// A handle to one client connection: its id, its settings, and a way to push to it.
///
/// Handlers receive it by naming it as an argument; async requirements receive `&Connection`.
///
/// ```
/// # use yoctopus_core::prelude::*;
/// # #[plugin] mod auth {
/// #     #[settings] #[derive(Default, Clone)] pub struct Settings { pub authenticated: bool }
/// # }
/// async fn is_signed_in(connection: &Connection) -> bool {
///     connection.settings::<auth::Settings>().authenticated
/// }
/// ```
#[derive(Clone)]
pub struct Connection {
    shared: Arc<ConnectionShared>,
}

pub(crate) struct ConnectionShared {
    id: ConnectionId,
    remote_addr: SocketAddr,
    local_port: u16,
    secure: bool,
    upgrade: Option<Box<UpgradeRequest>>,
    settings: Mutex<SettingsStore>,
    registry: Arc<SettingsRegistry>,
    observer: Weak<dyn SettingsObserver>,
    outbound: mpsc::Sender<Outbound>,
    gate: WriteGate,
    lost_pings: AtomicU32,
    /// Raised to drop the connection at once.
    terminate: Signal,
    /// Raised with a close code to close ahead of the outbound queue.
    urgent_close: Signal,
    in_flight: Places,
}

impl Connection {
    pub(crate) fn new(parts: ConnectionParts) -> Self {
        Self {
            shared: Arc::new(ConnectionShared {
                id: parts.id,
                remote_addr: parts.remote_addr,
                local_port: parts.local_port,
                secure: parts.secure,
                upgrade: parts.upgrade,
                settings: Mutex::new(parts.store),
                registry: parts.registry,
                observer: parts.observer,
                outbound: parts.outbound,
                gate: parts.gate,
                lost_pings: AtomicU32::new(0),
                terminate: Signal::default(),
                urgent_close: Signal::default(),
                in_flight: Places::new(parts.max_in_flight),
            }),
        }
    }

    /// This connection's id.
    pub fn id(&self) -> ConnectionId {
        self.shared.id
    }

    /// The client's address.
    pub fn remote_addr(&self) -> SocketAddr {
        self.shared.remote_addr
    }

    /// The server's port the client connected to.
    pub fn local_port(&self) -> u16 {
        self.shared.local_port
    }

    /// Whether the connection came over TLS (`wss://`).
    pub fn is_secure(&self) -> bool {
        self.shared.secure
    }

    /// The HTTP request that opened this connection: path, query string, headers.
    ///
    /// Kept for the connection's life when some plugin takes [`UpgradeRequest`] as an argument
    /// of an endpoint or of a listener other than `connection_opened` (which always receives
    /// it); `None` otherwise, so that idle connections do not pay for headers nobody reads.
    pub fn upgrade_request(&self) -> Option<&UpgradeRequest> {
        self.shared.upgrade.as_deref()
    }

    /// A snapshot of plugin settings `T` for this connection.
    ///
    /// The snapshot does not change when the settings are later replaced; read again to see that.
    pub fn settings<T: PluginSettings>(&self) -> Arc<T> {
        match self.shared.registry.index_of(std::any::TypeId::of::<T>()) {
            Some(index) => downcast(self.store().slot(index, &self.shared.registry)),
            // Unreachable through generated code: the server refuses to start when a plugin reads
            // settings of a plugin that is not registered. Reached only by hand-written calls.
            None => Arc::new(T::default()),
        }
    }

    /// One setting as JSON, by plugin and setting name as clients see them:
    /// `get("auth", "userId")` (the names follow `#[settings(rename_all = ...)]`).
    ///
    /// `None` when the plugin is not registered or declares no such setting.
    pub fn get(&self, plugin: &str, setting: &str) -> Option<Value> {
        let index = self.shared.registry.index_of_plugin(plugin)?;
        let slot = self.store().slot(index, &self.shared.registry);
        slot.field(setting)
    }

    /// Reads this connection's settings store under its lock, with the registry its slot
    /// indexes refer to: for reading several settings of many connections at the cost of one lock
    /// each. `read` must not call back into this connection.
    pub(crate) fn read_store<R>(
        &self,
        read: impl FnOnce(&SettingsStore, &SettingsRegistry) -> R,
    ) -> R {
        read(&self.store(), &self.shared.registry)
    }

    /// The settings table this connection's slot indexes refer to (one per server).
    pub(crate) fn registry(&self) -> &SettingsRegistry {
        &self.shared.registry
    }

    /// All settings of one plugin as a JSON object.
    pub fn settings_json(&self, plugin: &str) -> Option<Value> {
        let index = self.shared.registry.index_of_plugin(plugin)?;
        let slot = self.store().slot(index, &self.shared.registry);
        Some(slot.to_json())
    }

    /// Replaces plugin settings `T` for this connection.
    ///
    /// Setting-change listeners of the settings that differ run before this returns (one that has
    /// to wait finishes in a task of its own).
    pub fn set<T: PluginSettings>(&self, settings: T) -> Result<(), SettingsError> {
        let index = self.slot_index::<T>()?;
        let new: Arc<dyn AnySettings> = Arc::new(settings);
        let previous = self
            .store()
            .replace(index, Arc::clone(&new), &self.shared.registry);
        self.changed(index, &previous, &new);
        Ok(())
    }

    /// Changes plugin settings `T` in place: `connection.update(|auth: &mut auth::Settings| auth.authenticated = false)`.
    ///
    /// The change is applied under the store's lock, so concurrent updates do not lose each other.
    pub fn update<T: PluginSettings>(
        &self,
        change: impl FnOnce(&mut T),
    ) -> Result<(), SettingsError> {
        let index = self.slot_index::<T>()?;
        let mut store = self.store();
        let registry = &self.shared.registry;
        let mut next: T = T::clone(&downcast::<T>(store.slot(index, registry)));
        change(&mut next);
        let new: Arc<dyn AnySettings> = Arc::new(next);
        let previous = store.replace(index, Arc::clone(&new), registry);
        drop(store);
        self.changed(index, &previous, &new);
        Ok(())
    }

    /// Tells the observer, if the application still runs and listens.
    fn changed(&self, index: usize, old: &Arc<dyn AnySettings>, new: &Arc<dyn AnySettings>) {
        if let Some(observer) = self.shared.observer.upgrade() {
            observer.settings_changed(self, index, old, new);
        }
    }

    /// Every plugin's settings as one JSON object keyed by plugin name: the original's
    /// `exportStore`.
    pub fn export_settings(&self) -> Value {
        let registry = &self.shared.registry;
        let slots: Vec<Arc<dyn AnySettings>> = {
            let store = self.store();
            (0..registry.len())
                .map(|index| store.slot(index, registry))
                .collect()
        };
        Value::Object(
            slots
                .iter()
                .enumerate()
                .map(|(index, slot)| {
                    (
                        self.shared.registry.plugin_at(index).to_owned(),
                        slot.to_json(),
                    )
                })
                .collect(),
        )
    }

    /// Completes once the connection has closed (its loop has ended), however it closed: for a
    /// task that serves one connection, such as a subscription, to end with it.
    pub async fn closed(&self) {
        self.shared.outbound.closed().await;
    }

    /// Sends `push` to this connection without waiting.
    ///
    /// When the connection has nothing queued and nothing to write, the push is written into its
    /// socket right here (one non-blocking system call; plain TCP only), and its task is not woken;
    /// otherwise it is queued behind what is there. Either way it arrives after every frame queued
    /// or written before it.
    ///
    /// A full outbound queue means the client has stopped reading: the connection is then closed
    /// with 1008 (policy violation), ahead of what is queued, and dropped if even that cannot be
    /// written within the close handshake timeout.
    pub fn notify(&self, push: Push) -> Result<(), PushError> {
        self.send_push(push.frame())
    }

    /// Sends a push's frame: into the socket at once when the connection is idle, else queued.
    pub(crate) fn send_push(&self, frame: &Bytes) -> Result<(), PushError> {
        if self
            .shared
            .gate
            .try_write_text(frame, &self.shared.outbound)
        {
            return Ok(());
        }
        self.shared
            .outbound
            .try_send(Outbound::Text(frame.clone()))
            .map_err(|error| match error {
                mpsc::error::TrySendError::Full(_) => {
                    tracing::debug!(connection = %self.id(), "closing a connection that stopped reading");
                    self.close_urgently(close_code::POLICY_VIOLATION);
                    PushError::QueueFull
                }
                mpsc::error::TrySendError::Closed(_) => PushError::Closed,
            })
    }

    /// Closes ahead of the queue: the connection's loop writes this close frame next, and it is
    /// dropped if that has not happened within the close handshake timeout.
    pub(crate) fn close_urgently(&self, code: u16) {
        if self.shared.urgent_close.raise(code) {
            let connection = self.clone();
            tokio::spawn(async move {
                tokio::time::sleep(CLOSE_HANDSHAKE_TIMEOUT).await;
                connection.terminate();
            });
        }
    }

    /// Completes with the close code once an urgent close is asked for.
    pub(crate) async fn urgent_close(&self) -> u16 {
        self.shared.urgent_close.raised().await
    }

    /// Completes when one of this connection's `max_in_flight` places is free.
    pub(crate) async fn place_free(&self) {
        self.shared.in_flight.free().await;
    }

    /// Takes one of this connection's `max_in_flight` places if one is free; the place is given
    /// back when the guard is dropped.
    pub(crate) fn try_take_place(&self) -> Option<Place> {
        self.shared.in_flight.try_take().then(|| Place {
            connection: self.clone(),
        })
    }

    /// Sends a text message as it is, outside the JSON protocol (for servers with a
    /// [message handler](crate::ServerBuilder::message_handler)); waits while the outbound queue
    /// is full.
    pub async fn send_text(&self, text: impl Into<String>) -> Result<(), PushError> {
        self.send(Outbound::Text(Bytes::from(text.into()))).await
    }

    /// Sends a binary message; waits while the outbound queue is full.
    pub async fn send_binary(&self, bytes: impl Into<Bytes>) -> Result<(), PushError> {
        self.send(Outbound::Binary(bytes.into())).await
    }

    async fn send(&self, outbound: Outbound) -> Result<(), PushError> {
        self.shared
            .outbound
            .send(outbound)
            .await
            .map_err(|_| PushError::Closed)
    }

    /// Starts the close handshake with close code 1000 (normal closure).
    pub fn close(&self) {
        self.close_with(close_code::NORMAL, "");
    }

    /// Starts the close handshake with `code` and `reason`, after the frames already queued.
    ///
    /// `code` is one a server may send (RFC 6455 §7.4): 1000, 1001, 1008, 1011, or an
    /// application's own from 3000 to 4999; any other is sent as 1000. `reason` is cut to the
    /// 123 bytes a close frame holds.
    pub fn close_with(&self, code: u16, reason: impl Into<std::borrow::Cow<'static, str>>) {
        let code = match code {
            1000 | 1001 | 1008 | 1011 | 3000..=4999 => code,
            _ => close_code::NORMAL,
        };
        let mut reason = reason.into();
        if reason.len() > MAX_CLOSE_REASON {
            let mut end = MAX_CLOSE_REASON;
            while !reason.is_char_boundary(end) {
                end -= 1;
            }
            reason = reason[..end].to_owned().into();
        }
        match self
            .shared
            .outbound
            .try_send(Outbound::Close { code, reason })
        {
            Ok(()) => {}
            // The client is behind on reading: close ahead of the queue, or drop it.
            Err(mpsc::error::TrySendError::Full(_)) => self.close_urgently(code),
            Err(mpsc::error::TrySendError::Closed(_)) => self.terminate(),
        }
    }

    /// Drops the connection without a close handshake (the client stopped answering).
    pub(crate) fn terminate(&self) {
        self.shared.terminate.raise(1);
    }

    pub(crate) async fn terminated(&self) {
        self.shared.terminate.raised().await;
    }

    pub(crate) fn outbound(&self) -> &mpsc::Sender<Outbound> {
        &self.shared.outbound
    }

    pub(crate) fn gate(&self) -> &WriteGate {
        &self.shared.gate
    }

    /// Sends a liveness ping: into the socket at once when the connection is idle (its loop is
    /// not woken), else queued. A full queue means the client is not reading; the ping is then
    /// not sent and counts as lost.
    pub(crate) fn send_ping(&self) {
        if !self.shared.gate.try_write_ping(&self.shared.outbound) {
            let _ = self.shared.outbound.try_send(Outbound::Ping);
        }
    }

    /// Counts one more ping sent without an answer; returns how many are outstanding now.
    pub(crate) fn ping_sent(&self) -> u32 {
        self.shared.lost_pings.fetch_add(1, Ordering::Relaxed) + 1
    }

    pub(crate) fn pong_received(&self) {
        self.shared.lost_pings.store(0, Ordering::Relaxed);
    }

    fn slot_index<T: PluginSettings>(&self) -> Result<usize, SettingsError> {
        self.shared
            .registry
            .index_of(std::any::TypeId::of::<T>())
            .ok_or(SettingsError::PluginNotRegistered { plugin: T::PLUGIN })
    }

    fn store(&self) -> MutexGuard<'_, SettingsStore> {
        // A panic while holding this lock cannot leave a slot half-written (replacing an Arc is
        // one move), so a poisoned lock still guards consistent data.
        self.shared
            .settings
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// One running request of a connection; gives its place back when dropped.
pub(crate) struct Place {
    connection: Connection,
}

impl Drop for Place {
    fn drop(&mut self) {
        self.connection.shared.in_flight.give_back();
    }
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("id", &self.shared.id)
            .field("remote_addr", &self.shared.remote_addr)
            .finish_non_exhaustive()
    }
}
