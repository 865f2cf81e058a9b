//! `change_tracker`: pushes the creates, updates and deletes of database rows to the clients
//! subscribed to them, as the original's `sequelize-change-tracker`, with a stronger promise:
//! **the database itself records every change, and every subscribed client receives every
//! change exactly once, in commit order**, including changes made by other processes (a
//! migration, a second service, `psql`) and changes made while the tracker was disconnected.
//!
//! Triggers on each tracked table append the change, with the row's public fields, to a change
//! table in the same transaction as the data: a change is recorded exactly when it commits and
//! never when it rolls back. The tracker reads that table from a position it keeps; live signals
//! (a commit hook on SQLite, `LISTEN/NOTIFY` on PostgreSQL) only wake it, and a poll is the
//! safety net. SQLite (a file, or in memory) is the embedded default, with nothing to install;
//! PostgreSQL serves many writers. Behind the `change-tracker` feature.
//!
//! ```no_run
//! use yoctopus_core::prelude::*;
//! use yoctopus_plugins::change_tracker::{ChangeTracker, Database, Model};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let database = Database::connect("sqlite://app.db").await?;
//! database
//!     .execute_script(
//!         "CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, name TEXT, email TEXT, password TEXT);
//!          CREATE TABLE IF NOT EXISTS posts (id INTEGER PRIMARY KEY, title TEXT, content TEXT, author_id INTEGER);",
//!     )
//!     .await?;
//! let tracker = ChangeTracker::builder()
//!     .model(Model::new("User", "users").public_fields(["id", "name"])) // not email, password
//!     .model(Model::new("Post", "posts").public_fields(["id", "title", "content", "author_id"]))
//!     .auto_subscribe_to(["Post"]) // every connection hears of every post
//!     .start(&database)
//!     .await?;
//! let server = Server::builder().plugin(tracker.plugin()).start().await?;
//! # Ok(()) }
//! ```
//!
//! Clients then receive, for each change of a model they are subscribed to,
//! `{"meta":{"method":"notify","type":"data-changed"},"data":{"operation":"create","model":"Post","fields":{...}}}`,
//! with the public fields only. Handlers subscribe connections with a [`ChangeTracker`] argument
//! (`State<ChangeTracker>`): [`ChangeTracker::subscribe`] to a model or to one row of it,
//! [`ChangeTracker::unsubscribe`]; a connection's subscriptions go when it closes.
//!
//! ## What is kept, and for how long
//!
//! The change table holds each change's public fields, so no other column is ever copied. Each
//! tracker records how far it has delivered in `yoctopus_cursors` (every `prune_every`, 10 s by
//! default) and deletes what every tracker has delivered, so the table holds about the changes
//! of the last `prune_every` plus what the slowest tracker has yet to read. A tracker that goes
//! away without a word holds pruning back for `retention` (1 hour by default), then no longer:
//! the table's growth is bounded by the changes committed within `retention`.

mod change;
mod database;
mod endpoints;
mod error;
mod follower;
mod model;
mod postgres;
mod sqlite;
mod subscribers;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::watch;
use yoctopus_core::{ConnectionId, Connections, Plugin};

pub use self::change::Operation;
pub use self::change_tracker::DataChanged;
pub use self::database::{Database, DatabaseKind};
pub use self::endpoints::subscriptions;
pub use self::error::TrackerError;
pub use self::model::Model;
pub use self::subscribers::Subscription;

use self::follower::{Follower, Pace};
use self::subscribers::{InstanceKey, Subscriptions};

/// The plugin: auto-subscriptions for new connections, cleanup when they close, and the
/// `data-changed` push in the API description. Registered with [`ChangeTracker::plugin`].
#[yoctopus_core::plugin]
pub mod change_tracker {
    use serde::Serialize;
    use serde_json::value::RawValue;
    use yoctopus_core::prelude::*;
    use yoctopus_core::Connections;

    use super::{ChangeTracker, Operation};

    /// A row of a tracked model was created, updated or deleted; `fields` holds its public
    /// fields only (as they were, for a delete).
    #[push("data-changed")]
    #[derive(Debug, Serialize, schemars::JsonSchema)]
    pub struct DataChanged {
        /// `create`, `update` or `delete`.
        pub operation: Operation,
        /// The model's name.
        pub model: String,
        /// The row's public fields.
        #[schemars(with = "serde_json::Map<String, serde_json::Value>")]
        pub fields: Box<RawValue>,
    }

