//! What the rounds measured, and the statistics the tables are made of: medians across rounds, and
//! medians of per-round ratios.
//!
//! A ratio is always taken within one round, between measurements made minutes apart at most, and
//! only then summarized across rounds: on a noisy machine the median of per-round ratios is far
//! steadier than the ratio of two medians, let alone of two single runs.

use serde::Serialize;
use yoctopus_bench::report::{
    FanoutReport, NotifyOneReport, OpenLoopReport, PingWindow, ThroughputReport,
};
use yoctopus_bench::tracker::TrackerReport;

/// Server memory in an idle-memory measurement.
#[derive(Debug, Clone, Copy, Serialize)]
pub(crate) struct MemoryReport {
    /// Connections that completed the handshake and one request.
    pub(crate) connections: usize,
    /// Connections that failed along the way.
    pub(crate) failed: usize,
    /// RSS before any connection, in bytes.
    pub(crate) base_bytes: u64,
    /// RSS with every connection open, in bytes.
    pub(crate) connected_bytes: u64,
    /// RSS after one request on every connection, in bytes.
    pub(crate) requested_bytes: u64,
}

impl MemoryReport {
    /// Bytes per connection after the handshakes.
    pub(crate) fn per_connection_connected(&self) -> Option<f64> {
        self.per_connection(self.connected_bytes)
    }

    /// Bytes per connection after one request each.
    pub(crate) fn per_connection_requested(&self) -> Option<f64> {
        self.per_connection(self.requested_bytes)
    }

    #[expect(
        clippy::cast_precision_loss,
        reason = "byte counts stay far below 2^52"
    )]
    fn per_connection(&self, bytes: u64) -> Option<f64> {
        (self.connections > 0)
            .then(|| bytes.saturating_sub(self.base_bytes) as f64 / self.connections as f64)
    }
}

/// A live idle run (`idle-100k`): the memory as in `idle-memory`, then the ping window.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct LiveIdleReport {
    /// The connections asked for (`--idle-live-connections`).
    pub(crate) asked: usize,
    /// The open-files hard limit, when it allowed fewer connections than asked.
    pub(crate) hard_limit: Option<u64>,
    /// The server's memory, over the connections measured.
    pub(crate) memory: MemoryReport,
    /// The server's ping interval in the run, in milliseconds.
    pub(crate) ping_interval_ms: u64,
    /// The window over the server's pings.
    pub(crate) window: PingWindow,
}

impl LiveIdleReport {
    /// The server's CPU over the window, in percent of one core.
    pub(crate) fn ping_cpu_percent(&self) -> Option<f64> {
        let cpu = self.window.server_cpu_secs?;
        (self.window.window_secs > 0.0).then(|| cpu * 100.0 / self.window.window_secs)
    }

    /// The server's CPU per ping, in microseconds: the window's CPU over the pings seen in it.
    #[expect(
        clippy::cast_precision_loss,
        reason = "ping counts stay far below 2^52"
    )]
    pub(crate) fn cpu_us_per_ping(&self) -> Option<f64> {
        let cpu = self.window.server_cpu_secs?;
        (self.window.pings > 0).then(|| cpu * 1e6 / self.window.pings as f64)
    }

    /// [`ping_cpu_percent`](Self::ping_cpu_percent) projected to the connections asked for and
    /// the ping interval `interval_ms`: the pings' cost is per ping, so it scales with the pings
    /// per second, which is connections over interval. When the open-files limit capped the
    /// connections, this is what the asked-for number would cost.
    #[expect(
        clippy::cast_precision_loss,
        reason = "intervals in milliseconds and connection counts stay far below 2^52"
    )]
    pub(crate) fn ping_cpu_percent_at(&self, interval_ms: u64) -> Option<f64> {
        let connections = self.memory.connections;
        (connections > 0).then_some(())?;
        Some(
            self.ping_cpu_percent()? * self.ping_interval_ms as f64 / interval_ms.max(1) as f64
                * self.asked as f64
                / connections as f64,
        )
    }
}

