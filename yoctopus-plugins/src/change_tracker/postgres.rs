//! The change table on PostgreSQL, for many writers.
//!
//! Identity ids are handed out when rows are inserted, not when transactions commit, so under
//! concurrent writers a reader that followed ids would skip a transaction that commits after a
//! later id was read. Each transaction that changes a tracked table is therefore *sealed* at
//! commit: a deferred constraint trigger takes an advisory lock, draws the next commit number
//! and records it beside the transaction's id. The lock is held from the seal to the end of the
//! commit, so commit numbers follow commit order, and a reader that sees commit number N sees
//! every lower one that committed. Writers wait for each other only for the seal, not for their
//! whole transactions.
//!
//! The seal also `NOTIFY`s, with an empty payload (so NOTIFY's 8000-byte limit never matters),
//! which only wakes the follower: the change table is the source of truth, and a poll catches
//! what a lost notification or a half-open listener connection (sqlx issue 3062) would miss.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::postgres::{PgConnectOptions, PgConnection, PgListener, PgPool, PgPoolOptions};
use sqlx::{Connection, Row};
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

use super::change::{Change, Position};
use super::error::TrackerError;
use super::model::{literal, quoted, Model};

/// The channel the seal notifies.
const CHANNEL: &str = "yoctopus_changes";

/// The advisory lock keys (`pg_advisory_xact_lock(int, int)`): sealing commits, and installing.
const LOCK_CLASS: i32 = 0x796f_6374; // "yoct"
const SEAL_LOCK: i32 = 1;
const INSTALL_LOCK: i32 = 2;

/// `json_build_object` takes at most 100 arguments: a name and a value per field.
const MAX_FIELDS: usize = 50;

/// How long one query of the follower may take before its connection counts as lost.
const QUERY_TIMEOUT: Duration = Duration::from_secs(10);

/// Opens a pool on `url` for the application (and the tracker's installation).
pub(crate) async fn connect(url: &str) -> Result<PgPool, TrackerError> {
    Ok(PgPoolOptions::new()
        .max_connections(16)
        .connect(url)
        .await?)
}

/// Creates the change, commit and cursor tables, the seal, and each model's trigger, replacing
/// what exists; one transaction, serialized with other servers installing at the same time.
pub(crate) async fn install(pool: &PgPool, models: &[Model]) -> Result<(), TrackerError> {
    let mut transaction = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1, $2)")
        .bind(LOCK_CLASS)
        .bind(INSTALL_LOCK)
        .execute(&mut *transaction)
        .await?;
    for model in models {
        if model.fields().len() > MAX_FIELDS {
            return Err(TrackerError::TooManyFields {
                model: model.name().to_owned(),
                max: MAX_FIELDS,
            });
        }
        let columns: Vec<String> = sqlx::query_scalar(
            "SELECT column_name::text FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name = $1",
        )
        .bind(model.table())
        .fetch_all(&mut *transaction)
        .await?;
        model.check_columns(&columns)?;
    }
    let mut script = format!(
        "CREATE TABLE IF NOT EXISTS yoctopus_changes (
             id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
             xid xid8 NOT NULL DEFAULT pg_current_xact_id(),
             model text NOT NULL,
             operation text NOT NULL,
             key json NOT NULL,
             fields json NOT NULL
         );
         CREATE INDEX IF NOT EXISTS yoctopus_changes_xid ON yoctopus_changes (xid);
         CREATE TABLE IF NOT EXISTS yoctopus_commits (
             seq bigint PRIMARY KEY,
             xid xid8 NOT NULL
         );
         CREATE SEQUENCE IF NOT EXISTS yoctopus_commit_seq;
         CREATE TABLE IF NOT EXISTS yoctopus_cursors (
             tracker text PRIMARY KEY,
             position bigint NOT NULL,
             seen_at timestamptz NOT NULL
         );
         CREATE OR REPLACE FUNCTION yoctopus_seal() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
             IF current_setting('yoctopus.sealed', true) IS DISTINCT FROM pg_current_xact_id()::text THEN
                 PERFORM pg_advisory_xact_lock({LOCK_CLASS}, {SEAL_LOCK});
                 INSERT INTO yoctopus_commits (seq, xid)
                     VALUES (nextval('yoctopus_commit_seq'), pg_current_xact_id());
                 PERFORM set_config('yoctopus.sealed', pg_current_xact_id()::text, true);
                 PERFORM pg_notify('{CHANNEL}', '');
             END IF;
             RETURN NULL;
         END $$;
         DROP TRIGGER IF EXISTS yoctopus_seal ON yoctopus_changes;
         CREATE CONSTRAINT TRIGGER yoctopus_seal AFTER INSERT ON yoctopus_changes
             DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION yoctopus_seal();\n"
    );
    for model in models {
        let function = quoted(&model.trigger_name("change"));
        let insert = |row: &str, operation: &str| {
            let fields = model
                .fields()
                .iter()
                .map(|field| format!("{}, {row}.{}", literal(field), quoted(field)))
                .collect::<Vec<_>>()
                .join(", ");
            format!(
                "INSERT INTO yoctopus_changes (model, operation, key, fields) VALUES \
                 ({name}, {operation}, to_json({row}.{key}), json_build_object({fields}));",
                name = literal(model.name()),
                key = quoted(model.key()),
            )
        };
        script.push_str(&format!(
            "CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN
                 IF TG_OP = 'DELETE' THEN
                     {delete}
                 ELSE
                     {upsert}
                 END IF;
                 RETURN NULL;
             END $$;
             DROP TRIGGER IF EXISTS {function} ON {table};
             CREATE TRIGGER {function} AFTER INSERT OR UPDATE OR DELETE ON {table}
                 FOR EACH ROW EXECUTE FUNCTION {function}();\n",
            delete = insert("OLD", "'delete'"),
            upsert = insert(
                "NEW",
                "CASE TG_OP WHEN 'INSERT' THEN 'create' ELSE 'update' END"
            ),
            table = quoted(model.table()),
        ));
    }
    sqlx::raw_sql(&script).execute(&mut *transaction).await?;
    transaction.commit().await?;
    Ok(())
}

