//! What the load generator reports, as JSON on its standard output, for the driver to read.
//!
//! A throughput run prints one [`ThroughputReport`]; an idle-memory run prints one [`IdlePhase`]
//! line per phase, because the driver measures the server between phases; a fan-out run (notify
//! or multicast, on one server or spread over the servers of a cluster) prints one
//! [`FanoutReport`]; a notify-one run (one client making its server notify another client, on the
//! same server or on another server of a cluster) prints one [`NotifyOneReport`].
//! An open-loop run (requests on a fixed schedule) prints one [`OpenLoopReport`]; an `idle-live`
//! run (idle connections held and answering pings) prints the idle run's [`IdlePhase`] lines and
//! then one [`PingWindow`].

use serde::{Deserialize, Serialize};

use crate::nats::NatsWindow;
use crate::request::RequestKind;

/// The result of one closed-loop throughput run.
///
/// Only replies that matched an outstanding request, said `ok` and carried the expected greeting,
/// and that arrived inside the measured window, count as `completed`; everything else is an error
/// or was not measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ThroughputReport {
    /// The request sent.
    pub request: RequestKind,
    /// Connections opened.
    pub connections: usize,
    /// Requests kept in flight on each connection.
    pub in_flight: usize,
    /// Length of the measured window (after warm-up), in seconds.
    pub window_secs: f64,
    /// Verified replies received in the window.
    pub completed: u64,
    /// `completed / window_secs`.
    pub throughput: f64,
    /// Replies that were wrong: an unknown id, an error status, or unexpected data.
    pub errors: u64,
    /// Connections that failed to open or broke during the run.
    pub connection_failures: u64,
    /// The first error seen, to say what went wrong.
    pub first_error: Option<String>,
    /// Latency from writing a request to reading its verified reply, in the window.
    pub latency_us: Latency,
    /// How evenly the connections were served: the spread of their own medians and counts.
    #[serde(default)]
    pub fairness: Fairness,
    /// The server's CPU time in the window (`None` without `--server-pid`), in seconds.
    pub server_cpu_secs: Option<f64>,
    /// The load generator's own CPU time in the window, in seconds: near `window_secs` means the
    /// load generator, not the server, was the bottleneck.
    pub loadgen_cpu_secs: f64,
    /// Time to open every connection before the run started, in seconds.
    pub connect_secs: f64,
}

/// Latency percentiles in microseconds.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct Latency {
    /// Median.
    pub p50: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// Largest.
    pub max: u64,
}

/// How evenly a throughput run's connections were served. A fair server gives every connection of
/// a closed loop about the same median latency and the same number of replies; a tail that comes
/// from some connections waiting far longer than others shows as a slowest median far above the
/// fastest, while a tail shared by every connection (a stall of the whole server) does not.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct Fairness {
    /// The lowest of the connections' median latencies, in microseconds.
    pub fastest_median_us: u64,
    /// The highest of the connections' median latencies, in microseconds.
    pub slowest_median_us: u64,
    /// The fewest verified replies one connection got in the window.
    pub fewest_replies: u64,
    /// The most verified replies one connection got in the window.
    pub most_replies: u64,
}

/// One step of an idle-memory run, printed as one line when the step is done.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IdlePhase {
    /// `"connected"` after every handshake, `"requested"` after one request on each connection.
    pub phase: String,
    /// Connections open at the end of the step.
    pub open: usize,
    /// Connections that failed in this step (refused, broken, or a wrong reply).
    pub failed: usize,
    /// The first failure seen in this step.
    pub first_error: Option<String>,
}

