//! Counts and times replies for a throughput run.
//!
//! Only verified replies that arrive inside the measured window count and are timed; a wrong reply
//! or a broken connection is counted as an error whenever it happens, warm-up included, and never
//! as throughput.

use hdrhistogram::Histogram;
use tokio::time::Instant;
use yoctopus_bench::report::{Fairness, Latency};

/// The tallies of one run, shared by every connection of the (single-threaded) load generator.
#[derive(Debug)]
pub(crate) struct Recorder {
    window_start: Instant,
    window_end: Instant,
    completed: u64,
    errors: u64,
    connection_failures: u64,
    first_error: Option<String>,
    latency_us: Histogram<u64>,
    /// Each connection's own latencies, at two significant digits: enough to compare medians.
    per_connection: Vec<Histogram<u64>>,
}

impl Recorder {
    /// A recorder that measures replies arriving in `[window_start, window_end)` on `connections`
    /// connections, numbered from 0.
    pub(crate) fn new(window_start: Instant, window_end: Instant, connections: usize) -> Self {
        Self {
            window_start,
            window_end,
            completed: 0,
            errors: 0,
            connection_failures: 0,
            first_error: None,
            // 1 µs to 100 s at three significant digits.
            latency_us: Histogram::new_with_bounds(1, 100_000_000, 3)
                .expect("the bounds are valid"),
            per_connection: (0..connections)
                .map(|_| {
                    Histogram::new_with_bounds(1, 100_000_000, 2).expect("the bounds are valid")
                })
                .collect(),
        }
    }

    /// A verified reply on `connection` to a request sent at `sent`, received at `received`.
    pub(crate) fn reply(&mut self, connection: usize, sent: Instant, received: Instant) {
        if received < self.window_start || received >= self.window_end {
            return;
        }
        self.completed += 1;
        let micros = u64::try_from(received.duration_since(sent).as_micros()).unwrap_or(u64::MAX);
        self.latency_us.saturating_record(micros.max(1));
        if let Some(own) = self.per_connection.get_mut(connection) {
            own.saturating_record(micros.max(1));
        }
    }

    /// A wrong reply.
    pub(crate) fn error(&mut self, problem: String) {
        self.errors += 1;
        self.first_error.get_or_insert(problem);
    }

    /// A connection that failed to open or broke.
    pub(crate) fn connection_failed(&mut self, problem: String) {
        self.connection_failures += 1;
        self.first_error.get_or_insert(problem);
    }

    /// Verified replies counted so far.
    pub(crate) fn completed(&self) -> u64 {
        self.completed
    }

    /// Wrong replies so far.
    pub(crate) fn errors(&self) -> u64 {
        self.errors
    }

    /// Failed connections so far.
    pub(crate) fn connection_failures(&self) -> u64 {
        self.connection_failures
    }

    /// The first problem seen.
    pub(crate) fn first_error(&self) -> Option<&str> {
        self.first_error.as_deref()
    }

    /// The latency percentiles of the counted replies.
    pub(crate) fn latency(&self) -> Latency {
        let histogram = &self.latency_us;
        Latency {
            p50: histogram.value_at_quantile(0.50),
            p99: histogram.value_at_quantile(0.99),
            p999: histogram.value_at_quantile(0.999),
            max: histogram.max(),
        }
    }

    /// The spread of the connections' medians (over those that got a reply in the window) and of
    /// their reply counts (over all of them: a starved connection counts 0).
    pub(crate) fn fairness(&self) -> Fairness {
        let medians = self
            .per_connection
            .iter()
            .filter(|own| !own.is_empty())
            .map(|own| own.value_at_quantile(0.5));
        let counts = self.per_connection.iter().map(Histogram::len);
        Fairness {
            fastest_median_us: medians.clone().min().unwrap_or(0),
            slowest_median_us: medians.max().unwrap_or(0),
            fewest_replies: counts.clone().min().unwrap_or(0),
            most_replies: counts.max().unwrap_or(0),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::Recorder;
    use tokio::time::Instant;

    #[test]
    fn only_replies_inside_the_window_count() {
        let start = Instant::now();
        let second = Duration::from_secs(1);
        let mut recorder = Recorder::new(start + second, start + 2 * second, 1);
        recorder.reply(0, start, start + second / 2);
        recorder.reply(
            0,
            start + second,
            start + second + Duration::from_micros(250),
        );
        recorder.reply(0, start, start + 3 * second);
        recorder.error("wrong".to_owned());
        assert_eq!((recorder.completed(), recorder.errors()), (1, 1));
        assert_eq!(recorder.first_error(), Some("wrong"));
        let latency = recorder.latency();
        assert!((249..=251).contains(&latency.p50), "{latency:?}");
    }

    #[test]
    fn fairness_shows_the_slowest_and_the_starved_connection() {
        let start = Instant::now();
        let second = Duration::from_secs(1);
        let mut recorder = Recorder::new(start, start + second, 3);
        let at = |micros| start + Duration::from_micros(micros);
        for _ in 0..3 {
            recorder.reply(0, start, at(100));
        }
        recorder.reply(1, start, at(9_000));
        let fairness = recorder.fairness();
        assert_eq!(fairness.fastest_median_us, 100);
        assert!(
            (8_900..=9_100).contains(&fairness.slowest_median_us),
            "{fairness:?}"
        );
        assert_eq!((fairness.fewest_replies, fairness.most_replies), (0, 3));
    }
}
