//! The other side of the wire: how a node answers what the others ask of its connections, hears
//! heartbeats and API changes, and says it is alive.
//!
//! One task per subscription, each taking its messages in order: pushes to one connection from
//! one sender stay in order, and a multicast is applied before the next one. Survey answers,
//! which may be large, are written by a task of their own so they hold up nothing.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::link::Link;
use super::membership::{Heard, Members};
use super::wire::{Answer, ApiChange, Beat, Delivered, FoundWire, Presence, Request, Subjects};
use crate::connection::NodeId;
use crate::delivery::{Command, DeliveryError, Listing, LocalDelivery, Survey};
use crate::protocol::Push;
use crate::register::Register;
use crate::served_api::RemoteApiChanges;

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
}

impl Responder {
    /// Answers requests for this node's connections (`node.<own id>`).
    pub(crate) async fn answer_own(self: Arc<Self>, mut subscription: async_nats::Subscriber) {
        while let Some(message) = subscription.next().await {
            let Some(reply) = message.reply.clone() else {
                continue;
            };
            let answer = match Request::decode(&message.payload) {
                Some((Request::Survey { id, filter, export }, _)) => {
                    let listing = self.local.survey_now(&Survey { filter, id, export });
                    answer_bytes(self.own, 0, found_of(listing), false)
                }
                Some((request, frame)) => delivered_bytes(self.apply(request, frame)),
                None => delivered_bytes(Delivered::Unreadable),
            };
            self.send_answer(reply.to_string(), answer).await;
        }
    }

    /// A push or close for one of this node's connections.
    fn apply(&self, request: Request, frame: Bytes) -> Delivered {
        let (id, command) = match request {
            Request::Push { id } => match Push::from_frame(frame) {
                Some(push) => (id, Command::Push(push)),
                None => return Delivered::Unreadable,
            },
            Request::Close { id, code, reason } => (id, Command::Close { code, reason }),
            Request::Multicast { .. } | Request::Survey { .. } => return Delivered::Unreadable,
        };
        match self.local.deliver_now(id, command) {
            Ok(()) => Delivered::Ok,
            Err(DeliveryError::QueueFull(_)) => Delivered::QueueFull,
            Err(_) => Delivered::Unknown,
        }
    }

    /// Answers multicasts and surveys for every node (`all`).
    pub(crate) async fn answer_all(self: Arc<Self>, mut subscription: async_nats::Subscriber) {
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
                        let answer = answer_bytes(self.own, reached, Vec::new(), false);
                        self.send_answer(reply, answer).await;
                    }
                }
                Some((Request::Survey { filter, id, export }, _)) => {
                    let Some(reply) = reply else { continue };
                    let responder = Arc::clone(&self);
                    tokio::spawn(async move {
                        let listing = responder.local.survey_now(&Survey { filter, id, export });
                        responder.send_listing(reply, listing).await;
                    });
                }
                Some(_) | None => {
                    tracing::debug!(subject = %message.subject, "an unreadable cluster request was dropped");
                }
            }
        }
    }

    /// Sends `listing` in parts no larger than [`ANSWER_PART_BYTES`], the last with `more: false`.
    async fn send_listing(&self, reply: String, listing: Listing) {
        let mut part = Vec::new();
        let mut part_bytes = 0;
        for found in found_of(listing) {
            let bytes = serde_json::to_vec(&found).map_or(0, |bytes| bytes.len()) + 1;
            if !part.is_empty() && part_bytes + bytes > ANSWER_PART_BYTES {
                let answer = answer_bytes(self.own, 0, std::mem::take(&mut part), true);
                self.send_answer(reply.clone(), answer).await;
                part_bytes = 0;
            }
            part.push(found);
            part_bytes += bytes;
        }
        self.send_answer(reply, answer_bytes(self.own, 0, part, false))
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
                Heard::Left => tracing::info!(node = %beat.node, "a server left the cluster"),
                Heard::Alive | Heard::Nothing => {}
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

fn answer_bytes(node: NodeId, reached: usize, found: Vec<FoundWire>, more: bool) -> Bytes {
    let answer = Answer {
        node,
        reached,
        found,
        more,
    };
    serde_json::to_vec(&answer).unwrap_or_default().into()
}

fn delivered_bytes(delivered: Delivered) -> Bytes {
    serde_json::to_vec(&delivered).unwrap_or_default().into()
}
