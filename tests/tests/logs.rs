//! Log subscription over real sockets: a subscriber receives a request's entries tagged with its
//! connection, including what a handler logs through `Log`; nothing after unsubscribing; a slow
//! subscriber's entries are dropped and counted while the server keeps answering.

mod common;

use std::sync::Once;

use common::{start_with, Client, WAIT};
use serde_json::json;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use yoctopus_core::logs::{LogEntry, LogSubscription};
use yoctopus_core::{ConnectionId, Server};

/// The process's subscriber, with the layer that feeds subscriptions (once per test binary).
fn install_layer() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        tracing_subscriber::registry()
            .with(tracing_subscriber::filter::LevelFilter::DEBUG)
            .with(yoctopus_core::logs::layer())
            .init();
    });
}

#[yoctopus_core::plugin]
mod orders {
    use yoctopus_core::prelude::*;

    #[endpoint(name = "order", method = "create")]
    async fn create(item: String, log: Log, id: ConnectionId) -> ConnectionId {
        log.info(format_args!("order placed for {item}"));
        id
    }
}

/// The next entry of `logs` about `connection`, skipping other tests' entries.
async fn next_about(logs: &mut LogSubscription, connection: ConnectionId) -> LogEntry {
    tokio::time::timeout(WAIT, async {
        loop {
            let entry = logs.recv().await.expect("the subscription is open");
            if entry.connection == Some(connection) {
                return entry;
            }
        }
    })
    .await
    .expect("an entry about the connection arrived in time")
}

async fn id_of(client: &mut Client, item: &str) -> ConnectionId {
    let id = client.ok("orders:order", "create", json!(item)).await;
    id.as_str()
        .and_then(|id| id.parse().ok())
        .expect("the handler answers its connection's id")
}

#[tokio::test]
async fn a_subscriber_receives_a_requests_entries_with_its_connection_and_none_after_unsubscribing()
{
    install_layer();
    let server = start_with(Server::builder(), [orders::plugin()]).await;
    let mut logs = server.subscribe_to_logs(4096);
    let mut client = Client::connect(server.local_addr()).await;
    let id = id_of(&mut client, "tea").await;
    // The server's own entry about the connection, from inside its span.
    let opened = next_about(&mut logs, id).await;
    assert_eq!(opened.message, "connection opened");
    assert_eq!(opened.level, tracing::Level::INFO);
    // The handler's entry, through `Log`.
    let placed = loop {
        let entry = next_about(&mut logs, id).await;
        if entry.target == "yoctopus::log" {
            break entry;
        }
    };
    assert_eq!(placed.message, "order placed for tea");
    assert_eq!(placed.level, tracing::Level::INFO);
    assert!(placed.time <= std::time::SystemTime::now());

    logs.unsubscribe();
    let mut later = server.subscribe_to_logs(4096);
    assert_eq!(id_of(&mut client, "coffee").await, id);
    // A subscription made since sees the new entry.
    let entry = loop {
        let entry = next_about(&mut later, id).await;
        if entry.target == "yoctopus::log" {
            break entry;
        }
    };
    assert_eq!(entry.message, "order placed for coffee");
    // The unsubscribed one gives what was queued before, then ends: nothing about coffee.
    let drained = tokio::time::timeout(WAIT, async {
        let mut drained = Vec::new();
        while let Some(entry) = logs.recv().await {
            drained.push(entry.message);
        }
        drained
    })
    .await
    .expect("an unsubscribed subscription ends");
    assert!(
        !drained.iter().any(|message| message.contains("coffee")),
        "{drained:?}"
    );
}

#[tokio::test]
async fn a_slow_subscriber_loses_entries_and_counts_them_and_the_server_keeps_answering() {
    install_layer();
    let server = start_with(Server::builder(), [orders::plugin()]).await;
    let logs = server.subscribe_to_logs(1);
    let mut client = Client::connect(server.local_addr()).await;
    for n in 0..50 {
        let id = client
            .request(n, "orders:order", "create", json!("bread"))
            .await;
        assert_eq!(id["meta"]["status"], json!("ok"), "{id}");
    }
    assert!(
        logs.dropped() >= 40,
        "the subscriber, never reading, lost entries: {}",
        logs.dropped()
    );
    drop(logs);
    let again = client.ok("orders:order", "create", json!("milk")).await;
    assert!(again.is_string(), "{again}");
}
