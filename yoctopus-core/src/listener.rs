//! What listeners return and what they receive beyond the extractors: the step a listener's
//! return value means, a request refused by a listener ([`Reject`]), a connection refused at the
//! upgrade ([`Refusal`]), and the change a setting listener hears of ([`Changed`]).
//!
//! The return value's meaning is found by trait, at compile time: `()` lets things pass, [`Data`]
//! replaces the data, `Err(Reject)` refuses the request, any other `Err` is a fault for the error
//! hook. The constants tell the runtime, before any request comes, whether a listener transforms
//! data, so that listeners that only look never force the slower reading of requests.

use std::any::{Any, TypeId};
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use serde_json::Value;

use crate::protocol::ErrorBody;
use crate::settings::{AnySettings, PluginSettings};

/// What a listener's return value asks for.
#[derive(Debug)]
pub enum Step {
    /// Carry on unchanged.
    Pass,
    /// Replace the request's or response's `data`.
    Replace(Value),
    /// Refuse the request with this error reply.
    Reject(ErrorBody),
    /// The listener failed; its message goes to the error hook.
    Failed(String),
}

/// The `data` a request or response listener sees: the request's `data` in `request_received`
/// (after the listeners before it), the response's `data` in `response_prepared`. A listener that
/// returns a `Data` replaces it for the listeners after it and for the handler or the client.
///
/// ```
/// # use yoctopus_core::prelude::*;
/// #[plugin]
/// mod stamp {
///     use yoctopus_core::prelude::*;
///
///     #[on(response_prepared)]
///     async fn add_server_time(mut data: Data) -> Data {
///         if let Some(object) = data.as_object_mut() {
///             object.insert("serverTime".into(), 1_700_000_000.into());
///         }
///         data
///     }
/// }
/// # fn main() {}
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Data(pub Value);

impl Data {
    /// The value inside.
    pub fn into_inner(self) -> Value {
        self.0
    }
}

impl From<Value> for Data {
    fn from(value: Value) -> Self {
        Self(value)
    }
}

impl Deref for Data {
    type Target = Value;

    fn deref(&self) -> &Value {
        &self.0
    }
}

impl DerefMut for Data {
    fn deref_mut(&mut self) -> &mut Value {
        &mut self.0
    }
}

/// A listener's return value.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be returned by a listener",
    label = "not a listener's return type",
    note = "a listener returns `()`, `Data` (the new data, in `request_received` and `response_prepared`), or `Result<T, E>` with `T` one of those and `E` either `Reject` (refuses the request, in `request_received`) or an error that implements `Display` (reported to the error hook)"
)]
pub trait ListenerOutput {
    /// Whether the value can replace `data`.
    const TRANSFORMS: bool = false;
    /// Whether the value can refuse the request.
    const REJECTS: bool = false;

    /// The step the value asks for.
    fn into_step(self) -> Step;
}

impl ListenerOutput for () {
    fn into_step(self) -> Step {
        Step::Pass
    }
}

impl ListenerOutput for Data {
    const TRANSFORMS: bool = true;

    fn into_step(self) -> Step {
        Step::Replace(self.0)
    }
}

impl<T: ListenerOutput, E: ListenerError> ListenerOutput for Result<T, E> {
    const TRANSFORMS: bool = T::TRANSFORMS;
    const REJECTS: bool = E::REJECTS;

    fn into_step(self) -> Step {
        match self {
            Ok(value) => value.into_step(),
            Err(error) => error.into_step(),
        }
    }
}

/// The error of a listener's `Result`: a [`Reject`], or any error with a message.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a listener's error",
    note = "a listener's error is `Reject` (refuses the request) or an error that implements `Display` (reported to the error hook)"
)]
pub trait ListenerError {
    /// Whether the error refuses the request.
    const REJECTS: bool;

    /// The step the error asks for.
    fn into_step(self) -> Step;
}

impl ListenerError for Reject {
    const REJECTS: bool = true;

    fn into_step(self) -> Step {
        Step::Reject(self.0)
    }
}

#[diagnostic::do_not_recommend]
impl<E: fmt::Display> ListenerError for E {
    const REJECTS: bool = false;

    fn into_step(self) -> Step {
        Step::Failed(self.to_string())
    }
}

/// A `request_received` listener's refusal: the client gets an error reply with this message,
/// the handler does not run, and the connection stays open.
///
/// ```
/// # use yoctopus_core::prelude::*;
/// #[plugin]
/// mod maintenance {
///     use yoctopus_core::prelude::*;
///
///     #[on(request_received)]
///     async fn refuse_writes(meta: Meta) -> Result<(), Reject> {
///         if meta.method == "read" {
///             Ok(())
///         } else {
///             Err(Reject::new("the server is read-only during maintenance"))
///         }
///     }
/// }
/// # fn main() {}
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject(ErrorBody);