    /// Subscribes the new connection to the `auto_subscribe_to` models.
    #[on(connection_opened)]
    async fn auto_subscribe(
        id: ConnectionId,
        tracker: State<ChangeTracker>,
        connections: Connections,
    ) {
        tracker.connection_opened(id, connections);
    }

    /// Removes every subscription of the closed connection.
    #[on(connection_closed)]
    async fn forget(id: ConnectionId, tracker: State<ChangeTracker>) {
        tracker.shared.subscriptions.remove_connection(id);
    }
}

/// What the tracker's handles and its follower share.
pub(crate) struct Shared {
    models: Vec<Model>,
    /// Indexes of the models every new connection is subscribed to.
    auto_subscribed: Vec<usize>,
    subscriptions: Subscriptions,
    /// The register, known from the first connection on (subscriptions come only from
    /// connections, so a change with subscribers always finds it set).
    connections: OnceLock<Connections>,
}

impl Shared {
    fn model_index(&self, name: &str) -> Option<usize> {
        self.models.iter().position(|model| model.name() == name)
    }

    fn known_model(&self, name: &str) -> Result<usize, TrackerError> {
        self.model_index(name)
            .ok_or_else(|| TrackerError::UnknownModel(name.to_owned()))
    }
}

/// Stops the follower when the last handle goes.
struct StopOnDrop(watch::Sender<bool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.send_replace(true);
    }
}

/// A running change tracker: a cheap handle (clone it), and a handler argument as
/// `State<ChangeTracker>` once [`plugin`](Self::plugin) is registered. The follower stops when
/// the last handle is dropped (the server holds one while it runs).
///
/// One tracker serves one server: it pushes through the register of the server whose
/// connections it first heard of. Servers in one process each start their own tracker on the
/// database; their trackers share the change table and prune it together.
#[derive(Clone)]
pub struct ChangeTracker {
    shared: Arc<Shared>,
    database: Database,
    _stop: Arc<StopOnDrop>,
}

impl std::fmt::Debug for ChangeTracker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChangeTracker")
            .field("models", &self.shared.models)
            .finish_non_exhaustive()
    }
}

impl ChangeTracker {
    /// A tracker to configure.
    pub fn builder() -> ChangeTrackerBuilder {
        ChangeTrackerBuilder::default()
    }

    /// The plugin to register on the server, providing this tracker to every handler and
    /// listener as `State<ChangeTracker>`.
    pub fn plugin(&self) -> Plugin {
        change_tracker::plugin().provide(self.clone())
    }

    /// The database it follows, whose pool the application can write through.
    pub fn database(&self) -> &Database {
        &self.database
    }

    /// The tracked models.
    pub fn models(&self) -> &[Model] {
        &self.shared.models
    }

    /// Subscribes connection `id` to `model`: to every row, or with `instance` (its primary key,
    /// a number or a string) to that row only. Answers whether the subscription is new.
    pub fn subscribe(
        &self,
        model: &str,
        id: ConnectionId,
        instance: Option<&Value>,
    ) -> Result<bool, TrackerError> {
        let model = self.shared.known_model(model)?;
        let row = instance.map(InstanceKey::of).transpose()?;
        Ok(self.shared.subscriptions.add(model, id, row))
    }

    /// Removes connection `id`'s subscription to `model`: with `instance`, to that row; without,
    /// every subscription of it to the model. Answers whether there was one.
    pub fn unsubscribe(
        &self,
        model: &str,
        id: ConnectionId,
        instance: Option<&Value>,
    ) -> Result<bool, TrackerError> {
        let model = self.shared.known_model(model)?;
        let row = instance.map(InstanceKey::of).transpose()?;
        Ok(self.shared.subscriptions.remove(model, id, row.as_ref()))
    }

    /// Connection `id`'s subscriptions.
    pub fn subscriptions_of(&self, id: ConnectionId) -> Vec<Subscription> {
        self.shared
            .subscriptions
            .of(id)
            .into_iter()
            .map(|(model, instance)| Subscription {
                model: self.shared.models[model].name().to_owned(),
                instance,
            })
            .collect()
    }

