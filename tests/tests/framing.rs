//! RFC 6455 framing over a raw socket: fragments reassembled, pings answered, close frames
//! echoed, and every framing violation closed with its code (1002 protocol error, 1007 invalid
//! UTF-8). The frames are built by hand, since client libraries refuse to send broken ones.

mod common;
mod raw;

use common::start;
use raw::{opcode, FrameOut, RawClient};
use serde_json::{json, Value};
use yoctopus_core::plugin;

#[plugin]
mod echo {
    use serde_json::Value;

    #[endpoint(name = "echo", method = "read")]
    async fn echo(data: Value) -> Value {
        data
    }
}

fn echo_request(id: &str, data: Value) -> Value {
    json!({"meta": {"id": id, "endpoint": "echo:echo", "method": "read"}, "data": data})
}

fn echo_reply(id: &str, data: Value) -> Value {
    json!({"meta": {"id": id, "endpoint": "echo:echo", "method": "read", "status": "ok"}, "data": data})
}

/// A connection to a fresh server with the echo plugin; the server is returned so it lives as
/// long as the test.
async fn connect() -> (yoctopus_core::Server, RawClient) {
    let server = start([echo::plugin()]).await;
    let client = RawClient::connect(server.local_addr()).await;
    (server, client)
}

async fn assert_echoes(client: &mut RawClient, id: &str) {
    let data = json!({"still": "open"});
    assert_eq!(
        client.request(&echo_request(id, data.clone())).await,
        echo_reply(id, data)
    );
}

/// Sends `frames` on a new connection and asserts that the server answers with a close frame
/// carrying `code` and nothing before it, then ends the connection.
async fn assert_frames_close_with(server: &yoctopus_core::Server, frames: &[FrameOut], code: u16) {
    let mut client = RawClient::connect(server.local_addr()).await;
    client.send_all(frames).await;
    client.assert_closed_with(code).await;
}

#[tokio::test]
async fn a_text_message_in_fragments_is_reassembled_into_one_request() {
    let (_server, mut client) = connect().await;
    let data = json!({"greeting": "héllo ☃ wörld"});
    let text = echo_request("fragments", data.clone()).to_string();
    let bytes = text.as_bytes();
    // Cut inside the snowman's three bytes, so a character is split across fragments too.
    let snowman = text.find('☃').expect("the request holds a snowman");
    let (first, rest) = bytes.split_at(snowman + 1);
    let (second, third) = rest.split_at(10);
    client.send(&FrameOut::text(first).fin(false)).await;
    client
        .send(&FrameOut::continuation(second).fin(false))
        .await;
    client.send(&FrameOut::continuation(third)).await;
    assert_eq!(client.recv_json().await, echo_reply("fragments", data));
    assert_echoes(&mut client, "after").await;
}

#[tokio::test]
async fn a_ping_between_fragments_is_answered_and_the_message_still_arrives_whole() {
    let (_server, mut client) = connect().await;
    let data = json!("interleaved");
    let text = echo_request("split", data.clone()).to_string();
    let (first, second) = text.as_bytes().split_at(text.len() / 2);
    client
        .send_all(&[
            FrameOut::text(first).fin(false),
            FrameOut::ping("between"),
            FrameOut::continuation(second),
        ])
        .await;
    let pong = client.recv_frame().await;
    assert_eq!(
        (pong.opcode, pong.fin, pong.masked, &pong.payload[..]),
        (opcode::PONG, true, false, &b"between"[..])
    );
    assert_eq!(client.recv_json().await, echo_reply("split", data));
}

#[tokio::test]
async fn a_ping_is_answered_with_a_pong_carrying_the_same_payload() {
    let (_server, mut client) = connect().await;
    let largest: Vec<u8> = (0..125).map(|byte| byte as u8 ^ 0xA5).collect();
    for payload in [Vec::new(), b"are you there?".to_vec(), largest] {
        client.send(&FrameOut::ping(payload.clone())).await;
        let pong = client.recv_frame().await;
        assert_eq!(
            pong,
            raw::Frame {
                fin: true,
                rsv: 0,
                opcode: opcode::PONG,
                masked: false,
                payload,
            }
        );
    }
    assert_echoes(&mut client, "after pings").await;
}

#[tokio::test]
async fn a_close_frame_is_answered_with_a_close_echoing_its_code() {
    let server = start([echo::plugin()]).await;
    for (code, reason) in [(1000, ""), (1001, "leaving"), (4000, "application code")] {
        let mut client = RawClient::connect(server.local_addr()).await;
        assert_echoes(&mut client, "before").await;
        client.send(&FrameOut::close(code, reason)).await;
        let close = client.recv_frame().await;
        assert_eq!(
            (close.opcode, close.close_code()),
            (opcode::CLOSE, Some(code))
        );
        client.assert_ended().await;
    }
}

#[tokio::test]
async fn a_close_frame_without_a_code_is_answered_with_1000() {
    let (_server, mut client) = connect().await;
    client.send(&FrameOut::new(opcode::CLOSE, Vec::new())).await;
    let close = client.recv_frame().await;
    assert_eq!(
        (close.opcode, close.close_code()),
        (opcode::CLOSE, Some(1000))
    );
    client.assert_ended().await;
}

