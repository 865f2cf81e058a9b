//! The server as a whole: binding, the origin check before the upgrade, and graceful shutdown.

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{start, start_with, Client, WAIT};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Error as WsError;
use yoctopus_core::{plugin, Server};

#[plugin]
mod ping {
    #[endpoint(name = "ping", method = "read")]
    async fn ping() -> &'static str {
        "pong"
    }
}

#[plugin]
mod gated {
    use yoctopus_core::prelude::*;

    /// Lets a test know a request is running and decide when it ends.
    pub(crate) struct Gate {
        pub(crate) started: std::sync::Arc<tokio::sync::Notify>,
        pub(crate) release: std::sync::Arc<tokio::sync::Notify>,
    }

    #[endpoint(name = "slow", method = "read")]
    async fn slow(gate: State<Gate>) -> &'static str {
        gate.started.notify_one();
        gate.release.notified().await;
        "finished"
    }
}

async fn assert_serves(client: &mut Client) {
    client
        .assert_ok("ping:ping", "read", Value::Null, json!("pong"))
        .await;
}

/// The HTTP status a refused handshake was answered with.
fn refused_status(result: Result<Client, WsError>) -> u16 {
    match result {
        Err(WsError::Http(response)) => response.status().as_u16(),
        Err(other) => panic!("expected an HTTP refusal, got {other}"),
        Ok(_) => panic!("the handshake was accepted"),
    }
}

#[tokio::test]
async fn port_zero_binds_a_real_free_port_reported_by_local_addr() {
    let first = start([ping::plugin()]).await;
    let second = start([ping::plugin()]).await;
    for server in [&first, &second] {
        let addr = server.local_addr();
        assert_eq!(addr.ip(), IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_ne!(addr.port(), 0);
        let mut client = Client::connect(addr).await;
        assert_serves(&mut client).await;
    }
    assert_ne!(first.local_addr().port(), second.local_addr().port());
}

#[tokio::test]
async fn a_forbidden_origin_is_refused_with_403_before_the_upgrade() {
    let builder = Server::builder().allowed_origins(["https://good.example"]);
    let server = start_with(builder, [ping::plugin()]).await;
    let status = refused_status(
        Client::connect_with_origin(server.local_addr(), "https://evil.example").await,
    );
    assert_eq!(status, 403);
    let mut allowed = Client::connect_with_origin(server.local_addr(), "https://good.example")
        .await
        .expect("an allowed origin is accepted");
    assert_serves(&mut allowed).await;
}

#[tokio::test]
async fn set_allowed_origins_at_run_time_lets_a_refused_origin_in_and_can_shut_it_out_again() {
    let builder = Server::builder().allowed_origins(["https://good.example"]);
    let server = start_with(builder, [ping::plugin()]).await;
    let addr = server.local_addr();
    assert_eq!(
        refused_status(Client::connect_with_origin(addr, "https://new.example").await),
        403
    );

    server.set_allowed_origins(["https://good.example", "https://new.example"]);
    let mut newcomer = Client::connect_with_origin(addr, "https://new.example")
        .await
        .expect("the newly allowed origin is accepted");
    assert_serves(&mut newcomer).await;

    server.set_allowed_origins(["https://good.example"]);
    assert_eq!(
        refused_status(Client::connect_with_origin(addr, "https://new.example").await),
        403
    );
    // A connection already open is not affected by later origin changes.
    assert_serves(&mut newcomer).await;

    server.set_allowed_origins(["*"]);
    let mut anyone = Client::connect_with_origin(addr, "https://anyone.example")
        .await
        .expect("`*` allows every origin");
    assert_serves(&mut anyone).await;
}

#[tokio::test]
async fn a_handshake_without_an_origin_is_accepted_even_with_restricted_origins() {
    let builder = Server::builder().allowed_origins(["https://good.example"]);
    let server = start_with(builder, [ping::plugin()]).await;
    let mut client = Client::connect(server.local_addr()).await;
    assert_serves(&mut client).await;
}

#[tokio::test]
async fn shutdown_closes_open_connections_with_1001_and_returns() {
    let server = start([ping::plugin()]).await;
    let addr = server.local_addr();
    let mut client = Client::connect(addr).await;
    assert_serves(&mut client).await;

    let (code, ()) = tokio::time::timeout(WAIT, async {
        tokio::join!(client.close_code(), server.shutdown())
    })
    .await
    .expect("shutdown returned in time");
    assert_eq!(code, Some(1001));
    assert!(
        Client::try_connect(common::request_to(addr)).await.is_err(),
        "a stopped server accepts no new connections"
    );
}

#[tokio::test]
async fn shutdown_lets_a_running_request_finish_before_closing_with_1001() {
    let started = Arc::new(tokio::sync::Notify::new());
    let release = Arc::new(tokio::sync::Notify::new());
    let builder = Server::builder().state(gated::Gate {
        started: Arc::clone(&started),
        release: Arc::clone(&release),
    });
    let server = start_with(builder, [gated::plugin()]).await;
    let mut client = Client::connect(server.local_addr()).await;
    client
        .send_request("slow", "gated:slow", "read", Value::Null)
        .await;
    tokio::time::timeout(WAIT, started.notified())
        .await
        .expect("the slow request started in time");

    let shutdown = tokio::spawn(server.shutdown());
    release.notify_one();
    assert_eq!(
        client.recv_json().await,
        json!({
            "meta": {"id": "slow", "endpoint": "gated:slow", "method": "read", "status": "ok"},
            "data": "finished"
        })
    );
    assert_eq!(client.close_code().await, Some(1001));
    tokio::time::timeout(WAIT, shutdown)
        .await
        .expect("shutdown returned in time")
        .expect("shutdown did not panic");
}

#[tokio::test]
async fn shutdown_returns_after_its_timeout_when_a_client_never_answers_the_close() {
    let builder = Server::builder().shutdown_timeout(Duration::from_millis(200));
    let server = start_with(builder, [ping::plugin()]).await;
    let mut silent = Client::connect(server.local_addr()).await;
    assert_serves(&mut silent).await;

    let began = Instant::now();
    tokio::time::timeout(WAIT, server.shutdown())
        .await
        .expect("shutdown returned in time");
    // The client never read the close frame; the server stopped waiting at its shutdown timeout
    // (200 ms), well before the 5 s it would give a close handshake.
    assert!(
        began.elapsed() < Duration::from_secs(4),
        "shutdown took {:?}",
        began.elapsed()
    );
    drop(silent);
}
