//! The hand-written multicast: what `Connections::multicast` is measured against in
//! `multicast-10k`. A WebSocket server written directly on hyper and fastwebsockets, with no
//! framework, that serves exactly the two requests of the benchmark:
//!
//! - `yoctopus:label` `update` with a string: puts the connection in the group of that label
//!   (leaving the one it was in), the way a hand-written server keeps its rooms: a map from label
//!   to the write sides of its connections, kept up to date as connections join and leave, so a
//!   multicast looks at no connection outside its group;
//! - `fanout:multicast` `create` with `{"kind": "string", "label": "string", "data": any}`:
//!   stamps the real-time clock, serializes `{"meta":{"method":"notify","type":kind},"data":data}`
//!   once, and writes that one buffer to every connection of the group, then answers like
//!   `bench-yoctopus --fanout` ([`Answer`]), so the same load generator drives both.
//!
//! How the push reaches the sockets (`--writers`):
//!
//! - `direct` (the default, and the faster: see BENCHMARKS.md): the group holds each
//!   connection's fastwebsockets write half behind an (uncontended) async mutex, and the
//!   multicast loop writes the frame into each socket in turn, one `write` system call per
//!   connection, from the trigger's own task. No task is woken and nothing is queued: the least
//!   work there is, and what the issue calls the hand-written loop. Its price is that one client
//!   whose socket buffer is full stalls the loop for everyone after it, so a server facing
//!   untrusted clients would not do this without a timeout per write.
//! - `task`: one writer task per connection, fed by a bounded channel (256 frames, Yoctopus's
//!   default outbound queue), and the multicast loop `try_send`s a clone of the buffer (a
//!   reference count) to each; a full queue counts as a failure instead of stalling the loop. The
//!   same shape as Yoctopus's connection loop, written by hand.
//!
//! Each connection's reader runs in a task of its own (the upgrade's), reads whole messages
//! (fragments collected), answers pings and ends on a close or an error, leaving its group.
//! It runs on tokio's multi-thread runtime, as Yoctopus does by default.
//!
//! Run it with `PORT=3000 cargo run --release -p yoctopus-bench --bin bench-multicast-baseline
//! [-- --writers direct|task]`; it prints `listening on ws://<address>` once it accepts
//! connections.

use std::borrow::Cow;
use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use fastwebsockets::{
    FragmentCollectorRead, Frame, OpCode, Payload, WebSocket, WebSocketError, WebSocketWrite,
};
use http_body_util::Empty;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::upgrade::Upgraded;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, Mutex};
use yoctopus_bench::cli::Flags;
use yoctopus_bench::fanout::{unix_nanos, Answer, LABEL, MULTICAST_TRIGGER};
use yoctopus_bench::lifetime;
use yoctopus_bench::request::Endpoint;

type Socket = TokioIo<Upgraded>;
type Writer = WebSocketWrite<tokio::io::WriteHalf<Socket>>;

/// Frames a `task` writer's queue holds: Yoctopus's default outbound queue.
const QUEUE: usize = 256;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let flags = Flags::parse(std::env::args().skip(1))?;
    flags.allow_only(&["writers"])?;
    let state = Arc::new(State {
        writers: flags.get_or("writers", Writers::Direct)?,
        groups: Mutex::new(HashMap::new()),
        next_id: AtomicU64::new(0),
    });
    let port = lifetime::port_from_env()?;
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await?;
    println!("listening on ws://{}", listener.local_addr()?);
    tokio::select! {
        () = accept(listener, state) => {}
        () = lifetime::stop_requested() => {}
    }
    Ok(())
}

/// How pushes reach the sockets (see the module's documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Writers {
    /// The multicast loop writes to each socket itself.
    Direct,
    /// One writer task per connection, fed by a bounded channel.
    Task,
}

impl FromStr for Writers {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "direct" => Ok(Self::Direct),
            "task" => Ok(Self::Task),
            other => Err(format!(
                "unknown writers `{other}`; expected `direct` or `task`"
            )),
        }
    }
}

