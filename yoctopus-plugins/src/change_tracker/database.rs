//! The database a tracker follows: SQLite or PostgreSQL, chosen by URL, and the follower's view
//! of its change table.
//!
//! The application writes through the same [`Database`]'s pool: on SQLite that is what makes
//! its commits wake the tracker at once (writers elsewhere are found by polling); on PostgreSQL
//! any writer wakes it, through `NOTIFY`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::{PgPool, SqlitePool};
use tokio::sync::Notify;

use super::change::{Change, Position};
use super::error::TrackerError;
use super::model::Model;
use super::postgres::{self, PgFeed};
use super::sqlite::{self, SqliteFeed};

/// A database connection pool that a [`ChangeTracker`](super::ChangeTracker) can follow.
///
/// ```no_run
/// # async fn run() -> Result<(), yoctopus_plugins::change_tracker::TrackerError> {
/// use yoctopus_plugins::change_tracker::Database;
///
/// let database = Database::connect("sqlite://app.db").await?; // or postgres://...
/// if let Some(pool) = database.sqlite() {
///     sqlx::query("INSERT INTO posts (title) VALUES ('Hello')").execute(pool).await?;
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Database {
    backend: Backend,
}

#[derive(Debug, Clone)]
enum Backend {
    Sqlite {
        pool: SqlitePool,
        /// Woken by each commit through `pool`.
        commits: Arc<Notify>,
    },
    Postgres {
        pool: PgPool,
    },
}

/// Which database a [`Database`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseKind {
    /// SQLite, a file or in memory.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

impl Database {
    /// Connects to `url`: `sqlite://PATH` or `sqlite:PATH` (the file is created if missing),
    /// `sqlite::memory:`, or `postgres://...` / `postgresql://...`.
    pub async fn connect(url: &str) -> Result<Self, TrackerError> {
        let backend = if url.starts_with("sqlite:") {
            let commits = Arc::new(Notify::new());
            Backend::Sqlite {
                pool: sqlite::connect(url, Arc::clone(&commits)).await?,
                commits,
            }
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres {
                pool: postgres::connect(url).await?,
            }
        } else {
            return Err(TrackerError::UnsupportedUrl(url.to_owned()));
        };
        Ok(Self { backend })
    }

    /// Which database this is.
    pub fn kind(&self) -> DatabaseKind {
        match &self.backend {
            Backend::Sqlite { .. } => DatabaseKind::Sqlite,
            Backend::Postgres { .. } => DatabaseKind::Postgres,
        }
    }

    /// The pool, on SQLite: write through it and the tracker hears each commit at once.
    pub fn sqlite(&self) -> Option<&SqlitePool> {
        match &self.backend {
            Backend::Sqlite { pool, .. } => Some(pool),
            Backend::Postgres { .. } => None,
        }
    }

    /// The pool, on PostgreSQL.
    pub fn postgres(&self) -> Option<&PgPool> {
        match &self.backend {
            Backend::Postgres { pool } => Some(pool),
            Backend::Sqlite { .. } => None,
        }
    }

    /// Runs `sql` (any number of statements, no parameters), for setting up a schema.
    pub async fn execute_script(&self, sql: &str) -> Result<(), TrackerError> {
        match &self.backend {
            Backend::Sqlite { pool, .. } => sqlx::raw_sql(sql).execute(pool).await.map(drop)?,
            Backend::Postgres { pool } => sqlx::raw_sql(sql).execute(pool).await.map(drop)?,
        }
        Ok(())
    }

    pub(crate) async fn install(&self, models: &[Model]) -> Result<(), TrackerError> {
        match &self.backend {
            Backend::Sqlite { pool, .. } => sqlite::install(pool, models).await,
            Backend::Postgres { pool } => postgres::install(pool, models).await,
        }
    }

    /// A new view of the change table, on connections of its own.
    pub(crate) async fn open_feed(&self) -> Result<Feed, TrackerError> {
        match &self.backend {
            Backend::Sqlite { pool, commits } => Ok(Feed::Sqlite(
                SqliteFeed::open(pool, Arc::clone(commits)).await?,
            )),
            Backend::Postgres { pool } => {
                Ok(Feed::Postgres(PgFeed::open(&pool.connect_options()).await?))
            }
        }
    }
}

/// The follower's view of the change table.
pub(crate) enum Feed {
    Sqlite(SqliteFeed),
    Postgres(PgFeed),
}

impl Feed {
    pub(crate) async fn head(&mut self) -> Result<Position, TrackerError> {
        match self {
            Self::Sqlite(feed) => feed.head().await,
            Self::Postgres(feed) => feed.head().await,
        }
    }

    pub(crate) async fn read_after(
        &mut self,
        after: Position,
        limit: i64,
    ) -> Result<Vec<Change>, TrackerError> {
        match self {
            Self::Sqlite(feed) => feed.read_after(after, limit).await,
            Self::Postgres(feed) => feed.read_after(after, limit).await,
        }
    }

    pub(crate) async fn wait(
        &mut self,
        poll: Duration,
        until: Instant,
    ) -> Result<(), TrackerError> {
        match self {
            Self::Sqlite(feed) => feed.wait(poll, until).await,
            Self::Postgres(feed) => feed.wait(poll, until).await,
        }
    }

    pub(crate) async fn prune(
        &mut self,
        tracker: &str,
        position: Position,
        retention: Duration,
        recorded_before: bool,
    ) -> Result<bool, TrackerError> {
        match self {
            Self::Sqlite(feed) => {
                feed.prune(tracker, position, retention, recorded_before)
                    .await
            }
            Self::Postgres(feed) => {
                feed.prune(tracker, position, retention, recorded_before)
                    .await
            }
        }
    }
}
