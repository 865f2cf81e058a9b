//! The change-tracking benchmark's server: a Yoctopus server with a `ChangeTracker` following the
//! table `posts (id, title, content, author_id)` as the model `Post`, every field public, and
//! every connection auto-subscribed to it, so that each committed INSERT, UPDATE or DELETE of a
//! post is pushed to every open connection as
//! `{"meta":{"method":"notify","type":"data-changed"},"data":{"operation":"create","model":"Post","fields":{...}}}`.
//!
//! It writes nothing itself: `bench-loadgen tracker` commits rows through a connection of its
//! own, as another process (a second service, a migration) would, and times their pushes.
//!
//! ```text
//! bench-tracker [--database sqlite|postgres|URL] [--poll-ms N] [--outbound-queue FRAMES]
//! ```
//!
//! - `--database URL`: `sqlite://PATH` (created if missing, WAL journal) or `postgres://...`; the
//!   table is created if missing, and the tracker's triggers installed.
//! - `--database sqlite` (the default): a fresh file in a temporary directory, removed at exit.
//! - `--database postgres`: a private PostgreSQL server started for the run
//!   (`yoctopus_tests::postgres::PostgresServer`: `initdb` in a temporary directory, 127.0.0.1 on
//!   a free port, durability off), stopped at exit.
//! - `--poll-ms N`: the tracker's `poll_interval`, the longest time between two looks at the
//!   change table when nothing woke it. Without it, the tracker's defaults: 50 ms on SQLite
//!   (how soon another process's commit is seen), 1 s on PostgreSQL (behind `NOTIFY`, which wakes
//!   it at once).
//! - `--outbound-queue FRAMES`: the server's `outbound_queue`, the frames a connection may have
//!   queued before the server closes it with 1008 (Yoctopus's default, 256, without the flag).
//!   The tracker pushes a change to its subscribers one after the other without giving the
//!   thread to the connections' own tasks, so on one core a connection whose socket was full
//!   for a moment queues every push of the batch (up to 512 changes): with the default, a burst
//!   of commits can close connections whose client only paused (see the README).
//!
//! With `--database sqlite` or `postgres` it prints `database <URL>` on standard error, the URL a
//! writer should use (for a private PostgreSQL server, its address); then, whatever the database,
//! `listening on ws://<address>` on standard output once it accepts connections, on 127.0.0.1 at `PORT` (0 picks a free port). It runs until Ctrl-C,
//! SIGTERM, or, with `BENCH_EXIT_WITH_STDIN` set, until its standard input closes, and then
//! removes what it created (the temporary file, the private server); killed with SIGKILL, it
//! leaves them behind.
//!
//! ```sh
//! PORT=3000 taskset -c 0 target/release/bench-tracker --database postgres &
//! ```

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use yoctopus_bench::cli::Flags;
use yoctopus_bench::lifetime;
use yoctopus_bench::tracker::{self, Backend};
use yoctopus_core::prelude::*;
use yoctopus_plugins::change_tracker::{ChangeTracker, Database, Model};
use yoctopus_tests::postgres::PostgresServer;

/// What the program created for the run, removed when it ends normally.
#[derive(Debug, Default)]
struct Owned {
    /// A private PostgreSQL server (stopped when dropped).
    postgres: Option<PostgresServer>,
    /// A temporary directory holding the SQLite file.
    sqlite_dir: Option<PathBuf>,
}

impl Drop for Owned {
    fn drop(&mut self) {
        if let Some(dir) = &self.sqlite_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("bench-tracker: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let flags = Flags::parse(std::env::args().skip(1))?;
    flags.allow_only(&["database", "poll-ms", "outbound-queue"])?;
    let outbound_queue = flags
        .text("outbound-queue")
        .map(|frames| {
            frames
                .parse::<usize>()
                .ok()
                .filter(|frames| *frames > 0)
                .ok_or_else(|| format!("`--outbound-queue {frames}`: expected a count of frames"))
        })
        .transpose()?;
    let poll = flags
        .text("poll-ms")
        .map(|millis| {
            millis
                .parse::<u64>()
                .ok()
                .filter(|millis| (1..=60_000).contains(millis))
                .map(Duration::from_millis)
                .ok_or_else(|| format!("`--poll-ms {millis}`: expected 1 to 60000 milliseconds"))
        })
        .transpose()?;
    let mut owned = Owned::default();
    let chosen = flags.text("database").unwrap_or("sqlite");
    let url = match chosen {
        "sqlite" => {
            let dir = std::env::temp_dir().join(format!("bench-tracker-{}", std::process::id()));
            std::fs::create_dir_all(&dir)
                .map_err(|error| format!("creating {}: {error}", dir.display()))?;
            let url = format!("sqlite://{}", dir.join("bench.db").display());
            owned.sqlite_dir = Some(dir);
            url
        }
        "postgres" => {
            let server = PostgresServer::start()
                .map_err(|error| format!("starting a private PostgreSQL server: {error}"))?;
            let url = server.url();
            owned.postgres = Some(server);
            url
        }
        url => url.to_owned(),
    };
    let backend = Backend::of_url(&url)
        .ok_or_else(|| format!("`--database {url}`: expected sqlite, postgres or a URL"))?;
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .init();
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| format!("starting the runtime failed: {error}"))?;
    let announce = matches!(chosen, "sqlite" | "postgres");
    let served = runtime.block_on(serve(&url, backend, poll, outbound_queue, announce));
    // The server and the tracker are gone before the database is.
    drop(runtime);
    drop(owned);
    served
}

async fn serve(
    url: &str,
    backend: Backend,
    poll: Option<Duration>,
    outbound_queue: Option<usize>,
    announce: bool,
) -> Result<(), String> {
    let database = Database::connect(url)
        .await
        .map_err(|error| format!("connecting to {url}: {error}"))?;
    database
        .execute_script(backend.schema())
        .await
        .map_err(|error| format!("creating the table: {error}"))?;
    let builder = ChangeTracker::builder()
        .model(Model::new(tracker::MODEL, tracker::TABLE).public_fields(tracker::FIELDS))
        .auto_subscribe_to([tracker::MODEL]);
    let builder = match poll {
        Some(poll) => builder.poll_interval(poll),
        None => builder,
    };
    let tracker = builder
        .start(&database)
        .await
        .map_err(|error| format!("starting the tracker: {error}"))?;
    let builder = ServerBuilder::from_env()
        .map_err(|error| error.to_string())?
        .plugin(tracker.plugin());
    let builder = match outbound_queue {
        Some(frames) => builder.outbound_queue(frames),
        None => builder,
    };
    let server = builder
        .start()
        .await
        .map_err(|error| format!("starting the server: {error}"))?;
    if announce {
        eprintln!("database {url}");
    }
    println!("listening on ws://{}", server.local_addr());
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|error| format!("listening for SIGTERM: {error}"))?;
    server
        .run_until(async {
            tokio::select! {
                () = lifetime::stop_requested() => {}
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
        })
        .await;
    drop(tracker);
    Ok(())
}
