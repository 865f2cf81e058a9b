//! Procedural macros of Yoctopus. Use them through `yoctopus_core`, which re-exports them; their
//! output names everything through `::yoctopus_core::__private`.
//!
//! Each entry point parses, builds the model (collecting every error), and renders. Errors become
//! `compile_error!` at the user's tokens, next to the module as written.

mod attr;
mod case;
mod check;
mod errors;
mod expand;
mod main_fn;
mod model;
mod pushes;
mod requires;

use proc_macro::TokenStream;

/// Turns an inline module into a Yoctopus plugin.
///
/// ```
/// # use yoctopus_core::prelude::*;
/// #[plugin] // the plugin's name is the module's: "greeter"
/// mod greeter {
///     use yoctopus_core::prelude::*;
///
///     #[derive(RequestFormat)]
///     pub struct Hello {
///         pub name: String,
///     }
///
///     #[endpoint(name = "hello", method = "read")]
///     async fn hello(request: Hello) -> String {
///         format!("Hello, {}!", request.name)
///     }
/// }
///
/// let plugin = greeter::plugin(); // add it with `ServerBuilder::plugin`
/// ```
///
/// # Arguments
/// - `name = "..."`: the plugin's name, the part before `:` in endpoint names. Default: the
///   module's name. It cannot contain `:` or white space.
///
/// # What the module may contain
/// - at most one struct marked [`#[settings]`](macro@settings): the plugin's connection-scoped settings;
/// - functions marked [`#[endpoint]`](macro@endpoint);
/// - anything else a module holds, untouched.
///
/// # What it generates
/// Inside the module: `pub fn plugin() -> yoctopus_core::Plugin`; a static definition with the
/// endpoint table and a `match` that routes `(endpoint, method)` to each handler; one handler per
/// endpoint method that checks requirements, converts `data` with the request format and calls
/// your function; `PluginSettings` for the settings struct. Set `YOCTOPUS_MACROS_DEBUG=1` to print
/// the expansion while building.
#[proc_macro_attribute]
pub fn plugin(args: TokenStream, item: TokenStream) -> TokenStream {
    let item = proc_macro2::TokenStream::from(item);
    let output = match attr::PluginArgs::parse(args.into())
        .and_then(|args| model::Plugin::build(args, item.clone()))
    {
        Ok(plugin) => expand::render(&plugin),
        Err(errors) => expand::fallback(item, &errors),
    };
    debug_print("plugin", &output);
    output.into()
}

/// Marks an async function inside a [`#[plugin]`](macro@plugin) module as an endpoint method.
///
/// ```
/// # use yoctopus_core::prelude::*;
/// # #[plugin] mod auth {
/// #     #[settings] #[derive(Default, Clone)] pub struct Settings { pub authenticated: bool, pub roles: Vec<String> }
/// # }
/// #[plugin]
/// mod admin {
///     use yoctopus_core::prelude::*;
///     use super::auth;
///
///     #[endpoint(name = "dashboard", method = "read", requires(auth.authenticated, is_admin))]
///     async fn dashboard() -> &'static str {
///         "..."
///     }
///
///     async fn is_admin(connection: &Connection) -> bool {
///         connection.settings::<auth::Settings>().roles.iter().any(|role| role == "admin")
///     }
/// }
/// # fn main() {}
/// ```
///
/// # Arguments
/// - `method = "..."` (required): `read`, `create`, `update`, `delete` or any name.
/// - `name = "..."`: the endpoint's name; default: the function's name.
/// - `requires(...)` or `requires = ...`: conditions on the connection, all of which must hold:
///   - `plugin.setting` (a `bool` setting is true), `!plugin.setting`, or
///     `plugin.setting == value` with `==`, `!=`, `<`, `<=`, `>`, `>=`. `plugin` is a path to the
///     plugin's module (`auth`, `super::auth`, or `self` for this plugin). The compiler checks
///     that the setting exists and that the value has its type.
///   - the name of an `async fn(&Connection) -> bool`.
///
///   A request that fails one is answered `requirement not met: <requirement as written>`.
///
/// # Arguments of the function
/// Each argument is either the request (a [`RequestFormat`](derive@RequestFormat) type, at most
/// one) or an extractor: `Connection`, `ConnectionSettings<T>`, `ConnectionId`, `Notify`,
/// `State<T>`. A function without a request argument accepts any `data`.
///
/// # Return type
/// - nothing or `()`: the reply's `data` is `{}`;
/// - any `Serialize` type: the reply's `data`;
/// - `Reply<Settings, T>`: the settings are applied, then `T` is the reply's `data`;
/// - `Result<T, E>` with `T` as above and `E: Display`: an `Err` is an error reply with its message.
///
/// The shape is read from the written type, so spell `Result` and `Reply` by those names.
#[proc_macro_attribute]
pub fn endpoint(_args: TokenStream, item: TokenStream) -> TokenStream {
    outside_plugin("endpoint", item)
}

