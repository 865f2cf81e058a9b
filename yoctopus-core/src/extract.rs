//! What a handler or listener can ask for by naming it as an argument, in the manner of axum's
//! extractors.
//!
//! Every argument of an `#[endpoint]` or `#[on(...)]` function implements [`FromCall`]: the request
//! itself (any [`RequestFormat`]), or one of the extractors here. The associated constants let the
//! macro learn at compile time which argument reads `data`, its format and schema, where the
//! argument is available, and which settings or state the function needs, so that the server
//! checks those needs when it starts, not when a request comes.

use std::any::{type_name, Any, TypeId};
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use schemars::{Schema, SchemaGenerator};
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::Value;

use crate::connection::{Connection, ConnectionId, UpgradeRequest};
use crate::connections::Connections;
use crate::error::PushError;
use crate::listener::{Data, Refusal};
use crate::protocol::{ErrorBody, Meta, Outcome, Push, ReadData};
use crate::services::Services;
use crate::settings::{PluginSettings, SettingsDef};
use crate::validate::{validate, Fast, RequestFormat};

/// Where an argument can be asked for: one bit per kind of function.
pub mod scope {
    /// An `#[endpoint]` handler.
    pub const ENDPOINT: u16 = 1;
    /// A `connection_opened` listener.
    pub const OPENED: u16 = 1 << 1;
    /// A `connection_closed` listener.
    pub const CLOSED: u16 = 1 << 2;
    /// A `request_received` listener.
    pub const REQUEST_RECEIVED: u16 = 1 << 3;
    /// A `response_prepared` listener.
    pub const RESPONSE_PREPARED: u16 = 1 << 4;
    /// A `response_sent` listener.
    pub const RESPONSE_SENT: u16 = 1 << 5;
    /// A `connection_changed` listener.
    pub const CONNECTION_CHANGED: u16 = 1 << 6;
    /// A listener of one setting.
    pub const SETTING: u16 = 1 << 7;
    /// A `#[binary]` handler.
    pub const BINARY: u16 = 1 << 8;
    /// Everywhere a connection exists.
    pub const ANY: u16 = u16::MAX;
    /// Wherever there is a request.
    pub const REQUEST: u16 = ENDPOINT | REQUEST_RECEIVED | RESPONSE_PREPARED | RESPONSE_SENT;
}

/// One call of a handler or listener: the connection it is about, the application's services,
/// and what the event carries (the request's `meta` and `data`, a close code, ...).
pub struct Call {
    connection: Connection,
    services: Arc<Services>,
    data: RequestData,
    /// What only listeners and some handlers need, boxed so that the plain request's `Call`
    /// (moved into every handler's future) stays small.
    extra: Option<Box<Extra>>,
}

/// The parts of a call beyond the connection and `data`.
#[derive(Debug, Default)]
struct Extra {
    meta: Option<Meta>,
    event: Event,
    /// The upgrade request, for `connection_opened` listeners.
    upgrade: Option<UpgradeRequest>,
}

/// A request's `data`: already read into the endpoint's request type (when `data` followed `meta`
/// and fitted the format), still the JSON text the client sent, or a value that a listener saw.
pub enum RequestData {
    /// The request, read while the envelope was read.
    Read(Box<dyn Any + Send>),
    /// `data` as sent.
    Text(Box<RawValue>),
    /// `data` as a value (after request listeners, or a response for response listeners).
    Value(Box<Value>),
    /// A binary message.
    Binary(Box<bytes::Bytes>),
}

/// What else an event carries.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) enum Event {
    /// Nothing beyond the connection and the request.
    #[default]
    Plain,
    /// The connection closed with this code.
    Closed(u16),
    /// Settings of this plugin changed.
    Changed(&'static str),
}

impl Call {
    pub(crate) fn new(connection: Connection, services: Arc<Services>, data: RequestData) -> Self {
        Self {
            connection,
            services,
            data,
            extra: None,
        }
    }

    pub(crate) fn with_meta(mut self, meta: Option<Meta>) -> Self {
        if meta.is_some() || self.extra.is_some() {
            self.extra.get_or_insert_with(Box::default).meta = meta;
        }
        self
    }

    pub(crate) fn with_event(mut self, event: Event) -> Self {
        self.extra.get_or_insert_with(Box::default).event = event;
        self
    }

    pub(crate) fn with_upgrade(mut self, upgrade: UpgradeRequest) -> Self {
        self.extra.get_or_insert_with(Box::default).upgrade = Some(upgrade);
        self
    }

    fn meta(&self) -> Option<&Meta> {
        self.extra.as_ref()?.meta.as_ref()
    }

    fn event(&self) -> Event {
        self.extra
            .as_ref()
            .map_or(Event::Plain, |extra| extra.event)
    }

    /// The connection the call is about.
    pub fn connection(&self) -> &Connection {
        &self.connection
    }

