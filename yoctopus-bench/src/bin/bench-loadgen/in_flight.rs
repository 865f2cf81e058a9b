//! The requests a connection has sent and not yet seen answered, with when each was sent.
//!
//! A connection keeps a handful in flight (the pipelining depth), and replies may come back out of
//! order, so a short list searched from the front beats a map.

use tokio::time::Instant;

/// Outstanding requests of one connection.
#[derive(Debug)]
pub(crate) struct InFlight {
    sent: Vec<(u64, Instant)>,
}

impl InFlight {
    /// Room for `depth` requests.
    pub(crate) fn with_capacity(depth: usize) -> Self {
        Self {
            sent: Vec::with_capacity(depth),
        }
    }

    /// How many requests are outstanding.
    pub(crate) fn len(&self) -> usize {
        self.sent.len()
    }

    /// Records that request `id` was sent at `at`.
    pub(crate) fn insert(&mut self, id: u64, at: Instant) {
        self.sent.push((id, at));
    }

    /// The outstanding requests, with when each was sent, in no particular order.
    pub(crate) fn outstanding(&self) -> &[(u64, Instant)] {
        &self.sent
    }

    /// Removes request `id` and says when it was sent; `None` if it is not outstanding.
    pub(crate) fn take(&mut self, id: u64) -> Option<Instant> {
        let index = self.sent.iter().position(|(sent, _)| *sent == id)?;
        Some(self.sent.swap_remove(index).1)
    }
}

#[cfg(test)]
mod tests {
    use super::InFlight;
    use tokio::time::Instant;

    #[test]
    fn replies_may_come_in_any_order_but_only_once() {
        let now = Instant::now();
        let mut in_flight = InFlight::with_capacity(3);
        for id in 1..=3 {
            in_flight.insert(id, now);
        }
        assert_eq!(in_flight.take(2), Some(now));
        assert_eq!(in_flight.take(2), None);
        assert_eq!(in_flight.take(3), Some(now));
        assert_eq!(in_flight.take(1), Some(now));
        assert_eq!(in_flight.len(), 0);
    }
}