/// Marks an async function inside a [`#[plugin]`](macro@plugin) module as a listener: of a
/// lifecycle event, of a setting, or of upgrade requests.
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
///     #[on(connection_opened)]
///     async fn opened(id: ConnectionId, upgrade: UpgradeRequest) {
///         tracing::info!(%id, path = upgrade.path(), "connection opened");
///     }
///
///     #[on(connection_closed)]
///     async fn closed(id: ConnectionId, closed: Closed) {
///         tracing::info!(%id, code = closed.code, "connection closed");
///     }
///
///     #[on(super::auth.authenticated)]
///     async fn authenticated(change: Changed<bool>, id: ConnectionId) {
///         tracing::info!(%id, "auth changed to {}", change.value);
///     }
/// }
/// # fn main() {}
/// ```
///
/// # What it listens to
/// | `#[on(...)]` | when | may return |
/// | --- | --- | --- |
/// | `upgrade` | before the HTTP upgrade; no connection exists yet | `Result<(), Refusal>` or `Result<Settings, Refusal>`: refuse with an HTTP status, or admit (with the connection's first settings of this plugin) |
/// | `connection_opened` | after the upgrade, before the first request is read | `()` |
/// | `connection_closed` | once per connection, however it ended | `()` |
/// | `request_received` | before the request's format is checked | `Data` (replaces `data`), `Err(Reject)` (refuses the request) |
/// | `response_prepared` | after the handler, before the reply is sent | `Data` (replaces the reply's `data`) |
/// | `response_sent` | after the reply is handed to the connection's writer | `()` |
/// | `connection_changed` | a setting of any plugin changed | `()` |
/// | `plugin.setting` | that setting changed (and only if its value differs) | `()` |
///
/// Any of them may also return `Result<_, E>` with `E: Display`: an `Err` is logged and given to
/// the error hook, and the connection carries on. Listeners run in plugin registration order, and
/// each sees what the one before returned.
///
/// # Arguments
/// By type, as for endpoints: `Connection`, `ConnectionId`, `ConnectionSettings<T>`, `Notify`,
/// `State<T>`, `UpgradeRequest`; `Meta` where there is a request; `Data` in `request_received`
/// and `response_prepared`; `Closed` in `connection_closed`; `ConnectionChanged` in
/// `connection_changed`; `Changed<T>` in a setting listener, `T` being the setting's type. An
/// upgrade check takes only `UpgradeRequest` and `State<T>`. An argument asked for where it is
/// not available is a compile error at its type.
#[proc_macro_attribute]
pub fn on(_args: TokenStream, item: TokenStream) -> TokenStream {
    outside_plugin("on", item)
}

/// Marks an async function inside a [`#[plugin]`](macro@plugin) module as the server's handler of
/// binary messages, with requirements like an endpoint's: the original's `binaryHandler` and
/// `binaryHandlerRequirements`.
///
/// ```
/// # use yoctopus_core::prelude::*;
/// # #[plugin] pub mod auth {
/// #     #[settings] #[derive(Default, Clone)] pub struct Settings { pub authenticated: bool }
/// # }
/// #[plugin]
/// mod uploads {
///     use yoctopus_core::prelude::*;
///     use yoctopus_core::{Bytes, PushError};
///
///     #[binary(requires(super::auth.authenticated))]
///     async fn upload(bytes: Bytes, notify: Notify) -> Result<(), PushError> {
///         notify.send("binary-processed", &serde_json::json!({ "size": bytes.len() }))
///     }
/// }
/// # fn main() {}
/// ```
///
/// The function takes `Bytes` (the message) and any extractor of its connection
/// (`ConnectionSettings<T>`, `ConnectionId`, `Notify`, `Connection`, `State<T>`, ...). A message
/// that fails a requirement, or whose handler returns an `Err`, is answered with a push of type
/// `error` carrying `{"message": ...}`; the connection stays open. A server has at most one
/// binary handler.
#[proc_macro_attribute]
pub fn binary(_args: TokenStream, item: TokenStream) -> TokenStream {
    outside_plugin("binary", item)
}