    pub(crate) fn services(&self) -> &Arc<Services> {
        &self.services
    }

    /// Takes `data` out (leaving `null`).
    pub fn take_data(&mut self) -> RequestData {
        std::mem::replace(&mut self.data, RequestData::Text(RawValue::NULL.to_owned()))
    }

    pub(crate) fn set_data(&mut self, data: RequestData) {
        self.data = data;
    }

    /// `data` as a value for a listener; text is parsed once and kept as a value.
    pub(crate) fn data_value(&mut self) -> &Value {
        if !matches!(self.data, RequestData::Value(_)) {
            let value = match self.take_data() {
                RequestData::Text(raw) => serde_json::from_str(raw.get()).unwrap_or(Value::Null),
                // Listeners that read data switch the one-pass reading off, so data is never
                // typed before they run.
                RequestData::Read(_) | RequestData::Value(_) | RequestData::Binary(_) => {
                    Value::Null
                }
            };
            self.data = RequestData::Value(Box::new(value));
        }
        match &self.data {
            RequestData::Value(value) => value,
            _ => unreachable!("set to a value just above"),
        }
    }
}

impl fmt::Debug for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Call")
            .field("connection", &self.connection)
            .finish_non_exhaustive()
    }
}

/// Something a handler needs from the server, checked when the server starts.
#[derive(Debug, Clone, Copy)]
pub enum Need {
    /// Nothing.
    Nothing,
    /// The settings of another plugin, which must be registered.
    Settings(SettingsDef),
    /// Shared state of a type, which must be given to the builder.
    State {
        /// The state's type.
        type_id: fn() -> TypeId,
        /// Its name, for the error message.
        type_name: fn() -> &'static str,
    },
}

/// A handler or listener argument.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a handler or listener argument",
    note = "a handler argument is a request format (`#[derive(RequestFormat)]`, `String`, ...) or an extractor: `Connection`, `ConnectionSettings<T>` where `T` is a plugin's `#[settings]` struct, `ConnectionId`, `Notify`, `State<T>`, `Meta` or `UpgradeRequest`; listeners also take `Data`, `Closed` and `ConnectionChanged`"
)]
pub trait FromCall: Sized {
    /// Where this argument is available: a set of [`scope`] bits.
    const SCOPE: u16 = scope::ANY;
    /// Whether this argument consumes `data` (the request, or a listener's [`Data`]).
    const READS_DATA: bool = false;
    /// Whether this argument needs the request's `meta`.
    const READS_META: bool = false;
    /// Whether this argument needs the connection's upgrade request kept after it opened.
    const KEEPS_UPGRADE: bool = false;
    /// The request's format in the original notation, when this argument is the request.
    const FORMAT: Option<fn() -> Value> = None;
    /// The request's JSON Schema, when this argument is the request.
    const SCHEMA: Option<fn(&mut SchemaGenerator) -> Schema> = None;
    /// What the server must provide for this argument.
    const NEED: Need = Need::Nothing;
    /// Reads the request while the envelope is read, when this argument is the request.
    const READ: Option<ReadData> = None;

    /// Produces the argument, or the reply that ends the request instead.
    fn from_call(call: &mut Call) -> Result<Self, Outcome>;
}

impl<T: RequestFormat + Send + 'static> FromCall for T {
    const SCOPE: u16 = scope::ENDPOINT;
    const READS_DATA: bool = true;
    const READ: Option<ReadData> = Some(read_data::<T>);
    const FORMAT: Option<fn() -> Value> = Some(T::describe);
    const SCHEMA: Option<fn(&mut SchemaGenerator) -> Schema> = Some(schema_of::<T>);

    /// Takes the request read with the envelope, or reads `data` straight into `T` in one pass.
    /// Only when that fails is `data` parsed into a tree and walked, to report every failing field
    /// with its path (or to accept what only the walk accepts, such as a whole number written `2.0`).
    fn from_call(call: &mut Call) -> Result<Self, Outcome> {
        let data = match call.take_data() {
            RequestData::Read(request) => match request.downcast::<T>() {
                Ok(request) => return Ok(*request),
                // A method's reader reads its own request type, so this is not reached.
                Err(_) => return Err(Outcome::internal_error()),
            },
            RequestData::Text(data) => data,
            RequestData::Value(value) => return validate_value(*value),
            // Request formats are only for endpoints, which never get binary messages.
            RequestData::Binary(_) => return Err(Outcome::internal_error()),
        };
        if let Ok(Fast(request)) = serde_json::from_str::<Fast<T>>(data.get()) {
            return Ok(request);
        }
        let value = serde_json::from_str(data.get()).unwrap_or(Value::Null);
        validate(value).map_err(|errors| Outcome::Error(ErrorBody::List(errors.into_messages())))
    }
}

