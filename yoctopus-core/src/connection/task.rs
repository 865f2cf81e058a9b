//! The life of one connection: read messages, run handlers, write replies, close properly.
//!
//! Reading and writing run as two futures in one task, so an idle connection costs one task.
//! A handler runs in the connection's task until it has to wait; then it moves to a task of its
//! own, so a slow handler never holds back later requests on the same connection. Replies join the
//! connection's outbound queue when they are ready.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::FutureExt;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;
use tracing::Instrument;

use super::{Connection, RequestGuard};
use crate::dispatch::Dispatch;
use crate::extract::Call;
use crate::plugin::BoxFuture;
use crate::protocol::{Outcome, Push, ReplyHead};
use crate::server::{ErrorEvent, Runtime};
use crate::transport::{self, Incoming, Message, MessageReader, Outbound, ReadEnd};

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
        let (read, write) = tokio::io::split(socket);
        let reader = MessageReader::new(read, runtime.config().max_message_size);
        tokio::select! {
            () = run(reader, write, queued, &connection) => {}
            () = connection.terminated() => tracing::debug!("connection dropped without a close handshake"),
        }
        runtime.register().remove(connection.id());
        tracing::info!("connection closed");
    }
    .instrument(span)
    .await;
}

async fn run<R, W>(
    mut reader: MessageReader<R>,
    write: W,
    queued: mpsc::Receiver<Outbound>,
    connection: &Connection,
) where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let writing = transport::write_frames(write, queued, connection.urgent_close());
    let reading = read_messages(&mut reader, connection);
    tokio::pin!(writing, reading);
    tokio::select! {
        end = &mut reading => {
            if end != ReadEnd::Gone {
                // Let the writer flush what is queued, ending with the close frame.
                let _ = tokio::time::timeout(CLOSE_HANDSHAKE_TIMEOUT, writing).await;
            }
        }
        () = &mut writing => {
            // The writer sent a close frame (or failed): wait for the client's answer.
            let _ = tokio::time::timeout(CLOSE_HANDSHAKE_TIMEOUT, reading).await;
        }
    }
}

async fn read_messages<R: AsyncRead + Unpin>(
    reader: &mut MessageReader<R>,
    connection: &Connection,
) -> ReadEnd {
    loop {
        match reader.next().await {
            Incoming::Message(message) if connection.runtime().message_handler().is_some() => {
                let handler = connection
                    .runtime()
                    .message_handler()
                    .expect("checked by the guard");
                let _ = guarded(connection, handler(connection.clone(), message)).await;
            }
            Incoming::Message(Message::Text(text)) => handle_text(connection, &text).await,
            Incoming::Message(Message::Binary(bytes)) => handle_binary(connection, bytes).await,
            Incoming::Ping(payload) => {
                let _ = connection.outbound().send(Outbound::Pong(payload)).await;
            }
            Incoming::Pong => connection.pong_received(),
            Incoming::Close(code) => {
                connection.close_with(code, "");
                return ReadEnd::Closed;
            }
            Incoming::End(ReadEnd::Violation(code, reason)) => {
                tracing::debug!(code, reason, "closing: the client broke the protocol");
                connection.close_with(code, reason);
                return ReadEnd::Violation(code, reason);
            }
            Incoming::End(end) => return end,
        }
    }
}

async fn handle_text(connection: &Connection, text: &str) {
    let max_depth = connection.runtime().config().max_json_depth;
    match connection.runtime().router().dispatch(text, max_depth) {
        Dispatch::Reply(reply) => {
            tracing::debug!(reply, "request refused");
            send(connection, reply.into()).await;
        }
        Dispatch::Call { head, .. } if connection.runtime().is_draining() => {
            let refusal = Outcome::error("the server is shutting down");
            send(connection, head.render(&refusal).into()).await;
        }
        Dispatch::Call {
            handler,
            head,
            data,
        } => {
            // Waits while the connection has `max_in_flight` requests running: reading pauses.
            let in_flight = connection.start_request().await;
            let call = Call::new(connection.clone(), data);
            run_handler(connection, handler(call), head, in_flight);
        }
    }
}

/// Runs a handler at once, in this task; only a handler that has to wait moves to a task of its
/// own. Most handlers finish on their first poll, so most requests cost no task and no hand-over.
///
/// The first poll uses a waker that does nothing. That is sound: a handler that is not finished
/// is polled again straight away by the task it moves to, which registers that task's waker.
fn run_handler(
    connection: &Connection,
    mut handler: BoxFuture<Outcome>,
    head: ReplyHead,
    in_flight: RequestGuard,
) {
    let mut context = Context::from_waker(futures_util::task::noop_waker_ref());
    let outcome =
        match std::panic::catch_unwind(AssertUnwindSafe(|| handler.as_mut().poll(&mut context))) {
            Ok(Poll::Ready(outcome)) => outcome,
            Ok(Poll::Pending) => {
                let connection = connection.clone();
                tokio::spawn(
                    async move {
                        let outcome = guarded(&connection, handler)
                            .await
                            .unwrap_or_else(Outcome::internal_error);
                        send(&connection, head.render(&outcome).into()).await;
                        drop(in_flight);
                    }
                    .in_current_span(),
                );
                return;
            }
            Err(panic) => {
                report_panic(connection, &*panic);
                Outcome::internal_error()
            }
        };
    match connection
        .outbound()
        .try_send(Outbound::Text(head.render(&outcome).into()))
    {
        Ok(()) | Err(mpsc::error::TrySendError::Closed(_)) => drop(in_flight),
        Err(mpsc::error::TrySendError::Full(reply)) => {
            let connection = connection.clone();
            tokio::spawn(async move {
                let _ = connection.outbound().send(reply).await;
                drop(in_flight);
            });
        }
    }
}

async fn handle_binary(connection: &Connection, bytes: bytes::Bytes) {
    let Some(handler) = connection.runtime().binary_handler() else {
        let refusal = serde_json::json!({"message": "binary messages are not accepted"});
        let push = Push::new("error", &refusal).expect("a literal serializes");
        send(connection, push.into_frame()).await;
        return;
    };
    let in_flight = connection.start_request().await;
    let work = handler(connection.clone(), bytes);
    let connection = connection.clone();
    tokio::spawn(
        async move {
            let _ = guarded(&connection, work).await;
            drop(in_flight);
        }
        .in_current_span(),
    );
}

/// Queues a text frame; a closed queue means the connection is ending and the frame is moot.
async fn send(connection: &Connection, text: bytes::Bytes) {
    let _ = connection.outbound().send(Outbound::Text(text)).await;
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
