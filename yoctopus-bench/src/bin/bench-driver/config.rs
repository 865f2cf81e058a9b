//! The configurations the driver measures, and the comparisons it draws between them.
//!
//! A configuration is a name and a [`Workload`]; the list is [`standard`]. A new kind of
//! measurement slots in as a new `Workload` variant with its load-generator mode, as the notify
//! fan-out did, and its configurations join the list; the rounds and the rotation need no change.
//! Listeners change the server, not the load: a configuration that asks for them also measures
//! the lineup's [`Role::Variant`] servers. The reference ([`Role::Reference`]), when there is one,
//! is measured in every configuration but the fan-outs: it is an old build, without the connection
//! register or the `--fanout` endpoint, and neither has the hand-written baseline, so the notify
//! fan-out measures Yoctopus ([`Role::Candidate`]) alone. The multicast has a hand-written
//! counterpart, `bench-multicast-baseline`, which runs as the baseline and the A/A control there
//! (with its default direct writes) and as [`Role::Alternative`] (with writer tasks). The cluster
//! configurations measure Yoctopus alone, as one server without a cluster (the candidate) and as
//! clusters of one, two and three nodes ([`Role::Cluster`]): what the cluster costs is read
//! against the same work on one server, in the same round, and against a second copy of that
//! one server (`Role::Cluster { nodes: 0 }`), their A/A control. The closed-loop throughput
//! configurations also measure the hand-written bounds, the batching baseline
//! ([`Role::Batching`]) and the floor ([`Role::Floor`]), which answer the same requests. The
//! open loop ([`Workload::OpenLoop`]) measures Yoctopus against the naive baseline and the
//! batching baseline only: its run is long enough that an A/A control and the floor would cost
//! more time than they tell. The live idle run ([`Workload::IdleLive`]) measures Yoctopus alone.

use yoctopus_bench::request::RequestKind;
use yoctopus_bench::tracker::Backend;

use crate::lineup::{Role, Server, MULTICAST_BASELINE_BINARY};

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
    /// `connections` idle connections and a controller; each of `triggers` triggers (after
    /// [`FANOUT_WARMUP_TRIGGERS`]) makes the server notify every idle connection by id from a
    /// background task, timed from the first `notify` call to the last push received. Needs the
    /// connection register, so only Yoctopus runs it, started with `--fanout`.
    Fanout { connections: usize, triggers: usize },
    /// `connections` idle connections, each labelled, and a controller; each of `triggers`
    /// triggers (after [`FANOUT_WARMUP_TRIGGERS`]) makes the server multicast one push to every
    /// labelled connection, timed from just before the push is serialized to the last push
    /// received. Yoctopus (`--fanout`, `Connections::multicast` with a label filter) against the
    /// hand-written loop of [`MULTICAST_BASELINE_BINARY`], which runs as the baseline and the A/A
    /// control (direct writes) and as the alternative (`--writers task`).
    Multicast { connections: usize, triggers: usize },
    /// `connections` connections, which `bench-tracker` subscribes to every change of its
    /// `posts` table, and the load generator's own writers committing rows into it (see
    /// [`crate::tracker`]): paced commits timed from the commit to the last connection receiving
    /// it, then bursts of commits as fast as the writers go, timed until every push was read.
    /// Yoctopus alone (nothing else in the lineup tracks a database), on a fresh database each
    /// measurement; `poll_ms` is the tracker's `poll_interval`, its default when `None`.
    Tracker {
        backend: Backend,
        poll_ms: Option<u32>,
        connections: usize,
        commits: usize,
        /// The server's `outbound_queue`, in frames.
        outbound_queue: usize,
    },
    /// A sender on the first server and a receiver on each server of the topology; the sender
    /// asks its server to notify the receivers by id in turn, one request at a time,
    /// `per_target` measured requests per receiver after [`CLUSTER_NOTIFY_WARMUP`]: the time from
    /// the request to the push read, on the same server and across the cluster (see
    /// `cluster.rs`).
    ClusterNotify { per_target: usize },
    /// [`Workload::Multicast`]'s load, Yoctopus alone, with the `connections` spread evenly over
    /// the servers of the topology and the triggers sent to the first (see `cluster.rs`).
    ClusterMulticast { connections: usize, triggers: usize },
    /// Open-loop load: `connections` connections, each sending one greeter request every
    /// `period_ms` on a fixed schedule whether or not its earlier ones were answered, timed from
    /// each request's scheduled send time (no coordinated omission); over the driver's warm-up
    /// and duration, then at most [`OPEN_LOOP_DRAIN`] for the last replies.
    OpenLoop { connections: usize, period_ms: u32 },
    /// `connections` idle connections asked for, kept alive (read, answering the server's pings),
    /// from several loopback source addresses: the server's memory per connection as in
    /// [`Workload::IdleMemory`], then its CPU time over [`IDLE_LIVE_PINGS`] ping intervals of
    /// [`IDLE_LIVE_PING_INTERVAL_MS`]. Fewer are measured when the open-files limit cannot hold
    /// them (see [`idle_live_count`]). Yoctopus alone.
    IdleLive { connections: usize },
}