/// `data` that a request listener gave as a value: read by the fast way through serde, or walked.
fn validate_value<T: RequestFormat>(value: Value) -> Result<T, Outcome> {
    if let Ok(request) = T::deserialize_fast(&value) {
        return Ok(request);
    }
    validate(value).map_err(|errors| Outcome::Error(ErrorBody::List(errors.into_messages())))
}

/// [`ReadData`] for `T`: one value read by its fast way from where `text` starts.
fn read_data<T: RequestFormat + Send + 'static>(
    text: &str,
) -> Option<(Box<dyn Any + Send>, usize)> {
    let mut values = serde_json::Deserializer::from_str(text).into_iter::<Fast<T>>();
    match values.next() {
        Some(Ok(Fast(request))) => Some((Box::new(request), values.byte_offset())),
        _ => None,
    }
}

fn schema_of<T: RequestFormat>(generator: &mut SchemaGenerator) -> Schema {
    generator.subschema_for::<T>()
}

impl FromCall for Connection {
    fn from_call(call: &mut Call) -> Result<Self, Outcome> {
        Ok(call.connection.clone())
    }
}

impl FromCall for ConnectionId {
    fn from_call(call: &mut Call) -> Result<Self, Outcome> {
        Ok(call.connection.id())
    }
}

/// A snapshot of plugin settings `T` on the requesting connection, taken when the request arrived.
///
/// ```
/// # use yoctopus_core::prelude::*;
/// # #[plugin] mod auth {
/// #     #[settings] #[derive(Default, Clone)] pub struct Settings { pub user_id: Option<String> }
/// # }
/// #[plugin]
/// mod profile {
///     use yoctopus_core::prelude::*;
///
///     #[endpoint(name = "profile", method = "read")]
///     async fn read(auth: ConnectionSettings<super::auth::Settings>) -> serde_json::Value {
///         serde_json::json!({ "userId": auth.user_id })
///     }
/// }
/// # fn main() {}
/// ```
#[derive(Debug, Clone)]
pub struct ConnectionSettings<T>(Arc<T>);

impl<T> Deref for ConnectionSettings<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: PluginSettings> FromCall for ConnectionSettings<T> {
    const NEED: Need = Need::Settings(SettingsDef::of::<T>());

    fn from_call(call: &mut Call) -> Result<Self, Outcome> {
        Ok(Self(call.connection.settings::<T>()))
    }
}

/// Pushes messages to the requesting connection: the original's `notify`.
#[derive(Debug, Clone)]
pub struct Notify(Connection);

impl Notify {
    /// Sends `{"meta":{"method":"notify","type":kind},"data":data}` without waiting.
    pub fn send<T: Serialize + ?Sized>(&self, kind: &str, data: &T) -> Result<(), PushError> {
        self.0
            .notify(Push::new(kind, data).map_err(PushError::Serialize)?)
    }
}

impl FromCall for Notify {
    fn from_call(call: &mut Call) -> Result<Self, Outcome> {
        Ok(Self(call.connection.clone()))
    }
}

/// Shared state by type: given to [`ServerBuilder::state`](crate::ServerBuilder::state) (the
/// original's `staticEndpointArguments`), or provided by a plugin (`#[provide]`,
/// [`Plugin::provide`](crate::Plugin::provide): the original's `passToListeners`).
#[derive(Debug)]
pub struct State<T>(Arc<T>);

impl<T> Clone for State<T> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<T> Deref for State<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: Any + Send + Sync> FromCall for State<T> {
    const NEED: Need = Need::State {
        type_id: TypeId::of::<T>,
        type_name: type_name::<T>,
    };

    fn from_call(call: &mut Call) -> Result<Self, Outcome> {
        match call.services.state::<T>() {
            Some(state) => Ok(Self(state)),
            None => {
                tracing::error!(
                    state = type_name::<T>(),
                    "a handler asked for state that is missing"
                );
                Err(Outcome::internal_error())
            }
        }
    }
}

/// Logs tagged with the connection.
impl FromCall for crate::logs::Log {
    fn from_call(call: &mut Call) -> Result<Self, Outcome> {
        Ok(Self::new(call.connection.id()))
    }
}

/// The message a `#[binary]` handler handles.
impl FromCall for bytes::Bytes {
    const SCOPE: u16 = scope::BINARY;
    const READS_DATA: bool = true;

    fn from_call(call: &mut Call) -> Result<Self, Outcome> {
        match call.take_data() {
            RequestData::Binary(bytes) => Ok(*bytes),
            _ => Err(Outcome::internal_error()),
        }
    }
}

/// The connection register: notify, close, count, list, export and select connections.
impl FromCall for Connections {
    fn from_call(call: &mut Call) -> Result<Self, Outcome> {
        Ok(call.services.connections().clone())
    }
}

