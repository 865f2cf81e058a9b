//! The change-tracking run's writers: connections of the load generator's own to the database
//! the tracker follows, committing rows as an independent process would (for SQLite, the file,
//! with the tracker's settings: WAL journal, `synchronous = NORMAL`; for PostgreSQL, the URL).
//! Every INSERT is a statement of its own in autocommit mode, so its commit has returned when
//! the statement's answer has: that moment is the commit's stamp.
//!
//! They run on a thread of their own, with a runtime of their own, so that a commit is stamped
//! as soon as the operating system runs the thread again after the database answered, not when
//! the clients' runtime, busy reading pushes, gets round to it. Both threads share the load
//! generator's core, and the stamps are `std::time::Instant`s, one monotonic clock for both.

use std::str::FromStr as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqliteSynchronous};
use sqlx::Connection as _;
use tokio::sync::{mpsc, oneshot};
use yoctopus_bench::tracker::{self, Backend, Phase, Title};

/// How long connecting the writers may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);

/// How long one INSERT may take before the writer gives up.
const INSERT_TIMEOUT: Duration = Duration::from_secs(20);

/// One commit: when its INSERT was sent and when it returned.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Commit {
    pub(crate) sent: Instant,
    pub(crate) returned: Instant,
}

/// What a burst committed.
#[derive(Debug)]
pub(crate) struct Burst {
    /// Just before the first INSERT of any writer.
    pub(crate) start: Instant,
    /// Per writer, its commits in order (commit `seq` of writer `w` is `commits[w][seq]`).
    pub(crate) commits: Vec<Vec<Commit>>,
    /// Whether it stopped at its count of commits rather than at its time.
    pub(crate) capped: bool,
}

enum Command {
    /// One INSERT by writer 0.
    One {
        title: Title,
        reply: oneshot::Sender<Result<Commit, String>>,
    },
    /// `count` INSERTs by writer 0 titled `L<phase>:0:<seq>`, the n-th at
    /// `start + n * interval`.
    Paced {
        phase: u8,
        count: usize,
        interval: Duration,
        reply: oneshot::Sender<Result<Vec<Commit>, String>>,
    },
    /// `writers` writers, each committing `B<burst>:<writer>:<seq>` rows one after the other,
    /// until `duration` has passed or `max` commits were made by them all.
    Burst {
        burst: u8,
        writers: usize,
        duration: Duration,
        max: usize,
        reply: oneshot::Sender<Result<Burst, String>>,
    },
}

/// The writers' thread, and how to ask it for commits.
pub(crate) struct Writers {
    commands: Option<mpsc::UnboundedSender<Command>>,
    thread: Option<JoinHandle<()>>,
}

