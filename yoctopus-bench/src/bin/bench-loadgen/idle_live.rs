//! The `idle-live` run: as many idle connections as `idle`'s memory steps hold (100,000 for
//! `idle-100k`), but kept alive: every connection is read from the moment it opens, so the
//! server's liveness pings are answered, and a last step measures what those pings cost the server
//! over one ping interval.
//!
//! Three steps, each printed as one line and, with `--control stdin`, each after a line on
//! standard input (the driver reads the server's memory in between, as for `idle`):
//!
//! 1. `connected`: every connection open (an [`IdlePhase`]). A handshake waits for one of 256
//!    places, as `idle`'s do; connection `i` comes from the loopback address
//!    [`source`]`(addr, i)`, since one source address has only about 28,000 ephemeral ports to
//!    give one server, and from the port [`source_port`]`(i)`, chosen here rather than by the
//!    kernel, whose search for a free port grows with the ports taken.
//! 2. `requested`: one request on each connection, its reply verified (an [`IdlePhase`]).
//! 3. The ping window (a [`PingWindow`]): once no ping has come for [`QUIET`] (so the window does
//!    not start inside a burst of pings), the server's and this process's CPU time are read at
//!    both ends of `--ping-window`, and the pings read in it are counted. A server that pings
//!    every connection once an interval, over a window of one interval, is seen sending about
//!    one ping per connection.
//!
//! Each connection is one task holding its socket, a reader with room for a few frames, and its
//! masking key: pings come a few bytes at a time, and 100,000 connections should cost this process
//! little memory and nothing between pings. The server's memory is the measurement; the load
//! generator's is not, but it must not run the machine short.

use std::cell::RefCell;
use std::net::{Ipv4Addr, SocketAddr};
use std::rc::Rc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::sync::{watch, Notify, Semaphore};
use tokio::time::{timeout, timeout_at, Instant};
use yoctopus_bench::procfs;
use yoctopus_bench::report::{IdlePhase, PingWindow};
use yoctopus_bench::request::{client_name, greeting, Listeners, RequestKind};

use crate::frame::{Frame, FrameReader, Masker};
use crate::handshake;
use crate::idle::Control;
use crate::verify::{verify, Verdict};

/// Connections per source address: well inside the ephemeral ports one address has (28,232 with
/// Linux's default range), with room for those still in `TIME_WAIT`.
pub(crate) const PER_SOURCE: usize = 20_000;

/// The first source port of each source address: [`PER_SOURCE`] ports from it stay below 65,536
/// and clear of the low, well-known ones.
const FIRST_SOURCE_PORT: u16 = 20_000;

/// The most connections: [`PER_SOURCE`] on each of 250 source addresses.
pub(crate) const MAX_CONNECTIONS: usize = PER_SOURCE * 250;

/// How many handshakes run at once (as `idle`'s): more would overflow the server's accept backlog.
const OPENING_AT_ONCE: usize = 256;

/// How long one handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long opening every connection may take.
const OPEN_TIMEOUT: Duration = Duration::from_secs(120);

/// How long the request on every connection may take, all at once.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The ping window starts once no ping has come for this long...
const QUIET: Duration = Duration::from_millis(300);

/// ...or once this long has passed.
const QUIET_MAX: Duration = Duration::from_secs(3);

/// The longest a step waits for its go-ahead on standard input.
const MAX_HOLD: Duration = Duration::from_secs(60);

/// Room a connection's reader gets per read: a ping, a pong's worth, or one reply.
const READ_CHUNK: usize = 512;

/// The `meta.id` of each connection's one request.
const REQUEST_ID: u64 = 1;

/// What to run.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub(crate) addr: SocketAddr,
    pub(crate) connections: usize,
    pub(crate) request: RequestKind,
    /// The listeners the server runs, which decide the reply expected.
    pub(crate) listeners: Listeners,
    pub(crate) control: Control,
    /// How long the ping window is: the server's ping interval.
    pub(crate) ping_window: Duration,
    pub(crate) server_pid: Option<u32>,
}