/// The API the server serves now, and its changes.
impl FromCall for crate::served_api::ServedApi {
    fn from_call(call: &mut Call) -> Result<Self, Outcome> {
        Ok(call.services.api())
    }
}

impl FromCall for UpgradeRequest {
    const KEEPS_UPGRADE: bool = true;

    fn from_call(call: &mut Call) -> Result<Self, Outcome> {
        let opening = call.extra.as_ref().and_then(|extra| extra.upgrade.as_ref());
        // Kept whenever a plugin asks for it past `connection_opened` (`KEEPS_UPGRADE`).
        opening
            .or(call.connection.upgrade_request())
            .cloned()
            .ok_or_else(Outcome::internal_error)
    }
}

/// The request's `meta` as the client sent it: its id (a string or a number, as sent), the
/// endpoint as the client named it (an alias stays the alias) and the method.
impl FromCall for Meta {
    const SCOPE: u16 = scope::REQUEST;
    const READS_META: bool = true;

    fn from_call(call: &mut Call) -> Result<Self, Outcome> {
        call.meta().cloned().ok_or_else(Outcome::internal_error)
    }
}

impl FromCall for Data {
    const SCOPE: u16 = scope::REQUEST_RECEIVED | scope::RESPONSE_PREPARED;
    const READS_DATA: bool = true;

    fn from_call(call: &mut Call) -> Result<Self, Outcome> {
        Ok(Self(call.data_value().clone()))
    }
}

/// How a connection ended, for `connection_closed` listeners: the close code sent or received,
/// or 1006 when the socket ended without a close frame (the client vanished or stopped answering
/// pings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Closed {
    /// The close code.
    pub code: u16,
}

impl FromCall for Closed {
    const SCOPE: u16 = scope::CLOSED;

    fn from_call(call: &mut Call) -> Result<Self, Outcome> {
        match call.event() {
            Event::Closed(code) => Ok(Self { code }),
            _ => Err(Outcome::internal_error()),
        }
    }
}

/// Which plugin's settings changed, for `connection_changed` listeners.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionChanged {
    /// The plugin whose settings changed.
    pub plugin: &'static str,
}

impl FromCall for ConnectionChanged {
    const SCOPE: u16 = scope::CONNECTION_CHANGED;

    fn from_call(call: &mut Call) -> Result<Self, Outcome> {
        match call.event() {
            Event::Changed(plugin) => Ok(Self { plugin }),
            _ => Err(Outcome::internal_error()),
        }
    }
}

/// The first `Some` of a list of constants; lets generated statics pick the request's format.
pub const fn first_some<T: Copy>(options: &[Option<T>]) -> Option<T> {
    let mut index = 0;
    while index < options.len() {
        if let Some(found) = options[index] {
            return Some(found);
        }
        index += 1;
    }
    None
}

/// Whether any of a list of flags is set; lets generated statics combine their arguments' flags.
pub const fn any(flags: &[bool]) -> bool {
    let mut index = 0;
    while index < flags.len() {
        if flags[index] {
            return true;
        }
        index += 1;
    }
    false
}

/// An upgrade check on its way to the plugin's function: the upgrade request and the services.
pub struct UpgradeCall {
    upgrade: UpgradeRequest,
    services: Arc<Services>,
}

impl UpgradeCall {
    pub(crate) fn new(upgrade: UpgradeRequest, services: Arc<Services>) -> Self {
        Self { upgrade, services }
    }

    pub(crate) fn into_upgrade(self) -> UpgradeRequest {
        self.upgrade
    }
}

impl fmt::Debug for UpgradeCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UpgradeCall")
            .field("upgrade", &self.upgrade)
            .finish_non_exhaustive()
    }
}

/// An argument of an upgrade check (`#[on(upgrade)]`): there is no connection yet, only the
/// request and the shared state.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an argument of an upgrade check",
    label = "not available before the connection exists",
    note = "an upgrade check (`#[on(upgrade)]`) takes `UpgradeRequest` and `State<T>`; the connection exists only once the check admits it"
)]
pub trait FromUpgrade: Sized {
    /// What the server must provide for this argument.
    const NEED: Need = Need::Nothing;

    /// Produces the argument, or the refusal that ends the check.
    fn from_upgrade(call: &UpgradeCall) -> Result<Self, Refusal>;
}

impl FromUpgrade for UpgradeRequest {
    fn from_upgrade(call: &UpgradeCall) -> Result<Self, Refusal> {
        Ok(call.upgrade.clone())
    }
}

impl<T: Any + Send + Sync> FromUpgrade for State<T> {
    const NEED: Need = <Self as FromCall>::NEED;

    fn from_upgrade(call: &UpgradeCall) -> Result<Self, Refusal> {
        call.services
            .state::<T>()
            .map(Self)
            .ok_or_else(|| Refusal::new(500, "internal error"))
    }
}
