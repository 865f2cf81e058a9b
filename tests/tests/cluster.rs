//! Servers in one process joined into a cluster through a private `nats-server`: what one
//! server's `Connections` does reaches the connections of the others, an API change on one
//! reaches the `api` subscribers of all, and with a route declared, a routed multicast or query
//! reaches only the servers holding a connection it can match (watched from a NATS client of the
//! test's own). (The cluster's failure behaviour, with servers in
//! processes of their own that can be killed and stopped, is in `cluster_failures.rs`.)

mod common;

use std::time::Duration;

use common::{start_with, Client, WAIT};
use futures_util::StreamExt;
use serde_json::{json, Value};
use yoctopus_core::{Cluster, ConnectionId, Push, Server, SettingsFilter};
use yoctopus_tests::nats::NatsServer;

#[yoctopus_core::plugin]
mod probe {
    use yoctopus_core::prelude::*;

    /// The room a connection is in: the setting the routed tests route by.
    #[settings]
    #[derive(Debug, Default, Clone)]
    pub(crate) struct Settings {
        pub(crate) room: Option<String>,
    }

    /// The connection's own id, so a test can address it from another server.
    #[endpoint(name = "whoami", method = "read")]
    async fn whoami(id: ConnectionId) -> String {
        id.to_string()
    }

    /// Puts the connection in a room.
    #[endpoint(name = "room", method = "update")]
    async fn room(room: String) -> Reply<Settings> {
        Reply::only_settings(Settings { room: Some(room) })
    }
}

/// A later plugin, added while the cluster runs.
#[yoctopus_core::plugin]
mod late {
    #[endpoint(name = "hello", method = "read")]
    async fn hello() -> &'static str {
        "hello"
    }
}

fn cluster(nats: &NatsServer) -> Cluster {
    Cluster::nats(nats.url())
        .name("in-process")
        .gather_timeout(Duration::from_secs(2))
}

async fn node(nats: &NatsServer) -> Server {
    start_with(
        Server::builder().cluster(cluster(nats)),
        [probe::plugin(), yoctopus_plugins::api::plugin()],
    )
    .await
}

async fn id_of(client: &mut Client) -> ConnectionId {
    let id = client.ok("probe:whoami", "read", Value::Null).await;
    id.as_str()
        .expect("an id is a string")
        .parse()
        .expect("an id")
}

fn start_nats() -> NatsServer {
    NatsServer::start().expect("a private nats-server starts (bash scripts/install-test-deps.sh)")
}

