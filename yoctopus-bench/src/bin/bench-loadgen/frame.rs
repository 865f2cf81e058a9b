//! WebSocket frames on the client side (RFC 6455 section 5), encoded and decoded by hand.
//!
//! The load generator must cost the machine less than the servers it measures, so it does not go
//! through a general WebSocket client: a batch of requests is encoded into one buffer and written
//! with one system call, and one read is split into every reply it holds without copying. The
//! benchmark servers never fragment messages, so a fragmented frame is reported as an error rather
//! than reassembled.

use std::io;

use tokio::io::{AsyncRead, AsyncReadExt as _};

const FIN: u8 = 0x80;
const MASKED: u8 = 0x80;
const OPCODE_TEXT: u8 = 0x1;
const OPCODE_BINARY: u8 = 0x2;
const OPCODE_CLOSE: u8 = 0x8;
const OPCODE_PING: u8 = 0x9;
const OPCODE_PONG: u8 = 0xA;

/// Replies are small; a frame above this is a broken stream, not a reply.
const MAX_FRAME: usize = 16 << 20;

/// How much room a read gets at least.
const READ_CHUNK: usize = 16 << 10;

/// A frame from the server.
#[derive(Debug)]
pub(crate) enum Frame<'a> {
    /// A whole text message.
    Text(&'a [u8]),
    /// A ping, whose payload the pong must echo.
    Ping(&'a [u8]),
    /// A pong (ignored).
    Pong,
    /// A binary message (the benchmark servers never send one).
    Binary,
    /// The server closes the connection; the payload is the close code and reason, if any.
    Close(&'a [u8]),
}

/// Splits the bytes read from a connection into frames.
#[derive(Debug)]
pub(crate) struct FrameReader {
    buffer: Vec<u8>,
    start: usize,
    /// How much room a read gets at least.
    read_chunk: usize,
}

impl FrameReader {
    /// A reader that starts with `leftover`, bytes read past the end of the handshake.
    pub(crate) fn new(leftover: Vec<u8>) -> Self {
        Self {
            buffer: leftover,
            start: 0,
            read_chunk: READ_CHUNK,
        }
    }

    /// The same reader with reads of at least `read_chunk` bytes: a connection that only ever
    /// reads a ping or a reply at a time needs far less room than a pipelining one, and a load
    /// generator holding 100,000 of them should not hold 16 KiB for each.
    pub(crate) fn with_read_chunk(mut self, read_chunk: usize) -> Self {
        self.read_chunk = read_chunk.max(1);
        self
    }

    /// Reads more bytes from `stream`; an error once the stream has ended.
    pub(crate) async fn fill<R: AsyncRead + Unpin>(&mut self, stream: &mut R) -> io::Result<()> {
        if self.start > 0 {
            self.buffer.drain(..self.start);
            self.start = 0;
        }
        if self.buffer.capacity() - self.buffer.len() < self.read_chunk {
            self.buffer.reserve(self.read_chunk);
        }
        match stream.read_buf(&mut self.buffer).await? {
            0 => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the server closed the connection",
            )),
            _ => Ok(()),
        }
    }

    /// The next whole frame already read, if any.
    pub(crate) fn next_frame(&mut self) -> io::Result<Option<Frame<'_>>> {
        let bytes = &self.buffer[self.start..];
        let [first, second, ..] = *bytes else {
            return Ok(None);
        };
        if second & MASKED != 0 {
            return Err(broken("the server sent a masked frame"));
        }
        let (length, header) = match second & 0x7F {
            126 => match bytes.get(2..4) {
                Some(length) => (u64::from(u16::from_be_bytes([length[0], length[1]])), 4),
                None => return Ok(None),
            },
            127 => match bytes.get(2..10).map(<[u8; 8]>::try_from) {
                Some(Ok(length)) => (u64::from_be_bytes(length), 10),
                _ => return Ok(None),
            },
            short => (u64::from(short), 2),
        };
        let length = usize::try_from(length)
            .ok()
            .filter(|length| *length <= MAX_FRAME)
            .ok_or_else(|| broken("the server sent a frame larger than any reply"))?;
        if bytes.len() < header + length {
            return Ok(None);
        }
        if first & FIN == 0 || first & 0x0F == 0 {
            return Err(broken("the server fragmented a message"));
        }
        let payload_start = self.start + header;
        self.start = payload_start + length;
        let payload = &self.buffer[payload_start..self.start];
        Ok(Some(match first & 0x0F {
            OPCODE_TEXT => Frame::Text(payload),
            OPCODE_BINARY => Frame::Binary,
            OPCODE_CLOSE => Frame::Close(payload),
            OPCODE_PING => Frame::Ping(payload),
            OPCODE_PONG => Frame::Pong,
            _ => return Err(broken("the server sent a frame with an unknown opcode")),
        }))
    }
}

