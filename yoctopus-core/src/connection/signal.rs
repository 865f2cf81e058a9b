//! Lock-free wake-ups for a connection's task: a signal raised once, and the count of requests in
//! flight with a wake-up when a place frees.
//!
//! The connection's loop waits on these every time it waits at all, so they must cost no more than
//! an atomic and a waker registration; `tokio::sync::Notify` and `Semaphore` take a mutex on those
//! paths.

use std::future::{poll_fn, Future};
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::task::Poll;

use futures_util::task::AtomicWaker;

/// A value raised once from any task and awaited by one (0 means not raised).
#[derive(Debug, Default)]
pub(crate) struct Signal {
    value: AtomicU16,
    waker: AtomicWaker,
}

impl Signal {
    /// Raises the signal with `value` (not 0); returns whether this was the first raise.
    pub(crate) fn raise(&self, value: u16) -> bool {
        let first = self
            .value
            .compare_exchange(0, value, Ordering::AcqRel, Ordering::Acquire)
            .is_ok();
        if first {
            self.waker.wake();
        }
        first
    }

    /// Completes with the value once the signal is raised.
    pub(crate) fn raised(&self) -> impl Future<Output = u16> + '_ {
        poll_fn(|context| {
            if let Some(value) = self.value() {
                return Poll::Ready(value);
            }
            self.waker.register(context.waker());
            self.value().map_or(Poll::Pending, Poll::Ready)
        })
    }

    fn value(&self) -> Option<u16> {
        match self.value.load(Ordering::Acquire) {
            0 => None,
            value => Some(value),
        }
    }
}

/// The places for requests in flight on one connection.
#[derive(Debug)]
pub(crate) struct Places {
    running: AtomicUsize,
    max: usize,
    freed: AtomicWaker,
}

impl Places {
    pub(crate) fn new(max: usize) -> Self {
        Self {
            running: AtomicUsize::new(0),
            max,
            freed: AtomicWaker::new(),
        }
    }

    /// Takes a place if one is free.
    pub(crate) fn try_take(&self) -> bool {
        self.running
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |running| {
                (running < self.max).then_some(running + 1)
            })
            .is_ok()
    }

    /// Gives a place back and wakes the task waiting for one.
    pub(crate) fn give_back(&self) {
        self.running.fetch_sub(1, Ordering::AcqRel);
        self.freed.wake();
    }

    /// Completes when a place is free (without taking it).
    pub(crate) fn free(&self) -> impl Future<Output = ()> + '_ {
        poll_fn(|context| {
            if self.running.load(Ordering::Acquire) < self.max {
                return Poll::Ready(());
            }
            self.freed.register(context.waker());
            if self.running.load(Ordering::Acquire) < self.max {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{Places, Signal};

    #[tokio::test]
    async fn a_signal_keeps_its_first_value() {
        let signal = Signal::default();
        assert!(signal.raise(1008));
        assert!(!signal.raise(1001));
        assert_eq!(signal.raised().await, 1008);
    }

    #[tokio::test]
    async fn places_run_out_and_come_back() {
        let places = Places::new(2);
        assert!(places.try_take() && places.try_take());
        assert!(!places.try_take());
        places.give_back();
        places.free().await;
        assert!(places.try_take());
    }
}
