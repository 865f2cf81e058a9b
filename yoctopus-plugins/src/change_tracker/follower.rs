//! The follower: one task per tracker that reads the change table from its position and pushes
//! each change to the connections subscribed to it.
//!
//! The position lives in memory, so a lost database connection loses nothing: the follower
//! reconnects with backoff, logs the outage, and reads on from where it stopped, which delivers
//! every change committed meanwhile, in order, none twice. It also records its position in the
//! cursor table now and then, which is what lets the change table be pruned below the lowest
//! position any tracker still needs.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;
use yoctopus_core::{DeliveryError, Push};

use super::change::{Change, Position};
use super::database::{Database, Feed};
use super::error::TrackerError;
use super::{change_tracker::DataChanged, Shared};

/// How many changes one read takes at most.
const BATCH: i64 = 512;

/// How a follower paces itself.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pace {
    /// The longest wait between two looks at the change table when nothing woke the follower.
    pub(crate) poll: Duration,
    /// How often the follower records its position and prunes.
    pub(crate) prune_every: Duration,
    /// How long a silent tracker's position keeps holding back pruning.
    pub(crate) retention: Duration,
}

pub(crate) struct Follower {
    pub(crate) shared: Arc<Shared>,
    pub(crate) database: Database,
    pub(crate) pace: Pace,
    /// This tracker's name in the cursor table.
    pub(crate) name: String,
    pub(crate) position: Position,
    /// Whether the position was recorded in the cursor table before.
    pub(crate) recorded: bool,
    /// Changes (to `true`) or closes when the tracker stops.
    pub(crate) stop: watch::Receiver<bool>,
}

impl Follower {
    /// Follows until the tracker stops, reconnecting after each failure; `feed` is the view
    /// opened when the tracker started.
    pub(crate) async fn run(mut self, feed: Feed) {
        let mut feed = Some(feed);
        let mut backoff = Backoff::default();
        let mut outage: Option<Instant> = None;
        loop {
            let opened = match feed.take() {
                Some(feed) => Ok(feed),
                None => {
                    let mut stop = self.stop.clone();
                    tokio::select! {
                        opened = self.database.open_feed() => opened,
                        () = stopped(&mut stop) => return,
                    }
                }
            };
            match opened {
                Ok(mut feed) => {
                    if let Some(since) = outage.take() {
                        tracing::info!(
                            outage = ?since.elapsed(),
                            after = self.position.commit,
                            "the change tracker reconnected; delivering what was committed meanwhile"
                        );
                    }
                    backoff.reset();
                    match self.follow(&mut feed).await {
                        Ok(()) => return,
                        Err(error) => {
                            tracing::warn!(
                                %error,
                                "the change tracker lost its database connection; reconnecting"
                            );
                            outage = Some(Instant::now());
                        }
                    }
                }
                Err(error) => {
                    tracing::debug!(%error, "the change tracker could not reconnect yet");
                }
            }
            let delay = backoff.next();
            let mut stop = self.stop.clone();
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = stopped(&mut stop) => return,
            }
        }
    }

    /// Reads and delivers until the feed fails (an error) or the tracker stops (`Ok`).
    async fn follow(&mut self, feed: &mut Feed) -> Result<(), TrackerError> {
        // Prune (and record the position) at once, then every `prune_every`, busy or idle: the
        // record is also this tracker's sign of life to the others.
        let mut next_prune = Instant::now();
        loop {
            loop {
                let batch = feed.read_after(self.position, BATCH).await?;
                let full = batch.len() as i64 == BATCH;
                for change in batch {
                    self.deliver(change).await;
                }
                if !full {
                    break;
                }
            }
            if Instant::now() >= next_prune {
                let expired = feed
                    .prune(
                        &self.name,
                        self.position,
                        self.pace.retention,
                        self.recorded,
                    )
                    .await?;
                if expired {
                    tracing::error!(
                        after = self.position.commit,
                        "this change tracker was away longer than the retention, so other trackers \
                         may have pruned changes it had not delivered yet"
                    );
                }
                self.recorded = true;
                next_prune = Instant::now() + self.pace.prune_every;
            }
            let mut stop = self.stop.clone();
            tokio::select! {
                woken = feed.wait(self.pace.poll, next_prune) => woken?,
                () = stopped(&mut stop) => return Ok(()),
            }
        }
    }

    /// Pushes one change to its subscribers; the position moves past it whatever happens.
    async fn deliver(&mut self, change: Change) {
        self.position = change.position;
        let body = match change.body {
            Ok(body) => body,
            Err(reason) => {
                tracing::error!(
                    commit = change.position.commit,
                    change = change.position.change,
                    reason,
                    "an unreadable row of the change table was passed over"
                );
                return;
            }
        };
        // A change of a model this tracker does not know (another server's configuration on a
        // shared database) concerns nobody here.
        let Some(model) = self.shared.model_index(&body.model) else {
            return;
        };
        let targets = self.shared.subscriptions.targets(model, body.key.as_ref());
        if targets.is_empty() {
            return;
        }
        // Subscriptions come from connections, which set the register's handle first.
        let Some(connections) = self.shared.connections.get() else {
            return;
        };
        let push = match Push::of(&DataChanged {
            operation: body.operation,
            model: body.model,
            fields: body.fields,
        }) {
            Ok(push) => push,
            Err(error) => {
                tracing::error!(%error, "a change could not be serialized");
                return;
            }
        };
        for id in targets {
            // Queuing a push is always ready, so without this a batch of changes to a thousand
            // subscribers would hold the thread for seconds, and the connections' own tasks could
            // not write what is queued until their queues overflowed (1008).
            tokio::task::coop::consume_budget().await;
            match connections.push(id, push.clone()).await {
                // A connection that closed since is no loss: it is no longer subscribed.
                Ok(()) | Err(DeliveryError::UnknownConnection(_)) => {}
                Err(error) => tracing::debug!(%id, %error, "a change was not pushed"),
            }
        }
    }
}

/// Returns when the tracker stops: its handle signalled or went away.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopped| *stopped).await;
}

/// Exponential backoff with jitter, from 100 ms up to 5 s.
#[derive(Debug, Default)]
struct Backoff {
    attempt: u32,
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(100);
    const MOST: Duration = Duration::from_secs(5);

    fn next(&mut self) -> Duration {
        let exponential = Self::FIRST
            .saturating_mul(1 << self.attempt.min(10))
            .min(Self::MOST);
        self.attempt = self.attempt.saturating_add(1);
        // Full jitter on the upper half, so servers that lost the database together do not
        // come back in step.
        let half = exponential / 2;
        half + half.mul_f64(jitter())
    }

    fn reset(&mut self) {
        self.attempt = 0;
    }
}

/// A number in [0, 1) from the OS's random source (0.5 if it fails).
fn jitter() -> f64 {
    let mut bytes = [0u8; 4];
    if getrandom::fill(&mut bytes).is_err() {
        return 0.5;
    }
    f64::from(u32::from_le_bytes(bytes)) / (f64::from(u32::MAX) + 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_to_its_bound_and_starts_again_after_a_reset() {
        let mut backoff = Backoff::default();
        let first = backoff.next();
        assert!(first >= Backoff::FIRST / 2 && first <= Backoff::FIRST);
        let later: Vec<Duration> = (0..20).map(|_| backoff.next()).collect();
        assert!(later.iter().all(|delay| *delay <= Backoff::MOST));
        assert!(later
            .last()
            .is_some_and(|delay| *delay >= Backoff::MOST / 2));
        backoff.reset();
        assert!(backoff.next() <= Backoff::FIRST);
    }
}