impl Reject {
    /// A refusal with one message.
    pub fn new(message: impl Into<String>) -> Self {
        Self(ErrorBody::Message(message.into()))
    }

    /// A refusal with several messages (an array on the wire).
    pub fn list(messages: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Self(ErrorBody::List(
            messages.into_iter().map(Into::into).collect(),
        ))
    }
}

/// An upgrade check's refusal: the client's HTTP upgrade is answered with this status and
/// reason, and no WebSocket is created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    status: u16,
    reason: String,
}

impl Refusal {
    /// A refusal with an HTTP status from 400 to 599; any other status is sent as 403.
    pub fn new(status: u16, reason: impl Into<String>) -> Self {
        let status = if (400..600).contains(&status) {
            status
        } else {
            403
        };
        Self {
            status,
            reason: reason.into(),
        }
    }

    /// 401 Unauthorized: the client did not say who it is, or said it wrongly.
    pub fn unauthorized(reason: impl Into<String>) -> Self {
        Self::new(401, reason)
    }

    /// 403 Forbidden: the client is known but not allowed.
    pub fn forbidden(reason: impl Into<String>) -> Self {
        Self::new(403, reason)
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The reason, sent as the response body.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status, self.reason)
    }
}

/// Settings that an upgrade check gives the connection it admits; they are its settings from the
/// start, before any listener or request sees it.
pub struct InitialSettings {
    pub(crate) type_id: TypeId,
    pub(crate) settings: Arc<dyn AnySettings>,
}

impl fmt::Debug for InitialSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InitialSettings").finish_non_exhaustive()
    }
}

/// What an upgrade check's return value asks for: admit (with settings, or without), or refuse.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be returned by an upgrade check",
    label = "not an upgrade check's return type",
    note = "an upgrade check returns `Result<T, Refusal>` where `T` is `()` or a plugin's `#[settings]` struct (the connection's first settings of that plugin)"
)]
pub trait Admission {
    /// The check's verdict.
    fn into_admission(self) -> Result<Option<InitialSettings>, Refusal>;
}

impl Admission for () {
    fn into_admission(self) -> Result<Option<InitialSettings>, Refusal> {
        Ok(None)
    }
}

#[diagnostic::do_not_recommend]
impl<S: PluginSettings> Admission for S {
    fn into_admission(self) -> Result<Option<InitialSettings>, Refusal> {
        Ok(Some(InitialSettings {
            type_id: TypeId::of::<S>(),
            settings: Arc::new(self),
        }))
    }
}

impl<T: Admission> Admission for Result<T, Refusal> {
    fn into_admission(self) -> Result<Option<InitialSettings>, Refusal> {
        self.and_then(Admission::into_admission)
    }
}

/// A change of one setting, for the listeners of that setting: the new value, the old one, and
/// the setting's name as clients see it.
///
/// ```
/// # use yoctopus_core::prelude::*;
/// # #[plugin] pub mod auth {
/// #     #[settings] #[derive(Default, Clone)] pub struct Settings { pub authenticated: bool }
/// # }
/// #[plugin]
/// mod logger {
///     use yoctopus_core::prelude::*;
///
///     #[on(super::auth.authenticated)]
///     async fn authentication_changed(change: Changed<bool>, id: ConnectionId) {
///         tracing::info!(%id, "{}.{} is now {}", change.plugin(), change.setting(), change.value);
///     }
/// }
/// # fn main() {}
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Changed<T> {
    /// The new value.
    pub value: T,
    /// The value before.
    pub old: T,
    plugin: &'static str,
    setting: &'static str,
}

impl<T> Changed<T> {
    /// The plugin the setting belongs to.
    pub fn plugin(&self) -> &'static str {
        self.plugin
    }

    /// The setting's name, as clients and `get` see it.
    pub fn setting(&self) -> &'static str {
        self.setting
    }
}

/// What a setting listener's change argument is made from; only [`Changed<T>`] of the setting's
/// own type `T`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot receive changes of a `{T}` setting",
    label = "expected `Changed<{T}>`",
    note = "a listener of a setting takes `Changed<T>`, where `T` is the setting's type"
)]
pub trait ChangeOf<T> {
    /// The change from `old` to `value`.
    fn from_change(value: T, old: T, plugin: &'static str, setting: &'static str) -> Self;
}

impl<T> ChangeOf<T> for Changed<T> {
    fn from_change(value: T, old: T, plugin: &'static str, setting: &'static str) -> Self {
        Self {
            value,
            old,
            plugin,
            setting,
        }
    }
}

/// Reads a settings slot as its concrete type; used by generated setting listeners.
pub fn settings_of<S: PluginSettings>(slot: &dyn Any) -> Option<&S> {
    slot.downcast_ref::<S>()
}
