//! The benchmark driver: runs the raw baseline, Yoctopus and a second copy of the baseline (the
//! A/A control) in interleaved rounds, each server pinned to one core and the load generator to
//! another, and prints per configuration the medians of per-round ratios to the baseline. In the
//! configurations that price listeners, Yoctopus with a no-op and with a transforming listener
//! pair runs in the same rounds, and its ratios to Yoctopus without listeners are printed too.
//!
//! Before and after: when `bench-yoctopus-reference` (Yoctopus's benchmark server built at an
//! earlier commit, which `run.sh` builds when `BENCH_REFERENCE` is set) is in the binaries'
//! directory, it runs too, as `yoctopus @ <rev>`, in every configuration but the fan-outs and in
//! the same rounds, and the tables end with Yoctopus's per-round ratios to it. Without that file
//! nothing changes.
//!
//! The notify fan-out (`notify-10k`) measures Yoctopus alone, started with `--fanout`: the time
//! from a background task's first `notify` call to the last of 10,000 idle connections receiving
//! its push, over a few triggers a round (the baseline and the reference have no register). The
//! multicast (`multicast-10k`) times one `Connections::multicast` to 10,000 labelled connections
//! the same way, against the hand-written loop of `bench-multicast-baseline` as the baseline (and
//! its A/A control), with that loop's writer-task variant beside them.
//!
//! The cluster configurations (`cluster-notify`, `cluster-multicast-10k`) measure Yoctopus alone,
//! as one server and as clusters of one, two and three nodes meeting at a private nats-server
//! started for each measurement: one client's notify by id to a client on the same server and to
//! one on another server (request to push read, p50 and p99), and the multicast to 10,000
//! connections spread over the servers (trigger to the last push read), with the NATS messages
//! each costs; every node and nats-server share the server's core (see `cluster.rs`).
//!
//! The open loop (`open-loop-10k`) sends from 10,000 connections one request each every 100 ms
//! on a fixed schedule (100,000 requests a second offered), whether or not the earlier ones were
//! answered, and times each from when it was due: p50, p99 and p99.9, the throughput offered and
//! served, and the load generator's own lag behind its schedule, for Yoctopus, the naive baseline
//! and the batching baseline (no A/A control or floor, to keep it short). The live idle run
//! (`idle-100k`) holds `--idle-live-connections` idle connections (100,000 by default) that answer
//! the server's pings, Yoctopus alone: the server's memory per connection, as `idle-memory`
//! measures it, and its CPU over two ping intervals (the server started with
//! `PING_INTERVAL_MS=2500`, the cost also scaled to the default 10 s interval). Both the server
//! and the load generator need one open file per connection: when the hard limit cannot hold them
//! (raising it needs root), it measures as many as the limit allows, less a margin, and its table
//! says so.
//!
//! The change-tracking configurations (`tracker-sqlite`, `tracker-sqlite-5ms`, `tracker-postgres`,
//! run only when `--configs` names them) measure `bench-tracker` alone: 1,000 connections
//! subscribed to a table, and the time from a commit by the load generator's own writer to the
//! last of them receiving its push, then commits per second and how fast the pushes followed.
//! The driver makes a fresh database for each measurement (a file, or a database of a private
//! PostgreSQL server it starts for the run, unpinned); see `tracker.rs`.
//!
//! ```text
//! cargo build --release -p yoctopus-bench
//! target/release/bench-driver [--rounds 5] [--warmup 1] [--duration 3]
//!     [--idle-connections 10000] [--idle-live-connections 100000]
//!     [--fanout-connections 10000] [--fanout-triggers 5] [--cluster-notifies 1000]
//!     [--configs 50x1,50x16,1000x1,nested-50x16,idle-memory,notify-10k,multicast-10k,
//!                cluster-notify,cluster-multicast-10k,open-loop-10k,idle-100k]
//!     [--tracker-connections 1000] [--tracker-commits 200] [--tracker-outbound-queue 4096]
//!     [--server-core 0]
//!     [--loadgen-core 1] [--bin-dir DIR] [--raw results.json]
//! ```
//!
//! or `yoctopus-bench/run.sh`, which builds and raises the open-files limit first. The driver builds
//! nothing itself; it runs the programs found beside it (or in `--bin-dir`).
//!
//! Each round runs every configuration on every server, in an order rotated each round, and every
//! measurement gets a fresh server process. Single numbers from a noisy machine mean little: two
//! copies of one server have differed by 1.8x within a round, so only ratios within a round are
//! compared, summarized as medians across rounds, and read against the A/A control's spread.

