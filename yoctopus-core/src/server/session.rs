//! The life of one connection on the network side: read messages, run handlers, write replies, close properly.
//!
//! One loop owns the socket: it reads it, writes everything that is ready in one batch, then waits
//! for the next thing to do (bytes from the client, a queued push or reply, a free request place).
//! An idle connection is one task and a small buffer. While the loop waits with nothing to write,
//! and only then, a push may be written into a plain TCP socket by its sender instead of being
//! queued (the connection's `WriteGate`): the loop takes the gate back on every wake-up.
//!
//! A handler runs in this loop until it has to wait; its reply joins the batch at once, so a burst
//! of pipelined requests is answered with one write. A handler that has to wait moves to a task of
//! its own, so it never holds back later requests; its reply arrives through the outbound queue.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Weak};
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::FutureExt;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tracing::Instrument;

use super::network::{Network, RequestCount};
use crate::app::{Admitted, App};
use crate::connection::{Connection, Place, CLOSE_HANDSHAKE_TIMEOUT};
use crate::dispatch::Dispatch;
use crate::extract::RequestData;
use crate::fault::{panic_message, ErrorEvent};
use crate::plugin::{BoxFuture, MethodDef};
use crate::protocol::{Outcome, Push, ReplyHead};
use crate::transport::{
    Batch, Incoming, Message, MessageReader, Outbound, ReadAhead, ReadEnd, WriteGate,
};

/// The close code for a connection that ended without a close frame (RFC 6455: 1006, never sent).
const ABNORMAL_CLOSURE: u16 = 1006;

/// Serves one upgraded connection until it closes.
///
/// `senders` is the socket as pushes' senders may write it (`None`: only this loop writes), and
/// `read_ahead` what was read from it before.
pub(crate) async fn serve<S>(
    socket: S,
    senders: Option<Weak<TcpStream>>,
    read_ahead: ReadAhead,
    network: Arc<Network>,
    admitted: Box<Admitted>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (queue, queued) = mpsc::channel(network.config().outbound_queue);
    let id = network.app().next_connection_id();
    let span = tracing::info_span!("connection", %id, peer = %admitted.remote_addr());
    async {
        let app = network.app();
        // Opening and closing are boxed: their listeners' state would otherwise sit in every
        // connection's task for its whole life.
        let max_in_flight = network.config().max_in_flight;
        let gate = WriteGate::new(senders);
        let connection = Box::pin(app.open(id, *admitted, queue, gate, max_in_flight)).await;
        tracing::info!("connection opened");
        let mut reader = MessageReader::new(network.config().max_message_size);
        read_ahead.seed(&mut reader);
        let mut session = Session {
            socket,
            reader,
            queued,
            batch: Batch::default(),
            waiting: None,
            in_order: None,
            peer_closed: false,
            close_code: None,
            connection: &connection,
            app,
            network: &network,
        };
        tokio::select! {
            () = session.run() => {}
            () = connection.terminated() => tracing::debug!("connection dropped without a close handshake"),
        }
        // Nothing is written after the loop has ended, by anyone.
        connection.gate().shut();
        let code = session.close_code.unwrap_or(ABNORMAL_CLOSURE);
        Box::pin(app.close(&connection, code)).await;
        tracing::info!(code, "connection closed");
    }
    .instrument(span)
    .await;
}

/// A request's places: one among its connection's `max_in_flight`, and one in the server's count
/// of running requests that shutdown waits for.
struct Running {
    _place: Place,
    _count: RequestCount,
}

