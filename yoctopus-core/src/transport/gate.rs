//! Who may write to a connection's socket at this moment: the connection's own loop, or a task
//! that sends a push or a liveness ping to an idle connection.
//!
//! A push to a connection that has nothing queued and nothing to write does not need the
//! connection's task: the sender writes the frame into the socket itself, when the socket takes it
//! without waiting. That saves waking one task per connection, which is most of what a multicast
//! to many connections costs beyond the system calls themselves (BENCHMARKS.md, *Multicast to
//! 10,000 connections*); the pinging task writes its pings the same way. Everything else still
//! goes through the loop, and the gate keeps the two apart:
//! - From the moment the loop has something to handle until it has written everything and waits
//!   again, it holds the gate ([`WriteGate::busy`]); pushes are queued meanwhile, as they always
//!   were, so a push never overtakes a reply or a frame queued before it.
//! - A sender writes only when the gate is wholly free and the queue is empty, and holds the gate
//!   for that one non-blocking system call; the loop waits that call out before it writes.
//! - A push the socket takes only in part leaves its remainder here; the loop writes it before
//!   anything else.
//!
//! Only plain TCP sockets are written from outside the loop: a TLS session's state belongs to the
//! loop, so a TLS connection's gate never opens to senders.

use std::io::IoSlice;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Weak};

use bytes::Bytes;
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use super::{frame_header, Outbound, PING, TEXT};

/// The loop has, or is about to have, something to write: senders queue.
const BUSY: u8 = 1;
/// A sender is writing a push or a ping into the socket.
const WRITING: u8 = 2;
/// A sender's frame was written in part; the loop owes the socket its remainder.
const REMAINDER: u8 = 4;

/// How often the loop spins on a sender's write before it yields its thread instead.
const SPINS_BEFORE_YIELD: u32 = 64;

/// The gate of one connection's socket.
#[derive(Debug)]
pub(crate) struct WriteGate {
    state: AtomicU8,
    /// The socket senders may write to; `None` where only the loop may (TLS). Weak, so that a
    /// connection handle kept after the connection closed does not keep its socket open.
    socket: Option<Weak<TcpStream>>,
    /// Set only while `REMAINDER` is; one pointer, since every idle connection holds a gate.
    remainder: arc_swap::ArcSwapOption<Bytes>,
}

impl WriteGate {
    /// A gate that senders may pass while `socket` is idle, or, without a socket, one that never
    /// opens to them (everything goes through the loop). It starts busy: the loop owns a new
    /// connection until it first waits.
    pub(crate) fn new(socket: Option<Weak<TcpStream>>) -> Self {
        Self {
            state: AtomicU8::new(BUSY),
            socket,
            remainder: arc_swap::ArcSwapOption::empty(),
        }
    }

    /// Writes `payload` as one text frame straight into the socket, when the loop is waiting with
    /// nothing to write, `queue` is empty, and the socket takes at least part of the frame without
    /// waiting. Answers whether the push is on its way; `false` means it was not written at all and
    /// is to be queued.
    pub(crate) fn try_write_text(&self, payload: &[u8], queue: &mpsc::Sender<Outbound>) -> bool {
        self.try_write_frame(TEXT, payload, queue)
    }

    /// Writes a liveness ping straight into the socket, on the same terms as
    /// [`try_write_text`](Self::try_write_text): the pinging task then does not wake an idle
    /// connection's loop, which only wakes for the pong.
    pub(crate) fn try_write_ping(&self, queue: &mpsc::Sender<Outbound>) -> bool {
        self.try_write_frame(PING, &[], queue)
    }

    fn try_write_frame(&self, opcode: u8, payload: &[u8], queue: &mpsc::Sender<Outbound>) -> bool {
        let Some(socket) = &self.socket else {
            return false;
        };
        if self
            .state
            .compare_exchange(0, WRITING, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            return false;
        }
        let header = frame_header(opcode, payload.len());
        // A frame queued before the gate was taken goes first: the loop is about to write it.
        let written = match socket.upgrade() {
            Some(socket) if queue.capacity() == queue.max_capacity() => {
                write_frame(&socket, &header, payload)
            }
            _ => 0,
        };
        let whole = header.len() + payload.len();
        if written > 0 && written < whole {
            let mut remainder = Vec::with_capacity(whole - written);
            if written < header.len() {
                remainder.extend_from_slice(&header[written..]);
                remainder.extend_from_slice(payload);
            } else {
                remainder.extend_from_slice(&payload[written - header.len()..]);
            }
            self.remainder.store(Some(Arc::new(Bytes::from(remainder))));
            self.state.fetch_or(REMAINDER, Ordering::Release);
            self.state.fetch_and(!WRITING, Ordering::Release);
            // Wakes the loop if it waits; if the queue is full or closed, the loop is awake or gone.
            let _ = queue.try_send(Outbound::Nudge);
            return true;
        }
        self.state.fetch_and(!WRITING, Ordering::Release);
        written == whole
    }

    /// The loop takes the gate: until [`idle`](Self::idle), pushes are queued. A push being
    /// written at this moment is one non-blocking system call; the loop waits it out. Answers
    /// what a push left unwritten, which the socket is owed before anything else.
    pub(crate) fn busy(&self) -> Option<Bytes> {
        // A gate that never opens has nothing to wait out and nothing left over.
        self.socket.as_ref()?;
        let mut state = self.state.fetch_or(BUSY, Ordering::Acquire);
        let mut spins = 0;
        while state & WRITING != 0 {
            if spins < SPINS_BEFORE_YIELD {
                std::hint::spin_loop();
                spins += 1;
            } else {
                std::thread::yield_now();
            }
            state = self.state.load(Ordering::Acquire);
        }
        if state & REMAINDER == 0 {
            return None;
        }
        let remainder = self.remainder.swap(None);
        self.state.fetch_and(!REMAINDER, Ordering::Release);
        remainder.map(|remainder| Bytes::clone(&remainder))
    }