impl Writers {
    /// Connects `count` writers to `url` on a thread of their own.
    pub(crate) async fn connect(url: &str, count: usize) -> Result<Self, String> {
        let backend = Backend::of_url(url)
            .ok_or_else(|| format!("`--database {url}`: expected sqlite:... or postgres://..."))?;
        let (commands, received) = mpsc::unbounded_channel();
        let (ready, connected) = oneshot::channel();
        let url = url.to_owned();
        let thread = std::thread::Builder::new()
            .name("writers".to_owned())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(error) => {
                        let _ = ready.send(Err(format!("starting the writers' runtime: {error}")));
                        return;
                    }
                };
                runtime.block_on(serve(backend, url, count, ready, received));
            })
            .map_err(|error| format!("starting the writers' thread: {error}"))?;
        let writers = Self {
            commands: Some(commands),
            thread: Some(thread),
        };
        match tokio::time::timeout(CONNECT_TIMEOUT, connected).await {
            Ok(Ok(Ok(()))) => Ok(writers),
            Ok(Ok(Err(problem))) => Err(problem),
            Ok(Err(_)) => Err("the writers' thread ended".to_owned()),
            Err(_) => Err(format!(
                "the writers did not connect within {CONNECT_TIMEOUT:?}"
            )),
        }
    }

    fn ask<T>(
        &self,
        command: impl FnOnce(oneshot::Sender<Result<T, String>>) -> Command,
    ) -> oneshot::Receiver<Result<T, String>> {
        let (reply, answer) = oneshot::channel();
        if let Some(commands) = &self.commands {
            // A closed channel drops the command, and with it `reply`: the answer says so.
            let _ = commands.send(command(reply));
        }
        answer
    }

    /// Commits one row titled `title` (writer 0).
    pub(crate) fn one(&self, title: Title) -> oneshot::Receiver<Result<Commit, String>> {
        self.ask(|reply| Command::One { title, reply })
    }

    /// Commits `count` rows `L<phase>:0:<seq>`, one every `interval`.
    pub(crate) fn paced(
        &self,
        phase: u8,
        count: usize,
        interval: Duration,
    ) -> oneshot::Receiver<Result<Vec<Commit>, String>> {
        self.ask(|reply| Command::Paced {
            phase,
            count,
            interval,
            reply,
        })
    }

    /// Commits rows `B<burst>:<writer>:<seq>` with `writers` writers for `duration` or until
    /// `max` commits.
    pub(crate) fn burst(
        &self,
        burst: u8,
        writers: usize,
        duration: Duration,
        max: usize,
    ) -> oneshot::Receiver<Result<Burst, String>> {
        self.ask(|reply| Command::Burst {
            burst,
            writers,
            duration,
            max,
            reply,
        })
    }
}

