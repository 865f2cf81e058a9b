//! One measurement: a fresh server on its core, the load generator on the other, and the result.
//!
//! Throughput is measured by the load generator itself (it also samples the server's CPU time at
//! the edges of its window). Memory is measured here, from the server's `VmRSS`, between the steps
//! of an idle run that the driver paces through the load generator's standard input. A fan-out
//! (notify or multicast) is timed by the load generator too; any problem in it (a push missing,
//! wrong or late, a connection lost) fails the whole measurement, since its times would not be the
//! fan-out's. The change-tracking and the cluster configurations start their servers (and their
//! database, or NATS) in modules of their own, `tracker.rs` and `cluster.rs`. The open loop is
//! timed by the load generator (`bench-loadgen open-loop`); the live idle run (`bench-loadgen
//! idle-live`) is paced like the memory run, the same RSS reads between its steps, and ends with
//! the load generator's ping window, over which it reads the server's CPU time.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use yoctopus_bench::fanout::Via;
use yoctopus_bench::procfs;
use yoctopus_bench::report::{
    FanoutReport, IdlePhase, OpenLoopReport, PingWindow, ThroughputReport,
};
use yoctopus_bench::request::{Listeners, RequestKind};

use crate::config::{
    idle_live_count, Workload, FANOUT_WARMUP_TRIGGERS, IDLE_LIVE_PINGS, IDLE_LIVE_PING_INTERVAL_MS,
    OPEN_LOOP_DRAIN,
};
use crate::lineup::Server;
use crate::process::{self, Lines};
use crate::results::{LiveIdleReport, MemoryReport, Outcome};
use crate::server::RunningServer;
use crate::tracker::Databases;

/// Time allowed beyond warm-up and duration: opening connections and winding down.
const THROUGHPUT_SLACK: Duration = Duration::from_secs(30);
/// How long opening every idle connection may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(90);
/// How long one request on every idle connection may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the ping window's report may take beyond the window: the load generator's wait for a
/// quiet moment between pings (at most 3 s) and its winding down.
const PING_WINDOW_SLACK: Duration = Duration::from_secs(10);
/// How long labelling every connection of a multicast may take (the load generator's own bound).
const LABEL_TIMEOUT: Duration = Duration::from_secs(20);
/// How long one fan-out trigger may take, from sending it to the last push and the answer.
pub(crate) const TRIGGER_TIMEOUT: Duration = Duration::from_secs(20);
/// The pause after each fan-out trigger.
pub(crate) const TRIGGER_PAUSE: Duration = Duration::from_millis(200);
/// RSS is read until two reads this far apart differ by at most [`RSS_STEADY`]...
const RSS_POLL: Duration = Duration::from_millis(150);
/// ...bytes...
const RSS_STEADY: u64 = 64 << 10;
/// ...or this long has passed.
const RSS_SETTLE_MAX: Duration = Duration::from_secs(3);

/// Where the programs are and how measurements are run.
#[derive(Debug, Clone)]
pub(crate) struct Setup {
    pub(crate) bin_dir: PathBuf,
    pub(crate) server_core: usize,
    pub(crate) loadgen_core: usize,
    pub(crate) warmup: Duration,
    pub(crate) duration: Duration,
    /// The change-tracking configurations' databases (none for the others).
    pub(crate) databases: Arc<Databases>,
}

