//! Endpoint aliases, and the server definitions `ServerBuilder::start` refuses: duplicate plugins,
//! bad or clashing aliases, a plugin that reads settings of a missing plugin, missing state.

mod common;

use common::{start, Client};
use serde_json::{json, Value};
use yoctopus_core::{plugin, ConfigError, Plugin, Server, ServerError};

#[plugin]
mod user {
    use serde_json::{json, Value};

    #[endpoint(name = "user", method = "read")]
    async fn read() -> Value {
        json!({"name": "Ada"})
    }

    #[endpoint(name = "user", method = "update")]
    async fn update(name: String) -> Value {
        json!({"name": name})
    }

    #[endpoint(name = "avatar", method = "read")]
    async fn avatar() -> &'static str {
        "avatar.png"
    }
}

#[plugin]
mod billing {
    #[endpoint(name = "invoice", method = "read")]
    async fn invoice() -> u32 {
        42
    }
}

#[plugin]
mod auth {
    #[settings]
    #[derive(Default, Clone)]
    pub(crate) struct Settings {
        pub(crate) authenticated: bool,
    }
}

/// Reads auth's settings through a requirement only.
#[plugin]
mod guarded {
    use super::auth;

    #[endpoint(name = "page", method = "read", requires(auth.authenticated))]
    async fn page() -> &'static str {
        "page"
    }
}

/// Reads auth's settings through a handler argument only.
#[plugin]
mod reader {
    use yoctopus_core::prelude::*;

    #[endpoint(name = "status", method = "read")]
    async fn status(auth: ConnectionSettings<super::auth::Settings>) -> bool {
        auth.authenticated
    }
}

pub(crate) struct Config {
    greeting: &'static str,
}

#[plugin]
mod configured {
    use yoctopus_core::prelude::*;

    #[endpoint(name = "greeting", method = "read")]
    async fn greeting(config: State<super::Config>) -> &'static str {
        config.greeting
    }
}

/// Starts a server with `plugins` and returns the configuration error it is refused with.
async fn refusal(builder: yoctopus_core::ServerBuilder, plugins: Vec<Plugin>) -> ConfigError {
    let builder = plugins
        .into_iter()
        .fold(builder.host([127, 0, 0, 1]).port(0), |builder, plugin| {
            builder.plugin(plugin)
        });
    match builder.start().await {
        Err(ServerError::Config(error)) => error,
        Err(other) => panic!("expected a configuration error, got {other:?}"),
        Ok(server) => panic!("the server started at {}", server.local_addr()),
    }
}

#[tokio::test]
async fn an_alias_serves_the_endpoint_under_its_new_name() {
    let server = start([user::plugin().alias("user", "account")]).await;
    let mut client = Client::connect(server.local_addr()).await;
    client
        .assert_ok("account", "read", Value::Null, json!({"name": "Ada"}))
        .await;
    client
        .assert_ok(
            "account",
            "update",
            json!("Grace"),
            json!({"name": "Grace"}),
        )
        .await;
}

#[tokio::test]
async fn the_full_name_keeps_working_next_to_an_alias() {
    let server = start([user::plugin().alias("user", "account")]).await;
    let mut client = Client::connect(server.local_addr()).await;
    client
        .assert_ok("user:user", "read", Value::Null, json!({"name": "Ada"}))
        .await;
    client
        .assert_ok("user:avatar", "read", Value::Null, json!("avatar.png"))
        .await;
}

#[tokio::test]
async fn an_alias_covers_only_its_endpoint_and_reports_unknown_methods_under_the_alias() {
    let server = start([user::plugin().alias("user", "account")]).await;
    let mut client = Client::connect(server.local_addr()).await;
    client
        .assert_error(
            "account",
            "delete",
            Value::Null,
            json!("endpoint `account` has no method `delete`"),
        )
        .await;
    client
        .assert_error(
            "account:avatar",
            "read",
            Value::Null,
            json!("unknown endpoint `account:avatar`"),
        )
        .await;
    client
        .assert_error(
            "account:user",
            "read",
            Value::Null,
            json!("unknown endpoint `account:user`"),
        )
        .await;
}

#[tokio::test]
async fn the_request_format_applies_under_an_alias() {
    let server = start([user::plugin().alias("user", "account")]).await;
    let mut client = Client::connect(server.local_addr()).await;
    client
        .assert_error(
            "account",
            "update",
            json!(7),
            json!(["data: expected string, got number"]),
        )
        .await;
}