mod cluster;
mod config;
mod lineup;
mod measure;
mod process;
mod results;
mod server;
mod table;
mod tracker;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use yoctopus_bench::cli::Flags;
use yoctopus_bench::procfs;

use crate::config::{FanoutSize, TrackerSize, Workload, FANOUT_WARMUP_TRIGGERS};
use crate::lineup::Role;
use crate::measure::Setup;
use crate::results::{Measurement, Outcome, Results};

/// The measured window of a throughput run (and of the open loop) by default, in seconds: 3, not
/// 4, since `open-loop-10k` and `idle-100k` joined the default run, which must stay under 15
/// minutes.
const DEFAULT_DURATION_SECS: f64 = 3.0;

/// A one-minute load average above this means something else is using the cores.
const BUSY_LOAD: f64 = 0.5;

/// The programs the driver runs.
const PROGRAMS: [&str; 7] = [
    "bench-baseline",
    lineup::BATCHING_BASELINE_BINARY,
    lineup::FLOOR_BINARY,
    "bench-multicast-baseline",
    "bench-yoctopus",
    "bench-tracker",
    "bench-loadgen",
];

/// What `--help` prints.
const USAGE: &str = "\
usage: bench-driver [--rounds 5] [--warmup 1] [--duration 3] [--idle-connections 10000]
    [--idle-live-connections 100000]
    [--fanout-connections 10000] [--fanout-triggers 5] [--cluster-notifies 1000]
    [--configs 50x1,50x16,1000x1,nested-50x16,idle-memory,notify-10k,multicast-10k,
               cluster-notify,cluster-multicast-10k,open-loop-10k,idle-100k]
    [--tracker-connections 1000] [--tracker-commits 200] [--tracker-outbound-queue 4096]
    [--server-core 0] [--loadgen-core 1] [--bin-dir DIR] [--raw results.json]

