//! Many connections at once: every request gets its own, correct reply.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{start, Client};
use serde_json::json;
use yoctopus_core::plugin;

const CONNECTIONS: u64 = 100;
const REQUESTS_PER_CONNECTION: u64 = 100;

#[plugin]
mod math {
    use serde_json::{json, Value};
    use yoctopus_core::prelude::*;

    #[derive(RequestFormat)]
    pub(crate) struct Square {
        connection: u64,
        n: u64,
    }

    #[endpoint(name = "square", method = "read")]
    async fn square(request: Square, id: ConnectionId) -> Value {
        // Let other requests run in between, so that replies interleave.
        if request.n.is_multiple_of(3) {
            tokio::task::yield_now().await;
        }
        json!({
            "connection": request.connection,
            "n": request.n,
            "square": request.n * request.n,
            "connectionId": id,
        })
    }
}

/// Sends every request of one connection at once (pipelined), then reads every reply and checks
/// that each id got the data computed for it. Returns the number of verified replies, the
/// server's id for the connection, and the still-open client.
async fn run_connection(addr: std::net::SocketAddr, connection: u64) -> (u64, String, Client) {
    let mut client = Client::connect(addr).await;
    for n in 0..REQUESTS_PER_CONNECTION {
        let id = connection * 1_000 + n;
        client
            .send_request(
                id,
                "math:square",
                "read",
                json!({"connection": connection, "n": n}),
            )
            .await;
    }
    let mut replies = BTreeMap::new();
    for reply in client.recv_many(REQUESTS_PER_CONNECTION as usize).await {
        let id = reply["meta"]["id"]
            .as_u64()
            .expect("the id comes back as a number");
        assert!(
            replies.insert(id, reply).is_none(),
            "two replies for request {id}"
        );
    }
    let server_id = replies
        .values()
        .next()
        .and_then(|reply| reply["data"]["connectionId"].as_str())
        .map(str::to_owned)
        .expect("the reply carries the connection's id");
    let mut verified = 0;
    for n in 0..REQUESTS_PER_CONNECTION {
        let id = connection * 1_000 + n;
        let reply = replies.remove(&id).expect("every request got a reply");
        assert_eq!(
            reply,
            json!({
                "meta": {"id": id, "endpoint": "math:square", "method": "read", "status": "ok"},
                "data": {"connection": connection, "n": n, "square": n * n, "connectionId": server_id}
            })
        );
        verified += 1;
    }
    assert!(
        replies.is_empty(),
        "replies to requests never sent: {replies:?}"
    );
    (verified, server_id, client)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_connections_each_pipelining_a_hundred_requests_get_every_reply_right() {
    let server = start([math::plugin()]).await;
    let addr = server.local_addr();
    let tasks: Vec<_> = (0..CONNECTIONS)
        .map(|connection| tokio::spawn(run_connection(addr, connection)))
        .collect();
    let finished = tokio::time::timeout(Duration::from_secs(60), async {
        let mut finished = Vec::with_capacity(tasks.len());
        for task in tasks {
            finished.push(task.await.expect("a connection's task succeeds"));
        }
        finished
    })
    .await
    .expect("every connection finished in time");

    let total: u64 = finished.iter().map(|(verified, _, _)| verified).sum();
    assert_eq!(total, CONNECTIONS * REQUESTS_PER_CONNECTION);
    let mut server_ids: Vec<&str> = finished.iter().map(|(_, id, _)| id.as_str()).collect();
    server_ids.sort_unstable();
    server_ids.dedup();
    assert_eq!(
        server_ids.len() as u64,
        CONNECTIONS,
        "each connection has its own id"
    );
    assert_eq!(server.connection_count(), CONNECTIONS as usize);
}
