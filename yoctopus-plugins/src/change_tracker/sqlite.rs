//! The change table on SQLite, the embedded default.
//!
//! SQLite has one writer at a time, so the change table's increasing id (`AUTOINCREMENT`, never
//! reused, even after pruning) is commit order. A commit made through the tracker's pool wakes
//! the follower at once (a commit hook, registered on each connection as it opens, that only
//! signals); commits by other processes are seen by polling `PRAGMA data_version`, which changes
//! when another connection commits. The hook runs just before the commit is visible, so a wake
//! makes the next polls come quickly rather than trusting the read that follows it.

use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use sqlx::{Connection, Row};
use tokio::sync::Notify;

use super::change::{Change, Position};
use super::error::TrackerError;
use super::model::{literal, quoted, Model};

/// The first poll after a wake; polls then double up to the configured interval.
const FIRST_POLL: Duration = Duration::from_millis(1);

/// Opens `url` (`sqlite://PATH`, `sqlite:PATH`, `sqlite::memory:`), creating the file if
/// missing; every connection of the pool wakes `commits` when it commits.
pub(crate) async fn connect(url: &str, commits: Arc<Notify>) -> Result<SqlitePool, TrackerError> {
    let options = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .busy_timeout(Duration::from_secs(10));
    let in_memory = url.contains(":memory:") || url.contains("mode=memory");
    let options = if in_memory {
        options
    } else {
        options
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
    };
    let mut pool = SqlitePoolOptions::new().after_connect(move |connection, _| {
        let commits = Arc::clone(&commits);
        Box::pin(async move {
            let mut handle = connection.lock_handle().await?;
            handle.set_commit_hook(move || {
                commits.notify_one();
                true // let the commit proceed
            });
            Ok(())
        })
    });
    if in_memory {
        // An in-memory database lives as long as one of its connections: keep one open.
        pool = pool
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None);
    }
    Ok(pool.connect_with(options).await?)
}

/// Creates the change table, the cursor table and each model's triggers, if missing; replaces
/// triggers that exist, so a changed list of public fields takes effect. One transaction.
pub(crate) async fn install(pool: &SqlitePool, models: &[Model]) -> Result<(), TrackerError> {
    let mut connection = pool.acquire().await?;
    for model in models {
        let columns: Vec<String> = sqlx::query_scalar("SELECT name FROM pragma_table_info(?)")
            .bind(model.table())
            .fetch_all(&mut *connection)
            .await?;
        model.check_columns(&columns)?;
    }
    let mut script = String::from(
        "BEGIN IMMEDIATE;
         CREATE TABLE IF NOT EXISTS yoctopus_changes (
             id INTEGER PRIMARY KEY AUTOINCREMENT,
             model TEXT NOT NULL,
             operation TEXT NOT NULL,
             key TEXT NOT NULL,
             fields TEXT NOT NULL
         );
         CREATE TABLE IF NOT EXISTS yoctopus_cursors (
             tracker TEXT PRIMARY KEY,
             position INTEGER NOT NULL,
             seen_at INTEGER NOT NULL
         );\n",
    );
    for model in models {
        for (operation, event, row) in [
            ("create", "INSERT", "NEW"),
            ("update", "UPDATE", "NEW"),
            ("delete", "DELETE", "OLD"),
        ] {
            let trigger = quoted(&model.trigger_name(operation));
            let fields = model
                .fields()
                .iter()
                .map(|field| format!("{}, {row}.{}", literal(field), quoted(field)))
                .collect::<Vec<_>>()
                .join(", ");
            script.push_str(&format!(
                "DROP TRIGGER IF EXISTS {trigger};
                 CREATE TRIGGER {trigger} AFTER {event} ON {table} BEGIN
                     INSERT INTO yoctopus_changes (model, operation, key, fields)
                     VALUES ({name}, '{operation}', json_quote({row}.{key}), json_object({fields}));
                 END;\n",
                table = quoted(model.table()),
                name = literal(model.name()),
                key = quoted(model.key()),
            ));
        }
    }
    script.push_str("COMMIT;");
    let installed = sqlx::raw_sql(&script).execute(&mut *connection).await;
    if installed.is_err() {
        // Leave the pooled connection outside any transaction the script left open.
        let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *connection).await;
    }
    installed?;
    Ok(())
}

/// The follower's own connection to the change table.
pub(crate) struct SqliteFeed {
    connection: SqliteConnection,
    commits: Arc<Notify>,
    data_version: i64,
    next_poll: Duration,
}