Runs bench-baseline, bench-yoctopus and bench-loadgen from --bin-dir (default: the directory of
bench-driver) in interleaved rounds and prints the tables; the throughput configurations
(50x1, 50x16, 1000x1, nested-50x16) also run bench-baseline-batched (the baseline's job with
its replies batched, as Yoctopus does) and bench-floor (no JSON work); multicast-10k runs
bench-multicast-baseline as its baseline. cluster-notify and cluster-multicast-10k run
bench-yoctopus as one server and as clusters of 1, 2 and 3 nodes, each cluster with a private
nats-server (installed from Debian's nats-server), every server on the server's core;
--cluster-notifies is the measured requests per receiver of cluster-notify, and
cluster-multicast-10k uses --fanout-connections and --fanout-triggers.
open-loop-10k: 10,000 connections x 1 request / 100 ms on a fixed schedule (100,000 req/s
offered), latency from each request's scheduled send time, Yoctopus against bench-baseline and
bench-baseline-batched, over --warmup and --duration. idle-100k: Yoctopus alone with
--idle-live-connections idle connections answering its pings (started with PING_INTERVAL_MS=2500):
KiB per connection and the server's CPU over two ping intervals; with an open-files hard limit
too low for them, it measures as many as the limit allows and says so.
The change-tracking configurations, tracker-sqlite,
tracker-sqlite-5ms and tracker-postgres, run bench-tracker and only when --configs names them
(tracker-postgres starts a private PostgreSQL server for the run, unpinned).

If bench-yoctopus-reference is in that directory too
(yoctopus-bench/run.sh builds it with BENCH_REFERENCE=<git rev>), it is measured as
`yoctopus @ <rev>`, the rev read from bench-yoctopus-reference.rev, and compared with yoctopus in
every configuration but notify-10k and multicast-10k, which an old build cannot serve.";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("bench-driver: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let flags = Flags::parse(std::env::args().skip(1))?;
    if flags.text("help").is_some() {
        println!("{USAGE}");
        return Ok(());
    }
    flags.allow_only(&[
        "help",
        "rounds",
        "warmup",
        "duration",
        "idle-connections",
        "idle-live-connections",
        "fanout-connections",
        "fanout-triggers",
        "cluster-notifies",
        "tracker-connections",
        "tracker-commits",
        "tracker-outbound-queue",
        "configs",
        "server-core",
        "loadgen-core",
        "bin-dir",
        "raw",
    ])?;
    let rounds: usize = flags.get_or("rounds", 5)?;
    let idle_connections: usize = flags.get_or("idle-connections", 10_000)?;
    let idle_live_connections = positive(
        &flags,
        "idle-live-connections",
        config::IDLE_LIVE_CONNECTIONS,
    )?;
    let fanout = FanoutSize {
        connections: positive(
            &flags,
            "fanout-connections",
            FanoutSize::default().connections,
        )?,
        triggers: positive(&flags, "fanout-triggers", FanoutSize::default().triggers)?,
    };
    let tracker = TrackerSize {
        connections: positive(
            &flags,
            "tracker-connections",
            TrackerSize::default().connections,
        )?,
        commits: positive(&flags, "tracker-commits", TrackerSize::default().commits)?,
        outbound_queue: positive(
            &flags,
            "tracker-outbound-queue",
            TrackerSize::default().outbound_queue,
        )?,
    };
    let mut setup = Setup {
        bin_dir: match flags.text("bin-dir") {
            Some(dir) => PathBuf::from(dir),
            None => std::env::current_exe()
                .ok()
                .and_then(|exe| exe.parent().map(PathBuf::from))
                .ok_or("cannot tell where bench-driver is; pass `--bin-dir`")?,
        },
        server_core: flags.get_or("server-core", 0)?,
        loadgen_core: flags.get_or("loadgen-core", 1)?,
        warmup: seconds(flags.get_or("warmup", 1.0)?, Duration::ZERO)?,
        duration: seconds(
            flags.get_or("duration", DEFAULT_DURATION_SECS)?,
            Duration::from_millis(100),
        )?,
        databases: Default::default(),
    };
    let cluster_notifies = positive(&flags, "cluster-notifies", config::CLUSTER_NOTIFIES)?;
    let mut configs = config::standard(
        idle_connections,
        fanout,
        cluster_notifies,
        idle_live_connections,
    );
    if let Some(wanted) = flags.text("configs") {
        let wanted: Vec<&str> = wanted.split(',').map(str::trim).collect();
        // The optional configurations join only by name.
        configs.extend(config::optional(tracker));
        if let Some(unknown) = wanted
            .iter()
            .find(|name| !configs.iter().any(|config| config.name == **name))
        {
            let known: Vec<&str> = configs.iter().map(|config| config.name).collect();
            return Err(format!(
                "unknown configuration `{unknown}`; expected some of {}",
                known.join(",")
            ));
        }
        configs.retain(|config| wanted.contains(&config.name));
    }
    // Not even in the lineup when no configuration run measures it (`--configs notify-10k`).
    // Nor is the multicast's alternative outside `multicast-10k`, nor a cluster outside the
    // cluster configurations, nor the batching baseline and the floor outside the throughput ones.
    let reference = lineup::reference(&setup.bin_dir)
        .filter(|reference| configs.iter().any(|config| config.measures(reference)));
    let servers: Vec<_> = lineup::standard(reference)
        .into_iter()
        .filter(|server| {
            !matches!(
                server.role,
                Role::Alternative | Role::Cluster { .. } | Role::Batching | Role::Floor
            ) || configs.iter().any(|c| c.measures(server))
        })
        .collect();
    preflight(&setup, &configs)?;
    setup.databases = std::sync::Arc::new(tracker::Databases::start(&configs)?);
    if let Some(reference) = reference {
        eprintln!(
            "reference: {} ({}), measured as `{}` in every configuration but the fan-outs",
            setup.bin_dir.join(reference.binary).display(),
            if setup.bin_dir.join(lineup::REFERENCE_REV_FILE).is_file() {
                format!("revision from {}", lineup::REFERENCE_REV_FILE)
            } else {
                format!("no {}, so no revision", lineup::REFERENCE_REV_FILE)
            },
            reference.label
        );
    }
    let label_width = servers
        .iter()
        .map(|server| server.label.chars().count())
        .max()
        .unwrap_or(0);

    let measurements: usize = configs
        .iter()
        .map(|config| config.rounds(rounds) * config.lineup(&servers).len())
        .sum();
    let estimate: Duration = configs
        .iter()
        .map(|config| {
            estimated(&setup, config.workload)
                * u32::try_from(config.rounds(rounds) * config.lineup(&servers).len())
                    .unwrap_or(u32::MAX)
        })
        .sum::<Duration>();
    eprintln!(
        "{rounds} rounds x {} configurations x up to {} servers = {measurements} measurements, \
         about {} s",
        configs.len(),
        servers.len(),
        estimate.as_secs()
    );

    if let Ok(load) = procfs::load_average() {
        if load > BUSY_LOAD {
            eprintln!(
                "warning: the load average is {load:.2}; other work on the machine will show up \
                 as noise in every figure (the A/A control will say how much)"
            );
        }
    }

    let started = Instant::now();
    let mut results = Results::default();
    for round in 0..rounds {
        for config in configs.iter().filter(|config| config.measured_in(round)) {
            for server in lineup::rotated(&config.lineup(&servers), round) {
                let outcome = measure::measure(&setup, &server, config.workload);
                eprintln!(
                    "[round {}/{rounds} {:>6.0}s] {:<13} {:<label_width$} {}",
                    round + 1,
                    started.elapsed().as_secs_f64(),
                    config.name,
                    server.label,
                    progress(&outcome)
                );
                results.measurements.push(Measurement {
                    round,
                    config: config.name,
                    server: server.label,
                    outcome,
                });
            }
        }
    }

    println!(
        "# Yoctopus benchmark: {rounds} rounds, {} s warm-up + {} s measured per throughput run, \
         server on CPU {}, load generator on CPU {}, {:.0} s in all",
        setup.warmup.as_secs_f64(),
        setup.duration.as_secs_f64(),
        setup.server_core,
        setup.loadgen_core,
        started.elapsed().as_secs_f64()
    );
    println!(
        "# Absolute figures are medians across rounds, for context. Ratios are medians of per-round \
         ratios to the baseline, [min-max] across rounds; judge them against the A/A noise floor."
    );
    if let Some(reference) = reference {
        println!(
            "# Before/after: `yoctopus` is this build ({}/bench-yoctopus); `{}` is the reference, \
             {} (an earlier build, started the same way, without flags). \
             yoctopus / reference ratios close the output.",
            setup.bin_dir.display(),
            reference.label,
            lineup::REFERENCE_BINARY,
        );
    }
    table::print(&results, &configs, &servers, &config::comparisons());

    if let Some(path) = flags.text("raw") {
        let json = serde_json::to_string_pretty(&results).expect("results serialize");
        std::fs::write(path, json).map_err(|error| format!("writing `{path}` failed: {error}"))?;
        eprintln!("raw measurements written to {path}");
    }
    Ok(())
}

