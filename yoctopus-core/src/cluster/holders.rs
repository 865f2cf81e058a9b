//! Which other nodes hold which topics, as they announced: whom a routed multicast or query
//! waits for.
//!
//! Each node numbers its transitions; one heard out of turn means some were missed (NATS was
//! away, or the node was met late), and so does a heartbeat naming a later number than the last
//! one heard. Either way the node is asked for all it holds, and the answer replaces what was
//! known of it ([`Holders::replace`]). A node that leaves or goes silent is forgotten with its
//! topics.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::routes::Token;
use crate::connection::NodeId;

#[derive(Debug, Default)]
struct Known {
    seq: u64,
    tokens: HashSet<Token>,
}

#[derive(Debug, Default)]
struct State {
    by_node: HashMap<NodeId, Known>,
    by_token: HashMap<Token, HashSet<NodeId>>,
}

/// The other nodes' topics.
#[derive(Debug, Default)]
pub(crate) struct Holders {
    state: Mutex<State>,
}

/// Whether an announcement could be taken in.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Taken {
    /// In turn: applied.
    Applied,
    /// Already covered by what is known.
    Stale,
    /// Out of turn: the node must be asked for all it holds.
    Missed,
}

impl Holders {
    /// Node `node`'s transition `seq`: it now holds `token`, or no longer does.
    pub(crate) fn heard(&self, node: NodeId, seq: u64, token: Token, held: bool) -> Taken {
        let mut state = self.lock();
        let known_seq = state.by_node.get(&node).map_or(0, |known| known.seq);
        if seq <= known_seq {
            return Taken::Stale;
        }
        if seq != known_seq + 1 {
            return Taken::Missed;
        }
        let known = state.by_node.entry(node).or_default();
        known.seq = seq;
        if held {
            known.tokens.insert(token);
            state.by_token.entry(token).or_default().insert(node);
        } else {
            known.tokens.remove(&token);
            remove_holder(&mut state.by_token, token, node);
        }
        Taken::Applied
    }

    /// Whether a heartbeat naming transition `seq` shows that some were missed.
    pub(crate) fn is_behind(&self, node: NodeId, seq: u64) -> bool {
        seq > self.lock().by_node.get(&node).map_or(0, |known| known.seq)
    }

    /// Everything node `node` holds, as of its transition `seq`.
    pub(crate) fn replace(&self, node: NodeId, seq: u64, tokens: impl IntoIterator<Item = Token>) {
        let mut state = self.lock();
        if state
            .by_node
            .get(&node)
            .is_some_and(|known| known.seq > seq)
        {
            return;
        }
        forget_in(&mut state, node);
        let tokens: HashSet<Token> = tokens.into_iter().collect();
        for &token in &tokens {
            state.by_token.entry(token).or_default().insert(node);
        }
        state.by_node.insert(node, Known { seq, tokens });
    }

    /// Forgets node `node` and its topics.
    pub(crate) fn forget(&self, node: NodeId) {
        forget_in(&mut self.lock(), node);
    }

    /// The nodes holding `token`.
    pub(crate) fn of(&self, token: Token) -> Vec<NodeId> {
        self.lock()
            .by_token
            .get(&token)
            .map(|nodes| nodes.iter().copied().collect())
            .unwrap_or_default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn forget_in(state: &mut State, node: NodeId) {
    if let Some(known) = state.by_node.remove(&node) {
        for token in known.tokens {
            remove_holder(&mut state.by_token, token, node);
        }
    }
}

fn remove_holder(by_token: &mut HashMap<Token, HashSet<NodeId>>, token: Token, node: NodeId) {
    if let Some(nodes) = by_token.get_mut(&token) {
        nodes.remove(&node);
        if nodes.is_empty() {
            by_token.remove(&token);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Holders, Taken};
    use crate::connection::NodeId;

    #[test]
    fn announcements_in_turn_apply_and_a_gap_asks_for_everything() {
        let holders = Holders::default();
        let (a, b) = (NodeId::new(1), NodeId::new(2));
        assert_eq!(holders.heard(a, 1, 10, true), Taken::Applied);
        assert_eq!(holders.heard(b, 1, 10, true), Taken::Applied);
        assert_eq!(holders.heard(a, 1, 10, true), Taken::Stale);
        let mut nodes = holders.of(10);
        nodes.sort();
        assert_eq!(nodes, [a, b]);

        assert_eq!(holders.heard(a, 3, 20, true), Taken::Missed);
        assert!(holders.is_behind(a, 3));
        holders.replace(a, 3, [20, 30]);
        assert!(!holders.is_behind(a, 3));
        assert_eq!(holders.of(10), [b]);
        assert_eq!(holders.of(30), [a]);
        assert_eq!(holders.heard(a, 4, 30, false), Taken::Applied);
        assert!(holders.of(30).is_empty());

        holders.forget(b);
        assert!(holders.of(10).is_empty());
        assert_eq!(holders.of(20), [a]);
    }
}