impl Drop for Writers {
    fn drop(&mut self) {
        // Closing the channel ends the thread's loop once its command, if any, is done.
        self.commands = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One writer's connection.
enum Writer {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

impl Writer {
    async fn connect(backend: Backend, url: &str) -> Result<Self, String> {
        let failed = |error: sqlx::Error| format!("connecting a writer to {url}: {error}");
        Ok(match backend {
            Backend::Sqlite => {
                let options = SqliteConnectOptions::from_str(url)
                    .map_err(failed)?
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(10));
                Self::Sqlite(
                    SqliteConnection::connect_with(&options)
                        .await
                        .map_err(failed)?,
                )
            }
            Backend::Postgres => {
                let options = PgConnectOptions::from_str(url).map_err(failed)?;
                Self::Postgres(PgConnection::connect_with(&options).await.map_err(failed)?)
            }
        })
    }

    /// Commits the row `title`; stamps when the INSERT was sent and when it returned.
    async fn insert(&mut self, title: Title) -> Result<Commit, String> {
        let text = title.to_string();
        let author = tracker::author_id(title);
        let sent = Instant::now();
        let inserted = match self {
            Self::Sqlite(connection) => {
                let query = sqlx::query(tracker::INSERT_SQLITE)
                    .bind(&text)
                    .bind(tracker::CONTENT)
                    .bind(author);
                tokio::time::timeout(INSERT_TIMEOUT, query.execute(connection))
                    .await
                    .map(|done| done.map(|done| done.rows_affected()))
            }
            Self::Postgres(connection) => {
                let query = sqlx::query(tracker::INSERT_POSTGRES)
                    .bind(&text)
                    .bind(tracker::CONTENT)
                    .bind(author);
                tokio::time::timeout(INSERT_TIMEOUT, query.execute(connection))
                    .await
                    .map(|done| done.map(|done| done.rows_affected()))
            }
        };
        let returned = Instant::now();
        match inserted {
            Ok(Ok(1)) => Ok(Commit { sent, returned }),
            Ok(Ok(rows)) => Err(format!("inserting {text} affected {rows} rows")),
            Ok(Err(error)) => Err(format!("inserting {text} failed: {error}")),
            Err(_) => Err(format!(
                "inserting {text} took more than {INSERT_TIMEOUT:?}"
            )),
        }
    }
}

async fn serve(
    backend: Backend,
    url: String,
    count: usize,
    ready: oneshot::Sender<Result<(), String>>,
    mut commands: mpsc::UnboundedReceiver<Command>,
) {
    let mut writers = Vec::with_capacity(count);
    for _ in 0..count {
        match Writer::connect(backend, &url).await {
            Ok(writer) => writers.push(writer),
            Err(problem) => {
                let _ = ready.send(Err(problem));
                return;
            }
        }
    }
    let _ = ready.send(Ok(()));
    while let Some(command) = commands.recv().await {
        match command {
            Command::One { title, reply } => {
                let _ = reply.send(writers[0].insert(title).await);
            }
            Command::Paced {
                phase,
                count,
                interval,
                reply,
            } => {
                let _ = reply.send(paced(&mut writers[0], phase, count, interval).await);
            }
            Command::Burst {
                burst,
                writers: wanted,
                duration,
                max,
                reply,
            } => {
                let answer = if wanted == 0 || wanted > writers.len() {
                    Err(format!(
                        "a burst of {wanted} writers, and {} are connected",
                        writers.len()
                    ))
                } else {
                    let (answer, back) =
                        burst_of(writers.drain(..wanted).collect(), burst, duration, max).await;
                    writers.splice(0..0, back);
                    answer
                };
                let _ = reply.send(answer);
            }
        }
    }
}

async fn paced(
    writer: &mut Writer,
    phase: u8,
    count: usize,
    interval: Duration,
) -> Result<Vec<Commit>, String> {
    let start = tokio::time::Instant::now();
    let mut commits = Vec::with_capacity(count);
    for seq in 0..count {
        let at = start + interval * u32::try_from(seq).unwrap_or(u32::MAX);
        tokio::time::sleep_until(at).await;
        let title = Title {
            phase: Phase::Latency(phase),
            writer: 0,
            seq: u32::try_from(seq).map_err(|_| "too many commits".to_owned())?,
        };
        commits.push(writer.insert(title).await?);
    }
    Ok(commits)
}

/// Runs the burst on `writers`, one task each; gives them back (those whose task ended).
async fn burst_of(
    writers: Vec<Writer>,
    burst: u8,
    duration: Duration,
    max: usize,
) -> (Result<Burst, String>, Vec<Writer>) {
    let claimed = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let end = start + duration;
    let tasks: Vec<_> = writers
        .into_iter()
        .enumerate()
        .map(|(index, mut writer)| {
            let claimed = Arc::clone(&claimed);
            tokio::spawn(async move {
                let mut commits = Vec::new();
                let writer_number = u8::try_from(index).unwrap_or(u8::MAX);
                let mut result = Ok(());
                while Instant::now() < end && claimed.fetch_add(1, Ordering::Relaxed) < max {
                    let title = Title {
                        phase: Phase::Burst(burst),
                        writer: writer_number,
                        seq: u32::try_from(commits.len()).unwrap_or(u32::MAX),
                    };
                    match writer.insert(title).await {
                        Ok(commit) => commits.push(commit),
                        Err(problem) => {
                            result = Err(problem);
                            break;
                        }
                    }
                }
                (writer, commits, result)
            })
        })
        .collect();
    let mut back = Vec::with_capacity(tasks.len());
    let mut commits = Vec::with_capacity(tasks.len());
    let mut problem = None;
    for task in tasks {
        match task.await {
            Ok((writer, made, result)) => {
                back.push(writer);
                commits.push(made);
                if let Err(error) = result {
                    problem.get_or_insert(error);
                }
            }
            Err(error) => {
                problem.get_or_insert(format!("a writer's task failed: {error}"));
            }
        }
    }
    let capped = commits.iter().map(Vec::len).sum::<usize>() >= max;
    let answer = match problem {
        Some(problem) => Err(problem),
        None => Ok(Burst {
            start,
            commits,
            capped,
        }),
    };
    (answer, back)
}