/// Fails early on what would fail every measurement: a missing program, no `taskset`, too few
/// open files for the idle connections (of the memory measurement, or the fan-out's and its
/// controller).
fn preflight(setup: &Setup, configs: &[config::Config]) -> Result<(), String> {
    for program in PROGRAMS {
        let path = setup.bin_dir.join(program);
        if !path.is_file() {
            return Err(format!(
                "`{}` is missing; run `cargo build --release -p yoctopus-bench` first",
                path.display()
            ));
        }
    }
    process::check_pinning(setup.server_core)?;
    process::check_pinning(setup.loadgen_core)?;
    let most_idle = configs
        .iter()
        .filter_map(|config| config.workload.idle_connections())
        .max();
    if let Some(connections) = most_idle {
        // The server and the load generator each hold one descriptor per connection, plus their
        // own. The driver raises its own limit (up to the hard one), which both inherit.
        let needed = connections as u64 + 256;
        let _ = yoctopus_bench::limits::raise_open_files(needed);
        let limit = procfs::open_files_limit().map_err(|error| error.to_string())?;
        if limit < needed {
            return Err(format!(
                "{connections} idle connections need an open-files limit of at least {needed}, \
                 and it is {limit}; raise it with `ulimit -n {needed}` (run.sh does) or lower \
                 `--idle-connections`"
            ));
        }
    }
    // The live idle run measures as many connections as the hard limit allows (see
    // `config::idle_live_count`), so it is never refused here; the soft limit goes up to what
    // that many need.
    let most_live = configs
        .iter()
        .filter_map(|config| match config.workload {
            Workload::IdleLive { connections } => Some(connections),
            _ => None,
        })
        .max();
    if let Some(asked) = most_live {
        let (_, hard) = yoctopus_bench::limits::open_files()
            .map_err(|error| format!("reading the open-files limit: {error}"))?;
        let (connections, capped) = config::idle_live_count(asked, hard);
        let needed = (connections as u64 + config::IDLE_LIVE_FD_MARGIN).min(hard);
        yoctopus_bench::limits::raise_open_files(needed)?;
        if let Some(hard) = capped {
            eprintln!(
                "idle-100k: measured at {connections} connections of the {asked} asked: the \
                 open-files hard limit is {hard} (raising it needs root)"
            );
        }
    }
    Ok(())
}

