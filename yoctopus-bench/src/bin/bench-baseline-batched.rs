//! The batching baseline: `bench-baseline`'s job, the same hyper + fastwebsockets + serde_json
//! code answering every frame, with its replies batched the way Yoctopus batches them: the best a
//! careful hand-writer would do, and the yardstick of the goal (Yoctopus at least 0.9x it
//! in every throughput configuration).
//!
//! What Yoctopus does (`yoctopus-core/src/server/session.rs`, `transport/`): one task per
//! connection owns the plain TCP socket (taken back out of hyper's upgrade), answers every request
//! already read without writing, gathers the replies into one buffer, and writes that buffer in
//! one system call when it has nothing more to answer and would otherwise wait for the client.
//! This server does the same with fastwebsockets left as it is: its socket is a [`BatchingSocket`],
//! whose writes only append to a buffer, and whose read sends that buffer just when the socket has
//! nothing more to read. So the replies to a burst of pipelined requests (every whole frame
//! fastwebsockets has buffered, and every one the last read brought) leave together, and a lone
//! request's reply leaves at once, with the same one write as before. No reader and writer task
//! pair: handing replies from one task to another costs a wake-up per batch, which a single task
//! does not pay. The buffer is sent before it takes more once it holds [`BATCH_BYTES`], as
//! Yoctopus's batch is, so a client that stops reading holds up the reading too instead of making
//! the buffer grow.
//!
//! fastwebsockets is told to write every frame vectored (`set_writev_threshold(0)`), so that a
//! frame's header and payload go straight into the batch, one copy, instead of through its own
//! frame buffer first. Pings and closes are answered by fastwebsockets, into the batch too, and a
//! connection's last batch (a close's answer among it) is sent before the socket is dropped.
//!
//! Run it with `PORT=3000 cargo run --release -p yoctopus-bench --bin bench-baseline-batched`; it
//! prints `listening on ws://<address>` once it accepts connections.

#[path = "hand-written/answer.rs"]
mod answer;
#[path = "hand-written/upgrade.rs"]
mod upgrade;

use std::io::{self, IoSlice};
use std::net::Ipv4Addr;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use fastwebsockets::{FragmentCollector, Frame, OpCode, Payload, Role, WebSocket, WebSocketError};
use hyper::body::Bytes;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use yoctopus_bench::lifetime;

use crate::answer::{answer, BINARY_REFUSAL};

/// The batch is sent before it takes more once it holds this many bytes: Yoctopus's batch size.
const BATCH_BYTES: usize = 64 * 1024;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port = lifetime::port_from_env()?;
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await?;
    println!("listening on ws://{}", listener.local_addr()?);
    tokio::select! {
        () = upgrade::accept(listener, serve) => {}
        () = lifetime::stop_requested() => {}
    }
    Ok(())
}

/// Serves one upgraded connection until it closes or fails, then sends what is still batched.
async fn serve(socket: TcpStream, read_ahead: Bytes) {
    let mut websocket =
        WebSocket::after_handshake(BatchingSocket::new(socket, read_ahead), Role::Server);
    websocket.set_writev_threshold(0);
    let mut websocket = FragmentCollector::new(websocket);
    let _ = answer_frames(&mut websocket).await;
    // The answer to a close frame, or the answer to a protocol error, is still in the batch.
    let _ = websocket.into_inner().flush().await;
}

/// Answers each text frame in order until the client closes; fastwebsockets answers pings and
/// closes itself.
async fn answer_frames(
    websocket: &mut FragmentCollector<BatchingSocket>,
) -> Result<(), WebSocketError> {
    loop {
        let frame = websocket.read_frame().await?;
        let reply = match frame.opcode {
            OpCode::Text => answer(&frame.payload),
            OpCode::Binary => BINARY_REFUSAL.to_vec(),
            OpCode::Close => return Ok(()),
            _ => continue,
        };
        websocket
            .write_frame(Frame::text(Payload::Owned(reply)))
            .await?;
    }
}

/// A TCP socket whose writes gather in a batch, sent when a read finds nothing more to read (or
/// on `flush`, or once the batch holds [`BATCH_BYTES`]).
struct BatchingSocket {
    socket: TcpStream,
    /// What hyper read past the upgrade request: read before the socket.
    read_ahead: Bytes,
    batch: Vec<u8>,
    /// How much of `batch` the socket has taken.
    sent: usize,
}

