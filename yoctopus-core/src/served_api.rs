//! The API a server serves at this moment, for the `api` plugin and anyone else who describes
//! it: the `api:api` `read` answer, and a wake-up when a plugin is added or removed.

use std::sync::Arc;

use serde_json::Value;
use tokio::sync::watch;

/// The server's API now, as `api:api` `read` answers it; a handler or listener argument.
///
/// Each value remembers which version it saw last, so [`changed`](Self::changed) completes once
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
    receiver: watch::Receiver<Arc<Value>>,
}

impl ServedApi {
    pub(crate) fn new(receiver: watch::Receiver<Arc<Value>>) -> Self {
        Self { receiver }
    }

    /// The `api:api` `read` answer of the plugins registered now.
    pub fn read(&self) -> Arc<Value> {
        Arc::clone(&self.receiver.borrow())
    }

    /// Waits for the next change of the API and answers the new one; `None` once the server is
    /// gone.
    pub async fn changed(&mut self) -> Option<Arc<Value>> {
        self.receiver.changed().await.ok()?;
        Some(Arc::clone(&self.receiver.borrow_and_update()))
    }
}
