//! Gathering the answers of many nodes to one request: a multicast's counts, a register query's
//! connections.
//!
//! A gather knows whom it waits for (the members when it was sent) and until when (the gather
//! timeout). It ends as soon as every one of them has answered in full or left the cluster, or
//! at the deadline with what arrived, marked incomplete: a slow or dead node costs the caller the
//! timeout, never a hang, and a node that says goodbye costs nothing. Answers of nodes it did not
//! wait for (one that joined meanwhile) are kept too.
//!
//! All answers come in on one subscription of this node's (`<inbox>.*`) and are routed to their
//! gather by the last token of the reply subject, so a gather costs no subscription of its own.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::membership::Members;
use super::wire::Answer;
use crate::connection::NodeId;

/// Where the answers to this node's gathers arrive.
#[derive(Debug)]
pub(crate) struct Replies {
    prefix: String,
    next: AtomicU64,
    open: Mutex<HashMap<u64, mpsc::UnboundedSender<Answer>>>,
}

/// One gather's answers, as they arrive; closing it (dropping) stops their routing.
pub(crate) struct Pending {
    replies: Arc<Replies>,
    token: u64,
    subject: String,
    answers: mpsc::UnboundedReceiver<Answer>,
}

/// What a gather collected.
#[derive(Debug, Default)]
pub(crate) struct Collected {
    pub(crate) answers: Vec<Answer>,
    /// Every node waited for answered in full.
    pub(crate) complete: bool,
    /// The nodes that did not, for the log.
    pub(crate) missing: Vec<NodeId>,
}

impl Replies {
    /// Answers arrive on `<prefix>.<token>`.
    pub(crate) fn new(prefix: String) -> Arc<Self> {
        Arc::new(Self {
            prefix,
            next: AtomicU64::new(1),
            open: Mutex::new(HashMap::new()),
        })
    }

    /// What the routing task subscribes to.
    pub(crate) fn wildcard(&self) -> String {
        format!("{}.*", self.prefix)
    }

    /// A new gather's reply subject and answers.
    pub(crate) fn open(self: &Arc<Self>) -> Pending {
        let token = self.next.fetch_add(1, Ordering::Relaxed);
        let (sender, answers) = mpsc::unbounded_channel();
        self.lock().insert(token, sender);
        Pending {
            replies: Arc::clone(self),
            token,
            subject: format!("{}.{token}", self.prefix),
            answers,
        }
    }

