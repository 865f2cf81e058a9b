//! Upgrade checks over real sockets: a plugin refuses a connection before the WebSocket exists
//! (401 for a missing or unknown token), or admits it with settings that every listener and
//! handler then sees; a panicking check is a 500 and a report, never a dead server.

mod common;
mod raw;

use std::sync::{Arc, Mutex};

use common::{start_with, Client};
use raw::{http_request, RawClient};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use yoctopus_core::{ErrorEvent, Server};

/// Tokens the server knows, by user.
struct Tokens(Vec<(&'static str, &'static str)>);

#[yoctopus_core::plugin]
mod tokens {
    use yoctopus_core::prelude::*;

    #[settings(rename_all = "camelCase")]
    #[derive(Debug, Default, Clone)]
    pub(crate) struct Settings {
        pub(crate) user_id: Option<String>,
        /// What `connection_opened` saw of the user: settings from the check come first.
        pub(crate) greeted: Option<String>,
    }

    #[on(upgrade)]
    async fn check(
        upgrade: UpgradeRequest,
        known: State<super::Tokens>,
    ) -> Result<Settings, Refusal> {
        if upgrade.path() == "/banned" {
            return Err(Refusal::forbidden("this path is closed"));
        }
        if upgrade.path() == "/boom" {
            panic!("the check broke");
        }
        let token = upgrade
            .query_param("token")
            .ok_or_else(|| Refusal::unauthorized("a token is needed: ?token=..."))?;
        let user = known
            .0
            .iter()
            .find(|(known, _)| *known == token)
            .map(|(_, user)| *user)
            .ok_or_else(|| Refusal::unauthorized("unknown token"))?;
        Ok(Settings {
            user_id: Some(user.to_owned()),
            greeted: None,
        })
    }

    #[on(connection_opened)]
    async fn opened(
        connection: Connection,
        me: ConnectionSettings<Settings>,
    ) -> Result<(), SettingsError> {
        let greeting = me.user_id.as_ref().map(|user| format!("hello {user}"));
        connection.update(|settings: &mut Settings| settings.greeted = greeting)
    }

    #[endpoint(name = "whoami", method = "read")]
    async fn whoami(connection: Connection) -> Option<serde_json::Value> {
        connection.settings_json("tokens")
    }

    use yoctopus_core::SettingsError;
}

async fn start() -> (Server, Arc<Mutex<Vec<ErrorEvent>>>) {
    let events: Arc<Mutex<Vec<ErrorEvent>>> = Arc::default();
    let hook = Arc::clone(&events);
    let builder = Server::builder()
        .state(Tokens(vec![("t-alice", "alice"), ("t-bob", "bob")]))
        .on_error(move |event| {
            hook.lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .push(event.clone());
        });
    (start_with(builder, [tokens::plugin()]).await, events)
}

/// The status and body of the answer to an upgrade request for `target`.
async fn refusal(server: &Server, target: &str) -> (u16, String) {
    let addr = server.local_addr();
    let request = format!(
        "GET {target} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    let response = http_request(addr, &request).await;
    (response.status, response.body_text().trim().to_owned())
}

#[tokio::test]
async fn a_missing_or_unknown_token_is_refused_with_401_before_any_websocket() {
    let (server, _) = start().await;
    assert_eq!(
        refusal(&server, "/").await,
        (401, "a token is needed: ?token=...".to_owned())
    );
    assert_eq!(
        refusal(&server, "/?token=nope").await,
        (401, "unknown token".to_owned())
    );
    assert_eq!(
        refusal(&server, "/banned?token=t-alice").await,
        (403, "this path is closed".to_owned())
    );
    assert_eq!(server.connection_count(), 0);
}

#[tokio::test]
async fn a_known_token_is_admitted_with_its_user_in_the_settings() {
    let (server, _) = start().await;
    let request = format!("ws://{}/?token=t-bob", server.local_addr())
        .into_client_request()
        .expect("a valid URL");
    let mut client = Client::try_connect(request).await.expect("admitted");
    client
        .assert_ok(
            "tokens:whoami",
            "read",
            Value::Null,
            json!({"userId": "bob", "greeted": "hello bob"}),
        )
        .await;
    // A refused client on the side does not disturb the admitted one.
    assert_eq!(refusal(&server, "/?token=x").await.0, 401);
    client
        .assert_ok(
            "tokens:whoami",
            "read",
            Value::Null,
            json!({"userId": "bob", "greeted": "hello bob"}),
        )
        .await;
}

#[tokio::test]
async fn a_panicking_check_answers_500_is_reported_and_the_server_keeps_serving() {
    let (server, events) = start().await;
    assert_eq!(
        refusal(&server, "/boom?token=t-alice").await,
        (500, "internal error".to_owned())
    );
    let reported = events
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .clone();
    assert!(
        matches!(
            reported.as_slice(),
            [ErrorEvent::ListenerPanicked { connection: None, listener: "tokens::check", message }]
                if message == "the check broke"
        ),
        "{reported:?}"
    );
    let client = RawClient::try_connect(server.local_addr(), &[]).await;
    assert_eq!(client.err().map(|refused| refused.status), Some(401));
}