fn broken(message: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

/// Makes the masking keys a client must put on every frame. They need not be secret here (the
/// servers are on loopback), only different, so a cheap xorshift generator will do.
#[derive(Debug)]
pub(crate) struct Masker(u64);

impl Masker {
    /// A generator seeded from `seed`.
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next_key(&mut self) -> [u8; 4] {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        let [a, b, c, d, ..] = self.0.to_le_bytes();
        [a, b, c, d]
    }

    /// Appends a masked text frame carrying `payload` to `out`.
    pub(crate) fn text(&mut self, out: &mut Vec<u8>, payload: &[u8]) {
        self.encode(out, OPCODE_TEXT, payload);
    }

    /// Appends a masked pong echoing `payload` to `out`.
    pub(crate) fn pong(&mut self, out: &mut Vec<u8>, payload: &[u8]) {
        self.encode(out, OPCODE_PONG, payload);
    }

    fn encode(&mut self, out: &mut Vec<u8>, opcode: u8, payload: &[u8]) {
        out.push(FIN | opcode);
        match (u8::try_from(payload.len()), u16::try_from(payload.len())) {
            (Ok(short), _) if short < 126 => out.push(MASKED | short),
            (_, Ok(medium)) => {
                out.push(MASKED | 126);
                out.extend_from_slice(&medium.to_be_bytes());
            }
            _ => {
                out.push(MASKED | 127);
                out.extend_from_slice(&(payload.len() as u64).to_be_bytes());
            }
        }
        let key = self.next_key();
        out.extend_from_slice(&key);
        out.extend(
            payload
                .iter()
                .zip(key.iter().cycle())
                .map(|(byte, mask)| byte ^ mask),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::{Frame, FrameReader, Masker};

    fn unmask(frame: &[u8], header: usize) -> Vec<u8> {
        let key = &frame[header..header + 4];
        frame[header + 4..]
            .iter()
            .zip(key.iter().cycle())
            .map(|(byte, mask)| byte ^ mask)
            .collect()
    }

    #[test]
    fn text_frames_are_masked_with_the_right_length_encoding() {
        let mut masker = Masker::new(1);
        for (length, header) in [(5, 2), (125, 2), (126, 4), (70_000, 10)] {
            let payload = vec![b'x'; length];
            let mut out = Vec::new();
            masker.text(&mut out, &payload);
            assert_eq!(out[0], 0x81);
            assert_eq!(out[1] & 0x80, 0x80, "a client frame is masked");
            assert_eq!(out.len(), header + 4 + length);
            assert_eq!(unmask(&out, header), payload);
        }
    }

    #[test]
    fn the_reader_splits_frames_and_waits_for_incomplete_ones() {
        let mut bytes = vec![0x81, 2, b'h', b'i', 0x89, 1, b'p', 0x81, 126, 0, 200];
        bytes.extend(std::iter::repeat_n(b'y', 100));
        let mut reader = FrameReader::new(bytes);
        assert!(matches!(
            reader.next_frame().unwrap(),
            Some(Frame::Text(b"hi"))
        ));
        assert!(matches!(
            reader.next_frame().unwrap(),
            Some(Frame::Ping(b"p"))
        ));
        assert!(reader.next_frame().unwrap().is_none(), "100 of 200 bytes");
    }

    #[test]
    fn fragmented_and_masked_server_frames_are_errors() {
        assert!(FrameReader::new(vec![0x01, 1, b'a']).next_frame().is_err());
        assert!(FrameReader::new(vec![0x81, 0x81, 0, 0, 0, 0, b'a'])
            .next_frame()
            .is_err());
    }
}
