//! Liveness pings: the server pings every `ping_interval` and drops a connection that leaves
//! `max_lost_pings` pings in a row unanswered. The client here is raw, so it answers pings only
//! when the test says so.

mod common;
mod raw;

use std::time::{Duration, Instant};

use common::start_with;
use raw::{opcode, FrameOut, RawClient};
use serde_json::json;
use yoctopus_core::{plugin, Server};

#[plugin]
mod echo {
    use serde_json::Value;

    #[endpoint(name = "echo", method = "read")]
    async fn echo(data: Value) -> Value {
        data
    }
}

const PING_INTERVAL: Duration = Duration::from_millis(100);
const MAX_LOST_PINGS: u32 = 2;

async fn start() -> Server {
    let builder = Server::builder()
        .ping_interval(PING_INTERVAL)
        .max_lost_pings(MAX_LOST_PINGS);
    start_with(builder, [echo::plugin()]).await
}

fn echo_request(id: u64) -> serde_json::Value {
    json!({"meta": {"id": id, "endpoint": "echo:echo", "method": "read"}, "data": id})
}

fn echo_reply(id: u64) -> serde_json::Value {
    json!({"meta": {"id": id, "endpoint": "echo:echo", "method": "read", "status": "ok"}, "data": id})
}

fn assert_is_ping(frame: &raw::Frame) {
    assert_eq!(
        (frame.opcode, frame.fin, frame.masked, frame.rsv),
        (opcode::PING, true, false, 0),
        "expected a liveness ping, got {frame:?}"
    );
}

#[tokio::test]
async fn a_client_that_ignores_pings_is_dropped_after_max_lost_pings() {
    let server = start().await;
    let began = Instant::now();
    let mut client = RawClient::connect(server.local_addr()).await;
    let mut pings = 0;
    while let Some(frame) = client.recv().await {
        assert_is_ping(&frame);
        pings += 1;
    }
    // Two pings went unanswered; at the third interval the connection was dropped, without a
    // close handshake (the client is not listening).
    assert_eq!(pings, MAX_LOST_PINGS);
    let after = began.elapsed();
    assert!(
        after >= PING_INTERVAL * MAX_LOST_PINGS && after < Duration::from_secs(3),
        "dropped after {after:?}"
    );
}

#[tokio::test]
async fn a_client_that_answers_every_ping_stays_connected() {
    let server = start().await;
    let mut client = RawClient::connect(server.local_addr()).await;
    // Three times as many pings as may be lost in a row, each answered with its own payload.
    for answered in 0..3 * MAX_LOST_PINGS {
        let ping = client.recv_frame().await;
        assert_is_ping(&ping);
        client.send(&FrameOut::pong(ping.payload)).await;
        assert_eq!(
            client.request(&echo_request(answered.into())).await,
            echo_reply(answered.into())
        );
    }
    assert_eq!(server.connection_count(), 1);
}

#[tokio::test]
async fn requests_do_not_stand_in_for_pongs() {
    let server = start().await;
    let mut client = RawClient::connect(server.local_addr()).await;
    let mut pings: u64 = 0;
    let mut replies: u64 = 0;
    // After every ping the client sends a request, and it reads every reply, but it never
    // answers a ping.
    while let Some(frame) = client.recv().await {
        if frame.opcode == opcode::PING {
            pings += 1;
            client.send_json(&echo_request(pings)).await;
        } else {
            replies += 1;
            assert_eq!(frame.json(), echo_reply(replies));
        }
    }
    assert!(replies >= 1, "no request was answered");
    assert_eq!(pings, u64::from(MAX_LOST_PINGS));
}

#[tokio::test]
async fn one_pong_resets_the_count_of_lost_pings() {
    // A longer interval: the pong must reach the server before the next tick, with no slack.
    let builder = Server::builder()
        .ping_interval(Duration::from_millis(250))
        .max_lost_pings(MAX_LOST_PINGS);
    let server = start_with(builder, [echo::plugin()]).await;
    let mut client = RawClient::connect(server.local_addr()).await;
    // Leave one ping fewer than the limit unanswered, answer the next, and repeat: the count
    // starts over at each pong, so the connection is never dropped.
    for _ in 0..3 {
        for _ in 0..MAX_LOST_PINGS - 1 {
            assert_is_ping(&client.recv_frame().await);
        }
        let ping = client.recv_frame().await;
        assert_is_ping(&ping);
        client.send(&FrameOut::pong(ping.payload)).await;
    }
    assert_eq!(client.request(&echo_request(7)).await, echo_reply(7));
    // Then silence: exactly the limit of pings more, and the connection is dropped.
    let mut pings = 0;
    while let Some(frame) = client.recv().await {
        assert_is_ping(&frame);
        pings += 1;
    }
    assert_eq!(pings, MAX_LOST_PINGS);
}
