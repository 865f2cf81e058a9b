//! The connection register over real sockets: notify by id from a background task and from
//! another connection's handler, pushes to connections that have gone, exports, close by id
//! with a code and reason, selection by settings, ids that travel as strings.

mod common;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use common::{start_with, Client, WAIT};
use serde_json::{json, Value};
use tokio::sync::Notify;
use yoctopus_core::{ConnectionId, DeliveryError, Server, SettingsFilter};

/// The ids of the connections whose `connection_closed` listeners ran.
#[derive(Default)]
struct Closed {
    ids: Mutex<HashSet<ConnectionId>>,
    changed: Notify,
}

impl Closed {
    async fn wait_for(&self, ids: &[ConnectionId]) {
        tokio::time::timeout(WAIT, async {
            loop {
                let changed = self.changed.notified();
                let closed = self
                    .ids
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .clone();
                if ids.iter().all(|id| closed.contains(id)) {
                    return;
                }
                changed.await;
            }
        })
        .await
        .expect("the connections closed in time");
    }
}

#[yoctopus_core::plugin]
mod auth {
    use std::sync::Arc;

    use yoctopus_core::prelude::*;
    use yoctopus_core::{Connections, DeliveryError};

    #[settings(rename_all = "camelCase")]
    #[derive(Debug, Default, Clone)]
    pub(crate) struct Settings {
        pub(crate) user_id: Option<String>,
        pub(crate) role: String,
    }

    #[derive(RequestFormat)]
    pub(crate) struct Login {
        pub(crate) user: String,
        pub(crate) role: String,
    }

    #[endpoint(name = "session", method = "create")]
    async fn login(login: Login) -> Reply<Settings> {
        Reply::only_change(move |auth: &mut Settings| {
            auth.user_id = Some(login.user);
            auth.role = login.role;
        })
    }

    #[endpoint(name = "whoami", method = "read")]
    async fn whoami(id: ConnectionId) -> ConnectionId {
        id
    }

    #[derive(RequestFormat)]
    pub(crate) struct Direct {
        pub(crate) to: String,
        pub(crate) text: String,
    }

    /// Another connection's handler reaching a connection by id.
    #[endpoint(name = "direct", method = "create")]
    async fn direct(
        direct: Direct,
        from: ConnectionId,
        connections: Connections,
    ) -> Result<(), DeliveryError> {
        let to: ConnectionId = direct
            .to
            .parse()
            .map_err(|_| DeliveryError::Unavailable(format!("`{}` is not an id", direct.to)))?;
        let message = serde_json::json!({ "from": from, "text": direct.text });
        connections.notify(to, "direct", &message).await
    }

    #[on(connection_closed)]
    async fn closed(id: ConnectionId, closed: State<Arc<super::Closed>>) {
        closed
            .ids
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(id);
        closed.changed.notify_waiters();
    }
}

async fn start() -> (Server, Arc<Closed>) {
    let closed = Arc::new(Closed::default());
    let server = start_with(
        Server::builder()
            .state(Arc::clone(&closed))
            .max_connections(5_000),
        [auth::plugin()],
    )
    .await;
    (server, closed)
}

async fn id_of(client: &mut Client) -> ConnectionId {
    let id = client.ok("auth:whoami", "read", Value::Null).await;
    id.as_str()
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("the id is a string that reads back: {id}"))
}

#[tokio::test]
async fn a_thousand_connections_each_receive_one_notify_by_id_and_closed_ones_none() {
    // Two sockets per connection in this process; the default limit may be lower.
    let _ = rlimit::increase_nofile_limit(8_192);
    let (server, closed) = start().await;
    let mut clients = Vec::with_capacity(1_000);
    for _ in 0..1_000 {
        let mut client = Client::connect(server.local_addr()).await;
        let id = id_of(&mut client).await;
        clients.push((id, client));
    }
    // Every tenth connection closes before the pushes.
    let mut gone = Vec::new();
    let mut open = Vec::new();
    for (index, (id, client)) in clients.into_iter().enumerate() {
        if index % 10 == 0 {
            client.close().await;
            gone.push(id);
        } else {
            open.push((id, client));
        }
    }
    closed.wait_for(&gone).await;

    let connections = server.connections();
    let mut targets: Vec<ConnectionId> = open.iter().map(|(id, _)| *id).collect();
    targets.extend(&gone);
    let results = tokio::spawn(async move {
        let mut results = Vec::new();
        for (n, id) in targets.into_iter().enumerate() {
            results.push((id, connections.notify(id, "tick", &json!({ "n": n })).await));
        }
        results
    })
    .await
    .expect("the background task finished");
    for (id, result) in &results {
        if gone.contains(id) {
            assert_eq!(result, &Err(DeliveryError::UnknownConnection(*id)));
        } else {
            assert_eq!(result, &Ok(()), "the push to {id} was queued");
        }
    }
    for (n, (_, client)) in open.iter_mut().enumerate() {
        assert_eq!(
            client.recv_json().await,
            json!({"meta": {"method": "notify", "type": "tick"}, "data": {"n": n}})
        );
        // Nothing else was pushed: the next message is the reply to this request.
        client
            .assert_ok(
                "auth:whoami",
                "read",
                Value::Null,
                json!(client_id(&results, n)),
            )
            .await;
    }
    assert_eq!(server.connection_count(), 900);
}