/// Measures `server` under `workload`; a failure is an outcome too.
pub(crate) fn measure(setup: &Setup, server: &Server, workload: Workload) -> Outcome {
    if let Workload::Tracker { .. } = workload {
        // A fresh database first, which the server's command line names.
        return crate::tracker::measure(setup, server, workload)
            .map_or_else(Outcome::Failed, Outcome::Tracker);
    }
    if let Workload::ClusterNotify { .. } | Workload::ClusterMulticast { .. } = workload {
        // NATS and the nodes first, or one server alone.
        return crate::cluster::measure(setup, server, workload).unwrap_or_else(Outcome::Failed);
    }
    let (binary, flags) = workload.server_command(server);
    let program = Server { binary, ..*server };
    let env = workload.server_env();
    let measured =
        RunningServer::start_with_env(&setup.bin_dir, &program, setup.server_core, flags, &env)
            .and_then(|running| match workload {
                Workload::Throughput {
                    connections,
                    in_flight,
                    request,
                } => throughput(
                    setup,
                    &running,
                    server.listeners,
                    connections,
                    in_flight,
                    request,
                )
                .map(Outcome::Throughput),
                Workload::IdleMemory { connections } => {
                    idle_memory(setup, &running, server.listeners, connections).map(Outcome::Memory)
                }
                Workload::Fanout {
                    connections,
                    triggers,
                } => fanout(
                    setup,
                    &Loaded::one(&running),
                    Via::Notify,
                    connections,
                    triggers,
                )
                .map(Outcome::Fanout),
                Workload::Multicast {
                    connections,
                    triggers,
                } => fanout(
                    setup,
                    &Loaded::one(&running),
                    Via::Multicast,
                    connections,
                    triggers,
                )
                .map(Outcome::Fanout),
                Workload::OpenLoop {
                    connections,
                    period_ms,
                } => open_loop(setup, &running, server.listeners, connections, period_ms)
                    .map(Outcome::OpenLoop),
                Workload::IdleLive { connections } => {
                    idle_live(&running, setup, server.listeners, connections).map(Outcome::IdleLive)
                }
                Workload::Tracker { .. }
                | Workload::ClusterNotify { .. }
                | Workload::ClusterMulticast { .. } => Err("measured above".to_owned()),
            });
    measured.unwrap_or_else(Outcome::Failed)
}

fn throughput(
    setup: &Setup,
    server: &RunningServer,
    listeners: Listeners,
    connections: usize,
    in_flight: usize,
    request: RequestKind,
) -> Result<ThroughputReport, String> {
    let mut loadgen = process::pinned(setup.loadgen_core, &setup.bin_dir.join("bench-loadgen"));
    loadgen
        .arg("throughput")
        .args(["--addr", &server.addr().to_string()])
        .args(["--connections", &connections.to_string()])
        .args(["--in-flight", &in_flight.to_string()])
        .args(["--request", request.as_str()])
        .args(["--listeners", listeners.as_str()])
        .args(["--warmup", &setup.warmup.as_secs_f64().to_string()])
        .args(["--duration", &setup.duration.as_secs_f64().to_string()])
        .args(["--server-pid", &server.pid().to_string()]);
    process::loadgen_report(
        &mut loadgen,
        setup.warmup + setup.duration + THROUGHPUT_SLACK,
    )
}

/// What a load generator is pointed at: the servers' addresses (one server, or the nodes of a
/// cluster, the first taking the triggers), the processes whose CPU time is the servers' (the
/// nodes, and their NATS server), and that NATS server's monitoring address, if there is one.
#[derive(Debug, Clone)]
pub(crate) struct Loaded {
    pub(crate) addrs: Vec<SocketAddr>,
    pub(crate) pids: Vec<u32>,
    pub(crate) nats_monitor: Option<SocketAddr>,
}

impl Loaded {
    /// One server, without a cluster.
    pub(crate) fn one(server: &RunningServer) -> Self {
        Self {
            addrs: vec![server.addr()],
            pids: vec![server.pid()],
            nats_monitor: None,
        }
    }

    /// The load generator's flags for them: `--addr`, `--server-pid`, `--nats-monitor`.
    pub(crate) fn flags(&self) -> Vec<String> {
        let joined = |items: Vec<String>| items.join(",");
        let mut flags = vec![
            "--addr".to_owned(),
            joined(self.addrs.iter().map(ToString::to_string).collect()),
            "--server-pid".to_owned(),
            joined(self.pids.iter().map(ToString::to_string).collect()),
        ];
        if let Some(monitor) = self.nats_monitor {
            flags.extend(["--nats-monitor".to_owned(), monitor.to_string()]);
        }
        flags
    }
}