/// The result of one measurement.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Outcome {
    Throughput(ThroughputReport),
    Memory(MemoryReport),
    /// A notify fan-out or a multicast (on one server or over a cluster) whose every trigger
    /// completed.
    Fanout(FanoutReport),
    /// A notify-one run (`cluster-notify`) whose every request completed.
    NotifyOne(NotifyOneReport),
    /// A change-tracking run whose every phase completed.
    Tracker(TrackerReport),
    /// An open-loop run.
    OpenLoop(OpenLoopReport),
    /// A live idle run.
    IdleLive(LiveIdleReport),
    /// The measurement could not be made (the message says why).
    Failed(String),
}

impl Outcome {
    /// The throughput report, if this is one.
    pub(crate) fn throughput(&self) -> Option<&ThroughputReport> {
        match self {
            Self::Throughput(report) => Some(report),
            _ => None,
        }
    }

    /// The fan-out report, if this is one.
    pub(crate) fn fanout(&self) -> Option<&FanoutReport> {
        match self {
            Self::Fanout(report) => Some(report),
            _ => None,
        }
    }

    /// The notify-one report, if this is one.
    pub(crate) fn notify_one(&self) -> Option<&NotifyOneReport> {
        match self {
            Self::NotifyOne(report) => Some(report),
            _ => None,
        }
    }

    /// The change-tracking report, if this is one.
    pub(crate) fn tracker(&self) -> Option<&TrackerReport> {
        match self {
            Self::Tracker(report) => Some(report),
            _ => None,
        }
    }

    /// The open-loop report, if this is one.
    pub(crate) fn open_loop(&self) -> Option<&OpenLoopReport> {
        match self {
            Self::OpenLoop(report) => Some(report),
            _ => None,
        }
    }

    /// The live idle report, if this is one.
    pub(crate) fn idle_live(&self) -> Option<&LiveIdleReport> {
        match self {
            Self::IdleLive(report) => Some(report),
            _ => None,
        }
    }

    /// The memory report, if this is one.
    pub(crate) fn memory(&self) -> Option<&MemoryReport> {
        match self {
            Self::Memory(report) => Some(report),
            _ => None,
        }
    }
}

/// One measurement: a server under a configuration in a round.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Measurement {
    pub(crate) round: usize,
    pub(crate) config: &'static str,
    pub(crate) server: &'static str,
    pub(crate) outcome: Outcome,
}

/// The median and range of a set of per-round values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Spread {
    pub(crate) median: f64,
    pub(crate) min: f64,
    pub(crate) max: f64,
}

impl Spread {
    /// `None` for no values.
    pub(crate) fn of(mut values: Vec<f64>) -> Option<Self> {
        values.retain(|value| value.is_finite());
        values.sort_by(f64::total_cmp);
        let (min, max) = (*values.first()?, *values.last()?);
        // The two middle values, which are one and the same for an odd count.
        let (lower, upper) = (values[(values.len() - 1) / 2], values[values.len() / 2]);
        let median = f64::midpoint(lower, upper);
        Some(Self { median, min, max })
    }
}

/// Every measurement of a run.
#[derive(Debug, Default, Serialize)]
pub(crate) struct Results {
    pub(crate) measurements: Vec<Measurement>,
}

impl Results {
    fn outcome(&self, round: usize, config: &str, server: &str) -> Option<&Outcome> {
        self.measurements
            .iter()
            .find(|m| m.round == round && m.config == config && m.server == server)
            .map(|m| &m.outcome)
    }

