//! What the network side of a running server shares with its connections: the application it
//! serves, TLS, allowed origins, limits, connection places, and the state of shutdown.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;

use super::StaticFiles;
use crate::app::App;

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

pub(crate) struct Network {
    app: Arc<App>,
    local_addr: SocketAddr,
    tls: Option<TlsAcceptor>,
    open_slots: AtomicUsize,
    limits: Limits,
    allowed_origins: RwLock<AllowedOrigins>,
    in_flight: InFlight,
    draining: AtomicBool,
    static_files: Option<StaticFiles>,
}

impl Network {
    pub(crate) fn new(
        app: Arc<App>,
        local_addr: SocketAddr,
        limits: Limits,
        allowed_origins: AllowedOrigins,
        tls: Option<TlsAcceptor>,
        static_files: Option<StaticFiles>,
    ) -> Self {
        Self {
            app,
            local_addr,
            tls,
            open_slots: AtomicUsize::new(0),
            limits,
            allowed_origins: RwLock::new(allowed_origins),
            in_flight: InFlight::default(),
            draining: AtomicBool::new(false),
            static_files,
        }
    }

    pub(crate) fn app(&self) -> &Arc<App> {
        &self.app
    }

    pub(crate) fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    pub(crate) fn tls(&self) -> Option<&TlsAcceptor> {
        self.tls.as_ref()
    }

    /// What answers plain HTTP requests, when anything does.
    pub(crate) fn static_files(&self) -> Option<&StaticFiles> {
        self.static_files.as_ref()
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

    pub(crate) fn in_flight(&self) -> &InFlight {
        &self.in_flight
    }

    /// Counts a request as running until the guard is dropped.
    pub(crate) fn enter_request(self: &Arc<Self>) -> RequestCount {
        self.in_flight.count.fetch_add(1, Ordering::SeqCst);
        RequestCount(Arc::clone(self))
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

    pub(crate) fn start_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    pub(crate) fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }
}

/// One place among `max_connections`, given back when dropped.
pub(crate) struct ConnectionSlot(Arc<Network>);

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

/// Counts requests whose handlers are running, so shutdown can wait for them.
#[derive(Default)]
pub(crate) struct InFlight {
    count: AtomicUsize,
    idle: Notify,
}

/// Marks one request as running until dropped.
pub(crate) struct RequestCount(Arc<Network>);

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
