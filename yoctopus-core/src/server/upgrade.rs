//! The HTTP side of a connection: checks the upgrade request, answers it, starts the WebSocket.
//!
//! Everything that can refuse a client is decided here, before the `101 Switching Protocols`:
//! a request that is not an upgrade, a wrong WebSocket version, a missing key, an origin that is
//! not allowed, or a server that is shutting down.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, ORIGIN, UPGRADE};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use super::Runtime;
use crate::connection::task;

/// Serves HTTP on one TCP connection until it upgrades or ends.
pub(crate) async fn serve_http(stream: TcpStream, remote_addr: SocketAddr, runtime: Arc<Runtime>) {
    let service = hyper::service::service_fn(move |request| {
        let response = answer(request, remote_addr, &runtime);
        async move { Ok::<_, Infallible>(response) }
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    if let Err(error) = connection.await {
        tracing::debug!(%error, peer = %remote_addr, "HTTP connection ended with an error");
    }
}

fn answer(
    mut request: Request<Incoming>,
    remote_addr: SocketAddr,
    runtime: &Arc<Runtime>,
) -> Response<Full<Bytes>> {
    if runtime.is_draining() {
        return refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "the server is shutting down",
        );
    }
    if !fastwebsockets::upgrade::is_upgrade_request(&request) {
        let mut response = refuse(
            StatusCode::UPGRADE_REQUIRED,
            "this server speaks WebSocket only",
        );
        response
            .headers_mut()
            .insert(UPGRADE, HeaderValue::from_static("websocket"));
        return response;
    }
    if request
        .headers()
        .get("sec-websocket-version")
        .map(HeaderValue::as_bytes)
        != Some(b"13")
    {
        let mut response = refuse(
            StatusCode::UPGRADE_REQUIRED,
            "unsupported WebSocket version; use 13",
        );
        response
            .headers_mut()
            .insert("sec-websocket-version", HeaderValue::from_static("13"));
        return response;
    }
    if !runtime.origin_allowed(request.headers().get(ORIGIN).map(HeaderValue::as_bytes)) {
        tracing::debug!(peer = %remote_addr, "upgrade refused: origin not allowed");
        return refuse(StatusCode::FORBIDDEN, "origin not allowed");
    }
    let (response, upgraded) = match fastwebsockets::upgrade::upgrade(&mut request) {
        Ok(upgrade) => upgrade,
        Err(error) => return refuse(StatusCode::BAD_REQUEST, &error.to_string()),
    };
    let runtime = Arc::clone(runtime);
    tokio::spawn(async move {
        match upgraded.await {
            Ok(socket) => task::serve(socket.into_inner(), runtime, remote_addr).await,
            Err(error) => tracing::debug!(%error, peer = %remote_addr, "upgrade failed"),
        }
    });
    response.map(|_| Full::default())
}

fn refuse(status: StatusCode, reason: &str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(format!("{reason}\n"))));
    *response.status_mut() = status;
    response
}
