//! The life of one connection: read messages, run handlers, write replies, close properly.
//!
//! One loop owns the socket: it writes everything that is ready in one batch, then waits for the
//! next thing to do (bytes from the client, a queued push or reply, a free request place). An idle
//! connection is one task and a small buffer; the socket is never split or locked.
//!
//! A handler runs in this loop until it has to wait; its reply joins the batch at once, so a burst
//! of pipelined requests is answered with one write. A handler that has to wait moves to a task of
//! its own, so it never holds back later requests; its reply arrives through the outbound queue.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::FutureExt;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tracing::Instrument;

use super::{Connection, RequestGuard};
use crate::dispatch::Dispatch;
use crate::extract::{Call, RequestData};
use crate::plugin::{BoxFuture, Handler};
use crate::protocol::{Outcome, Push, ReplyHead};
use crate::server::{ErrorEvent, Runtime};
use crate::transport::{Batch, Incoming, Message, MessageReader, Outbound, ReadEnd};

/// How long to wait for the other side of a close handshake before dropping the socket.
pub(crate) const CLOSE_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// Serves one upgraded connection until it closes.
pub(crate) async fn serve<S>(
    socket: S,
    runtime: Arc<Runtime>,
    remote_addr: std::net::SocketAddr,
    secure: bool,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (queue, queued) = mpsc::channel(runtime.config().outbound_queue);
    let connection = Connection::new(
        runtime.next_connection_id(),
        remote_addr,
        queue,
        Arc::clone(&runtime),
    );
    let span = tracing::info_span!("connection", id = %connection.id(), peer = %remote_addr);
    async {
        tracing::info!("connection opened");
        let opened = connection.set(crate::yoctopus::Settings {
            label: None,
            is_secure: secure,
            port: runtime.local_addr().port(),
            remote_address: remote_addr.ip().to_string(),
        });
        debug_assert!(opened.is_ok(), "the yoctopus plugin is always registered");
        runtime.register().insert(connection.clone());
        let mut session = Session {
            socket,
            reader: MessageReader::new(runtime.config().max_message_size),
            queued,
            batch: Batch::default(),
            waiting: None,
            in_order: None,
            peer_closed: false,
            connection: &connection,
        };
        tokio::select! {
            () = session.run() => {}
            () = connection.terminated() => tracing::debug!("connection dropped without a close handshake"),
        }
        runtime.register().remove(connection.id());
        tracing::info!("connection closed");
    }
    .instrument(span)
    .await;
}

/// A message read while the connection had `max_in_flight` requests running; it starts when one
/// finishes, and nothing more is read until then.
enum Waiting {
    Request {
        handler: Handler,
        head: ReplyHead,
        data: RequestData,
    },
    Binary(Bytes),
}

