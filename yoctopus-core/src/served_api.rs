//! The API a server serves at this moment, for the `api` plugin and anyone else who describes
//! it: the `api:api` `read` answer, and a wake-up when a plugin is added or removed.
//!
//! Two channels, because in a cluster they differ: what this server serves (`read`) changes only
//! with its own plugins, while a change on any node of the cluster is news to every node's
//! watchers (`changed`), carrying the API of the node where it happened.

use std::sync::Arc;

use serde_json::Value;
use tokio::sync::watch;

/// The server's API now, as `api:api` `read` answers it; a handler or listener argument.
///
/// Each value remembers which change it saw last, so [`changed`](Self::changed) completes once
/// per change made after it was taken.
///
/// ```no_run
/// # use yoctopus_core::{ServedApi, Connection, Push};
/// async fn follow(mut api: ServedApi, connection: Connection) {
///     while let Some(read) = api.changed().await {
///         let Ok(push) = Push::new("api-changed", &*read) else { return };
///         if connection.notify(push).is_err() {
///             return;
///         }
///     }
/// }
/// ```
#[derive(Debug, Clone)]
pub struct ServedApi {
    served: watch::Receiver<Arc<Value>>,
    changes: watch::Receiver<Arc<Value>>,
}

impl ServedApi {
    /// The `api:api` `read` answer of the plugins registered on this server now.
    pub fn read(&self) -> Arc<Value> {
        Arc::clone(&self.served.borrow())
    }

    /// Waits for the next change of the API and answers the new one; `None` once the server is
    /// gone. In a cluster, a change on any server wakes every server's watchers, with the API of
    /// the server where it changed (servers of one cluster are expected to serve the same
    /// plugins, so that is the API every server is about to serve).
    pub async fn changed(&mut self) -> Option<Arc<Value>> {
        self.changes.changed().await.ok()?;
        Some(Arc::clone(&self.changes.borrow_and_update()))
    }
}

/// Where the API is published: this server's own, and the changes heard from anywhere.
#[derive(Debug)]
pub(crate) struct ApiChannels {
    served: watch::Sender<Arc<Value>>,
    changes: Arc<watch::Sender<Arc<Value>>>,
}

impl ApiChannels {
    pub(crate) fn new() -> Self {
        Self {
            served: watch::Sender::new(Arc::new(Value::Null)),
            changes: Arc::new(watch::Sender::new(Arc::new(Value::Null))),
        }
    }

    /// A reader of both.
    pub(crate) fn subscribe(&self) -> ServedApi {
        ServedApi {
            served: self.served.subscribe(),
            changes: self.changes.subscribe(),
        }
    }

    /// This server's API is now `read`: what it serves, and a change for its watchers.
    pub(crate) fn publish(&self, read: Arc<Value>) {
        self.served.send_replace(Arc::clone(&read));
        self.changes.send_replace(read);
    }

    /// The handle through which changes on other servers reach this server's watchers.
    pub(crate) fn remote_changes(&self) -> RemoteApiChanges {
        RemoteApiChanges {
            changes: Arc::clone(&self.changes),
        }
    }
}

/// Tells this server's API watchers of a change on another server.
#[derive(Debug, Clone)]
pub(crate) struct RemoteApiChanges {
    changes: Arc<watch::Sender<Arc<Value>>>,
}

impl RemoteApiChanges {
    pub(crate) fn changed_elsewhere(&self, read: Value) {
        self.changes.send_replace(Arc::new(read));
    }
}
