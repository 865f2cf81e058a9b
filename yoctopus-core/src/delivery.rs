//! The delivery seam: how a push, a close or a register query reaches connections, wherever they
//! are held.
//!
//! Everything that reaches connections unasked (notify by id, multicast, the register's queries)
//! goes through one [`Delivery`]. The default, in-process, looks connections up in this server's
//! register; a cluster backend replaces it to reach the other servers' connections too, and no
//! plugin changes.
//!
//! # The contract every implementation keeps
//! - **Order per connection.** Pushes to one connection from one caller arrive in the order they
//!   were delivered, after the frames already queued for it (replies included).
//! - **A connection that has gone.** Delivery to a connection that is not open fails with
//!   [`DeliveryError::UnknownConnection`] and leaves nothing behind: no queued frame, no retry.
//!   A connection that closes after a push was queued may close before the push is written.
//! - **What a caller learns.** `Ok` means queued on the connection's bounded outbound queue (or,
//!   for a connection with nothing queued, already handed to its socket), not read by the client. A full queue means the client stopped reading: the connection is closed
//!   with 1008 and the caller gets [`DeliveryError::QueueFull`]. A multicast answers how many
//!   connections it was queued for. A survey answers what every node said and whether every
//!   node answered ([`Listing::complete`]).
//! - **No waiting on clients.** Delivery never waits for a client; it may wait for a backend (a
//!   broker round trip), and then fails with [`DeliveryError::Unavailable`] rather than hang.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde_json::Value;

use crate::connection::{Connection, ConnectionId};
use crate::error::PushError;
use crate::filter::{ResolvedFilter, SettingsFilter};
use crate::protocol::Push;
use crate::register::Register;

/// A future that delivery returns.
pub type DeliveryFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What to do to one connection.
#[derive(Debug, Clone)]
pub enum Command {
    /// Queue a push.
    Push(Push),
    /// Close it with this code and reason, after what is queued.
    Close {
        /// The close code.
        code: u16,
        /// The reason.
        reason: String,
    },
}

/// Why delivery failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DeliveryError {
    /// No open connection has this id.
    #[error("no open connection has id {0}")]
    UnknownConnection(ConnectionId),
    /// The connection's outbound queue is full: it stopped reading and is being closed.
    #[error("connection {0} stopped reading; it is being closed")]
    QueueFull(ConnectionId),
    /// The push could not be serialized.
    #[error("the push cannot be serialized: {0}")]
    Serialize(String),
    /// The settings filter is not one (its JSON form is not an object of objects).
    #[error("invalid settings filter: {0}")]
    Filter(String),
    /// The backend that carries delivery to other servers cannot be reached, or the server
    /// holding the connection did not answer in time.
    ///
    /// Not known to be delivered, which is not known to be lost: a server that was slow rather
    /// than gone may still apply the command once it catches up. A caller that retries may
    /// deliver twice; pushes a client must not see twice should carry something it can tell
    /// them apart by.
    #[error("delivery is unavailable: {0}")]
    Unavailable(String),
}

/// Which connections a survey asks about, and what to tell of them.
#[derive(Debug, Clone)]
pub struct Survey {
    /// Only connections whose settings match; every connection when `None`.
    pub filter: Option<SettingsFilter>,
    /// Only this connection.
    pub id: Option<ConnectionId>,
    /// Whether to tell each connection's settings (its export).
    pub export: bool,
    /// Only how many: [`Listing::found`] stays empty and [`Listing::count`] says (a cluster then
    /// sends numbers, not ids).
    pub count_only: bool,
}

/// One connection a survey found.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    /// Its id.
    pub id: ConnectionId,
    /// Every plugin's settings under the plugin's name, when the survey asked for them.
    pub settings: Option<Value>,
}

/// What a survey found.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Listing {
    /// The connections found, in no particular order (none for a `count_only` survey).
    pub found: Vec<Found>,
    /// How many connections were found.
    pub count: usize,
    /// Whether every node answered; a single server always does.
    pub complete: bool,
}

/// How pushes, closes and register queries reach connections. See the module's contract.
pub trait Delivery: Send + Sync + 'static {
    /// Applies `command` to connection `id`.
    fn deliver(
        &self,
        id: ConnectionId,
        command: Command,
    ) -> DeliveryFuture<'_, Result<(), DeliveryError>>;

    /// Queues `push` for every connection whose settings match `filter`; answers how many.
    fn deliver_matching(
        &self,
        filter: SettingsFilter,
        push: Push,
    ) -> DeliveryFuture<'_, Result<usize, DeliveryError>>;

    /// Asks about connections.
    fn survey(&self, survey: Survey) -> DeliveryFuture<'_, Result<Listing, DeliveryError>>;
}