/// Marks a function inside a [`#[plugin]`](macro@plugin) module that makes a value for every
/// handler and listener of the server, which receive it as `State<T>`: the original's
/// `passToListeners`. It runs once, when the server starts.
///
/// ```
/// # use yoctopus_core::prelude::*;
/// #[plugin]
/// mod clock {
///     use yoctopus_core::prelude::*;
///
///     /// Any plugin's handler can take `State<Clock>`.
///     pub struct Clock { pub offset_seconds: i64 }
///
///     #[provide]
///     fn clock() -> Clock {
///         Clock { offset_seconds: 0 }
///     }
/// }
/// # fn main() {}
/// ```
#[proc_macro_attribute]
pub fn provide(_args: TokenStream, item: TokenStream) -> TokenStream {
    outside_plugin("provide", item)
}

/// Declares, inside a [`#[plugin]`](macro@plugin) module, a push the plugin sends: a struct or
/// enum carried as the push's `data`, with the push's `meta.type` as the argument.
///
/// The type implements `yoctopus_core::PushMessage`, so `Push::of(&value)` makes the push
/// without naming its type again, and the API description (`api:api`, the JSON Schema and
/// AsyncAPI documents) lists it with its JSON Schema and its doc comment. The type must be
/// `Serialize` and `schemars::JsonSchema`.
///
/// ```
/// # use yoctopus_core::prelude::*;
/// #[plugin]
/// mod room {
///     use yoctopus_core::prelude::*;
///
///     /// Someone joined the room.
///     #[push("joined")]
///     #[derive(serde::Serialize, schemars::JsonSchema)]
///     pub struct Joined {
///         pub user: String,
///     }
/// }
///
/// let push = Push::of(&room::Joined { user: "ada".into() }).unwrap();
/// assert_eq!(push.as_json(), r#"{"meta":{"method":"notify","type":"joined"},"data":{"user":"ada"}}"#);
/// ```
#[proc_macro_attribute]
pub fn push(_args: TokenStream, item: TokenStream) -> TokenStream {
    outside_plugin("push", item)
}

/// Marks the struct inside a [`#[plugin]`](macro@plugin) module that holds its connection-scoped
/// settings.
///
/// Every connection starts with `Default::default()`; the struct must also be `Clone`, and its
/// fields `Serialize` (so that `Connection::get("plugin", "field")` can read them as JSON).
///
/// Settings are named on the wire (in `get`, exports, filters and requirement errors) by their
/// field names, or as `#[settings(rename_all = "camelCase")]` on the struct and
/// `#[settings(rename = "isAdmin")]` on a field say, so that a port keeps the original's names.
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
///         pub user_id: Option<String>,
///         pub roles: Vec<String>,
///     }
/// }
/// ```
#[proc_macro_attribute]
pub fn settings(_args: TokenStream, item: TokenStream) -> TokenStream {
    outside_plugin("settings", item)
}

/// A settings filter checked by the compiler: which connections a multicast or a register query
/// is about, written like requirements.
///
/// ```
/// # use yoctopus_core::prelude::*;
/// # #[plugin] pub mod auth {
/// #     #[settings] #[derive(Default, Clone)]
/// #     pub struct Settings { pub is_admin: bool, pub user_id: Option<String>, pub banned: bool }
/// # }
/// use yoctopus_core::filter;
///
/// let admins = filter!(auth.is_admin, !auth.banned);
/// let alice = filter!(auth.user_id == Some("alice".to_owned()));
/// // The same as the original's JSON form:
/// assert_eq!(
///     admins,
///     yoctopus_core::SettingsFilter::from_json(serde_json::json!({"auth": {"is_admin": true, "banned": false}})).unwrap()
/// );
/// # let _ = alice;
/// ```
///
/// Each condition is `plugin.setting == value`, `plugin.setting` (a `bool` setting that is true)
/// or `!plugin.setting`, `plugin` being a path to the plugin's module; all must hold. A setting
/// the plugin does not declare, or a value of another type, does not build. Fields below a
/// setting (`auth.profile.city == "Oslo"`) match as the JSON filter does: the setting's object
/// must hold that field with that value.
#[proc_macro]
pub fn filter(input: TokenStream) -> TokenStream {
    let output = expand::filter(input.into());
    debug_print("filter!", &output);
    output.into()
}

