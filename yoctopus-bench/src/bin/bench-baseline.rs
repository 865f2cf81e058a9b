//! The raw baseline: the greeter job of PROTOCOL.md written by hand on hyper, fastwebsockets and
//! serde_json, with no framework, as the yardstick Yoctopus is measured against.
//!
//! It is written the way a careful engineer would write it by hand for speed, not the simplest
//! way: the JSON work is `hand-written/answer.rs` (`meta` echoed as borrowed raw JSON, `data` read
//! straight into a borrowed struct of the endpoint, the reply written into one buffer). Each
//! connection answers its frames in order, in its own task, with no queue between reading and
//! writing: one write per reply, the way fastwebsockets is used out of the box.
//! `bench-baseline-batched` does the same job with its replies batched, as Yoctopus does. It runs
//! on tokio's multi-thread runtime, as Yoctopus does by default.
//!
//! It also serves the nested `bench:order` `create` request, validated by hand (serde's types plus
//! an email check), so that the same load generator drives both servers.
//!
//! Run it with `PORT=3000 cargo run --release -p yoctopus-bench --bin bench-baseline`; it prints
//! `listening on ws://<address>` once it accepts connections.

#[path = "hand-written/answer.rs"]
mod answer;

use std::net::Ipv4Addr;

use fastwebsockets::{FragmentCollector, Frame, OpCode, Payload, WebSocket, WebSocketError};
use http_body_util::Empty;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::upgrade::Upgraded;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use yoctopus_bench::lifetime;

use crate::answer::{answer, BINARY_REFUSAL};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port = lifetime::port_from_env()?;
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await?;
    println!("listening on ws://{}", listener.local_addr()?);
    tokio::select! {
        () = accept(listener) => {}
        () = lifetime::stop_requested() => {}
    }
    Ok(())
}

async fn accept(listener: TcpListener) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(error) => {
                // Usually out of file descriptors: wait a little instead of spinning.
                eprintln!("accepting a connection failed: {error}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(|request| async { upgrade(request) });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades()
                .await;
        });
    }
}

fn upgrade(mut request: Request<Incoming>) -> Result<Response<Empty<Bytes>>, WebSocketError> {
    let (response, upgraded) = fastwebsockets::upgrade::upgrade(&mut request)?;
    tokio::spawn(async move {
        if let Ok(socket) = upgraded.await {
            let _ = serve(socket).await;
        }
    });
    Ok(response)
}

/// Answers each text frame in order until the client closes (pings and closes are answered by
/// fastwebsockets itself).
async fn serve(socket: WebSocket<TokioIo<Upgraded>>) -> Result<(), WebSocketError> {
    let mut socket = FragmentCollector::new(socket);
    loop {
        let frame = socket.read_frame().await?;
        let reply = match frame.opcode {
            OpCode::Text => answer(&frame.payload),
            OpCode::Binary => BINARY_REFUSAL.to_vec(),
            OpCode::Close => return Ok(()),
            _ => continue,
        };
        socket
            .write_frame(Frame::text(Payload::Owned(reply)))
            .await?;
    }
}
