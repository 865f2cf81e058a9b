//! The client's opening handshake (RFC 6455 section 4.1), written as one request and checked by
//! its answer.
//!
//! Every connection sends the RFC's sample key: the key only guards against caching proxies, of
//! which there are none on loopback, and a fixed key lets the answer be checked against the RFC's
//! precomputed `Sec-WebSocket-Accept` without hashing.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpSocket, TcpStream};

use crate::frame::FrameReader;

/// The sample nonce of RFC 6455 section 1.3.
const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
/// Its `Sec-WebSocket-Accept`, from the same section.
const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
/// An answer's head larger than this is not a WebSocket handshake.
const MAX_HEAD: usize = 16 << 10;

/// Connects to `addr` and upgrades to WebSocket; returns the socket and the bytes read past the
/// handshake.
pub(crate) async fn open(addr: SocketAddr) -> io::Result<(TcpStream, FrameReader)> {
    upgrade(TcpStream::connect(addr).await?, addr).await
}

/// [`open`] from the loopback address `source`: one source address has only the ephemeral ports
/// (about 28,000) to offer one server, so 100,000 connections come from several. The caller picks
/// the source port too (`port`): a `bind` to port 0 makes the kernel search for a free port, and
/// with thousands of ports of that address taken the search costs about a millisecond of system
/// time per connection (measured: 28 s of system time for 19,000 connections, which also kept the
/// load generator from answering pings in time); a `bind` to a chosen port is one lookup. When that
/// port is taken (a listener on it, or a socket left in `TIME_WAIT`), the kernel picks after all.
pub(crate) async fn open_from(
    source: Ipv4Addr,
    port: u16,
    addr: SocketAddr,
) -> io::Result<(TcpStream, FrameReader)> {
    let socket = TcpSocket::new_v4()?;
    let socket = match socket.bind(SocketAddr::from((source, port))) {
        Ok(()) => socket,
        Err(_) => {
            let socket = TcpSocket::new_v4()?;
            socket.bind(SocketAddr::from((source, 0)))?;
            socket
        }
    };
    upgrade(socket.connect(addr).await?, addr).await
}

async fn upgrade(mut stream: TcpStream, addr: SocketAddr) -> io::Result<(TcpStream, FrameReader)> {
    stream.set_nodelay(true)?;
    let request = format!(
        "GET / HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await?;
    let mut buffer = Vec::with_capacity(512);
    loop {
        if stream.read_buf(&mut buffer).await? == 0 {
            return Err(refused(
                "the server closed the connection during the handshake",
            ));
        }
        if let Some(end) = buffer.windows(4).position(|window| window == b"\r\n\r\n") {
            check_answer(&buffer[..end])?;
            buffer.drain(..end + 4);
            return Ok((stream, FrameReader::new(buffer)));
        }
        if buffer.len() > MAX_HEAD {
            return Err(refused("the handshake answer has no end"));
        }
    }
}

/// Checks the status line and the accept key of the answer's head.
fn check_answer(head: &[u8]) -> io::Result<()> {
    let head =
        std::str::from_utf8(head).map_err(|_| refused("the handshake answer is not text"))?;
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap_or_default();
    if !status.starts_with("HTTP/1.1 101") {
        return Err(io::Error::new(
            io::ErrorKind::ConnectionRefused,
            format!("the server refused the upgrade: `{status}`"),
        ));
    }
    let accepted = lines
        .filter_map(|line| line.split_once(':'))
        .any(|(name, value)| {
            name.trim().eq_ignore_ascii_case("sec-websocket-accept") && value.trim() == ACCEPT
        });
    if accepted {
        Ok(())
    } else {
        Err(refused(
            "the handshake answer lacks the right `Sec-WebSocket-Accept`",
        ))
    }
}

fn refused(message: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionRefused, message)
}

#[cfg(test)]
mod tests {
    use super::check_answer;

    #[test]
    fn an_answer_needs_101_and_the_accept_key() {
        let good = "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\nsec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
        assert!(check_answer(good.as_bytes()).is_ok());
        assert!(check_answer(good.replace("101", "403").as_bytes()).is_err());
        assert!(check_answer(good.replace("s3pP", "xxxx").as_bytes()).is_err());
    }
}
