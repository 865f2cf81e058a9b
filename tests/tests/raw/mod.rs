//! A raw WebSocket client for the transport tests: the HTTP upgrade written by hand, frames built
//! byte by byte (unmasked, with reserved bits, any opcode, in fragments), and the server's frames
//! parsed as they arrive. Client libraries refuse to send most of what these tests send.
//!
//! Every read is bounded by [`WAIT`]; a read that finds the connection gone (end of stream, reset,
//! or a frame cut short) reports the end instead of failing, so tests can assert on it.

#![allow(
    dead_code,
    unreachable_pub,
    reason = "each test file uses a different part of the helpers"
)]

use std::net::SocketAddr;
use std::time::Duration;

use bytes::{Buf, BytesMut};
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::handshake::client::generate_key;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

/// How long any single wait may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(10);

/// Frame opcodes (RFC 6455 section 5.2).
pub mod opcode {
    pub const CONTINUATION: u8 = 0x0;
    pub const TEXT: u8 = 0x1;
    pub const BINARY: u8 = 0x2;
    pub const CLOSE: u8 = 0x8;
    pub const PING: u8 = 0x9;
    pub const PONG: u8 = 0xA;
}

/// The mask key of every masked frame a test sends; not all zeros, so masking really changes the
/// bytes on the wire.
const MASK: [u8; 4] = [0x37, 0xFA, 0x21, 0x3D];

/// A frame to send, built field by field: final and masked unless told otherwise.
#[derive(Debug, Clone)]
pub struct FrameOut {
    fin: bool,
    rsv: u8,
    opcode: u8,
    mask: Option<[u8; 4]>,
    payload: Vec<u8>,
}

impl FrameOut {
    /// A final, masked frame with any opcode (even one RFC 6455 does not define).
    pub fn new(opcode: u8, payload: impl Into<Vec<u8>>) -> Self {
        Self {
            fin: true,
            rsv: 0,
            opcode,
            mask: Some(MASK),
            payload: payload.into(),
        }
    }

    pub fn text(text: impl Into<Vec<u8>>) -> Self {
        Self::new(opcode::TEXT, text)
    }

    pub fn binary(bytes: impl Into<Vec<u8>>) -> Self {
        Self::new(opcode::BINARY, bytes)
    }

    pub fn continuation(payload: impl Into<Vec<u8>>) -> Self {
        Self::new(opcode::CONTINUATION, payload)
    }

    pub fn ping(payload: impl Into<Vec<u8>>) -> Self {
        Self::new(opcode::PING, payload)
    }

    pub fn pong(payload: impl Into<Vec<u8>>) -> Self {
        Self::new(opcode::PONG, payload)
    }

    /// A close frame with a code and a reason.
    pub fn close(code: u16, reason: &str) -> Self {
        let mut payload = code.to_be_bytes().to_vec();
        payload.extend_from_slice(reason.as_bytes());
        Self::new(opcode::CLOSE, payload)
    }

    /// Sets the FIN bit (false: more fragments follow).
    pub fn fin(mut self, fin: bool) -> Self {
        self.fin = fin;
        self
    }

    /// Sets the reserved bits: `0b100` is RSV1, `0b010` RSV2, `0b001` RSV3.
    pub fn rsv(mut self, bits: u8) -> Self {
        self.rsv = bits & 0b111;
        self
    }

    /// Sends the payload in the clear, as only a server may.
    pub fn unmasked(mut self) -> Self {
        self.mask = None;
        self
    }

    /// The frame's bytes on the wire.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = vec![(u8::from(self.fin) << 7) | (self.rsv << 4) | (self.opcode & 0x0F)];
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        match self.payload.len() {
            length @ 0..=125 => bytes.push(mask_bit | length as u8),
            length @ 126..=65535 => {
                bytes.push(mask_bit | 126);
                bytes.extend_from_slice(&(length as u16).to_be_bytes());
            }
            length => {
                bytes.push(mask_bit | 127);
                bytes.extend_from_slice(&(length as u64).to_be_bytes());
            }
        }
        match self.mask {
            Some(key) => {
                bytes.extend_from_slice(&key);
                bytes.extend(
                    self.payload
                        .iter()
                        .enumerate()
                        .map(|(i, byte)| byte ^ key[i % 4]),
                );
            }
            None => bytes.extend_from_slice(&self.payload),
        }
        bytes
    }
}

/// A frame the server sent, unmasked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub fin: bool,
    pub rsv: u8,
    pub opcode: u8,
    pub masked: bool,
    pub payload: Vec<u8>,
}

