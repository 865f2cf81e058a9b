//! Who is in the cluster: every node heard from lately, so a gather knows how many answers to
//! wait for.
//!
//! A node is a member from its first heartbeat until it says it is leaving or stays silent
//! longer than it said it might (its own `expire_ms`, so nodes with different settings agree).
//! A node that just joined greets (`hello`) and every member answers with a heartbeat at once:
//! without that, a newcomer's first gathers would expect too few answers and call a partial
//! answer complete (the startup-count trap socketioxide's users ran into).

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use super::wire::{Beat, Presence};
use crate::connection::NodeId;

/// One member as last heard.
#[derive(Debug, Clone, Copy)]
struct Member {
    last_heard: Instant,
    expire_after: Duration,
}

/// The other nodes of the cluster.
#[derive(Debug)]
pub(crate) struct Members {
    own: NodeId,
    known: Mutex<HashMap<NodeId, Member>>,
    /// Counts departures (left or gone silent), so a gather under way stops waiting for them.
    departures: watch::Sender<u64>,
}

/// What a heartbeat changed.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Heard {
    /// A node not known before.
    Joined,
    /// A known node, still here.
    Alive,
    /// A node that said it is leaving.
    Left,
    /// This node's own heartbeat, or one of a node already forgotten saying it leaves.
    Nothing,
}

impl Members {
    pub(crate) fn new(own: NodeId) -> Self {
        Self {
            own,
            known: Mutex::new(HashMap::new()),
            departures: watch::Sender::new(0),
        }
    }

    /// Takes a heartbeat in.
    pub(crate) fn heard(&self, beat: &Beat, now: Instant) -> Heard {
        if beat.node == self.own {
            return Heard::Nothing;
        }
        let mut known = self.lock();
        if beat.presence == Presence::Leaving {
            return match known.remove(&beat.node) {
                Some(_) => {
                    drop(known);
                    self.departed();
                    Heard::Left
                }
                None => Heard::Nothing,
            };
        }
        let member = Member {
            last_heard: now,
            expire_after: Duration::from_millis(beat.expire_ms),
        };
        match known.insert(beat.node, member) {
            Some(_) => Heard::Alive,
            None => Heard::Joined,
        }
    }

    /// Forgets the nodes silent for longer than they said they might be; answers them, with how
    /// long each was silent.
    pub(crate) fn expire(&self, now: Instant) -> Vec<(NodeId, Duration)> {
        let mut expired = Vec::new();
        self.lock().retain(|&node, member| {
            let silent = now.saturating_duration_since(member.last_heard);
            let alive = silent <= member.expire_after;
            if !alive {
                expired.push((node, silent));
            }
            alive
        });
        if !expired.is_empty() {
            self.departed();
        }
        expired
    }

    fn departed(&self) {
        self.departures.send_modify(|count| *count += 1);
    }

    /// Whether `node` is a member now.
    pub(crate) fn is_member(&self, node: NodeId) -> bool {
        self.lock().contains_key(&node)
    }

    /// Wakes on every departure.
    pub(crate) fn departures(&self) -> watch::Receiver<u64> {
        self.departures.subscribe()
    }

    /// The other members now, whose answers a gather waits for.
    pub(crate) fn others(&self) -> Vec<NodeId> {
        self.lock().keys().copied().collect()
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<NodeId, Member>> {
        self.known.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::time::Instant;

    use super::{Heard, Members};
    use crate::cluster::wire::{Beat, Presence};
    use crate::connection::NodeId;

    fn beat(node: u64, presence: Presence) -> Beat {
        Beat {
            node: NodeId::new(node),
            presence,
            expire_ms: 3000,
            connections: 2,
            interest_seq: 0,
            routes: 0,
        }
    }

    #[test]
    fn members_join_stay_leave_and_expire() {
        let members = Members::new(NodeId::new(1));
        let start = Instant::now();
        assert_eq!(
            members.heard(&beat(1, Presence::Hello), start),
            Heard::Nothing
        );
        assert_eq!(
            members.heard(&beat(2, Presence::Hello), start),
            Heard::Joined
        );
        assert_eq!(
            members.heard(&beat(3, Presence::Alive), start),
            Heard::Joined
        );
        assert_eq!(
            members.heard(&beat(2, Presence::Alive), start),
            Heard::Alive
        );
        let mut others = members.others();
        others.sort();
        assert_eq!(others, [NodeId::new(2), NodeId::new(3)]);

        let departures = members.departures();
        assert_eq!(
            members.heard(&beat(3, Presence::Leaving), start),
            Heard::Left
        );
        assert!(departures.has_changed().unwrap());
        assert!(!members.is_member(NodeId::new(3)) && members.is_member(NodeId::new(2)));
        assert_eq!(
            members.heard(&beat(3, Presence::Leaving), start),
            Heard::Nothing
        );

        assert!(members.expire(start + Duration::from_secs(3)).is_empty());
        let expired = members.expire(start + Duration::from_millis(3001));
        assert_eq!(expired.len(), 1);
        assert_eq!(expired[0].0, NodeId::new(2));
        assert!(members.others().is_empty());
    }
}
