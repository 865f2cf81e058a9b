//! Connection-scoped settings and the other things a handler asks for by type: the
//! `{settings, response}` reply, imperative changes through `Connection`, reading another plugin's
//! settings by type and by name, `Notify`, `State<T>` and `ConnectionId`.

mod common;

use std::sync::atomic::AtomicUsize;

use common::{start, start_with, Client};
use serde_json::{json, Value};
use yoctopus_core::{plugin, Server};

#[plugin]
mod auth {
    use serde_json::{json, Value};
    use yoctopus_core::prelude::*;

    #[settings]
    #[derive(Default, Clone)]
    pub(crate) struct Settings {
        pub(crate) authenticated: bool,
        pub(crate) user_id: Option<String>,
        pub(crate) roles: Vec<String>,
    }

    #[derive(RequestFormat)]
    pub(crate) struct Login {
        user: String,
    }

    #[endpoint(name = "session", method = "create")]
    async fn login(request: Login) -> Reply<Settings, Value> {
        Reply::new(json!({ "welcome": request.user })).settings(Settings {
            authenticated: true,
            user_id: Some(request.user),
            roles: vec!["reader".to_owned()],
        })
    }

    #[endpoint(name = "session", method = "delete")]
    async fn logout() -> Reply<Settings> {
        Reply::only_settings(Settings::default())
    }
}

#[plugin]
mod profile {
    use serde_json::{json, Value};
    use yoctopus_core::prelude::*;

    use super::auth;

    #[endpoint(name = "me", method = "read", requires(auth.authenticated))]
    async fn me(auth: ConnectionSettings<auth::Settings>) -> Value {
        json!({ "userId": auth.user_id, "roles": auth.roles })
    }

    #[endpoint(name = "raw", method = "read")]
    async fn raw(connection: Connection) -> Value {
        json!({
            "userId": connection.get("auth", "user_id"),
            "authenticated": connection.get("auth", "authenticated"),
            "unknownSetting": connection.get("auth", "password"),
            "unknownPlugin": connection.get("billing", "plan"),
            "all": connection.settings_json("auth"),
        })
    }
}

#[plugin]
mod counter {
    use yoctopus_core::prelude::*;
    use yoctopus_core::SettingsError;

    #[settings]
    #[derive(Default, Clone)]
    pub(crate) struct Settings {
        pub(crate) count: u32,
    }

    #[endpoint(name = "count", method = "update")]
    async fn increment(connection: Connection) -> Result<(), SettingsError> {
        connection.update(|settings: &mut Settings| settings.count += 1)
    }

    #[derive(RequestFormat)]
    pub(crate) struct Reset {
        to: u32,
    }

    #[endpoint(name = "count", method = "delete")]
    async fn reset(request: Reset, connection: Connection) -> Result<(), SettingsError> {
        connection.set(Settings { count: request.to })
    }

    #[endpoint(name = "count", method = "read")]
    async fn read(settings: ConnectionSettings<Settings>) -> u32 {
        settings.count
    }

    #[endpoint(name = "milestone", method = "read", requires(self.count >= 2))]
    async fn milestone() -> &'static str {
        "two or more"
    }

    #[endpoint(name = "nothing", method = "update")]
    async fn nothing() {}
}

#[plugin]
mod alerts {
    use serde_json::{json, Value};
    use yoctopus_core::prelude::*;
    use yoctopus_core::PushError;

    #[endpoint(name = "alert", method = "create")]
    async fn alert(notify: Notify) -> Result<Value, PushError> {
        notify.send("alert", &json!({"message": "Hello!"}))?;
        notify.send("progress", &json!({"done": 1, "of": 2}))?;
        Ok(json!({"sent": 2}))
    }

    #[endpoint(name = "quiet", method = "read")]
    async fn quiet() -> &'static str {
        "quiet"
    }
}

pub(crate) struct Greeting {
    text: String,
}

#[plugin]
mod shared {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use yoctopus_core::prelude::*;

    #[endpoint(name = "greeting", method = "read")]
    async fn greeting(greeting: State<super::Greeting>) -> String {
        greeting.text.clone()
    }

    #[endpoint(name = "visits", method = "update")]
    async fn visit(visits: State<AtomicUsize>) -> usize {
        visits.fetch_add(1, Ordering::SeqCst) + 1
    }

    #[endpoint(name = "id", method = "read")]
    async fn id(id: ConnectionId, connection: Connection) -> serde_json::Value {
        serde_json::json!({ "id": id, "same": id == connection.id(), "text": id.to_string() })
    }
}

async fn start_auth() -> (Server, Client) {
    let server = start([auth::plugin(), profile::plugin()]).await;
    let client = Client::connect(server.local_addr()).await;
    (server, client)
}