    /// How many subscriptions all connections hold.
    pub fn subscription_count(&self) -> usize {
        self.shared.subscriptions.count()
    }

    fn connection_opened(&self, id: ConnectionId, connections: Connections) {
        let _ = self.shared.connections.set(connections);
        self.shared
            .subscriptions
            .add_all(&self.shared.auto_subscribed, id);
    }
}

/// Configures a [`ChangeTracker`].
#[derive(Debug, Default)]
pub struct ChangeTrackerBuilder {
    models: Vec<Model>,
    auto_subscribe_to: Vec<String>,
    poll: Option<Duration>,
    prune_every: Option<Duration>,
    retention: Option<Duration>,
}

impl ChangeTrackerBuilder {
    /// Tracks `model`.
    pub fn model(mut self, model: Model) -> Self {
        self.models.push(model);
        self
    }

    /// Subscribes every new connection to each of these models (the original's
    /// `autoSubscribeTo`).
    pub fn auto_subscribe_to<I, S>(mut self, models: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.auto_subscribe_to
            .extend(models.into_iter().map(Into::into));
        self
    }

    /// The longest time between two looks at the change table when nothing woke the tracker:
    /// how soon a commit by another process is seen on SQLite (default 50 ms), and the safety
    /// net behind `NOTIFY` on PostgreSQL (default 1 s).
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll = Some(interval);
        self
    }

    /// How often the tracker records its position and prunes the change table (default 10 s).
    pub fn prune_every(mut self, interval: Duration) -> Self {
        self.prune_every = Some(interval);
        self
    }

    /// How long the position of a tracker that stopped without a word holds back pruning
    /// (default 1 hour). A tracker disconnected from the database longer than this, beside
    /// others that prune, may find changes gone (and logs so).
    pub fn retention(mut self, retention: Duration) -> Self {
        self.retention = Some(retention);
        self
    }

    /// Installs the change table and the models' triggers (idempotent), takes the newest change
    /// as the starting point, and starts following. Changes committed from then on are pushed.
    pub async fn start(self, database: &Database) -> Result<ChangeTracker, TrackerError> {
        for (index, model) in self.models.iter().enumerate() {
            model.check_names()?;
            let earlier = &self.models[..index];
            if earlier
                .iter()
                .any(|other| other.name() == model.name() || other.table() == model.table())
            {
                return Err(TrackerError::DuplicateModel(model.name().to_owned()));
            }
        }
        let auto_subscribed = self
            .auto_subscribe_to
            .iter()
            .map(|name| {
                self.models
                    .iter()
                    .position(|model| model.name() == name)
                    .ok_or_else(|| TrackerError::UnknownModel(name.clone()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        database.install(&self.models).await?;
        let mut feed = database.open_feed().await?;
        let position = feed.head().await?;
        let default_poll = match database.kind() {
            DatabaseKind::Sqlite => Duration::from_millis(50),
            DatabaseKind::Postgres => Duration::from_secs(1),
        };
        let pace = Pace {
            poll: self.poll.unwrap_or(default_poll),
            prune_every: self.prune_every.unwrap_or(Duration::from_secs(10)),
            retention: self.retention.unwrap_or(Duration::from_secs(3600)),
        };
        let shared = Arc::new(Shared {
            subscriptions: Subscriptions::new(self.models.len()),
            models: self.models,
            auto_subscribed,
            connections: OnceLock::new(),
        });
        let (stop, stopped) = watch::channel(false);
        let follower = Follower {
            shared: Arc::clone(&shared),
            database: database.clone(),
            pace,
            name: tracker_name(),
            position,
            recorded: false,
            stop: stopped,
        };
        tokio::spawn(follower.run(feed));
        Ok(ChangeTracker {
            shared,
            database: database.clone(),
            _stop: Arc::new(StopOnDrop(stop)),
        })
    }
}

/// A name for this tracker in the cursor table: random, so trackers never share one.
fn tracker_name() -> String {
    let mut bytes = [0u8; 8];
    let _ = getrandom::fill(&mut bytes);
    format!("tracker-{:016x}", u64::from_be_bytes(bytes))
}
