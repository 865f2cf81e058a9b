//! Binary messages over real sockets: a plugin's `#[binary]` handler with requirements, allowed
//! and denied, receiving the bytes, the connection's settings, its id and `notify`.

mod common;

use common::{start_with, Client};
use serde_json::{json, Value};
use yoctopus_core::{ConfigError, Server, ServerError};

#[yoctopus_core::plugin]
mod auth {
    use yoctopus_core::prelude::*;

    #[settings]
    #[derive(Debug, Default, Clone)]
    pub(crate) struct Settings {
        pub(crate) authenticated: bool,
        pub(crate) name: String,
    }

    #[endpoint(name = "session", method = "create")]
    async fn login(name: String) -> Reply<Settings> {
        Reply::only_settings(Settings {
            authenticated: true,
            name,
        })
    }

    #[endpoint(name = "whoami", method = "read")]
    async fn whoami(id: ConnectionId) -> ConnectionId {
        id
    }
}

#[yoctopus_core::plugin]
mod uploads {
    use yoctopus_core::prelude::*;
    use yoctopus_core::{Bytes, PushError};

    use super::auth;

    /// The original's `binaryHandler` with `binaryHandlerRequirements: {'auth.authenticated': true}`.
    #[binary(requires(auth.authenticated))]
    async fn upload(
        bytes: Bytes,
        auth: ConnectionSettings<auth::Settings>,
        id: ConnectionId,
        notify: Notify,
    ) -> Result<(), PushError> {
        if bytes.as_ref() == b"fail" {
            return notify.send("never", &()).and(Err(PushError::Closed));
        }
        notify.send(
            "binary-processed",
            &serde_json::json!({ "size": bytes.len(), "by": auth.name, "connection": id, "first": bytes.first() }),
        )
    }
}

#[tokio::test]
async fn the_binary_handler_is_denied_by_its_requirement_and_allowed_once_it_holds() {
    let server = start_with(Server::builder(), [auth::plugin(), uploads::plugin()]).await;
    let mut client = Client::connect(server.local_addr()).await;
    client.send_binary(&[7, 8, 9]).await;
    assert_eq!(
        client.recv_json().await,
        json!({"meta": {"method": "notify", "type": "error"}, "data": {"message": "requirement not met: auth.authenticated"}})
    );
    let id = client.ok("auth:whoami", "read", Value::Null).await;
    client
        .assert_ok("auth:session", "create", json!("ann"), json!({}))
        .await;
    client.send_binary(&[7, 8, 9, 10]).await;
    assert_eq!(
        client.recv_json().await,
        json!({"meta": {"method": "notify", "type": "binary-processed"}, "data": {"size": 4, "by": "ann", "connection": id, "first": 7}})
    );
}

#[tokio::test]
async fn a_binary_handler_that_fails_answers_an_error_push_and_the_connection_stays_open() {
    let server = start_with(Server::builder(), [auth::plugin(), uploads::plugin()]).await;
    let mut client = Client::connect(server.local_addr()).await;
    client
        .assert_ok("auth:session", "create", json!("ann"), json!({}))
        .await;
    client.send_binary(b"fail").await;
    let pushes = client.recv_many(2).await;
    assert_eq!(
        pushes,
        [
            json!({"meta": {"method": "notify", "type": "never"}, "data": null}),
            json!({"meta": {"method": "notify", "type": "error"}, "data": {"message": "the connection is closed"}})
        ]
    );
    client
        .assert_ok("auth:session", "create", json!("bo"), json!({}))
        .await;
}

#[tokio::test]
async fn two_handlers_of_binary_messages_stop_the_start() {
    let started = Server::builder()
        .port(0)
        .plugin(auth::plugin())
        .plugin(uploads::plugin())
        .binary_handler(|_, _| async {})
        .start()
        .await;
    assert!(
        matches!(
            started,
            Err(ServerError::Config(ConfigError::TwoBinaryHandlers(ref which)))
                if which.contains("uploads")
        ),
        "{started:?}"
    );
}