impl Frame {
    /// The code of a close frame (`None` for a close frame without one).
    pub fn close_code(&self) -> Option<u16> {
        assert_eq!(self.opcode, opcode::CLOSE, "not a close frame: {self:?}");
        match self.payload[..] {
            [high, low, ..] => Some(u16::from_be_bytes([high, low])),
            _ => None,
        }
    }

    /// The payload of a text frame as a string.
    pub fn text(&self) -> &str {
        assert_eq!(self.opcode, opcode::TEXT, "not a text frame: {self:?}");
        std::str::from_utf8(&self.payload).expect("the server sends valid UTF-8")
    }

    /// The payload of a text frame as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(self.text()).expect("the server sends JSON")
    }
}

/// Takes one whole frame off the front of `buffer`, or returns `None` when more bytes are needed.
fn parse_frame(buffer: &mut BytesMut) -> Option<Frame> {
    let [first, second, ..] = buffer[..] else {
        return None;
    };
    let masked = second & 0x80 != 0;
    let (length_bytes, short) = match second & 0x7F {
        126 => (2, None),
        127 => (8, None),
        short => (0, Some(short as usize)),
    };
    let header = 2 + length_bytes + if masked { 4 } else { 0 };
    if buffer.len() < header {
        return None;
    }
    let length = match short {
        Some(length) => length,
        None if length_bytes == 2 => usize::from(u16::from_be_bytes([buffer[2], buffer[3]])),
        None => {
            let mut bytes = [0; 8];
            bytes.copy_from_slice(&buffer[2..10]);
            usize::try_from(u64::from_be_bytes(bytes)).expect("a frame length fits in memory")
        }
    };
    if buffer.len() < header + length {
        return None;
    }
    let mut key = [0; 4];
    if masked {
        key.copy_from_slice(&buffer[header - 4..header]);
    }
    buffer.advance(header);
    let mut payload = buffer.split_to(length).to_vec();
    if masked {
        for (i, byte) in payload.iter_mut().enumerate() {
            *byte ^= key[i % 4];
        }
    }
    Some(Frame {
        fin: first & 0x80 != 0,
        rsv: (first >> 4) & 0b111,
        opcode: first & 0x0F,
        masked,
        payload,
    })
}

/// The server's answer to an HTTP request that it did not upgrade.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    /// Header names in lowercase, values as sent.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(known, _)| known.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    pub fn body_text(&self) -> &str {
        std::str::from_utf8(&self.body).expect("the body is UTF-8")
    }
}

/// Reads an HTTP response head from `stream` into `buffer`; returns the status, the headers, and
/// leaves whatever follows the head in `buffer`.
async fn read_head<S: AsyncRead + Unpin>(
    stream: &mut S,
    buffer: &mut BytesMut,
) -> (u16, Vec<(String, String)>) {
    let end = loop {
        if let Some(end) = buffer.windows(4).position(|window| window == b"\r\n\r\n") {
            break end;
        }
        let read = tokio::time::timeout(WAIT, stream.read_buf(buffer))
            .await
            .expect("the server answered the HTTP request in time")
            .expect("the HTTP response is readable");
        assert_ne!(
            read,
            0,
            "the server ended the connection without an HTTP response (read so far: {:?})",
            String::from_utf8_lossy(buffer)
        );
    };
    let head = buffer.split_to(end + 4);
    let head = std::str::from_utf8(&head).expect("the response head is ASCII");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().expect("a status line");
    let mut parts = status_line.splitn(3, ' ');
    assert_eq!(
        parts.next(),
        Some("HTTP/1.1"),
        "status line {status_line:?}"
    );
    let status = parts
        .next()
        .and_then(|status| status.parse().ok())
        .expect("the status line has a numeric status");
    let headers = lines
        .filter(|line| !line.is_empty())
        .map(|line| {
            let (name, value) = line.split_once(':').expect("a header line has a colon");
            (name.trim().to_ascii_lowercase(), value.trim().to_owned())
        })
        .collect();
    (status, headers)
}

/// Reads the body that follows a response head, by its `Content-Length` (or to the end).
async fn read_body<S: AsyncRead + Unpin>(
    stream: &mut S,
    buffer: &mut BytesMut,
    headers: &[(String, String)],
) -> Vec<u8> {
    let length = headers
        .iter()
        .find(|(name, _)| name == "content-length")
        .map(|(_, value)| value.parse::<usize>().expect("a numeric Content-Length"));
    loop {
        if length.is_some_and(|length| buffer.len() >= length) {
            break;
        }
        let read = tokio::time::timeout(WAIT, stream.read_buf(buffer))
            .await
            .expect("the server sent the response body in time");
        match read {
            Ok(0) | Err(_) if length.is_none() => break,
            Ok(0) | Err(_) => panic!("the connection ended in the middle of the response body"),
            Ok(_) => {}
        }
    }
    buffer.split_to(length.unwrap_or(buffer.len())).to_vec()
}

