//! Per-connection and per-server limits: message size (1009), JSON depth (an error reply),
//! connection count (503), requests in flight (reading pauses), and the outbound queue (a client
//! that never reads is cut off while the server's memory stays bounded and others are served).

mod common;
mod gate;
mod raw;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use common::{start_with, Client};
use gate::gated;
use raw::{opcode, FrameOut, RawClient, WAIT};
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;
use tokio::sync::{mpsc, Semaphore};
use yoctopus_core::{plugin, Server};

#[plugin]
mod echo {
    use serde_json::Value;

    #[endpoint(name = "echo", method = "read")]
    async fn echo(data: Value) -> Value {
        data
    }
}

#[plugin]
mod flood {
    use yoctopus_core::prelude::*;

    /// Where the flood handler reports how many pushes it queued before the server refused one,
    /// and why it was refused.
    pub(crate) struct Report(pub(crate) tokio::sync::mpsc::UnboundedSender<(u64, String)>);

    #[derive(RequestFormat)]
    pub(crate) struct Flood {
        pushes: u64,
        size: u64,
    }

    #[endpoint(name = "flood", method = "read")]
    async fn flood(request: Flood, notify: Notify, report: State<Report>) -> u64 {
        let chunk = "x".repeat(request.size as usize);
        let mut sent = 0;
        let mut refusal = String::from("none");
        while sent < request.pushes {
            if let Err(error) =
                notify.send("chunk", &serde_json::json!({"n": sent, "chunk": chunk}))
            {
                refusal = error.to_string();
                break;
            }
            sent += 1;
            // Let the writer drain the queue into the socket: only a client that does not read
            // can make the queue fill up.
            tokio::task::yield_now().await;
        }
        let _ = report.0.send((sent, refusal));
        sent
    }
}

fn echo_request(id: impl Into<Value>, data: Value) -> Value {
    json!({"meta": {"id": id.into(), "endpoint": "echo:echo", "method": "read"}, "data": data})
}

fn echo_reply(id: impl Into<Value>, data: Value) -> Value {
    json!({"meta": {"id": id.into(), "endpoint": "echo:echo", "method": "read", "status": "ok"}, "data": data})
}

async fn assert_echoes(client: &mut RawClient, id: &str) {
    let data = json!({"still": "served"});
    assert_eq!(
        client.request(&echo_request(id, data.clone())).await,
        echo_reply(id, data)
    );
}

/// An echo request whose text is exactly `size` bytes long, and the data it carries.
fn echo_request_of_size(size: usize) -> (String, Value) {
    let empty = echo_request("sized", json!("")).to_string();
    let padding = json!("p".repeat(size - empty.len()));
    let text = echo_request("sized", padding.clone()).to_string();
    assert_eq!(text.len(), size);
    (text, padding)
}

#[tokio::test]
async fn a_message_larger_than_max_message_size_closes_the_connection_with_1009() {
    let builder = Server::builder().max_message_size(1024);
    let server = start_with(builder, [echo::plugin()]).await;
    let addr = server.local_addr();

    // Exactly the limit is accepted.
    let mut client = RawClient::connect(addr).await;
    let (text, padding) = echo_request_of_size(1024);
    client.send_text(&text).await;
    assert_eq!(client.recv_json().await, echo_reply("sized", padding));

    // One byte more, in one frame.
    client.send_text(&echo_request_of_size(1025).0).await;
    client.assert_closed_with(1009).await;

    // One byte more, across fragments that are each under the limit.
    let mut client = RawClient::connect(addr).await;
    let (text, _) = echo_request_of_size(1025);
    let (first, second) = text.as_bytes().split_at(600);
    client
        .send_all(&[
            FrameOut::text(first).fin(false),
            FrameOut::continuation(second),
        ])
        .await;
    client.assert_closed_with(1009).await;

    // A binary message is held to the same limit.
    let mut client = RawClient::connect(addr).await;
    client.send(&FrameOut::binary(vec![0; 1025])).await;
    client.assert_closed_with(1009).await;
}

