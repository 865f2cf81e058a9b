//! The HTTP side of a connection: TLS (when configured), the upgrade request, the WebSocket start.
//!
//! Everything that can refuse a client is decided here, before `101 Switching Protocols`: a slow
//! or incomplete request (header read timeout, handshake timeout), a request that is not an
//! upgrade (426, or the answer of the static files when the server has some), a wrong WebSocket version (426 naming version 13), a missing key (400), an
//! origin that is not allowed (403), a full or stopping server (503), and a plugin's upgrade
//! check (the status it chooses, usually 401 or 403).

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::future::Either;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONNECTION, ORIGIN, UPGRADE};
use hyper::upgrade::Upgraded;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::{session, Network};
use crate::app::Admitted;
use crate::connection::UpgradeRequest;
use crate::fault::ErrorEvent;
use crate::transport::{ReadAhead, SharedTcp};

/// Serves one accepted TCP connection: TLS first when configured, then HTTP until it upgrades.
pub(crate) async fn serve_tcp(stream: TcpStream, remote_addr: SocketAddr, network: Arc<Network>) {
    let _ = stream.set_nodelay(true);
    // One deadline for the TLS handshake and the HTTP upgrade together.
    let deadline = Instant::now() + network.config().handshake_timeout;
    match network.tls() {
        None => serve_http(stream, remote_addr, network, false, deadline).await,
        Some(acceptor) => match tokio::time::timeout_at(deadline, acceptor.accept(stream)).await {
            Ok(Ok(stream)) => serve_http(stream, remote_addr, network, true, deadline).await,
            Ok(Err(error)) => {
                tracing::debug!(%error, peer = %remote_addr, "TLS handshake failed");
                network
                    .app()
                    .services()
                    .report_error(&ErrorEvent::TlsHandshakeFailed {
                        peer: remote_addr,
                        message: error.to_string(),
                    });
            }
            Err(_) => tracing::debug!(peer = %remote_addr, "TLS handshake timed out"),
        },
    }
}

async fn serve_http<S>(
    stream: S,
    remote_addr: SocketAddr,
    network: Arc<Network>,
    secure: bool,
    deadline: Instant,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let limits = network.config().clone();
    let service = hyper::service::service_fn(move |request| {
        let network = Arc::clone(&network);
        async move { Ok::<_, Infallible>(answer(request, remote_addr, network, secure).await) }
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    match tokio::time::timeout_at(deadline, connection).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => {
            tracing::debug!(%error, peer = %remote_addr, "HTTP connection ended with an error")
        }
        Err(_) => {
            tracing::debug!(peer = %remote_addr, "closed an HTTP connection that did not upgrade in time")
        }
    }
}

async fn answer(
    mut request: Request<Incoming>,
    remote_addr: SocketAddr,
    network: Arc<Network>,
    secure: bool,
) -> Response<Full<Bytes>> {
    if network.is_draining() {
        return refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "the server is shutting down",
        );
    }
    if !fastwebsockets::upgrade::is_upgrade_request(&request) {
        if let Some(files) = network.static_files() {
            return files.answer(&request);
        }
        let mut response = refuse(
            StatusCode::UPGRADE_REQUIRED,
            "this server speaks WebSocket only",
        );
        let headers = response.headers_mut();
        headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
        headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
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
    if !valid_key(request.headers().get("sec-websocket-key")) {
        return refuse(
            StatusCode::BAD_REQUEST,
            "missing or malformed Sec-WebSocket-Key",
        );
    }
    if !network.origin_allowed(request.headers().get(ORIGIN).map(HeaderValue::as_bytes)) {
        tracing::debug!(peer = %remote_addr, "upgrade refused: origin not allowed");
        return refuse(StatusCode::FORBIDDEN, "origin not allowed");
    }
    let Some(slot) = network.reserve_connection_slot() else {
        tracing::debug!(peer = %remote_addr, "upgrade refused: the server is at max_connections");
        return refuse(StatusCode::SERVICE_UNAVAILABLE, "too many connections");
    };
    let upgrade = if network.app().reads_upgrade_requests() {
        upgrade_request(&request, remote_addr, network.local_addr(), secure)
    } else {
        UpgradeRequest::addresses_only(remote_addr, network.local_addr(), secure)
    };
    let admitted = match network.app().admit(upgrade).await {
        Ok(admitted) => admitted,
        Err(refusal) => {
            let status = StatusCode::from_u16(refusal.status()).unwrap_or(StatusCode::FORBIDDEN);
            return refuse(status, refusal.reason());
        }
    };
    let (response, upgraded) = match fastwebsockets::upgrade::upgrade(&mut request) {
        Ok(upgrade) => upgrade,
        Err(error) => return refuse(StatusCode::BAD_REQUEST, &error.to_string()),
    };
    // Boxed, so that the connection's task keeps a pointer to it, not its bytes, once it is used.
    let admitted = Box::new(admitted);
    tokio::spawn(async move {
        match upgraded.await {
            Ok(socket) => serve_upgraded(socket.into_inner().into_inner(), network, admitted).await,
            Err(error) => tracing::debug!(%error, peer = %remote_addr, "upgrade failed"),
        }
        drop(slot);
    });
    response.map(|_| Full::default())
}

/// Serves an upgraded connection. A plain TCP socket is taken back out of hyper's upgrade (with
/// the bytes hyper read past the request), so that pushes can be written into it by their senders
/// while the connection's loop is idle; a TLS connection stays behind the upgrade and its loop.
///
/// Not an `async fn`: its two branches would each keep room for their session in the future
/// (rustc does not overlap them), and every idle connection would pay for both. `Either` holds
/// one.
fn serve_upgraded(
    upgraded: Upgraded,
    network: Arc<Network>,
    admitted: Box<Admitted>,
) -> impl Future<Output = ()> {
    match upgraded.downcast::<TokioIo<TcpStream>>() {
        Ok(parts) => {
            let socket = SharedTcp::new(parts.io.into_inner());
            let senders = Some(socket.downgrade());
            let read_ahead = ReadAhead::of(parts.read_buf);
            Either::Left(session::serve(
                socket, senders, read_ahead, network, admitted,
            ))
        }
        Err(upgraded) => {
            let socket = TokioIo::new(upgraded);
            Either::Right(session::serve(
                socket,
                None,
                ReadAhead::default(),
                network,
                admitted,
            ))
        }
    }
}

/// What a connection keeps of its upgrade request.
fn upgrade_request(
    request: &Request<Incoming>,
    remote_addr: SocketAddr,
    local_addr: SocketAddr,
    secure: bool,
) -> UpgradeRequest {
    let target = request
        .uri()
        .path_and_query()
        .map_or("/", |target| target.as_str());
    let headers = request
        .headers()
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_bytes()));
    UpgradeRequest::new(target, headers, remote_addr, local_addr, secure)
}

/// RFC 6455: the key is a base64-encoded 16-byte value, so exactly 24 characters ending in `==`.
fn valid_key(key: Option<&HeaderValue>) -> bool {
    key.map(HeaderValue::as_bytes).is_some_and(|key| {
        key.len() == 24
            && key.ends_with(b"==")
            && key[..22]
                .iter()
                .all(|byte| byte.is_ascii_alphanumeric() || *byte == b'+' || *byte == b'/')
    })
}

fn refuse(status: StatusCode, reason: &str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(format!("{reason}\n"))));
    *response.status_mut() = status;
    response
}