/// The server's state: its groups.
struct State {
    writers: Writers,
    /// Label to the connections that have it, by connection number.
    groups: Mutex<HashMap<String, Group>>,
    next_id: AtomicU64,
}

/// The write sides of a group's connections, by connection number.
type Group = HashMap<u64, Outlet>;

/// A frame for a connection, owned so that it can be queued.
enum Out {
    Text(Bytes),
    Pong(Bytes),
    Close,
}

impl Out {
    fn frame(&self) -> Frame<'_> {
        match self {
            Self::Text(text) => Frame::text(Payload::Borrowed(text)),
            Self::Pong(payload) => Frame::pong(Payload::Borrowed(payload)),
            Self::Close => Frame::close(1000, b""),
        }
    }
}

/// The write side of a connection.
#[derive(Clone)]
enum Outlet {
    /// The write half itself, written by whoever has a frame for the connection.
    Direct(Arc<Mutex<Writer>>),
    /// The queue of the connection's writer task.
    Task(mpsc::Sender<Out>),
}

impl Outlet {
    fn new(writer: Writer, writers: Writers) -> Self {
        match writers {
            Writers::Direct => Self::Direct(Arc::new(Mutex::new(writer))),
            Writers::Task => {
                let (queue, queued) = mpsc::channel(QUEUE);
                tokio::spawn(write_queued(writer, queued));
                Self::Task(queue)
            }
        }
    }

    /// Writes or queues `out`.
    async fn send(&self, out: Out) -> Result<(), String> {
        match self {
            Self::Direct(writer) => writer
                .lock()
                .await
                .write_frame(out.frame())
                .await
                .map_err(|error| error.to_string()),
            Self::Task(queue) => queue.try_send(out).map_err(queue_error),
        }
    }

    /// Writes or queues the text frame `push`: written straight from the caller's buffer, or a
    /// clone of it (a reference count) queued.
    async fn send_text(&self, push: &Bytes) -> Result<(), String> {
        match self {
            Self::Direct(writer) => writer
                .lock()
                .await
                .write_frame(Frame::text(Payload::Borrowed(push)))
                .await
                .map_err(|error| error.to_string()),
            Self::Task(queue) => queue.try_send(Out::Text(push.clone())).map_err(queue_error),
        }
    }
}

fn queue_error<T>(error: mpsc::error::TrySendError<T>) -> String {
    match error {
        mpsc::error::TrySendError::Full(_) => "the connection stopped reading".to_owned(),
        mpsc::error::TrySendError::Closed(_) => "the connection is closed".to_owned(),
    }
}

/// A `task` connection's writer: writes what is queued, in order, until a close or an error.
async fn write_queued(mut writer: Writer, mut queued: mpsc::Receiver<Out>) {
    while let Some(out) = queued.recv().await {
        let close = matches!(out, Out::Close);
        if writer.write_frame(out.frame()).await.is_err() || close {
            break;
        }
    }
}

async fn accept(listener: TcpListener, state: Arc<State>) {
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
        let state = Arc::clone(&state);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(|request| {
                let state = Arc::clone(&state);
                async move { upgrade(request, state) }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades()
                .await;
        });
    }
}

fn upgrade(
    mut request: Request<Incoming>,
    state: Arc<State>,
) -> Result<Response<Empty<Bytes>>, WebSocketError> {
    let (response, upgraded) = fastwebsockets::upgrade::upgrade(&mut request)?;
    tokio::spawn(async move {
        if let Ok(socket) = upgraded.await {
            serve(socket, &state).await;
        }
    });
    Ok(response)
}

