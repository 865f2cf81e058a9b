//! Pushes to idle connections, which their senders write into the socket themselves (the
//! connection's write gate): they arrive whole and in order, never ahead of a reply or of a push
//! queued before them, also when the socket takes a push only in part; many senders at once
//! still reach every connection with each sender's pushes in order. And the bytes a client sends
//! together with its upgrade request are read, now that the socket is taken back from hyper.

mod common;
mod raw;

use std::collections::HashMap;

use common::start;
use raw::{opcode, RawClient};
use serde_json::{json, Value};
use yoctopus_core::{plugin, Server};

#[plugin]
mod pusher {
    use yoctopus_core::prelude::*;

    #[derive(RequestFormat)]
    pub(crate) struct Burst {
        count: u64,
        size: u64,
    }

    /// Pushes `count` numbered pushes of about `size` bytes from a task of its own, so that they
    /// meet the connection's loop idle, busy and in between; answers at once.
    #[endpoint(name = "burst", method = "create")]
    async fn burst(request: Burst, connection: Connection) -> u64 {
        tokio::spawn(async move {
            for n in 0..request.count {
                let pad = padding(n, request.size);
                let push = Push::new("numbered", &serde_json::json!({"n": n, "pad": pad}))
                    .expect("a JSON object serializes");
                connection
                    .notify(push)
                    .expect("a client that reads is never cut off");
                tokio::task::yield_now().await;
            }
        });
        request.count
    }

    #[endpoint(name = "echo", method = "read")]
    async fn echo(data: serde_json::Value) -> serde_json::Value {
        data
    }

    /// The padding of push `n`: its own letter, so a push mixed up with another shows.
    pub(crate) fn padding(n: u64, size: u64) -> String {
        let letter = char::from(b'a' + (n % 26) as u8);
        std::iter::repeat_n(letter, size as usize).collect()
    }
}

fn echo_request(id: u64) -> Value {
    json!({"meta": {"id": id, "endpoint": "pusher:echo", "method": "read"}, "data": {"echo": id}})
}

/// Reads until `pushes` pushes and every reply in `replies` arrived, asserting that the pushes
/// come numbered in order with their own padding and that the replies come in the order sent.
async fn read_pushes_and_replies(client: &mut RawClient, pushes: u64, size: u64, replies: &[u64]) {
    let mut next_push = 0;
    let mut next_reply = 0;
    while next_push < pushes || next_reply < replies.len() {
        let frame = client.recv_frame().await;
        if frame.opcode == opcode::PING {
            continue;
        }
        assert_eq!(frame.opcode, opcode::TEXT, "{frame:?}");
        assert!(frame.fin, "whole messages only");
        let message = frame.json();
        if message["meta"]["method"] == "notify" {
            assert_eq!(message["meta"]["type"], "numbered");
            assert_eq!(message["data"]["n"], next_push, "pushes arrive in order");
            assert_eq!(
                message["data"]["pad"],
                pusher::padding(next_push, size),
                "push {next_push} arrived whole"
            );
            next_push += 1;
        } else {
            let id = replies[next_reply];
            assert_eq!(
                message,
                json!({"meta": {"id": id, "endpoint": "pusher:echo", "method": "read", "status": "ok"}, "data": {"echo": id}}),
                "replies arrive in the order of their requests"
            );
            next_reply += 1;
        }
    }
}

async fn burst(client: &mut RawClient, count: u64, size: u64) {
    let reply = client
        .request(&json!({"meta": {"id": "burst", "endpoint": "pusher:burst", "method": "create"}, "data": {"count": count, "size": size}}))
        .await;
    assert_eq!(reply["data"], count, "{reply}");
}

