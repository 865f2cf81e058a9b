//! Outgoing frames, gathered into one buffer so that everything ready goes out in one write.
//!
//! Replies to pipelined requests, a burst of pushes and control frames leave together in one
//! system call. A close frame is the last thing a batch takes.

use fastwebsockets::{Frame, OpCode, Payload};
use tokio::io::{AsyncWrite, AsyncWriteExt};

use super::Outbound;

/// A batch stops taking frames at this size; larger frames go out on their own.
const BATCH_BYTES: usize = 64 * 1024;

/// Frames waiting to be written together.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    bytes: Vec<u8>,
    closing: bool,
}

impl Batch {
    /// Adds a frame; anything after a close frame is dropped, as RFC 6455 requires.
    pub(crate) fn push(&mut self, outbound: Outbound) {
        match outbound {
            Outbound::Text(text) => self.push_frame(OpCode::Text, &text),
            Outbound::Binary(bytes) => self.push_frame(OpCode::Binary, &bytes),
            Outbound::Pong(payload) => self.push_frame(OpCode::Pong, &payload),
            Outbound::Ping => self.push_frame(OpCode::Ping, &[]),
            Outbound::Close { code, reason } => {
                if !self.closing {
                    append(&mut Frame::close(code, reason.as_bytes()), &mut self.bytes);
                    self.closing = true;
                }
            }
        }
    }

    /// Adds a text frame.
    pub(crate) fn push_text(&mut self, text: &[u8]) {
        self.push_frame(OpCode::Text, text);
    }

    fn push_frame(&mut self, opcode: OpCode, payload: &[u8]) {
        if !self.closing {
            append(
                &mut Frame::new(true, opcode, None, Payload::Borrowed(payload)),
                &mut self.bytes,
            );
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Whether the batch should be written before it takes more.
    pub(crate) fn is_full(&self) -> bool {
        self.closing || self.bytes.len() >= BATCH_BYTES
    }

    /// Whether a close frame has been added (and so, once written, nothing more will be).
    pub(crate) fn is_closing(&self) -> bool {
        self.closing
    }

    /// Writes the batch and empties it. Waits while the client is not reading.
    pub(crate) async fn write_to<W: AsyncWrite + Unpin>(
        &mut self,
        socket: &mut W,
    ) -> std::io::Result<()> {
        socket.write_all(&self.bytes).await?;
        socket.flush().await?;
        self.bytes.clear();
        if self.bytes.capacity() > BATCH_BYTES {
            self.bytes.shrink_to(BATCH_BYTES);
        }
        Ok(())
    }
}

fn append(frame: &mut Frame<'_>, bytes: &mut Vec<u8>) {
    let mut head = [0; 16];
    let head_length = frame.fmt_head(&mut head);
    bytes.reserve(head_length + frame.payload.len());
    bytes.extend_from_slice(&head[..head_length]);
    bytes.extend_from_slice(&frame.payload);
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::Batch;
    use crate::transport::Outbound;

    #[tokio::test]
    async fn frames_are_written_in_order_and_nothing_follows_a_close() {
        let mut batch = Batch::default();
        batch.push_text(b"hi");
        batch.push(Outbound::Ping);
        batch.push(Outbound::Close {
            code: 1001,
            reason: "",
        });
        batch.push(Outbound::Text(Bytes::from_static(b"late")));
        assert!(batch.is_closing() && batch.is_full());
        let mut written = Vec::new();
        batch.write_to(&mut written).await.unwrap();
        assert_eq!(written, [0x81, 2, b'h', b'i', 0x89, 0, 0x88, 2, 0x03, 0xE9]);
        assert!(batch.is_empty());
    }

    #[tokio::test]
    async fn long_payloads_get_extended_lengths() {
        let mut batch = Batch::default();
        batch.push(Outbound::Binary(Bytes::from(vec![7; 300])));
        let mut written = Vec::new();
        batch.write_to(&mut written).await.unwrap();
        assert_eq!(&written[..4], [0x82, 126, 0x01, 0x2C]);
        assert_eq!(written.len(), 4 + 300);
    }
}