#[tokio::test]
async fn an_unmasked_frame_closes_the_connection_with_1002() {
    let server = start([echo::plugin()]).await;
    let request = echo_request("unmasked", json!(null)).to_string();
    assert_frames_close_with(&server, &[FrameOut::text(request).unmasked()], 1002).await;
    assert_frames_close_with(&server, &[FrameOut::ping("hi").unmasked()], 1002).await;
}

#[tokio::test]
async fn a_frame_with_a_reserved_bit_set_closes_the_connection_with_1002() {
    let server = start([echo::plugin()]).await;
    let request = echo_request("rsv", json!(null)).to_string();
    for rsv in [0b100, 0b010, 0b001, 0b111] {
        assert_frames_close_with(&server, &[FrameOut::text(request.clone()).rsv(rsv)], 1002).await;
    }
}

#[tokio::test]
async fn a_frame_with_an_unknown_opcode_closes_the_connection_with_1002() {
    let server = start([echo::plugin()]).await;
    for unknown in (0x3..=0x7).chain(0xB..=0xF) {
        assert_frames_close_with(&server, &[FrameOut::new(unknown, "x")], 1002).await;
    }
}

#[tokio::test]
async fn a_fragmented_control_frame_closes_the_connection_with_1002() {
    let server = start([echo::plugin()]).await;
    for control in [opcode::PING, opcode::PONG, opcode::CLOSE] {
        assert_frames_close_with(&server, &[FrameOut::new(control, "").fin(false)], 1002).await;
    }
}

#[tokio::test]
async fn a_control_frame_longer_than_125_bytes_closes_the_connection_with_1002() {
    let server = start([echo::plugin()]).await;
    assert_frames_close_with(&server, &[FrameOut::ping(vec![b'p'; 126])], 1002).await;
    assert_frames_close_with(&server, &[FrameOut::pong(vec![b'p'; 126])], 1002).await;
    let mut close = 1000u16.to_be_bytes().to_vec();
    close.extend_from_slice(&[b'r'; 124]);
    assert_frames_close_with(&server, &[FrameOut::new(opcode::CLOSE, close)], 1002).await;
}

#[tokio::test]
async fn a_continuation_frame_without_a_message_to_continue_closes_with_1002() {
    let server = start([echo::plugin()]).await;
    let request = echo_request("orphan", json!(null)).to_string();
    assert_frames_close_with(&server, &[FrameOut::continuation(request.clone())], 1002).await;
    assert_frames_close_with(&server, &[FrameOut::continuation(request).fin(false)], 1002).await;
}

#[tokio::test]
async fn a_new_message_started_inside_a_fragmented_one_closes_with_1002() {
    let server = start([echo::plugin()]).await;
    assert_frames_close_with(
        &server,
        &[
            FrameOut::text("{\"meta\":").fin(false),
            FrameOut::text("{}"),
        ],
        1002,
    )
    .await;
    assert_frames_close_with(
        &server,
        &[
            FrameOut::text("{\"meta\":").fin(false),
            FrameOut::binary("x"),
        ],
        1002,
    )
    .await;
}

#[tokio::test]
async fn invalid_utf8_in_a_text_frame_closes_the_connection_with_1007() {
    let server = start([echo::plugin()]).await;
    let mut request =
        br#"{"meta":{"id":"1","endpoint":"echo:echo","method":"read"},"data":""#.to_vec();
    request.extend_from_slice(b"\xC3\x28\"}");
    assert_frames_close_with(&server, &[FrameOut::text(request)], 1007).await;
    // A message ending in the middle of a character is invalid too.
    assert_frames_close_with(&server, &[FrameOut::text(&b"\"\xE2\x82"[..])], 1007).await;
}

#[tokio::test]
async fn invalid_utf8_split_across_fragments_closes_the_connection_with_1007() {
    let server = start([echo::plugin()]).await;
    // Each fragment alone could be the edge of valid text: the first ends with the first two
    // bytes of `€` (E2 82 AC), the second starts with a byte that cannot continue it.
    assert_frames_close_with(
        &server,
        &[
            FrameOut::text(&b"{\"data\":\"\xE2\x82"[..]).fin(false),
            FrameOut::continuation(&b"\x28\"}"[..]),
        ],
        1007,
    )
    .await;
    // The last fragment ends inside a character.
    assert_frames_close_with(
        &server,
        &[
            FrameOut::text(&b"{\"data\":\"ok"[..]).fin(false),
            FrameOut::continuation(&b"\xE2\x82"[..]),
        ],
        1007,
    )
    .await;
}

#[tokio::test]
async fn a_close_frame_that_breaks_the_close_rules_is_answered_with_its_error_code() {
    let server = start([echo::plugin()]).await;
    // A one-byte payload cannot hold a code.
    assert_frames_close_with(&server, &[FrameOut::new(opcode::CLOSE, vec![0x03])], 1002).await;
    // 1005 and 1006 are reserved for reporting and may never be sent; 999 is not a close code.
    for code in [999, 1005, 1006] {
        assert_frames_close_with(&server, &[FrameOut::close(code, "")], 1002).await;
    }
    // The reason must be UTF-8.
    let mut close = 1000u16.to_be_bytes().to_vec();
    close.push(0xFF);
    assert_frames_close_with(&server, &[FrameOut::new(opcode::CLOSE, close)], 1007).await;
}