/// The result of one fan-out run: `connections` idle connections and a controller, and a few
/// triggers, each of which the server answers by notifying every idle connection by id, or by one
/// multicast that reaches every idle connection.
///
/// A trigger counts only when every connection received exactly one push of that trigger, each
/// with the expected type and data, and the server said it notified every connection; the run
/// stops at the first trigger that does not.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FanoutReport {
    /// Idle connections opened (the controller is one more).
    pub connections: usize,
    /// Measured triggers asked for.
    pub triggers_planned: usize,
    /// Time to open every connection, in seconds.
    pub connect_secs: f64,
    /// Time to label every connection for a multicast, in seconds (0 for a notify fan-out).
    #[serde(default)]
    pub label_secs: f64,
    /// Triggers sent before the measured ones, not counted.
    pub warmup: Vec<FanoutTrigger>,
    /// The measured triggers that completed, in order.
    pub triggers: Vec<FanoutTrigger>,
    /// Pushes that were not the one expected: wrong JSON, a duplicate, one outside a trigger.
    pub wrong_pushes: u64,
    /// Connections that failed to open or broke.
    pub connection_failures: u64,
    /// The first problem seen; `None` when every trigger completed.
    pub first_error: Option<String>,
    /// The servers the connections were spread over, in the order given (connection `i` on
    /// server `i % servers`; the controller on the first); 1 without a cluster.
    #[serde(default = "one")]
    pub servers: usize,
    /// What the cluster's NATS server counted from just before the first trigger (warm-up
    /// included) to just after the last, when the load generator was told where to ask.
    #[serde(default)]
    pub nats: Option<NatsWindow>,
}

fn one() -> usize {
    1
}

/// One trigger that completed. Times are in microseconds on the real-time clock both processes
/// share (see [`crate::fanout`]); "the call" is the server's first `notify` call, or for a
/// multicast the moment just before its push is serialized.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FanoutTrigger {
    /// The trigger's number (and its pushes' `data.round`).
    pub round: u64,
    /// Verified pushes received: one per connection.
    pub received: usize,
    /// The fan-out time: from the first `notify` call to the last push received.
    pub call_to_last_us: u64,
    /// From writing the trigger to the last push received (the above plus the trigger's way to
    /// the server, the spawn and `ids()`).
    pub trigger_to_last_us: u64,
    /// From writing the trigger to the first `notify` call.
    pub trigger_to_call_us: u64,
    /// From the first `notify` call to the first push received.
    pub call_to_first_us: u64,
    /// Median of the connections' arrival times, from the first `notify` call.
    pub arrival_p50_us: u64,
    /// 99th percentile of the connections' arrival times, from the first `notify` call.
    pub arrival_p99_us: u64,
    /// The server's `ids()` call ([`crate::fanout::Answer::ids_us`]).
    pub server_ids_us: u64,
    /// The server's `notify` loop, first call to last return, or its multicast call
    /// ([`crate::fanout::Answer::calls_us`]).
    pub server_calls_us: u64,
    /// The server's CPU time from just before the trigger to the last push (`None` without
    /// `--server-pid`), in seconds, at the kernel's 10 ms resolution.
    pub server_cpu_secs: Option<f64>,
    /// The load generator's own CPU time over the same span, in seconds, same resolution.
    pub loadgen_cpu_secs: f64,
    /// The call on the real-time clock ([`crate::fanout::unix_nanos`]), to line the trigger up
    /// with anything else stamped on it (a NATS subscriber's log, a trace).
    #[serde(default)]
    pub call_unix_ns: u64,
    /// With connections spread over several servers: per server, in the order given, when its
    /// first and its last connection read the push, from the call. Empty for one server.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub per_server: Vec<ServerArrivals>,
}

/// When the connections of one server of a cluster read a trigger's push, in microseconds from
/// the call (on the server the trigger went to).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct ServerArrivals {
    /// The first of them.
    pub first_us: u64,
    /// The last of them.
    pub last_us: u64,
}

/// The result of one notify-one run: a sender on the first server asks it (`fanout:notify-one`)
/// to notify one receiver, then the next, in turn: a receiver on the same server, and one on
/// each other server of the cluster. One request at a time; each counts only when its receiver
/// read exactly the push asked for and the sender got its `ok`. Times are on the load generator's
/// monotonic clock, which stamps both ends: the request written, the push read, the answer read.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NotifyOneReport {
    /// The servers given (the cluster's nodes, or one server).
    pub servers: usize,
    /// Requests per receiver before the measured ones, not counted.
    pub warmup_per_target: usize,
    /// Measured requests asked for per receiver.
    pub count_per_target: usize,
    /// Per receiver (the first on the sender's own server), what its requests measured.
    pub targets: Vec<NotifyTarget>,
    /// The requests to every receiver on another server, together; `None` on one server.
    pub across: Option<NotifyLatencies>,
    /// From the first measured request written to the last answer read, in seconds.
    pub window_secs: f64,
    /// The servers' CPU time over the window (all the pids given, summed; `None` without them).
    pub server_cpu_secs: Option<f64>,
    /// The load generator's CPU time over the window.
    pub loadgen_cpu_secs: f64,
    /// What NATS counted from just before the first request (warm-up included) to just after
    /// the last; its operations are the requests to receivers on other servers.
    pub nats: Option<NatsWindow>,
    /// Pushes that were not the one expected, or came to a connection that expected none.
    pub wrong_pushes: u64,
    /// The first problem seen; `None` when every request completed.
    pub first_error: Option<String>,
}