/// The follower's own connections: one to read, one to listen (in a task of its own, so a
/// wait is never cancelled halfway through a message).
pub(crate) struct PgFeed {
    connection: PgConnection,
    wakes: Arc<Notify>,
    lost: watch::Receiver<Option<String>>,
    listening: JoinHandle<()>,
}

impl Drop for PgFeed {
    fn drop(&mut self) {
        self.listening.abort();
    }
}

impl PgFeed {
    /// Listens first, then connects the reader, so no commit falls between the two.
    pub(crate) async fn open(options: &PgConnectOptions) -> Result<Self, TrackerError> {
        let listener_pool = PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(QUERY_TIMEOUT)
            .connect_lazy_with(options.clone());
        let mut listener = timed(PgListener::connect_with(&listener_pool)).await?;
        listener.eager_reconnect(false);
        timed(listener.listen(CHANNEL)).await?;
        let connection = timed(PgConnection::connect_with(options)).await?;
        let wakes = Arc::new(Notify::new());
        let (report_lost, lost) = watch::channel(None);
        let listening = tokio::spawn(listen(listener, Arc::clone(&wakes), report_lost));
        Ok(Self {
            connection,
            wakes,
            lost,
            listening,
        })
    }

    /// The position of the newest commit.
    pub(crate) async fn head(&mut self) -> Result<Position, TrackerError> {
        let seq: i64 = timed(
            sqlx::query_scalar("SELECT coalesce(max(seq), 0) FROM yoctopus_commits")
                .fetch_one(&mut self.connection),
        )
        .await?;
        Ok(Position {
            commit: seq,
            change: i64::MAX,
        })
    }

