//! `api`: clients discover the server's API, and hear when it changes.
//!
//! `api:api` `read` answers every endpoint and method with its request format in the original's
//! notation, beside what that notation cannot say (optional fields, custom validators,
//! requirements) and the JSON Schemas of the request and the response. `subscribe` makes the
//! connection receive a push of type `api-changed`, carrying the new answer, each time a plugin
//! is added or removed while the server runs (`Server::add_plugin`, `Server::remove_plugin`);
//! `unsubscribe` stops it.
//!
//! ```no_run
//! # async fn run() -> Result<(), yoctopus_core::ServerError> {
//! let server = yoctopus_core::Server::builder()
//!     .plugin(yoctopus_plugins::api::plugin())
//!     .start()
//!     .await?;
//! # Ok(()) }
//! ```

pub use self::api::{plugin, ApiChanged, Settings, Subscription};

/// The `api` plugin.
#[yoctopus_core::plugin]
pub mod api {
    use std::sync::atomic::{AtomicU64, Ordering};

    use serde::Serialize;
    use yoctopus_core::prelude::*;
    use yoctopus_core::{Push, ServedApi};

    /// Connection-scoped: the subscription that pushes `api-changed` to this connection.
    #[settings]
    #[derive(Debug, Default, Clone)]
    pub struct Settings {
        /// The number of the connection's subscription; 0 when it is not subscribed.
        pub subscription: u64,
    }

    /// The API changed (a plugin was added or removed): the new `api:api` `read` answer.
    #[push("api-changed")]
    #[derive(Debug, Serialize, schemars::JsonSchema)]
    #[serde(transparent)]
    pub struct ApiChanged(pub serde_json::Value);

    /// Whether the connection is subscribed to `api-changed`.
    #[derive(Debug, Serialize, schemars::JsonSchema)]
    pub struct Subscription {
        /// `true` after `subscribe`, `false` after `unsubscribe`.
        pub subscribed: bool,
    }

    /// Every endpoint and method, by the name clients use, with its request format and the
    /// JSON Schemas of its request and response.
    #[endpoint(name = "api", method = "read")]
    async fn read(api: ServedApi) -> serde_json::Value {
        serde_json::Value::clone(&api.read())
    }

    /// From now on, an `api-changed` push after each change of the API. Subscribing twice
    /// changes nothing.
    #[endpoint(name = "api", method = "subscribe")]
    async fn subscribe(connection: Connection, api: ServedApi) -> Result<Subscription, String> {
        static NEXT_SUBSCRIPTION: AtomicU64 = AtomicU64::new(1);
        let mut started = None;
        connection
            .update(|settings: &mut Settings| {
                if settings.subscription == 0 {
                    settings.subscription = NEXT_SUBSCRIPTION.fetch_add(1, Ordering::Relaxed);
                    started = Some(settings.subscription);
                }
            })
            .map_err(|error| error.to_string())?;
        if let Some(subscription) = started {
            tokio::spawn(follow(connection, api, subscription));
        }
        Ok(Subscription { subscribed: true })
    }

    /// No more `api-changed` pushes: none is sent after this answer.
    #[endpoint(name = "api", method = "unsubscribe")]
    async fn unsubscribe(connection: Connection) -> Result<Subscription, String> {
        connection
            .update(|settings: &mut Settings| settings.subscription = 0)
            .map_err(|error| error.to_string())?;
        Ok(Subscription { subscribed: false })
    }

    /// Pushes each change of the API to `connection` while its subscription is `subscription`;
    /// ends when it unsubscribes (or subscribes anew) or closes.
    async fn follow(connection: Connection, mut api: ServedApi, subscription: u64) {
        loop {
            let read = tokio::select! {
                () = connection.closed() => return,
                read = api.changed() => match read {
                    Some(read) => read,
                    None => return,
                },
            };
            if connection.settings::<Settings>().subscription != subscription {
                return;
            }
            let push = match Push::of(&ApiChanged(serde_json::Value::clone(&read))) {
                Ok(push) => push,
                Err(error) => {
                    tracing::error!(%error, "the API could not be serialized");
                    return;
                }
            };
            if connection.notify(push).is_err() {
                return;
            }
        }
    }
}
