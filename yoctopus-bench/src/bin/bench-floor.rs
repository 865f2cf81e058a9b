//! The floor: a server that does no JSON work, only the transport, to show the most any server
//! could do on this machine under the benchmark's load. What Yoctopus and the hand-written servers
//! spend beyond it is their JSON work and their own code; what it spends is the system calls, the
//! framing and the load generator's share of the core.
//!
//! It reads frames and answers each text frame with a precomputed reply into which the two parts
//! the load generator checks per request are spliced: the request's `meta.id` and the greeted
//! name, both found by a byte scan (the first `"id":` is `meta`'s, since the benchmark's requests
//! put `meta` first, and the first `"name":"` is the greeted name in both the greeter's request and
//! the nested order's). The endpoint picks the reply (`greeter:hello` or `bench:order`, the
//! method not checked); a text frame it cannot answer that way gets an error reply, which the load
//! generator counts as an error.
//!
//! It batches as Yoctopus does, with no library in the way: one task per connection owns the plain
//! TCP socket (taken back out of hyper's upgrade, after hyper and fastwebsockets did the
//! handshake), answers every whole frame it has read into one buffer, writes that buffer in one
//! system call, then reads again. It frames by hand (fastwebsockets' `unmask` only), refusing with
//! a close frame what it does not read: unmasked or fragmented frames (1002, 1003), binary ones
//! (1003), oversized ones (1009). Pings are answered and a close frame is returned.
//!
//! Run it with `PORT=3000 cargo run --release -p yoctopus-bench --bin bench-floor`; it prints
//! `listening on ws://<address>` once it accepts connections.

#[path = "hand-written/upgrade.rs"]
mod upgrade;

use std::net::Ipv4Addr;
use std::ops::Range;
use std::sync::LazyLock;

use hyper::body::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use yoctopus_bench::lifetime;
use yoctopus_bench::request::{Endpoint, GREETER, NESTED};

/// Room made for each read.
const READ_SIZE: usize = 16 * 1024;
/// The batch is written before more frames are answered once it holds this many bytes:
/// Yoctopus's batch size.
const BATCH_BYTES: usize = 64 * 1024;
/// The largest frame payload read; larger frames are refused with 1009.
const MAX_PAYLOAD: usize = 64 * 1024;

const OPCODE_TEXT: u8 = 0x1;
const OPCODE_BINARY: u8 = 0x2;
const OPCODE_CLOSE: u8 = 0x8;
const OPCODE_PING: u8 = 0x9;
const OPCODE_PONG: u8 = 0xA;

/// The reply to a text frame the floor cannot answer.
const UNANSWERABLE: &[u8] =
    br#"{"meta":{"status":"error"},"error":["the floor answers only the benchmark's requests"]}"#;

/// The replies, precomputed once: per endpoint, what goes before the id, between the id and the
/// name, and after the name.
static TEMPLATES: LazyLock<[Template; 2]> =
    LazyLock::new(|| [Template::new(GREETER), Template::new(NESTED)]);

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port = lifetime::port_from_env()?;
    LazyLock::force(&TEMPLATES);
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await?;
    println!("listening on ws://{}", listener.local_addr()?);
    tokio::select! {
        () = upgrade::accept(listener, serve) => {}
        () = lifetime::stop_requested() => {}
    }
    Ok(())
}