/// How long after an open-loop window its replies are waited for, at most.
pub(crate) const OPEN_LOOP_DRAIN: std::time::Duration = std::time::Duration::from_secs(2);

/// The ping interval `bench-yoctopus` gets for `idle-100k` (`PING_INTERVAL_MS`): a quarter of
/// Yoctopus's default of 10 s (`ServerBuilder::ping_interval`), so that the window covers
/// [`IDLE_LIVE_PINGS`] intervals in seconds, not in most of a minute.
pub(crate) const IDLE_LIVE_PING_INTERVAL_MS: u64 = 2500;

/// Yoctopus's default ping interval, which the pings' CPU cost is scaled to for the goal.
pub(crate) const DEFAULT_PING_INTERVAL_MS: u64 = 10_000;

/// Ping intervals in `idle-100k`'s window.
pub(crate) const IDLE_LIVE_PINGS: u32 = 2;

/// Open files kept free of `idle-100k`'s connections, in the server and in the load generator
/// (each holds one descriptor per connection): their listeners, pipes, libraries, and the load
/// generator's own 256 (see `bench-loadgen`'s `enough_open_files`).
pub(crate) const IDLE_LIVE_FD_MARGIN: u64 = 1000;

/// How many of `asked` live idle connections can be measured under the open-files hard limit
/// `hard`: all of them, or the limit minus [`IDLE_LIVE_FD_MARGIN`]; `Some(hard)` when that is
/// fewer, to say so in the table.
pub(crate) fn idle_live_count(asked: usize, hard: u64) -> (usize, Option<u64>) {
    let room = usize::try_from(hard.saturating_sub(IDLE_LIVE_FD_MARGIN)).unwrap_or(usize::MAX);
    if room >= asked {
        (asked, None)
    } else {
        (room.max(1), Some(hard))
    }
}

/// Requests per receiver before the measured ones in `cluster-notify`, not counted.
pub(crate) const CLUSTER_NOTIFY_WARMUP: usize = 100;

/// Triggers sent before the measured ones of a fan-out, not counted: the first push on a
/// connection that has written nothing since its handshake may cost more than later ones.
pub(crate) const FANOUT_WARMUP_TRIGGERS: usize = 1;

impl Workload {
    /// The program `server` runs for this workload, and the flags it is started with besides its
    /// listeners: its own program without flags, but `bench-yoctopus --fanout` for the fan-outs,
    /// and the hand-written multicast server for the baseline's roles in the multicast.
    pub(crate) fn server_command(self, server: &Server) -> (&'static str, &'static [&'static str]) {
        match (self, server.role) {
            (Self::Multicast { .. }, Role::Baseline | Role::Control) => {
                (MULTICAST_BASELINE_BINARY, &[])
            }
            (Self::Multicast { .. }, Role::Alternative) => {
                (MULTICAST_BASELINE_BINARY, &["--writers", "task"])
            }
            (
                Self::Fanout { .. }
                | Self::Multicast { .. }
                | Self::ClusterNotify { .. }
                | Self::ClusterMulticast { .. },
                _,
            ) => (server.binary, &["--fanout"]),
            // The database and the poll interval are added per measurement.
            (Self::Tracker { .. }, _) => (crate::tracker::SERVER_BINARY, &[]),
            (
                Self::Throughput { .. }
                | Self::IdleMemory { .. }
                | Self::OpenLoop { .. }
                | Self::IdleLive { .. },
                _,
            ) => (server.binary, &[]),
        }
    }

    /// What `server`'s environment gets besides `PORT` for this workload: the live idle run's
    /// shorter ping interval.
    pub(crate) fn server_env(self) -> Vec<(&'static str, String)> {
        match self {
            Self::IdleLive { .. } => {
                vec![("PING_INTERVAL_MS", IDLE_LIVE_PING_INTERVAL_MS.to_string())]
            }
            _ => Vec::new(),
        }
    }

    /// The idle connections it holds (and the fan-outs' controller), if it holds any, and needs
    /// the open-files limit to hold: the live idle run is left out, since it measures as many as
    /// the limit allows (see [`idle_live_count`]).
    pub(crate) fn idle_connections(self) -> Option<usize> {
        match self {
            Self::IdleMemory { connections } => Some(connections),
            Self::Fanout { connections, .. }
            | Self::Multicast { connections, .. }
            | Self::ClusterMulticast { connections, .. } => Some(connections + 1),
            Self::Tracker { connections, .. } => Some(connections),
            Self::OpenLoop { connections, .. } => Some(connections),
            Self::Throughput { .. } | Self::ClusterNotify { .. } | Self::IdleLive { .. } => None,
        }
    }
}

/// A named workload.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    /// Short name, used by `--configs` and in the tables.
    pub(crate) name: &'static str,
    pub(crate) workload: Workload,
    /// Whether Yoctopus with listeners ([`Role::Variant`]) is measured too, in the same rounds.
    pub(crate) listeners: bool,
}