    /// The loop has ended: from now on nobody writes to the socket.
    pub(crate) fn shut(&self) {
        let _unwritten = self.busy();
    }

    /// The loop gives the gate back: it has written everything and waits.
    pub(crate) fn idle(&self) {
        if self.socket.is_some() {
            self.state.fetch_and(!BUSY, Ordering::Release);
        }
    }
}

/// Writes a frame, its `header` and `payload`, with one non-blocking system call; answers how many bytes of
/// it the socket took (0 when it would have had to wait, or failed: the loop meets the failure).
fn write_frame(socket: &TcpStream, header: &[u8], payload: &[u8]) -> usize {
    let parts = [IoSlice::new(header), IoSlice::new(payload)];
    socket.try_write_vectored(&parts).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tokio::io::AsyncReadExt;
    use tokio::net::{TcpListener, TcpStream};
    use tokio::sync::mpsc;

    use super::WriteGate;
    use crate::transport::Outbound;

    async fn socket_pair() -> (Arc<TcpStream>, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap());
        let (client, accepted) = tokio::join!(client, listener.accept());
        (Arc::new(accepted.unwrap().0), client.unwrap())
    }

    #[tokio::test]
    async fn an_idle_connection_is_written_at_once_and_a_busy_one_is_not() {
        let (server, mut client) = socket_pair().await;
        let (queue, _queued) = mpsc::channel(4);
        let gate = WriteGate::new(Some(Arc::downgrade(&server)));
        assert!(
            !gate.try_write_text(b"early", &queue),
            "a new connection's loop holds the gate"
        );
        gate.idle();
        assert!(gate.try_write_text(b"hi", &queue));
        let mut frame = [0; 4];
        client.read_exact(&mut frame).await.unwrap();
        assert_eq!(frame, [0x81, 2, b'h', b'i']);
        assert_eq!(gate.busy(), None);
        assert!(!gate.try_write_text(b"later", &queue));
    }

    #[tokio::test]
    async fn a_ping_is_written_into_an_idle_socket_and_queued_behind_a_busy_loop() {
        let (server, mut client) = socket_pair().await;
        let (queue, _queued) = mpsc::channel(4);
        let gate = WriteGate::new(Some(Arc::downgrade(&server)));
        assert!(!gate.try_write_ping(&queue), "the loop holds a new gate");
        gate.idle();
        assert!(gate.try_write_ping(&queue));
        let mut frame = [0; 2];
        client.read_exact(&mut frame).await.unwrap();
        assert_eq!(frame, [0x89, 0], "a final ping frame with no payload");
        assert_eq!(gate.busy(), None);
        assert!(!gate.try_write_ping(&queue));
    }

    #[tokio::test]
    async fn a_queued_frame_is_never_overtaken() {
        let (server, _client) = socket_pair().await;
        let (queue, _queued) = mpsc::channel(4);
        let gate = WriteGate::new(Some(Arc::downgrade(&server)));
        gate.idle();
        queue.try_send(Outbound::Ping).unwrap();
        assert!(!gate.try_write_text(b"hi", &queue));
    }

    #[tokio::test]
    async fn a_closed_socket_and_a_tls_gate_are_never_written() {
        let (server, _client) = socket_pair().await;
        let (queue, _queued) = mpsc::channel(4);
        let gate = WriteGate::new(Some(Arc::downgrade(&server)));
        gate.idle();
        drop(server);
        assert!(!gate.try_write_text(b"hi", &queue));
        let tls = WriteGate::new(None);
        tls.idle();
        assert!(!tls.try_write_text(b"hi", &queue));
    }

    #[tokio::test]
    async fn a_push_the_socket_takes_in_part_leaves_its_remainder_for_the_loop() {
        let (server, mut client) = socket_pair().await;
        let (queue, mut queued) = mpsc::channel(4);
        let gate = WriteGate::new(Some(Arc::downgrade(&server)));
        gate.idle();
        // Bigger than any loopback socket buffer: the kernel takes part of it.
        let payload: Vec<u8> = (0..64 * 1024 * 1024).map(|index| index as u8).collect();
        assert!(gate.try_write_text(&payload, &queue));
        assert!(matches!(queued.try_recv(), Ok(Outbound::Nudge)));
        assert!(
            !gate.try_write_text(b"next", &queue),
            "the remainder goes first"
        );
        let remainder = gate.busy().expect("a remainder");
        assert!(!remainder.is_empty() && remainder.len() < payload.len());
        assert_eq!(gate.busy(), None, "the remainder is handed over once");
        let reader = tokio::spawn(async move {
            let mut received = Vec::new();
            client
                .read_to_end(&mut received)
                .await
                .map(|_| received)
                .unwrap()
        });
        let mut server = Arc::try_unwrap(server).unwrap();
        tokio::io::AsyncWriteExt::write_all(&mut server, &remainder)
            .await
            .unwrap();
        drop(server);
        let received = reader.await.unwrap();
        assert_eq!(&received[..2], [0x81, 127]);
        assert_eq!(received[10..], payload[..]);
    }
}