/// Serves one upgraded connection until it closes, breaks a rule or fails.
async fn serve(mut socket: TcpStream, read_ahead: Bytes) {
    let mut input = Vec::with_capacity(READ_SIZE.max(read_ahead.len()));
    input.extend_from_slice(&read_ahead);
    let mut batch = Vec::new();
    loop {
        let (consumed, closing) = answer_buffered(&mut input, &mut batch);
        input.drain(..consumed);
        if !batch.is_empty() {
            if socket.write_all(&batch).await.is_err() {
                return;
            }
            batch.clear();
        }
        if closing {
            return;
        }
        input.reserve(READ_SIZE);
        match socket.read_buf(&mut input).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

/// Answers the whole frames at the front of `input` into `batch`, until the batch is full or a
/// frame ends the connection; returns how many bytes of `input` were used, and whether the
/// connection is to close once the batch is written (its close frame is in it).
fn answer_buffered(input: &mut [u8], batch: &mut Vec<u8>) -> (usize, bool) {
    let mut consumed = 0;
    while batch.len() < BATCH_BYTES {
        let rest = &mut input[consumed..];
        let (opcode, payload, length) = match next_frame(rest) {
            Parsed::Incomplete => break,
            Parsed::Broken(code, reason) => {
                push_close(batch, code, reason.as_bytes());
                return (consumed, true);
            }
            Parsed::Frame {
                opcode,
                payload,
                length,
            } => (opcode, &rest[payload], length),
        };
        consumed += length;
        match opcode {
            OPCODE_TEXT => answer(payload, batch),
            OPCODE_PING => push_frame(batch, OPCODE_PONG, &[payload]),
            OPCODE_PONG => {}
            OPCODE_CLOSE => {
                // The client's status code back; a malformed one is not worth more.
                let code = payload.get(..2).unwrap_or_default();
                push_frame(batch, OPCODE_CLOSE, &[code]);
                return (consumed, true);
            }
            OPCODE_BINARY => {
                push_close(batch, 1003, b"the floor reads text frames only");
                return (consumed, true);
            }
            _ => {
                push_close(batch, 1002, b"unexpected opcode");
                return (consumed, true);
            }
        }
    }
    (consumed, false)
}

/// What the front of the bytes read holds.
#[derive(Debug, PartialEq, Eq)]
enum Parsed {
    /// Not yet a whole frame.
    Incomplete,
    /// A whole frame, its payload (at `payload`) unmasked in place, `length` bytes in all.
    Frame {
        opcode: u8,
        payload: Range<usize>,
        length: usize,
    },
    /// A frame the floor refuses: close with this code and reason.
    Broken(u16, &'static str),
}

/// Reads the frame at the front of `bytes` (RFC 6455 section 5.2), unmasking its payload in place.
fn next_frame(bytes: &mut [u8]) -> Parsed {
    let [first, second, ..] = *bytes else {
        return Parsed::Incomplete;
    };
    if first & 0x70 != 0 {
        return Parsed::Broken(1002, "reserved bits set");
    }
    if first & 0x80 == 0 {
        return Parsed::Broken(1003, "the floor reads unfragmented messages only");
    }
    if second & 0x80 == 0 {
        return Parsed::Broken(1002, "client frames must be masked");
    }
    let opcode = first & 0x0F;
    let extended = match second & 0x7F {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    let header = 2 + extended + 4;
    let Some(header_bytes) = bytes.get(..header) else {
        return Parsed::Incomplete;
    };
    let payload_length = match extended {
        0 => u64::from(second & 0x7F),
        2 => u64::from(u16::from_be_bytes([header_bytes[2], header_bytes[3]])),
        _ => {
            let mut length = [0; 8];
            length.copy_from_slice(&header_bytes[2..10]);
            u64::from_be_bytes(length)
        }
    };
    let payload_length = match usize::try_from(payload_length) {
        Ok(length) if length <= MAX_PAYLOAD => length,
        _ => return Parsed::Broken(1009, "the frame is too big"),
    };
    if opcode >= OPCODE_CLOSE && payload_length > 125 {
        return Parsed::Broken(1002, "control frames carry at most 125 bytes");
    }
    let mut mask = [0; 4];
    mask.copy_from_slice(&header_bytes[header - 4..]);
    let payload = header..header + payload_length;
    let Some(masked) = bytes.get_mut(payload.clone()) else {
        return Parsed::Incomplete;
    };
    fastwebsockets::unmask(masked, mask);
    Parsed::Frame {
        opcode,
        payload,
        length: header + payload_length,
    }
}

/// A precomputed reply: `{"meta":{"id":` id `,"endpoint":..,"method":..,"status":"ok"},
/// "data":{"message":"Hello, ` name `!"}}`.
struct Template {
    /// `"<endpoint>"`, as a request names it after `"endpoint":`.
    endpoint: Vec<u8>,
    /// What goes between the id and the name.
    middle: Vec<u8>,
}

const BEFORE_ID: &[u8] = br#"{"meta":{"id":"#;
const ENDPOINT_KEY: &[u8] = br#""endpoint":"#;
const AFTER_NAME: &[u8] = br#"!"}}"#;

impl Template {
    fn new(Endpoint { endpoint, method }: Endpoint) -> Self {
        Self {
            endpoint: format!(r#""{endpoint}""#).into_bytes(),
            middle: format!(
                r#","endpoint":"{endpoint}","method":"{method}","status":"ok"}},"data":{{"message":"Hello, "#
            )
            .into_bytes(),
        }
    }
}

/// Answers one text frame: the precomputed reply with the request's id and name, or
/// [`UNANSWERABLE`].
fn answer(request: &[u8], batch: &mut Vec<u8>) {
    match spliced(request) {
        Some((template, id, name)) => push_frame(
            batch,
            OPCODE_TEXT,
            &[BEFORE_ID, id, &template.middle, name, AFTER_NAME],
        ),
        None => push_frame(batch, OPCODE_TEXT, &[UNANSWERABLE]),
    }
}

/// The reply's template and the two parts spliced into it, found by byte scans.
fn spliced(request: &[u8]) -> Option<(&'static Template, &[u8], &[u8])> {
    let id = value_after(request, br#""id":"#, |rest| {
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        (1..=20).contains(&digits).then_some(digits)
    })?;
    let endpoint = find(request, ENDPOINT_KEY)? + ENDPOINT_KEY.len();
    let template = TEMPLATES
        .iter()
        .find(|template| request[endpoint..].starts_with(&template.endpoint))?;
    let name = value_after(request, br#""name":""#, |rest| {
        // Spliced into a JSON string as it is, so only characters that need no escaping.
        let length = rest
            .iter()
            .take_while(|&&b| b != b'"' && (0x20..0x7F).contains(&b) && b != b'\\')
            .count();
        (rest.get(length) == Some(&b'"')).then_some(length)
    })?;
    Some((template, id, name))
}

/// The bytes after the first `key` in `request`, as many as `measure` says (`None`: not a value).
fn value_after<'a>(
    request: &'a [u8],
    key: &[u8],
    measure: impl FnOnce(&[u8]) -> Option<usize>,
) -> Option<&'a [u8]> {
    let start = find(request, key)? + key.len();
    let rest = &request[start..];
    let length = measure(rest)?;
    rest.get(..length)
}

/// Where `needle` first occurs in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    let (&first, rest) = needle.split_first()?;
    let mut from = 0;
    while let Some(offset) = haystack.get(from..)?.iter().position(|&b| b == first) {
        let at = from + offset;
        if haystack[at + 1..].starts_with(rest) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// Appends a final, unmasked frame whose payload is `parts` in order.
fn push_frame(batch: &mut Vec<u8>, opcode: u8, parts: &[&[u8]]) {
    let length: usize = parts.iter().map(|part| part.len()).sum();
    batch.reserve(10 + length);
    batch.push(0x80 | opcode);
    match u16::try_from(length) {
        Ok(short @ 0..=125) => batch.push(short as u8),
        Ok(medium) => {
            batch.push(126);
            batch.extend_from_slice(&medium.to_be_bytes());
        }
        Err(_) => {
            batch.push(127);
            batch.extend_from_slice(&(length as u64).to_be_bytes());
        }
    }
    for part in parts {
        batch.extend_from_slice(part);
    }
}

fn push_close(batch: &mut Vec<u8>, code: u16, reason: &[u8]) {
    push_frame(batch, OPCODE_CLOSE, &[&code.to_be_bytes(), reason]);
}

#[cfg(test)]
mod tests {
    use yoctopus_bench::request::{client_name, greeting, RequestKind};

    use super::{answer_buffered, next_frame, Parsed, OPCODE_TEXT, UNANSWERABLE};

    /// A client's text frame, masked.
    fn client_frame(first_byte: u8, payload: &[u8]) -> Vec<u8> {
        let key = [1, 2, 3, 4];
        let mut frame = vec![first_byte];
        match payload.len() {
            length @ 0..=125 => frame.push(0x80 | length as u8),
            length => {
                frame.push(0x80 | 126);
                frame.extend_from_slice(&(length as u16).to_be_bytes());
            }
        }
        frame.extend_from_slice(&key);
        frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        frame
    }

    /// The payloads of the text frames in `batch` (server frames: unmasked).
    fn texts(mut batch: &[u8]) -> Vec<serde_json::Value> {
        let mut texts = Vec::new();
        while let [first, second, rest @ ..] = batch {
            assert_eq!(*first, 0x80 | OPCODE_TEXT);
            let (length, rest) = match second {
                126 => (
                    usize::from(u16::from_be_bytes([rest[0], rest[1]])),
                    &rest[2..],
                ),
                short => (usize::from(*short), rest),
            };
            texts.push(serde_json::from_slice(&rest[..length]).expect("a reply is JSON"));
            batch = &rest[length..];
        }
        texts
    }

    #[test]
    fn both_requests_are_answered_with_their_id_and_name_in_one_batch() {
        let mut input = Vec::new();
        for (id, kind) in [(7, RequestKind::Greeter), (12_345, RequestKind::Nested)] {
            let mut request = Vec::new();
            kind.write(&mut request, id, &client_name(3));
            input.extend(client_frame(0x81, &request));
        }
        let whole = input.len();
        input.extend_from_slice(&[0x81, 0x85]);
        let mut batch = Vec::new();
        assert_eq!(answer_buffered(&mut input, &mut batch), (whole, false));
        let replies = texts(&batch);
        assert_eq!(replies.len(), 2);
        for (reply, (id, kind)) in replies
            .iter()
            .zip([(7, RequestKind::Greeter), (12_345, RequestKind::Nested)])
        {
            let endpoint = kind.endpoint();
            assert_eq!(
                *reply,
                serde_json::json!({
                    "meta": {"id": id, "endpoint": endpoint.endpoint, "method": endpoint.method, "status": "ok"},
                    "data": {"message": greeting(&client_name(3))},
                })
            );
        }
    }

    #[test]
    fn a_request_it_cannot_splice_gets_an_error_reply() {
        for request in [
            &br#"{"meta":{"id":"x","endpoint":"greeter:hello","method":"read"},"data":{"name":"a"}}"#[..],
            br#"{"meta":{"id":1,"endpoint":"other:thing","method":"read"},"data":{"name":"a"}}"#,
            br#"{"meta":{"id":1,"endpoint":"greeter:hello","method":"read"},"data":{"name":"a\"b"}}"#,
            br#"{"meta":{"id":1,"endpoint":"greeter:hello","method":"read"},"data":{"name":"a"#,
            b"",
        ] {
            let mut input = client_frame(0x81, request);
            let mut batch = Vec::new();
            answer_buffered(&mut input, &mut batch);
            assert_eq!(
                texts(&batch),
                [serde_json::from_slice::<serde_json::Value>(UNANSWERABLE).unwrap()]
            );
        }
    }

    #[test]
    fn frames_it_does_not_read_close_the_connection() {
        let unmasked = vec![0x81, 2, b'h', b'i'];
        let fragmented = client_frame(0x01, b"hi");
        let binary = client_frame(0x82, b"hi");
        let mut too_big = vec![0x81, 0x80 | 127];
        too_big.extend_from_slice(&(1_u64 << 40).to_be_bytes());
        too_big.extend_from_slice(&[0; 4]);
        for (mut frame, code) in [
            (unmasked, 1002_u16),
            (fragmented, 1003),
            (binary, 1003),
            (too_big, 1009),
        ] {
            let mut batch = Vec::new();
            assert!(answer_buffered(&mut frame, &mut batch).1);
            assert_eq!(batch[0], 0x88);
            assert_eq!(u16::from_be_bytes([batch[2], batch[3]]), code);
        }
        let mut close = client_frame(0x88, &1000_u16.to_be_bytes());
        let mut batch = Vec::new();
        assert_eq!(answer_buffered(&mut close, &mut batch), (close.len(), true));
        assert_eq!(batch, [0x88, 2, 0x03, 0xE8]);
    }

    #[test]
    fn a_partial_frame_waits_and_a_ping_is_answered() {
        let ping = client_frame(0x89, b"p");
        for cut in 0..ping.len() {
            assert_eq!(next_frame(&mut ping[..cut].to_vec()), Parsed::Incomplete);
        }
        let mut input = ping.clone();
        let mut batch = Vec::new();
        assert_eq!(answer_buffered(&mut input, &mut batch), (ping.len(), false));
        assert_eq!(batch, [0x8A, 1, b'p']);
    }
}