impl Config {
    /// Whether `server` is measured in this configuration: the notify fan-out and the change
    /// tracker measure the candidate alone (nothing else in the lineup has the connection
    /// register or a tracker), the multicast the candidate against the hand-written servers, and
    /// the alternative runs only there.
    pub(crate) fn measures(&self, server: &Server) -> bool {
        match server.role {
            Role::Candidate => true,
            Role::Baseline => {
                !matches!(
                    self.workload,
                    Workload::Fanout { .. } | Workload::Tracker { .. } | Workload::IdleLive { .. }
                ) && !self.is_cluster()
            }
            Role::Control => {
                !matches!(
                    self.workload,
                    Workload::Fanout { .. }
                        | Workload::Tracker { .. }
                        | Workload::OpenLoop { .. }
                        | Workload::IdleLive { .. }
                ) && !self.is_cluster()
            }
            Role::Alternative => matches!(self.workload, Workload::Multicast { .. }),
            Role::Reference => {
                !self.is_fan_out() && !self.is_tracker() && !self.is_cluster() && !self.is_new()
            }
            Role::Variant => {
                self.listeners
                    && !self.is_fan_out()
                    && !self.is_tracker()
                    && !self.is_cluster()
                    && !self.is_new()
            }
            Role::Cluster { .. } => self.is_cluster(),
            Role::Batching => {
                self.bounds_the_candidate() || matches!(self.workload, Workload::OpenLoop { .. })
            }
            Role::Floor => self.bounds_the_candidate(),
        }
    }

    /// Whether the hand-written bounds, the batching baseline and the floor, are measured: in the
    /// closed-loop throughput configurations, which they answer as the baseline does.
    pub(crate) fn bounds_the_candidate(&self) -> bool {
        matches!(self.workload, Workload::Throughput { .. })
    }

    /// Whether it is a cluster configuration, which measures Yoctopus alone, on one server and
    /// as clusters.
    pub(crate) fn is_cluster(&self) -> bool {
        matches!(
            self.workload,
            Workload::ClusterNotify { .. } | Workload::ClusterMulticast { .. }
        )
    }

    /// Whether it is the open loop or the live idle run, which measure their own lineups (see
    /// the module's documentation) and not the reference.
    pub(crate) fn is_new(&self) -> bool {
        matches!(
            self.workload,
            Workload::OpenLoop { .. } | Workload::IdleLive { .. }
        )
    }

    /// Whether it is measured in round `round` (from 0): the open loop and the live idle run only
    /// in the first, to keep the default run under 15 minutes (each measurement of theirs is long,
    /// and each already holds many thousands of samples, or one steady figure); the others in
    /// every round.
    pub(crate) fn measured_in(&self, round: usize) -> bool {
        round == 0 || !self.is_new()
    }

    /// How many of `rounds` rounds measure it (see [`measured_in`](Self::measured_in)).
    pub(crate) fn rounds(&self, rounds: usize) -> usize {
        (0..rounds).filter(|round| self.measured_in(*round)).count()
    }

    /// Whether it is a change-tracking configuration, which only `bench-tracker` runs.
    pub(crate) fn is_tracker(&self) -> bool {
        matches!(self.workload, Workload::Tracker { .. })
    }

    /// Whether it is one of the fan-outs (notify or multicast), which the reference never runs.
    pub(crate) fn is_fan_out(&self) -> bool {
        matches!(
            self.workload,
            Workload::Fanout { .. } | Workload::Multicast { .. }
        )
    }

