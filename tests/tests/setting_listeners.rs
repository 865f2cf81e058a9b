//! Setting-change listeners over real sockets: fired by a `Reply`, by `Connection::set` and
//! `update`, and by the bundled `yoctopus:label`, only when the value changed; settings names on
//! the wire (`rename_all`, `rename`) in `get`, requirement errors and changes; the merge form of
//! `{settings}`.

mod common;

use std::sync::{Arc, Mutex};

use common::{start_with, Client, WAIT};
use serde_json::{json, Value};
use tokio::sync::Notify;
use yoctopus_core::Server;

/// The changes the watcher heard, in order.
#[derive(Default)]
struct Heard {
    changes: Mutex<Vec<String>>,
    added: Notify,
}

impl Heard {
    fn push(&self, change: String) {
        self.changes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(change);
        self.added.notify_waiters();
    }

    fn all(&self) -> Vec<String> {
        self.changes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Waits until `count` changes were heard and returns them.
    async fn wait_for(&self, count: usize) -> Vec<String> {
        tokio::time::timeout(WAIT, async {
            loop {
                let added = self.added.notified();
                let all = self.all();
                if all.len() >= count {
                    return all;
                }
                added.await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("fewer than {count} changes in time: {:?}", self.all()))
    }
}

#[yoctopus_core::plugin]
mod auth {
    use yoctopus_core::prelude::*;

    #[settings(rename_all = "camelCase")]
    #[derive(Debug, Default, Clone)]
    pub(crate) struct Settings {
        pub(crate) authenticated: bool,
        pub(crate) user_id: Option<String>,
        #[settings(rename = "isAdmin")]
        pub(crate) admin: bool,
        pub(crate) login_count: u32,
    }

    /// `{settings, response}` replacing every field.
    #[endpoint(name = "session", method = "create")]
    async fn login(user: String) -> Reply<Settings, &'static str> {
        Reply::new("welcome").settings(Settings {
            authenticated: true,
            user_id: Some(user),
            admin: false,
            login_count: 1,
        })
    }

    /// The merge form: only `authenticated` changes.
    #[endpoint(name = "session", method = "delete")]
    async fn logout() -> Reply<Settings> {
        Reply::only_change(|auth: &mut Settings| auth.authenticated = false)
    }

    /// `Connection::set`, with the value given.
    #[endpoint(name = "flag", method = "update")]
    async fn set_flag(authenticated: bool, connection: Connection) -> Result<(), SettingsError> {
        let current = connection.settings::<Settings>();
        connection.set(Settings {
            authenticated,
            ..Settings::clone(&current)
        })
    }

    /// `Connection::update`, toggling.
    #[endpoint(name = "flag", method = "delete")]
    async fn toggle(connection: Connection) -> Result<(), SettingsError> {
        connection.update(|auth: &mut Settings| auth.authenticated = !auth.authenticated)
    }

    #[endpoint(name = "admin", method = "read", requires(self.admin, auth.login_count >= 2))]
    async fn admin() -> &'static str {
        "admin"
    }

    #[derive(RequestFormat)]
    pub(crate) struct Setting {
        pub(crate) plugin: String,
        pub(crate) name: String,
    }

    /// `get(plugin, name)`, as the original's `connectionSettings.get`.
    #[endpoint(name = "get", method = "read")]
    async fn get(setting: Setting, connection: Connection) -> Option<serde_json::Value> {
        connection.get(&setting.plugin, &setting.name)
    }

    use yoctopus_core::SettingsError;
}

/// The original README's `logger`: hears `auth.authenticated` and the connection's label.
#[yoctopus_core::plugin]
mod watcher {
    use std::sync::Arc;

    use yoctopus_core::prelude::*;

    #[on(super::auth.authenticated)]
    async fn authenticated(
        change: Changed<bool>,
        id: ConnectionId,
        heard: State<Arc<super::Heard>>,
    ) {
        let _ = id;
        heard.push(format!(
            "{}.{}: {} -> {}",
            change.plugin(),
            change.setting(),
            change.old,
            change.value
        ));
    }

