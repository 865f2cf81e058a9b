//! Lifecycle listeners over real sockets: request and response transforms chained across
//! plugins, a rejecting listener, connection opened with the upgrade request, connection closed
//! once in each way a connection ends, a panicking or failing listener, the `meta` extractor.

mod common;
mod raw;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{request_to, start_with, Client, WAIT};
use raw::RawClient;
use serde_json::{json, Value};
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use yoctopus_core::{ErrorEvent, Server};

/// What listeners saw, in order, shared with the test; waits are bounded and woken, not slept.
#[derive(Default)]
struct Seen {
    entries: Mutex<Vec<String>>,
    added: Notify,
}

impl Seen {
    fn push(&self, entry: impl Into<String>) {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(entry.into());
        self.added.notify_waiters();
    }

    fn entries(&self) -> Vec<String> {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Waits until an entry starting with `prefix` is there, and returns every such entry.
    async fn wait_for(&self, prefix: &str) -> Vec<String> {
        tokio::time::timeout(WAIT, async {
            loop {
                let added = self.added.notified();
                let found: Vec<String> = self
                    .entries()
                    .into_iter()
                    .filter(|entry| entry.starts_with(prefix))
                    .collect();
                if !found.is_empty() {
                    return found;
                }
                added.await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("no `{prefix}` entry in time; seen: {:?}", self.entries()))
    }
}

/// Appends `A` on the way in and `a` on the way out; registered before `second`.
#[yoctopus_core::plugin]
mod first {
    use yoctopus_core::prelude::*;

    pub(crate) fn append(data: &mut Data, key: &str, mark: &str) {
        if let Some(object) = data.as_object_mut() {
            let trail = object
                .get(key)
                .and_then(|trail| trail.as_str())
                .unwrap_or_default()
                .to_owned();
            object.insert(key.to_owned(), format!("{trail}{mark}").into());
        }
    }

    #[on(request_received)]
    async fn mark_request(mut data: Data) -> Data {
        append(&mut data, "trail", "A");
        data
    }

    #[on(response_prepared)]
    async fn mark_response(mut data: Data) -> Data {
        append(&mut data, "trail", "a");
        data
    }
}

/// Appends `B` and `b`, sees what `first` returned; rejects requests asking to be rejected.
#[yoctopus_core::plugin]
mod second {
    use yoctopus_core::prelude::*;

    #[on(request_received)]
    async fn mark_request(mut data: Data) -> Data {
        super::first::append(&mut data, "trail", "B");
        data
    }

    #[on(request_received)]
    async fn refuse(data: Data, meta: Meta) -> Result<(), Reject> {
        if data.get("reject") == Some(&true.into()) {
            Err(Reject::new(format!("rejected {}", meta.endpoint)))
        } else {
            Ok(())
        }
    }

    #[on(response_prepared)]
    async fn mark_response(mut data: Data) -> Data {
        super::first::append(&mut data, "trail", "b");
        data
    }
}

/// The handler: appends `H` to what the request listeners left, and reports its `meta`.
#[yoctopus_core::plugin]
mod echo {
    use serde_json::Value;
    use yoctopus_core::prelude::*;

    #[derive(RequestFormat)]
    pub(crate) struct Trail {
        pub(crate) trail: String,
        #[expect(
            dead_code,
            reason = "read by the `second` plugin's listener, before the handler"
        )]
        pub(crate) reject: Option<bool>,
    }

    #[endpoint(name = "trail", method = "create")]
    async fn trail(request: Trail) -> Value {
        serde_json::json!({ "trail": format!("{}H", request.trail) })
    }

    #[endpoint(name = "meta", method = "read")]
    async fn meta(meta: Meta) -> Value {
        serde_json::json!({ "id": meta.id, "endpoint": meta.endpoint, "method": meta.method })
    }
}

#[tokio::test]
async fn request_and_response_listeners_chain_in_registration_order() {
    let server = start_with(
        Server::builder(),
        [first::plugin(), second::plugin(), echo::plugin()],
    )
    .await;
    // `first` fills in `trail` before the format is checked.
    common::schema_check::requests_rewritten_by_listeners(&server);
    let mut client = Client::connect(server.local_addr()).await;
    // In: first (A), second (B), handler (H); out: first (a), second (b).
    client
        .assert_ok(
            "echo:trail",
            "create",
            json!({"trail": ""}),
            json!({"trail": "ABHab"}),
        )
        .await;
    // The listeners run before the format is checked: `trail` may be missing.
    client
        .assert_ok("echo:trail", "create", json!({}), json!({"trail": "ABHab"}))
        .await;
}

#[tokio::test]
async fn a_rejecting_listener_answers_an_error_and_the_connection_keeps_serving() {
    let server = start_with(
        Server::builder(),
        [first::plugin(), second::plugin(), echo::plugin()],
    )
    .await;
    // `first` fills in `trail` before the format is checked.
    common::schema_check::requests_rewritten_by_listeners(&server);
    let mut client = Client::connect(server.local_addr()).await;
    client
        .assert_error(
            "echo:trail",
            "create",
            json!({"trail": "", "reject": true}),
            json!("rejected echo:trail"),
        )
        .await;
    client
        .assert_ok(
            "echo:trail",
            "create",
            json!({"trail": "", "reject": false}),
            json!({"trail": "ABHab"}),
        )
        .await;
}

#[tokio::test]
async fn the_meta_extractor_gives_the_id_and_endpoint_as_sent() {
    let server = start_with(
        Server::builder(),
        [echo::plugin().alias("meta", "whoasked")],
    )
    .await;
    let mut client = Client::connect(server.local_addr()).await;
    let reply = client.request(17.5, "whoasked", "read", Value::Null).await;
    assert_eq!(
        reply,
        json!({
            "meta": {"id": 17.5, "endpoint": "whoasked", "method": "read", "status": "ok"},
            "data": {"id": 17.5, "endpoint": "whoasked", "method": "read"}
        })
    );
}

/// Reads what the upgrade request says when a connection opens, keeps it in its settings, and
/// records every close.
#[yoctopus_core::plugin]
mod visitor {
    use std::sync::Arc;