    /// The servers of `servers` measured in this configuration, in their order.
    pub(crate) fn lineup(&self, servers: &[Server]) -> Vec<Server> {
        servers
            .iter()
            .filter(|server| self.measures(server))
            .copied()
            .collect()
    }

    /// One line saying what the configuration measures.
    pub(crate) fn describe(&self) -> String {
        match self.workload {
            Workload::Throughput {
                connections,
                in_flight,
                request,
            } => format!(
                "{connections} connections x {in_flight} in flight, {request} request, closed loop{}",
                if self.listeners {
                    "; Yoctopus also with no-op and with transforming listeners"
                } else {
                    ""
                }
            ),
            Workload::IdleMemory { connections } => format!(
                "{connections} idle connections: server RSS per connection, minus the RSS before"
            ),
            Workload::Fanout {
                connections,
                triggers,
            } => format!(
                "one notify by id from a background task to each of {connections} idle \
                 connections, first call to last push received; {triggers} triggers per round \
                 after {FANOUT_WARMUP_TRIGGERS} warm-up; Yoctopus alone (the baseline and the \
                 reference have no connection register)"
            ),
            Workload::Multicast {
                connections,
                triggers,
            } => format!(
                "one multicast, from a background task, to {connections} idle connections \
                 labelled alike, from the call (the push's serialization) to the last push \
                 received; {triggers} triggers per round after {FANOUT_WARMUP_TRIGGERS} warm-up; \
                 Yoctopus's Connections::multicast with a label filter against the hand-written \
                 loop over fastwebsockets write halves ({MULTICAST_BASELINE_BINARY}: the baseline \
                 and its A/A control write to each socket in turn, `writer tasks` queues to a \
                 task per connection)"
            ),
            Workload::Tracker {
                backend,
                poll_ms,
                connections,
                commits,
                outbound_queue,
            } => format!(
                "database change tracking on {backend}{}: {connections} connections subscribed to \
                 every change of `posts`; commits by one writer of the load generator's own, {}, \
                 each from its commit returning to the last connection reading its push; then \
                 bursts of single-row commits by {} as fast as they go (at most {} s or {} \
                 commits), until every push was read; every push verified; outbound queue {} \
                 frames; Yoctopus alone",
                match poll_ms {
                    Some(poll) => format!(" (poll_interval {poll} ms)"),
                    None => " (the tracker's default poll_interval)".to_owned(),
                },
                crate::tracker::latency_phases(commits)
                    .iter()
                    .map(|(count, every)| format!("{count} one every {} ms", every.as_millis()))
                    .collect::<Vec<_>>()
                    .join(", then "),
                crate::tracker::writers(backend)
                    .iter()
                    .map(|writers| match writers {
                        1 => "1 writer".to_owned(),
                        n => format!("{n} writers"),
                    })
                    .collect::<Vec<_>>()
                    .join(", then by "),
                crate::tracker::BURST.as_secs(),
                crate::tracker::BURST_MAX,
                outbound_queue,
            ),
            Workload::ClusterNotify { per_target } => format!(
                "one notify by id from a client's request to another client, on the same server \
                 and on another server of a cluster through NATS: a sender on the first server, a \
                 receiver on every server, {per_target} requests per receiver after \
                 {CLUSTER_NOTIFY_WARMUP} warm-up, one at a time and the receivers in turn, timed \
                 from the request written to the push read (one process, one monotonic clock); \
                 Yoctopus alone, as one server and as clusters of 1, 2 and 3 nodes; every server \
                 and nats-server on the server's core"
            ),
            Workload::ClusterMulticast {
                connections,
                triggers,
            } => format!(
                "one multicast to {connections} labelled connections spread evenly over the \
                 servers of a cluster, triggered on the first, from the trigger written to the \
                 last connection reading its push, every connection exactly once; {triggers} \
                 triggers per round after {FANOUT_WARMUP_TRIGGERS} warm-up; Yoctopus alone, as \
                 one server without a cluster and as clusters of 1, 2 and 3 nodes through NATS; \
                 every server and nats-server on the server's core"
            ),
            Workload::OpenLoop {
                connections,
                period_ms,
            } => format!(
                "{connections} connections x 1 greeter request / {period_ms} ms on a fixed \
                 schedule ({} req/s offered), open loop: latency from each request's scheduled \
                 send time to its verified reply (no coordinated omission); Yoctopus against the \
                 naive and the batching baseline",
                crate::table::number(Some(open_loop_offered(connections, period_ms)), 0)
            ),
            Workload::IdleLive { connections } => format!(
                "{connections} idle connections asked for (as many as the open-files limit \
                 allows), kept alive from several loopback source addresses: server RSS per \
                 connection minus the RSS before, then the server's CPU over {IDLE_LIVE_PINGS} \
                 liveness ping intervals of {IDLE_LIVE_PING_INTERVAL_MS} ms (PING_INTERVAL_MS; \
                 the default is {DEFAULT_PING_INTERVAL_MS} ms); Yoctopus alone"
            ),
        }
    }
}