/// Derives a request format: the checks and conversion of an endpoint's `data`.
///
/// ```
/// # use yoctopus_core::prelude::*;
/// #[derive(RequestFormat)]
/// #[format(rename_all = "camelCase")]
/// pub struct Update {
///     pub user_id: String,           // key "userId": a string
///     pub email: Email,              // an email address
///     pub status: Status,            // "active" | "inactive" | "pending"
///     #[format(with = positive)]
///     pub credit: f64,               // a number that `positive` accepts
///     pub address: Option<Address>,  // an optional nested object
/// }
///
/// #[derive(RequestFormat)]
/// pub enum Status { Active, Inactive, Pending }
///
/// #[derive(RequestFormat)]
/// pub struct Address { pub street: String, pub zip: String }
///
/// fn positive(value: &f64) -> bool {
///     *value > 0.0
/// }
/// ```
///
/// # Attributes
/// - on the type: `#[format(rename_all = "...")]` with `lowercase`, `UPPERCASE`, `PascalCase`,
///   `camelCase`, `snake_case`, `SCREAMING_SNAKE_CASE` or `kebab-case`. Enum values default to
///   `snake_case`; struct keys to the field names as written.
/// - on a struct: `#[format(deny_unknown_keys)]`: a key the struct does not declare is an error
///   (`nickname: unknown key; expected one of `name`, `age``), and the schema says
///   `"additionalProperties": false`. Without it, unknown keys are accepted and ignored, as the
///   original's request formats do.
/// - on a field: `#[format(rename = "key")]`, and `#[format(with = function)]` where
///   `function(&T)` returns `bool` or `Result<(), impl Display>`.
/// - on a variant: `#[format(rename = "value")]`.
///
/// # What it generates
/// `RequestFormat` (one walk over the JSON value that reports every failing field with its path)
/// and `schemars::JsonSchema`.
#[proc_macro_derive(RequestFormat, attributes(format))]
pub fn request_format(input: TokenStream) -> TokenStream {
    let output = expand::derive_request_format(input.into());
    debug_print("RequestFormat", &output);
    output.into()
}

/// `#[endpoint]` and `#[settings]` are read and removed by `#[plugin]`; reaching their own macro
/// means they stand outside a plugin module.
fn outside_plugin(name: &str, item: TokenStream) -> TokenStream {
    let item = proc_macro2::TokenStream::from(item);
    let error = syn::Error::new(
        proc_macro2::Span::call_site(),
        format!("`#[{name}]` belongs inside a `#[plugin]` module; move this item into a `#[plugin] mod name {{ ... }}`"),
    )
    .to_compile_error();
    quote::quote!(#error #item).into()
}

/// Runs an `async fn main` on the runtime Yoctopus servers run best on, as `#[tokio::main]` does
/// on tokio's default: [`yoctopus_core::runtime::build`](../yoctopus_core/runtime/fn.build.html),
/// tokio's current-thread scheduler when the process may use a single core (where it serves a
/// thousand busy connections in turn, and tokio's multi-thread scheduler does not), the
/// multi-thread one otherwise.
///
/// ```no_run
/// #[yoctopus_core::main]
/// async fn main() -> Result<(), yoctopus_core::ServerError> {
///     let server = yoctopus_core::Server::builder().port(3000).start().await?;
///     server.run_until(async { tokio::signal::ctrl_c().await.ok(); }).await;
///     Ok(())
/// }
/// ```
///
/// It takes no arguments; the function must be `async`, without parameters or generics.
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    let output = main_fn::render(args.into(), item.into());
    debug_print("main", &output);
    output.into()
}

fn debug_print(macro_name: &str, output: &proc_macro2::TokenStream) {
    if std::env::var_os("YOCTOPUS_MACROS_DEBUG").is_some_and(|value| value == "1") {
        eprintln!("--- #[{macro_name}] expansion ---\n{output}");
    }
}
