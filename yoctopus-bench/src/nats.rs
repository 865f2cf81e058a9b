//! What nats-server counted: its monitoring endpoint's `/varz` message and byte counters, read
//! by the load generator on either side of a cluster measurement's operations, so that the
//! messages each operation costs are observed rather than derived from the design.
//!
//! The counters are the server's totals since it started: `in_msgs` are messages published to
//! it by its clients (the Yoctopus nodes), `out_msgs` messages it delivered to subscribers. A
//! NATS message delivered to two subscribers counts once in and twice out. Nothing but the
//! cluster's nodes connects to the benchmark's NATS server, and the driver slows their
//! heartbeats down (see the driver's `cluster.rs`), so a window's difference is the operations'
//! own traffic.
//!
//! A plain HTTP/1.0 request over a blocking socket, with timeouts: it runs outside every timed
//! window, and keeps the harness free of an HTTP client.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How long connecting to the monitoring port, and then reading its answer, may take.
const TIMEOUT: Duration = Duration::from_secs(2);

/// The largest `/varz` answer read (it is about 2 KiB).
const MAX_ANSWER_BYTES: u64 = 1 << 20;

/// nats-server's message and byte counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Varz {
    /// Messages published to the server.
    pub in_msgs: u64,
    /// Messages the server delivered to subscribers.
    pub out_msgs: u64,
    /// Their payload bytes, in.
    pub in_bytes: u64,
    /// Their payload bytes, out.
    pub out_bytes: u64,
}

impl Varz {
    /// What was counted between `before` and `self`.
    #[must_use]
    pub fn since(self, before: Varz) -> Varz {
        Varz {
            in_msgs: self.in_msgs.saturating_sub(before.in_msgs),
            out_msgs: self.out_msgs.saturating_sub(before.out_msgs),
            in_bytes: self.in_bytes.saturating_sub(before.in_bytes),
            out_bytes: self.out_bytes.saturating_sub(before.out_bytes),
        }
    }
}

/// The NATS traffic of a measurement's window, and how many operations that needed other nodes
/// (cross-server notifies, multicasts) the window held.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NatsWindow {
    /// What nats-server counted over the window.
    pub counted: Varz,
    /// The operations in it that went to other nodes, warm-up ones included.
    pub operations: u64,
}

/// Reads the counters of the nats-server whose monitoring port is `monitor` (`-m PORT`).
pub fn varz(monitor: SocketAddr) -> Result<Varz, String> {
    let fail = |what: &str, error: std::io::Error| format!("{what} {monitor}/varz: {error}");
    let mut stream = TcpStream::connect_timeout(&monitor, TIMEOUT)
        .map_err(|error| fail("connecting to", error))?;
    stream
        .set_read_timeout(Some(TIMEOUT))
        .and_then(|()| stream.set_write_timeout(Some(TIMEOUT)))
        .map_err(|error| fail("setting timeouts for", error))?;
    stream
        .write_all(b"GET /varz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .map_err(|error| fail("asking", error))?;
    let mut answer = Vec::new();
    stream
        .take(MAX_ANSWER_BYTES)
        .read_to_end(&mut answer)
        .map_err(|error| fail("reading", error))?;
    parse_answer(&answer).map_err(|problem| format!("{monitor}/varz: {problem}"))
}

/// The counters in an HTTP answer to `GET /varz`.
fn parse_answer(answer: &[u8]) -> Result<Varz, String> {
    let end = answer
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .ok_or("the answer has no end of head")?;
    let status = String::from_utf8_lossy(&answer[..end]);
    let status = status.lines().next().unwrap_or_default();
    if !status.contains(" 200") {
        return Err(format!("answered `{status}`"));
    }
    serde_json::from_slice(&answer[end + 4..])
        .map_err(|error| format!("an unreadable body ({error})"))
}

#[cfg(test)]
mod tests {
    use super::{parse_answer, Varz};

    #[test]
    fn the_counters_are_read_from_the_body_and_subtracted() {
        let answer = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{\"server_id\":\"N\",\"in_msgs\":12,\"out_msgs\":20,\"in_bytes\":1200,\"out_bytes\":2000,\"connections\":2}";
        let after = parse_answer(answer).expect("readable");
        assert_eq!(
            after,
            Varz {
                in_msgs: 12,
                out_msgs: 20,
                in_bytes: 1200,
                out_bytes: 2000
            }
        );
        let before = Varz {
            in_msgs: 2,
            out_msgs: 2,
            in_bytes: 200,
            out_bytes: 200,
        };
        assert_eq!(after.since(before).out_msgs, 18);
        assert!(parse_answer(b"HTTP/1.1 404 Not Found\r\n\r\n{}").is_err());
        assert!(parse_answer(b"HTTP/1.1 200 OK\r\n").is_err());
    }
}