/// The configurations: three loads of the greeter, the nested request at the load that
/// separates fast servers best, memory at `idle_connections` idle connections, and the notify
/// fan-out and the multicast to `fanout.connections` connections, `fanout.triggers` triggers a
/// round. The two 50-connection greeter loads also price listeners: one answered a request at a
/// time, one pipelined. Then the cluster's: notify by id across servers, and the multicast to
/// `fanout.connections` connections spread over them, `cluster_notifies` requests per receiver.
/// Last, the open loop (`open-loop-10k`: 10,000 connections x 1 request / 100 ms) and the live
/// idle run (`idle-100k`: `idle_live_connections` connections asked for).
pub(crate) fn standard(
    idle_connections: usize,
    fanout: FanoutSize,
    cluster_notifies: usize,
    idle_live_connections: usize,
) -> Vec<Config> {
    let throughput = |name, connections, in_flight, request, listeners| Config {
        name,
        workload: Workload::Throughput {
            connections,
            in_flight,
            request,
        },
        listeners,
    };
    vec![
        throughput("50x1", 50, 1, RequestKind::Greeter, true),
        throughput("50x16", 50, 16, RequestKind::Greeter, true),
        throughput("1000x1", 1000, 1, RequestKind::Greeter, false),
        throughput("nested-50x16", 50, 16, RequestKind::Nested, false),
        Config {
            name: "idle-memory",
            workload: Workload::IdleMemory {
                connections: idle_connections,
            },
            listeners: false,
        },
        Config {
            name: "notify-10k",
            workload: Workload::Fanout {
                connections: fanout.connections,
                triggers: fanout.triggers,
            },
            listeners: false,
        },
        Config {
            name: "multicast-10k",
            workload: Workload::Multicast {
                connections: fanout.connections,
                triggers: fanout.triggers,
            },
            listeners: false,
        },
        Config {
            name: "cluster-notify",
            workload: Workload::ClusterNotify {
                per_target: cluster_notifies,
            },
            listeners: false,
        },
        Config {
            name: "cluster-multicast-10k",
            workload: Workload::ClusterMulticast {
                connections: fanout.connections,
                triggers: fanout.triggers,
            },
            listeners: false,
        },
        Config {
            name: "open-loop-10k",
            workload: Workload::OpenLoop {
                connections: OPEN_LOOP_CONNECTIONS,
                period_ms: OPEN_LOOP_PERIOD_MS,
            },
            listeners: false,
        },
        Config {
            name: "idle-100k",
            workload: Workload::IdleLive {
                connections: idle_live_connections,
            },
            listeners: false,
        },
    ]
}

/// The open loop's connections.
pub(crate) const OPEN_LOOP_CONNECTIONS: usize = 10_000;

/// The time between two requests of one open-loop connection.
pub(crate) const OPEN_LOOP_PERIOD_MS: u32 = 100;

/// The live idle run's connections asked for by default (`--idle-live-connections`).
pub(crate) const IDLE_LIVE_CONNECTIONS: usize = 100_000;

/// The open loop's offered rate, in requests per second.
pub(crate) fn open_loop_offered(connections: usize, period_ms: u32) -> f64 {
    #[expect(
        clippy::cast_precision_loss,
        reason = "connection counts stay far below 2^52"
    )]
    let connections = connections as f64;
    connections * 1000.0 / f64::from(period_ms.max(1))
}

/// Measured requests per receiver in `cluster-notify` by default.
pub(crate) const CLUSTER_NOTIFIES: usize = 1000;

/// The configurations run only when `--configs` names them: database change tracking, on
/// SQLite (the writer is another process, so the tracker finds its commits by polling
/// `PRAGMA data_version`: with the default `poll_interval` of 50 ms, and with 5 ms) and on
/// PostgreSQL (a private server the driver starts, whose `NOTIFY` wakes the tracker).
pub(crate) fn optional(tracker: TrackerSize) -> Vec<Config> {
    let tracker_config = |name, backend, poll_ms| Config {
        name,
        workload: Workload::Tracker {
            backend,
            poll_ms,
            connections: tracker.connections,
            commits: tracker.commits,
            outbound_queue: tracker.outbound_queue,
        },
        listeners: false,
    };
    vec![
        tracker_config("tracker-sqlite", Backend::Sqlite, None),
        tracker_config("tracker-sqlite-5ms", Backend::Sqlite, Some(5)),
        tracker_config("tracker-postgres", Backend::Postgres, None),
    ]
}

