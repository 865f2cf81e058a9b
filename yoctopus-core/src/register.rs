//! Every open connection, by id: the original's connection register.
//!
//! Connections enter when they open and leave when they close; readers take a snapshot, so no
//! lock is held while a caller works with the connections it found.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use tokio::sync::Notify;
use tokio::time::Instant;

use crate::connection::{Connection, ConnectionId};

/// The open connections of one server.
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

    /// The open connection with this id.
    pub(crate) fn get(&self, id: ConnectionId) -> Option<Connection> {
        self.lock().get(&id).cloned()
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
