//! A WebSocket client for the bundled plugins' tests: a real server on 127.0.0.1, a real client
//! (tokio-tungstenite), every wait bounded, and its traffic checked against the server's JSON
//! Schemas by the integration tests' own checker.

#![allow(
    dead_code,
    unreachable_pub,
    reason = "each test file uses a different part"
)]

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use yoctopus_core::{Plugin, Server};

#[path = "../../../tests/tests/common/schema_check.rs"]
mod schema_check;

/// How long any one wait may take.
pub const WAIT: Duration = Duration::from_secs(10);

/// A server on a free port of 127.0.0.1 with `plugins`.
pub async fn start(plugins: Vec<Plugin>) -> Server {
    let server = Server::builder()
        .host([127, 0, 0, 1])
        .port(0)
        .plugins(plugins)
        .start()
        .await
        .expect("the test server starts");
    schema_check::register(&server);
    server
}

pub struct Client {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_id: u64,
    traffic: schema_check::Traffic,
}

impl Client {
    pub async fn connect(addr: SocketAddr) -> Self {
        let (socket, _) = tokio::time::timeout(
            WAIT,
            tokio_tungstenite::connect_async(format!("ws://{addr}/")),
        )
        .await
        .expect("the handshake is answered in time")
        .expect("the handshake succeeds");
        Self {
            socket,
            next_id: 1,
            traffic: schema_check::Traffic::to(Some(addr)),
        }
    }

    /// Sends a request and answers its id.
    pub async fn send(&mut self, endpoint: &str, method: &str, data: Value) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        let request =
            json!({"meta": {"id": id, "endpoint": endpoint, "method": method}, "data": data});
        self.socket
            .send(Message::text(request.to_string()))
            .await
            .expect("the request is sent");
        id
    }

    /// The next JSON frame.
    pub async fn recv(&mut self) -> Value {
        loop {
            let frame = tokio::time::timeout(WAIT, self.socket.next())
                .await
                .expect("a frame arrives in time")
                .expect("the connection is open")
                .expect("the frame is read");
            if let Message::Text(text) = frame {
                self.traffic.received(&text);
                return serde_json::from_str(&text).expect("the server sends JSON");
            }
        }
    }

    /// The next frame, or `None` when none arrives within `within`.
    pub async fn recv_within(&mut self, within: Duration) -> Option<Value> {
        tokio::time::timeout(within, self.recv()).await.ok()
    }

    /// Sends a request and waits for its response (pushes before it are returned too).
    pub async fn request(
        &mut self,
        endpoint: &str,
        method: &str,
        data: Value,
    ) -> (Value, Vec<Value>) {
        let id = self.send(endpoint, method, data).await;
        let mut pushes = Vec::new();
        loop {
            let frame = self.recv().await;
            if frame["meta"]["id"] == json!(id) {
                return (frame, pushes);
            }
            pushes.push(frame);
        }
    }

    /// A request's `data`, which must be answered ok.
    pub async fn ok(&mut self, endpoint: &str, method: &str, data: Value) -> Value {
        let (reply, _) = self.request(endpoint, method, data).await;
        assert_eq!(reply["meta"]["status"], "ok", "{reply}");
        reply["data"].clone()
    }
}
