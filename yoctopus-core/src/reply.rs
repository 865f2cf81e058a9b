//! What a handler returns when it changes settings as well: the original's `{settings, response}`.

use serde::Serialize;

use crate::connection::Connection;
use crate::protocol::Outcome;
use crate::settings::PluginSettings;

/// A response together with a settings change for the connection: the original's
/// `{settings, response}`.
///
/// [`settings`](Self::settings) replaces the plugin's whole settings; [`change`](Self::change)
/// changes only the fields it assigns. Either is applied before the response is sent, so a
/// request the client sends after reading the response already sees it.
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
#[must_use = "a reply does nothing unless the handler returns it"]
pub struct Reply<S, T = ()> {
    response: Option<T>,
    settings: Option<SettingsChange<S>>,
}

/// How a reply changes settings: all of them, or only the fields a closure assigns.
enum SettingsChange<S> {
    Replace(S),
    Change(Box<dyn FnOnce(&mut S) + Send>),
}

impl<S: PluginSettings, T: Serialize> Reply<S, T> {
    /// A reply with `response` as its `data` and no settings change (yet).
    pub fn new(response: T) -> Self {
        Self {
            response: Some(response),
            settings: None,
        }
    }

    /// Replaces the connection's settings `S` with `settings` before the reply is sent: every
    /// field takes the value given here.
    pub fn settings(mut self, settings: S) -> Self {
        self.settings = Some(SettingsChange::Replace(settings));
        self
    }

    /// Changes only the fields that `change` assigns, keeping the others as they are: the
    /// original's `{settings: {authenticated: true}}`, which names only the keys it changes.
    ///
    /// ```
    /// # use yoctopus_core::prelude::*;
    /// # #[plugin] mod auth {
    /// #     use yoctopus_core::prelude::*;
    /// #     #[settings] #[derive(Default, Clone)]
    /// #     pub struct Settings { pub authenticated: bool, pub login_count: u32 }
    /// #[endpoint(name = "session", method = "create")]
    /// async fn login() -> Reply<Settings, &'static str> {
    ///     Reply::new("welcome").change(|auth: &mut Settings| {
    ///         auth.authenticated = true;
    ///         auth.login_count += 1;
    ///     })
    /// }
    /// # }
    /// ```
    pub fn change(mut self, change: impl FnOnce(&mut S) + Send + 'static) -> Self {
        self.settings = Some(SettingsChange::Change(Box::new(change)));
        self
    }

    #[doc(hidden)]
    pub fn __into_outcome(self, connection: &Connection) -> Outcome {
        let applied = match self.settings {
            Some(SettingsChange::Replace(settings)) => connection.set(settings),
            Some(SettingsChange::Change(change)) => connection.update(change),
            None => Ok(()),
        };
        if let Err(error) = applied {
            tracing::error!(%error, "a handler returned settings of an unregistered plugin");
            return Outcome::internal_error();
        }
        match &self.response {
            Some(response) => Outcome::data(response),
            None => Outcome::empty(),
        }
    }
}

impl<S: PluginSettings> Reply<S, ()> {
    /// Only a settings change, replacing every field; the reply's `data` is `{}`.
    pub fn only_settings(settings: S) -> Self {
        Self {
            response: None,
            settings: Some(SettingsChange::Replace(settings)),
        }
    }

    /// Only a change of the fields `change` assigns; the reply's `data` is `{}`.
    pub fn only_change(change: impl FnOnce(&mut S) + Send + 'static) -> Self {
        Self {
            response: None,
            settings: Some(SettingsChange::Change(Box::new(change))),
        }
    }
}

impl<S, T: std::fmt::Debug> std::fmt::Debug for Reply<S, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let settings = match &self.settings {
            Some(SettingsChange::Replace(_)) => "replaced",
            Some(SettingsChange::Change(_)) => "changed",
            None => "unchanged",
        };
        f.debug_struct("Reply")
            .field("response", &self.response)
            .field("settings", &settings)
            .finish()
    }
}
