//! The change-tracking configurations (`tracker-sqlite`, `tracker-sqlite-5ms`,
//! `tracker-postgres`): a fresh database per measurement, `bench-tracker` on the server's core
//! following it, `bench-loadgen tracker` on the other with 1,000 subscribed connections and
//! writers of its own, and the tables.
//!
//! **The databases.** SQLite files go in a temporary directory of the driver's (one file per
//! measurement, removed after it, WAL journal, `synchronous = NORMAL`). PostgreSQL is one private
//! server for the whole run (`yoctopus_tests::postgres::PostgresServer`: `initdb` in a temporary
//! directory, 127.0.0.1 on a free port, `fsync`, `synchronous_commit` and `full_page_writes`
//! off), started before the first round when a PostgreSQL configuration is asked for, with a
//! database of its own (`createdb`) per measurement, and stopped at the end. PostgreSQL runs
//! unpinned: its processes may run on either core, beside the server or the load generator, as
//! a database on the same machine would.
//!
//! Neither is durable per commit (neither waits for the disk at a commit), so commits per second
//! are the tracker's and the database engine's costs, not the disk's.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use yoctopus_bench::tracker::{Backend, BurstPhase, LatencyPhase, TrackerReport};
use yoctopus_tests::postgres::PostgresServer;

use crate::config::{Config, Workload};
use crate::lineup::Server;
use crate::measure::Setup;
use crate::process;
use crate::results::{Results, Spread};
use crate::server::RunningServer;
use crate::table::{number, Table};

/// The change-tracking server.
pub(crate) const SERVER_BINARY: &str = "bench-tracker";

/// The latency phases' intervals between two commits: a steady 100 commits a second (below what
/// the tracker delivers to 1,000 connections, so each commit is timed on its own), then one every
/// 100 ms, sparse, as an application's occasional writes, each of which the tracker must notice
/// afresh (on SQLite, by its poll).
pub(crate) const INTERVALS: [Duration; 2] = [Duration::from_millis(10), Duration::from_millis(100)];

/// The server's outbound queue by default, in frames, instead of Yoctopus's 256 (which
/// `--tracker-outbound-queue 256` measures): see the README; with 256, bursts on PostgreSQL
/// closed connections with 1008.
pub(crate) const OUTBOUND_QUEUE: usize = 4096;

/// The latency phases of a measurement of `commits` commits: that many at the first interval, a
/// quarter as many (at least one) at the second.
pub(crate) fn latency_phases(commits: usize) -> [(usize, Duration); 2] {
    [
        (commits, INTERVALS[0]),
        ((commits / 4).max(1), INTERVALS[1]),
    ]
}

/// How long a burst's writers commit at most.
pub(crate) const BURST: Duration = Duration::from_secs(3);

/// How many commits a burst makes at most: every one is pushed to every connection, and the
/// pushes, not the commits, take the time (see the README).
pub(crate) const BURST_MAX: usize = 3000;

/// How long the load generator waits for a phase's pushes after its last commit.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(60);

/// Beyond its phases' own bounds, how long a run may take: opening, warming up, pauses.
const RUN_SLACK: Duration = Duration::from_secs(90);

/// The bursts' writers on `backend`: one on SQLite (which has one writer at a time), one and
/// then four on PostgreSQL.
pub(crate) fn writers(backend: Backend) -> &'static [usize] {
    match backend {
        Backend::Sqlite => &[1],
        Backend::Postgres => &[1, 4],
    }
}

/// The databases of a run: a directory for SQLite files, a private PostgreSQL server.
#[derive(Debug, Default)]
pub(crate) struct Databases {
    sqlite_dir: Option<PathBuf>,
    postgres: Option<PostgresServer>,
    made: AtomicUsize,
}

