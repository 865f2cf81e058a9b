//! What a running server shares with its connections: plugins, settings slots, state, limits,
//! the connection register and the count of requests in flight.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;

use crate::connection::{Connection, ConnectionId, SettingsRegistry};
use crate::dispatch::Router;
use crate::plugin::BoxFuture;
use crate::transport::Message;

/// Limits and timings every connection reads.
#[derive(Debug, Clone)]
pub(crate) struct Limits {
    pub(crate) max_message_size: usize,
    pub(crate) max_json_depth: usize,
    pub(crate) max_connections: usize,
    pub(crate) max_in_flight: usize,
    pub(crate) header_read_timeout: Duration,
    pub(crate) handshake_timeout: Duration,
    pub(crate) outbound_queue: usize,
    pub(crate) ping_interval: Duration,
    pub(crate) max_lost_pings: u32,
    pub(crate) shutdown_timeout: Duration,
}

/// A fault on the server's side, passed to the hook set with
/// [`ServerBuilder::on_error`](crate::ServerBuilder::on_error).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ErrorEvent {
    /// A handler panicked; the client was answered `internal error`.
    HandlerPanicked {
        /// The connection whose request it was.
        connection: ConnectionId,
        /// The panic's message.
        message: String,
    },
    /// Accepting a TCP connection failed.
    AcceptFailed {
        /// The operating system's error.
        message: String,
    },
}

pub(crate) type ErrorHook = Box<dyn Fn(&ErrorEvent) + Send + Sync>;
pub(crate) type BinaryHandler = Arc<dyn Fn(Connection, Bytes) -> BoxFuture<()> + Send + Sync>;
pub(crate) type MessageHandler = Arc<dyn Fn(Connection, Message) -> BoxFuture<()> + Send + Sync>;

/// What [`Runtime::new`] is made of.
pub(crate) struct Parts {
    pub(crate) local_addr: SocketAddr,
    pub(crate) limits: Limits,
    pub(crate) router: Router,
    pub(crate) settings: SettingsRegistry,
    pub(crate) state: Box<[(TypeId, Arc<dyn Any + Send + Sync>)]>,
    pub(crate) allowed_origins: AllowedOrigins,
    pub(crate) on_error: Option<ErrorHook>,
    pub(crate) binary_handler: Option<BinaryHandler>,
    pub(crate) message_handler: Option<MessageHandler>,
    pub(crate) tls: Option<TlsAcceptor>,
}

pub(crate) struct Runtime {
    local_addr: SocketAddr,
    binary_handler: Option<BinaryHandler>,
    message_handler: Option<MessageHandler>,
    tls: Option<TlsAcceptor>,
    open_slots: AtomicUsize,
    limits: Limits,
    router: Router,
    settings: SettingsRegistry,
    state: Box<[(TypeId, Arc<dyn Any + Send + Sync>)]>,
    allowed_origins: RwLock<AllowedOrigins>,
    on_error: Option<ErrorHook>,
    register: Register,
    in_flight: InFlight,
    next_id: AtomicU64,
    draining: AtomicBool,
}

impl Runtime {
    pub(crate) fn new(parts: Parts) -> Self {
        Self {
            local_addr: parts.local_addr,
            binary_handler: parts.binary_handler,
            message_handler: parts.message_handler,
            tls: parts.tls,
            open_slots: AtomicUsize::new(0),
            limits: parts.limits,
            router: parts.router,
            settings: parts.settings,
            state: parts.state,
            allowed_origins: RwLock::new(parts.allowed_origins),
            on_error: parts.on_error,
            register: Register::default(),
            in_flight: InFlight::default(),
            next_id: AtomicU64::new(1),
            draining: AtomicBool::new(false),
        }
    }

    pub(crate) fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    pub(crate) fn binary_handler(&self) -> Option<&BinaryHandler> {
        self.binary_handler.as_ref()
    }

    pub(crate) fn message_handler(&self) -> Option<&MessageHandler> {
        self.message_handler.as_ref()
    }

    pub(crate) fn tls(&self) -> Option<&TlsAcceptor> {
        self.tls.as_ref()
    }