fn client_id(results: &[(ConnectionId, Result<(), DeliveryError>)], n: usize) -> String {
    results[n].0.to_string()
}

#[tokio::test]
async fn a_push_to_a_connection_that_has_gone_is_an_error_and_leaves_nothing_behind() {
    let (server, closed) = start().await;
    let mut client = Client::connect(server.local_addr()).await;
    let id = id_of(&mut client).await;
    client.close().await;
    closed.wait_for(&[id]).await;
    let connections = server.connections();
    assert_eq!(
        connections.notify(id, "late", &json!({})).await,
        Err(DeliveryError::UnknownConnection(id))
    );
    assert_eq!(
        connections.close(id, 4000, "late").await,
        Err(DeliveryError::UnknownConnection(id))
    );
    assert!(connections.get(id).is_none());
    assert_eq!(connections.export(id).await, Ok(None));
    assert_eq!(connections.count().await.map(|count| count.value), Ok(0));
}

#[tokio::test]
async fn the_export_is_every_plugins_settings_as_the_client_set_them() {
    let (server, _) = start().await;
    let mut client = Client::connect(server.local_addr()).await;
    let id = id_of(&mut client).await;
    client
        .assert_ok("yoctopus:label", "update", json!("phone"), json!({}))
        .await;
    client
        .assert_ok(
            "auth:session",
            "create",
            json!({"user": "alice", "role": "admin"}),
            json!({}),
        )
        .await;
    let expected = json!({
        "yoctopus": {
            "label": "phone",
            "isSecure": false,
            "port": server.local_addr().port(),
            "remoteAddress": "127.0.0.1"
        },
        "auth": {"userId": "alice", "role": "admin"}
    });
    let connections = server.connections();
    assert_eq!(connections.export(id).await, Ok(Some(expected.clone())));
    let exports = connections.exports().await.expect("a local survey answers");
    assert!(exports.complete);
    assert_eq!(exports.value, vec![(id, expected)]);
}

#[tokio::test]
async fn close_by_id_arrives_with_its_code_and_reason() {
    let (server, _) = start().await;
    let mut client = Client::connect(server.local_addr()).await;
    let id = id_of(&mut client).await;
    server
        .connections()
        .close(id, 4001, "kicked by an operator")
        .await
        .expect("the connection is open");
    assert_eq!(
        client.close_frame().await,
        Some((4001, "kicked by an operator".to_owned()))
    );
}

#[tokio::test]
async fn connections_are_selected_by_their_settings() {
    let (server, _) = start().await;
    let mut users = Vec::new();
    for (user, role) in [("ann", "admin"), ("bob", "member"), ("cy", "admin")] {
        let mut client = Client::connect(server.local_addr()).await;
        client
            .assert_ok(
                "auth:session",
                "create",
                json!({"user": user, "role": role}),
                json!({}),
            )
            .await;
        let id = id_of(&mut client).await;
        users.push((user, id, client));
    }
    let connections = server.connections();
    let admins = SettingsFilter::from_json(json!({"auth": {"role": "admin"}})).expect("a filter");
    let mut selected = connections.select(admins).await.expect("answered").value;
    selected.sort();
    let mut expected = vec![users[0].1, users[2].1];
    expected.sort();
    assert_eq!(selected, expected);
    let bob = SettingsFilter::all().with("auth", "userId", "bob");
    assert_eq!(
        connections.select(bob).await.expect("answered").value,
        [users[1].1]
    );
    let nobody = SettingsFilter::all().with("auth", "role", "owner");
    assert!(connections
        .select(nobody)
        .await
        .expect("answered")
        .value
        .is_empty());
    let mut all = connections.ids().await.expect("answered").value;
    all.sort();
    let mut ids: Vec<ConnectionId> = users.iter().map(|(_, id, _)| *id).collect();
    ids.sort();
    assert_eq!(all, ids);
}

#[tokio::test]
async fn a_handler_notifies_another_connection_by_id() {
    let (server, closed) = start().await;
    let mut alice = Client::connect(server.local_addr()).await;
    let mut bob = Client::connect(server.local_addr()).await;
    let alice_id = id_of(&mut alice).await;
    let bob_id = id_of(&mut bob).await;
    alice
        .assert_ok(
            "auth:direct",
            "create",
            json!({"to": bob_id.to_string(), "text": "hi bob"}),
            json!({}),
        )
        .await;
    assert_eq!(
        bob.recv_json().await,
        json!({"meta": {"method": "notify", "type": "direct"}, "data": {"from": alice_id.to_string(), "text": "hi bob"}})
    );
    bob.close().await;
    closed.wait_for(&[bob_id]).await;
    let error = alice
        .error(
            "auth:direct",
            "create",
            json!({"to": bob_id.to_string(), "text": "still there?"}),
        )
        .await;
    assert!(
        error
            .as_str()
            .is_some_and(|error| error.contains(&bob_id.to_string())),
        "{error}"
    );
}
