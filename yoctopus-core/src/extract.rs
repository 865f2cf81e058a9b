//! What a handler can ask for by naming it as an argument, in the manner of axum's extractors.
//!
//! Every argument of an `#[endpoint]` function implements [`FromCall`]: the request itself (any
//! [`RequestFormat`]), or one of the extractors here. The associated constants let the macro learn
//! at compile time which argument reads `data`, its format and schema, and which settings or state
//! the handler needs, so that the server checks those needs when it starts, not when a request comes.

use std::any::{type_name, Any, TypeId};
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use schemars::{Schema, SchemaGenerator};
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::Value;

use crate::connection::{Connection, ConnectionId, PluginSettings, SettingsDef};
use crate::error::PushError;
use crate::plugin::ReadData;
use crate::protocol::{ErrorBody, Outcome, Push};
use crate::validate::{validate, Fast, RequestFormat};

/// One request on its way to a handler: the connection it came on and its `data`.
pub struct Call {
    connection: Connection,
    data: RequestData,
}

/// A request's `data`: already read into the endpoint's request type (when `data` followed `meta`
/// and fitted the format), or still the JSON text the client sent.
pub enum RequestData {
    /// The request, read while the envelope was read.
    Read(Box<dyn Any + Send>),
    /// `data` as sent.
    Text(Box<RawValue>),
}

impl Call {
    pub(crate) fn new(connection: Connection, data: RequestData) -> Self {
        Self { connection, data }
    }

    /// The connection the request came on.
    pub fn connection(&self) -> &Connection {
        &self.connection
    }

    /// Takes `data` out (leaving `null`).
    pub fn take_data(&mut self) -> RequestData {
        std::mem::replace(&mut self.data, RequestData::Text(RawValue::NULL.to_owned()))
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

/// A handler argument.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a handler argument",
    note = "a handler argument is a request format (`#[derive(RequestFormat)]`, `String`, ...) or an extractor: `Connection`, `ConnectionSettings<T>` where `T` is a plugin's `#[settings]` struct, `ConnectionId`, `Notify` or `State<T>`"
)]
pub trait FromCall: Sized {
    /// Whether this argument consumes `data` (only the request does).
    const READS_DATA: bool = false;
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
        };
        if let Ok(Fast(request)) = serde_json::from_str::<Fast<T>>(data.get()) {
            return Ok(request);
        }
        let value = serde_json::from_str(data.get()).unwrap_or(Value::Null);
        validate(value).map_err(|errors| Outcome::Error(ErrorBody::List(errors.into_messages())))
    }
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

/// Shared state given to [`ServerBuilder::state`](crate::ServerBuilder::state): the original's
/// `staticEndpointArguments`, by type.
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
        match call.connection.runtime().state::<T>() {
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