    use yoctopus_core::prelude::*;

    #[settings(rename_all = "camelCase")]
    #[derive(Debug, Default, Clone, PartialEq)]
    pub(crate) struct Settings {
        pub(crate) token: Option<String>,
        pub(crate) client_name: Option<String>,
        pub(crate) path: String,
    }

    #[on(connection_opened)]
    async fn opened(connection: Connection, upgrade: UpgradeRequest) -> Result<(), String> {
        connection
            .update(|settings: &mut Settings| {
                settings.token = upgrade.query_param("token").map(|token| token.into_owned());
                settings.client_name = upgrade.header("x-client").map(str::to_owned);
                settings.path = upgrade.path().to_owned();
            })
            .map_err(|error| error.to_string())
    }

    #[on(connection_closed)]
    async fn closed(
        closed: Closed,
        id: ConnectionId,
        settings: ConnectionSettings<Settings>,
        seen: State<Arc<super::Seen>>,
    ) {
        seen.push(format!(
            "closed {id} {} {}",
            closed.code,
            settings.client_name.as_deref().unwrap_or("-")
        ));
    }

    #[endpoint(name = "visitor", method = "read")]
    async fn read(connection: Connection) -> Option<serde_json::Value> {
        connection.settings_json("visitor")
    }

    /// A handler asking for the upgrade request: connections keep it for their whole life.
    #[endpoint(name = "target", method = "read")]
    async fn target(upgrade: UpgradeRequest) -> String {
        upgrade.target().to_owned()
    }
}

async fn visitor_server(builder: yoctopus_core::ServerBuilder) -> (Server, Arc<Seen>) {
    let seen = Arc::new(Seen::default());
    let server = start_with(
        builder.state(Arc::clone(&seen)),
        [visitor::plugin(), echo::plugin()],
    )
    .await;
    (server, seen)
}

#[tokio::test]
async fn connection_opened_reads_the_query_token_and_a_header() {
    let (server, _seen) = visitor_server(Server::builder()).await;
    let mut request = format!("ws://{}/chat?token=t%20one&x=1", server.local_addr())
        .into_client_request()
        .expect("a valid URL");
    request
        .headers_mut()
        .insert("X-Client", "test-suite".parse().expect("a header value"));
    let mut client = Client::try_connect(request).await.expect("connected");
    client
        .assert_ok(
            "visitor:visitor",
            "read",
            Value::Null,
            json!({"token": "t one", "clientName": "test-suite", "path": "/chat"}),
        )
        .await;
    client
        .assert_ok(
            "visitor:target",
            "read",
            Value::Null,
            json!("/chat?token=t%20one&x=1"),
        )
        .await;
}

/// The close code and the last settings of every closed connection, once each.
async fn assert_closed_once(seen: &Seen, code: u16, name: &str) {
    let closes = seen.wait_for("closed ").await;
    assert_eq!(closes.len(), 1, "closed listeners fired: {closes:?}");
    let parts: Vec<&str> = closes[0].split(' ').collect();
    assert_eq!(
        (parts[2], parts[3]),
        (code.to_string().as_str(), name),
        "{closes:?}"
    );
}

#[tokio::test]
async fn connection_closed_fires_once_when_the_client_closes() {
    let (server, seen) = visitor_server(Server::builder()).await;
    let mut request = request_to(server.local_addr());
    request
        .headers_mut()
        .insert("X-Client", "closer".parse().expect("a header value"));
    let client = Client::try_connect(request).await.expect("connected");
    client.close().await;
    assert_closed_once(&seen, 1000, "closer").await;
}

#[tokio::test]
async fn connection_closed_fires_once_when_the_client_vanishes_without_a_close_frame() {
    let (server, seen) = visitor_server(Server::builder()).await;
    let client = RawClient::try_connect(server.local_addr(), &[("X-Client", "vanisher")])
        .await
        .expect("connected");
    drop(client);
    assert_closed_once(&seen, 1006, "vanisher").await;
}

#[tokio::test]
async fn connection_closed_fires_once_when_pings_go_unanswered() {
    let builder = Server::builder()
        .ping_interval(Duration::from_millis(50))
        .max_lost_pings(2);
    let (server, seen) = visitor_server(builder).await;
    // A raw client answers no ping.
    let mut client = RawClient::try_connect(server.local_addr(), &[("X-Client", "sleeper")])
        .await
        .expect("connected");
    while client.recv().await.is_some() {}
    assert_closed_once(&seen, 1006, "sleeper").await;
}

#[tokio::test]
async fn connection_closed_fires_once_at_shutdown() {
    let (server, seen) = visitor_server(Server::builder()).await;
    let mut client = RawClient::try_connect(server.local_addr(), &[("X-Client", "stayer")])
        .await
        .expect("connected");
    let closing = tokio::spawn(async move { client.close_code().await });
    server.shutdown().await;
    // Shutdown returns once every connection is closed and its listeners have run.
    let closes: Vec<String> = seen
        .entries()
        .into_iter()
        .filter(|entry| entry.starts_with("closed "))
        .collect();
    assert_eq!(closes.len(), 1, "{closes:?}");
    assert!(closes[0].ends_with(" 1001 stayer"), "{closes:?}");
    assert_eq!(closing.await.expect("the client task ends"), Some(1001));
}

/// Listeners that break: one panics, one fails; the listeners after them still run.
#[yoctopus_core::plugin]
mod fragile {
    use yoctopus_core::prelude::*;

