//! What handlers and listeners reach beside their own connection: shared state (the builder's
//! and what plugins provide), the connection register, delivery, the served API and the error
//! hook.
//!
//! It is passed beside each call rather than reached through the connection, the way axum passes
//! its state beside the request, so a connection never holds the application. Plugins can come
//! and go while the server runs, so the state they provide and the API are swapped as a whole,
//! and readers take a snapshot without a lock.

use std::any::{Any, TypeId};
use std::sync::Arc;

use arc_swap::ArcSwap;
use serde_json::Value;

use crate::cluster::ClusterNode;
use crate::connections::Connections;
use crate::delivery::{Delivery, LocalDelivery};
use crate::fault::{ErrorEvent, ErrorHook};
use crate::register::Register;
use crate::served_api::{ApiChannels, ServedApi};

/// One shared value, with the plugin that provides it (`None`: the builder's).
#[derive(Clone)]
pub(crate) struct StateEntry {
    pub(crate) type_id: TypeId,
    pub(crate) type_name: &'static str,
    pub(crate) owner: Option<&'static str>,
    pub(crate) value: Arc<dyn Any + Send + Sync>,
}

/// The application's services.
pub(crate) struct Services {
    state: ArcSwap<Vec<StateEntry>>,
    on_error: Option<ErrorHook>,
    register: Arc<Register>,
    connections: Connections,
    /// The `api:api` `read` answer of the plugins now registered; a change wakes its watchers.
    api: ApiChannels,
    /// The cluster this server is a node of, if any.
    cluster: Option<Arc<ClusterNode>>,
}

impl Services {
    /// Services over `register`, delivering through `cluster` when the server is a node of one.
    pub(crate) fn new(
        state: Vec<StateEntry>,
        on_error: Option<ErrorHook>,
        register: Arc<Register>,
        api: ApiChannels,
        cluster: Option<Arc<ClusterNode>>,
    ) -> Self {
        let delivery: Arc<dyn Delivery> = match &cluster {
            Some(cluster) => Arc::clone(cluster) as Arc<dyn Delivery>,
            None => Arc::new(LocalDelivery::new(Arc::clone(&register))),
        };
        Self {
            state: ArcSwap::from_pointee(state),
            on_error,
            connections: Connections::new(delivery, Arc::clone(&register)),
            register,
            api,
            cluster,
        }
    }

    /// The cluster this server is a node of, if any.
    pub(crate) fn cluster(&self) -> Option<&Arc<ClusterNode>> {
        self.cluster.as_ref()
    }

    /// The register handle plugins use.
    pub(crate) fn connections(&self) -> &Connections {
        &self.connections
    }

    pub(crate) fn state<T: Any + Send + Sync>(&self) -> Option<Arc<T>> {
        let state = self.state.load();
        let entry = state
            .iter()
            .find(|entry| entry.type_id == TypeId::of::<T>())?;
        Arc::clone(&entry.value).downcast::<T>().ok()
    }

    pub(crate) fn has_state(&self, type_id: TypeId) -> bool {
        self.state
            .load()
            .iter()
            .any(|entry| entry.type_id == type_id)
    }

    /// Adds the values a plugin provides; refuses (adding none) when one of their types is
    /// already provided, naming it.
    pub(crate) fn add_state(&self, entries: Vec<StateEntry>) -> Result<(), &'static str> {
        let current = self.state.load();
        let mut next: Vec<StateEntry> = current.as_ref().clone();
        for entry in entries {
            if next.iter().any(|known| known.type_id == entry.type_id) {
                return Err(entry.type_name);
            }
            next.push(entry);
        }
        self.state.store(Arc::new(next));
        Ok(())
    }

    /// Takes away the values plugin `owner` provides, and answers them (to be given back if
    /// the plugin's removal is refused).
    pub(crate) fn take_state_of(&self, owner: &str) -> Vec<StateEntry> {
        let current = self.state.load();
        let (taken, kept): (Vec<StateEntry>, Vec<StateEntry>) = current
            .iter()
            .cloned()
            .partition(|entry| entry.owner == Some(owner));
        self.state.store(Arc::new(kept));
        taken
    }

    pub(crate) fn register(&self) -> &Register {
        &self.register
    }

    /// The `api:api` `read` answer now, and a wake-up when it changes.
    pub(crate) fn api(&self) -> ServedApi {
        self.api.subscribe()
    }

    /// Publishes the API the server starts with.
    pub(crate) fn publish_first_api(&self, read: Value) {
        self.api.publish(Arc::new(read));
    }

    /// Publishes a new API to its watchers, on every node of the cluster.
    pub(crate) fn publish_api(&self, read: Value) {
        let read = Arc::new(read);
        self.api.publish(Arc::clone(&read));
        if let Some(cluster) = &self.cluster {
            let cluster = Arc::clone(cluster);
            match tokio::runtime::Handle::try_current() {
                Ok(runtime) => {
                    runtime.spawn(async move { cluster.announce_api(&read).await });
                }
                Err(_) => tracing::warn!(
                    "the API changed outside the server's runtime: the other servers of the cluster were not told"
                ),
            }
        }
    }

    pub(crate) fn report_error(&self, event: &ErrorEvent) {
        if let Some(hook) = &self.on_error {
            hook(event);
        }
    }
}