/// The requests to one receiver of a notify-one run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NotifyTarget {
    /// The server it is on: its index in the addresses given.
    pub server: usize,
    /// Whether that is the sender's server.
    pub same_server: bool,
    /// Its server's node id, as `fanout:whoami` answered.
    pub node: String,
    /// What its requests measured.
    #[serde(flatten)]
    pub measured: NotifyLatencies,
}

/// What some requests of a notify-one run measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NotifyLatencies {
    /// Measured requests that completed.
    pub notifies: usize,
    /// Request written → the receiver reading its push.
    pub push_us: Latency,
    /// Request written → the sender reading the `ok` (for another server: after that server
    /// answered through NATS).
    pub reply_us: Latency,
    /// The server's own time for the `notify` call ([`crate::fanout::NotifiedOne::call_us`]).
    pub call_us: Latency,
}

/// The result of one open-loop run: every connection sends one request per period on a fixed
/// schedule, whether or not its earlier requests have been answered, the connections' phases
/// spread evenly over the period. Latency runs from each request's *scheduled* send time to its
/// verified reply, so a server (or a load generator) that falls behind pays for every request
/// that waited, not only for the ones it got round to (no coordinated omission).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OpenLoopReport {
    /// The request sent.
    pub request: RequestKind,
    /// Connections opened.
    pub connections: usize,
    /// The time between two requests of one connection, in milliseconds.
    pub period_ms: f64,
    /// Length of the measured window (after warm-up), in seconds.
    pub window_secs: f64,
    /// The schedule's rate: connections / period, in requests per second.
    pub scheduled_per_sec: f64,
    /// Requests scheduled in the window.
    pub scheduled: u64,
    /// Of those, the ones written (a broken connection's are not).
    pub sent: u64,
    /// Of those, the ones whose verified reply was read (in the window or in the drain after).
    pub answered: u64,
    /// Of those, the ones still unanswered when the drain ended; each is in `latency_us` with
    /// the time to the drain's end, a lower bound of its latency.
    pub unanswered: u64,
    /// Verified replies read in the window (to requests scheduled in it or before) per second:
    /// the throughput actually served.
    pub served_per_sec: f64,
    /// Scheduled send time → verified reply read, over every request scheduled in the window.
    pub latency_us: Latency,
    /// Scheduled send time → actually written, over the same requests: the load generator's own
    /// lateness, which `latency_us` includes. Its timer ticks in milliseconds, so up to about
    /// 1 ms is the schedule's granularity; more means the load generator fell behind.
    pub send_lag_us: Latency,
    /// Replies that were wrong: an unknown id, an error status, or unexpected data.
    pub errors: u64,
    /// Connections that failed to open or broke during the run.
    pub connection_failures: u64,
    /// The first error seen.
    pub first_error: Option<String>,
    /// The server's CPU time in the window (`None` without `--server-pid`), in seconds.
    pub server_cpu_secs: Option<f64>,
    /// The load generator's own CPU time in the window, in seconds.
    pub loadgen_cpu_secs: f64,
    /// Time to open every connection before the schedule started, in seconds.
    pub connect_secs: f64,
}

/// The last step of an `idle-live` run, printed after its [`IdlePhase`] lines: the idle
/// connections held, read and answering the server's liveness pings, over a window of the
/// server's ping interval, with the server's CPU time over it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PingWindow {
    /// Connections open at the end of the window.
    pub open: usize,
    /// Connections that broke in the window (or since the last step).
    pub failed: usize,
    /// The first problem seen since the last step.
    pub first_error: Option<String>,
    /// Length of the window, in seconds.
    pub window_secs: f64,
    /// Pings the load generator read (and answered with a pong) in the window: about one per
    /// connection when the window is one ping interval of a server that pings every connection.
    pub pings: u64,
    /// The server's CPU time in the window (`None` without `--server-pid`), in seconds.
    pub server_cpu_secs: Option<f64>,
    /// The load generator's own CPU time in the window, in seconds.
    pub loadgen_cpu_secs: f64,
}
