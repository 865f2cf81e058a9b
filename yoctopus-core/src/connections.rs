//! The connection register as plugins and background tasks use it: notify or close a
//! connection by id, multicast by settings, count, list, look up, export and select connections.
//!
//! A [`Connections`] is a cheap handle (two pointers): clone it into a background task, or take
//! it as a handler or listener argument. Everything goes through the server's
//! [`Delivery`](crate::Delivery), so the same calls reach a cluster's connections once a cluster
//! backend is configured; queries answer what they gathered and whether it is complete.

use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

use crate::connection::{Connection, ConnectionId};
use crate::delivery::{Command, Delivery, DeliveryError, Listing, Survey};
use crate::filter::SettingsFilter;
use crate::protocol::Push;
use crate::register::Register;

/// A handle to the server's connection register.
///
/// ```no_run
/// # async fn run(server: yoctopus_core::Server) -> Result<(), yoctopus_core::DeliveryError> {
/// let connections = server.connections();
/// tokio::spawn(async move {
///     for id in connections.ids().await?.value {
///         connections.notify(id, "tick", &serde_json::json!({ "at": 1 })).await?;
///     }
///     Ok::<_, yoctopus_core::DeliveryError>(())
/// });
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Connections {
    delivery: Arc<dyn Delivery>,
    register: Arc<Register>,
}

/// What a query gathered, and whether every server answered (always, on a single server).
#[derive(Debug, Clone, PartialEq)]
pub struct Gathered<T> {
    /// The answer.
    pub value: T,
    /// Whether every server answered in time.
    pub complete: bool,
}

impl Connections {
    pub(crate) fn new(delivery: Arc<dyn Delivery>, register: Arc<Register>) -> Self {
        Self { delivery, register }
    }

    /// Pushes `{"meta":{"method":"notify","type":kind},"data":data}` to connection `id`.
    ///
    /// `Ok` means queued for it; a connection that is not open is
    /// [`DeliveryError::UnknownConnection`], and nothing is kept for it.
    pub async fn notify<T: Serialize + ?Sized>(
        &self,
        id: ConnectionId,
        kind: &str,
        data: &T,
    ) -> Result<(), DeliveryError> {
        let push =
            Push::new(kind, data).map_err(|error| DeliveryError::Serialize(error.to_string()))?;
        self.push(id, push).await
    }

    /// Sends a push made beforehand (serialized once, whoever receives it).
    pub async fn push(&self, id: ConnectionId, push: Push) -> Result<(), DeliveryError> {
        self.delivery.deliver(id, Command::Push(push)).await
    }

    /// Closes connection `id` with `code` and `reason`, after the frames queued for it.
    pub async fn close(
        &self,
        id: ConnectionId,
        code: u16,
        reason: impl Into<String>,
    ) -> Result<(), DeliveryError> {
        let reason = reason.into();
        self.delivery
            .deliver(id, Command::Close { code, reason })
            .await
    }

    /// Pushes to every connection whose settings match `filter`; answers how many were reached.
    /// The push is serialized once.
    pub async fn multicast(
        &self,
        filter: SettingsFilter,
        push: Push,
    ) -> Result<usize, DeliveryError> {
        self.delivery.deliver_matching(filter, push).await
    }

    /// How many connections are open.
    pub async fn count(&self) -> Result<Gathered<usize>, DeliveryError> {
        let survey = Survey {
            filter: None,
            id: None,
            export: false,
            count_only: true,
        };
        let listing = self.delivery.survey(survey).await?;
        Ok(Gathered {
            value: listing.count,
            complete: listing.complete,
        })
    }

    /// The ids of the open connections.
    pub async fn ids(&self) -> Result<Gathered<Vec<ConnectionId>>, DeliveryError> {
        self.select(SettingsFilter::all()).await
    }

    /// The ids of the connections whose settings match `filter`.
    pub async fn select(
        &self,
        filter: SettingsFilter,
    ) -> Result<Gathered<Vec<ConnectionId>>, DeliveryError> {
        let listing = self.survey(Some(filter), false).await?;
        Ok(Gathered {
            value: listing.found.iter().map(|found| found.id).collect(),
            complete: listing.complete,
        })
    }

    /// Every plugin's settings of connection `id`, under the plugins' names: the original's
    /// `exportStore`. `None` when it is not open.
    pub async fn export(&self, id: ConnectionId) -> Result<Option<Value>, DeliveryError> {
        let survey = Survey {
            filter: None,
            id: Some(id),
            export: true,
            count_only: false,
        };
        let listing = self.delivery.survey(survey).await?;
        Ok(listing.found.into_iter().find_map(|found| found.settings))
    }

    /// The export of every open connection, by id.
    pub async fn exports(&self) -> Result<Gathered<Vec<(ConnectionId, Value)>>, DeliveryError> {
        self.exports_of(None).await
    }

    /// The export of every connection whose settings match `filter`, by id: in a cluster, only
    /// those travel (and a filter pinning a route goes only to the servers holding its value).
    pub async fn exports_matching(
        &self,
        filter: SettingsFilter,
    ) -> Result<Gathered<Vec<(ConnectionId, Value)>>, DeliveryError> {
        self.exports_of(Some(filter)).await
    }

    async fn exports_of(
        &self,
        filter: Option<SettingsFilter>,
    ) -> Result<Gathered<Vec<(ConnectionId, Value)>>, DeliveryError> {
        let listing = self.survey(filter, true).await?;
        Ok(Gathered {
            value: listing
                .found
                .into_iter()
                .map(|found| (found.id, found.settings.unwrap_or(Value::Null)))
                .collect(),
            complete: listing.complete,
        })
    }

    /// The connection with this id, when this server holds it.
    pub fn get(&self, id: ConnectionId) -> Option<Connection> {
        self.register.get(id)
    }

    async fn survey(
        &self,
        filter: Option<SettingsFilter>,
        export: bool,
    ) -> Result<Listing, DeliveryError> {
        let survey = Survey {
            filter,
            id: None,
            export,
            count_only: false,
        };
        self.delivery.survey(survey).await
    }
}

impl std::fmt::Debug for Connections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connections").finish_non_exhaustive()
    }
}
