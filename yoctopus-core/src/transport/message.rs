//! Whole messages from frames: fragments reassembled, size and UTF-8 checked on the message,
//! control frames passed up as they come (they may arrive between fragments).

use bytes::{Bytes, BytesMut};
use tokio::io::AsyncRead;

use super::frame::{Frame, FrameError, FrameReader, OpCode};
use super::{close_code, ReadEnd};

/// A whole WebSocket message from a client, as a [message handler](crate::ServerBuilder::message_handler)
/// receives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A text message (valid UTF-8, reassembled from its fragments).
    Text(String),
    /// A binary message.
    Binary(Bytes),
}

/// What one call to [`MessageReader::next`] produced.
#[derive(Debug)]
pub(crate) enum Incoming {
    Message(Message),
    Ping(Bytes),
    Pong,
    /// The client closed; answer with this code (its own, or 1000 when it gave none).
    Close(u16),
    End(ReadEnd),
}

/// A message whose fragments are still arriving.
struct Partial {
    opcode: OpCode,
    payload: BytesMut,
    /// How much of a text payload is known to be valid UTF-8, so each fragment is checked once.
    checked: usize,
}

/// What the HTTP server read past the upgrade request (frames a client sent at once), to be read
/// before the socket. Usually nothing, and it waits in every connection's task until the reader
/// takes it, so it is one pointer, allocated only when there is something.
#[derive(Debug, Default)]
pub(crate) struct ReadAhead(Option<Box<[u8]>>);

impl ReadAhead {
    pub(crate) fn of(bytes: Bytes) -> Self {
        Self((!bytes.is_empty()).then(|| bytes.as_ref().into()))
    }

    /// Hands the bytes to `reader`, which reads them first.
    pub(crate) fn seed(self, reader: &mut MessageReader) {
        if let Some(bytes) = self.0 {
            reader.frames.seed(&bytes);
        }
    }
}

/// Reads frames and assembles messages.
pub(crate) struct MessageReader {
    frames: FrameReader,
    max_message_size: usize,
    partial: Option<Partial>,
}

impl MessageReader {
    pub(crate) fn new(max_message_size: usize) -> Self {
        Self {
            frames: FrameReader::new(max_message_size),
            max_message_size,
            partial: None,
        }
    }

    /// The next message or control frame among the bytes already read; `None` when more bytes
    /// are needed.
    pub(crate) fn buffered(&mut self) -> Option<Incoming> {
        loop {
            match self.frames.buffered() {
                Ok(Some(frame)) => {
                    if let Some(incoming) = self.accept(frame) {
                        return Some(incoming);
                    }
                }
                Ok(None) => return None,
                Err(FrameError::Protocol(reason)) => return Some(protocol_error(reason)),
                Err(FrameError::TooBig) => return Some(too_big()),
            }
        }
    }

    /// Reads from `socket` until a message, a control frame, or the end. Cancel-safe: bytes read
    /// and fragments assembled so far are kept.
    pub(crate) async fn next<R: AsyncRead + Unpin>(&mut self, socket: &mut R) -> Incoming {
        loop {
            if let Some(incoming) = self.buffered() {
                return incoming;
            }
            if self.frames.fill(socket).await.is_err() {
                return Incoming::End(ReadEnd::Gone);
            }
        }
    }

    fn accept(&mut self, frame: Frame) -> Option<Incoming> {
        let Frame {
            fin,
            opcode,
            payload,
        } = frame;
        match opcode {
            OpCode::Ping => Some(Incoming::Ping(payload.freeze())),
            OpCode::Pong => Some(Incoming::Pong),
            OpCode::Close => Some(close_reply(&payload)),
            OpCode::Text | OpCode::Binary if self.partial.is_some() => Some(protocol_error(
                "a new message started before the previous one ended",
            )),
            OpCode::Text | OpCode::Binary => {
                let mut partial = Partial {
                    opcode,
                    payload,
                    checked: 0,
                };
                if let Err(end) = partial.check_utf8(fin) {
                    return Some(Incoming::End(end));
                }
                if fin {
                    Some(partial.finish())
                } else {
                    self.partial = Some(partial);
                    None
                }
            }
            OpCode::Continuation => {
                let Some(partial) = self.partial.as_mut() else {
                    return Some(protocol_error(
                        "a continuation frame without a message to continue",
                    ));
                };
                if partial.payload.len() + payload.len() > self.max_message_size {
                    return Some(too_big());
                }
                partial.payload.extend_from_slice(&payload);
                if let Err(end) = partial.check_utf8(fin) {
                    return Some(Incoming::End(end));
                }
                if fin {
                    self.partial.take().map(Partial::finish)
                } else {
                    None
                }
            }
        }
    }
}

impl Partial {
    /// Checks the text received so far, failing as soon as a byte makes it invalid; an incomplete
    /// character at the end is allowed until the last fragment.
    fn check_utf8(&mut self, last: bool) -> Result<(), ReadEnd> {
        if self.opcode != OpCode::Text {
            return Ok(());
        }
        match std::str::from_utf8(&self.payload[self.checked..]) {
            Ok(_) => {
                self.checked = self.payload.len();
                Ok(())
            }
            Err(error) if error.error_len().is_none() && !last => {
                self.checked += error.valid_up_to();
                Ok(())
            }
            Err(_) => Err(invalid_utf8()),
        }
    }

    fn finish(self) -> Incoming {
        Incoming::Message(match self.opcode {
            OpCode::Text => match String::from_utf8(self.payload.to_vec()) {
                Ok(text) => Message::Text(text),
                Err(_) => return Incoming::End(invalid_utf8()),
            },
            _ => Message::Binary(self.payload.freeze()),
        })
    }
}