/// The step every connection is told to take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// Stay idle: read, answer pings.
    Hold,
    /// Send the one request, then stay idle.
    Request,
}

/// The loopback address connection `index` to `addr` comes from: `127.H.L.(2 + index /
/// PER_SOURCE)`, `H.L` being the server's port. Each measurement gets a fresh server on a fresh
/// port, so its sources are fresh too, and the `TIME_WAIT` sockets the last measurement's 100,000
/// closes left behind (for a minute) hold none of its ports.
pub(crate) fn source(addr: SocketAddr, index: usize) -> Ipv4Addr {
    let [high, low] = addr.port().to_be_bytes();
    let block = u8::try_from(2 + index / PER_SOURCE).unwrap_or(u8::MAX);
    Ipv4Addr::new(127, high, low, block)
}

/// The source port connection `index` binds: [`FIRST_SOURCE_PORT`] onwards, one per connection of
/// its source address, so that no two connections of one address ask for the same port (see
/// [`handshake::open_from`]).
pub(crate) fn source_port(index: usize) -> u16 {
    FIRST_SOURCE_PORT + u16::try_from(index % PER_SOURCE).expect("PER_SOURCE fits in a port")
}

/// Runs `plan`, printing one line per step.
pub(crate) async fn run(plan: &Plan) {
    let mut stdin = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    let mut advance = async || match plan.control {
        Control::Stdin => {
            let _ = timeout(MAX_HOLD, stdin.next_line()).await;
        }
        Control::Pause(pause) => tokio::time::sleep(pause.min(MAX_HOLD)).await,
    };

    let tally = Rc::new(RefCell::new(Tally::default()));
    let progress = Rc::new(Notify::new());
    let permits = Rc::new(Semaphore::new(OPENING_AT_ONCE));
    let (step, steps) = watch::channel(Step::Hold);
    let expected = Rc::new(Expected {
        kind: plan.request,
        marked: plan.listeners.marks_replies(),
    });
    for index in 0..plan.connections {
        tokio::task::spawn_local(hold(
            index,
            plan.addr,
            Rc::clone(&expected),
            Rc::clone(&tally),
            Rc::clone(&progress),
            Rc::clone(&permits),
            steps.clone(),
        ));
    }
    drop(steps);

    let deadline = Instant::now() + OPEN_TIMEOUT;
    wait_until(&tally, &progress, deadline, |tally| {
        tally.opened + tally.open_failed >= plan.connections
    })
    .await;
    let connected = tally.borrow_mut().phase("connected");
    let open_at_request = connected.open;
    print_line(&connected);
    advance().await;

    let closed_before = tally.borrow().closed;
    let _ = step.send(Step::Request);
    let deadline = Instant::now() + REQUEST_TIMEOUT;
    wait_until(&tally, &progress, deadline, |tally| {
        tally.requested + (tally.closed - closed_before) >= open_at_request
    })
    .await;
    print_line(&tally.borrow_mut().phase("requested"));
    advance().await;

    let quiet_deadline = Instant::now() + QUIET_MAX;
    while Instant::now() < quiet_deadline
        && tally
            .borrow()
            .last_ping
            .is_some_and(|last| last.elapsed() < QUIET)
    {
        tokio::time::sleep(QUIET / 6).await;
    }
    let pings_before = tally.borrow().pings;
    let server_before = plan
        .server_pid
        .and_then(|pid| procfs::cpu_seconds(pid).ok());
    let own_before = procfs::cpu_seconds(std::process::id()).unwrap_or_default();
    let started = Instant::now();
    tokio::time::sleep(plan.ping_window).await;
    let server_after = plan
        .server_pid
        .and_then(|pid| procfs::cpu_seconds(pid).ok());
    let own_after = procfs::cpu_seconds(std::process::id()).unwrap_or_default();
    let window_secs = started.elapsed().as_secs_f64();
    let mut tally = tally.borrow_mut();
    let last = tally.phase("pinged");
    print_line(&PingWindow {
        open: last.open,
        failed: last.failed,
        first_error: last.first_error,
        window_secs,
        pings: tally.pings - pings_before,
        server_cpu_secs: server_before
            .zip(server_after)
            .map(|(before, after)| after - before),
        loadgen_cpu_secs: own_after - own_before,
    });
}

