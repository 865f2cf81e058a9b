//! The HTTP upgrade, written by hand: what is refused before `101 Switching Protocols` (426 for
//! plain HTTP or a wrong version, 400 for a bad key, 403 for a forbidden origin) and how long a
//! client may take to send its request (the header read and handshake timeouts).

mod common;
mod raw;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::{start, start_with};
use raw::{http_request, tcp_connect, HttpResponse, RawClient, WAIT};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use yoctopus_core::{plugin, Server};

#[plugin]
mod echo {
    use serde_json::Value;

    #[endpoint(name = "echo", method = "read")]
    async fn echo(data: Value) -> Value {
        data
    }
}

/// A valid key, as RFC 6455 section 4.1 shows it.
const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

/// An upgrade request with `headers` after the request line and `Host`.
fn upgrade_request(addr: SocketAddr, headers: &[&str]) -> String {
    let mut request = format!("GET / HTTP/1.1\r\nHost: {addr}\r\n");
    for header in headers {
        request.push_str(header);
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
    request
}

async fn assert_echoes(client: &mut RawClient) {
    let request =
        json!({"meta": {"id": 1, "endpoint": "echo:echo", "method": "read"}, "data": "hi"});
    assert_eq!(
        client.request(&request).await,
        json!({"meta": {"id": 1, "endpoint": "echo:echo", "method": "read", "status": "ok"}, "data": "hi"})
    );
}

fn assert_refused(response: &HttpResponse, status: u16, body: &str) {
    assert_eq!(
        (response.status, response.body_text()),
        (status, body),
        "the response {response:?}"
    );
}

#[tokio::test]
async fn a_hand_made_upgrade_is_answered_101_with_the_accept_key_and_then_served() {
    let server = start([echo::plugin()]).await;
    // `connect` checks the 101, `Upgrade: websocket` and `Sec-WebSocket-Accept` itself.
    let mut client = RawClient::connect(server.local_addr()).await;
    assert_echoes(&mut client).await;
}

#[tokio::test]
async fn a_plain_http_get_is_answered_426_upgrade_required() {
    let server = start([echo::plugin()]).await;
    let addr = server.local_addr();
    let response = http_request(addr, &upgrade_request(addr, &[])).await;
    assert_refused(&response, 426, "this server speaks WebSocket only\n");
    assert_eq!(response.header("upgrade"), Some("websocket"));
    // Upgrade headers without the WebSocket ones are still not a WebSocket upgrade.
    let response = http_request(
        addr,
        &upgrade_request(addr, &["Connection: Upgrade", "Upgrade: h2c"]),
    )
    .await;
    assert_eq!(response.status, 426, "the response {response:?}");
}

#[tokio::test]
async fn an_upgrade_without_sec_websocket_key_is_answered_400() {
    let server = start([echo::plugin()]).await;
    let addr = server.local_addr();
    let request = upgrade_request(
        addr,
        &[
            "Upgrade: websocket",
            "Connection: Upgrade",
            "Sec-WebSocket-Version: 13",
        ],
    );
    assert_refused(
        &http_request(addr, &request).await,
        400,
        "missing or malformed Sec-WebSocket-Key\n",
    );
}

#[tokio::test]
async fn an_upgrade_with_a_malformed_sec_websocket_key_is_answered_400() {
    let server = start([echo::plugin()]).await;
    let addr = server.local_addr();
    for key in [
        "",
        "short",
        // 16 bytes of base64 are 24 characters ending in `==`; these are not.
        "dGhlIHNhbXBsZSBub25jZQ=",
        "dGhlIHNhbXBsZSBub25jZQ===",
        "dGhlIHNhbXBsZSBub25jZQAA",
        "dGhlIHNhbXBsZSBub25j!Q==",
        "dGhlIHNhbXBs ZSBub25jZ==",
    ] {
        let key_header = format!("Sec-WebSocket-Key: {key}");
        let request = upgrade_request(
            addr,
            &[
                "Upgrade: websocket",
                "Connection: Upgrade",
                "Sec-WebSocket-Version: 13",
                &key_header,
            ],
        );
        let response = http_request(addr, &request).await;
        assert_refused(&response, 400, "missing or malformed Sec-WebSocket-Key\n");
    }
    // The same request with a valid key is upgraded.
    let mut client = RawClient::connect(addr).await;
    assert_echoes(&mut client).await;
}

#[tokio::test]
async fn an_upgrade_with_a_wrong_sec_websocket_version_is_answered_426_naming_version_13() {
    let server = start([echo::plugin()]).await;
    let addr = server.local_addr();
    let key_header = format!("Sec-WebSocket-Key: {KEY}");
    for version in [Some("8"), Some("12"), Some("14"), Some("13, 8"), None] {
        let version_header = version.map(|version| format!("Sec-WebSocket-Version: {version}"));
        let mut headers = vec!["Upgrade: websocket", "Connection: Upgrade", &key_header];
        headers.extend(version_header.as_deref());
        let response = http_request(addr, &upgrade_request(addr, &headers)).await;
        assert_refused(&response, 426, "unsupported WebSocket version; use 13\n");
        assert_eq!(
            response.header("sec-websocket-version"),
            Some("13"),
            "version {version:?}: the response {response:?}"
        );
    }
}

#[tokio::test]
async fn a_forbidden_origin_is_refused_with_403_and_allowed_after_a_run_time_change() {
    let builder = Server::builder().allowed_origins(["https://good.example"]);
    let server = start_with(builder, [echo::plugin()]).await;
    let addr = server.local_addr();
    let refusal = RawClient::try_connect(addr, &[("Origin", "https://evil.example")])
        .await
        .err()
        .expect("a forbidden origin is refused");
    assert_refused(&refusal, 403, "origin not allowed\n");
    let mut good = RawClient::try_connect(addr, &[("Origin", "https://good.example")])
        .await
        .expect("an allowed origin is upgraded");
    assert_echoes(&mut good).await;

    server.set_allowed_origins(["https://good.example", "https://evil.example"]);
    let mut former = RawClient::try_connect(addr, &[("Origin", "https://evil.example")])
        .await
        .expect("an origin allowed at run time is upgraded");
    assert_echoes(&mut former).await;

    server.set_allowed_origins(["https://good.example"]);
    let refusal = RawClient::try_connect(addr, &[("Origin", "https://evil.example")])
        .await
        .err()
        .expect("an origin removed at run time is refused again");
    assert_eq!(refusal.status, 403);
    // Connections already open stay open, and clients without an Origin are always let in.
    assert_echoes(&mut former).await;
    let mut headless = RawClient::connect(addr).await;
    assert_echoes(&mut headless).await;
}

/// What a slowloris connection saw: how long the server let it live, and what it sent.
struct Dropped {
    after: Duration,
    bytes: Vec<u8>,
}

/// Connects to `addr` and writes `request` one byte per `pace` until the server ends the
/// connection (or `WAIT` passes).
async fn slowloris(addr: SocketAddr, request: &'static [u8], pace: Duration) -> Dropped {
    let began = Instant::now();
    let stream = tcp_connect(addr).await;
    let (mut read, mut write) = stream.into_split();
    let mut bytes = Vec::new();
    let dribble = async {
        let mut ticks = tokio::time::interval(pace);
        for byte in request {
            ticks.tick().await;
            if write.write_all(&[*byte]).await.is_err() {
                // The server is gone; the reader sees it too.
                break;
            }
        }
        std::future::pending::<()>().await;
    };
    let closed = async {
        loop {
            match read.read_buf(&mut bytes).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(WAIT, async {
        tokio::select! {
            () = dribble => unreachable!("the dribble never ends"),
            () = closed => {}
        }
    })
    .await
    .expect("the server ended a slowloris connection in time");
    Dropped {
        after: began.elapsed(),
        bytes,
    }
}

#[tokio::test]
async fn slowloris_upgrades_are_closed_after_the_header_read_timeout() {
    const CONNECTIONS: usize = 50;
    const HEADER_TIMEOUT: Duration = Duration::from_millis(300);
    // At one byte per 50 ms this request would take over ten seconds to arrive.
    const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n\
        Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\
        Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nX-Padding: slow slow slow slow slow\r\n\r\n";
    let builder = Server::builder().header_read_timeout(HEADER_TIMEOUT);
    let server = start_with(builder, [echo::plugin()]).await;
    let addr = server.local_addr();

    let attackers: Vec<_> = (0..CONNECTIONS)
        .map(|_| tokio::spawn(slowloris(addr, REQUEST, Duration::from_millis(50))))
        .collect();
    // The server keeps serving while the slow connections hold their sockets.
    let mut client = RawClient::connect(addr).await;
    assert_echoes(&mut client).await;

    for attacker in attackers {
        let dropped = attacker.await.expect("the slowloris task did not panic");
        assert!(
            dropped.after >= HEADER_TIMEOUT,
            "closed after {:?}, before the header read timeout",
            dropped.after
        );
        assert!(
            dropped.after < HEADER_TIMEOUT + Duration::from_secs(3),
            "closed only after {:?}",
            dropped.after
        );
        assert!(
            dropped.bytes.is_empty() || dropped.bytes.starts_with(b"HTTP/1.1 408 "),
            "the server answered a slow request with {:?}",
            String::from_utf8_lossy(&dropped.bytes)
        );
    }
    // The slow connections never took a WebSocket slot.
    assert_eq!(server.connection_count(), 1);
    assert_echoes(&mut client).await;
}

#[tokio::test]
async fn an_http_connection_that_never_upgrades_is_closed_after_the_handshake_timeout() {
    const HANDSHAKE_TIMEOUT: Duration = Duration::from_millis(800);
    let builder = Server::builder()
        .header_read_timeout(Duration::from_millis(300))
        .handshake_timeout(HANDSHAKE_TIMEOUT);
    let server = start_with(builder, [echo::plugin()]).await;
    let addr = server.local_addr();
    let began = Instant::now();
    let mut stream = tcp_connect(addr).await;
    let request = upgrade_request(addr, &[]);
    let mut answered = 0;
    // Each request arrives well within the header read timeout and is answered 426 on a kept-alive
    // connection; only the handshake timeout can end it.
    let ended = tokio::time::timeout(WAIT, async {
        loop {
            if stream.write_all(request.as_bytes()).await.is_err() {
                return;
            }
            let mut response = [0; 512];
            match stream.read(&mut response).await {
                Ok(0) | Err(_) => return,
                Ok(read) => {
                    assert!(
                        response[..read].starts_with(b"HTTP/1.1 426 "),
                        "{:?}",
                        String::from_utf8_lossy(&response[..read])
                    );
                    answered += 1;
                }
            }
            // Pacing the client is the behaviour under test, not synchronisation.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    let after = began.elapsed();
    assert!(
        ended.is_ok(),
        "the connection was still open after {WAIT:?}"
    );
    assert!(answered >= 2, "only {answered} requests were answered");
    assert!(
        after >= HANDSHAKE_TIMEOUT && after < HANDSHAKE_TIMEOUT + Duration::from_secs(3),
        "closed after {after:?}"
    );
}

#[tokio::test]
async fn requests_refused_before_the_upgrade_leave_the_server_serving() {
    let server = start([echo::plugin()]).await;
    let addr = server.local_addr();
    let garbage = http_request(addr, "NOT HTTP AT ALL\r\n\r\n").await;
    assert_eq!(garbage.status, 400, "the response {garbage:?}");
    let mut client = RawClient::connect(addr).await;
    assert_echoes(&mut client).await;
}
