//! Reading single frames (RFC 6455 section 5) from a buffer that only whole frames leave.
//!
//! [`parse`] is a pure function over the bytes read so far: it returns a frame only when all of
//! it is buffered, and consumes nothing otherwise, so the async reader around it can be cancelled
//! at any await without losing data. Every rule a server must check on a client frame is checked
//! here, before any payload is buffered beyond the limit.

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt};

/// Frame opcodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpCode {
    Continuation,
    Text,
    Binary,
    Close,
    Ping,
    Pong,
}

impl OpCode {
    fn from_bits(bits: u8) -> Option<Self> {
        Some(match bits {
            0x0 => Self::Continuation,
            0x1 => Self::Text,
            0x2 => Self::Binary,
            0x8 => Self::Close,
            0x9 => Self::Ping,
            0xA => Self::Pong,
            _ => return None,
        })
    }

    fn is_control(self) -> bool {
        matches!(self, Self::Close | Self::Ping | Self::Pong)
    }
}

/// One unmasked frame.
#[derive(Debug)]
pub(crate) struct Frame {
    pub(crate) fin: bool,
    pub(crate) opcode: OpCode,
    pub(crate) payload: BytesMut,
}

/// Why a frame was refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum FrameError {
    /// A rule of RFC 6455 was broken (close with 1002).
    Protocol(&'static str),
    /// The frame is longer than the largest message allowed (close with 1009).
    TooBig,
}

/// Takes one whole frame off the front of `buffer`, or returns `None` (consuming nothing) when
/// more bytes are needed. `max_payload` bounds the payload before it is read.
pub(crate) fn parse(
    buffer: &mut BytesMut,
    max_payload: usize,
) -> Result<Option<Frame>, FrameError> {
    let [first, second, ..] = buffer[..] else {
        return Ok(None);
    };
    if first & 0b0111_0000 != 0 {
        return Err(FrameError::Protocol(
            "reserved bits set without a negotiated extension",
        ));
    }
    let fin = first & 0b1000_0000 != 0;
    let opcode =
        OpCode::from_bits(first & 0b0000_1111).ok_or(FrameError::Protocol("unknown opcode"))?;
    if second & 0b1000_0000 == 0 {
        return Err(FrameError::Protocol("client frames must be masked"));
    }
    let (length_bytes, short_length) = match second & 0b0111_1111 {
        126 => (2, None),
        127 => (8, None),
        short => (0, Some(u64::from(short))),
    };
    if opcode.is_control() {
        if !fin {
            return Err(FrameError::Protocol("control frames cannot be fragmented"));
        }
        if short_length.is_none() {
            return Err(FrameError::Protocol(
                "control frames carry at most 125 bytes",
            ));
        }
    }
    let header_length = 2 + length_bytes + 4;
    if buffer.len() < header_length {
        return Ok(None);
    }
    let payload_length = match short_length {
        Some(length) => length,
        None if length_bytes == 2 => u64::from(u16::from_be_bytes([buffer[2], buffer[3]])),
        None => {
            let mut bytes = [0; 8];
            bytes.copy_from_slice(&buffer[2..10]);
            let length = u64::from_be_bytes(bytes);
            if length >> 63 != 0 {
                return Err(FrameError::Protocol(
                    "the most significant bit of a 64-bit length must be 0",
                ));
            }
            length
        }
    };
    let payload_length = match usize::try_from(payload_length) {
        Ok(length) if length <= max_payload => length,
        _ => return Err(FrameError::TooBig),
    };
    if buffer.len() < header_length + payload_length {
        buffer.reserve(header_length + payload_length - buffer.len());
        return Ok(None);
    }
    let mut mask = [0; 4];
    mask.copy_from_slice(&buffer[header_length - 4..header_length]);
    buffer.advance(header_length);
    let mut payload = buffer.split_to(payload_length);
    fastwebsockets::unmask(&mut payload, mask);
    Ok(Some(Frame {
        fin,
        opcode,
        payload,
    }))
}

/// Reads frames through [`parse`] from the bytes a socket delivers.
///
/// The reader owns only the buffer; the socket is lent to each read, so the same socket can be
/// written between reads without splitting it. The read size adapts: an idle connection holds a
/// small buffer, and one that sends bursts (pipelined requests) gets a larger one, so a burst
/// takes one system call, not one per frame.
pub(crate) struct FrameReader {
    buffer: BytesMut,
    max_payload: usize,
    read_size: usize,
}

/// The socket ended or failed.
#[derive(Debug)]
pub(crate) struct Gone;

const SMALLEST_READ: usize = 512;
const LARGEST_READ: usize = 64 * 1024;

impl FrameReader {
    pub(crate) fn new(max_payload: usize) -> Self {
        Self {
            buffer: BytesMut::new(),
            max_payload,
            read_size: SMALLEST_READ,
        }
    }