    /// Takes one of the `max_connections` places, from the upgrade until the connection ends.
    pub(crate) fn reserve_connection_slot(self: &Arc<Self>) -> Option<ConnectionSlot> {
        let max = self.limits.max_connections;
        self.open_slots
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |open| {
                (open < max).then_some(open + 1)
            })
            .ok()
            .map(|_| ConnectionSlot(Arc::clone(self)))
    }

    pub(crate) fn config(&self) -> &Limits {
        &self.limits
    }

    pub(crate) fn router(&self) -> &Router {
        &self.router
    }

    pub(crate) fn settings(&self) -> &SettingsRegistry {
        &self.settings
    }

    pub(crate) fn state<T: Any + Send + Sync>(&self) -> Option<Arc<T>> {
        let (_, state) = self
            .state
            .iter()
            .find(|(type_id, _)| *type_id == TypeId::of::<T>())?;
        Arc::clone(state).downcast::<T>().ok()
    }

    pub(crate) fn register(&self) -> &Register {
        &self.register
    }

    pub(crate) fn in_flight(&self) -> &InFlight {
        &self.in_flight
    }

    /// Counts a request as running until the guard is dropped.
    pub(crate) fn enter_request(self: &Arc<Self>) -> RequestCount {
        self.in_flight.count.fetch_add(1, Ordering::SeqCst);
        RequestCount(Arc::clone(self))
    }

    pub(crate) fn next_connection_id(&self) -> ConnectionId {
        ConnectionId::new(self.next_id.fetch_add(1, Ordering::Relaxed))
    }

    pub(crate) fn origin_allowed(&self, origin: Option<&[u8]>) -> bool {
        let Some(origin) = origin else {
            // Non-browser clients send no Origin; the check exists to stop other sites' pages.
            return true;
        };
        self.allowed_origins
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .allows(origin)
    }

    pub(crate) fn set_allowed_origins(&self, origins: AllowedOrigins) {
        *self
            .allowed_origins
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = origins;
    }

    pub(crate) fn report_error(&self, event: &ErrorEvent) {
        if let Some(hook) = &self.on_error {
            hook(event);
        }
    }

    pub(crate) fn start_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    pub(crate) fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }
}

/// One place among `max_connections`, given back when dropped.
pub(crate) struct ConnectionSlot(Arc<Runtime>);

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.0.open_slots.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The origins whose pages may open connections; `*` allows every origin.
#[derive(Debug, Clone, Default)]
pub(crate) struct AllowedOrigins {
    any: bool,
    origins: Vec<String>,
}

impl AllowedOrigins {
    pub(crate) fn new<I, S>(origins: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let origins: Vec<String> = origins.into_iter().map(Into::into).collect();
        Self {
            any: origins.iter().any(|origin| origin == "*"),
            origins,
        }
    }

    fn allows(&self, origin: &[u8]) -> bool {
        self.any
            || self
                .origins
                .iter()
                .any(|allowed| allowed.as_bytes().eq_ignore_ascii_case(origin))
    }
}

/// Every open connection, by id: the original's connection register.
#[derive(Default)]
pub(crate) struct Register {
    connections: Mutex<HashMap<ConnectionId, Connection>>,
    emptied: Notify,
}

impl Register {
    pub(crate) fn insert(&self, connection: Connection) {
        self.lock().insert(connection.id(), connection);
    }

    pub(crate) fn remove(&self, id: ConnectionId) {
        let mut connections = self.lock();
        connections.remove(&id);
        if connections.is_empty() {
            self.emptied.notify_waiters();
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }

    /// The open connections at this moment; taken as a copy so no lock is held while using them.
    pub(crate) fn snapshot(&self) -> Vec<Connection> {
        self.lock().values().cloned().collect()
    }

    /// Waits until no connection is open or `deadline` passes; returns whether it emptied.
    pub(crate) async fn wait_empty(&self, deadline: Instant) -> bool {
        loop {
            let emptied = self.emptied.notified();
            if self.len() == 0 {
                return true;
            }
            if tokio::time::timeout_at(deadline, emptied).await.is_err() {
                return self.len() == 0;
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<ConnectionId, Connection>> {
        self.connections
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Counts requests whose handlers are running, so shutdown can wait for them.
#[derive(Default)]
pub(crate) struct InFlight {
    count: AtomicUsize,
    idle: Notify,
}

/// Marks one request as running until dropped.
pub(crate) struct RequestCount(Arc<Runtime>);

impl Drop for RequestCount {
    fn drop(&mut self) {
        self.0.in_flight.leave();
    }
}

impl InFlight {
    /// Waits until nothing is in flight or `deadline` passes.
    pub(crate) async fn wait_idle(&self, deadline: Instant) -> bool {
        loop {
            let idle = self.idle.notified();
            if self.count.load(Ordering::SeqCst) == 0 {
                return true;
            }
            if tokio::time::timeout_at(deadline, idle).await.is_err() {
                return self.count.load(Ordering::SeqCst) == 0;
            }
        }
    }

    fn leave(&self) {
        if self.count.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.idle.notify_waiters();
        }
    }
}
