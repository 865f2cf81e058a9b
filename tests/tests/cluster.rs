//! Servers in one process joined into a cluster through a private `nats-server`: what one
//! server's `Connections` does reaches the connections of the others, and an API change on one
//! reaches the `api` subscribers of all. (The cluster's failure behaviour, with servers in
//! processes of their own that can be killed and stopped, is in `cluster_failures.rs`.)

mod common;

use std::time::Duration;

use common::{start_with, Client, WAIT};
use serde_json::{json, Value};
use yoctopus_core::{Cluster, ConnectionId, Push, Server, SettingsFilter};
use yoctopus_tests::nats::NatsServer;

#[yoctopus_core::plugin]
mod probe {
    use yoctopus_core::prelude::*;

    /// The connection's own id, so a test can address it from another server.
    #[endpoint(name = "whoami", method = "read")]
    async fn whoami(id: ConnectionId) -> String {
        id.to_string()
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
