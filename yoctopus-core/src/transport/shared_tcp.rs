//! A TCP socket that the connection's loop reads and writes while senders hold it too.
//!
//! The loop owns the socket's reading and almost all of its writing; a sender may write a push
//! into it while the loop waits (see [`WriteGate`](super::WriteGate)). Both need the same
//! `TcpStream`, so it sits behind an `Arc`, and this wrapper gives the loop the `AsyncRead` and
//! `AsyncWrite` it reads and writes through, built on tokio's readiness API, which takes `&self`.

use std::io;
use std::net::Shutdown;
use std::pin::Pin;
use std::sync::{Arc, Weak};
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf};
use tokio::net::TcpStream;

/// The loop's side of a socket that senders may write too.
#[derive(Debug)]
pub(crate) struct SharedTcp(Arc<TcpStream>);

impl SharedTcp {
    pub(crate) fn new(stream: TcpStream) -> Self {
        Self(Arc::new(stream))
    }

    /// The socket for senders: it closes when the loop drops this, whoever still holds a `Weak`.
    pub(crate) fn downgrade(&self) -> Weak<TcpStream> {
        Arc::downgrade(&self.0)
    }
}

impl AsyncRead for SharedTcp {
    fn poll_read(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffer: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            ready!(self.0.poll_read_ready(context))?;
            let room = buffer.remaining();
            let mut read = None;
            // Reads into the buffer's uninitialised room (no zeroing first). A read that leaves
            // room has drained the socket, so its readiness is cleared at once, as tokio's own
            // sockets do: otherwise the next read would be a system call that finds nothing.
            // `try_io` clears it when the closure answers `WouldBlock` (the bytes are kept, and a
            // wake-up that came in meanwhile is not lost), and so does a read that finds nothing.
            let outcome = self.0.try_io(Interest::READABLE, || {
                let bytes = self.0.try_read_buf(buffer)?;
                read = Some(bytes);
                if bytes > 0 && bytes < room {
                    Err(io::ErrorKind::WouldBlock.into())
                } else {
                    Ok(())
                }
            });
            if read.is_some() {
                return Poll::Ready(Ok(()));
            }
            match outcome {
                Err(error) if error.kind() != io::ErrorKind::WouldBlock => {
                    return Poll::Ready(Err(error))
                }
                _ => {}
            }
        }
    }
}

impl AsyncWrite for SharedTcp {
    fn poll_write(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
        bytes: &[u8],
    ) -> Poll<io::Result<usize>> {
        loop {
            ready!(self.0.poll_write_ready(context))?;
            match self.0.try_write(bytes) {
                Ok(written) => return Poll::Ready(Ok(written)),
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
                Err(error) => return Poll::Ready(Err(error)),
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(socket2::SockRef::from(&*self.0).shutdown(Shutdown::Write))
    }
}