impl SqliteFeed {
    pub(crate) async fn open(
        pool: &SqlitePool,
        commits: Arc<Notify>,
    ) -> Result<Self, TrackerError> {
        let options = SqliteConnectOptions::clone(&pool.connect_options());
        let mut connection = SqliteConnection::connect_with(&options).await?;
        let data_version = data_version(&mut connection).await?;
        Ok(Self {
            connection,
            commits,
            data_version,
            next_poll: FIRST_POLL,
        })
    }

    /// The position of the newest change.
    pub(crate) async fn head(&mut self) -> Result<Position, TrackerError> {
        let id: i64 = sqlx::query_scalar("SELECT coalesce(max(id), 0) FROM yoctopus_changes")
            .fetch_one(&mut self.connection)
            .await?;
        Ok(Position {
            commit: id,
            change: id,
        })
    }

    /// Up to `limit` changes after `after`, in commit order.
    pub(crate) async fn read_after(
        &mut self,
        after: Position,
        limit: i64,
    ) -> Result<Vec<Change>, TrackerError> {
        let rows = sqlx::query(
            "SELECT id, model, operation, key, fields FROM yoctopus_changes
             WHERE id > ? ORDER BY id LIMIT ?",
        )
        .bind(after.commit)
        .bind(limit)
        .fetch_all(&mut self.connection)
        .await?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let id: i64 = row.get(0);
                let position = Position {
                    commit: id,
                    change: id,
                };
                Change::from_row(
                    position,
                    row.get(1),
                    row.get::<&str, _>(2),
                    row.get::<&str, _>(3),
                    row.get(4),
                )
            })
            .collect())
    }

    /// Returns when there may be new changes (a commit through the tracker's pool, or a commit
    /// by another connection seen by the poll, which runs at most every `poll`) or at `until`.
    pub(crate) async fn wait(
        &mut self,
        poll: Duration,
        until: Instant,
    ) -> Result<(), TrackerError> {
        loop {
            let now = Instant::now();
            if now >= until {
                return Ok(());
            }
            tokio::select! {
                () = self.commits.notified() => {
                    self.next_poll = FIRST_POLL;
                    return Ok(());
                }
                () = tokio::time::sleep(self.next_poll.min(until - now)) => {}
            }
            let version = data_version(&mut self.connection).await?;
            if version != self.data_version {
                self.data_version = version;
                self.next_poll = FIRST_POLL;
                return Ok(());
            }
            self.next_poll = (self.next_poll * 2).min(poll);
        }
    }

    /// Records that `tracker` has delivered everything below `position`, and deletes the changes
    /// every tracker seen within `retention` has delivered. Answers whether this tracker's record
    /// had expired (so changes it needed may have been deleted by another).
    pub(crate) async fn prune(
        &mut self,
        tracker: &str,
        position: Position,
        retention: Duration,
        recorded_before: bool,
    ) -> Result<bool, TrackerError> {
        let mut transaction = self.connection.begin().await?;
        let known: Option<i64> =
            sqlx::query_scalar("SELECT position FROM yoctopus_cursors WHERE tracker = ?")
                .bind(tracker)
                .fetch_optional(&mut *transaction)
                .await?;
        sqlx::query(
            "INSERT INTO yoctopus_cursors (tracker, position, seen_at) VALUES (?, ?, unixepoch())
             ON CONFLICT (tracker) DO UPDATE SET position = excluded.position, seen_at = excluded.seen_at",
        )
        .bind(tracker)
        .bind(position.commit)
        .execute(&mut *transaction)
        .await?;
        sqlx::query("DELETE FROM yoctopus_cursors WHERE seen_at < unixepoch() - ?")
            .bind(i64::try_from(retention.as_secs()).unwrap_or(i64::MAX))
            .execute(&mut *transaction)
            .await?;
        sqlx::query(
            "DELETE FROM yoctopus_changes WHERE id < (SELECT min(position) FROM yoctopus_cursors)",
        )
        .execute(&mut *transaction)
        .await?;
        transaction.commit().await?;
        // A connection's own commits leave its data version as it was, so this wakes nobody.
        Ok(recorded_before && known.is_none())
    }
}

async fn data_version(connection: &mut SqliteConnection) -> Result<i64, TrackerError> {
    Ok(sqlx::query_scalar("PRAGMA data_version")
        .fetch_one(connection)
        .await?)
}
