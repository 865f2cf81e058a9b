//! The configurations the driver measures, and the comparisons it draws between them.
//!
//! A configuration is a name and a [`Workload`]; the list is [`standard`]. A later kind of
//! measurement (multicast fan-out, listeners) slots in as a new `Workload` variant with its
//! load-generator mode, and its configurations join the list; the rounds, the rotation, the
//! ratios to the baseline and the tables need no change.

use yoctopus_bench::request::RequestKind;

/// What one measurement asks of a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Workload {
    /// Closed-loop load: `connections` connections, each keeping `in_flight` requests outstanding.
    Throughput {
        connections: usize,
        in_flight: usize,
        request: RequestKind,
    },
    /// `connections` idle connections: the server's memory after every handshake and after one
    /// request on each, minus its memory before.
    IdleMemory { connections: usize },
}

/// A named workload.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    /// Short name, used by `--configs` and in the tables.
    pub(crate) name: &'static str,
    pub(crate) workload: Workload,
}

impl Config {
    /// One line saying what the configuration measures.
    pub(crate) fn describe(&self) -> String {
        match self.workload {
            Workload::Throughput {
                connections,
                in_flight,
                request,
            } => format!(
                "{connections} connections x {in_flight} in flight, {request} request, closed loop"
            ),
            Workload::IdleMemory { connections } => format!(
                "{connections} idle connections: server RSS per connection, minus the RSS before"
            ),
        }
    }
}

/// The configurations: three loads of the greeter, the nested request at the load that
/// separates fast servers best, and memory at `idle_connections` idle connections.
pub(crate) fn standard(idle_connections: usize) -> Vec<Config> {
    let throughput = |name, connections, in_flight, request| Config {
        name,
        workload: Workload::Throughput {
            connections,
            in_flight,
            request,
        },
    };
    vec![
        throughput("50x1", 50, 1, RequestKind::Greeter),
        throughput("50x16", 50, 16, RequestKind::Greeter),
        throughput("1000x1", 1000, 1, RequestKind::Greeter),
        throughput("nested-50x16", 50, 16, RequestKind::Nested),
        Config {
            name: "idle-memory",
            workload: Workload::IdleMemory {
                connections: idle_connections,
            },
        },
    ]
}

/// A throughput ratio between two configurations on the same server in the same round.
#[derive(Debug, Clone)]
pub(crate) struct Comparison {
    /// What the ratio shows.
    pub(crate) title: &'static str,
    /// The configuration on top.
    pub(crate) numerator: &'static str,
    /// The configuration below.
    pub(crate) denominator: &'static str,
    /// The lowest ratio the issue accepts for the candidate server.
    pub(crate) target: f64,
}

/// The comparisons: the nested request against the flat greeter at 50 x 16.
pub(crate) fn comparisons() -> Vec<Comparison> {
    vec![Comparison {
        title:
            "nested 20-field request vs flat greeter (throughput ratio, same server, same round)",
        numerator: "nested-50x16",
        denominator: "50x16",
        target: 0.90,
    }]
}