    /// Up to `limit` changes after `after`, in commit order.
    pub(crate) async fn read_after(
        &mut self,
        after: Position,
        limit: i64,
    ) -> Result<Vec<Change>, TrackerError> {
        let rows = timed(
            sqlx::query(
                "SELECT c.seq, ch.id, ch.model, ch.operation, ch.key::text, ch.fields::text
                 FROM yoctopus_commits c JOIN yoctopus_changes ch ON ch.xid = c.xid
                 WHERE (c.seq, ch.id) > ($1, $2)
                 ORDER BY c.seq, ch.id LIMIT $3",
            )
            .bind(after.commit)
            .bind(after.change)
            .bind(limit)
            .fetch_all(&mut self.connection),
        )
        .await?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let position = Position {
                    commit: row.get(0),
                    change: row.get(1),
                };
                Change::from_row(
                    position,
                    row.get(2),
                    row.get::<&str, _>(3),
                    row.get::<&str, _>(4),
                    row.get(5),
                )
            })
            .collect())
    }

    /// Returns on a notification, or after `poll` (or at `until`, if sooner) once the
    /// reader's connection has answered a ping; a lost listener is an error, so the follower
    /// reconnects both.
    pub(crate) async fn wait(
        &mut self,
        poll: Duration,
        until: Instant,
    ) -> Result<(), TrackerError> {
        let sleep = poll.min(until.saturating_duration_since(Instant::now()));
        tokio::select! {
            () = self.wakes.notified() => {}
            () = tokio::time::sleep(sleep) => {
                timed(self.connection.ping()).await?;
            }
            reason = lost_reason(&mut self.lost) => {
                return Err(TrackerError::ListenerLost(
                    reason.unwrap_or_else(|| "the listener ended".to_owned()),
                ));
            }
        }
        Ok(())
    }

    /// Records that `tracker` has delivered everything below `position`, and deletes what every
    /// tracker seen within `retention` has delivered. Answers whether this tracker's record had
    /// expired (so changes it needed may have been deleted by another).
    pub(crate) async fn prune(
        &mut self,
        tracker: &str,
        position: Position,
        retention: Duration,
        recorded_before: bool,
    ) -> Result<bool, TrackerError> {
        let connection = &mut self.connection;
        let pruned = async move {
            let mut transaction = connection.begin().await?;
            let known: Option<i64> =
                sqlx::query_scalar("SELECT position FROM yoctopus_cursors WHERE tracker = $1")
                    .bind(tracker)
                    .fetch_optional(&mut *transaction)
                    .await?;
            sqlx::query(
                "INSERT INTO yoctopus_cursors (tracker, position, seen_at) VALUES ($1, $2, now())
                 ON CONFLICT (tracker) DO UPDATE SET position = excluded.position, seen_at = now()",
            )
            .bind(tracker)
            .bind(position.commit)
            .execute(&mut *transaction)
            .await?;
            sqlx::query(
                "DELETE FROM yoctopus_cursors WHERE seen_at < now() - make_interval(secs => $1)",
            )
            .bind(retention.as_secs_f64())
            .execute(&mut *transaction)
            .await?;
            sqlx::query(
                "WITH low AS (SELECT min(position) AS position FROM yoctopus_cursors),
                      done AS (DELETE FROM yoctopus_commits WHERE seq < (SELECT position FROM low) RETURNING xid)
                 DELETE FROM yoctopus_changes WHERE xid IN (SELECT xid FROM done)",
            )
            .execute(&mut *transaction)
            .await?;
            transaction.commit().await?;
            Ok::<_, sqlx::Error>(known)
        };
        let known = timed(pruned).await?;
        Ok(recorded_before && known.is_none())
    }
}

/// Why the listener stopped, once it has.
async fn lost_reason(lost: &mut watch::Receiver<Option<String>>) -> Option<String> {
    lost.wait_for(Option::is_some)
        .await
        .ok()
        .and_then(|lost| lost.clone())
}

/// Wakes the follower on each notification; reports the listener's connection lost.
async fn listen(
    mut listener: PgListener,
    wakes: Arc<Notify>,
    report_lost: watch::Sender<Option<String>>,
) {
    let reason = loop {
        match listener.try_recv().await {
            Ok(Some(_)) => wakes.notify_one(),
            Ok(None) => break "the listener's connection was lost".to_owned(),
            Err(error) => break error.to_string(),
        }
    };
    report_lost.send_replace(Some(reason));
}

/// Bounds a query: a connection that does not answer within [`QUERY_TIMEOUT`] counts as lost.
async fn timed<T>(
    query: impl std::future::Future<Output = Result<T, sqlx::Error>>,
) -> Result<T, TrackerError> {
    match tokio::time::timeout(QUERY_TIMEOUT, query).await {
        Ok(result) => Ok(result?),
        Err(_) => Err(TrackerError::Unresponsive(QUERY_TIMEOUT)),
    }
}