impl Databases {
    /// What `configs` need: a directory if one is on SQLite, a server if one is on PostgreSQL.
    pub(crate) fn start(configs: &[Config]) -> Result<Self, String> {
        let mut databases = Self::default();
        let on = |wanted: Backend| {
            configs.iter().any(|config| {
                matches!(config.workload, Workload::Tracker { backend, .. } if backend == wanted)
            })
        };
        if on(Backend::Sqlite) {
            let dir = std::env::temp_dir().join(format!("bench-driver-{}", std::process::id()));
            std::fs::create_dir_all(&dir)
                .map_err(|error| format!("creating {}: {error}", dir.display()))?;
            databases.sqlite_dir = Some(dir);
        }
        if on(Backend::Postgres) {
            let started = Instant::now();
            let server = PostgresServer::start()
                .map_err(|error| format!("starting a private PostgreSQL server: {error}"))?;
            eprintln!(
                "PostgreSQL: a private server at {} (started in {:.1} s, unpinned)",
                server.url(),
                started.elapsed().as_secs_f64()
            );
            databases.postgres = Some(server);
        }
        Ok(databases)
    }

    /// A database of its own for one measurement.
    fn fresh(&self, backend: Backend) -> Result<Fresh, String> {
        let number = self.made.fetch_add(1, Ordering::Relaxed);
        match backend {
            Backend::Sqlite => {
                let dir = self
                    .sqlite_dir
                    .as_ref()
                    .ok_or("no directory for SQLite databases")?;
                let file = dir.join(format!("tracker-{number}.db"));
                let files = ["", "-wal", "-shm"]
                    .iter()
                    .map(|suffix| PathBuf::from(format!("{}{suffix}", file.display())))
                    .collect();
                Ok(Fresh {
                    url: format!("sqlite://{}", file.display()),
                    files,
                })
            }
            Backend::Postgres => {
                let server = self
                    .postgres
                    .as_ref()
                    .ok_or("no PostgreSQL server was started")?;
                let url = server
                    .create_database(&format!("tracker_{number}"))
                    .map_err(|error| format!("creating a database: {error}"))?;
                Ok(Fresh {
                    url,
                    files: Vec::new(),
                })
            }
        }
    }
}