    /// Adds bytes read from the socket before this reader took it over.
    pub(crate) fn seed(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// The next frame already buffered, if a whole one is.
    pub(crate) fn buffered(&mut self) -> Result<Option<Frame>, FrameError> {
        parse(&mut self.buffer, self.max_payload)
    }

    /// Reads once from `socket` into the buffer. Cancel-safe: nothing is lost if the read is
    /// dropped before it completes.
    pub(crate) async fn fill<R: AsyncRead + Unpin>(&mut self, socket: &mut R) -> Result<(), Gone> {
        self.buffer.reserve(self.read_size);
        let room = self.buffer.capacity() - self.buffer.len();
        match socket.read_buf(&mut self.buffer).await {
            Ok(0) | Err(_) => Err(Gone),
            Ok(read) => {
                if read == room {
                    self.read_size = (self.read_size * 2).min(LARGEST_READ);
                } else if read < self.read_size / 4 {
                    self.read_size = (self.read_size / 2).max(SMALLEST_READ);
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use bytes::BytesMut;

    use super::{parse, FrameError, OpCode};

    /// A client frame as a browser would send it: masked with `key`.
    pub(crate) fn client_frame(first_byte: u8, payload: &[u8], key: [u8; 4]) -> Vec<u8> {
        let mut frame = vec![first_byte];
        match payload.len() {
            length @ 0..=125 => frame.push(0x80 | length as u8),
            length @ 126..=65535 => {
                frame.push(0x80 | 126);
                frame.extend_from_slice(&(length as u16).to_be_bytes());
            }
            length => {
                frame.push(0x80 | 127);
                frame.extend_from_slice(&(length as u64).to_be_bytes());
            }
        }
        frame.extend_from_slice(&key);
        frame.extend(
            payload
                .iter()
                .enumerate()
                .map(|(i, byte)| byte ^ key[i % 4]),
        );
        frame
    }

    #[test]
    fn a_masked_text_frame_is_unmasked_and_consumed_whole() {
        let bytes = client_frame(0x81, b"hello", [1, 2, 3, 4]);
        let mut buffer = BytesMut::from(&bytes[..]);
        buffer.extend_from_slice(&bytes[..3]);
        let frame = parse(&mut buffer, 100).unwrap().unwrap();
        assert_eq!(
            (frame.fin, frame.opcode, &frame.payload[..]),
            (true, OpCode::Text, &b"hello"[..])
        );
        assert_eq!(
            buffer.len(),
            3,
            "the start of the next frame stays buffered"
        );
    }

    #[test]
    fn a_partial_frame_consumes_nothing() {
        let bytes = client_frame(0x82, &[7; 300], [9, 9, 9, 9]);
        for cut in 0..bytes.len() {
            let mut buffer = BytesMut::from(&bytes[..cut]);
            assert!(parse(&mut buffer, 1000).unwrap().is_none());
            assert_eq!(buffer.len(), cut);
        }
    }

    #[test]
    fn rule_breaking_frames_are_refused() {
        let unmasked = [0x81, 0x02, b'h', b'i'];
        assert_eq!(
            parse(&mut BytesMut::from(&unmasked[..]), 100).unwrap_err(),
            FrameError::Protocol("client frames must be masked")
        );
        let reserved = client_frame(0xC1, b"x", [0; 4]);
        assert!(matches!(
            parse(&mut BytesMut::from(&reserved[..]), 100),
            Err(FrameError::Protocol(_))
        ));
        let unknown_opcode = client_frame(0x83, b"x", [0; 4]);
        assert!(matches!(
            parse(&mut BytesMut::from(&unknown_opcode[..]), 100),
            Err(FrameError::Protocol(_))
        ));
        let fragmented_ping = client_frame(0x09, b"x", [0; 4]);
        assert!(matches!(
            parse(&mut BytesMut::from(&fragmented_ping[..]), 100),
            Err(FrameError::Protocol(_))
        ));
        let long_ping = client_frame(0x89, &[0; 126], [0; 4]);
        assert!(matches!(
            parse(&mut BytesMut::from(&long_ping[..]), 1000),
            Err(FrameError::Protocol(_))
        ));
        let too_big = client_frame(0x82, &[0; 101], [0; 4]);
        assert_eq!(
            parse(&mut BytesMut::from(&too_big[..]), 100).unwrap_err(),
            FrameError::TooBig
        );
    }

    #[test]
    fn an_oversized_frame_is_refused_from_its_header_alone() {
        let header = [0x82, 0x80 | 127, 0, 0, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4];
        assert_eq!(
            parse(&mut BytesMut::from(&header[..]), 1 << 20).unwrap_err(),
            FrameError::TooBig
        );
    }
}
