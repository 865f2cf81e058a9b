//! The other side of the wire: how a node answers what the others ask of its connections, hears
//! heartbeats and API changes, and says it is alive.
//!
//! One task per subscription, each taking its messages in order: pushes to one connection from
//! one sender stay in order, and a multicast is applied before the next one. Survey answers,
//! which may be large, are written by a task of their own so they hold up nothing.
//!
//! One exception: the others' topic announcements are taken by the same task as the requests
//! for this node's connections, announcements first, and acknowledged once applied: a node
//! sends nothing that follows from a join until every member has acknowledged its announcement.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use tokio::sync::{mpsc, Notify};
use tokio::task::AbortHandle;
use tokio::time::Instant;

use super::gather::Replies;
use super::holders::{Holders, Taken};
use super::holdings::{Holdings, Transition};
use super::link::{Link, NoAnswer};
use super::membership::{Heard, Members};
use super::routes::Token;
use super::wire::{
    Answer, ApiChange, Beat, Change, Delivered, FoundWire, HoldingsAnswer, Interest, Presence,
    Request, Subjects,
};
use crate::connection::NodeId;
use crate::delivery::{Command, DeliveryError, Listing, LocalDelivery, Survey};
use crate::protocol::Push;
use crate::register::Register;
use crate::served_api::RemoteApiChanges;

/// The most topic transitions one announcement carries.
const ANNOUNCEMENT_BATCH: usize = 1000;

/// The largest survey answer part, before the NATS server's own limit: large enough that 10,000
/// ids take a few parts, small enough to interleave with other traffic.
const ANSWER_PART_BYTES: usize = 256 * 1024;

/// What the answering tasks share.
pub(crate) struct Responder {
    pub(crate) own: NodeId,
    pub(crate) link: Link,
    pub(crate) subjects: Subjects,
    pub(crate) local: LocalDelivery,
    pub(crate) register: Arc<Register>,
    pub(crate) members: Arc<Members>,
    pub(crate) remote_api: RemoteApiChanges,
    /// Woken to send a heartbeat now (a newcomer said hello).
    pub(crate) beat_now: Notify,
    pub(crate) expire_after: Duration,
    /// This node's topics.
    pub(crate) holdings: Arc<Holdings>,
    /// The others' topics.
    pub(crate) holders: Arc<Holders>,
    /// The nodes being asked for all they hold, so a node is asked once at a time.
    pub(crate) resyncing: Mutex<HashSet<NodeId>>,
    /// How long a topic let go stays subscribed, answering with nothing, for the nodes that
    /// have not heard yet that it was let go.
    pub(crate) linger: Duration,
    /// Where the answers to this node's gathers arrive.
    pub(crate) replies: Arc<Replies>,
    /// How long a gather waits for every node's answer.
    pub(crate) gather_timeout: Duration,
    /// This node's routes' fingerprint, and the nodes already warned of routing differently.
    pub(crate) routes: u64,
    pub(crate) warned_routes: Mutex<HashSet<NodeId>>,
}

impl Responder {
    /// Answers requests for this node's connections (`node.<own id>`), and hears the others'
    /// topic announcements (`interest`) first (see the module's comment).
    pub(crate) async fn answer_own(
        self: Arc<Self>,
        mut own: async_nats::Subscriber,
        mut interest: async_nats::Subscriber,
    ) {
        loop {
            tokio::select! {
                biased;
                Some(message) = interest.next() => self.hear_interest(message).await,
                Some(message) = own.next() => self.answer_one(message).await,
                else => return,
            }
        }
    }

    async fn answer_one(self: &Arc<Self>, message: async_nats::Message) {
        let Some(reply) = message.reply.clone() else {
            return;
        };
        let answer = match Request::decode(&message.payload) {
            Some((request @ Request::Survey { .. }, _)) => {
                let listing = self.local.survey_now(&survey_of(request));
                let count = listing.count;
                listing_answer(self.own, found_of(listing), count, false)
            }
            Some((Request::Holdings, _)) => {
                let (seq, tokens) = self.holdings.snapshot();
                serde_json::to_vec(&HoldingsAnswer { seq, tokens })
                    .unwrap_or_default()
                    .into()
            }
            Some((request, frame)) => delivered_bytes(self.apply(request, frame)),
            None => delivered_bytes(Delivered::Unreadable),
        };
        self.send_answer(reply.to_string(), answer).await;
    }

