//! A private NATS server for tests.
//!
//! Tests of code that talks to NATS need a real server: a fake would only check what its author
//! believed NATS does. [`NatsServer::start`] runs one of its own rather than using a machine-wide
//! service (Debian's package installs one, enabled, on port 4222), so tests never depend on one
//! being installed, running, configured for them or left clean by earlier runs, and a test may
//! stop and restart its server (to check that clients reconnect) without disturbing anything
//! else:
//!
//! - the server listens on `127.0.0.1` only, on a port that was free when it started, and keeps
//!   that port across [`restart`](NatsServer::restart)s, as a client reconnecting to its URL
//!   expects;
//! - it runs with the defaults and no configuration file: no authentication, no JetStream (so
//!   nothing is stored, and a restart starts empty), no monitoring port, no cluster;
//! - its log, and anything it prints, go to `nats.log` in a fresh temporary directory, whose tail
//!   is part of the error when the server fails to start;
//! - dropping the [`NatsServer`] stops the server and removes the directory.
//!
//! The server counts as started once it *speaks NATS*: a client connecting to its port receives
//! the `INFO {…}` line a NATS server sends first. An open port alone would not do: it might
//! belong to something else.
//!
//! `nats-server` comes from the machine's packages (Debian's `nats-server`), found on `PATH`,
//! else as `/usr/bin/nats-server` or `/usr/sbin/nats-server` (where Debian puts it, off an
//! ordinary user's `PATH`). When none is found, [`NatsServer::start`] says to run
//! `bash scripts/install-test-deps.sh`. Unlike PostgreSQL, it runs as root without complaint, so
//! it runs as whoever runs the tests.
//!
//! Every wait is bounded: a server that does not answer within 10 seconds is an error, and one
//! that does not stop within 10 seconds of being asked (SIGINT) is killed (SIGKILL). SIGINT
//! rather than SIGTERM because Debian's nats-server 2.9 exits with status 1 on SIGTERM, and 0 on
//! SIGINT (as its systemd unit stops it).
//!
//! `nats-server` is a single process (it forks nothing), so stopping the child the harness
//! spawned stops all of it.

use crate::process::{describe, free_port, log_tail, make_temp_dir, run, wait_until};
use std::fs::{self, OpenOptions};
use std::io::{self, BufRead, BufReader, ErrorKind, Read};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// The program's name, looked for on `PATH`.
const PROGRAM: &str = "nats-server";

/// Where Debian's package (and others) put the program, when it is not on `PATH`.
const FALLBACK_PROGRAMS: [&str; 2] = ["/usr/bin/nats-server", "/usr/sbin/nats-server"];

/// How long a started server may take to answer with its `INFO` line.
const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// How long one readiness probe may wait to connect, and then for the `INFO` line.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// How often a probe waiting for the `INFO` line checks that the server still runs.
const PROBE_SLICE: Duration = Duration::from_millis(50);

/// How long a server asked to stop (SIGINT) may take before it is killed (SIGKILL).
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a killed server may take to be reaped.
const KILL_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a helper program (`kill`) may run.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);

/// How many free ports [`NatsServer::start`] tries when another process takes the one it picked
/// before the server binds it.
const PORT_ATTEMPTS: usize = 5;

/// How much of the end of the server's log an error quotes.
const LOG_TAIL_BYTES: u64 = 4000;

/// The longest `INFO` line a probe reads (nats-server's is a few hundred bytes).
const INFO_MAX_BYTES: u64 = 64 * 1024;

/// What `start` tells the user when `nats-server` is nowhere to be found.
const NOT_INSTALLED: &str = "NATS is not installed (no nats-server on PATH, nor in /usr/bin or \
     /usr/sbin): run `bash scripts/install-test-deps.sh` (or `apt-get install -y nats-server`)";

/// A private NATS server, started for a test and stopped when dropped.
///
/// Clients connect to [`url`](Self::url) without credentials.
#[derive(Debug)]
pub struct NatsServer {
    /// The `nats-server` program.
    program: PathBuf,
    /// The temporary directory: the log.
    dir: PathBuf,
    /// The server's log and output, `dir/nats.log`.
    log: PathBuf,
    /// The TCP port on 127.0.0.1, kept across restarts.
    port: u16,
    /// The server, while it runs.
    child: Option<Child>,
}

/// How [`NatsServer::halt`] stops the server.
#[derive(Clone, Copy, Debug)]
enum Shutdown {
    /// SIGINT, then SIGKILL if the server has not exited in time.
    Graceful,
    /// SIGKILL at once: for a server that did not become ready, and may be wedged.
    Kill,
}

