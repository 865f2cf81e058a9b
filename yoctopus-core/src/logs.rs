//! Log subscription, the original's `subscribeToLogs`, built on `tracing`: a [`LogLayer`] that
//! the application adds to its subscriber hands every event to the current subscribers as a
//! structured [`LogEntry`], tagged with the connection it happened on.
//!
//! A subscriber has a bounded queue of its own; when it falls behind, its entries are dropped and
//! counted, never waited for, so a slow subscriber cannot slow the server. With no subscriber the
//! layer costs one atomic load per event.
//!
//! ```no_run
//! use tracing_subscriber::layer::SubscriberExt;
//! use tracing_subscriber::util::SubscriberInitExt;
//!
//! # async fn run() {
//! tracing_subscriber::registry()
//!     .with(tracing_subscriber::fmt::layer())
//!     .with(yoctopus_core::logs::layer())
//!     .init();
//! let mut logs = yoctopus_core::logs::subscribe(1024);
//! while let Some(entry) = logs.recv().await {
//!     println!("[{}] {} {:?}", entry.level, entry.message, entry.connection);
//! }
//! # }
//! ```

use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::SystemTime;

use serde_json::{Map, Value};
use tokio::sync::mpsc;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

use crate::connection::ConnectionId;

/// One log event, as subscribers receive it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct LogEntry {
    /// When it happened.
    pub time: SystemTime,
    /// Its level.
    pub level: Level,
    /// Its target (usually the module that logged it).
    pub target: String,
    /// Its message.
    pub message: String,
    /// The connection it happened on: the event's `connection` field, or the connection span it
    /// happened in.
    pub connection: Option<ConnectionId>,
    /// Its other fields, as JSON.
    pub fields: Map<String, Value>,
}

/// The `tracing` layer that feeds subscriptions; add it to the application's subscriber.
#[derive(Debug, Default, Clone, Copy)]
pub struct LogLayer {
    _private: (),
}

/// The layer to add to the application's `tracing` subscriber.
pub fn layer() -> LogLayer {
    LogLayer::default()
}

/// Subscribes to log entries; up to `capacity` entries wait for the subscriber, and any beyond
/// are dropped (and counted) until it catches up. Dropping the subscription unsubscribes.
pub fn subscribe(capacity: usize) -> LogSubscription {
    let hub = hub();
    let (sender, receiver) = mpsc::channel(capacity.max(1));
    let dropped = Arc::new(AtomicU64::new(0));
    let id = hub.next_id.fetch_add(1, Ordering::Relaxed);
    hub.write().push(Recipient {
        id,
        sender,
        dropped: Arc::clone(&dropped),
    });
    hub.count.fetch_add(1, Ordering::Release);
    LogSubscription {
        id,
        receiver,
        dropped,
    }
}

/// A subscription to log entries; unsubscribes when dropped.
#[derive(Debug)]
pub struct LogSubscription {
    id: u64,
    receiver: mpsc::Receiver<LogEntry>,
    dropped: Arc<AtomicU64>,
}

impl LogSubscription {
    /// The next entry; `None` once unsubscribed and drained.
    pub async fn recv(&mut self) -> Option<LogEntry> {
        self.receiver.recv().await
    }

    /// The next entry if one is waiting.
    pub fn try_recv(&mut self) -> Option<LogEntry> {
        self.receiver.try_recv().ok()
    }

    /// How many entries were dropped because this subscriber was behind.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Stops receiving entries: those already queued can still be read, then
    /// [`recv`](Self::recv) answers `None`. Dropping the subscription does the same.
    pub fn unsubscribe(&self) {
        let hub = hub();
        let mut subscribers = hub.write();
        let before = subscribers.len();
        subscribers.retain(|subscriber| subscriber.id != self.id);
        if subscribers.len() < before {
            hub.count.fetch_sub(1, Ordering::Release);
        }
    }
}

impl Drop for LogSubscription {
    fn drop(&mut self) {
        self.unsubscribe();
    }
}

struct Recipient {
    id: u64,
    sender: mpsc::Sender<LogEntry>,
    dropped: Arc<AtomicU64>,
}

