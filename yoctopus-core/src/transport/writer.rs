//! Outgoing frames, gathered into one buffer so that everything ready goes out in one write.
//!
//! Replies to pipelined requests, a burst of pushes and control frames leave together in one
//! system call. A reply is written into the batch in pieces (its `meta` head, then its data), so it
//! is never joined in a buffer of its own first. A close frame is the last thing a batch takes.

use tokio::io::{AsyncWrite, AsyncWriteExt};

use super::Outbound;

/// A batch stops taking frames at this size; larger frames go out on their own.
const BATCH_BYTES: usize = 64 * 1024;

pub(crate) const TEXT: u8 = 0x1;
const BINARY: u8 = 0x2;
const CLOSE: u8 = 0x8;
pub(crate) const PING: u8 = 0x9;
const PONG: u8 = 0xA;

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
            Outbound::Text(text) => self.push_frame(TEXT, &[&text]),
            Outbound::Binary(bytes) => self.push_frame(BINARY, &[&bytes]),
            Outbound::Pong(payload) => self.push_frame(PONG, &[&payload]),
            Outbound::Ping => self.push_frame(PING, &[]),
            Outbound::Nudge => {}
            Outbound::Close { code, reason } => {
                self.push_frame(CLOSE, &[&code.to_be_bytes(), reason.as_bytes()]);
                self.closing = true;
            }
        }
    }

    /// Adds a text frame.
    pub(crate) fn push_text(&mut self, text: &[u8]) {
        self.push_frame(TEXT, &[text]);
    }

    /// Adds a text frame whose payload is `parts` in order.
    pub(crate) fn push_text_parts(&mut self, parts: &[&[u8]]) {
        self.push_frame(TEXT, parts);
    }

    /// Appends a final, unmasked frame (RFC 6455 section 5.2): a header, then the payload.
    fn push_frame(&mut self, opcode: u8, payload: &[&[u8]]) {
        if self.closing {
            return;
        }
        let length: usize = payload.iter().map(|part| part.len()).sum();
        let header = frame_header(opcode, length);
        self.bytes.reserve(header.len() + length);
        self.bytes.extend_from_slice(&header);
        for part in payload {
            self.bytes.extend_from_slice(part);
        }
    }

    /// Adds bytes that continue a frame already begun on the socket (a push written there in
    /// part); they go before any whole frame.
    pub(crate) fn push_remainder(&mut self, remainder: &[u8]) {
        debug_assert!(
            self.bytes.is_empty(),
            "a remainder is the first thing a batch takes"
        );
        self.bytes.extend_from_slice(remainder);
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

/// The header of a final, unmasked frame of `length` payload bytes (RFC 6455 section 5.2).
pub(crate) fn frame_header(opcode: u8, length: usize) -> FrameHeader {
    let mut bytes = [0; 10];
    bytes[0] = 0x80 | opcode;
    let len = if let Ok(short @ 0..=125) = u8::try_from(length) {
        bytes[1] = short;
        2
    } else if let Ok(medium) = u16::try_from(length) {
        bytes[1] = 126;
        bytes[2..4].copy_from_slice(&medium.to_be_bytes());
        4
    } else {
        bytes[1] = 127;
        bytes[2..10].copy_from_slice(&(length as u64).to_be_bytes());
        10
    };
    FrameHeader { bytes, len }
}

/// A frame header: 2, 4 or 10 bytes.
pub(crate) struct FrameHeader {
    bytes: [u8; 10],
    len: usize,
}

impl std::ops::Deref for FrameHeader {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::Batch;
    use crate::transport::Outbound;

    async fn written(batch: &mut Batch) -> Vec<u8> {
        let mut written = Vec::new();
        batch.write_to(&mut written).await.unwrap();
        written
    }

    #[tokio::test]
    async fn frames_are_written_in_order_and_nothing_follows_a_close() {
        let mut batch = Batch::default();
        batch.push_text(b"hi");
        batch.push(Outbound::Ping);
        batch.push(Outbound::Close {
            code: 1001,
            reason: "".into(),
        });
        batch.push(Outbound::Text(Bytes::from_static(b"late")));
        assert!(batch.is_closing() && batch.is_full());
        assert_eq!(
            written(&mut batch).await,
            [0x81, 2, b'h', b'i', 0x89, 0, 0x88, 2, 0x03, 0xE9]
        );
        assert!(batch.is_empty());
    }

    #[tokio::test]
    async fn a_payload_in_parts_is_one_frame() {
        let mut batch = Batch::default();
        batch.push_text_parts(&[b"{\"a\":", b"1", b"}"]);
        assert_eq!(written(&mut batch).await, b"\x81\x07{\"a\":1}");
    }

    #[tokio::test]
    async fn long_payloads_get_extended_lengths() {
        let mut batch = Batch::default();
        batch.push(Outbound::Binary(Bytes::from(vec![7; 300])));
        let bytes = written(&mut batch).await;
        assert_eq!(
            (&bytes[..4], bytes.len()),
            (&[0x82, 126, 0x01, 0x2C][..], 4 + 300)
        );
        batch.push(Outbound::Binary(Bytes::from(vec![7; 70_000])));
        let bytes = written(&mut batch).await;
        assert_eq!(&bytes[..10], [0x82, 127, 0, 0, 0, 0, 0, 0x01, 0x11, 0x70]);
        assert_eq!(bytes.len(), 10 + 70_000);
    }
}
