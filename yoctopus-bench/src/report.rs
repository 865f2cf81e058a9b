//! What the load generator reports, as JSON on its standard output, for the driver to read.
//!
//! A throughput run prints one [`ThroughputReport`]; an idle-memory run prints one [`IdlePhase`]
//! line per phase, because the driver measures the server between phases; a fan-out run (notify
//! or multicast) prints one [`FanoutReport`].

use serde::{Deserialize, Serialize};

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
}

/// One trigger that completed. Times are in microseconds on the real-time clock both processes
/// share (see [`crate::fanout`]); "the call" is the server's first `notify` call, or for a
/// multicast the moment just before its push is serialized.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
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
}
