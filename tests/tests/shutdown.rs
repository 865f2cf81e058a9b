//! Graceful shutdown: running requests finish and are answered, new requests and connections are
//! refused, and every open connection receives a close frame with 1001 (going away).

mod common;
mod gate;
mod raw;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::start_with;
use gate::gated;
use raw::{RawClient, WAIT};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, Semaphore};
use yoctopus_core::Server;

/// A server with the gated plugin, the receiving end of its start reports, and its gate.
async fn start(builder: yoctopus_core::ServerBuilder) -> (Server, Held) {
    let (started_tx, started) = mpsc::unbounded_channel();
    let release = Arc::new(Semaphore::new(0));
    let builder = builder.state(gated::Gate {
        started: started_tx,
        release: Arc::clone(&release),
    });
    (
        start_with(builder, [gated::plugin()]).await,
        Held { started, release },
    )
}

/// The test's side of the gate.
struct Held {
    started: mpsc::UnboundedReceiver<u64>,
    release: Arc<Semaphore>,
}

impl Held {
    /// Waits until `count` slow requests are running; returns their numbers, sorted.
    async fn wait_started(&mut self, count: usize) -> Vec<u64> {
        let mut started = Vec::new();
        for _ in 0..count {
            started.push(
                tokio::time::timeout(WAIT, self.started.recv())
                    .await
                    .expect("a slow request started in time")
                    .expect("the gate's sender lives in the server"),
            );
        }
        started.sort_unstable();
        started
    }
}

fn slow_request(n: u64) -> Value {
    json!({"meta": {"id": n, "endpoint": "gated:slow", "method": "read"}, "data": n})
}

fn slow_reply(n: u64) -> Value {
    json!({"meta": {"id": n, "endpoint": "gated:slow", "method": "read", "status": "ok"}, "data": n})
}

fn echo_request(id: &str) -> Value {
    json!({"meta": {"id": id, "endpoint": "gated:echo", "method": "read"}, "data": id})
}

fn echo_reply(id: &str) -> Value {
    json!({"meta": {"id": id, "endpoint": "gated:echo", "method": "read", "status": "ok"}, "data": id})
}

/// How a new client fared while the server was stopping.
#[derive(Debug, PartialEq, Eq)]
enum Attempt {
    /// The TCP connection was refused: the listener is closed.
    ConnectionRefused,
    /// The upgrade was answered with this status and body.
    Refused(u16, String),
    /// The upgrade succeeded.
    Upgraded,
}

async fn attempt(addr: SocketAddr) -> Attempt {
    let stream = match tokio::time::timeout(WAIT, TcpStream::connect(addr))
        .await
        .expect("connecting timed out")
    {
        Ok(stream) => stream,
        Err(_) => return Attempt::ConnectionRefused,
    };
    match RawClient::handshake(stream, &addr.to_string(), &[]).await {
        Ok(_) => Attempt::Upgraded,
        Err(response) => Attempt::Refused(response.status, response.body_text().to_owned()),
    }
}

/// Waits until the server refuses new clients: the sign that shutdown has begun.
async fn wait_until_refusing(addr: SocketAddr) -> Attempt {
    tokio::time::timeout(WAIT, async {
        loop {
            match attempt(addr).await {
                Attempt::Upgraded => tokio::task::yield_now().await,
                refused => return refused,
            }
        }
    })
    .await
    .expect("the server began refusing new clients in time")
}

fn assert_refused_for_shutdown(attempt: &Attempt) {
    assert!(
        matches!(attempt, Attempt::ConnectionRefused)
            || *attempt == Attempt::Refused(503, "the server is shutting down\n".to_owned()),
        "a new client during shutdown got {attempt:?}"
    );
}

#[tokio::test]
async fn shutdown_sends_1001_to_every_open_connection_and_returns() {
    let (server, _held) = start(Server::builder()).await;
    let addr = server.local_addr();
    let mut clients = Vec::new();
    for n in 0..5 {
        let mut client = RawClient::connect(addr).await;
        let id = format!("client-{n}");
        assert_eq!(client.request(&echo_request(&id)).await, echo_reply(&id));
        clients.push(client);
    }
    assert_eq!(server.connection_count(), 5);

    let shutdown = tokio::spawn(server.shutdown());
    for client in &mut clients {
        client.assert_closed_with(1001).await;
    }
    tokio::time::timeout(WAIT, shutdown)
        .await
        .expect("shutdown returned in time")
        .expect("shutdown did not panic");
    assert_eq!(attempt(addr).await, Attempt::ConnectionRefused);
}

