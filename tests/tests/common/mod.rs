//! Helpers shared by the integration tests: a real WebSocket client (tokio-tungstenite) talking
//! to a real server on 127.0.0.1, with every wait bounded.
//!
//! Every server started with [`start`] or [`start_with`] has its API's JSON Schemas checked
//! against the traffic of every [`Client`] connected to it: see [`schema_check`].

#![allow(
    dead_code,
    unreachable_pub,
    reason = "each test file uses a different part of the helpers"
)]

pub mod schema_check;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Request;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use yoctopus_core::{Plugin, Server, ServerBuilder};

/// How long any single wait in a test may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(10);

/// Starts a server on 127.0.0.1 with a free port and the given plugins.
pub async fn start(plugins: impl IntoIterator<Item = Plugin>) -> Server {
    start_with(Server::builder(), plugins).await
}

/// Starts `builder` on 127.0.0.1 with a free port and the given plugins.
pub async fn start_with(
    builder: ServerBuilder,
    plugins: impl IntoIterator<Item = Plugin>,
) -> Server {
    let builder = plugins
        .into_iter()
        .fold(builder.host([127, 0, 0, 1]).port(0), ServerBuilder::plugin);
    let server = builder.start().await.expect("the test server starts");
    schema_check::register(&server);
    server
}

/// A WebSocket client connected to a test server; what it sends and receives is checked against
/// the server's API schemas when the server was started with [`start_with`].
pub struct Client {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    traffic: schema_check::Traffic,
}

impl Client {
    pub async fn connect(addr: SocketAddr) -> Self {
        Self::try_connect(request_to(addr))
            .await
            .expect("the handshake succeeds")
    }

    /// Connects with an `Origin` header, as a browser would; fails when the server refuses.
    pub async fn connect_with_origin(
        addr: SocketAddr,
        origin: &str,
    ) -> Result<Self, tokio_tungstenite::tungstenite::Error> {
        let mut request = request_to(addr);
        request.headers_mut().insert(
            "Origin",
            HeaderValue::from_str(origin).expect("the origin is a valid header value"),
        );
        Self::try_connect(request).await
    }