    fn rounds(&self) -> impl Iterator<Item = usize> + '_ {
        let last = self.measurements.iter().map(|m| m.round).max();
        (0..last.map_or(0, |last| last + 1))
            .filter(move |round| self.measurements.iter().any(|m| m.round == *round))
    }

    /// `metric` of `server` in `config`, one value per round that has it.
    pub(crate) fn values(
        &self,
        config: &str,
        server: &str,
        metric: impl Fn(&Outcome) -> Option<f64>,
    ) -> Vec<f64> {
        self.rounds()
            .filter_map(|round| self.outcome(round, config, server).and_then(&metric))
            .collect()
    }

    /// Per-round ratios of `metric`: `server` in `config` over `reference` in `reference_config`,
    /// for every round that has both.
    pub(crate) fn ratios(
        &self,
        measured: (&str, &str),
        reference: (&str, &str),
        metric: impl Fn(&Outcome) -> Option<f64>,
    ) -> Vec<f64> {
        self.paired(measured, reference, metric, |value, base| {
            (base > 0.0).then(|| value / base)
        })
    }

    /// Per-round differences of `metric`: `server` in `config` minus `reference` in
    /// `reference_config`, for every round that has both.
    pub(crate) fn differences(
        &self,
        measured: (&str, &str),
        reference: (&str, &str),
        metric: impl Fn(&Outcome) -> Option<f64>,
    ) -> Vec<f64> {
        self.paired(measured, reference, metric, |value, base| {
            Some(value - base)
        })
    }

    fn paired(
        &self,
        (config, server): (&str, &str),
        (reference_config, reference): (&str, &str),
        metric: impl Fn(&Outcome) -> Option<f64>,
        combine: impl Fn(f64, f64) -> Option<f64>,
    ) -> Vec<f64> {
        self.rounds()
            .filter_map(|round| {
                let value = self.outcome(round, config, server).and_then(&metric)?;
                let base = self
                    .outcome(round, reference_config, reference)
                    .and_then(&metric)?;
                combine(value, base)
            })
            .collect()
    }

    /// What `server` measured in `config`, round by round, in the order measured.
    pub(crate) fn outcomes<'a>(
        &'a self,
        config: &'a str,
        server: &'a str,
    ) -> impl Iterator<Item = (usize, &'a Outcome)> + 'a {
        self.measurements
            .iter()
            .filter(move |m| m.config == config && m.server == server)
            .map(|m| (m.round, &m.outcome))
    }

    /// The failures of `server` in `config`.
    pub(crate) fn failures(&self, config: &str, server: &str) -> Vec<&str> {
        self.measurements
            .iter()
            .filter(|m| m.config == config && m.server == server)
            .filter_map(|m| match &m.outcome {
                Outcome::Failed(why) => Some(why.as_str()),
                _ => None,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::{Measurement, MemoryReport, Outcome, Results, Spread};

    fn memory(round: usize, server: &'static str, requested_bytes: u64) -> Measurement {
        Measurement {
            round,
            config: "idle-memory",
            server,
            outcome: Outcome::Memory(MemoryReport {
                connections: 10,
                failed: 0,
                base_bytes: 1000,
                connected_bytes: 1000,
                requested_bytes,
            }),
        }
    }

    #[test]
    fn spread_has_the_median_and_the_range() {
        let spread = Spread::of(vec![3.0, 1.0, 2.0, 10.0]).expect("values");
        assert_eq!(
            spread,
            Spread {
                median: 2.5,
                min: 1.0,
                max: 10.0
            }
        );
        assert_eq!(Spread::of(vec![]), None);
    }

    #[test]
    fn ratios_pair_measurements_of_the_same_round() {
        let results = Results {
            measurements: vec![
                memory(0, "a", 2000),
                memory(0, "b", 3000),
                memory(1, "a", 3000),
                memory(2, "b", 5000),
            ],
        };
        let per_connection = |outcome: &Outcome| outcome.memory()?.per_connection_requested();
        assert_eq!(
            results.ratios(("idle-memory", "b"), ("idle-memory", "a"), per_connection),
            vec![2.0]
        );
        assert_eq!(
            results.values("idle-memory", "a", per_connection),
            vec![100.0, 200.0]
        );
        assert_eq!(
            results.differences(("idle-memory", "b"), ("idle-memory", "a"), per_connection),
            vec![100.0]
        );
    }
}