/// How large the change-tracking configurations are: the 1,000 subscribed connections,
/// 200 paced commits, and the server's outbound queue (see [`crate::tracker::OUTBOUND_QUEUE`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TrackerSize {
    pub(crate) connections: usize,
    pub(crate) commits: usize,
    pub(crate) outbound_queue: usize,
}

impl Default for TrackerSize {
    fn default() -> Self {
        Self {
            connections: 1000,
            commits: 200,
            outbound_queue: crate::tracker::OUTBOUND_QUEUE,
        }
    }
}

/// How large the fan-outs (notify and multicast) are: the 10,000 connections and 5
/// triggers a round by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FanoutSize {
    pub(crate) connections: usize,
    pub(crate) triggers: usize,
}

impl Default for FanoutSize {
    fn default() -> Self {
        Self {
            connections: 10_000,
            triggers: 5,
        }
    }
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

#[cfg(test)]
mod tests {
    use yoctopus_bench::request::Listeners;

    use super::{standard, FanoutSize, Workload};
    use crate::lineup::{self, Role, Server};

    fn configs() -> Vec<super::Config> {
        standard(
            10,
            FanoutSize {
                connections: 10,
                triggers: 2,
            },
            5,
            100,
        )
    }

    #[test]
    fn listeners_are_measured_at_50x1_and_50x16_only_and_beside_every_other_server() {
        let servers = lineup::standard(None);
        for config in configs()
            .into_iter()
            .filter(|config| !config.is_fan_out() && !config.is_cluster() && !config.is_new())
        {
            let lineup = config.lineup(&servers);
            let variants = lineup.iter().filter(|s| s.role == Role::Variant).count();
            let expected = if matches!(config.name, "50x1" | "50x16") {
                2
            } else {
                0
            };
            assert_eq!(variants, expected, "{}", config.name);
            // Baseline, candidate and A/A control, and in the throughput configurations the
            // batching baseline and the floor.
            let others = if config.bounds_the_candidate() { 5 } else { 3 };
            assert_eq!(lineup.len() - variants, others, "{}", config.name);
        }
    }

    #[test]
    fn the_batching_baseline_and_the_floor_are_measured_in_every_throughput_configuration_only() {
        let servers = lineup::standard(None);
        for config in configs() {
            let bounds: Vec<_> = config
                .lineup(&servers)
                .into_iter()
                .filter(|server| matches!(server.role, Role::Batching | Role::Floor))
                .map(|server| config.workload.server_command(&server))
                .collect();
            if matches!(config.workload, Workload::OpenLoop { .. }) {
                assert_eq!(
                    bounds,
                    [(lineup::BATCHING_BASELINE_BINARY, &[][..])],
                    "{}",
                    config.name
                );
            } else if matches!(config.workload, Workload::Throughput { .. }) {
                assert_eq!(
                    bounds,
                    [
                        (lineup::BATCHING_BASELINE_BINARY, &[][..]),
                        (lineup::FLOOR_BINARY, &[][..])
                    ],
                    "{}",
                    config.name
                );
            } else {
                assert!(bounds.is_empty(), "{}", config.name);
            }
        }
    }

    #[test]
    fn the_fan_out_measures_yoctopus_alone_started_with_fanout() {
        let reference = Server {
            label: "yoctopus @ 3f404bb",
            binary: lineup::REFERENCE_BINARY,
            role: Role::Reference,
            listeners: Listeners::None,
        };
        let fanout: Vec<_> = configs()
            .into_iter()
            .filter(|config| matches!(config.workload, Workload::Fanout { .. }))
            .collect();
        assert_eq!(fanout.len(), 1);
        let lineup = fanout[0].lineup(&lineup::standard(Some(reference)));
        assert_eq!(lineup.len(), 1);
        assert_eq!(lineup[0].role, Role::Candidate);
        assert_eq!(lineup[0].listeners, Listeners::None);
        assert_eq!(
            fanout[0].workload.server_command(&lineup[0]),
            ("bench-yoctopus", &["--fanout"][..])
        );
        for config in configs()
            .into_iter()
            .filter(|config| !config.is_fan_out() && !config.is_cluster())
        {
            for server in config.lineup(&lineup::standard(Some(reference))) {
                assert_eq!(
                    config.workload.server_command(&server),
                    (server.binary, &[][..]),
                    "{} {}",
                    config.name,
                    server.label
                );
            }
        }
    }

