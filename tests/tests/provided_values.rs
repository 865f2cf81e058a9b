//! Values passed between plugins (the original's `passToListeners`): a plugin provides a value,
//! with `#[provide]` or `Plugin::provide`, and other plugins' handlers and listeners take it as
//! `State<T>`; two providers of one type stop the server from starting.

mod common;

use common::{start_with, Client};
use serde_json::{json, Value};
use yoctopus_core::{ConfigError, Server, ServerError};

#[yoctopus_core::plugin]
mod clock {
    /// The clock a plugin shares.
    pub(crate) struct Clock {
        pub(crate) now: u64,
    }

    #[provide]
    fn clock() -> Clock {
        Clock { now: 1_700_000_000 }
    }
}

/// Given at run time with `Plugin::provide`.
pub(crate) struct Greeting(pub(crate) &'static str);

#[yoctopus_core::plugin]
mod greeter {}

#[yoctopus_core::plugin]
mod consumer {
    use yoctopus_core::prelude::*;

    #[settings]
    #[derive(Default, Clone)]
    pub(crate) struct Settings {
        pub(crate) opened_at: u64,
    }

    #[on(connection_opened)]
    async fn opened(
        connection: Connection,
        clock: State<super::clock::Clock>,
    ) -> Result<(), yoctopus_core::SettingsError> {
        connection.update(|settings: &mut Settings| settings.opened_at = clock.now)
    }

    #[endpoint(name = "time", method = "read")]
    async fn time(
        clock: State<super::clock::Clock>,
        greeting: State<super::Greeting>,
        me: ConnectionSettings<Settings>,
    ) -> serde_json::Value {
        serde_json::json!({ "now": clock.now, "openedAt": me.opened_at, "greeting": greeting.0 })
    }
}

#[tokio::test]
async fn a_provided_value_reaches_another_plugins_handler_and_listener() {
    let server = start_with(
        Server::builder(),
        [
            clock::plugin(),
            greeter::plugin().provide(Greeting("hi")),
            consumer::plugin(),
        ],
    )
    .await;
    let mut client = Client::connect(server.local_addr()).await;
    client
        .assert_ok(
            "consumer:time",
            "read",
            Value::Null,
            json!({"now": 1_700_000_000, "openedAt": 1_700_000_000, "greeting": "hi"}),
        )
        .await;
}

#[tokio::test]
async fn a_needed_value_that_no_plugin_provides_stops_the_start() {
    let started = Server::builder()
        .port(0)
        .plugin(clock::plugin())
        .plugin(consumer::plugin())
        .start()
        .await;
    assert!(
        matches!(
            started,
            Err(ServerError::Config(ConfigError::MissingState { ref plugin, .. })) if plugin == "consumer"
        ),
        "{started:?}"
    );
}

#[tokio::test]
async fn two_providers_of_one_type_stop_the_start() {
    let started = Server::builder()
        .port(0)
        .state(Greeting("from the builder"))
        .plugin(greeter::plugin().provide(Greeting("from the plugin")))
        .start()
        .await;
    assert!(
        matches!(
            started,
            Err(ServerError::Config(ConfigError::DuplicateState { ref plugin, .. })) if plugin == "greeter"
        ),
        "{started:?}"
    );
}