/// Waits until `done` holds of the tally, or until `deadline`.
async fn wait_until(
    tally: &RefCell<Tally>,
    progress: &Notify,
    deadline: Instant,
    done: impl Fn(&Tally) -> bool,
) {
    while !done(&tally.borrow()) {
        if timeout_at(deadline, progress.notified()).await.is_err() {
            return;
        }
    }
}

/// What the one request is and what its reply must be.
struct Expected {
    kind: RequestKind,
    marked: bool,
}

/// Connection `index`: opens, then reads until it breaks or the run ends, answering pings, and
/// sends its one request when told to.
async fn hold(
    index: usize,
    addr: SocketAddr,
    expected: Rc<Expected>,
    tally: Rc<RefCell<Tally>>,
    progress: Rc<Notify>,
    permits: Rc<Semaphore>,
    mut steps: watch::Receiver<Step>,
) {
    let opened = {
        let _permit = permits.acquire().await.expect("never closed");
        timeout(
            HANDSHAKE_TIMEOUT,
            handshake::open_from(source(addr, index), source_port(index), addr),
        )
        .await
    };
    let (mut stream, frames) = match opened {
        Ok(Ok(opened)) => opened,
        Ok(Err(error)) => {
            tally
                .borrow_mut()
                .open_failed(format!("opening a connection failed: {error}"));
            progress.notify_one();
            return;
        }
        Err(_) => {
            tally
                .borrow_mut()
                .open_failed("opening a connection timed out".to_owned());
            progress.notify_one();
            return;
        }
    };
    tally.borrow_mut().opened += 1;
    progress.notify_one();
    let mut connection = Connection {
        frames: frames.with_read_chunk(READ_CHUNK),
        masker: Masker::new(index as u64),
        out: Vec::new(),
        awaiting_reply: false,
    };
    if let Err(problem) = connection
        .serve(index, &mut stream, &expected, &tally, &progress, &mut steps)
        .await
    {
        tally.borrow_mut().closed(problem);
        progress.notify_one();
    }
}

/// One held connection's state besides its socket.
struct Connection {
    frames: FrameReader,
    masker: Masker,
    /// Pongs (and the request) to write.
    out: Vec<u8>,
    awaiting_reply: bool,
}

/// What woke a held connection.
enum Woken {
    /// A new step, or `false` when the run is over.
    Step(bool),
    /// Bytes from the server, or why none will come.
    Read(std::io::Result<()>),
}

impl Connection {
    /// Reads and answers until the connection breaks (the problem) or the run ends (`Ok`).
    async fn serve(
        &mut self,
        index: usize,
        stream: &mut TcpStream,
        expected: &Expected,
        tally: &RefCell<Tally>,
        progress: &Notify,
        steps: &mut watch::Receiver<Step>,
    ) -> Result<(), String> {
        let mut requested = false;
        loop {
            let woken = tokio::select! {
                changed = steps.changed() => Woken::Step(changed.is_ok()),
                read = self.frames.fill(stream) => Woken::Read(read),
            };
            match woken {
                Woken::Step(false) => return Ok(()),
                Woken::Step(true) => {
                    if *steps.borrow_and_update() == Step::Request && !requested {
                        requested = true;
                        self.awaiting_reply = true;
                        let mut request = Vec::with_capacity(128);
                        expected
                            .kind
                            .write(&mut request, REQUEST_ID, &client_name(index));
                        self.masker.text(&mut self.out, &request);
                    }
                }
                Woken::Read(read) => {
                    read.map_err(|error| error.to_string())?;
                    if self.take_frames(index, expected, tally)? {
                        progress.notify_one();
                    }
                }
            }
            if !self.out.is_empty() {
                stream
                    .write_all(&self.out)
                    .await
                    .map_err(|error| format!("writing failed: {error}"))?;
                self.out.clear();
            }
        }
    }

