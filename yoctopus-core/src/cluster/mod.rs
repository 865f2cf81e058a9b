//! Many servers acting as one, through NATS: the cluster backend of the delivery seam.
//!
//! A server given a [`Cluster`] joins it when it starts; every push, close, multicast and
//! register query then goes through [`ClusterNode`] instead of [`LocalDelivery`], and no plugin
//! changes. What goes where (the subjects are in [`wire`]):
//!
//! - **Push or close by id**: a connection id names the node that holds it, so the command goes
//!   to that node's own subject alone and its answer comes back (queued, unknown, stopped
//!   reading). A node that is gone has no subscriber: NATS says so at once, and the connection
//!   is unknown. This node's own connections never touch NATS.
//! - **Multicast**: published once, evaluated by every node it reaches against its own
//!   connections; each answers how many it reached, and the counts are gathered.
//! - **Register queries** (count, list, select, export): published once, gathered like a
//!   multicast's counts; a look-up by id goes to the one node that holds the id.
//! - **API changes**: a node whose plugins change publishes its new API to `api`; every node's
//!   watchers (the `api` plugin's subscribers) hear it.
//!
//! Membership ([`membership`]) is by heartbeat; a gather ([`gather`]) waits for every node it
//! was sent to until the gather timeout, then answers what arrived, marked incomplete. NATS away
//! ([`link`]): everything that needs another node fails at once with
//! [`DeliveryError::Unavailable`]; the client reconnects and resubscribes by itself, and the log
//! says which window may have been missed.
//!
//! # Interest: who hears what
//! A node subscribes to its own subject, `all`, `members`, `api` and `interest`, and to the
//! topics of its connections. Pushes by id, most of a chat's traffic, cost the other nodes
//! nothing. A multicast or query whose filter pins a declared route
//! ([`ServerBuilder::cluster_route`](crate::ServerBuilder::cluster_route), see [`routes`]) goes
//! to the topic's subject: only the nodes holding a connection on that value receive it, and
//! the sender waits for those it knows of ([`holdings`] announces this node's topics,
//! [`holders`] keeps the others'). Any other filter can match anywhere, so it goes to `all`.
//! BENCHMARKS.md has the figures and where each stops scaling.

mod answering;
mod config;
mod gather;
mod holders;
mod holdings;
mod link;
mod membership;
mod routes;
mod wire;

use std::sync::{Arc, Mutex, PoisonError};

use serde_json::Value;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio::time::Instant;

pub use self::config::Cluster;

use self::answering::Responder;
use self::gather::{Collected, Pending, Replies};
use self::holders::Holders;
use self::holdings::Holdings;
use self::link::{Link, NoAnswer};
use self::membership::Members;
pub(crate) use self::routes::Route;
use self::routes::{Routes, Token};
use self::wire::{Answer, ApiChange, Delivered, Presence, Request, Subjects};
use crate::connection::{Connection, ConnectionId, NodeId};
use crate::delivery::{
    Command, Delivery, DeliveryError, DeliveryFuture, Found, Listing, LocalDelivery, Survey,
};
use crate::error::ServerError;
use crate::filter::SettingsFilter;
use crate::protocol::Push;
use crate::register::Register;
use crate::served_api::RemoteApiChanges;

/// How long a newcomer listens for the members' answers to its hello before serving: until no
/// new member has been heard for this long...
const SETTLE_QUIET: std::time::Duration = std::time::Duration::from_millis(50);
/// ...and at most this long.
const SETTLE_MAX: std::time::Duration = std::time::Duration::from_millis(500);