#[tokio::test]
async fn a_notify_by_id_reaches_a_connection_on_another_server() {
    let nats = start_nats();
    let (a, b) = (node(&nats).await, node(&nats).await);
    let mut on_b = Client::connect(b.local_addr()).await;
    let id = id_of(&mut on_b).await;
    assert_eq!(id.node(), b.node_id());

    a.connections()
        .notify(id, "hello", &json!({"from": "a"}))
        .await
        .expect("the push is queued on server b");
    assert_eq!(
        on_b.recv_json().await,
        json!({"meta": {"method": "notify", "type": "hello"}, "data": {"from": "a"}})
    );

    on_b.close().await;
    let gone = tokio::time::timeout(WAIT, async {
        loop {
            match a.connections().notify(id, "hello", &Value::Null).await {
                Err(error) => return error,
                Ok(()) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    })
    .await
    .expect("the closed connection is unknown in time");
    assert_eq!(gone, yoctopus_core::DeliveryError::UnknownConnection(id));
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test]
async fn multicast_count_and_export_cover_both_servers() {
    let nats = start_nats();
    let (a, b) = (node(&nats).await, node(&nats).await);
    let mut clients = Vec::new();
    for (n, server) in [&a, &b, &b, &a, &b].into_iter().enumerate() {
        let mut client = Client::connect(server.local_addr()).await;
        let label = if n % 2 == 0 { "red" } else { "blue" };
        client
            .assert_ok("yoctopus:label", "update", json!(label), json!({}))
            .await;
        clients.push(client);
    }
    let red = SettingsFilter::all().with("yoctopus", "label", "red");
    let push = Push::new("paint", &json!("red")).unwrap();
    assert_eq!(a.connections().multicast(red, push).await, Ok(3));
    for (n, client) in clients.iter_mut().enumerate() {
        if n % 2 == 0 {
            assert_eq!(client.recv_json().await["data"], "red");
        }
        // Nothing else arrived before the answer to this request.
        assert!(client
            .ok("probe:whoami", "read", Value::Null)
            .await
            .is_string());
    }

    let count = b.connections().count().await.unwrap();
    assert_eq!((count.value, count.complete), (5, true));
    let exports = a.connections().exports().await.unwrap();
    assert!(exports.complete);
    let mut labels: Vec<String> = exports
        .value
        .iter()
        .map(|(_, settings)| settings["yoctopus"]["label"].as_str().unwrap().to_owned())
        .collect();
    labels.sort();
    assert_eq!(labels, ["blue", "blue", "red", "red", "red"]);
    let on_b = exports
        .value
        .iter()
        .map(|(id, _)| *id)
        .find(|id| id.node() == b.node_id())
        .unwrap();
    let one = a.connections().export(on_b).await.unwrap().expect("found");
    assert!(one["yoctopus"]["label"].is_string());
    for client in clients {
        client.close().await;
    }
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test]
async fn an_api_change_on_one_server_reaches_subscribers_on_the_other() {
    let nats = start_nats();
    let (a, b) = (node(&nats).await, node(&nats).await);
    let mut on_b = Client::connect(b.local_addr()).await;
    on_b.assert_ok(
        "api:api",
        "subscribe",
        Value::Null,
        json!({"subscribed": true}),
    )
    .await;
    a.add_plugin(late::plugin()).expect("the plugin is added");
    let push = on_b.recv_json().await;
    assert_eq!(push["meta"]["type"], "api-changed");
    assert!(
        push["data"].to_string().contains("late:hello"),
        "the push carries server a's new API: {push}"
    );
    a.shutdown().await;
    b.shutdown().await;
}

/// A server of cluster `name` routing by `probe.room`.
async fn routed_node(nats: &NatsServer, name: &str) -> Server {
    start_with(
        Server::builder()
            .cluster(cluster(nats).name(name))
            .cluster_route("probe", "room"),
        [probe::plugin()],
    )
    .await
}

async fn in_room(server: &Server, room: &str) -> Client {
    let mut client = Client::connect(server.local_addr()).await;
    client
        .assert_ok("probe:room", "update", json!(room), json!({}))
        .await;
    client
}

fn room_filter(room: &str) -> SettingsFilter {
    SettingsFilter::all().with("probe", "room", room)
}

/// The nodes that answer a count of `room`'s connections published by hand to `subject`,
/// within a second.
async fn answering_nodes(nats: &async_nats::Client, subject: String, room: &str) -> Vec<Value> {
    let inbox = nats.new_inbox();
    let mut answers = nats.subscribe(inbox.clone()).await.unwrap();
    let request =
        json!({"op": "survey", "filter": {"probe": {"room": room}}, "id": null, "export": false});
    nats.publish_with_reply(subject, inbox, request.to_string().into())
        .await
        .unwrap();
    let mut nodes = Vec::new();
    let until = tokio::time::Instant::now() + Duration::from_secs(1);
    while let Ok(Some(message)) = tokio::time::timeout_at(until, answers.next()).await {
        if message.status.is_none() {
            let answer: Value = serde_json::from_slice(&message.payload).unwrap();
            nodes.push(answer["node"].clone());
        }
    }
    nodes.sort_by_key(ToString::to_string);
    nodes
}

#[tokio::test]
async fn a_routed_multicast_reaches_only_the_servers_holding_its_room() {
    let nats = start_nats();
    let watcher = async_nats::connect(nats.url()).await.unwrap();
    let mut published = watcher.subscribe("yoctopus.routed.>").await.unwrap();
    let (a, b, c) = (
        routed_node(&nats, "routed").await,
        routed_node(&nats, "routed").await,
        routed_node(&nats, "routed").await,
    );
    let mut members = vec![
        in_room(&a, "red").await,
        in_room(&b, "red").await,
        in_room(&b, "red").await,
    ];
    let mut elsewhere = in_room(&c, "blue").await;

    let push = Push::new("paint", &json!("red")).unwrap();
    assert_eq!(
        c.connections().multicast(room_filter("red"), push).await,
        Ok(3)
    );
    for member in &mut members {
        assert_eq!(member.recv_json().await["data"], "red");
    }
    let count = c.connections().select(room_filter("red")).await.unwrap();
    assert_eq!((count.value.len(), count.complete), (3, true));
    // The blue connection got nothing: the next thing it reads is the answer to its request.
    assert!(elsewhere
        .ok("probe:whoami", "read", Value::Null)
        .await
        .is_string());

    // What went over NATS: the routed multicast and query on a topic subject, never on `all`;
    // and only a and b announced that they hold a topic ("red"), c its "blue".
    let mut subjects = Vec::new();
    let mut announcers = Vec::new();
    while let Ok(Some(message)) =
        tokio::time::timeout(Duration::from_millis(300), published.next()).await
    {
        if message.subject.ends_with(".interest") {
            let interest: Value = serde_json::from_slice(&message.payload).unwrap();
            announcers.push(interest["node"].as_str().unwrap().to_owned());
        }
        subjects.push(message.subject.to_string());
    }
    assert!(
        !subjects
            .iter()
            .any(|subject| subject == "yoctopus.routed.all"),
        "{subjects:?}"
    );
    let topics: Vec<&String> = subjects.iter().filter(|s| s.contains(".topic.")).collect();
    assert_eq!(topics.len(), 2, "one multicast, one query: {subjects:?}");
    announcers.sort();
    let mut expected = vec![
        a.node_id().to_string(),
        b.node_id().to_string(),
        c.node_id().to_string(),
    ];
    expected.sort();
    assert_eq!(announcers, expected, "each announced its one room once");

    // Asked by hand on the red topic's subject, only a and b answer: c never subscribed to it.
    let mut holders = vec![
        json!(a.node_id().to_string()),
        json!(b.node_id().to_string()),
    ];
    holders.sort_by_key(ToString::to_string);
    assert_eq!(
        answering_nodes(&watcher, topics[0].clone(), "red").await,
        holders
    );

    for client in members.into_iter().chain([elsewhere]) {
        client.close().await;
    }
    for server in [a, b, c] {
        server.shutdown().await;
    }
}

#[tokio::test]
async fn a_server_that_joins_late_learns_who_holds_which_room() {
    let nats = start_nats();
    let a = routed_node(&nats, "late").await;
    let mut on_a = in_room(&a, "green").await;
    let b = routed_node(&nats, "late").await;
    let push = Push::new("paint", &json!("green")).unwrap();
    // b learns a's rooms from a's answer to its hello; until then a routed multicast would miss
    // a, so wait (bounded) for the first one that reaches it.
    let reached = tokio::time::timeout(WAIT, async {
        loop {
            match b
                .connections()
                .multicast(room_filter("green"), push.clone())
                .await
            {
                Ok(0) => tokio::time::sleep(Duration::from_millis(20)).await,
                other => return other,
            }
        }
    })
    .await
    .expect("b learns a's rooms in time");
    assert_eq!(reached, Ok(1));
    assert_eq!(on_a.recv_json().await["data"], "green");

    // Leaving the room: a no longer holds it, and b's multicasts to it reach nobody.
    on_a.assert_ok("probe:room", "update", json!("grey"), json!({}))
        .await;
    let push = Push::new("paint", &json!("green again")).unwrap();
    let reached = tokio::time::timeout(WAIT, async {
        loop {
            match b
                .connections()
                .multicast(room_filter("green"), push.clone())
                .await
            {
                Ok(1) => {
                    // Sent before b heard a leave: it reached a's connection, which reads it.
                    assert_eq!(on_a.recv_json().await["data"], "green again");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                other => return other,
            }
        }
    })
    .await
    .expect("a stops holding the room in time");
    assert_eq!(reached, Ok(0));
    assert!(on_a
        .ok("probe:whoami", "read", Value::Null)
        .await
        .is_string());
    drop(on_a);
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test]
async fn a_room_taken_on_one_server_is_found_from_another_once_answered() {
    let nats = start_nats();
    let (a, b) = (
        routed_node(&nats, "at-once").await,
        routed_node(&nats, "at-once").await,
    );
    let mut on_a = Client::connect(a.local_addr()).await;
    // Each answer comes only once b knows that a holds the room: b's query, sent right after,
    // finds the connection every time (a bounded loop, no waiting in between).
    for n in 0..100 {
        let room = format!("room-{n}");
        on_a.assert_ok("probe:room", "update", json!(room), json!({}))
            .await;
        let found = b.connections().select(room_filter(&room)).await.unwrap();
        assert_eq!(
            (found.value.len(), found.complete),
            (1, true),
            "round {n}: b did not find a's connection in {room}"
        );
    }
    on_a.close().await;
    a.shutdown().await;
    b.shutdown().await;
}
