//! Counts and times replies for a throughput run.
//!
//! Only verified replies that arrive inside the measured window count and are timed; a wrong reply
//! or a broken connection is counted as an error whenever it happens, warm-up included, and never
//! as throughput.

use hdrhistogram::Histogram;
use tokio::time::Instant;
use yoctopus_bench::report::Latency;

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
}

impl Recorder {
    /// A recorder that measures replies arriving in `[window_start, window_end)`.
    pub(crate) fn new(window_start: Instant, window_end: Instant) -> Self {
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
        }
    }

    /// A verified reply to a request sent at `sent`, received at `received`.
    pub(crate) fn reply(&mut self, sent: Instant, received: Instant) {
        if received < self.window_start || received >= self.window_end {
            return;
        }
        self.completed += 1;
        let micros = u64::try_from(received.duration_since(sent).as_micros()).unwrap_or(u64::MAX);
        self.latency_us.saturating_record(micros.max(1));
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
        let mut recorder = Recorder::new(start + second, start + 2 * second);
        recorder.reply(start, start + second / 2);
        recorder.reply(start + second, start + second + Duration::from_micros(250));
        recorder.reply(start, start + 3 * second);
        recorder.error("wrong".to_owned());
        assert_eq!((recorder.completed(), recorder.errors()), (1, 1));
        assert_eq!(recorder.first_error(), Some("wrong"));
        let latency = recorder.latency();
        assert!((249..=251).contains(&latency.p50), "{latency:?}");
    }
}