/// What one connection's loop owns.
struct Session<'a, S> {
    socket: S,
    reader: MessageReader,
    queued: mpsc::Receiver<Outbound>,
    batch: Batch,
    waiting: Option<Waiting>,
    /// A message handler that had to wait: messages are handled in order, so none is read until it
    /// finishes.
    in_order: Option<BoxFuture<()>>,
    /// The client sent a close frame; once the answer is written, the connection is done.
    peer_closed: bool,
    connection: &'a Connection,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Session<'_, S> {
    async fn run(&mut self) {
        loop {
            self.take_queued();
            if !self.batch.is_empty() {
                let closing = self.batch.is_closing();
                if let Err(error) = self.batch.write_to(&mut self.socket).await {
                    tracing::debug!(%error, "writing to the client failed");
                    return;
                }
                if closing {
                    self.finish_close().await;
                    return;
                }
                continue;
            }
            let reading = self.waiting.is_none() && self.in_order.is_none();
            tokio::select! {
                biased;
                code = self.connection.urgent_close() => {
                    self.batch.push(Outbound::Close { code, reason: "" });
                }
                outbound = self.queued.recv() => match outbound {
                    Some(outbound) => self.batch.push(outbound),
                    None => return,
                },
                () = self.connection.place_free(), if self.waiting.is_some() => {
                    // Taken at once, so the place found free is still free.
                    if let Some(guard) = self.connection.try_start_request() {
                        if let Some(waiting) = self.waiting.take() {
                            self.start(waiting, guard);
                        }
                    }
                    if !self.handle_buffered() {
                        return;
                    }
                }
                () = finish_in_order(&mut self.in_order), if self.in_order.is_some() => {
                    if !self.handle_buffered() {
                        return;
                    }
                }
                incoming = self.reader.next(&mut self.socket), if reading => {
                    if !self.handle(incoming) || !self.handle_buffered() {
                        return;
                    }
                }
            }
        }
    }

    /// Moves queued frames into the batch, until it is full.
    fn take_queued(&mut self) {
        while !self.batch.is_full() {
            match self.queued.try_recv() {
                Ok(outbound) => self.batch.push(outbound),
                Err(_) => break,
            }
        }
    }

    /// Adds a close frame after everything already queued, which the client is owed first.
    fn close_after_queued(&mut self, code: u16, reason: &'static str) {
        while let Ok(outbound) = self.queued.try_recv() {
            self.batch.push(outbound);
        }
        self.batch.push(Outbound::Close { code, reason });
    }

    /// Handles the messages already read, while nothing has to wait; returns false when the
    /// connection is gone.
    fn handle_buffered(&mut self) -> bool {
        while self.waiting.is_none() && self.in_order.is_none() && !self.batch.is_closing() {
            match self.reader.buffered() {
                Some(incoming) => {
                    if !self.handle(incoming) {
                        return false;
                    }
                }
                None => break,
            }
        }
        true
    }

    /// Acts on one message or control frame; returns false when the connection is gone.
    fn handle(&mut self, incoming: Incoming) -> bool {
        match incoming {
            Incoming::Message(message) if self.connection.runtime().message_handler().is_some() => {
                self.handle_in_order(message);
            }
            Incoming::Message(Message::Text(text)) => self.handle_text(&text),
            Incoming::Message(Message::Binary(bytes)) => self.handle_binary(bytes),
            Incoming::Ping(payload) => self.batch.push(Outbound::Pong(payload)),
            Incoming::Pong => self.connection.pong_received(),
            Incoming::Close(code) => {
                self.peer_closed = true;
                self.close_after_queued(code, "");
            }
            Incoming::End(ReadEnd::Violation(code, reason)) => {
                tracing::debug!(code, reason, "closing: the client broke the protocol");
                self.close_after_queued(code, reason);
            }
            Incoming::End(_) => return false,
        }
        true
    }

    fn handle_text(&mut self, text: &str) {
        let runtime = self.connection.runtime();
        match runtime
            .router()
            .dispatch(text, runtime.config().max_json_depth)
        {
            Dispatch::Reply(reply) => {
                tracing::debug!(reply, "request refused");
                self.batch.push_text(reply.as_bytes());
            }
            Dispatch::Call { head, .. } if runtime.is_draining() => {
                let refusal = Outcome::error("the server is shutting down");
                self.batch.push_text(&head.render(&refusal));
            }
            Dispatch::Call {
                handler,
                head,
                data,
            } => {
                let waiting = Waiting::Request {
                    handler,
                    head,
                    data,
                };
                match self.connection.try_start_request() {
                    Some(guard) => self.start(waiting, guard),
                    // Beyond `max_in_flight`: stop reading until a request finishes.
                    None => self.waiting = Some(waiting),
                }
            }
        }
    }

    fn handle_binary(&mut self, bytes: Bytes) {
        if self.connection.runtime().binary_handler().is_none() {
            let refusal = serde_json::json!({"message": "binary messages are not accepted"});
            let push = Push::new("error", &refusal).expect("a literal serializes");
            self.batch.push(Outbound::Text(push.into_frame()));
            return;
        }
        match self.connection.try_start_request() {
            Some(guard) => self.start(Waiting::Binary(bytes), guard),
            None => self.waiting = Some(Waiting::Binary(bytes)),
        }
    }

    /// Starts a request or binary message that has its place among the requests in flight.
    fn start(&mut self, work: Waiting, guard: RequestGuard) {
        let connection = self.connection;
        match work {
            Waiting::Request {
                handler,
                head,
                data,
            } => {
                let call = Call::new(connection.clone(), data);
                if let Some((outcome, head)) = run_handler(connection, handler(call), head, guard) {
                    // Pushes the handler made are queued; they go out before its reply.
                    self.take_queued();
                    match &outcome {
                        Outcome::Data(data) => self.batch.push_text_parts(&head.ok_parts(data)),
                        Outcome::Error(_) => self.batch.push_text(&head.render(&outcome)),
                    }
                }
            }
            Waiting::Binary(bytes) => {
                let handler = connection
                    .runtime()
                    .binary_handler()
                    .expect("checked before queueing");
                let work = handler(connection.clone(), bytes);
                let connection = connection.clone();
                tokio::spawn(
                    async move {
                        let _ = guarded(&connection, work).await;
                        drop(guard);
                    }
                    .in_current_span(),
                );
            }
        }
    }

    /// Gives a message to the message handler; later messages wait until it is done.
    fn handle_in_order(&mut self, message: Message) {
        let handler = self
            .connection
            .runtime()
            .message_handler()
            .expect("checked by the caller");
        let connection = self.connection.clone();
        let work = handler(connection.clone(), message);
        let mut work: BoxFuture<()> = Box::pin(async move {
            let _ = guarded(&connection, work).await;
        });
        let mut context = Context::from_waker(futures_util::task::noop_waker_ref());
        if work.as_mut().poll(&mut context).is_pending() {
            self.in_order = Some(work);
        }
    }

    /// After a close frame is written: done if the client closed first, otherwise wait (bounded)
    /// for the client's close frame, as the close handshake asks.
    async fn finish_close(&mut self) {
        if !self.peer_closed {
            let answer = async {
                loop {
                    match self.reader.next(&mut self.socket).await {
                        Incoming::Close(_) | Incoming::End(_) => return,
                        _ => {}
                    }
                }
            };
            let _ = tokio::time::timeout(CLOSE_HANDSHAKE_TIMEOUT, answer).await;
        }
        let _ = self.socket.shutdown().await;
    }
}