/// The answer to a client's close frame: echo its code, or refuse a malformed frame.
fn close_reply(payload: &[u8]) -> Incoming {
    match payload {
        [] => Incoming::Close(close_code::NORMAL),
        [_] => protocol_error("a close frame with a one-byte payload"),
        [high, low, reason @ ..] => {
            let code = u16::from_be_bytes([*high, *low]);
            if !matches!(code, 1000..=1003 | 1007..=1011 | 3000..=4999) {
                protocol_error("a close frame with a code that may not be sent")
            } else if std::str::from_utf8(reason).is_err() {
                Incoming::End(invalid_utf8())
            } else {
                Incoming::Close(code)
            }
        }
    }
}

fn protocol_error(reason: &'static str) -> Incoming {
    Incoming::End(ReadEnd::Violation(close_code::PROTOCOL_ERROR, reason))
}

fn too_big() -> Incoming {
    Incoming::End(ReadEnd::Violation(
        close_code::MESSAGE_TOO_BIG,
        "message too big",
    ))
}

fn invalid_utf8() -> ReadEnd {
    ReadEnd::Violation(close_code::INVALID_PAYLOAD, "invalid UTF-8")
}

#[cfg(test)]
mod tests {
    use super::super::frame::tests::client_frame;
    use super::{Incoming, Message, MessageReader};
    use crate::transport::ReadEnd;

    async fn read_all(bytes: Vec<u8>, max: usize) -> Vec<Incoming> {
        let mut reader = MessageReader::new(max);
        let mut socket = &bytes[..];
        let mut out = Vec::new();
        loop {
            let incoming = reader.next(&mut socket).await;
            let end = matches!(incoming, Incoming::End(_));
            out.push(incoming);
            if end {
                return out;
            }
        }
    }

    #[tokio::test]
    async fn fragments_are_reassembled_around_a_ping() {
        let mut bytes = client_frame(0x01, "héllo ".as_bytes(), [1, 2, 3, 4]);
        bytes.extend(client_frame(0x89, b"p", [5, 6, 7, 8]));
        bytes.extend(client_frame(0x80, "wörld".as_bytes(), [9, 8, 7, 6]));
        let incoming = read_all(bytes, 1000).await;
        assert!(matches!(&incoming[0], Incoming::Ping(payload) if &payload[..] == b"p"));
        assert!(
            matches!(&incoming[1], Incoming::Message(Message::Text(text)) if text == "héllo wörld")
        );
        assert!(matches!(incoming[2], Incoming::End(ReadEnd::Gone)));
    }

    #[tokio::test]
    async fn a_character_split_across_fragments_is_valid() {
        let snowman = "☃".as_bytes();
        let mut bytes = client_frame(0x01, &snowman[..1], [1, 1, 1, 1]);
        bytes.extend(client_frame(0x80, &snowman[1..], [2, 2, 2, 2]));
        let incoming = read_all(bytes, 1000).await;
        assert!(matches!(&incoming[0], Incoming::Message(Message::Text(text)) if text == "☃"));
    }

    #[tokio::test]
    async fn invalid_utf8_fails_on_the_fragment_that_breaks_it() {
        let mut bytes = client_frame(0x01, b"ok \xff", [1, 1, 1, 1]);
        bytes.extend(client_frame(0x80, b"never read", [2, 2, 2, 2]));
        let incoming = read_all(bytes, 1000).await;
        assert!(matches!(
            incoming[0],
            Incoming::End(ReadEnd::Violation(1007, _))
        ));
    }

    #[tokio::test]
    async fn a_message_over_the_limit_across_fragments_is_too_big() {
        let mut bytes = client_frame(0x02, &[0; 60], [1, 1, 1, 1]);
        bytes.extend(client_frame(0x80, &[0; 60], [2, 2, 2, 2]));
        let incoming = read_all(bytes, 100).await;
        assert!(matches!(
            incoming[0],
            Incoming::End(ReadEnd::Violation(1009, _))
        ));
    }

    #[tokio::test]
    async fn close_frames_are_checked() {
        for (payload, expected) in [
            (vec![], Some(1000)),
            (vec![0x03, 0xE8, b'b', b'y', b'e'], Some(1000)),
            (vec![0x0F, 0xA0], Some(4000)),
            (vec![0x03], None),
            (vec![0x03, 0xED], None),
            (vec![0x03, 0xE8, 0xff], None),
        ] {
            let incoming = read_all(client_frame(0x88, &payload, [3, 3, 3, 3]), 1000).await;
            match (&incoming[0], expected) {
                (Incoming::Close(code), Some(expected)) => assert_eq!(*code, expected),
                (Incoming::End(ReadEnd::Violation(code, _)), None) => {
                    assert!([1002, 1007].contains(code))
                }
                (other, _) => panic!("{payload:?}: {other:?}"),
            }
        }
    }

    #[tokio::test]
    async fn continuation_without_a_start_and_interleaved_messages_are_protocol_errors() {
        let incoming = read_all(client_frame(0x80, b"x", [1, 1, 1, 1]), 100).await;
        assert!(matches!(
            incoming[0],
            Incoming::End(ReadEnd::Violation(1002, _))
        ));
        let mut bytes = client_frame(0x01, b"a", [1, 1, 1, 1]);
        bytes.extend(client_frame(0x81, b"b", [1, 1, 1, 1]));
        let incoming = read_all(bytes, 100).await;
        assert!(matches!(
            incoming[0],
            Incoming::End(ReadEnd::Violation(1002, _))
        ));
    }
}
