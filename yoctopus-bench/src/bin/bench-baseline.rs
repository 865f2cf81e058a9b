//! The raw baseline: the greeter job of PROTOCOL.md written by hand on hyper, fastwebsockets and
//! serde_json, with no framework, as the yardstick Yoctopus is measured against.
//!
//! It is written the way a careful engineer would write it by hand for speed, not the simplest
//! way: `meta` is read as borrowed raw JSON so that `id`, `endpoint` and `method` are echoed exactly
//! as sent without being rebuilt, `data` is deserialized straight into a borrowed struct of the
//! endpoint (the check that `name` is a string is serde's type check), and the reply is written into
//! one buffer. Each connection answers its frames in order, in its own task, with no queue between
//! reading and writing. It runs on tokio's multi-thread runtime, as Yoctopus does by default.
//!
//! It also serves the nested `bench:order` `create` request, validated by hand (serde's types plus
//! an email check), so that the same load generator drives both servers.
//!
//! Run it with `PORT=3000 cargo run --release -p yoctopus-bench --bin bench-baseline`; it prints
//! `listening on ws://<address>` once it accepts connections.

use std::borrow::Cow;
use std::net::Ipv4Addr;

use fastwebsockets::{FragmentCollector, Frame, OpCode, Payload, WebSocket, WebSocketError};
use http_body_util::Empty;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::upgrade::Upgraded;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use serde_json::value::RawValue;
use tokio::net::TcpListener;
use yoctopus_bench::lifetime;
use yoctopus_bench::request::{greeting, GREETER, NESTED};

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
            OpCode::Binary => {
                br#"{"meta":{"method":"notify","type":"error"},"data":{"message":"binary messages are not accepted"}}"#.to_vec()
            }
            OpCode::Close => return Ok(()),
            _ => continue,
        };
        socket
            .write_frame(Frame::text(Payload::Owned(reply)))
            .await?;
    }
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow, default)]
    meta: Option<Meta<'a>>,
    #[serde(borrow, default)]
    data: Option<&'a RawValue>,
}

/// `meta` as sent: each field is echoed byte for byte.
#[derive(Deserialize, Default)]
struct Meta<'a> {
    #[serde(borrow, default)]
    id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    endpoint: Option<&'a RawValue>,
    #[serde(borrow, default)]
    method: Option<&'a RawValue>,
}

/// The reply to one text frame.
fn answer(payload: &[u8]) -> Vec<u8> {
    let envelope: Envelope<'_> = match serde_json::from_slice(payload) {
        Ok(envelope) => envelope,
        Err(error) => return error_reply(&Meta::default(), &format!("invalid message: {error}")),
    };
    let Some(meta) = envelope.meta else {
        return error_reply(&Meta::default(), "invalid message: `meta` is missing");
    };
    let (Some(endpoint), Some(method)) = (text(meta.endpoint), text(meta.method)) else {
        return error_reply(
            &meta,
            "invalid message: `meta.endpoint` and `meta.method` must be strings",
        );
    };
    let data = envelope.data.map_or("null", RawValue::get);
    let checked = if endpoint == GREETER.endpoint && method == GREETER.method {
        serde_json::from_str::<Hello<'_>>(data)
            .map(|hello| hello.name)
            .map_err(|error| format!("data: {error}"))
    } else if endpoint == NESTED.endpoint && method == NESTED.method {
        check_order(data).map(|order| order.customer.name)
    } else {
        Err(format!(
            "unknown endpoint `{endpoint}` or method `{method}`"
        ))
    };
    match checked {
        Ok(name) => ok_reply(&meta, &greeting(&name)),
        Err(message) => error_reply(&meta, &message),
    }
}

fn text(raw: Option<&RawValue>) -> Option<Cow<'_, str>> {
    serde_json::from_str(raw?.get()).ok()
}

/// `greeter:hello` `read`.
#[derive(Deserialize)]
struct Hello<'a> {
    #[serde(borrow)]
    name: Cow<'a, str>,
}

/// `bench:order` `create`: the same twenty fields as the Yoctopus server's `bench::Order`.
#[derive(Deserialize)]
#[expect(
    dead_code,
    reason = "the fields are read to be validated, as in the Yoctopus server"
)]
struct Order<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(borrow)]
    customer: Customer<'a>,
    status: Status,
    #[serde(borrow)]
    items: Vec<Item<'a>>,
    #[serde(borrow, default)]
    note: Option<Cow<'a, str>>,
    total: f64,
    #[serde(borrow)]
    currency: Cow<'a, str>,
    gift: bool,
}

#[derive(Deserialize)]
#[expect(
    dead_code,
    reason = "the fields are read to be validated, as in the Yoctopus server"
)]
struct Customer<'a> {
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(borrow)]
    email: Cow<'a, str>,
    age: u32,
    vip: bool,
    #[serde(borrow)]
    address: Address<'a>,
}

#[derive(Deserialize)]
#[expect(
    dead_code,
    reason = "the fields are read to be validated, as in the Yoctopus server"
)]
struct Address<'a> {
    #[serde(borrow)]
    street: Cow<'a, str>,
    #[serde(borrow)]
    city: Cow<'a, str>,
    #[serde(borrow)]
    zip: Cow<'a, str>,
    #[serde(borrow)]
    country: Cow<'a, str>,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum Status {
    Pending,
    Paid,
    Shipped,
}

#[derive(Deserialize)]
#[expect(
    dead_code,
    reason = "the fields are read to be validated, as in the Yoctopus server"
)]
struct Item<'a> {
    #[serde(borrow)]
    sku: Cow<'a, str>,
    quantity: u32,
    price: f64,
}

/// Reads an order and checks what serde's types cannot: that the email looks like one.
fn check_order(data: &str) -> Result<Order<'_>, String> {
    let order: Order<'_> = serde_json::from_str(data).map_err(|error| format!("data: {error}"))?;
    if !looks_like_email(&order.customer.email) {
        return Err("customer.email: expected email".to_owned());
    }
    Ok(order)
}

/// `local@domain.tld` with no spaces: the check a hand-written server would make.
fn looks_like_email(text: &str) -> bool {
    text.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !text.contains(char::is_whitespace)
            && !domain.contains('@')
    })
}

/// Writes `{"meta":{"id":..,"endpoint":..,"method":..,"status":` with whatever `meta` held.
fn reply_head(meta: &Meta<'_>, capacity: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(capacity);
    out.extend_from_slice(br#"{"meta":{"#);
    for (name, raw) in [
        (&br#""id":"#[..], meta.id),
        (br#""endpoint":"#, meta.endpoint),
        (br#""method":"#, meta.method),
    ] {
        if let Some(raw) = raw {
            out.extend_from_slice(name);
            out.extend_from_slice(raw.get().as_bytes());
            out.push(b',');
        }
    }
    out.extend_from_slice(br#""status":"#);
    out
}

fn ok_reply(meta: &Meta<'_>, message: &str) -> Vec<u8> {
    let mut out = reply_head(meta, 96 + message.len());
    out.extend_from_slice(br#""ok"},"data":{"message":"#);
    serde_json::to_writer(&mut out, message).expect("writing JSON into a Vec cannot fail");
    out.extend_from_slice(b"}}");
    out
}

fn error_reply(meta: &Meta<'_>, message: &str) -> Vec<u8> {
    let mut out = reply_head(meta, 96 + message.len());
    out.extend_from_slice(br#""error"},"error":["#);
    serde_json::to_writer(&mut out, message).expect("writing JSON into a Vec cannot fail");
    out.extend_from_slice(b"]}");
    out
}