/// A rough duration of one measurement, for the estimate printed up front.
fn estimated(setup: &Setup, workload: Workload) -> Duration {
    match workload {
        Workload::Throughput { .. } => setup.warmup + setup.duration + Duration::from_millis(300),
        // Base, connected and requested RSS each take up to a few polls; opening is ~5,000/s.
        Workload::IdleMemory { connections } => {
            Duration::from_secs(2) + Duration::from_millis(connections as u64 / 5)
        }
        // Opening as above and the settling pause, then per trigger its pause and about 0.1 s
        // for 10,000 pushes; the multicast labels every connection first, about 25,000 a second.
        Workload::Fanout {
            connections,
            triggers,
        }
        | Workload::Multicast {
            connections,
            triggers,
        } => {
            let labelling = if matches!(workload, Workload::Multicast { .. }) {
                Duration::from_millis(connections as u64 / 25)
            } else {
                Duration::ZERO
            };
            Duration::from_millis(500)
                + Duration::from_millis(connections as u64 / 5)
                + labelling
                + (measure::TRIGGER_PAUSE + Duration::from_millis(100))
                    * u32::try_from(triggers + FANOUT_WARMUP_TRIGGERS).unwrap_or(u32::MAX)
        }
        // Starting, opening 10,000 connections (about 1 s), the lead, the window, and the drain
        // (short unless the server fell behind).
        Workload::OpenLoop { .. } => setup.warmup + setup.duration + Duration::from_millis(1500),
        // As many connections as the hard limit allows: three settled RSS reads and the wait
        // for a quiet moment between pings, opening and one request each about 5,000 a second
        // (measured: 8 s in all at 19,000 connections), and the ping window.
        Workload::IdleLive { connections } => {
            let connections = yoctopus_bench::limits::open_files()
                .map_or(connections, |(_, hard)| {
                    config::idle_live_count(connections, hard).0
                });
            Duration::from_secs(2)
                + Duration::from_millis(connections as u64 / 5)
                + Duration::from_millis(config::IDLE_LIVE_PING_INTERVAL_MS)
                    * config::IDLE_LIVE_PINGS
        }
        Workload::Tracker { .. } => tracker::estimated(workload),
        Workload::ClusterNotify { .. } | Workload::ClusterMulticast { .. } => {
            cluster::estimated(workload)
        }
    }
}