    /// Routes answers to their gathers until the subscription ends. An answer that cannot be
    /// read, or whose gather has ended, is dropped; so are NATS's own status messages (no
    /// responders when no other node listens).
    pub(crate) async fn route(self: Arc<Self>, mut subscription: async_nats::Subscriber) {
        while let Some(message) = subscription.next().await {
            if message.status.is_some() {
                continue;
            }
            let Some(token) = message
                .subject
                .rsplit('.')
                .next()
                .and_then(|token| token.parse::<u64>().ok())
            else {
                continue;
            };
            let Ok(answer) = serde_json::from_slice::<Answer>(&message.payload) else {
                tracing::debug!(subject = %message.subject, "an unreadable cluster answer was dropped");
                continue;
            };
            if let Some(gather) = self.lock().get(&token) {
                let _ = gather.send(answer);
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<u64, mpsc::UnboundedSender<Answer>>> {
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Pending {
    /// The subject answers go to.
    pub(crate) fn subject(&self) -> &str {
        &self.subject
    }

    /// Collects answers until every node of `expected` has answered in full or is no longer
    /// one of `members`, or `deadline`.
    pub(crate) async fn collect(
        mut self,
        expected: &[NodeId],
        members: &Members,
        deadline: Instant,
    ) -> Collected {
        let mut waiting: HashSet<NodeId> = expected.iter().copied().collect();
        let mut departures = members.departures();
        let mut answers = Vec::new();
        while !waiting.is_empty() {
            let next = tokio::time::timeout_at(deadline, async {
                tokio::select! {
                    answer = self.answers.recv() => Some(answer),
                    _ = departures.changed() => None,
                }
            });
            match next.await {
                Ok(Some(Some(answer))) => {
                    if !answer.more {
                        waiting.remove(&answer.node);
                    }
                    answers.push(answer);
                }
                Ok(None) => waiting.retain(|&node| members.is_member(node)),
                Ok(Some(None)) | Err(_) => break,
            }
        }
        // Whatever else has arrived by now is kept as well.
        while let Ok(answer) = self.answers.try_recv() {
            answers.push(answer);
        }
        Collected {
            answers,
            complete: waiting.is_empty(),
            missing: waiting.into_iter().collect(),
        }
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        self.replies.lock().remove(&self.token);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::time::Instant;

    use super::Replies;
    use crate::cluster::membership::Members;
    use crate::cluster::wire::Answer;
    use crate::connection::NodeId;

    fn answer(node: u64, reached: usize, more: bool) -> Answer {
        Answer {
            node: NodeId::new(node),
            reached,
            found: Vec::new(),
            count: 0,
            more,
        }
    }

    #[tokio::test]
    async fn a_gather_ends_when_everyone_answered_in_full() {
        let replies = Replies::new("_INBOX.test".to_owned());
        let pending = replies.open();
        let sender = replies.lock().get(&1).cloned().unwrap();
        sender.send(answer(2, 1, true)).unwrap();
        sender.send(answer(3, 4, false)).unwrap();
        sender.send(answer(2, 2, false)).unwrap();
        let expected = [NodeId::new(2), NodeId::new(3)];
        let collected = pending
            .collect(
                &expected,
                &Members::new(NodeId::new(1)),
                Instant::now() + Duration::from_secs(30),
            )
            .await;
        assert!(collected.complete);
        assert_eq!(
            collected.answers.iter().map(|a| a.reached).sum::<usize>(),
            7
        );
        assert!(
            replies.lock().is_empty(),
            "a finished gather routes nothing more"
        );
    }

    #[tokio::test]
    async fn a_silent_node_makes_the_gather_incomplete_at_the_deadline() {
        let replies = Replies::new("_INBOX.test".to_owned());
        let pending = replies.open();
        assert_eq!(pending.subject(), "_INBOX.test.1");
        replies
            .lock()
            .get(&1)
            .unwrap()
            .send(answer(2, 5, false))
            .unwrap();
        let expected = [NodeId::new(2), NodeId::new(9)];
        let collected = pending
            .collect(
                &expected,
                &Members::new(NodeId::new(1)),
                Instant::now() + Duration::from_millis(50),
            )
            .await;
        assert!(!collected.complete);
        assert_eq!(collected.missing, [NodeId::new(9)]);
        assert_eq!(collected.answers.len(), 1);
    }

    #[tokio::test]
    async fn a_node_that_leaves_is_no_longer_waited_for() {
        use crate::cluster::wire::{Beat, Presence};
        let beat = |node, presence| Beat {
            node: NodeId::new(node),
            presence,
            expire_ms: 60_000,
            connections: 0,
            interest_seq: 0,
            routes: 0,
        };
        let members = std::sync::Arc::new(Members::new(NodeId::new(1)));
        members.heard(&beat(2, Presence::Alive), Instant::now());
        members.heard(&beat(9, Presence::Alive), Instant::now());
        let replies = Replies::new("_INBOX.test".to_owned());
        let pending = replies.open();
        replies
            .lock()
            .get(&1)
            .unwrap()
            .send(answer(2, 5, false))
            .unwrap();
        let gathering = tokio::spawn({
            let members = std::sync::Arc::clone(&members);
            async move {
                let expected = [NodeId::new(2), NodeId::new(9)];
                let deadline = Instant::now() + Duration::from_secs(60);
                pending.collect(&expected, &members, deadline).await
            }
        });
        tokio::task::yield_now().await;
        members.heard(&beat(9, Presence::Leaving), Instant::now());
        let collected = tokio::time::timeout(Duration::from_secs(10), gathering)
            .await
            .expect("the gather ends when the last node it waits for leaves")
            .unwrap();
        assert!(collected.complete);
        assert_eq!(collected.answers.len(), 1);
    }
}
