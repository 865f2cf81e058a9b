//! The topics this node holds: which routed values its connections are on, and the changes the
//! others must hear of.
//!
//! A topic is held while at least one connection is on it. Taking a topic up or letting it go is
//! a *transition*, numbered in order; the interest task subscribes to the topic's subject and
//! tells the others, in that order, and waits until every member has acknowledged it (or the
//! gather timeout). A delivery this node sends afterwards waits for that
//! ([`Holdings::caught_up`]): once a connection's join of a room is answered, or its `joined`
//! pushes are out, every server knows this one holds the room, whatever channel the news of the
//! join takes (a push through NATS, or the joiner telling someone outside).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use tokio::sync::{mpsc, watch};

use super::routes::Token;
use crate::connection::ConnectionId;

/// A topic taken up or let go, with its number among this node's transitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Transition {
    pub(crate) token: Token,
    pub(crate) held: bool,
    pub(crate) seq: u64,
}

#[derive(Debug, Default)]
struct State {
    by_connection: HashMap<ConnectionId, Vec<Token>>,
    connections_on: HashMap<Token, usize>,
    seq: u64,
}

/// This node's topics.
#[derive(Debug)]
pub(crate) struct Holdings {
    state: Mutex<State>,
    /// The number of the latest transition made.
    made: AtomicU64,
    /// The number of the latest transition handed to NATS.
    announced: watch::Sender<u64>,
    transitions: mpsc::UnboundedSender<Transition>,
}

impl Holdings {
    /// Holdings whose transitions go to the returned receiver, for the interest task.
    pub(crate) fn new() -> (Self, mpsc::UnboundedReceiver<Transition>) {
        let (transitions, receiver) = mpsc::unbounded_channel();
        let holdings = Self {
            state: Mutex::new(State::default()),
            made: AtomicU64::new(0),
            announced: watch::Sender::new(0),
            transitions,
        };
        (holdings, receiver)
    }

    /// Connection `id` is now on `topics` (sorted, none for a closed connection).
    pub(crate) fn set(&self, id: ConnectionId, topics: Vec<Token>) {
        let mut state = self.lock();
        let before = if topics.is_empty() {
            state.by_connection.remove(&id).unwrap_or_default()
        } else {
            state
                .by_connection
                .insert(id, topics.clone())
                .unwrap_or_default()
        };
        if before == topics {
            return;
        }
        for &token in before.iter().filter(|token| !topics.contains(token)) {
            let on = state.connections_on.entry(token).or_default();
            *on = on.saturating_sub(1);
            if *on == 0 {
                state.connections_on.remove(&token);
                self.transition(&mut state, token, false);
            }
        }
        for &token in topics.iter().filter(|token| !before.contains(token)) {
            let on = state.connections_on.entry(token).or_default();
            *on += 1;
            if *on == 1 {
                self.transition(&mut state, token, true);
            }
        }
    }

    fn transition(&self, state: &mut State, token: Token, held: bool) {
        state.seq += 1;
        self.made.store(state.seq, Ordering::Release);
        let _ = self.transitions.send(Transition {
            token,
            held,
            seq: state.seq,
        });
    }

    /// Whether a topic is held now.
    pub(crate) fn holds(&self, token: Token) -> bool {
        self.lock().connections_on.contains_key(&token)
    }

    /// Every topic held, and the number of the latest transition: what a node that missed some
    /// transitions asks for.
    pub(crate) fn snapshot(&self) -> (u64, Vec<Token>) {
        let state = self.lock();
        (state.seq, state.connections_on.keys().copied().collect())
    }

    /// The number of the latest transition handed to NATS.
    pub(crate) fn announced_seq(&self) -> u64 {
        *self.announced.borrow()
    }

    /// The number of the latest transition made.
    pub(crate) fn seq(&self) -> u64 {
        self.made.load(Ordering::Acquire)
    }

    /// Transition `seq` (and all before it) has been handed to NATS.
    pub(crate) fn announced(&self, seq: u64) {
        self.announced.send_if_modified(|announced| {
            let newer = seq > *announced;
            if newer {
                *announced = seq;
            }
            newer
        });
    }

    /// Waits until every transition made before this call has been handed to NATS. Costs one
    /// atomic load when none is pending, as is usual.
    pub(crate) async fn caught_up(&self) {
        let made = self.seq();
        if *self.announced.borrow() >= made {
            return;
        }
        let mut announced = self.announced.subscribe();
        let _ = announced.wait_for(|announced| *announced >= made).await;
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::{Holdings, Transition};
    use crate::connection::{ConnectionId, NodeId};

    fn id(n: u64) -> ConnectionId {
        ConnectionId::new(NodeId::new(1), n)
    }

    #[test]
    fn a_topic_is_taken_up_by_its_first_connection_and_let_go_by_its_last() {
        let (holdings, mut transitions) = Holdings::new();
        holdings.set(id(1), vec![10]);
        holdings.set(id(2), vec![10, 20]);
        holdings.set(id(1), vec![20]);
        holdings.set(id(2), vec![]);
        assert!(holdings.holds(20) && !holdings.holds(10));
        holdings.set(id(1), vec![]);
        let seen: Vec<Transition> = std::iter::from_fn(|| transitions.try_recv().ok()).collect();
        let expected = [(10, true, 1), (20, true, 2), (10, false, 3)];
        let expected: Vec<Transition> = expected
            .into_iter()
            .chain([(20, false, 4)])
            .map(|(token, held, seq)| Transition { token, held, seq })
            .collect();
        assert_eq!(seen, expected);
        assert_eq!(holdings.snapshot(), (4, vec![]));
    }

    #[tokio::test]
    async fn caught_up_waits_for_the_announcement() {
        let (holdings, _transitions) = Holdings::new();
        holdings.caught_up().await;
        holdings.set(id(1), vec![7]);
        let holdings = std::sync::Arc::new(holdings);
        let waiting = tokio::spawn({
            let holdings = std::sync::Arc::clone(&holdings);
            async move { holdings.caught_up().await }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        holdings.announced(1);
        tokio::time::timeout(std::time::Duration::from_secs(5), waiting)
            .await
            .expect("caught up once announced")
            .unwrap();
    }
}