impl NatsServer {
    /// Starts a server in a fresh temporary directory on a free port of 127.0.0.1, returning
    /// once it answers the NATS protocol.
    ///
    /// Blocks for as long as the server's start takes (a few milliseconds, usually); every wait
    /// is bounded.
    ///
    /// # Errors
    ///
    /// When `nats-server` is not installed (the error says how to install it), when the
    /// temporary directory cannot be created, and when the server exits or does not answer
    /// within 10 seconds (the error quotes the end of the server's log). A port that another
    /// process takes before the server binds it is retried with another, a few times.
    pub fn start() -> io::Result<NatsServer> {
        let program = find_program()?;
        let dir = make_temp_dir("nats")?;
        // From here on, dropping `server` removes the directory, whatever fails.
        let mut server = NatsServer {
            program,
            log: dir.join("nats.log"),
            dir,
            port: 0,
            child: None,
        };
        let mut attempt = 1;
        loop {
            server.port = free_port()?;
            match server.spawn_and_wait() {
                Ok(()) => return Ok(server),
                Err(error) if error.kind() == ErrorKind::AddrInUse && attempt < PORT_ATTEMPTS => {
                    attempt += 1;
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// The URL clients connect to: `nats://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// The server's TCP port on 127.0.0.1; [`restart`](Self::restart) keeps it.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's temporary directory (removed on drop), which holds its log, `nats.log`; the
    /// server's command line names it.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether the server is running (it was started and has neither been stopped nor exited).
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut().map(Child::try_wait) {
            Some(Ok(None)) => true,
            Some(Ok(Some(_)) | Err(_)) => {
                self.child = None;
                false
            }
            None => false,
        }
    }

    /// Stops the server (SIGINT: it closes its clients' connections and exits) and waits until
    /// it has exited; the directory and the port stay, for [`restart`](Self::restart).
    ///
    /// Bounded: a server that does not exit within 10 seconds is killed (SIGKILL). Does nothing
    /// when the server is not running.
    pub fn stop(&mut self) {
        self.halt(Shutdown::Graceful);
    }

    /// Stops the server (as [`stop`](Self::stop) does, when it runs) and starts it again on the
    /// same port, returning once it answers the NATS protocol. The new server starts empty:
    /// subscriptions are the clients' to make again.
    ///
    /// # Errors
    ///
    /// When the server exits or does not answer within 10 seconds; the error's kind is
    /// [`ErrorKind::AddrInUse`] when another process took the port while the server was stopped
    /// (the error quotes the end of the server's log).
    pub fn restart(&mut self) -> io::Result<()> {
        self.stop();
        self.spawn_and_wait()
    }

    /// Starts the server on `self.port` and waits until it answers the NATS protocol.
    ///
    /// When it exits first, the error's kind is [`ErrorKind::AddrInUse`] if it could not bind
    /// the port; when it does not answer in time, it is killed.
    fn spawn_and_wait(&mut self) -> io::Result<()> {
        let log_start = fs::metadata(&self.log).map_or(0, |metadata| metadata.len());
        // The server appends its log to the file (`-l`); its output (such as its complaint
        // about a bad flag, which it prints rather than logs) is appended to the same file.
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .map_err(|error| {
                io::Error::new(
                    error.kind(),
                    format!("could not open {}: {error}", self.log.display()),
                )
            })?;
        let mut nats = Command::new(&self.program);
        nats.args(["-a", "127.0.0.1", "-p", &self.port.to_string()])
            .arg("-l")
            .arg(&self.log)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        let child = nats.spawn().map_err(|error| {
            io::Error::new(
                error.kind(),
                format!("could not run {}: {error}", describe(&nats)),
            )
        })?;
        self.child = Some(child);
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            let probe = self.probe(deadline);
            // Checked after the probe, so that an answer counts only when this server still
            // runs: it might have come from another process that took the port.
            if let Some(status) = self.exited() {
                let tail = self.log_since(log_start);
                let kind = if tail.to_ascii_lowercase().contains("address already in use") {
                    ErrorKind::AddrInUse
                } else {
                    ErrorKind::Other
                };
                // Even a clean exit is a failure here: nats-server exits with status 0 when it
                // does not understand its command line.
                return Err(io::Error::new(
                    kind,
                    format!(
                        "nats-server exited ({status}) before answering on port {}; the end of \
                         {}:\n{tail}",
                        self.port,
                        self.log.display()
                    ),
                ));
            }
            let reason = match probe {
                Ok(()) => return Ok(()),
                Err(reason) => reason,
            };
            if Instant::now() >= deadline {
                self.halt(Shutdown::Kill);
                return Err(io::Error::new(
                    ErrorKind::TimedOut,
                    format!(
                        "nats-server did not answer on port {} within {READY_TIMEOUT:?} (last \
                         try: {reason}); the end of {}:\n{}",
                        self.port,
                        self.log.display(),
                        self.log_since(log_start)
                    ),
                ));
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// When the server has exited (or cannot be waited for), how, forgetting it; `None` while it
    /// runs.
    fn exited(&mut self) -> Option<String> {
        let exited = match self.child.as_mut().map(Child::try_wait) {
            Some(Ok(None)) => None,
            Some(Ok(Some(status))) => Some(status.to_string()),
            Some(Err(error)) => Some(format!("cannot be waited for: {error}")),
            None => Some("not running".to_owned()),
        };
        if exited.is_some() {
            self.child = None;
        }
        exited
    }

    /// Connects to the port and reads the first line, which a NATS server sends unasked:
    /// `INFO {…}`. `Err` says what went wrong, for the timeout's error.
    ///
    /// Each step is bounded by [`PROBE_TIMEOUT`], and by `deadline` (but for a short minimum).
    /// The read is sliced, to give up as soon as the server exits: what accepted the connection
    /// then is something else holding the port, which may never answer.
    fn probe(&mut self, deadline: Instant) -> Result<(), String> {
        let timeout = deadline
            .saturating_duration_since(Instant::now())
            .clamp(Duration::from_millis(100), PROBE_TIMEOUT);
        let give_up = Instant::now() + timeout;
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let stream = TcpStream::connect_timeout(&address, timeout)
            .map_err(|error| format!("connecting to {address}: {error}"))?;
        stream
            .set_read_timeout(Some(PROBE_SLICE))
            .map_err(|error| format!("setting a read timeout: {error}"))?;
        let mut reader = BufReader::new(stream.take(INFO_MAX_BYTES));
        let mut line = Vec::new();
        loop {
            // A read that times out keeps what it read in `line`: the next one goes on from
            // there.
            match reader.read_until(b'\n', &mut line) {
                Ok(_) => break,
                Err(error)
                    if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
                        && Instant::now() < give_up =>
                {
                    let running = self
                        .child
                        .as_mut()
                        .is_some_and(|child| matches!(child.try_wait(), Ok(None)));
                    if !running {
                        return Err(format!(
                            "{address} accepted the connection, but nats-server is not running"
                        ));
                    }
                }
                Err(error) => {
                    return Err(format!("reading the INFO line from {address}: {error}"));
                }
            }
        }
        let line = String::from_utf8_lossy(&line);
        // nats-server 2.9 sends `INFO {…} \r\n`, with a space before the line's end.
        if line.starts_with("INFO {") && line.trim_end().ends_with('}') && line.ends_with("\r\n") {
            Ok(())
        } else {
            Err(format!(
                "{address} answered {:?} instead of an INFO line",
                truncate(&line, 200)
            ))
        }
    }

    /// The end of the log, from byte `start` on (at most [`LOG_TAIL_BYTES`]).
    fn log_since(&self, start: u64) -> String {
        log_tail(&self.log, start, LOG_TAIL_BYTES)
    }

    /// Stops the server, if it runs, and waits until it has exited: as `shutdown` says, then
    /// with SIGKILL; every wait bounded.
    fn halt(&mut self, shutdown: Shutdown) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if let Shutdown::Graceful = shutdown {
            // Until the child is reaped, its pid cannot go to another process.
            if !matches!(child.try_wait(), Ok(None)) {
                return;
            }
            self.signal_interrupt(child.id());
            if let Ok(Some(_)) = wait_until(&mut child, Instant::now() + STOP_TIMEOUT) {
                return;
            }
        }
        let _ = child.kill();
        let _ = wait_until(&mut child, Instant::now() + KILL_TIMEOUT);
    }

    /// Sends SIGINT to the server `pid`: with `kill`, or else with `nats-server --signal quit`
    /// (which sends SIGINT). Best effort; [`halt`](Self::halt) checks the result.
    fn signal_interrupt(&self, pid: u32) {
        let mut kill = Command::new("kill");
        kill.args(["-s", "INT", &pid.to_string()]);
        if run(&mut kill, COMMAND_TIMEOUT).is_err() {
            let mut nats = Command::new(&self.program);
            nats.arg("--signal").arg(format!("quit={pid}"));
            let _ = run(&mut nats, COMMAND_TIMEOUT);
        }
    }
}

impl Drop for NatsServer {
    /// Stops the server (SIGINT, then SIGKILL; bounded) and removes the temporary directory;
    /// best effort, silently.
    fn drop(&mut self) {
        self.halt(Shutdown::Graceful);
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// The `nats-server` program: on `PATH`, else the first of [`FALLBACK_PROGRAMS`] that exists.
fn find_program() -> io::Result<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(PROGRAM))
        .chain(FALLBACK_PROGRAMS.iter().map(PathBuf::from))
        .find(|program| program.is_file())
        .ok_or_else(|| io::Error::new(ErrorKind::NotFound, NOT_INSTALLED))
}

/// At most the first `max` characters of `text`, marked when cut.
fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}