/// How long leaving may wait for NATS to take the last messages.
const LEAVE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// This server as a node of a cluster: delivery to every node's connections.
pub(crate) struct ClusterNode {
    responder: Arc<Responder>,
    replies: Arc<Replies>,
    routes: Routes,
    gather_timeout: std::time::Duration,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl ClusterNode {
    /// Connects to NATS, subscribes, greets the members and learns who they are.
    pub(crate) async fn join(
        config: &Cluster,
        own: NodeId,
        routes: Vec<Route>,
        register: Arc<Register>,
        remote_api: RemoteApiChanges,
    ) -> Result<Arc<Self>, ServerError> {
        config.check()?;
        let failed = |message: String| ServerError::Cluster {
            url: config.url.clone(),
            message,
        };
        let link = Link::connect(
            &config.url,
            format!("yoctopus {} {own}", config.name),
            config.request_timeout,
        )
        .await
        .map_err(failed)?;
        let subjects = Subjects::new(&config.name);
        let replies = Replies::new(link.client().new_inbox());
        let client = link.client().clone();
        let subscribe = |subject: String| {
            let client = client.clone();
            async move { client.subscribe(subject).await }
        };
        let own_subscription = subscribe(subjects.node(own)).await;
        let all = subscribe(subjects.all()).await;
        let members_subscription = subscribe(subjects.members()).await;
        let api = subscribe(subjects.api()).await;
        let interest = subscribe(subjects.interest()).await;
        let answers = subscribe(replies.wildcard()).await;
        let subscribe_failed = |error: async_nats::SubscribeError| failed(error.to_string());
        let (own_subscription, all, members_subscription, api, interest, answers) = (
            own_subscription.map_err(subscribe_failed)?,
            all.map_err(subscribe_failed)?,
            members_subscription.map_err(subscribe_failed)?,
            api.map_err(subscribe_failed)?,
            interest.map_err(subscribe_failed)?,
            answers.map_err(subscribe_failed)?,
        );
        link.flush()
            .await
            .map_err(|error| failed(error.to_string()))?;

        let routes = Routes::new(routes);
        let members = Arc::new(Members::new(own));
        let (holdings, transitions) = Holdings::new();
        let responder = Arc::new(Responder {
            own,
            link,
            subjects,
            local: LocalDelivery::new(Arc::clone(&register)),
            register,
            members: Arc::clone(&members),
            remote_api,
            beat_now: Notify::new(),
            expire_after: config.expire_after,
            holdings: Arc::new(holdings),
            holders: Arc::new(Holders::default()),
            resyncing: Mutex::new(std::collections::HashSet::new()),
            linger: config.gather_timeout + config.request_timeout,
            replies: Arc::clone(&replies),
            gather_timeout: config.gather_timeout,
            routes: routes.fingerprint(),
            warned_routes: Mutex::new(std::collections::HashSet::new()),
        });
        let tasks = vec![
            tokio::spawn(Arc::clone(&responder).answer_own(own_subscription, interest)),
            tokio::spawn(Arc::clone(&responder).answer_shared(all)),
            tokio::spawn(Arc::clone(&responder).keep_interest(transitions)),
            tokio::spawn(Arc::clone(&responder).hear_members(members_subscription)),
            tokio::spawn(Arc::clone(&responder).hear_api(api)),
            tokio::spawn(Arc::clone(&replies).route(answers)),
        ];
        responder.beat(Presence::Hello).await;
        settle(&members).await;
        let beating = tokio::spawn(Arc::clone(&responder).keep_beating(config.heartbeat_interval));
        let node = Arc::new(Self {
            responder,
            replies,
            routes,
            gather_timeout: config.gather_timeout,
            tasks: Mutex::new(tasks.into_iter().chain([beating]).collect()),
        });
        tracing::info!(
            node = %own,
            cluster = %config.name,
            url = %config.url,
            members = members.others().len(),
            "joined the cluster"
        );
        Ok(node)
    }

    /// Connection `connection` opened, or changed settings of `plugin` (any plugin when
    /// `None`): its topics may have changed.
    pub(crate) fn connection_changed(&self, connection: &Connection, plugin: Option<&str>) {
        if self.routes.is_empty() || plugin.is_some_and(|plugin| !self.routes.routes_plugin(plugin))
        {
            return;
        }
        // A late change of a connection already gone must not bring its topics back.
        if plugin.is_some() && self.responder.register.get(connection.id()).is_none() {
            return;
        }
        let topics = self.routes.topics_of(connection);
        self.responder.holdings.set(connection.id(), topics);
    }

    /// Whether any route is declared.
    pub(crate) fn routes_anything(&self) -> bool {
        !self.routes.is_empty()
    }

    /// Waits until every server knows of every topic this one took up or let go so far.
    pub(crate) async fn caught_up(&self) {
        self.responder.holdings.caught_up().await;
    }

    /// Connection `id` closed.
    pub(crate) fn connection_closed(&self, id: ConnectionId) {
        if !self.routes.is_empty() {
            self.responder.holdings.set(id, Vec::new());
        }
    }

    /// Says goodbye, so the others stop waiting for this node at once, and stops listening.
    pub(crate) async fn leave(&self) {
        self.responder.beat(Presence::Leaving).await;
        let _ = self.responder.link.flush().await;
        for task in self
            .tasks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain(..)
        {
            task.abort();
        }
        let client = self.responder.link.client();
        if tokio::time::timeout(LEAVE_TIMEOUT, client.drain())
            .await
            .is_err()
        {
            tracing::debug!("the NATS connection did not drain in time");
        }
        tracing::info!(node = %self.responder.own, "left the cluster");
    }

    /// Tells every node that this node's API is now `read`.
    pub(crate) async fn announce_api(&self, read: &Value) {
        let change = ApiChange {
            node: self.responder.own,
            read: read.clone(),
        };
        let Ok(payload) = serde_json::to_vec(&change) else {
            return;
        };
        let responder = &self.responder;
        if let Err(error) = responder
            .link
            .publish(responder.subjects.api(), None, payload.into())
            .await
        {
            tracing::warn!(%error, "the other servers were not told of this server's API change");
        }
    }

    /// A command for a connection on another node, sent to that node alone.
    async fn deliver_elsewhere(
        &self,
        id: ConnectionId,
        command: Command,
    ) -> Result<(), DeliveryError> {
        let payload = match command {
            Command::Push(push) => Request::Push { id }.encode(Some(push.frame())),
            Command::Close { code, reason } => Request::Close { id, code, reason }.encode(None),
        };
        let responder = &self.responder;
        responder.holdings.caught_up().await;
        let answer = match responder
            .link
            .request(responder.subjects.node(id.node()), payload)
            .await
        {
            Ok(answer) => answer,
            Err(NoAnswer::NoResponders) => return Err(self.not_listening(id)),
            Err(NoAnswer::Unavailable(error)) => return Err(error),
        };
        match serde_json::from_slice::<Delivered>(&answer.payload) {
            Ok(Delivered::Ok) => Ok(()),
            Ok(Delivered::Unknown) => Err(DeliveryError::UnknownConnection(id)),
            Ok(Delivered::QueueFull) => Err(DeliveryError::QueueFull(id)),
            Ok(Delivered::Unreadable) | Err(_) => Err(DeliveryError::Unavailable(format!(
                "server {} could not read the request (is it another version?)",
                id.node()
            ))),
        }
    }

    /// Nobody listens on the subject of `id`'s server: gone, when it is no longer a member (its
    /// connection with it); else still a member but not listening right now (it is reconnecting
    /// to NATS, or was killed and not yet counted gone), so not known to be gone.
    fn not_listening(&self, id: ConnectionId) -> DeliveryError {
        if self.responder.members.is_member(id.node()) {
            DeliveryError::Unavailable(format!(
                "server {} is a member of the cluster but not listening (reconnecting to NATS, or gone and not yet counted gone)",
                id.node()
            ))
        } else {
            DeliveryError::UnknownConnection(id)
        }
    }

    /// Publishes `request` to every node, or to the holders of `topic` when it has one; the
    /// answers are then gathered with [`Sent::collect`], so this node can do its own share
    /// meanwhile.
    async fn send_to_all(
        &self,
        request: &Request,
        frame: Option<&[u8]>,
        topic: Option<Token>,
    ) -> Result<Sent, DeliveryError> {
        let responder = &self.responder;
        responder.link.ready()?;
        responder.holdings.caught_up().await;
        let (subject, expected) = match topic {
            Some(token) => (responder.subjects.topic(token), responder.holders.of(token)),
            None => (responder.subjects.all(), responder.members.others()),
        };
        let pending = self.replies.open();
        let deadline = Instant::now() + self.gather_timeout;
        responder
            .link
            .publish(
                subject,
                Some(pending.subject().to_owned()),
                request.encode(frame),
            )
            .await?;
        Ok(Sent {
            pending,
            expected,
            deadline,
        })
    }

    /// A look-up by id, asked of the node that holds the id.
    async fn survey_elsewhere(&self, survey: Survey) -> Result<Listing, DeliveryError> {
        let Some(id) = survey.id else {
            return Ok(Listing::default());
        };
        let request = Request::survey(&survey);
        let responder = &self.responder;
        responder.holdings.caught_up().await;
        let answer = match responder
            .link
            .request(responder.subjects.node(id.node()), request.encode(None))
            .await
        {
            Ok(answer) => answer,
            Err(NoAnswer::NoResponders) => {
                return Ok(Listing {
                    found: Vec::new(),
                    count: 0,
                    complete: true,
                })
            }
            Err(NoAnswer::Unavailable(error)) => return Err(error),
        };
        let answer: Answer = serde_json::from_slice(&answer.payload).map_err(|_| {
            DeliveryError::Unavailable(format!("server {} sent an unreadable answer", id.node()))
        })?;
        let count = answer.count;
        Ok(Listing {
            found: found_in([answer]),
            count,
            complete: true,
        })
    }
}

/// A request out to every node, its answers still to come.
struct Sent {
    pending: Pending,
    expected: Vec<NodeId>,
    deadline: Instant,
}

impl Sent {
    async fn collect(self, members: &Members) -> Collected {
        self.pending
            .collect(&self.expected, members, self.deadline)
            .await
    }
}

/// Waits after the hello until the members have answered: no newcomer for [`SETTLE_QUIET`], at
/// most [`SETTLE_MAX`].
async fn settle(members: &Members) {
    let started = Instant::now();
    let mut known = members.others().len();
    while started.elapsed() < SETTLE_MAX {
        tokio::time::sleep(SETTLE_QUIET).await;
        let now_known = members.others().len();
        if now_known == known {
            return;
        }
        known = now_known;
    }
}

fn found_in(answers: impl IntoIterator<Item = Answer>) -> Vec<Found> {
    answers
        .into_iter()
        .flat_map(|answer| answer.found)
        .map(|found| Found {
            id: found.id,
            settings: found.settings,
        })
        .collect()
}

fn warn_incomplete(what: &str, collected: &Collected) {
    if !collected.complete {
        let missing: Vec<String> = collected.missing.iter().map(ToString::to_string).collect();
        tracing::warn!(
            missing = missing.join(","),
            "{what}: some servers of the cluster did not answer in time; the answer is incomplete"
        );
    }
}

impl Delivery for ClusterNode {
    fn deliver(
        &self,
        id: ConnectionId,
        command: Command,
    ) -> DeliveryFuture<'_, Result<(), DeliveryError>> {
        if id.node() == self.responder.own {
            let delivered = self.responder.local.deliver_now(id, command);
            return Box::pin(std::future::ready(delivered));
        }
        Box::pin(self.deliver_elsewhere(id, command))
    }