pub(crate) fn fanout(
    setup: &Setup,
    loaded: &Loaded,
    via: Via,
    connections: usize,
    triggers: usize,
) -> Result<FanoutReport, String> {
    let mut loadgen = process::pinned(setup.loadgen_core, &setup.bin_dir.join("bench-loadgen"));
    loadgen
        .arg("fanout")
        .args(loaded.flags())
        .args(["--via", via.as_str()])
        .args(["--connections", &connections.to_string()])
        .args(["--triggers", &triggers.to_string()])
        .args(["--warmup-triggers", &FANOUT_WARMUP_TRIGGERS.to_string()])
        .args(["--timeout", &TRIGGER_TIMEOUT.as_secs_f64().to_string()])
        .args(["--pause", &TRIGGER_PAUSE.as_secs_f64().to_string()]);
    let every_trigger = (TRIGGER_TIMEOUT + TRIGGER_PAUSE)
        * u32::try_from(triggers + FANOUT_WARMUP_TRIGGERS).unwrap_or(u32::MAX);
    let report: FanoutReport = process::loadgen_report(
        &mut loadgen,
        CONNECT_TIMEOUT + LABEL_TIMEOUT + every_trigger + THROUGHPUT_SLACK,
    )?;
    match &report.first_error {
        None if report.triggers.len() == triggers => Ok(report),
        problem => Err(format!(
            "{} of {triggers} triggers completed, {} wrong pushes, {} connections failed: {}",
            report.triggers.len(),
            report.wrong_pushes,
            report.connection_failures,
            problem.as_deref().unwrap_or("no error given")
        )),
    }
}