#[tokio::test]
async fn two_endpoints_of_one_plugin_can_each_have_an_alias() {
    let server = start([user::plugin()
        .alias("user", "account")
        .alias("avatar", "picture")])
    .await;
    let mut client = Client::connect(server.local_addr()).await;
    client
        .assert_ok("account", "read", Value::Null, json!({"name": "Ada"}))
        .await;
    client
        .assert_ok("picture", "read", Value::Null, json!("avatar.png"))
        .await;
}

#[tokio::test]
async fn start_refuses_the_same_plugin_twice() {
    let error = refusal(
        Server::builder(),
        vec![user::plugin(), billing::plugin(), user::plugin()],
    )
    .await;
    assert_eq!(error, ConfigError::DuplicatePlugin("user".to_owned()));
}

#[tokio::test]
async fn start_refuses_an_alias_of_an_endpoint_the_plugin_does_not_have() {
    let error = refusal(
        Server::builder(),
        vec![user::plugin().alias("profile", "me")],
    )
    .await;
    assert_eq!(
        error,
        ConfigError::AliasOfUnknownEndpoint {
            plugin: "user".to_owned(),
            endpoint: "profile".to_owned(),
            alias: "me".to_owned(),
        }
    );
}

#[tokio::test]
async fn start_refuses_an_alias_used_twice_in_one_plugin() {
    let error = refusal(
        Server::builder(),
        vec![user::plugin().alias("user", "me").alias("avatar", "me")],
    )
    .await;
    assert_eq!(error, ConfigError::DuplicateAlias("me".to_owned()));
}

#[tokio::test]
async fn start_refuses_an_alias_used_by_two_plugins() {
    let error = refusal(
        Server::builder(),
        vec![
            user::plugin().alias("user", "main"),
            billing::plugin().alias("invoice", "main"),
        ],
    )
    .await;
    assert_eq!(error, ConfigError::DuplicateAlias("main".to_owned()));
}

#[tokio::test]
async fn start_refuses_an_alias_that_is_another_endpoints_full_name() {
    let error = refusal(
        Server::builder(),
        vec![
            billing::plugin(),
            user::plugin().alias("user", "billing:invoice"),
        ],
    )
    .await;
    assert_eq!(
        error,
        ConfigError::DuplicateAlias("billing:invoice".to_owned())
    );
}

#[tokio::test]
async fn start_refuses_a_requirement_on_settings_of_an_unregistered_plugin() {
    let error = refusal(Server::builder(), vec![guarded::plugin()]).await;
    assert_eq!(
        error,
        ConfigError::MissingPlugin {
            plugin: "guarded".to_owned(),
            needs: "auth".to_owned(),
        }
    );
}

#[tokio::test]
async fn start_refuses_a_settings_argument_of_an_unregistered_plugin() {
    let error = refusal(Server::builder(), vec![reader::plugin()]).await;
    assert_eq!(
        error,
        ConfigError::MissingPlugin {
            plugin: "reader".to_owned(),
            needs: "auth".to_owned(),
        }
    );
}

#[tokio::test]
async fn the_plugins_that_read_auth_start_once_auth_is_registered() {
    let server = start([guarded::plugin(), reader::plugin(), auth::plugin()]).await;
    let mut client = Client::connect(server.local_addr()).await;
    client
        .assert_ok("reader:status", "read", Value::Null, json!(false))
        .await;
    client
        .assert_error(
            "guarded:page",
            "read",
            Value::Null,
            json!("requirement not met: auth.authenticated"),
        )
        .await;
}

#[tokio::test]
async fn start_refuses_a_state_argument_without_that_state() {
    let error = refusal(Server::builder(), vec![configured::plugin()]).await;
    assert_eq!(
        error,
        ConfigError::MissingState {
            plugin: "configured".to_owned(),
            type_name: std::any::type_name::<Config>(),
        }
    );
    let other_state = Server::builder().state(String::from("not a Config"));
    let error = refusal(other_state, vec![configured::plugin()]).await;
    assert_eq!(
        error,
        ConfigError::MissingState {
            plugin: "configured".to_owned(),
            type_name: std::any::type_name::<Config>(),
        }
    );
}

#[tokio::test]
async fn a_state_argument_starts_once_that_state_is_given() {
    let server = common::start_with(
        Server::builder().state(Config { greeting: "hi" }),
        [configured::plugin()],
    )
    .await;
    let mut client = Client::connect(server.local_addr()).await;
    client
        .assert_ok("configured:greeting", "read", Value::Null, json!("hi"))
        .await;
}