    /// Handles every whole frame read: pings answered, the reply verified. `true` when the reply
    /// came.
    fn take_frames(
        &mut self,
        index: usize,
        expected: &Expected,
        tally: &RefCell<Tally>,
    ) -> Result<bool, String> {
        let mut replied = false;
        while let Some(frame) = self
            .frames
            .next_frame()
            .map_err(|error| error.to_string())?
        {
            match frame {
                Frame::Ping(payload) => {
                    self.masker.pong(&mut self.out, payload);
                    let mut tally = tally.borrow_mut();
                    tally.pings += 1;
                    tally.last_ping = Some(Instant::now());
                }
                Frame::Pong => {}
                Frame::Text(payload) if self.awaiting_reply => {
                    let name = client_name(index);
                    match verify(
                        payload,
                        expected.kind.endpoint().endpoint,
                        &greeting(&name),
                        expected.marked,
                    ) {
                        Verdict::Ok(REQUEST_ID) => {
                            self.awaiting_reply = false;
                            tally.borrow_mut().requested += 1;
                            replied = true;
                        }
                        Verdict::Ok(id) => {
                            return Err(format!("a reply to id {id}, which was never sent"))
                        }
                        Verdict::Wrong { problem, .. } => return Err(problem),
                    }
                }
                Frame::Text(_) => return Err("a message nobody asked for".to_owned()),
                Frame::Binary => return Err("a binary message".to_owned()),
                Frame::Close(_) => return Err("the server sent a close frame".to_owned()),
            }
        }
        Ok(replied)
    }
}

/// What the connections have done so far.
#[derive(Debug, Default)]
struct Tally {
    opened: usize,
    open_failed: usize,
    /// Connections that broke (or failed their request) after opening.
    closed: usize,
    requested: usize,
    pings: u64,
    last_ping: Option<Instant>,
    /// Failures since the last step was printed.
    failed_in_step: usize,
    first_error: Option<String>,
}

impl Tally {
    fn open_failed(&mut self, problem: String) {
        self.open_failed += 1;
        self.failed_in_step += 1;
        self.first_error.get_or_insert(problem);
    }

    fn closed(&mut self, problem: String) {
        self.closed += 1;
        self.failed_in_step += 1;
        self.first_error.get_or_insert(problem);
    }

    /// The step `name` as it ended: the connections open, and what failed since the last step.
    fn phase(&mut self, name: &str) -> IdlePhase {
        IdlePhase {
            phase: name.to_owned(),
            open: self.opened - self.closed,
            failed: std::mem::take(&mut self.failed_in_step),
            first_error: self.first_error.take(),
        }
    }
}

fn print_line(line: &impl serde::Serialize) {
    println!(
        "{}",
        serde_json::to_string(line).expect("a step serializes")
    );
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, SocketAddr};

    use super::{source, source_port, PER_SOURCE};

    #[test]
    fn sources_are_fresh_per_server_port_and_hold_at_most_per_source_each() {
        let addr: SocketAddr = "127.0.0.1:41234".parse().expect("an address");
        let [high, low] = 41234_u16.to_be_bytes();
        assert_eq!(source(addr, 0), Ipv4Addr::new(127, high, low, 2));
        assert_eq!(
            source(addr, PER_SOURCE - 1),
            Ipv4Addr::new(127, high, low, 2)
        );
        assert_eq!(source(addr, PER_SOURCE), Ipv4Addr::new(127, high, low, 3));
        assert_eq!(source(addr, 99_999), Ipv4Addr::new(127, high, low, 6));
        let other: SocketAddr = "127.0.0.1:41235".parse().expect("an address");
        assert_ne!(source(other, 0), source(addr, 0));
        assert!(source(addr, 99_999).is_loopback());
        assert_eq!(source_port(0), source_port(PER_SOURCE));
        assert_ne!(source_port(0), source_port(PER_SOURCE - 1));
        assert!(source_port(PER_SOURCE - 1) >= 20_000);
    }
}