    #[on(request_received)]
    async fn panics(meta: Meta) {
        if meta.method == "create" {
            panic!("listener boom");
        }
    }

    #[on(response_prepared)]
    async fn fails() -> Result<(), String> {
        Err("could not log the response".to_owned())
    }

    #[on(connection_opened)]
    async fn panics_on_open() {
        panic!("opened boom");
    }
}

#[tokio::test]
async fn a_panicking_or_failing_listener_is_reported_and_the_connection_keeps_working() {
    let events: Arc<Mutex<Vec<ErrorEvent>>> = Arc::default();
    let hook = Arc::clone(&events);
    let builder = Server::builder().on_error(move |event| {
        hook.lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(event.clone());
    });
    let server = start_with(
        builder,
        [fragile::plugin(), first::plugin(), echo::plugin()],
    )
    .await;
    // `first` fills in `trail` before the format is checked.
    common::schema_check::requests_rewritten_by_listeners(&server);
    let mut client = Client::connect(server.local_addr()).await;
    // `first` runs after the panicking listener and still marks the request and the response.
    client
        .assert_ok(
            "echo:trail",
            "create",
            json!({"trail": ""}),
            json!({"trail": "AHa"}),
        )
        .await;
    client
        .assert_ok(
            "echo:trail",
            "create",
            json!({"trail": "x"}),
            json!({"trail": "xAHa"}),
        )
        .await;
    let events = events
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .clone();
    let described: Vec<String> = events
        .iter()
        .map(|event| match event {
            ErrorEvent::ListenerPanicked {
                listener, message, ..
            } => format!("panicked {listener}: {message}"),
            ErrorEvent::ListenerFailed {
                listener, message, ..
            } => format!("failed {listener}: {message}"),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(
        described,
        [
            "panicked fragile::panics_on_open: opened boom",
            "panicked fragile::panics: listener boom",
            "failed fragile::fails: could not log the response",
            "panicked fragile::panics: listener boom",
            "failed fragile::fails: could not log the response",
        ]
    );
    assert!(events.iter().all(|event| match event {
        ErrorEvent::ListenerPanicked { connection, .. }
        | ErrorEvent::ListenerFailed { connection, .. } => connection.is_some(),
        _ => false,
    }));
}

/// Hears every response sent.
#[yoctopus_core::plugin]
mod analytics {
    use std::sync::Arc;

    use yoctopus_core::prelude::*;

    #[on(response_sent)]
    async fn sent(meta: Meta, seen: State<Arc<super::Seen>>) {
        seen.push(format!("sent {}", meta.id));
    }
}

#[tokio::test]
async fn response_sent_is_heard_after_each_reply() {
    let seen = Arc::new(Seen::default());
    let server = start_with(
        Server::builder().state(Arc::clone(&seen)),
        [analytics::plugin(), echo::plugin()],
    )
    .await;
    let mut client = Client::connect(server.local_addr()).await;
    client
        .assert_ok(
            "echo:trail",
            "create",
            json!({"trail": "t"}),
            json!({"trail": "tH"}),
        )
        .await;
    assert_eq!(seen.wait_for("sent").await, ["sent \"ok\""]);
}