    #[test]
    fn the_multicast_measures_yoctopus_against_the_hand_written_loops() {
        let reference = Server {
            label: "yoctopus @ 3f404bb",
            binary: lineup::REFERENCE_BINARY,
            role: Role::Reference,
            listeners: Listeners::None,
        };
        let multicast: Vec<_> = configs()
            .into_iter()
            .filter(|config| matches!(config.workload, Workload::Multicast { .. }))
            .collect();
        assert_eq!(multicast.len(), 1);
        assert_eq!(multicast[0].name, "multicast-10k");
        let lineup = multicast[0].lineup(&lineup::standard(Some(reference)));
        let commands: Vec<_> = lineup
            .iter()
            .map(|server| (server.role, multicast[0].workload.server_command(server)))
            .collect();
        assert_eq!(
            commands,
            [
                (Role::Baseline, ("bench-multicast-baseline", &[][..])),
                (Role::Candidate, ("bench-yoctopus", &["--fanout"][..])),
                (
                    Role::Alternative,
                    ("bench-multicast-baseline", &["--writers", "task"][..])
                ),
                (Role::Control, ("bench-multicast-baseline", &[][..])),
            ]
        );
        assert!(lineup
            .iter()
            .all(|server| server.listeners == Listeners::None));
        assert_eq!(multicast[0].workload.idle_connections(), Some(11));
    }

    #[test]
    fn the_tracker_configurations_measure_bench_tracker_alone_and_only_when_asked() {
        let reference = Server {
            label: "yoctopus @ 3f404bb",
            binary: lineup::REFERENCE_BINARY,
            role: Role::Reference,
            listeners: Listeners::None,
        };
        let optional = super::optional(super::TrackerSize::default());
        let names: Vec<_> = optional.iter().map(|config| config.name).collect();
        assert_eq!(
            names,
            ["tracker-sqlite", "tracker-sqlite-5ms", "tracker-postgres"]
        );
        assert!(configs().iter().all(|config| !config.is_tracker()));
        for config in &optional {
            assert!(config.is_tracker());
            let lineup = config.lineup(&lineup::standard(Some(reference)));
            assert_eq!(lineup.len(), 1, "{}", config.name);
            assert_eq!(lineup[0].role, Role::Candidate);
            assert_eq!(
                config.workload.server_command(&lineup[0]),
                ("bench-tracker", &[][..])
            );
            assert_eq!(config.workload.idle_connections(), Some(1000));
        }
    }

    #[test]
    fn the_cluster_configurations_measure_yoctopus_alone_on_one_server_and_as_clusters() {
        let reference = Server {
            label: "yoctopus @ 3f404bb",
            binary: lineup::REFERENCE_BINARY,
            role: Role::Reference,
            listeners: Listeners::None,
        };
        let clusters: Vec<_> = configs()
            .into_iter()
            .filter(super::Config::is_cluster)
            .collect();
        let names: Vec<_> = clusters.iter().map(|config| config.name).collect();
        assert_eq!(names, ["cluster-notify", "cluster-multicast-10k"]);
        for config in &clusters {
            let lineup = config.lineup(&lineup::standard(Some(reference)));
            let roles: Vec<_> = lineup.iter().map(|server| server.role).collect();
            assert_eq!(
                roles,
                [
                    Role::Candidate,
                    Role::Cluster { nodes: 0 },
                    Role::Cluster { nodes: 1 },
                    Role::Cluster { nodes: 2 },
                    Role::Cluster { nodes: 3 },
                ],
                "{}",
                config.name
            );
            for server in &lineup {
                assert_eq!(
                    config.workload.server_command(server),
                    ("bench-yoctopus", &["--fanout"][..])
                );
            }
        }
        assert_eq!(clusters[0].workload.idle_connections(), None);
        assert_eq!(clusters[1].workload.idle_connections(), Some(11));
        for config in configs().into_iter().filter(|config| !config.is_cluster()) {
            assert!(
                config
                    .lineup(&lineup::standard(None))
                    .iter()
                    .all(|server| !matches!(server.role, Role::Cluster { .. })),
                "{}",
                config.name
            );
        }
    }