    #[on(yoctopus_core::yoctopus.label)]
    async fn label(change: Changed<Option<String>>, heard: State<Arc<super::Heard>>) {
        heard.push(format!(
            "{}.{}: {:?} -> {:?}",
            change.plugin(),
            change.setting(),
            change.old,
            change.value
        ));
    }
}

async fn start() -> (Server, Arc<Heard>, Client) {
    let heard = Arc::new(Heard::default());
    let server = start_with(
        Server::builder().state(Arc::clone(&heard)),
        [auth::plugin(), watcher::plugin()],
    )
    .await;
    let client = Client::connect(server.local_addr()).await;
    (server, heard, client)
}

#[tokio::test]
async fn a_reply_with_settings_fires_the_listener_of_a_changed_setting() {
    let (_server, heard, mut client) = start().await;
    client
        .assert_ok("auth:session", "create", json!("alice"), json!("welcome"))
        .await;
    assert_eq!(
        heard.wait_for(1).await,
        ["auth.authenticated: false -> true"]
    );
    // The merge form changes `authenticated` and keeps the rest.
    client
        .assert_ok("auth:session", "delete", Value::Null, json!({}))
        .await;
    assert_eq!(
        heard.wait_for(2).await[1],
        "auth.authenticated: true -> false"
    );
    client
        .assert_ok(
            "auth:get",
            "read",
            json!({"plugin": "auth", "name": "userId"}),
            json!("alice"),
        )
        .await;
    client
        .assert_ok(
            "auth:get",
            "read",
            json!({"plugin": "auth", "name": "loginCount"}),
            json!(1),
        )
        .await;
}

#[tokio::test]
async fn set_and_update_fire_the_listener_and_an_unchanged_value_does_not() {
    let (_server, heard, mut client) = start().await;
    client
        .assert_ok("auth:flag", "update", json!(true), json!({}))
        .await;
    // The same value again: nothing heard.
    client
        .assert_ok("auth:flag", "update", json!(true), json!({}))
        .await;
    client
        .assert_ok("auth:flag", "delete", Value::Null, json!({}))
        .await;
    assert_eq!(
        heard.wait_for(2).await,
        [
            "auth.authenticated: false -> true",
            "auth.authenticated: true -> false"
        ]
    );
    // A reply that replaces the settings but keeps `authenticated` false: nothing heard.
    client
        .assert_ok("auth:session", "delete", Value::Null, json!({}))
        .await;
    client
        .assert_ok("auth:flag", "delete", Value::Null, json!({}))
        .await;
    assert_eq!(
        heard.wait_for(3).await,
        [
            "auth.authenticated: false -> true",
            "auth.authenticated: true -> false",
            "auth.authenticated: false -> true"
        ]
    );
}

#[tokio::test]
async fn a_label_update_fires_the_listener_of_the_yoctopus_label() {
    let (_server, heard, mut client) = start().await;
    client
        .assert_ok("yoctopus:label", "update", json!("phone"), json!({}))
        .await;
    client
        .assert_ok("yoctopus:label", "update", json!("phone"), json!({}))
        .await;
    client
        .assert_ok("yoctopus:label", "update", json!("tablet"), json!({}))
        .await;
    assert_eq!(
        heard.wait_for(2).await,
        [
            "yoctopus.label: None -> Some(\"phone\")",
            "yoctopus.label: Some(\"phone\") -> Some(\"tablet\")"
        ]
    );
}

#[tokio::test]
async fn wire_names_of_settings_appear_in_get_and_in_requirement_errors() {
    let (server, _heard, mut client) = start().await;
    client
        .assert_error(
            "auth:admin",
            "read",
            Value::Null,
            json!("requirement not met: auth.isAdmin"),
        )
        .await;
    client
        .assert_ok(
            "auth:get",
            "read",
            json!({"plugin": "auth", "name": "isAdmin"}),
            json!(false),
        )
        .await;
    client
        .assert_ok(
            "auth:get",
            "read",
            json!({"plugin": "auth", "name": "admin"}),
            Value::Null,
        )
        .await;
    client
        .assert_ok(
            "auth:get",
            "read",
            json!({"plugin": "auth", "name": "user_id"}),
            Value::Null,
        )
        .await;
    // The bundled plugin keeps the original's names.
    let mut values = Vec::new();
    for name in ["label", "isSecure", "port", "remoteAddress", "is_secure"] {
        let setting = json!({"plugin": "yoctopus", "name": name});
        values.push(client.ok("auth:get", "read", setting).await);
    }
    assert_eq!(
        values,
        [
            Value::Null,
            json!(false),
            json!(server.local_addr().port()),
            json!("127.0.0.1"),
            Value::Null
        ]
    );
}