    /// Another node took up or let go a topic.
    async fn hear_interest(self: &Arc<Self>, message: async_nats::Message) {
        let Ok(interest) = serde_json::from_slice::<Interest>(&message.payload) else {
            tracing::debug!("an unreadable topic announcement was dropped");
            return;
        };
        if interest.node == self.own {
            return;
        }
        for change in &interest.transitions {
            let taken = self
                .holders
                .heard(interest.node, change.seq, change.token, change.held);
            if taken == Taken::Missed {
                self.resync(interest.node);
                break;
            }
        }
        if let Some(reply) = message.reply {
            let acknowledged = listing_answer(self.own, Vec::new(), 0, false);
            self.send_answer(reply.to_string(), acknowledged).await;
        }
    }

    /// Asks `node` for every topic it holds, once at a time, and takes its answer in whole.
    fn resync(self: &Arc<Self>, node: NodeId) {
        let asking = self
            .resyncing
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(node);
        if !asking {
            return;
        }
        let responder = Arc::clone(self);
        tokio::spawn(async move {
            let request = Request::Holdings.encode(None);
            match responder
                .link
                .request(responder.subjects.node(node), request)
                .await
            {
                Ok(answer) => match serde_json::from_slice::<HoldingsAnswer>(&answer.payload) {
                    Ok(holdings) => {
                        responder
                            .holders
                            .replace(node, holdings.seq, holdings.tokens);
                        tracing::debug!(%node, seq = holdings.seq, "learned the topics of a server");
                    }
                    Err(_) => tracing::warn!(%node, "a server sent unreadable topics"),
                },
                Err(NoAnswer::NoResponders) => responder.holders.forget(node),
                Err(NoAnswer::Unavailable(error)) => {
                    tracing::warn!(%node, %error, "could not learn the topics of a server; asking again at its next heartbeat");
                }
            }
            responder
                .resyncing
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(&node);
        });
    }

    /// A push or close for one of this node's connections.
    fn apply(&self, request: Request, frame: Bytes) -> Delivered {
        let (id, command) = match request {
            Request::Push { id } => match Push::from_frame(frame) {
                Some(push) => (id, Command::Push(push)),
                None => return Delivered::Unreadable,
            },
            Request::Close { id, code, reason } => (id, Command::Close { code, reason }),
            Request::Multicast { .. } | Request::Survey { .. } | Request::Holdings => {
                return Delivered::Unreadable
            }
        };
        match self.local.deliver_now(id, command) {
            Ok(()) => Delivered::Ok,
            Err(DeliveryError::QueueFull(_)) => Delivered::QueueFull,
            Err(_) => Delivered::Unknown,
        }
    }

    /// Answers multicasts and surveys for every node (`all`), or for the holders of one topic
    /// (`topic.<token>`).
    pub(crate) async fn answer_shared(self: Arc<Self>, mut subscription: async_nats::Subscriber) {
        while let Some(message) = subscription.next().await {
            let reply = message.reply.as_ref().map(ToString::to_string);
            match Request::decode(&message.payload) {
                Some((Request::Multicast { filter }, frame)) => {
                    let Some(push) = Push::from_frame(frame) else {
                        tracing::debug!("a multicast whose frame is not JSON was dropped");
                        continue;
                    };
                    let reached = self.local.deliver_matching_in_turn(&filter, &push).await;
                    if let Some(reply) = reply {
                        let answer = multicast_answer(self.own, reached);
                        self.send_answer(reply, answer).await;
                    }
                }
                Some((request @ Request::Survey { .. }, _)) => {
                    let Some(reply) = reply else { continue };
                    let responder = Arc::clone(&self);
                    tokio::spawn(async move {
                        let listing = responder.local.survey_now(&survey_of(request));
                        responder.send_listing(reply, listing).await;
                    });
                }
                Some(_) | None => {
                    tracing::debug!(subject = %message.subject, "an unreadable cluster request was dropped");
                }
            }
        }
    }