/// Waits for the message handler that had to wait, then clears it.
async fn finish_in_order(in_order: &mut Option<BoxFuture<()>>) {
    match in_order {
        Some(work) => {
            work.await;
            *in_order = None;
        }
        None => std::future::pending().await,
    }
}

/// Runs a handler at once, in the connection's task, and returns its outcome (with the reply head
/// back) when it finishes on this first poll (most do). A handler that has to wait moves to a task of its own and sends its
/// reply through the outbound queue.
///
/// The first poll uses a waker that does nothing. That is sound: a handler that is not finished
/// is polled again straight away by the task it moves to, which registers that task's waker.
fn run_handler(
    connection: &Connection,
    mut handler: BoxFuture<Outcome>,
    head: ReplyHead,
    in_flight: RequestGuard,
) -> Option<(Outcome, ReplyHead)> {
    let mut context = Context::from_waker(futures_util::task::noop_waker_ref());
    match std::panic::catch_unwind(AssertUnwindSafe(|| handler.as_mut().poll(&mut context))) {
        Ok(Poll::Ready(outcome)) => Some((outcome, head)),
        Ok(Poll::Pending) => {
            let connection = connection.clone();
            tokio::spawn(
                async move {
                    let outcome = guarded(&connection, handler)
                        .await
                        .unwrap_or_else(Outcome::internal_error);
                    let reply = Outbound::Text(head.render(&outcome).into());
                    let _ = connection.outbound().send(reply).await;
                    drop(in_flight);
                }
                .in_current_span(),
            );
            None
        }
        Err(panic) => {
            report_panic(connection, &*panic);
            Some((Outcome::internal_error(), head))
        }
    }
}

/// Runs user code; a panic becomes `None`, a log line and an error event, never a dead task.
async fn guarded<T>(connection: &Connection, work: impl Future<Output = T>) -> Option<T> {
    match AssertUnwindSafe(work).catch_unwind().await {
        Ok(output) => Some(output),
        Err(panic) => {
            report_panic(connection, &*panic);
            None
        }
    }
}

fn report_panic(connection: &Connection, panic: &(dyn std::any::Any + Send)) {
    let message = panic_message(panic);
    tracing::error!(panic = message, "a handler panicked");
    connection
        .runtime()
        .report_error(&ErrorEvent::HandlerPanicked {
            connection: connection.id(),
            message: message.to_owned(),
        });
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<&'static str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic without a message")
}