impl BatchingSocket {
    fn new(socket: TcpStream, read_ahead: Bytes) -> Self {
        Self {
            socket,
            read_ahead,
            batch: Vec::new(),
            sent: 0,
        }
    }

    /// Writes the batch until the socket has taken all of it.
    fn poll_send(&mut self, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.sent < self.batch.len() {
            let written =
                ready!(Pin::new(&mut self.socket).poll_write(context, &self.batch[self.sent..]))?;
            if written == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.sent += written;
        }
        self.batch.clear();
        self.sent = 0;
        if self.batch.capacity() > BATCH_BYTES {
            self.batch.shrink_to(BATCH_BYTES);
        }
        Poll::Ready(Ok(()))
    }

    /// Makes room for more: sends the batch first if it is full.
    fn poll_room(&mut self, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.batch.len() >= BATCH_BYTES {
            self.poll_send(context)
        } else {
            Poll::Ready(Ok(()))
        }
    }
}

impl AsyncRead for BatchingSocket {
    fn poll_read(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffer: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.read_ahead.is_empty() {
            let taken = this.read_ahead.len().min(buffer.remaining());
            buffer.put_slice(&this.read_ahead.split_to(taken));
            return Poll::Ready(Ok(()));
        }
        match Pin::new(&mut this.socket).poll_read(context, buffer) {
            // Nothing more to read, so nothing more to answer for now: the batch goes out. The
            // read's wake-up is registered, and the write's too if the socket is full.
            Poll::Pending => match this.poll_send(context) {
                Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
                Poll::Ready(Ok(())) | Poll::Pending => Poll::Pending,
            },
            read => read,
        }
    }
}

impl AsyncWrite for BatchingSocket {
    fn poll_write(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
        bytes: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.poll_room(context))?;
        this.batch.extend_from_slice(bytes);
        Poll::Ready(Ok(bytes.len()))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
        parts: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.poll_room(context))?;
        let mut taken = 0;
        for part in parts {
            this.batch.extend_from_slice(part);
            taken += part.len();
        }
        Poll::Ready(Ok(taken))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_send(context)
    }

    fn poll_shutdown(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_send(context))?;
        Pin::new(&mut this.socket).poll_shutdown(context)
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    use super::{BatchingSocket, Bytes, BATCH_BYTES};

    async fn pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap());
        let (client, accepted) = tokio::join!(client, listener.accept());
        (accepted.unwrap().0, client.unwrap())
    }

    #[tokio::test]
    async fn writes_wait_for_a_read_that_finds_nothing_and_then_leave_together() {
        let (server, mut client) = pair().await;
        let mut socket = BatchingSocket::new(server, Bytes::from_static(b"ahead"));
        let mut read = [0; 5];
        socket.read_exact(&mut read).await.unwrap();
        assert_eq!(&read, b"ahead", "what hyper read comes first");
        socket.write_all(b"one,").await.unwrap();
        socket.write_all(b"two").await.unwrap();
        assert_eq!(socket.batch, b"one,two", "nothing sent yet");
        client.write_all(b"x").await.unwrap();
        let mut byte = [0; 1];
        socket.read_exact(&mut byte).await.unwrap();
        // The next read finds nothing and sends the batch before it waits.
        let reading = tokio::spawn(async move {
            let mut byte = [0; 1];
            socket.read_exact(&mut byte).await.map(|_| byte[0])
        });
        let mut received = [0; 7];
        client.read_exact(&mut received).await.unwrap();
        assert_eq!(&received, b"one,two");
        client.write_all(b"y").await.unwrap();
        assert_eq!(reading.await.unwrap().unwrap(), b'y');
    }

    #[tokio::test]
    async fn a_full_batch_is_sent_before_it_takes_more() {
        let (server, mut client) = pair().await;
        let receiving = tokio::spawn(async move {
            let mut received = vec![0; BATCH_BYTES + 4];
            client.read_exact(&mut received).await.map(|_| received)
        });
        let mut socket = BatchingSocket::new(server, Bytes::new());
        socket.write_all(&vec![1; BATCH_BYTES]).await.unwrap();
        socket.write_all(b"more").await.unwrap();
        assert_eq!(socket.batch, b"more", "the full batch went first");
        socket.flush().await.unwrap();
        let received = receiving.await.unwrap().unwrap();
        assert_eq!(&received[BATCH_BYTES..], b"more");
    }
}