#[tokio::test]
async fn a_reply_with_settings_answers_its_response_and_a_later_requirement_sees_the_settings() {
    let (_server, mut client) = start_auth().await;
    client
        .assert_error(
            "profile:me",
            "read",
            Value::Null,
            json!("requirement not met: auth.authenticated"),
        )
        .await;
    client
        .assert_ok(
            "auth:session",
            "create",
            json!({"user": "ada"}),
            json!({"welcome": "ada"}),
        )
        .await;
    client
        .assert_ok(
            "profile:me",
            "read",
            Value::Null,
            json!({"userId": "ada", "roles": ["reader"]}),
        )
        .await;
}

#[tokio::test]
async fn a_reply_with_only_settings_answers_an_empty_object_and_changes_the_settings() {
    let (_server, mut client) = start_auth().await;
    client
        .assert_ok(
            "auth:session",
            "create",
            json!({"user": "ada"}),
            json!({"welcome": "ada"}),
        )
        .await;
    client
        .assert_ok("auth:session", "delete", Value::Null, json!({}))
        .await;
    client
        .assert_error(
            "profile:me",
            "read",
            Value::Null,
            json!("requirement not met: auth.authenticated"),
        )
        .await;
}

#[tokio::test]
async fn settings_changed_on_one_connection_leave_another_connection_untouched() {
    let (server, mut ada) = start_auth().await;
    let mut other = Client::connect(server.local_addr()).await;
    ada.assert_ok(
        "auth:session",
        "create",
        json!({"user": "ada"}),
        json!({"welcome": "ada"}),
    )
    .await;
    other
        .assert_error(
            "profile:me",
            "read",
            Value::Null,
            json!("requirement not met: auth.authenticated"),
        )
        .await;
    other
        .assert_ok(
            "profile:raw",
            "read",
            Value::Null,
            json!({
                "userId": null,
                "authenticated": false,
                "unknownSetting": null,
                "unknownPlugin": null,
                "all": {"authenticated": false, "user_id": null, "roles": []}
            }),
        )
        .await;
    ada.assert_ok(
        "profile:me",
        "read",
        Value::Null,
        json!({"userId": "ada", "roles": ["reader"]}),
    )
    .await;
}

#[tokio::test]
async fn another_plugins_settings_read_by_name_come_as_json() {
    let (_server, mut client) = start_auth().await;
    client
        .assert_ok(
            "auth:session",
            "create",
            json!({"user": "ada"}),
            json!({"welcome": "ada"}),
        )
        .await;
    client
        .assert_ok(
            "profile:raw",
            "read",
            Value::Null,
            json!({
                "userId": "ada",
                "authenticated": true,
                "unknownSetting": null,
                "unknownPlugin": null,
                "all": {"authenticated": true, "user_id": "ada", "roles": ["reader"]}
            }),
        )
        .await;
}

#[tokio::test]
async fn connection_update_and_set_change_settings_that_later_requests_see() {
    let server = start([counter::plugin()]).await;
    let mut client = Client::connect(server.local_addr()).await;
    client
        .assert_ok("counter:count", "read", Value::Null, json!(0))
        .await;
    client
        .assert_ok("counter:count", "update", Value::Null, json!({}))
        .await;
    client
        .assert_ok("counter:count", "read", Value::Null, json!(1))
        .await;
    client
        .assert_error(
            "counter:milestone",
            "read",
            Value::Null,
            json!("requirement not met: counter.count >= 2"),
        )
        .await;
    client
        .assert_ok("counter:count", "update", Value::Null, json!({}))
        .await;
    client
        .assert_ok(
            "counter:milestone",
            "read",
            Value::Null,
            json!("two or more"),
        )
        .await;
    client
        .assert_ok("counter:count", "delete", json!({"to": 0}), json!({}))
        .await;
    client
        .assert_ok("counter:count", "read", Value::Null, json!(0))
        .await;
    client
        .assert_error(
            "counter:milestone",
            "read",
            Value::Null,
            json!("requirement not met: counter.count >= 2"),
        )
        .await;
    client
        .assert_ok("counter:count", "delete", json!({"to": 40}), json!({}))
        .await;
    client
        .assert_ok("counter:count", "read", Value::Null, json!(40))
        .await;
}