#[tokio::test]
async fn shutdown_completes_in_flight_requests_before_closing_with_1001() {
    let (server, mut held) = start(Server::builder()).await;
    let addr = server.local_addr();
    let mut first = RawClient::connect(addr).await;
    let mut second = RawClient::connect(addr).await;
    first.send_json(&slow_request(1)).await;
    first.send_json(&slow_request(2)).await;
    second.send_json(&slow_request(3)).await;
    assert_eq!(held.wait_started(3).await, [1, 2, 3]);

    let shutdown = tokio::spawn(server.shutdown());
    assert_refused_for_shutdown(&wait_until_refusing(addr).await);
    // While the requests run, shutdown waits and no connection is closed.
    assert!(
        first.recv_within(Duration::from_millis(300)).await.is_err(),
        "the first connection heard from the server while its requests ran"
    );
    assert!(
        !shutdown.is_finished(),
        "shutdown returned with requests running"
    );

    held.release.add_permits(3);
    let mut replies = vec![first.recv_json().await, first.recv_json().await];
    replies.sort_by_key(|reply| reply["data"].as_u64());
    assert_eq!(replies, [slow_reply(1), slow_reply(2)]);
    assert_eq!(second.recv_json().await, slow_reply(3));
    first.assert_closed_with(1001).await;
    second.assert_closed_with(1001).await;
    tokio::time::timeout(WAIT, shutdown)
        .await
        .expect("shutdown returned in time")
        .expect("shutdown did not panic");
}

#[tokio::test]
async fn a_request_during_shutdown_is_answered_that_the_server_is_shutting_down() {
    let (server, mut held) = start(Server::builder()).await;
    let addr = server.local_addr();
    let mut client = RawClient::connect(addr).await;
    client.send_json(&slow_request(1)).await;
    assert_eq!(held.wait_started(1).await, [1]);

    let shutdown = tokio::spawn(server.shutdown());
    assert_refused_for_shutdown(&wait_until_refusing(addr).await);
    assert_eq!(
        client.request(&echo_request("late")).await,
        json!({
            "meta": {"id": "late", "endpoint": "gated:echo", "method": "read", "status": "error"},
            "error": "the server is shutting down"
        })
    );
    // A new connection is refused as well.
    assert_refused_for_shutdown(&attempt(addr).await);

    held.release.add_permits(1);
    assert_eq!(client.recv_json().await, slow_reply(1));
    client.assert_closed_with(1001).await;
    tokio::time::timeout(WAIT, shutdown)
        .await
        .expect("shutdown returned in time")
        .expect("shutdown did not panic");
}

#[tokio::test]
async fn shutdown_still_closes_with_1001_when_a_request_outlives_the_shutdown_timeout() {
    let timeout = Duration::from_millis(300);
    let (server, mut held) = start(Server::builder().shutdown_timeout(timeout)).await;
    let mut client = RawClient::connect(server.local_addr()).await;
    client.send_json(&slow_request(1)).await;
    assert_eq!(held.wait_started(1).await, [1]);

    // The request is never released.
    let began = Instant::now();
    let shutdown = tokio::spawn(server.shutdown());
    client.assert_closed_with(1001).await;
    tokio::time::timeout(WAIT, shutdown)
        .await
        .expect("shutdown returned in time")
        .expect("shutdown did not panic");
    let after = began.elapsed();
    assert!(
        after >= timeout && after < timeout + Duration::from_secs(3),
        "shutdown took {after:?}"
    );
}

#[tokio::test]
async fn shutdown_of_an_idle_server_returns_at_once_and_frees_the_port() {
    let (server, _held) = start(Server::builder()).await;
    let addr = server.local_addr();
    tokio::time::timeout(WAIT, server.shutdown())
        .await
        .expect("shutdown returned in time");
    assert_eq!(attempt(addr).await, Attempt::ConnectionRefused);
    // The listener is gone: the port can be bound again.
    tokio::net::TcpListener::bind(addr)
        .await
        .expect("the port is free after shutdown");
}