    fn deliver_matching(
        &self,
        filter: SettingsFilter,
        push: Push,
    ) -> DeliveryFuture<'_, Result<usize, DeliveryError>> {
        Box::pin(async move {
            let request = Request::Multicast {
                filter: filter.clone(),
            };
            // Out to the others first, so they work while this node does its own.
            let topic = self.routes.topic_of(&filter);
            let sent = self
                .send_to_all(&request, Some(push.frame()), topic)
                .await?;
            let here = self
                .responder
                .local
                .deliver_matching_in_turn(&filter, &push)
                .await;
            let collected = sent.collect(&self.responder.members).await;
            warn_incomplete("a multicast", &collected);
            let elsewhere: usize = collected.answers.iter().map(|answer| answer.reached).sum();
            Ok(here + elsewhere)
        })
    }

    fn survey(&self, survey: Survey) -> DeliveryFuture<'_, Result<Listing, DeliveryError>> {
        Box::pin(async move {
            if let Some(id) = survey.id {
                if id.node() == self.responder.own {
                    return Ok(self.responder.local.survey_now(&survey));
                }
                return self.survey_elsewhere(survey).await;
            }
            let request = Request::survey(&survey);
            let topic = survey
                .filter
                .as_ref()
                .and_then(|filter| self.routes.topic_of(filter));
            let sent = self.send_to_all(&request, None, topic).await?;
            let mut listing = self.responder.local.survey_now(&survey);
            let collected = sent.collect(&self.responder.members).await;
            warn_incomplete("a register query", &collected);
            listing.count += collected
                .answers
                .iter()
                .map(|answer| answer.count)
                .sum::<usize>();
            listing.found.extend(found_in(collected.answers));
            listing.complete = collected.complete;
            Ok(listing)
        })
    }
}

impl std::fmt::Debug for ClusterNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterNode")
            .field("node", &self.responder.own)
            .finish_non_exhaustive()
    }
}
