//! One benchmark connection: opens with the handshake, queues requests, writes them in one batch,
//! and turns what it reads into verified replies.
//!
//! Pings are answered as they are read (a Yoctopus server pings every connection and drops one that
//! stops answering); the pong goes out with the next batch of requests.

use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use yoctopus_bench::request::{client_name, greeting, Listeners, RequestKind};

use crate::frame::{Frame, FrameReader, Masker};
use crate::handshake;
use crate::verify::{verify, Verdict};

/// How many handshakes run at once when many connections open: more would overflow the server's
/// accept backlog and turn into SYN retries a second later.
const OPENING_AT_ONCE: usize = 256;

/// How long one handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// An open benchmark connection.
#[derive(Debug)]
pub(crate) struct Client {
    stream: TcpStream,
    reader: FrameReader,
    masker: Masker,
    out: Vec<u8>,
    request: Vec<u8>,
    kind: RequestKind,
    name: String,
    greeting: String,
    /// Whether replies carry the transforming listeners' mark.
    marked: bool,
}

impl Client {
    /// Opens connection number `index`, which will send `kind` requests to a server running
    /// `listeners`.
    pub(crate) async fn open(
        addr: SocketAddr,
        kind: RequestKind,
        listeners: Listeners,
        index: usize,
    ) -> io::Result<Self> {
        let (stream, reader) = handshake::open(addr).await?;
        let name = client_name(index);
        Ok(Self {
            stream,
            reader,
            masker: Masker::new(index as u64),
            out: Vec::with_capacity(4096),
            request: Vec::with_capacity(1024),
            kind,
            greeting: greeting(&name),
            name,
            marked: listeners.marks_replies(),
        })
    }

    /// Opens `count` connections, a bounded number of handshakes at a time, connection `index` to
    /// `addrs[index % addrs.len()]` (so spread evenly over several servers, in turn); each entry
    /// is the connection or why it failed.
    pub(crate) async fn open_many(
        addrs: &[SocketAddr],
        kind: RequestKind,
        listeners: Listeners,
        count: usize,
    ) -> Vec<Result<Self, String>> {
        assert!(
            !addrs.is_empty(),
            "at least one address to open connections to"
        );
        let permits = Rc::new(Semaphore::new(OPENING_AT_ONCE));
        let opening: Vec<_> = (0..count)
            .map(|index| {
                let addr = addrs[index % addrs.len()];
                let permits = Rc::clone(&permits);
                tokio::task::spawn_local(async move {
                    let _permit = permits
                        .acquire()
                        .await
                        .expect("the semaphore is never closed");
                    match tokio::time::timeout(
                        HANDSHAKE_TIMEOUT,
                        Self::open(addr, kind, listeners, index),
                    )
                    .await
                    {
                        Ok(Ok(client)) => Ok(client),
                        Ok(Err(error)) => Err(format!("opening a connection failed: {error}")),
                        Err(_) => Err("opening a connection timed out".to_owned()),
                    }
                })
            })
            .collect();
        let mut opened = Vec::with_capacity(count);
        for task in opening {
            opened.push(
                task.await
                    .unwrap_or_else(|error| Err(format!("opening task failed: {error}"))),
            );
        }
        opened
    }

    /// The socket and the bytes read from it but not yet taken, for a run that drives its
    /// connections in a way of its own (the open loop writes and reads from separate tasks).
    pub(crate) fn into_stream(self) -> (TcpStream, FrameReader) {
        (self.stream, self.reader)
    }

    /// Queues request `id`; it is written by the next [`flush`](Self::flush).
    pub(crate) fn queue_request(&mut self, id: u64) {
        self.request.clear();
        self.kind.write(&mut self.request, id, &self.name);
        self.masker.text(&mut self.out, &self.request);
    }

    /// Writes everything queued in one go.
    pub(crate) async fn flush(&mut self) -> io::Result<()> {
        if !self.out.is_empty() {
            self.stream.write_all(&self.out).await?;
            self.out.clear();
        }
        Ok(())
    }

    /// Waits for more bytes from the server.
    pub(crate) async fn receive(&mut self) -> io::Result<()> {
        self.reader.fill(&mut self.stream).await
    }

    /// Queues a text message of `payload`; it is written by the next [`flush`](Self::flush).
    pub(crate) fn queue_text(&mut self, payload: &[u8]) {
        self.masker.text(&mut self.out, payload);
    }

    /// The next reply among the bytes received, verified; `None` when more must be received.
    pub(crate) fn next_reply(&mut self) -> io::Result<Option<Verdict>> {
        let (endpoint, greeting, marked) =
            (self.kind.endpoint().endpoint, &self.greeting, self.marked);
        next_message(
            &mut self.reader,
            &mut self.masker,
            &mut self.out,
            |message| match message {
                Message::Text(payload) => verify(payload, endpoint, greeting, marked),
                Message::Binary => Verdict::Wrong {
                    id: None,
                    problem: "a binary message".to_owned(),
                },
            },
        )
    }

    /// The next message among the bytes received, given to `read`; `None` when more must be
    /// received.
    pub(crate) fn next_message<T>(
        &mut self,
        read: impl FnOnce(Message<'_>) -> T,
    ) -> io::Result<Option<T>> {
        next_message(&mut self.reader, &mut self.masker, &mut self.out, read)
    }
}

/// A message from the server.
#[derive(Debug)]
pub(crate) enum Message<'a> {
    /// A text message's payload.
    Text(&'a [u8]),
    /// A binary message (the benchmark servers never send one).
    Binary,
}

/// Gives the next message in `reader` to `read`; pings are answered into `out` and pongs skipped
/// on the way, and a close frame is an error.
pub(crate) fn next_message<T>(
    reader: &mut FrameReader,
    masker: &mut Masker,
    out: &mut Vec<u8>,
    read: impl FnOnce(Message<'_>) -> T,
) -> io::Result<Option<T>> {
    loop {
        let Some(frame) = reader.next_frame()? else {
            return Ok(None);
        };
        match frame {
            Frame::Text(payload) => return Ok(Some(read(Message::Text(payload)))),
            Frame::Ping(payload) => masker.pong(out, payload),
            Frame::Pong => {}
            Frame::Binary => return Ok(Some(read(Message::Binary))),
            Frame::Close(payload) => {
                return Err(io::Error::new(
                    io::ErrorKind::ConnectionAborted,
                    match payload {
                        [high, low, reason @ ..] => format!(
                            "the server sent a close frame, code {}{}",
                            u16::from_be_bytes([*high, *low]),
                            match String::from_utf8_lossy(reason) {
                                reason if reason.is_empty() => String::new(),
                                reason => format!(" ({reason})"),
                            }
                        ),
                        _ => "the server sent a close frame".to_owned(),
                    },
                ))
            }
        }
    }
}