/// Reads one connection's messages until it closes, answering each; then takes it out of its
/// group.
async fn serve(mut socket: WebSocket<Socket>, state: &State) {
    // Pings and closes are answered here, through the connection's outlet.
    socket.set_auto_pong(false);
    socket.set_auto_close(false);
    let id = state.next_id.fetch_add(1, Ordering::Relaxed);
    let (reader, writer) = socket.split(tokio::io::split);
    let mut reader = FragmentCollectorRead::new(reader);
    let outlet = Outlet::new(writer, state.writers);
    let mut label = None;
    // Nothing is ever obligated to be sent, with both automatic answers off.
    let mut obligated = |_| std::future::ready(Ok::<(), WebSocketError>(()));
    loop {
        let Ok(frame) = reader.read_frame(&mut obligated).await else {
            break;
        };
        let out = match frame.opcode {
            OpCode::Text => Out::Text(answer(state, id, &outlet, &mut label, &frame.payload).await),
            OpCode::Binary => Out::Text(error_reply(None, "binary messages are not accepted")),
            OpCode::Ping => Out::Pong(Bytes::copy_from_slice(&frame.payload)),
            OpCode::Close => break,
            OpCode::Pong | OpCode::Continuation => continue,
        };
        if outlet.send(out).await.is_err() {
            break;
        }
    }
    if let Some(label) = label {
        state.leave(&label, id).await;
    }
    let _ = outlet.send(Out::Close).await;
}

/// A request as sent: `meta`'s fields are echoed byte for byte, `data` is read per endpoint.
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    meta: Meta<'a>,
    #[serde(borrow, default)]
    data: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Meta<'a> {
    #[serde(borrow, default)]
    id: Option<&'a RawValue>,
    #[serde(borrow)]
    endpoint: &'a RawValue,
    #[serde(borrow)]
    method: &'a RawValue,
}

/// `fanout:multicast` `create`'s data: what to push, and to whom.
#[derive(Deserialize)]
struct Trigger {
    kind: String,
    label: String,
    data: Value,
}

/// The reply to one text message of connection `id`.
async fn answer(
    state: &State,
    id: u64,
    outlet: &Outlet,
    label: &mut Option<String>,
    payload: &[u8],
) -> Bytes {
    let envelope: Envelope<'_> = match serde_json::from_slice(payload) {
        Ok(envelope) => envelope,
        Err(error) => return error_reply(None, &format!("invalid message: {error}")),
    };
    let meta = &envelope.meta;
    let (Some(endpoint), Some(method)) = (text(meta.endpoint), text(meta.method)) else {
        return error_reply(
            Some(meta),
            "invalid message: `meta.endpoint` and `meta.method` must be strings",
        );
    };
    let data = envelope.data.map_or("null", RawValue::get);
    let is = |wanted: Endpoint| endpoint == wanted.endpoint && method == wanted.method;
    if is(LABEL) {
        match serde_json::from_str::<String>(data) {
            Ok(new) => {
                state.join(id, outlet, label.as_deref(), &new).await;
                *label = Some(new);
                ok_reply(meta, "{}")
            }
            Err(error) => error_reply(Some(meta), &format!("data: {error}")),
        }
    } else if is(MULTICAST_TRIGGER) {
        match serde_json::from_str::<Trigger>(data) {
            Ok(trigger) => {
                let answer = state.multicast(&trigger).await;
                ok_reply(
                    meta,
                    &serde_json::to_string(&answer).expect("an answer serializes"),
                )
            }
            Err(error) => error_reply(Some(meta), &format!("data: {error}")),
        }
    } else {
        error_reply(
            Some(meta),
            &format!("unknown endpoint `{endpoint}` or method `{method}`"),
        )
    }
}

impl State {
    /// Puts connection `id` in the group `label`, out of the group `previous`.
    async fn join(&self, id: u64, outlet: &Outlet, previous: Option<&str>, label: &str) {
        let mut groups = self.groups.lock().await;
        if let Some(previous) = previous {
            remove(&mut groups, previous, id);
        }
        groups
            .entry(label.to_owned())
            .or_default()
            .insert(id, outlet.clone());
    }