#[tokio::test]
async fn large_pushes_the_socket_takes_in_part_arrive_whole_and_in_order_among_replies() {
    let server = start([pusher::plugin()]).await;
    let addr = server.local_addr();
    let stream = raw::tcp_connect_with_receive_buffer(addr, 64 * 1024).await;
    let mut client = RawClient::handshake(stream, &addr.to_string(), &[])
        .await
        .expect("the upgrade is accepted");
    // 40 pushes of 1 MiB while the client stops reading for a moment: more than the socket
    // buffers hold (tens of MiB on loopback), so pushes are written whole, in part (the loop
    // writes the rest) and queued, in turns; never more than the outbound queue holds.
    let (count, size) = (40, 1024 * 1024);
    burst(&mut client, count, size).await;
    let ids: Vec<u64> = (1..=100).collect();
    for id in &ids {
        client.send_json(&echo_request(*id)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    read_pushes_and_replies(&mut client, count, size, &ids).await;
    assert_eq!(
        client.request(&echo_request(101)).await["data"]["echo"],
        101
    );
}

#[tokio::test]
async fn small_pushes_keep_their_order_among_pipelined_replies() {
    let server = start([pusher::plugin()]).await;
    let mut client = RawClient::connect(server.local_addr()).await;
    let (count, size) = (2_000, 16);
    burst(&mut client, count, size).await;
    let mut ids = Vec::new();
    for round in 0..20 {
        let batch: Vec<u64> = (0..10).map(|index| round * 10 + index).collect();
        let frames: Vec<_> = batch
            .iter()
            .map(|id| raw::FrameOut::text(echo_request(*id).to_string()))
            .collect();
        client.send_all(&frames).await;
        ids.extend(batch);
        tokio::task::yield_now().await;
    }
    read_pushes_and_replies(&mut client, count, size, &ids).await;
}

/// Connections, each numbered by the `n` of its first echo, receiving multicasts from several
/// tasks at once while they send requests.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_multicasts_reach_every_connection_with_each_senders_pushes_in_order() {
    const CONNECTIONS: usize = 20;
    const SENDERS: u64 = 3;
    const PUSHES_PER_SENDER: u64 = 200;
    let server: Server = start([pusher::plugin()]).await;
    let mut clients = Vec::new();
    for _ in 0..CONNECTIONS {
        clients.push(RawClient::connect(server.local_addr()).await);
    }
    // Every connection is registered once it has answered a request.
    for client in &mut clients {
        assert_eq!(client.request(&echo_request(0)).await["data"]["echo"], 0);
    }
    let senders: Vec<_> = (0..SENDERS)
        .map(|sender| {
            let connections = server.connections();
            tokio::spawn(async move {
                for n in 0..PUSHES_PER_SENDER {
                    let push = yoctopus_core::Push::new("from", &json!({"sender": sender, "n": n}))
                        .unwrap();
                    let reached = connections
                        .multicast(yoctopus_core::SettingsFilter::all(), push)
                        .await
                        .unwrap();
                    assert_eq!(reached, CONNECTIONS);
                    if n % 8 == 0 {
                        tokio::task::yield_now().await;
                    }
                }
            })
        })
        .collect();
    let readers: Vec<_> = clients
        .into_iter()
        .map(|mut client| {
            tokio::spawn(async move {
                let ids: Vec<u64> = (1..=50).collect();
                for id in &ids {
                    client.send_json(&echo_request(*id)).await;
                }
                let mut next: HashMap<u64, u64> = HashMap::new();
                let mut replies = 0;
                while replies < ids.len()
                    || next.values().sum::<u64>() < SENDERS * PUSHES_PER_SENDER
                {
                    let message = client.recv_json().await;
                    if message["meta"]["method"] == "notify" {
                        let sender = message["data"]["sender"].as_u64().unwrap();
                        let expected = next.entry(sender).or_default();
                        assert_eq!(message["data"]["n"], *expected, "sender {sender} in order");
                        *expected += 1;
                    } else {
                        replies += 1;
                        assert_eq!(message["data"]["echo"], replies as u64, "{message}");
                    }
                }
                assert_eq!(next.len() as u64, SENDERS);
            })
        })
        .collect();
    for sender in senders {
        tokio::time::timeout(raw::WAIT, sender)
            .await
            .expect("the multicasts finished in time")
            .expect("a sender did not panic");
    }
    for reader in readers {
        tokio::time::timeout(raw::WAIT, reader)
            .await
            .expect("every client read everything in time")
            .expect("a reader did not panic");
    }
}

#[tokio::test]
async fn a_frame_sent_with_the_upgrade_request_is_answered() {
    let server = start([pusher::plugin()]).await;
    let addr = server.local_addr();
    let early = raw::FrameOut::text(echo_request(7).to_string()).to_bytes();
    let stream = raw::tcp_connect(addr).await;
    let mut client = RawClient::handshake_sending(stream, &addr.to_string(), &[], &early)
        .await
        .expect("the upgrade is accepted");
    assert_eq!(client.recv_json().await["data"]["echo"], 7);
    assert_eq!(client.request(&echo_request(8)).await["data"]["echo"], 8);
}
