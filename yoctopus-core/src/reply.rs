//! What a handler returns when it changes settings as well: the original's `{settings, response}`.

use serde::Serialize;

use crate::connection::{Connection, PluginSettings};
use crate::protocol::Outcome;

/// A response together with new settings for the connection.
///
/// The settings are applied before the response is sent, so a request the client sends after
/// reading the response already sees them.
///
/// ```
/// # use yoctopus_core::prelude::*;
/// #[plugin]
/// mod auth {
///     use yoctopus_core::prelude::*;
///
///     #[settings]
///     #[derive(Default, Clone)]
///     pub struct Settings {
///         pub authenticated: bool,
///     }
///
///     #[endpoint(name = "session", method = "create")]
///     async fn login() -> Reply<Settings, &'static str> {
///         Reply::new("welcome").settings(Settings { authenticated: true })
///     }
/// }
/// ```
#[derive(Debug, Clone)]
#[must_use = "a reply does nothing unless the handler returns it"]
pub struct Reply<S, T = ()> {
    response: Option<T>,
    settings: Option<S>,
}

impl<S: PluginSettings, T: Serialize> Reply<S, T> {
    /// A reply with `response` as its `data` and no settings change (yet).
    pub fn new(response: T) -> Self {
        Self {
            response: Some(response),
            settings: None,
        }
    }

    /// Sets the connection's settings `S` to `settings` before the reply is sent.
    pub fn settings(mut self, settings: S) -> Self {
        self.settings = Some(settings);
        self
    }

    #[doc(hidden)]
    pub fn __into_outcome(self, connection: &Connection) -> Outcome {
        if let Some(settings) = self.settings {
            if let Err(error) = connection.set(settings) {
                tracing::error!(%error, "a handler returned settings of an unregistered plugin");
                return Outcome::internal_error();
            }
        }
        match &self.response {
            Some(response) => Outcome::data(response),
            None => Outcome::empty(),
        }
    }
}

impl<S: PluginSettings> Reply<S, ()> {
    /// Only a settings change; the reply's `data` is `{}`.
    pub fn only_settings(settings: S) -> Self {
        Self {
            response: None,
            settings: Some(settings),
        }
    }
}
