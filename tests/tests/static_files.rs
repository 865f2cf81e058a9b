//! A server with static files, over real sockets: plain HTTP requests get the files (or 304, 404,
//! 405), while WebSocket upgrades on the same port and path are served as before.

mod common;
mod raw;

use std::net::SocketAddr;

use common::start_with;
use raw::{http_request, tcp_connect, RawClient, WAIT};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use yoctopus_core::{plugin, ConfigError, Server, ServerError, StaticFiles};

#[plugin]
mod echo {
    use serde_json::Value;

    #[endpoint(name = "echo", method = "read")]
    async fn echo(data: Value) -> Value {
        data
    }
}

const PAGE: &str = "<!doctype html><title>chat</title><script src=\"/app.js\"></script>";
const SCRIPT: &str = "console.log('hello');";

async fn start_with_page() -> Server {
    let files = StaticFiles::new()
        .file("/", "text/html; charset=utf-8", PAGE)
        .file("/app.js", "text/javascript; charset=utf-8", SCRIPT);
    start_with(Server::builder().static_files(files), [echo::plugin()]).await
}

fn get(addr: SocketAddr, path: &str, extra_headers: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n{extra_headers}Connection: close\r\n\r\n")
}

#[tokio::test]
async fn a_browser_gets_the_page_and_its_script_from_the_websocket_port() {
    let server = start_with_page().await;
    let addr = server.local_addr();
    let page = http_request(addr, &get(addr, "/", "Accept: text/html\r\n")).await;
    assert_eq!((page.status, page.body_text()), (200, PAGE), "{page:?}");
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(page.header("cache-control"), Some("no-cache"));
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
    // A query string does not change the file.
    let script = http_request(addr, &get(addr, "/app.js?v=2", "")).await;
    assert_eq!((script.status, script.body_text()), (200, SCRIPT));
    assert_eq!(
        script.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
}

#[tokio::test]
async fn the_upgrade_at_the_page_path_is_still_a_websocket() {
    let server = start_with_page().await;
    let mut client = RawClient::connect(server.local_addr()).await;
    let request =
        json!({"meta": {"id": 1, "endpoint": "echo:echo", "method": "read"}, "data": "hi"});
    assert_eq!(
        client.request(&request).await,
        json!({"meta": {"id": 1, "endpoint": "echo:echo", "method": "read", "status": "ok"}, "data": "hi"})
    );
}

#[tokio::test]
async fn a_browser_that_has_the_file_is_told_it_is_unchanged() {
    let server = start_with_page().await;
    let addr = server.local_addr();
    let first = http_request(addr, &get(addr, "/app.js", "")).await;
    let etag = first
        .header("etag")
        .expect("the file has an ETag")
        .to_owned();
    let again = http_request(
        addr,
        &get(addr, "/app.js", &format!("If-None-Match: {etag}\r\n")),
    )
    .await;
    assert_eq!((again.status, again.body.len()), (304, 0), "{again:?}");
    assert_eq!(again.header("etag"), Some(etag.as_str()));
    let other = http_request(addr, &get(addr, "/", &format!("If-None-Match: {etag}\r\n"))).await;
    assert_eq!(
        other.status, 200,
        "another file's tag does not match: {other:?}"
    );
}

#[tokio::test]
async fn head_answers_the_headers_of_get_without_the_body() {
    let server = start_with_page().await;
    let addr = server.local_addr();
    let mut stream = tcp_connect(addr).await;
    let request = format!("HEAD /app.js HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(WAIT, stream.read_to_end(&mut response))
        .await
        .expect("the server answers and closes in time")
        .expect("reading the answer succeeds");
    let response = String::from_utf8(response).expect("the answer is text");
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    assert!(
        response.contains(&format!("content-length: {}\r\n", SCRIPT.len())),
        "{response}"
    );
    assert!(
        response.ends_with("\r\n\r\n"),
        "no body follows the head: {response}"
    );
}

#[tokio::test]
async fn other_paths_are_not_found_and_other_methods_not_allowed() {
    let server = start_with_page().await;
    let addr = server.local_addr();
    let missing = http_request(addr, &get(addr, "/favicon.ico", "")).await;
    assert_eq!((missing.status, missing.body_text()), (404, "not found\n"));
    let post = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi"
    );
    let post = http_request(addr, &post).await;
    assert_eq!(post.status, 405, "{post:?}");
    assert_eq!(post.header("allow"), Some("GET, HEAD"));
}

#[tokio::test]
async fn without_static_files_plain_http_is_still_426() {
    let server = start_with(Server::builder(), [echo::plugin()]).await;
    let addr = server.local_addr();
    let response = http_request(addr, &get(addr, "/", "")).await;
    assert_eq!(response.status, 426, "{response:?}");
}

#[tokio::test]
async fn a_file_that_cannot_be_served_stops_the_start() {
    let files = StaticFiles::new().file("index.html", "text/html", PAGE);
    let result = Server::builder().port(0).static_files(files).start().await;
    match result {
        Err(ServerError::Config(ConfigError::InvalidValue { value, .. })) => {
            assert_eq!(value, "index.html")
        }
        other => panic!(
            "expected a configuration error, got {:?}",
            other.map(|_| ())
        ),
    }
}