    /// Takes connection `id` out of the group `label`.
    async fn leave(&self, label: &str, id: u64) {
        remove(&mut *self.groups.lock().await, label, id);
    }

    /// The multicast itself: the clock stamped, the push serialized once, written (or queued) to
    /// every member of the group in turn. Members that could not be reached leave the group.
    async fn multicast(&self, trigger: &Trigger) -> Answer {
        let first_call = SystemTime::now();
        let calling = Instant::now();
        let push = Bytes::from(render_push(&trigger.kind, &trigger.data));
        let mut groups = self.groups.lock().await;
        let (mut notified, mut lost, mut first_error) = (0, Vec::new(), None);
        if let Some(members) = groups.get(&trigger.label) {
            for (id, outlet) in members {
                match outlet.send_text(&push).await {
                    Ok(()) => notified += 1,
                    Err(error) => {
                        lost.push(*id);
                        first_error.get_or_insert(error);
                    }
                }
            }
        }
        let calls_us = u64::try_from(calling.elapsed().as_micros()).unwrap_or(u64::MAX);
        for id in &lost {
            remove(&mut groups, &trigger.label, *id);
        }
        Answer {
            notified,
            failed: lost.len(),
            first_error,
            ids_us: 0,
            calls_us,
            first_call_unix_ns: unix_nanos(first_call),
        }
    }
}

fn remove(groups: &mut HashMap<String, Group>, label: &str, id: u64) {
    if let Some(members) = groups.get_mut(label) {
        members.remove(&id);
        if members.is_empty() {
            groups.remove(label);
        }
    }
}

/// `{"meta":{"method":"notify","type":kind},"data":data}`, as PROTOCOL.md writes a push.
fn render_push(kind: &str, data: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(96);
    out.extend_from_slice(br#"{"meta":{"method":"notify","type":"#);
    serde_json::to_writer(&mut out, kind).expect("a string serializes");
    out.extend_from_slice(br#"},"data":"#);
    serde_json::to_writer(&mut out, data).expect("a JSON value serializes");
    out.push(b'}');
    out
}

fn text(raw: &RawValue) -> Option<Cow<'_, str>> {
    serde_json::from_str(raw.get()).ok()
}

/// Writes `{"meta":{"id":..,"endpoint":..,"method":..,"status":` with whatever `meta` held.
fn reply_head(meta: Option<&Meta<'_>>, capacity: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(capacity);
    out.extend_from_slice(br#"{"meta":{"#);
    if let Some(meta) = meta {
        for (name, raw) in [
            (&br#""id":"#[..], meta.id),
            (br#""endpoint":"#, Some(meta.endpoint)),
            (br#""method":"#, Some(meta.method)),
        ] {
            if let Some(raw) = raw {
                out.extend_from_slice(name);
                out.extend_from_slice(raw.get().as_bytes());
                out.push(b',');
            }
        }
    }
    out.extend_from_slice(br#""status":"#);
    out
}

/// An `ok` reply carrying `data`, JSON text.
fn ok_reply(meta: &Meta<'_>, data: &str) -> Bytes {
    let mut out = reply_head(Some(meta), 96 + data.len());
    out.extend_from_slice(br#""ok"},"data":"#);
    out.extend_from_slice(data.as_bytes());
    out.push(b'}');
    out.into()
}

fn error_reply(meta: Option<&Meta<'_>>, message: &str) -> Bytes {
    let mut out = reply_head(meta, 96 + message.len());
    out.extend_from_slice(br#""error"},"error":["#);
    serde_json::to_writer(&mut out, message).expect("writing JSON into a Vec cannot fail");
    out.extend_from_slice(b"]}");
    out.into()
}

#[cfg(test)]
mod tests {
    use yoctopus_bench::fanout::{data, expected_push, KIND};

    use super::render_push;

    #[test]
    fn the_push_is_the_bytes_the_load_generator_expects() {
        assert_eq!(render_push(KIND, &data(7)), expected_push(KIND, &data(7)));
    }
}
