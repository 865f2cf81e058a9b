//! The NATS harness itself: a private server speaks the NATS protocol, restarts on the same port
//! (dropping its clients, as a reconnection test needs), refuses connections once stopped,
//! reports a port taken while it was stopped, runs beside another, and leaves no process and no
//! files behind once dropped.
//!
//! The client is raw TCP speaking the text protocol (this crate has no NATS client); every read
//! and every wait is bounded.

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use yoctopus_tests::nats::NatsServer;
use yoctopus_tests::processes_using;

/// How long any single wait or read in these tests may take.
const WAIT: Duration = Duration::from_secs(10);

/// A raw NATS client: a connection and its reader, every read bounded by [`WAIT`].
struct Client {
    reader: BufReader<TcpStream>,
}

impl Client {
    /// Connects to `port` and reads the server's greeting, which must be an `INFO {…}` line.
    fn connect(port: u16) -> Client {
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let stream = TcpStream::connect_timeout(&address, WAIT).expect("the server accepts");
        stream
            .set_read_timeout(Some(WAIT))
            .expect("a read timeout is set");
        stream
            .set_write_timeout(Some(WAIT))
            .expect("a write timeout is set");
        let mut client = Client {
            reader: BufReader::new(stream),
        };
        let info = client.line();
        assert!(
            // nats-server 2.9 puts a space between the JSON and the line's end.
            info.starts_with("INFO {") && info.trim_end().ends_with('}') && info.ends_with("\r\n"),
            "the server greets with INFO: {info:?}"
        );
        assert!(
            info.contains(&format!("\"port\":{port}")),
            "the INFO names the port: {info:?}"
        );
        client
    }

    /// Reads one protocol line, with its `\r\n` (at most 64 KiB).
    fn line(&mut self) -> String {
        let mut line = Vec::new();
        (&mut self.reader)
            .take(64 * 1024)
            .read_until(b'\n', &mut line)
            .expect("a line is read in time");
        String::from_utf8(line).expect("the line is UTF-8")
    }

    /// Sends `bytes`.
    fn send(&mut self, bytes: &[u8]) {
        self.reader
            .get_mut()
            .write_all(bytes)
            .expect("the request is sent");
    }

    /// Sends `CONNECT {}` and `PING`, and expects `PONG`, after the `+OK` that acknowledges the
    /// CONNECT (an empty CONNECT leaves the client verbose, the server's default).
    fn ping(&mut self) {
        self.send(b"CONNECT {}\r\nPING\r\n");
        let mut line = self.line();
        if line == "+OK\r\n" {
            line = self.line();
        }
        assert_eq!(line, "PONG\r\n");
    }

    /// Waits for the server to close the connection (lines it sends meanwhile, such as a `PING`,
    /// are skipped).
    fn expect_closed(&mut self) {
        let deadline = Instant::now() + WAIT;
        loop {
            let mut line = Vec::new();
            match self.reader.read_until(b'\n', &mut line) {
                Ok(0) => return,
                Err(error) if error.kind() == ErrorKind::ConnectionReset => return,
                Ok(_) => {}
                Err(error) => panic!("the connection is closed, not: {error}"),
            }
            assert!(
                Instant::now() < deadline,
                "the connection is closed in time"
            );
        }
    }
}

/// Asserts that nothing accepts TCP connections on `port` of 127.0.0.1: connecting is refused.
fn assert_refused(port: u16) {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    match TcpStream::connect_timeout(&address, WAIT) {
        Ok(_) => panic!("port {port} still accepts connections"),
        Err(error) => assert_eq!(
            error.kind(),
            ErrorKind::ConnectionRefused,
            "port {port}: {error}"
        ),
    }
}

/// Asserts that no process of the server in `dir` runs and nothing listens on `port`.
fn assert_gone(dir: &Path, port: u16) {
    let processes = processes_using(dir);
    assert!(processes.is_empty(), "left running: {processes:#?}");
    assert_refused(port);
}

#[test]
fn a_private_server_answers_restarts_on_its_port_and_leaves_nothing_behind() {
    let mut server = NatsServer::start().expect("NATS starts");
    let port = server.port();
    let dir = server.dir().to_owned();
    assert_eq!(server.url(), format!("nats://127.0.0.1:{port}"));
    assert!(server.is_running());
    assert_eq!(
        processes_using(&dir).len(),
        1,
        "the server is found, alone: {:#?}",
        processes_using(&dir)
    );
    assert!(dir.join("nats.log").is_file(), "the server logs");

    // It speaks NATS.
    let mut client = Client::connect(port);
    client.ping();

    // Restarted: the connected client is dropped, and a new server answers on the same port.
    server.restart().expect("NATS restarts");
    assert_eq!(server.port(), port);
    assert!(server.is_running());
    client.expect_closed();
    Client::connect(port).ping();

    // Stopped: nothing runs, the port refuses connections, and a restart from stopped works.
    server.stop();
    assert!(!server.is_running());
    assert_gone(&dir, port);
    server.stop();
    server.restart().expect("NATS starts again after a stop");
    Client::connect(port).ping();

    // A port taken while the server was stopped: the restart says so, and quotes the log.
    server.stop();
    let squatter = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).expect("the port is free");
    let error = server
        .restart()
        .expect_err("NATS cannot restart on a taken port");
    assert_eq!(error.kind(), ErrorKind::AddrInUse, "{error}");
    assert!(
        error
            .to_string()
            .to_ascii_lowercase()
            .contains("address already in use"),
        "the error quotes the log: {error}"
    );
    assert!(!server.is_running());
    drop(squatter);
    server
        .restart()
        .expect("NATS restarts once the port is free");
    let mut client = Client::connect(port);
    client.ping();

    // Dropped while running, with a client connected: nothing runs, no files remain.
    drop(server);
    client.expect_closed();
    assert_gone(&dir, port);
    assert!(!dir.exists(), "{} is removed", dir.display());
}

#[test]
fn servers_started_side_by_side_are_separate() {
    let mut first = NatsServer::start().expect("NATS starts");
    let mut second = NatsServer::start().expect("NATS starts");
    assert_ne!(first.port(), second.port());
    assert_ne!(first.dir(), second.dir());
    Client::connect(first.port()).ping();
    Client::connect(second.port()).ping();

    // Stopping one leaves the other running.
    let (first_dir, first_port) = (first.dir().to_owned(), first.port());
    first.stop();
    assert_gone(&first_dir, first_port);
    assert!(second.is_running());
    Client::connect(second.port()).ping();

    let second_dir = second.dir().to_owned();
    let second_port = second.port();
    drop(first);
    drop(second);
    for (dir, port) in [(first_dir, first_port), (second_dir, second_port)] {
        assert_gone(&dir, port);
        assert!(!dir.exists(), "{} is removed", dir.display());
    }
}

#[test]
fn many_servers_start_and_stop_in_turn() {
    // Quick, bounded turns: each start waits for the INFO line, each drop for the exit.
    let deadline = Instant::now() + Duration::from_secs(60);
    for _ in 0..5 {
        let server = NatsServer::start().expect("NATS starts");
        let (dir, port) = (server.dir().to_owned(), server.port());
        Client::connect(port).ping();
        drop(server);
        assert_gone(&dir, port);
        assert!(Instant::now() < deadline, "five turns take under a minute");
    }
}