/// Sends `request` (a whole HTTP request, head and body) on a new connection to `addr`, and returns
/// the response.
pub async fn http_request(addr: SocketAddr, request: &str) -> HttpResponse {
    let mut stream = tcp_connect(addr).await;
    stream
        .write_all(request.as_bytes())
        .await
        .expect("writing the request succeeds");
    let mut buffer = BytesMut::new();
    let (status, headers) = read_head(&mut stream, &mut buffer).await;
    let body = read_body(&mut stream, &mut buffer, &headers).await;
    HttpResponse {
        status,
        headers,
        body,
    }
}

/// A TCP connection to `addr`, bounded by [`WAIT`].
pub async fn tcp_connect(addr: SocketAddr) -> TcpStream {
    let stream = tokio::time::timeout(WAIT, TcpStream::connect(addr))
        .await
        .expect("connecting timed out")
        .expect("the server accepts TCP connections");
    stream.set_nodelay(true).expect("TCP_NODELAY can be set");
    stream
}

/// Like [`tcp_connect`], with the client's receive buffer fixed at `bytes` (the kernel's
/// autotuning off), so that a client that stops reading makes the server's writes wait soon.
pub async fn tcp_connect_with_receive_buffer(addr: SocketAddr, bytes: u32) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().expect("a TCP socket");
    socket
        .set_recv_buffer_size(bytes)
        .expect("SO_RCVBUF can be set");
    let stream = tokio::time::timeout(WAIT, socket.connect(addr))
        .await
        .expect("connecting timed out")
        .expect("the server accepts TCP connections");
    stream.set_nodelay(true).expect("TCP_NODELAY can be set");
    stream
}

/// A WebSocket client that writes and reads frames byte by byte.
pub struct RawClient<S = TcpStream> {
    stream: S,
    buffer: BytesMut,
}

impl RawClient<TcpStream> {
    /// Connects to `addr` and upgrades; panics when the server refuses.
    pub async fn connect(addr: SocketAddr) -> Self {
        Self::try_connect(addr, &[])
            .await
            .unwrap_or_else(|refusal| panic!("the upgrade was refused: {refusal:?}"))
    }

