//! The original README's manual subscriptions, bundled: `subscriptions:subscribe` `create` and
//! `subscriptions:unsubscribe` `delete`, each taking `{"model": "User"}` and, for one row,
//! `"id"`. Register it beside [`ChangeTracker::plugin`](super::ChangeTracker::plugin); a server
//! that wants other rules (who may subscribe to what) writes its own endpoints on
//! [`ChangeTracker::subscribe`](super::ChangeTracker::subscribe) instead.

/// The `subscriptions` plugin.
#[yoctopus_core::plugin]
pub mod subscriptions {
    use serde::Serialize;
    use yoctopus_core::prelude::*;

    use super::super::ChangeTracker;

    /// `{"model": "User"}`, and `"id"` (a number or a string) for one row only.
    #[derive(RequestFormat)]
    pub struct ModelRequest {
        /// The model's name.
        pub model: String,
        /// The row's primary key, for an instance subscription.
        pub id: Option<serde_json::Value>,
    }

    /// The answer to `subscribe`.
    #[derive(Debug, Serialize, schemars::JsonSchema)]
    pub struct Subscribed {
        /// The model now subscribed to.
        pub subscribed: String,
    }

    /// The answer to `unsubscribe`.
    #[derive(Debug, Serialize, schemars::JsonSchema)]
    pub struct Unsubscribed {
        /// The model no longer subscribed to.
        pub unsubscribed: String,
    }

    /// Subscribes this connection to a model's changes (one row's, with `id`); an unknown model
    /// is an error naming it. Subscribing twice changes nothing.
    #[endpoint(name = "subscribe", method = "create")]
    async fn subscribe(
        request: ModelRequest,
        id: ConnectionId,
        tracker: State<ChangeTracker>,
    ) -> Result<Subscribed, String> {
        tracker
            .subscribe(&request.model, id, request.id.as_ref())
            .map_err(|error| error.to_string())?;
        Ok(Subscribed {
            subscribed: request.model,
        })
    }

    /// Ends this connection's subscription to a model (to one row, with `id`; without, every
    /// subscription to the model). A change already being delivered may still arrive.
    #[endpoint(name = "unsubscribe", method = "delete")]
    async fn unsubscribe(
        request: ModelRequest,
        id: ConnectionId,
        tracker: State<ChangeTracker>,
    ) -> Result<Unsubscribed, String> {
        tracker
            .unsubscribe(&request.model, id, request.id.as_ref())
            .map_err(|error| error.to_string())?;
        Ok(Unsubscribed {
            unsubscribed: request.model,
        })
    }
}
