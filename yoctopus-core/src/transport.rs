//! Frames in and out over fastwebsockets: message assembly, control frames, close codes.
//!
//! The reader turns frames into whole messages (reassembling fragments itself, so that size and
//! UTF-8 are checked on the message, not frame by frame) and answers control frames. The writer is
//! the only code that writes to the socket: everything else queues an [`Outbound`] for it, which
//! keeps frames whole and in order whatever task produced them.

use bytes::Bytes;
use fastwebsockets::{Frame, OpCode, Payload, WebSocketError, WebSocketRead, WebSocketWrite};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;

/// Close codes of RFC 6455 that Yoctopus sends.
pub(crate) mod close_code {
    /// The purpose of the connection is fulfilled.
    pub(crate) const NORMAL: u16 = 1000;
    /// The server is shutting down.
    pub(crate) const GOING_AWAY: u16 = 1001;
    /// The peer broke the framing rules.
    pub(crate) const PROTOCOL_ERROR: u16 = 1002;
    /// A text message was not valid UTF-8.
    pub(crate) const INVALID_PAYLOAD: u16 = 1007;
    /// A message was larger than the configured maximum.
    pub(crate) const MESSAGE_TOO_BIG: u16 = 1009;
}

/// A frame waiting to be written.
#[derive(Debug)]
pub(crate) enum Outbound {
    /// A text message: a reply or a push.
    Text(Bytes),
    /// The answer to a ping.
    Pong(Bytes),
    /// A liveness ping.
    Ping,
    /// A close frame; nothing is written after it.
    Close { code: u16, reason: &'static str },
}

/// A whole message from the client.
#[derive(Debug)]
pub(crate) enum Message {
    Text(String),
    Binary(Bytes),
}

/// How reading ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ReadEnd {
    /// The client sent a close frame; the answer is queued.
    Closed,
    /// The client broke a rule; a close frame with this code is due.
    Violation(u16, &'static str),
    /// The socket ended or failed without a close frame.
    Gone,
}

/// Reads frames and assembles messages.
pub(crate) struct MessageReader<R> {
    socket: WebSocketRead<R>,
    max_message_size: usize,
    partial: Option<(OpCode, Vec<u8>)>,
}

/// What one call to [`MessageReader::next`] produced.
pub(crate) enum Incoming {
    Message(Message),
    Ping(Bytes),
    Pong,
    /// The client closed; answer with this close frame (code, reason).
    Close(Option<(u16, String)>),
    End(ReadEnd),
}

impl<R: AsyncRead + Unpin> MessageReader<R> {
    pub(crate) fn new(mut socket: WebSocketRead<R>, max_message_size: usize) -> Self {
        socket.set_auto_close(false);
        socket.set_auto_pong(false);
        // fastwebsockets rejects a frame whose length is >= its limit; ours is inclusive.
        socket.set_max_message_size(max_message_size.saturating_add(1));
        Self {
            socket,
            max_message_size,
            partial: None,
        }
    }