    #[test]
    fn the_reference_is_measured_in_every_configuration_but_the_fan_out() {
        let reference = Server {
            label: "yoctopus @ 3f404bb",
            binary: lineup::REFERENCE_BINARY,
            role: Role::Reference,
            listeners: Listeners::None,
        };
        let without = lineup::standard(None);
        let with = lineup::standard(Some(reference));
        for config in configs()
            .into_iter()
            .filter(|config| !config.is_fan_out() && !config.is_cluster() && !config.is_new())
        {
            let lineup = config.lineup(&with);
            assert_eq!(
                lineup.iter().filter(|s| s.role == Role::Reference).count(),
                1,
                "{}",
                config.name
            );
            assert_eq!(
                lineup.len(),
                config.lineup(&without).len() + 1,
                "{}",
                config.name
            );
        }
    }

    #[test]
    fn the_open_loop_measures_yoctopus_against_both_baselines_without_control_or_reference() {
        let reference = Server {
            label: "yoctopus @ 3f404bb",
            binary: lineup::REFERENCE_BINARY,
            role: Role::Reference,
            listeners: Listeners::None,
        };
        let open: Vec<_> = configs()
            .into_iter()
            .filter(|config| matches!(config.workload, Workload::OpenLoop { .. }))
            .collect();
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].name, "open-loop-10k");
        assert_eq!(
            open[0].workload,
            Workload::OpenLoop {
                connections: 10_000,
                period_ms: 100
            }
        );
        let commands: Vec<_> = open[0]
            .lineup(&lineup::standard(Some(reference)))
            .iter()
            .map(|server| (server.role, open[0].workload.server_command(server)))
            .collect();
        assert_eq!(
            commands,
            [
                (Role::Baseline, ("bench-baseline", &[][..])),
                (Role::Candidate, ("bench-yoctopus", &[][..])),
                (Role::Batching, (lineup::BATCHING_BASELINE_BINARY, &[][..])),
            ]
        );
        assert!(open[0].workload.server_env().is_empty());
        assert_eq!(open[0].workload.idle_connections(), Some(10_000));
        assert!((super::open_loop_offered(10_000, 100) - 100_000.0).abs() < 1e-6);
    }

    #[test]
    fn the_live_idle_run_measures_yoctopus_alone_with_a_shorter_ping_interval() {
        let reference = Server {
            label: "yoctopus @ 3f404bb",
            binary: lineup::REFERENCE_BINARY,
            role: Role::Reference,
            listeners: Listeners::None,
        };
        let live: Vec<_> = configs()
            .into_iter()
            .filter(|config| matches!(config.workload, Workload::IdleLive { .. }))
            .collect();
        assert_eq!(live.len(), 1);
        assert_eq!(live[0].name, "idle-100k");
        assert_eq!(live[0].workload, Workload::IdleLive { connections: 100 });
        let lineup = live[0].lineup(&lineup::standard(Some(reference)));
        assert_eq!(lineup.len(), 1);
        assert_eq!(lineup[0].role, Role::Candidate);
        assert_eq!(
            live[0].workload.server_command(&lineup[0]),
            ("bench-yoctopus", &[][..])
        );
        assert_eq!(
            live[0].workload.server_env(),
            [(
                "PING_INTERVAL_MS",
                super::IDLE_LIVE_PING_INTERVAL_MS.to_string()
            )]
        );
        // Not held to the open-files limit up front: it measures what the limit allows.
        assert_eq!(live[0].workload.idle_connections(), None);
        // The window covers at least two of the server's ping intervals.
        const { assert!(super::IDLE_LIVE_PINGS >= 2) };
    }

    #[test]
    fn the_live_idle_run_measures_as_many_connections_as_the_hard_limit_allows() {
        assert_eq!(
            super::idle_live_count(100_000, 20_000),
            (19_000, Some(20_000))
        );
        assert_eq!(super::idle_live_count(100_000, 200_000), (100_000, None));
        assert_eq!(super::idle_live_count(100_000, u64::MAX), (100_000, None));
        assert_eq!(super::idle_live_count(10, 500), (1, Some(500)));
    }

    #[test]
    fn the_new_configurations_are_in_the_default_list_last_and_measured_in_the_first_round_only() {
        let names: Vec<_> = configs().iter().map(|config| config.name).collect();
        assert_eq!(names[names.len() - 2..], ["open-loop-10k", "idle-100k"]);
        for config in configs() {
            let expected = if config.is_new() { 1 } else { 5 };
            assert_eq!(config.rounds(5), expected, "{}", config.name);
            assert!(config.measured_in(0), "{}", config.name);
            assert_eq!(config.measured_in(1), !config.is_new(), "{}", config.name);
        }
    }
}