#[tokio::test]
async fn a_frame_announcing_a_huge_length_is_refused_with_1009_before_its_payload_arrives() {
    let builder = Server::builder().max_message_size(1024);
    let server = start_with(builder, [echo::plugin()]).await;
    let mut client = RawClient::connect(server.local_addr()).await;
    // Only the header of a masked text frame of 1 TiB: the server must not wait for (or make
    // room for) the payload.
    let mut header = vec![0x81, 0x80 | 127];
    header.extend_from_slice(&(1u64 << 40).to_be_bytes());
    header.extend_from_slice(&[1, 2, 3, 4]);
    client.write_bytes(&header).await;
    client.assert_closed_with(1009).await;
}

#[tokio::test]
async fn json_nested_deeper_than_max_json_depth_is_an_error_reply_and_the_connection_stays_usable()
{
    let builder = Server::builder().max_json_depth(8);
    let server = start_with(builder, [echo::plugin()]).await;
    let mut client = RawClient::connect(server.local_addr()).await;
    let nested = |levels: usize| -> Value { (0..levels).fold(json!(1), |inner, _| json!([inner])) };

    // The request object is one level, so data nested 8 deep makes 9. The reply still carries
    // the request's meta, so the client can match it by id.
    assert_eq!(
        client.request(&echo_request("deep", nested(8))).await,
        json!({"meta": {"id": "deep", "endpoint": "echo:echo", "method": "read", "status": "error"}, "error": "invalid message: nested deeper than 8 levels"})
    );
    // Also when `data` comes first and nests far beyond what the JSON parser would read.
    let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
    client
        .send_text(&format!(
            r#"{{"data": {deep}, "meta": {{"id": 17, "endpoint": "echo:echo", "method": "read"}}}}"#
        ))
        .await;
    assert_eq!(
        client.recv_json().await,
        json!({"meta": {"id": 17, "endpoint": "echo:echo", "method": "read", "status": "error"}, "error": "invalid message: nested deeper than 8 levels"})
    );
    // A meta that itself nests too deep cannot be read: the reply has only the status.
    client
        .send_text(&format!(r#"{{"meta": {{"id": {deep}}}}}"#))
        .await;
    assert_eq!(
        client.recv_json().await,
        json!({"meta": {"status": "error"}, "error": "invalid message: nested deeper than 8 levels"})
    );
    // 8 levels in all is allowed.
    assert_eq!(
        client.request(&echo_request("edge", nested(7))).await,
        echo_reply("edge", nested(7))
    );
    // Brackets inside strings are not nesting.
    let brackets = json!("[[[[[[[[[[{{{{{{{{{{");
    assert_eq!(
        client
            .request(&echo_request("text", brackets.clone()))
            .await,
        echo_reply("text", brackets)
    );
    // Far deeper than any parser's recursion limit is still only an error reply.
    let mut hostile = "[".repeat(100_000);
    hostile.push_str(&"]".repeat(100_000));
    client.send_text(&hostile).await;
    assert_eq!(
        client.recv_json().await,
        json!({"meta": {"status": "error"}, "error": "invalid message: nested deeper than 8 levels"})
    );
    assert_echoes(&mut client, "after").await;
}

#[tokio::test]
async fn max_connections_answers_the_next_upgrade_with_503_until_a_place_frees_up() {
    let builder = Server::builder().max_connections(2);
    let server = start_with(builder, [echo::plugin()]).await;
    let addr = server.local_addr();
    let mut first = RawClient::connect(addr).await;
    let mut second = RawClient::connect(addr).await;
    assert_echoes(&mut first, "first").await;
    assert_echoes(&mut second, "second").await;

    let refusal = RawClient::try_connect(addr, &[])
        .await
        .err()
        .expect("a third connection is refused");
    assert_eq!(
        (refusal.status, refusal.body_text()),
        (503, "too many connections\n")
    );

    first.send(&FrameOut::close(1000, "")).await;
    let close = first.recv_frame().await;
    assert_eq!(
        (close.opcode, close.close_code()),
        (opcode::CLOSE, Some(1000))
    );
    first.assert_ended().await;
    // The place is given back when the server has finished with the connection, just after the
    // socket ends; retry until then.
    let mut third = tokio::time::timeout(WAIT, async {
        loop {
            match RawClient::try_connect(addr, &[]).await {
                Ok(client) => return client,
                Err(refusal) => {
                    assert_eq!(refusal.status, 503, "the refusal {refusal:?}");
                    tokio::task::yield_now().await;
                }
            }
        }
    })
    .await
    .expect("the freed place was given to a new connection in time");
    assert_echoes(&mut third, "third").await;
    assert_echoes(&mut second, "second again").await;
    assert_eq!(server.connection_count(), 2);
}

fn slow_request(n: u64) -> Value {
    json!({"meta": {"id": format!("slow-{n}"), "endpoint": "gated:slow", "method": "read"}, "data": n})
}

fn slow_reply(n: u64) -> Value {
    json!({"meta": {"id": format!("slow-{n}"), "endpoint": "gated:slow", "method": "read", "status": "ok"}, "data": n})
}

fn fast_request(id: &str) -> Value {
    json!({"meta": {"id": id, "endpoint": "gated:fast", "method": "read"}})
}

fn fast_reply(id: &str) -> Value {
    json!({"meta": {"id": id, "endpoint": "gated:fast", "method": "read", "status": "ok"}, "data": "fast"})
}

/// How long a test watches for something that must not happen.
const QUIET: Duration = Duration::from_millis(300);

/// The number of the next slow request to start.
async fn next_start(started: &mut mpsc::UnboundedReceiver<u64>) -> u64 {
    tokio::time::timeout(WAIT, started.recv())
        .await
        .expect("a request started in time")
        .expect("the gate's sender lives in the server")
}

#[tokio::test]
async fn a_connection_at_max_in_flight_gets_its_replies_and_its_next_request_waits() {
    let (started_tx, mut started) = mpsc::unbounded_channel();
    let release = Arc::new(Semaphore::new(0));
    let builder = Server::builder().max_in_flight(2).state(gated::Gate {
        started: started_tx,
        release: Arc::clone(&release),
    });
    let server = start_with(builder, [gated::plugin()]).await;
    let addr = server.local_addr();
    let mut client = RawClient::connect(addr).await;
    for n in 1..=3 {
        client.send_json(&slow_request(n)).await;
    }
    client.send_json(&fast_request("fast")).await;

    let first_two = BTreeSet::from([
        next_start(&mut started).await,
        next_start(&mut started).await,
    ]);
    assert_eq!(first_two, BTreeSet::from([1, 2]));
    // With both places taken, the third request does not start and nothing is answered...
    assert!(
        client.recv_within(QUIET).await.is_err(),
        "the connection answered while both places were taken"
    );
    assert!(
        started.try_recv().is_err(),
        "a third request started beyond max_in_flight"
    );
    // ...while another connection is served as usual.
    let mut other = RawClient::connect(addr).await;
    assert_eq!(
        other.request(&fast_request("other")).await,
        fast_reply("other")
    );

    // Finishing one request sends its reply and lets the third start.
    release.add_permits(1);
    let first_reply = client.recv_json().await;
    let finished = first_reply["data"]
        .as_u64()
        .expect("a slow reply carries its number");
    assert!(first_two.contains(&finished), "the reply {first_reply}");
    assert_eq!(first_reply, slow_reply(finished));
    assert_eq!(next_start(&mut started).await, 3);
    // The fast request still waits for a place.
    assert!(
        client.recv_within(QUIET).await.is_err(),
        "the connection answered while both places were taken again"
    );

    release.add_permits(2);
    let mut replies = Vec::new();
    for _ in 0..3 {
        replies.push(client.recv_json().await);
    }
    let still_running = 3 - finished; // 1 or 2, whichever did not finish first
    for expected in [slow_reply(still_running), slow_reply(3), fast_reply("fast")] {
        assert!(
            replies.contains(&expected),
            "{expected} is missing from {replies:?}"
        );
    }
}

/// The resident set size of this process (the server runs in it), in bytes.
fn resident_bytes() -> u64 {
    let status =
        std::fs::read_to_string("/proc/self/status").expect("/proc/self/status is readable");
    let line = status
        .lines()
        .find(|line| line.starts_with("VmRSS:"))
        .expect("the status has a VmRSS line");
    let kib: u64 = line
        .trim_start_matches("VmRSS:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .expect("VmRSS is a number of kB");
    kib * 1024
}

/// Sends `count` echo requests on a new connection, all at once, and checks every reply.
async fn echo_many(addr: std::net::SocketAddr, connection: u64, count: u64) -> u64 {
    let mut client = Client::connect(addr).await;
    for n in 0..count {
        client
            .send_json(&echo_request(
                connection * 1_000 + n,
                json!({"connection": connection, "n": n}),
            ))
            .await;
    }
    let mut replies = Vec::new();
    for _ in 0..count {
        replies.push(client.recv_json().await);
    }
    for n in 0..count {
        let expected = echo_reply(
            connection * 1_000 + n,
            json!({"connection": connection, "n": n}),
        );
        assert!(replies.contains(&expected), "{expected} is missing");
    }
    client.close().await;
    count
}

#[tokio::test]
async fn a_client_that_never_reads_is_cut_off_while_others_are_served_and_memory_stays_bounded() {
    const PUSHES: u64 = 1_000_000;
    const PUSH_BYTES: u64 = 16 * 1024;
    const OTHER_CONNECTIONS: u64 = 10;
    const MESSAGES_PER_CONNECTION: u64 = 100;
    const RSS_BOUND: u64 = 64 * 1024 * 1024;
    let (report_tx, mut report) = mpsc::unbounded_channel();
    let builder = Server::builder()
        .outbound_queue(16)
        .state(flood::Report(report_tx));
    let server = start_with(builder, [echo::plugin(), flood::plugin()]).await;
    let addr = server.local_addr();
    // Warm up the allocator and the runtime on the same paths before measuring.
    echo_many(addr, 99, MESSAGES_PER_CONNECTION).await;
    let before = resident_bytes();

    // Asks for 16 GiB of pushes and never reads them.
    let mut sleeper = RawClient::connect(addr).await;
    sleeper
        .send_json(&json!({
            "meta": {"id": "flood", "endpoint": "flood:flood", "method": "read"},
            "data": {"pushes": PUSHES, "size": PUSH_BYTES}
        }))
        .await;

    // 1,000 messages flow on other connections meanwhile.
    let others: Vec<_> = (0..OTHER_CONNECTIONS)
        .map(|connection| tokio::spawn(echo_many(addr, connection, MESSAGES_PER_CONNECTION)))
        .collect();
    let (sent, refusal) = tokio::time::timeout(WAIT, report.recv())
        .await
        .expect("the server refused a push to the sleeping client in time")
        .expect("the report's sender lives in the server");
    let mut delivered = 0;
    for other in others {
        delivered += tokio::time::timeout(WAIT, other)
            .await
            .expect("the other connections were served in time")
            .expect("an echo task did not panic");
    }
    assert_eq!(delivered, OTHER_CONNECTIONS * MESSAGES_PER_CONNECTION);
    assert_eq!(refusal, "the connection's outbound queue is full");
    assert!(sent < PUSHES, "every push was queued");

    let after = resident_bytes();
    let growth = after.saturating_sub(before);
    assert!(
        growth < RSS_BOUND,
        "RSS grew by {} MiB ({before} -> {after} bytes) after {sent} pushes",
        growth / (1024 * 1024)
    );

    // The sleeper wakes up: it finds at most what was queued before the refusal, then a close
    // with 1008 (policy violation) if the server could still write one, and the end.
    let mut pushes = 0;
    let mut close_code = None;
    while let Some(frame) = sleeper.recv().await {
        match frame.opcode {
            opcode::TEXT => {
                let message = frame.json();
                if message["meta"]["method"] == "notify" {
                    assert_eq!(message["meta"]["type"], "chunk");
                    assert_eq!(message["data"]["n"], pushes);
                    pushes += 1;
                } else {
                    assert_eq!(
                        message,
                        json!({"meta": {"id": "flood", "endpoint": "flood:flood", "method": "read", "status": "ok"}, "data": sent})
                    );
                }
            }
            opcode::PING => {}
            opcode::CLOSE => {
                close_code = Some(frame.close_code());
                let answer = FrameOut::new(opcode::CLOSE, frame.payload.clone()).to_bytes();
                let _ = sleeper.stream_mut().write_all(&answer).await;
                sleeper.assert_ended().await;
                break;
            }
            other => panic!("unexpected opcode {other}"),
        }
    }
    assert!(
        pushes <= sent,
        "{pushes} pushes arrived, {sent} were queued"
    );
    assert!(
        matches!(close_code, None | Some(Some(1008))),
        "the sleeper was closed with {close_code:?}"
    );
    let mut client = RawClient::connect(addr).await;
    assert_echoes(&mut client, "after the flood").await;
}