/// Delivery to this server's own connections: the default.
pub struct LocalDelivery {
    register: Arc<Register>,
}

impl LocalDelivery {
    pub(crate) fn new(register: Arc<Register>) -> Self {
        Self { register }
    }

    /// Applies `command` to a connection of this server, at once.
    pub fn deliver_now(&self, id: ConnectionId, command: Command) -> Result<(), DeliveryError> {
        let connection = self
            .register
            .get(id)
            .ok_or(DeliveryError::UnknownConnection(id))?;
        match command {
            Command::Push(push) => connection.notify(push).map_err(|error| match error {
                PushError::QueueFull => DeliveryError::QueueFull(id),
                PushError::Closed => DeliveryError::UnknownConnection(id),
                PushError::Serialize(error) => DeliveryError::Serialize(error.to_string()),
            }),
            Command::Close { code, reason } => {
                connection.close_with(code, reason);
                Ok(())
            }
        }
    }

    /// Sends `push` to this server's connections that match `filter`; answers how many. Holds
    /// the thread for the whole fan-out: from async code, [`Delivery::deliver_matching`] lets
    /// other tasks run between connections.
    pub fn deliver_matching_now(&self, filter: &SettingsFilter, push: &Push) -> usize {
        let connections = self.register.snapshot();
        let Some(first) = connections.first() else {
            return 0;
        };
        let filter = filter.resolve(first.registry());
        connections
            .iter()
            .filter(|connection| send_if_matching(connection, &filter, push))
            .count()
    }

    /// [`deliver_matching_now`](Self::deliver_matching_now), giving the thread to other tasks
    /// whenever this one has used its scheduling budget (a fan-out to thousands of connections is
    /// thousands of system calls).
    pub(crate) async fn deliver_matching_in_turn(
        &self,
        filter: &SettingsFilter,
        push: &Push,
    ) -> usize {
        let connections = self.register.snapshot();
        let Some(first) = connections.first() else {
            return 0;
        };
        let filter = filter.resolve(first.registry());
        let mut reached = 0;
        for connection in &connections {
            tokio::task::coop::consume_budget().await;
            reached += usize::from(send_if_matching(connection, &filter, push));
        }
        reached
    }

    /// What this server's connections answer to `survey`.
    pub fn survey_now(&self, survey: &Survey) -> Listing {
        let connections: Vec<Connection> = match survey.id {
            Some(id) => self.register.get(id).into_iter().collect(),
            None => self.register.snapshot(),
        };
        let filter = match (&survey.filter, connections.first()) {
            (Some(filter), Some(first)) => Some(filter.resolve(first.registry())),
            _ => None,
        };
        let matching = connections.iter().filter(|connection| {
            filter
                .as_ref()
                .is_none_or(|filter| filter.matches(connection))
        });
        if survey.count_only {
            return Listing {
                found: Vec::new(),
                count: matching.count(),
                complete: true,
            };
        }
        let found: Vec<Found> = matching
            .map(|connection| Found {
                id: connection.id(),
                settings: survey.export.then(|| connection.export_settings()),
            })
            .collect();
        Listing {
            count: found.len(),
            found,
            complete: true,
        }
    }
}

impl Delivery for LocalDelivery {
    fn deliver(
        &self,
        id: ConnectionId,
        command: Command,
    ) -> DeliveryFuture<'_, Result<(), DeliveryError>> {
        let result = self.deliver_now(id, command);
        Box::pin(std::future::ready(result))
    }

    fn deliver_matching(
        &self,
        filter: SettingsFilter,
        push: Push,
    ) -> DeliveryFuture<'_, Result<usize, DeliveryError>> {
        Box::pin(async move { Ok(self.deliver_matching_in_turn(&filter, &push).await) })
    }

    fn survey(&self, survey: Survey) -> DeliveryFuture<'_, Result<Listing, DeliveryError>> {
        let listing = self.survey_now(&survey);
        Box::pin(std::future::ready(Ok(listing)))
    }
}

/// Sends `push` to `connection` if it matches; answers whether it was sent.
fn send_if_matching(connection: &Connection, filter: &ResolvedFilter<'_>, push: &Push) -> bool {
    filter.matches(connection) && connection.send_push(push.frame()).is_ok()
}

impl std::fmt::Debug for LocalDelivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalDelivery").finish_non_exhaustive()
    }
}