/// Every subscription of the process: `tracing` subscribers are process-wide too.
struct Hub {
    subscribers: RwLock<Vec<Recipient>>,
    count: AtomicUsize,
    next_id: AtomicU64,
}

impl Hub {
    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Vec<Recipient>> {
        self.subscribers
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Vec<Recipient>> {
        self.subscribers
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn hub() -> &'static Hub {
    static HUB: OnceLock<Hub> = OnceLock::new();
    HUB.get_or_init(|| Hub {
        subscribers: RwLock::new(Vec::new()),
        count: AtomicUsize::new(0),
        next_id: AtomicU64::new(1),
    })
}

/// The connection a span belongs to, kept in the span's extensions.
struct ConnectionSpan(ConnectionId);

impl<S> tracing_subscriber::Layer<S> for LogLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attributes: &Attributes<'_>, id: &Id, context: Context<'_, S>) {
        if attributes.metadata().name() != "connection" {
            return;
        }
        let mut fields = Fields::default();
        attributes.record(&mut fields);
        let connection = fields
            .values
            .get("id")
            .and_then(Value::as_str)
            .and_then(|id| id.parse().ok());
        if let (Some(connection), Some(span)) = (connection, context.span(id)) {
            span.extensions_mut().insert(ConnectionSpan(connection));
        }
    }

    fn on_event(&self, event: &Event<'_>, context: Context<'_, S>) {
        let hub = hub();
        if hub.count.load(Ordering::Acquire) == 0 {
            return;
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        let tagged = fields
            .values
            .remove("connection")
            .and_then(|id| id.as_str().and_then(|id| id.parse().ok()));
        let connection = tagged.or_else(|| {
            context.event_scope(event).and_then(|scope| {
                scope
                    .into_iter()
                    .find_map(|span| span.extensions().get::<ConnectionSpan>().map(|tag| tag.0))
            })
        });
        let metadata = event.metadata();
        let entry = LogEntry {
            time: SystemTime::now(),
            level: *metadata.level(),
            target: metadata.target().to_owned(),
            message: fields.message,
            connection,
            fields: fields.values,
        };
        for subscriber in hub.read().iter() {
            if subscriber.sender.try_send(entry.clone()).is_err() {
                subscriber.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// An event's or span's fields: `message` apart, the rest as JSON.
#[derive(Default)]
struct Fields {
    message: String,
    values: Map<String, Value>,
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let text = format!("{value:?}");
        if field.name() == "message" {
            self.message = text;
        } else {
            self.values.insert(field.name().to_owned(), text.into());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = value.to_owned();
        } else {
            self.values.insert(field.name().to_owned(), value.into());
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.values.insert(field.name().to_owned(), value.into());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.values.insert(field.name().to_owned(), value.into());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.values.insert(field.name().to_owned(), value.into());
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.values.insert(field.name().to_owned(), value.into());
    }
}

/// Logs on behalf of a handler, tagged with its connection: the original's `log` argument.
///
/// ```
/// # use yoctopus_core::prelude::*;
/// #[plugin]
/// mod orders {
///     use yoctopus_core::prelude::*;
///
///     #[endpoint(name = "order", method = "create")]
///     async fn create(log: Log) {
///         log.info("order placed");
///     }
/// }
/// # fn main() {}
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Log {
    connection: ConnectionId,
}

impl Log {
    pub(crate) fn new(connection: ConnectionId) -> Self {
        Self { connection }
    }

    /// An entry at `debug`.
    pub fn debug(&self, message: impl fmt::Display) {
        tracing::debug!(target: "yoctopus::log", connection = %self.connection, "{message}");
    }

    /// An entry at `info`.
    pub fn info(&self, message: impl fmt::Display) {
        tracing::info!(target: "yoctopus::log", connection = %self.connection, "{message}");
    }

    /// An entry at `warn`.
    pub fn warn(&self, message: impl fmt::Display) {
        tracing::warn!(target: "yoctopus::log", connection = %self.connection, "{message}");
    }

    /// An entry at `error`.
    pub fn error(&self, message: impl fmt::Display) {
        tracing::error!(target: "yoctopus::log", connection = %self.connection, "{message}");
    }
}
