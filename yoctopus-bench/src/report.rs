//! What the load generator reports, as JSON on its standard output, for the driver to read.
//!
//! A throughput run prints one [`ThroughputReport`]; an idle-memory run prints one [`IdlePhase`]
//! line per phase, because the driver measures the server between phases.

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