    /// Reads until a message, a control frame, or the end.
    pub(crate) async fn next(&mut self) -> Incoming {
        loop {
            let frame = match self
                .socket
                .read_frame::<_, std::convert::Infallible>(&mut |_| async { Ok(()) })
                .await
            {
                Ok(frame) => frame,
                Err(error) => return Incoming::End(end_for(error)),
            };
            match frame.opcode {
                OpCode::Text | OpCode::Binary if self.partial.is_some() => {
                    return violation("a new message started before the previous one ended")
                }
                OpCode::Text | OpCode::Binary if frame.fin => {
                    return match finish(frame.opcode, frame.payload.to_vec()) {
                        Ok(message) => Incoming::Message(message),
                        Err(end) => Incoming::End(end),
                    }
                }
                OpCode::Text | OpCode::Binary => {
                    self.partial = Some((frame.opcode, frame.payload.to_vec()));
                }
                OpCode::Continuation => {
                    let Some((opcode, buffer)) = self.partial.as_mut() else {
                        return violation("a continuation frame without a message to continue");
                    };
                    if buffer.len() + frame.payload.len() > self.max_message_size {
                        return Incoming::End(ReadEnd::Violation(
                            close_code::MESSAGE_TOO_BIG,
                            "message too big",
                        ));
                    }
                    buffer.extend_from_slice(&frame.payload);
                    let opcode = *opcode;
                    if frame.fin {
                        let (_, buffer) = self.partial.take().expect("checked just above");
                        return match finish(opcode, buffer) {
                            Ok(message) => Incoming::Message(message),
                            Err(end) => Incoming::End(end),
                        };
                    }
                }
                OpCode::Ping => return Incoming::Ping(Bytes::copy_from_slice(&frame.payload)),
                OpCode::Pong => return Incoming::Pong,
                OpCode::Close => return close_reply(&frame.payload),
            }
        }
    }
}

fn violation(reason: &'static str) -> Incoming {
    Incoming::End(ReadEnd::Violation(close_code::PROTOCOL_ERROR, reason))
}

fn finish(opcode: OpCode, payload: Vec<u8>) -> Result<Message, ReadEnd> {
    if opcode == OpCode::Binary {
        return Ok(Message::Binary(payload.into()));
    }
    String::from_utf8(payload)
        .map(Message::Text)
        .map_err(|_| ReadEnd::Violation(close_code::INVALID_PAYLOAD, "invalid UTF-8"))
}

/// The answer to a client's close frame: echo its code, or reject a malformed one.
fn close_reply(payload: &[u8]) -> Incoming {
    match payload {
        [] => Incoming::Close(None),
        [_] => violation("a close frame with a one-byte payload"),
        [high, low, reason @ ..] => {
            let code = u16::from_be_bytes([*high, *low]);
            let allowed = matches!(code, 1000..=1003 | 1007..=1011 | 3000..=4999);
            match std::str::from_utf8(reason) {
                _ if !allowed => violation("a close frame with a reserved code"),
                Err(_) => Incoming::End(ReadEnd::Violation(
                    close_code::INVALID_PAYLOAD,
                    "invalid UTF-8",
                )),
                Ok(_) => Incoming::Close(Some((code, String::new()))),
            }
        }
    }
}

fn end_for(error: WebSocketError) -> ReadEnd {
    match error {
        WebSocketError::FrameTooLarge => {
            ReadEnd::Violation(close_code::MESSAGE_TOO_BIG, "message too big")
        }
        WebSocketError::InvalidUTF8 => {
            ReadEnd::Violation(close_code::INVALID_PAYLOAD, "invalid UTF-8")
        }
        WebSocketError::ReservedBitsNotZero
        | WebSocketError::ControlFrameFragmented
        | WebSocketError::PingFrameTooLarge
        | WebSocketError::InvalidValue
        | WebSocketError::InvalidFragment
        | WebSocketError::InvalidContinuationFrame
        | WebSocketError::InvalidCloseFrame
        | WebSocketError::InvalidCloseCode => {
            ReadEnd::Violation(close_code::PROTOCOL_ERROR, "protocol error")
        }
        _ => ReadEnd::Gone,
    }
}

/// Writes queued frames until a close frame is written or the queue ends.
pub(crate) async fn write_frames<W: AsyncWrite + Unpin>(
    mut socket: WebSocketWrite<W>,
    mut queue: mpsc::Receiver<Outbound>,
) {
    while let Some(outbound) = queue.recv().await {
        let (frame, last) = match &outbound {
            Outbound::Text(text) => (Frame::text(Payload::Borrowed(text)), false),
            Outbound::Pong(payload) => (Frame::pong(Payload::Borrowed(payload)), false),
            Outbound::Ping => (
                Frame::new(true, OpCode::Ping, None, Payload::Borrowed(&[])),
                false,
            ),
            Outbound::Close { code, reason } => (Frame::close(*code, reason.as_bytes()), true),
        };
        if let Err(error) = socket.write_frame(frame).await {
            tracing::debug!(%error, "writing to the client failed");
            return;
        }
        if last {
            return;
        }
    }
}