fn progress(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Throughput(report) => format!(
            "{:>9.0} req/s  p50 {:>6} us  p99 {:>6} us  errors {}{}",
            report.throughput,
            report.latency_us.p50,
            report.latency_us.p99,
            report.errors + report.connection_failures,
            report
                .first_error
                .as_deref()
                .map(|error| format!(" (first: {error})"))
                .unwrap_or_default()
        ),
        Outcome::Memory(report) => format!(
            "{:.2} KiB/conn after handshake, {:.2} KiB/conn after one request, {} failed",
            report.per_connection_connected().unwrap_or(f64::NAN) / 1024.0,
            report.per_connection_requested().unwrap_or(f64::NAN) / 1024.0,
            report.failed
        ),
        Outcome::Fanout(report) => {
            let ms: Vec<String> = report
                .triggers
                .iter()
                .map(|trigger| format!("{:.1}", millis(trigger.call_to_last_us)))
                .collect();
            let spread = if report.servers > 1 {
                format!(" over {} servers", report.servers)
            } else {
                String::new()
            };
            let nats = report.nats.map_or_else(String::new, |window| {
                format!(
                    "; NATS {} in / {} out for {} multicasts",
                    window.counted.in_msgs, window.counted.out_msgs, window.operations
                )
            });
            format!(
                "{} connections{spread}, first call to last push: {} ms (warm-up {} ms){nats}",
                report.connections,
                ms.join(" "),
                report
                    .warmup
                    .iter()
                    .map(|trigger| format!("{:.1}", millis(trigger.call_to_last_us)))
                    .collect::<Vec<_>>()
                    .join(" ")
            )
        }
        Outcome::OpenLoop(report) => format!(
            "{:>9.0} of {:.0} req/s served  p50 {:>6} us  p99 {:>6} us  p99.9 {:>6} us  send lag \
             p99 {} us  unanswered {}  errors {}{}",
            report.served_per_sec,
            report.scheduled_per_sec,
            report.latency_us.p50,
            report.latency_us.p99,
            report.latency_us.p999,
            report.send_lag_us.p99,
            report.unanswered,
            report.errors + report.connection_failures,
            report
                .first_error
                .as_deref()
                .map(|error| format!(" (first: {error})"))
                .unwrap_or_default()
        ),
        Outcome::IdleLive(report) => format!(
            "{} of {} connections{}: {:.2} KiB/conn after one request, {} pings in {:.1} s, \
             server {:.1}% of a core, {} failed",
            report.memory.connections,
            report.asked,
            report
                .hard_limit
                .map(|hard| format!(" (open-files hard limit {hard})"))
                .unwrap_or_default(),
            report.memory.per_connection_requested().unwrap_or(f64::NAN) / 1024.0,
            report.window.pings,
            report.window.window_secs,
            report.ping_cpu_percent().unwrap_or(f64::NAN),
            report.memory.failed
        ),
        Outcome::Tracker(report) => tracker::progress(report),
        Outcome::NotifyOne(report) => cluster::progress(report),
        Outcome::Failed(why) => format!("FAILED: {why}"),
    }
}

#[expect(
    clippy::cast_precision_loss,
    reason = "microsecond counts stay far below 2^52"
)]
fn millis(micros: u64) -> f64 {
    micros as f64 / 1000.0
}

/// The value of `--name`, which must be more than 0.
fn positive(flags: &Flags, name: &str, default: usize) -> Result<usize, String> {
    match flags.get_or(name, default)? {
        0 => Err(format!("`--{name}` must be more than 0")),
        value => Ok(value),
    }
}

/// `seconds` as a duration between `least` and ten minutes.
fn seconds(seconds: f64, least: Duration) -> Result<Duration, String> {
    Duration::try_from_secs_f64(seconds)
        .ok()
        .filter(|duration| *duration >= least && *duration <= Duration::from_secs(600))
        .ok_or_else(|| {
            format!(
                "{seconds} s: expected at least {} and at most 600 seconds",
                least.as_secs_f64()
            )
        })
}