#[tokio::test]
async fn concurrent_updates_on_one_connection_lose_none_of_each_other() {
    let server = start([counter::plugin()]).await;
    let mut client = Client::connect(server.local_addr()).await;
    for id in 0..50 {
        client
            .send_request(id, "counter:count", "update", Value::Null)
            .await;
    }
    let mut ids: Vec<u64> = client
        .recv_many(50)
        .await
        .into_iter()
        .map(|reply| {
            let id = reply["meta"]["id"].as_u64().expect("the id is echoed as a number");
            assert_eq!(
                reply,
                json!({
                    "meta": {"id": id, "endpoint": "counter:count", "method": "update", "status": "ok"},
                    "data": {}
                })
            );
            id
        })
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, (0..50).collect::<Vec<u64>>());
    client
        .assert_ok("counter:count", "read", Value::Null, json!(50))
        .await;
}

#[tokio::test]
async fn a_handler_that_returns_nothing_answers_an_empty_object() {
    let server = start([counter::plugin()]).await;
    let mut client = Client::connect(server.local_addr()).await;
    client
        .assert_ok(
            "counter:nothing",
            "update",
            json!({"ignored": true}),
            json!({}),
        )
        .await;
}

#[tokio::test]
async fn notify_pushes_to_the_requesting_connection_before_the_reply() {
    let server = start([alerts::plugin()]).await;
    let mut client = Client::connect(server.local_addr()).await;
    let mut bystander = Client::connect(server.local_addr()).await;
    client
        .send_request("n1", "alerts:alert", "create", Value::Null)
        .await;
    assert_eq!(
        client.recv_many(3).await,
        [
            json!({"meta": {"method": "notify", "type": "alert"}, "data": {"message": "Hello!"}}),
            json!({"meta": {"method": "notify", "type": "progress"}, "data": {"done": 1, "of": 2}}),
            json!({
                "meta": {"id": "n1", "endpoint": "alerts:alert", "method": "create", "status": "ok"},
                "data": {"sent": 2}
            }),
        ]
    );
    // The other connection received no push: its next message is the reply to its own request.
    bystander
        .assert_ok("alerts:quiet", "read", Value::Null, json!("quiet"))
        .await;
}

#[tokio::test]
async fn state_given_to_the_builder_reaches_handlers_on_every_connection() {
    let builder = Server::builder()
        .state(Greeting {
            text: "hello from the builder".to_owned(),
        })
        .state(AtomicUsize::new(0));
    let server = start_with(builder, [shared::plugin()]).await;
    let mut first = Client::connect(server.local_addr()).await;
    let mut second = Client::connect(server.local_addr()).await;
    first
        .assert_ok(
            "shared:greeting",
            "read",
            Value::Null,
            json!("hello from the builder"),
        )
        .await;
    second
        .assert_ok(
            "shared:greeting",
            "read",
            Value::Null,
            json!("hello from the builder"),
        )
        .await;
    first
        .assert_ok("shared:visits", "update", Value::Null, json!(1))
        .await;
    second
        .assert_ok("shared:visits", "update", Value::Null, json!(2))
        .await;
    first
        .assert_ok("shared:visits", "update", Value::Null, json!(3))
        .await;
}

#[tokio::test]
async fn a_second_state_of_the_same_type_replaces_the_first() {
    let builder = Server::builder()
        .state(Greeting {
            text: "first".to_owned(),
        })
        .state(Greeting {
            text: "second".to_owned(),
        })
        .state(AtomicUsize::new(10));
    let server = start_with(builder, [shared::plugin()]).await;
    let mut client = Client::connect(server.local_addr()).await;
    client
        .assert_ok("shared:greeting", "read", Value::Null, json!("second"))
        .await;
    client
        .assert_ok("shared:visits", "update", Value::Null, json!(11))
        .await;
}

#[tokio::test]
async fn connection_id_is_stable_on_a_connection_and_differs_between_connections() {
    let builder = Server::builder()
        .state(Greeting {
            text: String::new(),
        })
        .state(AtomicUsize::new(0));
    let server = start_with(builder, [shared::plugin()]).await;
    let mut first = Client::connect(server.local_addr()).await;
    let mut second = Client::connect(server.local_addr()).await;
    let first_id = first.ok("shared:id", "read", Value::Null).await;
    let again = first.ok("shared:id", "read", Value::Null).await;
    let second_id = second.ok("shared:id", "read", Value::Null).await;
    assert_eq!(first_id, again);
    for reply in [&first_id, &second_id] {
        // Ids travel as strings: they are unique across servers and restarts, wider than a JSON
        // number carries exactly.
        assert!(reply["id"].is_string(), "the id is a string: {reply}");
        assert_eq!(reply["id"], reply["text"], "{reply}");
        let parsed: yoctopus_core::ConnectionId = reply["id"]
            .as_str()
            .and_then(|id| id.parse().ok())
            .expect("the id reads back");
        assert_eq!(json!(parsed), reply["id"]);
        assert_eq!(reply["same"], json!(true), "{reply}");
    }
    assert_ne!(first_id["id"], second_id["id"]);
}