    /// Connects to `addr` and asks for an upgrade with `extra_headers` added; returns the HTTP
    /// response when the server refuses.
    pub async fn try_connect(
        addr: SocketAddr,
        extra_headers: &[(&str, &str)],
    ) -> Result<Self, HttpResponse> {
        Self::handshake(tcp_connect(addr).await, &addr.to_string(), extra_headers).await
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> RawClient<S> {
    /// Performs the HTTP upgrade over `stream` with a fresh key, checking the server's
    /// `Sec-WebSocket-Accept`; returns the HTTP response when the server refuses.
    pub async fn handshake(
        stream: S,
        host: &str,
        extra_headers: &[(&str, &str)],
    ) -> Result<Self, HttpResponse> {
        Self::handshake_sending(stream, host, extra_headers, &[]).await
    }

    /// Like [`handshake`](Self::handshake), with `early` written in the same write as the
    /// upgrade request, before the server has answered it (frames a client sends at once).
    pub async fn handshake_sending(
        mut stream: S,
        host: &str,
        extra_headers: &[(&str, &str)],
        early: &[u8],
    ) -> Result<Self, HttpResponse> {
        let key = generate_key();
        let mut request = format!(
            "GET / HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        );
        for (name, value) in extra_headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        let mut request = request.into_bytes();
        request.extend_from_slice(early);
        stream
            .write_all(&request)
            .await
            .expect("writing the upgrade request succeeds");
        let mut buffer = BytesMut::new();
        let (status, headers) = read_head(&mut stream, &mut buffer).await;
        if status != 101 {
            let body = read_body(&mut stream, &mut buffer, &headers).await;
            return Err(HttpResponse {
                status,
                headers,
                body,
            });
        }
        let header = |name: &str| {
            headers
                .iter()
                .find(|(known, _)| known == name)
                .map(|(_, value)| value.as_str())
        };
        assert_eq!(
            header("sec-websocket-accept"),
            Some(derive_accept_key(key.as_bytes()).as_str()),
            "the server proves it read the key"
        );
        assert!(
            header("upgrade").is_some_and(|value| value.eq_ignore_ascii_case("websocket")),
            "101 with Upgrade: websocket, got {headers:?}"
        );
        Ok(Self { stream, buffer })
    }

    /// Writes bytes as they are.
    pub async fn write_bytes(&mut self, bytes: &[u8]) {
        self.stream
            .write_all(bytes)
            .await
            .expect("writing to the server succeeds");
        self.stream.flush().await.expect("flushing succeeds");
    }

    /// Writes one frame.
    pub async fn send(&mut self, frame: &FrameOut) {
        self.write_bytes(&frame.to_bytes()).await;
    }

    /// Writes several frames in one write, so the server finds them together.
    pub async fn send_all(&mut self, frames: &[FrameOut]) {
        let bytes: Vec<u8> = frames.iter().flat_map(FrameOut::to_bytes).collect();
        self.write_bytes(&bytes).await;
    }

    /// Writes one masked text frame.
    pub async fn send_text(&mut self, text: &str) {
        self.send(&FrameOut::text(text)).await;
    }

    pub async fn send_json(&mut self, value: &Value) {
        self.send_text(&value.to_string()).await;
    }

    /// The next frame, or `None` when the connection ended (end of stream, reset, or a frame cut
    /// short). Panics when neither happens within [`WAIT`].
    pub async fn recv(&mut self) -> Option<Frame> {
        self.recv_within(WAIT)
            .await
            .expect("the server sent nothing in time")
    }

    /// Like [`recv`](Self::recv), but `Err(())` when nothing happened within `wait`.
    pub async fn recv_within(&mut self, wait: Duration) -> Result<Option<Frame>, ()> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(frame) = parse_frame(&mut self.buffer) {
                return Ok(Some(frame));
            }
            match tokio::time::timeout_at(deadline, self.stream.read_buf(&mut self.buffer)).await {
                Err(_) => return Err(()),
                Ok(Ok(0) | Err(_)) => return Ok(None),
                Ok(Ok(_)) => {}
            }
        }
    }

    /// The next frame; panics when the connection ended.
    pub async fn recv_frame(&mut self) -> Frame {
        self.recv()
            .await
            .expect("the connection ended while a frame was expected")
    }

    /// The next text message as JSON, skipping (unanswered) pings.
    pub async fn recv_json(&mut self) -> Value {
        loop {
            let frame = self.recv_frame().await;
            match frame.opcode {
                opcode::PING => continue,
                opcode::TEXT => {
                    assert!(frame.fin, "the server sends whole messages: {frame:?}");
                    return frame.json();
                }
                _ => panic!("expected a text frame, got {frame:?}"),
            }
        }
    }

    /// Sends `request` and returns the next text message.
    pub async fn request(&mut self, request: &Value) -> Value {
        self.send_json(request).await;
        self.recv_json().await
    }

    /// Reads until the server's close frame, skipping other frames; answers it as RFC 6455 asks;
    /// asserts that the server then ends the connection; returns the code. `None` means the
    /// connection ended without a close frame.
    pub async fn close_code(&mut self) -> Option<u16> {
        let close = loop {
            match self.recv().await {
                None => return None,
                Some(frame) if frame.opcode == opcode::CLOSE => break frame,
                Some(_) => continue,
            }
        };
        assert!(
            !close.masked && close.fin && close.rsv == 0,
            "a well-formed close frame: {close:?}"
        );
        // The answer may find the socket already shut; that is the server's right.
        let answer = FrameOut::new(opcode::CLOSE, close.payload.clone()).to_bytes();
        let _ = self.stream.write_all(&answer).await;
        self.assert_ended().await;
        close.close_code()
    }

    /// Asserts that the very next frame is a close frame with `code`, answers it, and asserts
    /// that the server then ends the connection.
    pub async fn assert_closed_with(&mut self, code: u16) {
        let close = match self.recv().await {
            Some(frame) if frame.opcode == opcode::CLOSE => frame,
            other => panic!("expected a close frame with code {code}, got {other:?}"),
        };
        assert_eq!(close.close_code(), Some(code), "the close frame {close:?}");
        let answer = FrameOut::new(opcode::CLOSE, close.payload.clone()).to_bytes();
        let _ = self.stream.write_all(&answer).await;
        self.assert_ended().await;
    }

    /// Asserts that the next read finds the connection ended, with no further frame.
    pub async fn assert_ended(&mut self) {
        if let Some(frame) = self.recv().await {
            panic!("expected the connection to end, got {frame:?}");
        }
    }

    /// The underlying stream, for tests that stop speaking WebSocket on it.
    pub fn stream_mut(&mut self) -> &mut S {
        &mut self.stream
    }
}
