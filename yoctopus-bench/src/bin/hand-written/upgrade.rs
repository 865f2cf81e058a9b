//! Accepting connections and upgrading them with hyper and fastwebsockets, then taking the TCP
//! socket back out of hyper's upgrade, as Yoctopus does: the connection is then served on the
//! plain `TcpStream`, not through hyper's boxed `Upgraded` with its read-ahead buffer in front.
//!
//! Shared by the batching hand-written servers, `bench-baseline-batched` and `bench-floor`, which
//! own their socket's reads and writes. (`bench-baseline` keeps fastwebsockets' own upgraded
//! socket, as its out-of-the-box use writes it.)

use std::future::Future;
use std::time::Duration;

use http_body_util::Empty;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::upgrade::Upgraded;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};

/// Accepts connections forever; each upgraded one is handed to `serve` with the bytes hyper read
/// past the upgrade request (usually none), in a task of its own.
pub(crate) async fn accept<F, Served>(listener: TcpListener, serve: F)
where
    F: Fn(TcpStream, Bytes) -> Served + Copy + Send + Sync + 'static,
    Served: Future<Output = ()> + Send + 'static,
{
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(error) => {
                // Usually out of file descriptors: wait a little instead of spinning.
                eprintln!("accepting a connection failed: {error}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let service =
                hyper::service::service_fn(move |request| async move { upgrade(request, serve) });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades()
                .await;
        });
    }
}

fn upgrade<F, Served>(
    mut request: Request<Incoming>,
    serve: F,
) -> Result<Response<Empty<Bytes>>, fastwebsockets::WebSocketError>
where
    F: Fn(TcpStream, Bytes) -> Served + Send + 'static,
    Served: Future<Output = ()> + Send + 'static,
{
    let (response, upgraded) = fastwebsockets::upgrade::upgrade(&mut request)?;
    tokio::spawn(async move {
        let Ok(websocket) = upgraded.await else {
            return;
        };
        match into_tcp(websocket.into_inner().into_inner()) {
            Some((socket, read_ahead)) => serve(socket, read_ahead).await,
            // Only a plain TCP connection is ever served here, so this is not expected; the
            // connection is dropped rather than served another way.
            None => eprintln!("an upgraded connection was not a plain TCP socket; dropped it"),
        }
    });
    Ok(response)
}

/// The TCP socket under an upgrade, and what hyper had read from it past the request.
fn into_tcp(upgraded: Upgraded) -> Option<(TcpStream, Bytes)> {
    let parts = upgraded.downcast::<TokioIo<TcpStream>>().ok()?;
    Some((parts.io.into_inner(), parts.read_buf))
}
