//! `multicast`: push to every connection whose settings match a filter, from any handler or
//! listener, as the original's `multicast(filter, {type, data})`.
//!
//! Register the plugin, then take a [`Multicast`] argument. The filter is the original's JSON
//! form (`{"auth": {"isAdmin": true}}`, settings by their wire names; objects match as subsets,
//! scalars and arrays by equality) or a typed one checked by the compiler,
//! `yoctopus_core::filter!(auth.is_admin == true)`. The push is serialized once, however many
//! connections receive it, and goes through the server's delivery, so a cluster backend carries
//! it to every node. Outside handlers (a background task, the `Server` handle), the same is
//! `Connections::multicast`.
//!
//! ```
//! use yoctopus_core::prelude::*;
//! use yoctopus_plugins::multicast::Multicast;
//!
//! #[plugin]
//! mod alerts {
//!     use yoctopus_core::prelude::*;
//!     use yoctopus_plugins::multicast::Multicast;
//!
//!     #[derive(serde::Serialize, schemars::JsonSchema)]
//!     pub struct Sent {
//!         pub reached: usize,
//!     }
//!
//!     #[endpoint(name = "alert", method = "create")]
//!     async fn alert(multicast: Multicast) -> Result<Sent, String> {
//!         let filter = serde_json::json!({ "yoctopus": { "label": "admin" } });
//!         let reached = multicast
//!             .send(&filter, "admin-alert", &serde_json::json!({ "message": "System update" }))
//!             .await
//!             .map_err(|error| error.to_string())?;
//!         Ok(Sent { reached })
//!     }
//! }
//!
//! let server = Server::builder()
//!     .plugin(yoctopus_plugins::multicast::plugin())
//!     .plugin(alerts::plugin());
//! # let _ = server;
//! ```

use serde::Serialize;
use yoctopus_core::{
    Call, Connections, DeliveryError, FromCall, Need, Outcome, Push, SettingsFilter, State,
};

pub use self::multicast::plugin;

/// The `multicast` plugin: registering it makes [`Multicast`] available to every handler and
/// listener (a server without it refuses to start when one asks for it).
#[yoctopus_core::plugin]
pub mod multicast {
    /// What the plugin provides: the sign that it is registered.
    #[derive(Debug)]
    pub struct Registered(());

    #[provide]
    fn registered() -> Registered {
        Registered(())
    }
}

/// Pushes to the connections whose settings match a filter; a handler or listener argument.
#[derive(Debug, Clone)]
pub struct Multicast {
    connections: Connections,
}

impl Multicast {
    /// Pushes `{"meta":{"method":"notify","type":kind},"data":data}` to every connection whose
    /// settings match `filter` (the JSON form, or a [`SettingsFilter`]); answers how many were
    /// reached.
    pub async fn send<F, T>(&self, filter: F, kind: &str, data: &T) -> Result<usize, DeliveryError>
    where
        F: TryInto<SettingsFilter>,
        F::Error: std::fmt::Display,
        T: Serialize + ?Sized,
    {
        let filter = filter
            .try_into()
            .map_err(|error| DeliveryError::Filter(error.to_string()))?;
        let push =
            Push::new(kind, data).map_err(|error| DeliveryError::Serialize(error.to_string()))?;
        self.push(filter, push).await
    }

    /// Sends a push made beforehand (`Push::of` for a declared push) to every connection whose
    /// settings match `filter`; answers how many were reached.
    pub async fn push(&self, filter: SettingsFilter, push: Push) -> Result<usize, DeliveryError> {
        self.connections.multicast(filter, push).await
    }
}

impl FromCall for Multicast {
    const NEED: Need = <State<multicast::Registered> as FromCall>::NEED;

    fn from_call(call: &mut Call) -> Result<Self, Outcome> {
        State::<multicast::Registered>::from_call(call)?;
        Ok(Self {
            connections: Connections::from_call(call)?,
        })
    }
}