    /// Performs the handshake of `request`; the wait is bounded, the outcome is the caller's.
    pub async fn try_connect(
        request: Request,
    ) -> Result<Self, tokio_tungstenite::tungstenite::Error> {
        let traffic = schema_check::Traffic::to(addr_of(&request));
        let (socket, _) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(request))
            .await
            .expect("connecting timed out")?;
        Ok(Self { socket, traffic })
    }

    /// Whether this client's traffic is checked against its server's API schemas.
    pub fn is_schema_checked(&self) -> bool {
        self.traffic.is_checked()
    }

    pub async fn send_text(&mut self, text: &str) {
        self.traffic.sent(text);
        self.socket
            .send(Message::text(text))
            .await
            .expect("sending succeeds");
    }

    pub async fn send_binary(&mut self, bytes: &[u8]) {
        self.socket
            .send(Message::binary(bytes.to_vec()))
            .await
            .expect("sending succeeds");
    }

    pub async fn send_json(&mut self, value: &Value) {
        self.send_text(&value.to_string()).await;
    }

    /// Sends a request with `id`.
    pub async fn send_request(
        &mut self,
        id: impl Into<Value>,
        endpoint: &str,
        method: &str,
        data: Value,
    ) {
        let request = json!({"meta": {"id": id.into(), "endpoint": endpoint, "method": method}, "data": data});
        self.send_json(&request).await;
    }

    /// The next text message as JSON.
    pub async fn recv_json(&mut self) -> Value {
        serde_json::from_str(&self.recv_text().await).expect("the server sends JSON")
    }

    /// The next text message exactly as the server wrote it.
    pub async fn recv_text(&mut self) -> String {
        loop {
            let message = tokio::time::timeout(WAIT, self.socket.next())
                .await
                .expect("no message arrived in time")
                .expect("the connection is open")
                .expect("the message is readable");
            match message {
                Message::Text(text) => {
                    self.traffic.received(text.as_str());
                    return text.as_str().to_owned();
                }
                Message::Ping(_) | Message::Pong(_) => continue,
                other => panic!("expected a text message, got {other:?}"),
            }
        }
    }

    /// Sends a request and returns the reply (the next message; use only without pushes or
    /// concurrent requests).
    pub async fn request(
        &mut self,
        id: impl Into<Value>,
        endpoint: &str,
        method: &str,
        data: Value,
    ) -> Value {
        self.send_request(id, endpoint, method, data).await;
        self.recv_json().await
    }

    /// Sends a request and returns the reply's `data`, failing the test on an error reply.
    pub async fn ok(&mut self, endpoint: &str, method: &str, data: Value) -> Value {
        let reply = self.request("ok", endpoint, method, data).await;
        assert_eq!(
            reply["meta"]["status"], "ok",
            "expected an ok reply, got {reply}"
        );
        reply["data"].clone()
    }

    /// Sends a request and returns the reply's `error`, failing the test on an ok reply.
    pub async fn error(&mut self, endpoint: &str, method: &str, data: Value) -> Value {
        let reply = self.request("err", endpoint, method, data).await;
        assert_eq!(
            reply["meta"]["status"], "error",
            "expected an error reply, got {reply}"
        );
        reply["error"].clone()
    }

    /// The next `count` text messages as JSON, in the order they arrived.
    pub async fn recv_many(&mut self, count: usize) -> Vec<Value> {
        let mut messages = Vec::with_capacity(count);
        for _ in 0..count {
            messages.push(self.recv_json().await);
        }
        messages
    }

    /// Sends a request and asserts that the whole reply is the ok reply carrying `expected`.
    pub async fn assert_ok(&mut self, endpoint: &str, method: &str, data: Value, expected: Value) {
        let reply = self.request("ok", endpoint, method, data.clone()).await;
        assert_eq!(
            reply,
            json!({
                "meta": {"id": "ok", "endpoint": endpoint, "method": method, "status": "ok"},
                "data": expected
            }),
            "the reply to {endpoint} {method} with data {data}"
        );
    }

    /// Sends a request and asserts that the whole reply is the error reply carrying `expected`.
    pub async fn assert_error(
        &mut self,
        endpoint: &str,
        method: &str,
        data: Value,
        expected: Value,
    ) {
        let reply = self.request("err", endpoint, method, data.clone()).await;
        assert_eq!(
            reply,
            json!({
                "meta": {"id": "err", "endpoint": endpoint, "method": method, "status": "error"},
                "error": expected
            }),
            "the reply to {endpoint} {method} with data {data}"
        );
    }

    /// Waits for the server's close frame, answers it, reads until the server drops the socket,
    /// and returns the close code (`None` when the connection ended without a close frame).
    pub async fn close_code(&mut self) -> Option<u16> {
        let code = loop {
            let message = tokio::time::timeout(WAIT, self.socket.next())
                .await
                .expect("the server did not close in time");
            match message {
                Some(Ok(Message::Close(frame))) => break frame.map(|frame| u16::from(frame.code)),
                Some(Ok(Message::Text(text))) => self.traffic.received(text.as_str()),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return None,
            }
        };
        // Reading again flushes the client's answering close frame; the server then ends the
        // connection.
        while let Some(Ok(_)) = tokio::time::timeout(WAIT, self.socket.next())
            .await
            .expect("the server did not end the connection in time")
        {}
        code
    }

    /// Like [`close_code`](Self::close_code), with the close frame's reason.
    pub async fn close_frame(&mut self) -> Option<(u16, String)> {
        let frame = loop {
            let message = tokio::time::timeout(WAIT, self.socket.next())
                .await
                .expect("the server did not close in time");
            match message {
                Some(Ok(Message::Close(frame))) => break frame,
                Some(Ok(Message::Text(text))) => self.traffic.received(text.as_str()),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return None,
            }
        };
        while let Some(Ok(_)) = tokio::time::timeout(WAIT, self.socket.next())
            .await
            .expect("the server did not end the connection in time")
        {}
        frame.map(|frame| (u16::from(frame.code), frame.reason.as_str().to_owned()))
    }

    pub async fn close(mut self) {
        let _ = self.socket.close(None).await;
    }
}

/// The handshake request for a plain `ws://` connection to `addr`, without an `Origin` header.
pub fn request_to(addr: SocketAddr) -> Request {
    format!("ws://{addr}")
        .into_client_request()
        .expect("a ws:// URL is a valid request")
}

/// The address a handshake request goes to, when its host is an IP address or `localhost`.
fn addr_of(request: &Request) -> Option<SocketAddr> {
    let uri = request.uri();
    let host = uri.host()?.trim_start_matches('[').trim_end_matches(']');
    let ip = match host {
        "localhost" => IpAddr::V4(Ipv4Addr::LOCALHOST),
        host => host.parse().ok()?,
    };
    let port = uri.port_u16().unwrap_or(match uri.scheme_str() {
        Some("wss") => 443,
        _ => 80,
    });
    Some(SocketAddr::new(ip, port))
}