    /// Subscribes to the topics this node takes up and tells the others, in the order of the
    /// transitions; unsubscribes from a topic let go once it has lingered.
    pub(crate) async fn keep_interest(
        self: Arc<Self>,
        mut transitions: mpsc::UnboundedReceiver<Transition>,
    ) {
        let mut subscribed = TopicTasks::default();
        let mut lingering: HashMap<Token, Instant> = HashMap::new();
        let mut sweep = tokio::time::interval(self.linger);
        sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                transition = transitions.recv() => {
                    let Some(first) = transition else { return };
                    // Whatever else is waiting goes in the same announcement.
                    let mut batch = vec![first];
                    while batch.len() < ANNOUNCEMENT_BATCH {
                        match transitions.try_recv() {
                            Ok(transition) => batch.push(transition),
                            Err(_) => break,
                        }
                    }
                    for transition in &batch {
                        if transition.held {
                            lingering.remove(&transition.token);
                            if let std::collections::hash_map::Entry::Vacant(entry) =
                                subscribed.0.entry(transition.token)
                            {
                                if let Some(task) = self.subscribe_topic(transition.token).await {
                                    entry.insert(task);
                                }
                            }
                        } else {
                            lingering.insert(transition.token, Instant::now() + self.linger);
                        }
                    }
                    self.announce(&batch).await;
                }
                _ = sweep.tick() => {
                    let now = Instant::now();
                    lingering.retain(|token, until| {
                        if *until > now {
                            return true;
                        }
                        if !self.holdings.holds(*token) {
                            if let Some(task) = subscribed.0.remove(token) {
                                task.abort();
                            }
                        }
                        false
                    });
                }
            }
        }
    }

    /// Subscribes to `token`'s subject, answered by a task of its own; `None` when NATS refused.
    async fn subscribe_topic(self: &Arc<Self>, token: Token) -> Option<AbortHandle> {
        match self
            .link
            .client()
            .subscribe(self.subjects.topic(token))
            .await
        {
            Ok(subscription) => {
                let task = tokio::spawn(Arc::clone(self).answer_shared(subscription));
                Some(task.abort_handle())
            }
            Err(error) => {
                tracing::warn!(%error, token, "could not subscribe to a topic; its multicasts will miss this server");
                None
            }
        }
    }

    /// Tells the others of `batch` and waits until every member has acknowledged it, at most
    /// the gather timeout. Whether or not all did, it then counts as announced: deliveries
    /// waiting for it would fail anyway while NATS is away, and a member that missed it learns
    /// from this node's next heartbeat.
    async fn announce(&self, batch: &[Transition]) {
        let Some(last) = batch.last() else { return };
        let interest = Interest {
            node: self.own,
            transitions: batch
                .iter()
                .map(|transition| Change {
                    seq: transition.seq,
                    token: transition.token,
                    held: transition.held,
                })
                .collect(),
        };
        if let Ok(payload) = serde_json::to_vec(&interest) {
            let expected = self.members.others();
            let pending = self.replies.open();
            let deadline = Instant::now() + self.gather_timeout;
            let sent = self
                .link
                .publish(
                    self.subjects.interest(),
                    Some(pending.subject().to_owned()),
                    payload.into(),
                )
                .await;
            match sent {
                Ok(()) => {
                    let acknowledged = pending.collect(&expected, &self.members, deadline).await;
                    if !acknowledged.complete {
                        tracing::debug!(
                            missing = acknowledged.missing.len(),
                            "some servers did not acknowledge a topic announcement in time"
                        );
                    }
                }
                Err(error) => {
                    tracing::debug!(%error, "a topic announcement was not sent; the next heartbeat tells it");
                }
            }
        }
        self.holdings.announced(last.seq);
    }

    /// Sends `listing` in parts no larger than [`ANSWER_PART_BYTES`], the last with `more: false`.
    async fn send_listing(&self, reply: String, listing: Listing) {
        if listing.found.is_empty() {
            let answer = listing_answer(self.own, Vec::new(), listing.count, false);
            return self.send_answer(reply, answer).await;
        }
        let mut part = Vec::new();
        let mut part_bytes = 0;
        for found in found_of(listing) {
            let bytes = serde_json::to_vec(&found).map_or(0, |bytes| bytes.len()) + 1;
            if !part.is_empty() && part_bytes + bytes > ANSWER_PART_BYTES {
                let count = part.len();
                let answer = listing_answer(self.own, std::mem::take(&mut part), count, true);
                self.send_answer(reply.clone(), answer).await;
                part_bytes = 0;
            }
            part.push(found);
            part_bytes += bytes;
        }
        let count = part.len();
        self.send_answer(reply, listing_answer(self.own, part, count, false))
            .await;
    }

    async fn send_answer(&self, reply: String, answer: Bytes) {
        if let Err(error) = self.link.publish(reply, None, answer).await {
            tracing::warn!(%error, "an answer to another server was not sent");
        }
    }

    /// Hears heartbeats (`members`); answers a newcomer's hello with one of its own.
    pub(crate) async fn hear_members(self: Arc<Self>, mut subscription: async_nats::Subscriber) {
        while let Some(message) = subscription.next().await {
            let Ok(beat) = serde_json::from_slice::<Beat>(&message.payload) else {
                tracing::debug!("an unreadable heartbeat was dropped");
                continue;
            };
            match self.members.heard(&beat, Instant::now()) {
                Heard::Joined => tracing::info!(
                    node = %beat.node,
                    connections = beat.connections,
                    "a server joined the cluster"
                ),
                Heard::Left => {
                    self.holders.forget(beat.node);
                    tracing::info!(node = %beat.node, "a server left the cluster");
                }
                Heard::Alive | Heard::Nothing => {}
            }
            if beat.node != self.own && beat.routes != self.routes {
                let first = self
                    .warned_routes
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(beat.node);
                if first {
                    tracing::error!(
                        node = %beat.node,
                        "a server of the cluster declares other routes (ServerBuilder::cluster_route) than this one: multicasts and queries pinning a route miss connections between the two; give every server the same routes"
                    );
                }
            }
            if beat.presence != Presence::Leaving
                && beat.node != self.own
                && self.holders.is_behind(beat.node, beat.interest_seq)
            {
                self.resync(beat.node);
            }
            if beat.presence == Presence::Hello && beat.node != self.own {
                self.beat_now.notify_one();
            }
        }
    }

    /// Hears API changes on other nodes (`api`).
    pub(crate) async fn hear_api(self: Arc<Self>, mut subscription: async_nats::Subscriber) {
        while let Some(message) = subscription.next().await {
            match serde_json::from_slice::<ApiChange>(&message.payload) {
                Ok(change) if change.node != self.own => {
                    self.remote_api.changed_elsewhere(change.read);
                }
                Ok(_) => {}
                Err(_) => tracing::debug!("an unreadable API change was dropped"),
            }
        }
    }

    /// Says this node is alive every `interval` (and at once when asked, or with a hello when
    /// NATS is back after an outage); forgets the members that went silent.
    pub(crate) async fn keep_beating(self: Arc<Self>, interval: Duration) {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let presence = tokio::select! {
                _ = ticker.tick() => Presence::Alive,
                () = self.beat_now.notified() => Presence::Alive,
                () = self.link.outage().back.notified() => Presence::Hello,
            };
            if self.link.ready().is_ok() {
                self.beat(presence).await;
            }
            for (node, silent) in self.members.expire(Instant::now()) {
                self.holders.forget(node);
                tracing::warn!(
                    %node,
                    silent_ms = silent.as_millis() as u64,
                    "a server of the cluster went silent and is counted gone, with its connections"
                );
            }
        }
    }

    /// Publishes one heartbeat.
    pub(crate) async fn beat(&self, presence: Presence) {
        let beat = Beat {
            node: self.own,
            presence,
            expire_ms: self.expire_after.as_millis() as u64,
            connections: self.register.len(),
            interest_seq: self.holdings.announced_seq(),
            routes: self.routes,
        };
        let Ok(payload) = serde_json::to_vec(&beat) else {
            return;
        };
        if let Err(error) = self
            .link
            .publish(self.subjects.members(), None, payload.into())
            .await
        {
            tracing::debug!(%error, "a heartbeat was not sent");
        }
    }
}