impl Drop for Databases {
    fn drop(&mut self) {
        if let Some(dir) = &self.sqlite_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// One measurement's database; its files, if any, are removed when it is dropped.
struct Fresh {
    url: String,
    files: Vec<PathBuf>,
}

impl Drop for Fresh {
    fn drop(&mut self) {
        for file in &self.files {
            let _ = std::fs::remove_file(file);
        }
    }
}

/// Measures `server` (its role's program is `bench-tracker`) under the tracking `workload`.
pub(crate) fn measure(
    setup: &Setup,
    server: &Server,
    workload: Workload,
) -> Result<TrackerReport, String> {
    let Workload::Tracker {
        backend,
        poll_ms,
        connections,
        commits,
        outbound_queue,
    } = workload
    else {
        return Err("not a change-tracking workload".to_owned());
    };
    // Declared first, so dropped last: after the server and the load generator.
    let database = setup.databases.fresh(backend)?;
    let (binary, _) = workload.server_command(server);
    let program = Server { binary, ..*server };
    let mut flags = vec![
        "--database".to_owned(),
        database.url.clone(),
        "--outbound-queue".to_owned(),
        outbound_queue.to_string(),
    ];
    if let Some(poll) = poll_ms {
        flags.extend(["--poll-ms".to_owned(), poll.to_string()]);
    }
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let running = RunningServer::start(&setup.bin_dir, &program, setup.server_core, &flags)?;
    let bursts = writers(backend);
    let mut loadgen = process::pinned(setup.loadgen_core, &setup.bin_dir.join("bench-loadgen"));
    loadgen
        .arg("tracker")
        .args(["--addr", &running.addr().to_string()])
        .args(["--database", &database.url])
        .args(["--connections", &connections.to_string()])
        .args([
            "--latency",
            &latency_phases(commits)
                .iter()
                .map(|(count, every)| format!("{count}x{}", every.as_secs_f64()))
                .collect::<Vec<_>>()
                .join(","),
        ])
        .args([
            "--writers",
            &bursts
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(","),
        ])
        .args(["--burst", &BURST.as_secs_f64().to_string()])
        .args(["--burst-max", &BURST_MAX.to_string()])
        .args(["--timeout", &DELIVERY_TIMEOUT.as_secs_f64().to_string()])
        .args(["--server-pid", &running.pid().to_string()]);
    let phases = u32::try_from(bursts.len() + INTERVALS.len()).unwrap_or(u32::MAX);
    let report: TrackerReport = process::loadgen_report(
        &mut loadgen,
        RUN_SLACK
            + schedules(commits)
            + (BURST + DELIVERY_TIMEOUT + Duration::from_secs(30)) * phases,
    )?;
    match &report.first_error {
        None if report.latency.len() == INTERVALS.len() && report.bursts.len() == bursts.len() => {
            Ok(report)
        }
        problem => Err(format!(
            "{} of {} latency phases and {} of {} bursts completed, {} wrong pushes, {} \
             connections failed: {}",
            report.latency.len(),
            INTERVALS.len(),
            report.bursts.len(),
            bursts.len(),
            report.wrong_pushes,
            report.connection_failures,
            problem.as_deref().unwrap_or("no error given")
        )),
    }
}

/// How long the latency phases' schedules take for `commits`.
fn schedules(commits: usize) -> Duration {
    latency_phases(commits)
        .iter()
        .map(|(count, every)| *every * u32::try_from(*count).unwrap_or(u32::MAX))
        .sum()
}

/// A rough duration of one measurement: opening and warming up, the paced commits, and per
/// burst the time its pushes take (about 250,000 a second).
pub(crate) fn estimated(workload: Workload) -> Duration {
    let Workload::Tracker {
        backend,
        connections,
        commits,
        ..
    } = workload
    else {
        return Duration::ZERO;
    };
    let pushes_per_burst = (BURST_MAX * connections) as u64;
    let burst = Duration::from_millis(1000 + pushes_per_burst / 250);
    Duration::from_secs(4)
        + schedules(commits)
        + burst * u32::try_from(writers(backend).len()).unwrap_or(u32::MAX)
}

/// The progress line of one measurement.
pub(crate) fn progress(report: &TrackerReport) -> String {
    let latency: Vec<String> = report
        .latency
        .iter()
        .map(|latency| {
            format!(
                "every {:.0} ms: commit->last p50 {:.1} p99 {:.1} ms",
                latency.interval_ms,
                ms(latency.commit_to_last_us.p50),
                ms(latency.commit_to_last_us.p99)
            )
        })
        .collect();
    let bursts: Vec<String> = report
        .bursts
        .iter()
        .map(|burst| {
            format!(
                "{}w {:.0} commits/s, {:.0} delivered/s",
                burst.writers, burst.commits_per_sec, burst.delivered_per_sec
            )
        })
        .collect();
    format!(
        "{} connections; {}; {}",
        report.connections,
        latency.join("; "),
        bursts.join("; ")
    )
}

/// The tables of a change-tracking configuration: the latency phase round by round with the
/// median of the rounds, then per burst the medians and ranges over the rounds.
pub(crate) fn print(results: &Results, config: &Config, servers: &[Server]) {
    let Workload::Tracker { connections, .. } = config.workload else {
        return;
    };
    for server in servers {
        let reports: Vec<(usize, &TrackerReport)> = results
            .outcomes(config.name, server.label)
            .filter_map(|(round, outcome)| outcome.tracker().map(|report| (round, report)))
            .collect();
        for (phase, interval) in INTERVALS.iter().enumerate() {
            println!(
                "  {}: latency, one commit every {} ms, commit returned -> the last of \
                 {connections} connections reading its push",
                server.label,
                interval.as_millis()
            );
            latency_table(&reports, phase);
        }
        println!("  {}: bursts, as fast as the writers go", server.label);
        burst_table(&reports, connections);
    }
    println!(
        "  A commit is stamped when its INSERT returns in the load generator's writer, a push when \
         a connection's task reads it (one monotonic clock, one process). commit->first/last: to \
         the first/last connection; first->last: the fan-out itself. delivered/s: commits / (first \
         commit -> last push read); behind: last commit -> last push read. Cores: CPU time over \
         the phase (10 ms ticks); the load generator's includes its writers. PostgreSQL is \
         unpinned."
    );
}

fn latency_table(reports: &[(usize, &TrackerReport)], phase: usize) {
    let mut table = Table::new(&[
        "round",
        "commits",
        "commit->last p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms",
        "commit->first p50 ms",
        "first->last p50 ms",
        "INSERT p50 ms",
        "server cores",
        "loadgen cores",
    ]);
    type Column = fn(&LatencyPhase) -> Option<f64>;
    let columns: [(Column, usize); 10] = [
        (|l| Some(l.commits as f64), 0),
        (|l| Some(ms(l.commit_to_last_us.p50)), 1),
        (|l| Some(ms(l.commit_to_last_us.p90)), 1),
        (|l| Some(ms(l.commit_to_last_us.p99)), 1),
        (|l| Some(ms(l.commit_to_last_us.max)), 1),
        (|l| Some(ms(l.commit_to_first_us.p50)), 1),
        (|l| Some(ms(l.first_to_last_us.p50)), 1),
        (|l| Some(ms(l.commit_us.p50)), 2),
        (|l| Some(l.server_cpu_secs? / l.window_secs), 2),
        (|l| Some(l.loadgen_cpu_secs / l.window_secs), 2),
    ];
    let phases: Vec<(usize, &LatencyPhase)> = reports
        .iter()
        .filter_map(|(round, report)| Some((*round, report.latency.get(phase)?)))
        .collect();
    for (round, latency) in &phases {
        let mut cells = vec![(round + 1).to_string()];
        cells.extend(
            columns
                .iter()
                .map(|(column, decimals)| number(column(latency), *decimals)),
        );
        table.row(cells);
    }
    let mut cells = vec!["median".to_owned()];
    cells.extend(columns.iter().map(|(column, decimals)| {
        let values = phases
            .iter()
            .filter_map(|(_, latency)| column(latency))
            .collect();
        number(Spread::of(values).map(|spread| spread.median), *decimals)
    }));
    table.row(cells);
    table.print();
}

fn burst_table(reports: &[(usize, &TrackerReport)], connections: usize) {
    let mut table = Table::new(&[
        "writers",
        "rounds",
        "commits",
        "commits/s [range]",
        "delivered/s [range]",
        "pushes/s",
        "behind ms",
        "commit->last p50 ms",
        "p99 ms",
        "server cores",
        "loadgen cores",
    ]);
    let bursts = reports
        .iter()
        .map(|(_, report)| report.bursts.len())
        .max()
        .unwrap_or(0);
    for index in 0..bursts {
        let phases: Vec<_> = reports
            .iter()
            .filter_map(|(_, report)| report.bursts.get(index))
            .collect();
        let spread = |value: fn(&BurstPhase) -> Option<f64>| {
            Spread::of(phases.iter().filter_map(|phase| value(phase)).collect())
        };
        let median = |value| spread(value).map(|spread| spread.median);
        let ranged = |value, decimals| match spread(value) {
            Some(s) => format!(
                "{} [{}-{}]",
                number(Some(s.median), decimals),
                number(Some(s.min), decimals),
                number(Some(s.max), decimals)
            ),
            None => "-".to_owned(),
        };
        let capped = phases.iter().filter(|phase| phase.capped).count();
        table.row(vec![
            phases
                .first()
                .map_or_else(|| "-".to_owned(), |phase| phase.writers.to_string()),
            phases.len().to_string(),
            format!(
                "{}{}",
                number(median(|p| Some(p.commits as f64)), 0),
                if capped > 0 {
                    format!(" (capped {capped}/{})", phases.len())
                } else {
                    String::new()
                }
            ),
            ranged(|p| Some(p.commits_per_sec), 0),
            ranged(|p| Some(p.delivered_per_sec), 0),
            number(median(|p| Some(p.pushes_per_sec)), 0),
            number(median(|p| Some(p.behind_ms)), 0),
            number(median(|p| Some(ms(p.commit_to_last_us.p50))), 1),
            number(median(|p| Some(ms(p.commit_to_last_us.p99))), 1),
            number(median(|p| Some(p.server_cpu_secs? / p.deliver_secs)), 2),
            number(median(|p| Some(p.loadgen_cpu_secs / p.deliver_secs)), 2),
        ]);
    }
    table.print();
    println!(
        "  pushes/s = delivered/s x {connections}; capped n/m: in n of m rounds the burst \
         stopped at {BURST_MAX} commits before {} s had passed.",
        BURST.as_secs()
    );
}

#[expect(
    clippy::cast_precision_loss,
    reason = "microsecond counts stay far below 2^52"
)]
fn ms(micros: u64) -> f64 {
    micros as f64 / 1000.0
}