fn idle_memory(
    setup: &Setup,
    server: &RunningServer,
    listeners: Listeners,
    connections: usize,
) -> Result<MemoryReport, String> {
    let pid = server.pid();
    let base_bytes = settled_rss(pid)?;
    let mut loadgen = process::pinned(setup.loadgen_core, &setup.bin_dir.join("bench-loadgen"))
        .arg("idle")
        .args(["--addr", &server.addr().to_string()])
        .args(["--connections", &connections.to_string()])
        .args(["--listeners", listeners.as_str()])
        .args(["--control", "stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|error| format!("starting bench-loadgen failed: {error}"))?;
    let lines = Lines::read(loadgen.stdout.take().expect("stdout was piped"));
    let mut control = loadgen.stdin.take().expect("stdin was piped");
    let measured = (|| {
        let connected = phase(&lines, "connected", CONNECT_TIMEOUT)?;
        let connected_bytes = settled_rss(pid)?;
        writeln!(control, "go").map_err(|error| format!("pacing bench-loadgen failed: {error}"))?;
        let requested = phase(&lines, "requested", REQUEST_TIMEOUT)?;
        let requested_bytes = settled_rss(pid)?;
        Ok(MemoryReport {
            connections: requested.open,
            failed: connected.failed + requested.failed,
            base_bytes,
            connected_bytes,
            requested_bytes,
        })
    })();
    // Closing its input lets the load generator finish at once.
    drop(control);
    process::wait_until(&mut loadgen, Instant::now() + Duration::from_secs(10));
    measured
}

fn open_loop(
    setup: &Setup,
    server: &RunningServer,
    listeners: Listeners,
    connections: usize,
    period_ms: u32,
) -> Result<OpenLoopReport, String> {
    let mut loadgen = process::pinned(setup.loadgen_core, &setup.bin_dir.join("bench-loadgen"));
    loadgen
        .arg("open-loop")
        .args(["--addr", &server.addr().to_string()])
        .args(["--connections", &connections.to_string()])
        .args(["--period-ms", &period_ms.to_string()])
        .args(["--listeners", listeners.as_str()])
        .args(["--warmup", &setup.warmup.as_secs_f64().to_string()])
        .args(["--duration", &setup.duration.as_secs_f64().to_string()])
        .args(["--drain", &OPEN_LOOP_DRAIN.as_secs_f64().to_string()])
        .args(["--server-pid", &server.pid().to_string()]);
    process::loadgen_report(
        &mut loadgen,
        setup.warmup + setup.duration + OPEN_LOOP_DRAIN + THROUGHPUT_SLACK,
    )
}

/// The live idle run: as many of `asked` connections as the open-files hard limit allows (see
/// [`idle_live_count`]), the server's RSS read as in [`idle_memory`], then the ping window.
fn idle_live(
    server: &RunningServer,
    setup: &Setup,
    listeners: Listeners,
    asked: usize,
) -> Result<LiveIdleReport, String> {
    let (_, hard) = yoctopus_bench::limits::open_files()
        .map_err(|error| format!("reading the open-files limit: {error}"))?;
    let (connections, hard_limit) = idle_live_count(asked, hard);
    let window = Duration::from_millis(IDLE_LIVE_PING_INTERVAL_MS) * IDLE_LIVE_PINGS;
    let pid = server.pid();
    let base_bytes = settled_rss(pid)?;
    let mut loadgen = process::pinned(setup.loadgen_core, &setup.bin_dir.join("bench-loadgen"))
        .arg("idle-live")
        .args(["--addr", &server.addr().to_string()])
        .args(["--connections", &connections.to_string()])
        .args(["--listeners", listeners.as_str()])
        .args(["--control", "stdin"])
        .args(["--ping-window", &window.as_secs_f64().to_string()])
        .args(["--server-pid", &pid.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|error| format!("starting bench-loadgen failed: {error}"))?;
    let lines = Lines::read(loadgen.stdout.take().expect("stdout was piped"));
    let mut control = loadgen.stdin.take().expect("stdin was piped");
    let measured = (|| {
        let mut go = || {
            writeln!(control, "go").map_err(|error| format!("pacing bench-loadgen failed: {error}"))
        };
        let connected = phase(&lines, "connected", CONNECT_TIMEOUT)?;
        let connected_bytes = settled_rss(pid)?;
        go()?;
        let requested = phase(&lines, "requested", REQUEST_TIMEOUT)?;
        let requested_bytes = settled_rss(pid)?;
        go()?;
        // The load generator waits up to 3 s for a quiet moment between pings first.
        let timeout = window + PING_WINDOW_SLACK;
        let line = lines.next(timeout).ok_or_else(|| {
            format!("bench-loadgen did not report its ping window within {timeout:?}")
        })?;
        let window: PingWindow = serde_json::from_str(&line)
            .map_err(|error| format!("unreadable ping window ({error}): {line}"))?;
        Ok(LiveIdleReport {
            asked,
            hard_limit,
            memory: MemoryReport {
                connections: requested.open,
                failed: connected.failed + requested.failed + window.failed,
                base_bytes,
                connected_bytes,
                requested_bytes,
            },
            ping_interval_ms: IDLE_LIVE_PING_INTERVAL_MS,
            window,
        })
    })();
    drop(control);
    process::wait_until(&mut loadgen, Instant::now() + Duration::from_secs(10));
    measured
}

fn phase(lines: &Lines, name: &str, timeout: Duration) -> Result<IdlePhase, String> {
    let line = lines
        .next(timeout)
        .ok_or_else(|| format!("bench-loadgen did not report `{name}` within {timeout:?}"))?;
    let phase: IdlePhase = serde_json::from_str(&line)
        .map_err(|error| format!("unreadable phase ({error}): {line}"))?;
    if phase.phase != name {
        return Err(format!("expected phase `{name}`, got: {line}"));
    }
    if phase.open == 0 {
        return Err(format!(
            "no connection survived `{name}`: {}",
            phase.first_error.as_deref().unwrap_or("no error given")
        ));
    }
    Ok(phase)
}

/// The server's RSS once it has stopped moving.
fn settled_rss(pid: u32) -> Result<u64, String> {
    let read =
        || procfs::rss_bytes(pid).map_err(|error| format!("reading the server's RSS: {error}"));
    let deadline = Instant::now() + RSS_SETTLE_MAX;
    let mut last = read()?;
    loop {
        std::thread::sleep(RSS_POLL);
        let now = read()?;
        if now.abs_diff(last) <= RSS_STEADY || Instant::now() >= deadline {
            return Ok(now);
        }
        last = now;
    }
}