fn found_of(listing: Listing) -> Vec<FoundWire> {
    listing
        .found
        .into_iter()
        .map(|found| FoundWire {
            id: found.id,
            settings: found.settings,
        })
        .collect()
}

/// The tasks answering on the topics this node subscribed to; they end with the interest task,
/// so a node that left the cluster answers nothing more.
#[derive(Default)]
struct TopicTasks(HashMap<Token, AbortHandle>);

impl Drop for TopicTasks {
    fn drop(&mut self) {
        for task in self.0.values() {
            task.abort();
        }
    }
}

/// The survey a request asks for.
fn survey_of(request: Request) -> Survey {
    match request {
        Request::Survey {
            filter,
            id,
            export,
            count_only,
        } => Survey {
            filter,
            id,
            export,
            count_only,
        },
        _ => Survey {
            filter: None,
            id: None,
            export: false,
            count_only: true,
        },
    }
}

fn multicast_answer(node: NodeId, reached: usize) -> Bytes {
    answer_bytes(&Answer {
        node,
        reached,
        found: Vec::new(),
        count: 0,
        more: false,
    })
}

fn listing_answer(node: NodeId, found: Vec<FoundWire>, count: usize, more: bool) -> Bytes {
    answer_bytes(&Answer {
        node,
        reached: 0,
        found,
        count,
        more,
    })
}

fn answer_bytes(answer: &Answer) -> Bytes {
    serde_json::to_vec(answer).unwrap_or_default().into()
}

fn delivered_bytes(delivered: Delivered) -> Bytes {
    serde_json::to_vec(&delivered).unwrap_or_default().into()
}