/// A message read while the connection had `max_in_flight` requests running; it starts when one
/// finishes, and nothing more is read until then.
enum Waiting {
    Request {
        method: &'static MethodDef,
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
    /// The close code received or sent first, for the `connection_closed` listeners.
    close_code: Option<u16>,
    connection: &'a Connection,
    app: &'a Arc<App>,
    network: &'a Arc<Network>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Session<'_, S> {
    async fn run(&mut self) {
        loop {
            // The loop holds the connection's write gate here: from its start, and from every
            // wake-up on, until it has written everything and waits again.
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
            // Nothing to write: until something wakes the loop, a push may be written by its sender.
            self.connection.gate().idle();
            let reading = self.waiting.is_none() && self.in_order.is_none();
            tokio::select! {
                biased;
                code = self.connection.urgent_close() => {
                    self.wake();
                    self.push(Outbound::Close { code, reason: "".into() });
                }
                outbound = self.queued.recv() => {
                    self.wake();
                    match outbound {
                        Some(outbound) => self.push(outbound),
                        None => return,
                    }
                }
                () = self.connection.place_free(), if self.waiting.is_some() => {
                    self.wake();
                    // Taken at once, so the place found free is still free.
                    if let Some(guard) = self.try_start_request() {
                        if let Some(waiting) = self.waiting.take() {
                            self.start(waiting, guard);
                        }
                    }
                    if !self.handle_buffered() {
                        return;
                    }
                }
                () = finish_in_order(&mut self.in_order), if self.in_order.is_some() => {
                    self.wake();
                    if !self.handle_buffered() {
                        return;
                    }
                }
                incoming = self.reader.next(&mut self.socket), if reading => {
                    self.wake();
                    if !self.handle(incoming) || !self.handle_buffered() {
                        return;
                    }
                }
            }
        }
    }

    /// Takes the write gate back after waiting; what a push left half-written on the socket is
    /// the first thing the batch takes.
    fn wake(&mut self) {
        if let Some(remainder) = self.connection.gate().busy() {
            self.batch.push_remainder(&remainder);
        }
    }

    /// Adds a frame to the batch, noting the first close code.
    fn push(&mut self, outbound: Outbound) {
        if let Outbound::Close { code, .. } = outbound {
            self.close_code.get_or_insert(code);
        }
        self.batch.push(outbound);
    }

    /// Moves queued frames into the batch, until it is full.
    fn take_queued(&mut self) {
        // Most calls find the queue empty, which a look tells for less than a failed receive; a
        // frame queued just after the look wakes the loop's wait on the queue.
        while !self.batch.is_full() && !self.queued.is_empty() {
            match self.queued.try_recv() {
                Ok(outbound) => self.push(outbound),
                Err(_) => break,
            }
        }
    }

    /// Adds a close frame after everything already queued, which the client is owed first.
    fn close_after_queued(&mut self, code: u16, reason: &'static str) {
        while let Ok(outbound) = self.queued.try_recv() {
            self.push(outbound);
        }
        self.push(Outbound::Close {
            code,
            reason: reason.into(),
        });
    }

    /// Takes a request place on the connection and counts the request on the server.
    fn try_start_request(&self) -> Option<Running> {
        let place = self.connection.try_take_place()?;
        Some(Running {
            _place: place,
            _count: self.network.enter_request(),
        })
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
            Incoming::Message(message) if self.app.message_handler().is_some() => {
                self.handle_in_order(message);
            }
            Incoming::Message(Message::Text(text)) => self.handle_text(&text),
            Incoming::Message(Message::Binary(bytes)) => self.handle_binary(bytes),
            Incoming::Ping(payload) => self.batch.push(Outbound::Pong(payload)),
            Incoming::Pong => self.connection.pong_received(),
            Incoming::Close(code) => {
                self.peer_closed = true;
                self.close_code.get_or_insert(code);
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
        match self.app.dispatch(text) {
            Dispatch::Reply(reply) => {
                tracing::debug!(reply, "request refused");
                self.batch.push_text(reply.as_bytes());
            }
            Dispatch::Call { head, .. } if self.network.is_draining() => {
                let refusal = Outcome::error("the server is shutting down");
                self.batch.push_text(&head.render(&refusal));
            }
            Dispatch::Call { method, head, data } => {
                let waiting = Waiting::Request { method, head, data };
                match self.try_start_request() {
                    Some(guard) => self.start(waiting, guard),
                    // Beyond `max_in_flight`: stop reading until a request finishes.
                    None => self.waiting = Some(waiting),
                }
            }
        }
    }

    fn handle_binary(&mut self, bytes: Bytes) {
        if !self.app.handles_binary() {
            let refusal = serde_json::json!({"message": "binary messages are not accepted"});
            let push = Push::new("error", &refusal).expect("a literal serializes");
            self.batch.push(Outbound::Text(push.into_frame()));
            return;
        }
        match self.try_start_request() {
            Some(guard) => self.start(Waiting::Binary(bytes), guard),
            None => self.waiting = Some(Waiting::Binary(bytes)),
        }
    }

    /// Starts a request or binary message that has its place among the requests in flight.
    fn start(&mut self, work: Waiting, guard: Running) {
        let connection = self.connection;
        match work {
            Waiting::Request { method, head, data } => {
                let work = self.app.request(connection, method, &head, data);
                if let Some((outcome, head)) = run_handler(self.app, connection, work, head, guard)
                {
                    // Pushes the handler made are queued; they go out before its reply.
                    self.take_queued();
                    match &outcome {
                        Outcome::Data(data) => self.batch.push_text_parts(&head.ok_parts(data)),
                        Outcome::Error(_) => self.batch.push_text(&head.render_ref(&outcome)),
                    }
                    self.app.response_sent(connection, &head);
                }
            }
            Waiting::Binary(bytes) => {
                let Some(work) = self.app.binary(connection, bytes) else {
                    return;
                };
                let connection = connection.clone();
                let app = Arc::clone(self.app);
                tokio::spawn(
                    async move {
                        let _ = guarded(&app, &connection, work).await;
                        drop(guard);
                    }
                    .in_current_span(),
                );
            }
        }
    }

    /// Gives a message to the message handler; later messages wait until it is done.
    fn handle_in_order(&mut self, message: Message) {
        let handler = self.app.message_handler().expect("checked by the caller");
        let connection = self.connection.clone();
        let app = Arc::clone(self.app);
        let work = handler(connection.clone(), message);
        let mut work: BoxFuture<()> = Box::pin(async move {
            let _ = guarded(&app, &connection, work).await;
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
    app: &Arc<App>,
    connection: &Connection,
    mut handler: BoxFuture<Outcome>,
    head: ReplyHead,
    in_flight: Running,
) -> Option<(Outcome, ReplyHead)> {
    let mut context = Context::from_waker(futures_util::task::noop_waker_ref());
    match std::panic::catch_unwind(AssertUnwindSafe(|| handler.as_mut().poll(&mut context))) {
        Ok(Poll::Ready(outcome)) => Some((outcome, head)),
        Ok(Poll::Pending) => {
            let connection = connection.clone();
            let app = Arc::clone(app);
            tokio::spawn(
                async move {
                    let outcome = guarded(&app, &connection, handler)
                        .await
                        .unwrap_or_else(Outcome::internal_error);
                    let reply = Outbound::Text(head.render_ref(&outcome).into());
                    if connection.outbound().send(reply).await.is_ok() {
                        app.response_sent(&connection, &head);
                    }
                    drop(in_flight);
                }
                .in_current_span(),
            );
            None
        }
        Err(panic) => {
            report_panic(app, connection, &*panic);
            Some((Outcome::internal_error(), head))
        }
    }
}

/// Runs user code; a panic becomes `None`, a log line and an error event, never a dead task.
async fn guarded<T>(
    app: &App,
    connection: &Connection,
    work: impl Future<Output = T>,
) -> Option<T> {
    match AssertUnwindSafe(work).catch_unwind().await {
        Ok(output) => Some(output),
        Err(panic) => {
            report_panic(app, connection, &*panic);
            None
        }
    }
}

fn report_panic(app: &App, connection: &Connection, panic: &(dyn std::any::Any + Send)) {
    let message = panic_message(panic);
    tracing::error!(panic = message, "a handler panicked");
    app.services().report_error(&ErrorEvent::HandlerPanicked {
        connection: connection.id(),
        message: message.to_owned(),
    });
}
