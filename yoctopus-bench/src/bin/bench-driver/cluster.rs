//! The cluster configurations (`cluster-notify`, `cluster-multicast-10k`): Yoctopus as one server
//! without a cluster, and as the nodes of a cluster of one, two and three servers meeting at a
//! private NATS server, under the same load in the same rounds, and their tables.
//!
//! **Per measurement, fresh.** A cluster's measurement starts its own nats-server (no
//! configuration file, 127.0.0.1 on free ports, its monitoring port open for the counters), then
//! the nodes one after another, each `bench-yoctopus --fanout` with `NATS_URL` and the `CLUSTER_*`
//! variables in its environment, as a deployment configures one ([`ServerBuilder::from_env`]).
//! A node prints `listening on` once it has joined (connected, subscribed, greeted the members
//! and heard their answers), so when the last one has, every node knows every other. Nothing is
//! left for the next measurement: no membership of killed nodes, no counters.
//!
//! **One core for the servers.** The machine has two cores. Every node and nats-server run on
//! the server's core, the load generator alone on the other, as in every other configuration: a
//! cluster here has no more CPU than one server, and its figures are what the cluster's path
//! costs (NATS, the other nodes' share of the work, their taking turns on one core), not what
//! servers on separate machines would gain. nats-server is pinned with them so that it never
//! takes the load generator's core, whose timestamps are the measurement.
//!
//! **Slow heartbeats.** The nodes beat every [`HEARTBEAT_MS`] instead of every second (and count
//! a node gone after [`EXPIRE_MS`]), so that no heartbeat falls in a measurement, which lasts a
//! few seconds after the last node joined: the NATS messages the load generator counts are then
//! the operations' own. Heartbeats carry nothing the measured operations wait for; at the
//! default of one a second, each node's would add one message in and one out per other node per
//! second.
//!
//! [`ServerBuilder::from_env`]: yoctopus_core::ServerBuilder::from_env

use std::fs::OpenOptions;
use std::io::{BufRead as _, BufReader, Read as _};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use yoctopus_bench::fanout::Via;
use yoctopus_bench::nats::{self, NatsWindow};
use yoctopus_bench::report::{FanoutReport, FanoutTrigger, NotifyLatencies, NotifyOneReport};

use crate::config::{Config, Workload, CLUSTER_NOTIFY_WARMUP, FANOUT_WARMUP_TRIGGERS};
use crate::lineup::{Role, Server};
use crate::measure::{self, Loaded, Setup};
use crate::process;
use crate::results::{Outcome, Results, Spread};
use crate::server::RunningServer;
use crate::table::{number, ratio_text, Table};

/// The nodes' heartbeat interval, in milliseconds (Yoctopus's default is 1,000).
pub(crate) const HEARTBEAT_MS: u64 = 60_000;
/// How long the nodes wait for a silent node's heartbeat, in milliseconds (more than
/// [`HEARTBEAT_MS`], as Yoctopus requires).
pub(crate) const EXPIRE_MS: u64 = 180_000;
/// The cluster's name: each measurement has a NATS server of its own, so one name serves all.
const CLUSTER_NAME: &str = "bench";
/// The nats-server program, when it is not on `PATH`: where Debian puts it.
const NATS_FALLBACKS: [&str; 2] = ["/usr/bin/nats-server", "/usr/sbin/nats-server"];
/// How long nats-server may take to answer on both its ports.
const NATS_READY_TIMEOUT: Duration = Duration::from_secs(10);
/// How many times a nats-server that found its port taken is started again on others.
const NATS_ATTEMPTS: usize = 3;
/// The pause after the last node joined: the members' answers to its hello and its first
/// heartbeat are sent by then, before the load generator reads the counters.
const SETTLE: Duration = Duration::from_millis(300);
/// How long a notify-one run may take, beyond its requests: the slack of the load generator's
/// own bound.
const NOTIFY_DURATION: Duration = Duration::from_secs(30);
/// How long one notify-one request may take.
const NOTIFY_TIMEOUT: Duration = Duration::from_secs(5);

/// A private nats-server for one measurement, pinned, with its monitoring port; stopped and its
/// directory removed when dropped.
#[derive(Debug)]
pub(crate) struct Nats {
    child: Child,
    port: u16,
    monitor: u16,
    dir: PathBuf,
}

impl Nats {
    /// Starts nats-server on CPU `core` and waits until it answers on both ports.
    pub(crate) fn start(core: usize) -> Result<Self, String> {
        static STARTED: AtomicUsize = AtomicUsize::new(0);
        let program = nats_program()?;
        let dir = std::env::temp_dir().join(format!(
            "bench-nats-{}-{}",
            std::process::id(),
            STARTED.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir)
            .map_err(|error| format!("creating {}: {error}", dir.display()))?;
        let mut last = String::new();
        for _ in 0..NATS_ATTEMPTS {
            let (port, monitor) = (free_port()?, free_port()?);
            let log_path = dir.join("nats.log");
            let log = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&log_path)
                .map_err(|error| format!("opening {}: {error}", log_path.display()))?;
            let child = process::pinned(core, &program)
                .args(["-a", "127.0.0.1", "-p", &port.to_string()])
                .args(["-m", &monitor.to_string()])
                .current_dir(&dir)
                .stdin(Stdio::null())
                .stdout(log.try_clone().map_err(|error| error.to_string())?)
                .stderr(log)
                .spawn()
                .map_err(|error| format!("starting {} failed: {error}", program.display()))?;
            let mut nats = Self {
                child,
                port,
                monitor,
                dir: dir.clone(),
            };
            match nats.wait_ready() {
                Ok(()) => return Ok(nats),
                Err(problem) => {
                    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                    last = format!("{problem}; its log: {}", tail(&log, 600));
                    // Dropping it stops it; only a taken port is worth another try.
                    let taken = log.contains("address already in use");
                    nats.dir = PathBuf::new();
                    drop(nats);
                    if !taken {
                        break;
                    }
                }
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
        Err(format!("nats-server did not start: {last}"))
    }

    /// Waits until the server sends its `INFO` line on the client port and answers `/varz`.
    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + NATS_READY_TIMEOUT;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("nats-server exited ({status})"));
            }
            let probe = info_line(self.port).and_then(|()| nats::varz(self.monitor()).map(drop));
            match probe {
                Ok(()) => return Ok(()),
                Err(problem) if Instant::now() >= deadline => {
                    return Err(format!(
                        "nats-server did not answer within {NATS_READY_TIMEOUT:?} ({problem})"
                    ))
                }
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    }

    /// The URL the nodes connect to.
    pub(crate) fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// The monitoring address, whose `/varz` the load generator reads.
    pub(crate) fn monitor(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.monitor))
    }

    /// Its process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if !self.dir.as_os_str().is_empty() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// nats-server on `PATH`, else where Debian puts it.
fn nats_program() -> Result<PathBuf, String> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("nats-server"))
        .chain(NATS_FALLBACKS.iter().map(PathBuf::from))
        .find(|program| program.is_file())
        .ok_or_else(|| {
            "nats-server is not installed; `bash scripts/install-test-deps.sh` installs it \
             (Debian's nats-server)"
                .to_owned()
        })
}

/// A port of 127.0.0.1 that was free a moment ago.
fn free_port() -> Result<u16, String> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .map_err(|error| format!("finding a free port: {error}"))
}

/// Whether the client port answers as NATS does: an `INFO {…}` line first.
fn info_line(port: u16) -> Result<(), String> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let stream = TcpStream::connect_timeout(&addr, Duration::from_millis(500))
        .map_err(|error| format!("connecting to {addr}: {error}"))?;
    stream
        .set_read_timeout(Some(Duration::from_millis(500)))
        .map_err(|error| error.to_string())?;
    let mut line = String::new();
    BufReader::new(stream.take(64 * 1024))
        .read_line(&mut line)
        .map_err(|error| format!("reading from {addr}: {error}"))?;
    if line.starts_with("INFO {") {
        Ok(())
    } else {
        Err(format!("{addr} answered {:?}", tail(&line, 100)))
    }
}

/// The last `most` characters of `text`, on one line.
fn tail(text: &str, most: usize) -> String {
    let chars: Vec<char> = text.chars().collect();
    let start = chars.len().saturating_sub(most);
    chars[start..]
        .iter()
        .collect::<String>()
        .replace('\n', " | ")
}

/// Measures `server` (the candidate alone, or a cluster of nodes) under a cluster `workload`.
pub(crate) fn measure(
    setup: &Setup,
    server: &Server,
    workload: Workload,
) -> Result<Outcome, String> {
    let nodes = match server.role {
        Role::Candidate | Role::Cluster { nodes: 0 } => None,
        Role::Cluster { nodes } => Some(nodes),
        other => return Err(format!("{other:?} has no place in a cluster configuration")),
    };
    // Declared first, so dropped last: after the nodes, which would otherwise log its loss.
    let nats = nodes.map(|_| Nats::start(setup.server_core)).transpose()?;
    let env: Vec<(&str, String)> = nats.as_ref().map_or_else(Vec::new, |nats| {
        vec![
            ("NATS_URL", nats.url()),
            ("CLUSTER_NAME", CLUSTER_NAME.to_owned()),
            ("CLUSTER_HEARTBEAT_MS", HEARTBEAT_MS.to_string()),
            ("CLUSTER_EXPIRE_MS", EXPIRE_MS.to_string()),
        ]
    });
    let (binary, flags) = workload.server_command(server);
    let program = Server { binary, ..*server };
    let mut running = Vec::new();
    for _ in 0..nodes.unwrap_or(1) {
        running.push(RunningServer::start_with_env(
            &setup.bin_dir,
            &program,
            setup.server_core,
            flags,
            &env,
        )?);
    }
    if nats.is_some() {
        std::thread::sleep(SETTLE);
    }
    let loaded = Loaded {
        addrs: running.iter().map(RunningServer::addr).collect(),
        pids: running
            .iter()
            .map(RunningServer::pid)
            .chain(nats.as_ref().map(Nats::pid))
            .collect(),
        nats_monitor: nats.as_ref().map(Nats::monitor),
    };
    let outcome = match workload {
        Workload::ClusterNotify { per_target } => {
            notify_one(setup, &loaded, per_target).map(Outcome::NotifyOne)
        }
        Workload::ClusterMulticast {
            connections,
            triggers,
        } => measure::fanout(setup, &loaded, Via::Multicast, connections, triggers)
            .and_then(|report| match (&loaded.nats_monitor, &report.nats) {
                (Some(_), None) => Err("the load generator read no NATS counters".to_owned()),
                _ => Ok(report),
            })
            .map(Outcome::Fanout),
        _ => Err("not a cluster workload".to_owned()),
    };
    drop(running);
    outcome
}

/// Runs `bench-loadgen notify-one` against `loaded`, `per_target` measured requests per receiver.
fn notify_one(
    setup: &Setup,
    loaded: &Loaded,
    per_target: usize,
) -> Result<NotifyOneReport, String> {
    let mut loadgen = process::pinned(setup.loadgen_core, &setup.bin_dir.join("bench-loadgen"));
    loadgen
        .arg("notify-one")
        .args(loaded.flags())
        .args(["--count", &per_target.to_string()])
        .args(["--warmup", &CLUSTER_NOTIFY_WARMUP.to_string()])
        .args(["--duration", &NOTIFY_DURATION.as_secs_f64().to_string()])
        .args(["--timeout", &NOTIFY_TIMEOUT.as_secs_f64().to_string()]);
    let report: NotifyOneReport = process::loadgen_report(
        &mut loadgen,
        NOTIFY_DURATION + NOTIFY_TIMEOUT + Duration::from_secs(30),
    )?;
    let complete = report.targets.len() == loaded.addrs.len()
        && report
            .targets
            .iter()
            .all(|target| target.measured.notifies == per_target);
    match &report.first_error {
        None if complete && (loaded.nats_monitor.is_none() || report.nats.is_some()) => Ok(report),
        problem => Err(format!(
            "{} of {} receivers measured, {} wrong pushes: {}",
            report.targets.len(),
            loaded.addrs.len(),
            report.wrong_pushes,
            problem.as_deref().unwrap_or("incomplete, no error given")
        )),
    }
}

/// A rough duration of one measurement, for the estimate printed up front: NATS and two or three
/// nodes starting, then the requests (about 0.3 ms each) or the multicast's connections and
/// triggers.
pub(crate) fn estimated(workload: Workload) -> Duration {
    let starting = Duration::from_millis(900);
    match workload {
        Workload::ClusterNotify { per_target } => {
            let requests = (per_target + CLUSTER_NOTIFY_WARMUP) as u64 * 2;
            starting + Duration::from_micros(requests * 300)
        }
        Workload::ClusterMulticast {
            connections,
            triggers,
        } => {
            starting
                + Duration::from_millis(500 + connections as u64 / 5 + connections as u64 / 25)
                + (measure::TRIGGER_PAUSE + Duration::from_millis(100))
                    * u32::try_from(triggers + FANOUT_WARMUP_TRIGGERS).unwrap_or(u32::MAX)
        }
        _ => Duration::ZERO,
    }
}

/// The progress line of a notify-one measurement.
pub(crate) fn progress(report: &NotifyOneReport) -> String {
    let same = report.targets.first().map(|target| &target.measured);
    let mut line = format!(
        "same server push p50 {} p99 {} us",
        same.map_or(0, |same| same.push_us.p50),
        same.map_or(0, |same| same.push_us.p99)
    );
    if let Some(across) = &report.across {
        line.push_str(&format!(
            ", across p50 {} p99 {} us",
            across.push_us.p50, across.push_us.p99
        ));
    }
    if let Some(window) = &report.nats {
        line.push_str(&format!(
            "; NATS {} in / {} out for {} cross-server notifies",
            window.counted.in_msgs, window.counted.out_msgs, window.operations
        ));
    }
    line
}

/// The name of `server`'s row: how many servers, and whether they are a cluster.
fn row_name(server: &Server) -> String {
    match server.role {
        Role::Cluster { nodes: 0 } => "1 server, no cluster, A/A".to_owned(),
        Role::Cluster { nodes: 1 } => "1 server, a 1-node cluster".to_owned(),
        Role::Cluster { nodes } => format!("{nodes} servers, a cluster"),
        _ => "1 server, no cluster".to_owned(),
    }
}

/// Prints a cluster configuration's tables.
pub(crate) fn print(results: &Results, config: &Config, servers: &[Server]) {
    match config.workload {
        Workload::ClusterNotify { .. } => print_notify(results, config.name, servers),
        Workload::ClusterMulticast { connections, .. } => {
            print_multicast(results, config.name, servers, connections);
        }
        _ => {}
    }
}

/// `metric` of the same-server requests of a notify-one outcome.
fn same(outcome: &Outcome) -> Option<&NotifyLatencies> {
    Some(&outcome.notify_one()?.targets.first()?.measured)
}

/// `metric` of the cross-server requests of a notify-one outcome.
fn across(outcome: &Outcome) -> Option<&NotifyLatencies> {
    outcome.notify_one()?.across.as_ref()
}

#[expect(clippy::cast_precision_loss, reason = "counts stay far below 2^52")]
fn f(value: u64) -> f64 {
    value as f64
}

fn print_notify(results: &Results, config: &str, servers: &[Server]) {
    let Some(single) = servers.iter().find(|s| s.role == Role::Candidate) else {
        return;
    };
    type Metric = fn(&Outcome) -> Option<f64>;
    let median = |server: &Server, metric: Metric| {
        number(
            Spread::of(results.values(config, server.label, metric)).map(|s| s.median),
            0,
        )
    };
    println!(
        "  latency, us: request written -> push read (\"push\"), and -> the sender's ok read \
         (\"answer\"); medians over the rounds of each round's percentile"
    );
    let mut table = Table::new(&[
        "servers",
        "rounds",
        "notifies same/across",
        "same: push p50",
        "p99",
        "answer p50",
        "across: push p50",
        "p99",
        "answer p50",
        "p99",
        "notify call p50",
        "across - same p50 [range]",
        "across x 1 server's p50 [range]",
    ]);
    for server in servers {
        let rounds = results.values(config, server.label, |o| Some(f(same(o)?.notifies as u64)));
        let notifies = |pick: fn(&Outcome) -> Option<&NotifyLatencies>| {
            let counts: Vec<f64> =
                results.values(config, server.label, |o| Some(f(pick(o)?.notifies as u64)));
            number(Some(counts.iter().sum()), 0)
        };
        let has_across = !results
            .values(config, server.label, |o| {
                Some(f(across(o)?.notifies as u64))
            })
            .is_empty();
        let dash = |text: String| if has_across { text } else { "-".to_owned() };
        let difference = Spread::of(results.values(config, server.label, |o| {
            Some(f(across(o)?.push_us.p50) - f(same(o)?.push_us.p50))
        }));
        table.row(vec![
            row_name(server),
            rounds.len().to_string(),
            format!("{}/{}", notifies(same), dash(notifies(across))),
            median(server, |o| Some(f(same(o)?.push_us.p50))),
            median(server, |o| Some(f(same(o)?.push_us.p99))),
            median(server, |o| Some(f(same(o)?.reply_us.p50))),
            dash(median(server, |o| Some(f(across(o)?.push_us.p50)))),
            dash(median(server, |o| Some(f(across(o)?.push_us.p99)))),
            dash(median(server, |o| Some(f(across(o)?.reply_us.p50)))),
            dash(median(server, |o| Some(f(across(o)?.reply_us.p99)))),
            dash(median(server, |o| Some(f(across(o)?.call_us.p50)))),
            dash(difference.map_or_else(
                || "no data".to_owned(),
                |s| format!("{:.0} [{:.0}-{:.0}]", s.median, s.min, s.max),
            )),
            dash(ratio_text(Spread::of(results.ratios(
                (config, server.label),
                (config, single.label),
                |o| match o.notify_one()?.across.as_ref() {
                    Some(across) => Some(f(across.push_us.p50)),
                    None => Some(f(same(o)?.push_us.p50)),
                },
            )))),
        ]);
    }
    table.print();
    noise_floor(results, config, servers, "same-server push p50", |o| {
        Some(f(same(o)?.push_us.p50))
    });
    nats_and_cores(results, config, servers, "cross-server notify");
    println!(
        "  same: the receiver on the sender's server; across: on another node (with 3 nodes, two \
         receivers, both counted). Requests go one at a time, to each receiver in turn, so \
         same-server and cross-server requests interleave in each run. notify call = the \
         server's own time for Connections::notify (for another node: the NATS request and its \
         answer). across - same: per round, within one run; x 1 server: per round, over the \
         single server's (no cluster) same-server p50 (the same-server p50's, in the rows \
         without a receiver on another server). NATS per notify: messages published to \
         nats-server (in) and delivered by it (out), counted over the run, warm-up included, / \
         the cross-server requests."
    );
}

/// The A/A control's per-round ratio of `metric` to the single server's: the noise floor every
/// `x 1 server` ratio is read against.
fn noise_floor(
    results: &Results,
    config: &str,
    servers: &[Server],
    what: &str,
    metric: fn(&Outcome) -> Option<f64>,
) {
    let find = |wanted: fn(Role) -> bool| servers.iter().find(|server| wanted(server.role));
    let (Some(single), Some(control)) = (
        find(|role| role == Role::Candidate),
        find(|role| role == Role::Cluster { nodes: 0 }),
    ) else {
        return;
    };
    println!(
        "  noise floor ({} / {}): {what} {}",
        row_name(control),
        row_name(single),
        ratio_text(Spread::of(results.ratios(
            (config, control.label),
            (config, single.label),
            metric
        )))
    );
}

/// The table of what NATS counted per operation, and of the cores.
fn nats_and_cores(results: &Results, config: &str, servers: &[Server], operation: &str) {
    let per_operation = |outcome: &Outcome, pick: fn(&NatsWindow) -> u64| {
        let window = match outcome {
            Outcome::NotifyOne(report) => report.nats,
            Outcome::Fanout(report) => report.nats,
            _ => None,
        }?;
        (window.operations > 0).then(|| f(pick(&window)) / f(window.operations))
    };
    let cores = |outcome: &Outcome, server: bool| match outcome {
        Outcome::NotifyOne(report) if report.window_secs > 0.0 => Some(if server {
            report.server_cpu_secs? / report.window_secs
        } else {
            report.loadgen_cpu_secs / report.window_secs
        }),
        Outcome::Fanout(report) => {
            let window: f64 = report
                .triggers
                .iter()
                .map(|t| f(t.trigger_to_last_us) / 1e6)
                .sum();
            let cpu: Option<f64> = if server {
                report.triggers.iter().map(|t| t.server_cpu_secs).sum()
            } else {
                Some(report.triggers.iter().map(|t| t.loadgen_cpu_secs).sum())
            };
            cpu.filter(|_| window > 0.0).map(|cpu| cpu / window)
        }
        _ => None,
    };
    let title_in = format!("NATS msgs in per {operation}");
    let mut table = Table::new(&[
        "servers",
        &title_in,
        "out",
        "bytes in",
        "bytes out",
        "operations counted",
        "server cores",
        "loadgen cores",
    ]);
    for server in servers {
        let spread = |pick: fn(&NatsWindow) -> u64, decimals: usize| match Spread::of(
            results.values(config, server.label, |o| per_operation(o, pick)),
        ) {
            Some(s) if (s.max - s.min).abs() < 1e-9 => number(Some(s.median), decimals),
            Some(s) => format!(
                "{} [{}-{}]",
                number(Some(s.median), decimals),
                number(Some(s.min), decimals),
                number(Some(s.max), decimals)
            ),
            None => "-".to_owned(),
        };
        let operations: f64 = results
            .values(config, server.label, |o| match o {
                Outcome::NotifyOne(report) => Some(f(report.nats?.operations)),
                Outcome::Fanout(report) => Some(f(report.nats?.operations)),
                _ => None,
            })
            .iter()
            .sum();
        let median = |metric: &dyn Fn(&Outcome) -> Option<f64>| {
            number(
                Spread::of(results.values(config, server.label, metric)).map(|s| s.median),
                2,
            )
        };
        table.row(vec![
            row_name(server),
            spread(|w| w.counted.in_msgs, 2),
            spread(|w| w.counted.out_msgs, 2),
            spread(|w| w.counted.in_bytes, 0),
            spread(|w| w.counted.out_bytes, 0),
            if operations > 0.0 {
                number(Some(operations), 0)
            } else {
                "-".to_owned()
            },
            median(&|o| cores(o, true)),
            median(&|o| cores(o, false)),
        ]);
    }
    table.print();
}

/// A trigger's time from being written to the last push read, in milliseconds.
fn trigger_to_last_ms(trigger: &FanoutTrigger) -> f64 {
    f(trigger.trigger_to_last_us) / 1000.0
}

/// The median of `time` over a measurement's triggers.
fn median_of(outcome: &Outcome, time: fn(&FanoutTrigger) -> f64) -> Option<f64> {
    Spread::of(outcome.fanout()?.triggers.iter().map(time).collect()).map(|s| s.median)
}

fn print_multicast(results: &Results, config: &str, servers: &[Server], connections: usize) {
    let Some(single) = servers.iter().find(|s| s.role == Role::Candidate) else {
        return;
    };
    let mut table = Table::new(&[
        "servers",
        "conns/server",
        "triggers",
        "trigger->last ms [range]",
        "x 1 server [range]",
        "per-round median ms",
        "call->last ms",
        "first push ms",
        "arrival p50 ms",
        "p99 ms",
        "per server, first-last ms",
        "call ms",
    ]);
    for server in servers {
        let reports: Vec<&FanoutReport> = results
            .outcomes(config, server.label)
            .filter_map(|(_, outcome)| outcome.fanout())
            .collect();
        let triggers: Vec<&FanoutTrigger> =
            reports.iter().flat_map(|report| &report.triggers).collect();
        let spread = |time: fn(&FanoutTrigger) -> f64| {
            Spread::of(triggers.iter().map(|trigger| time(trigger)).collect())
        };
        let median = |time: fn(&FanoutTrigger) -> f64| number(spread(time).map(|s| s.median), 1);
        let nodes = reports.first().map_or(1, |report| report.servers.max(1));
        let per_server: Vec<String> = (0..nodes)
            .map(|index| {
                let at = |pick: fn(&yoctopus_bench::report::ServerArrivals) -> u64| {
                    Spread::of(
                        triggers
                            .iter()
                            .filter_map(|t| t.per_server.get(index).map(|s| f(pick(s)) / 1000.0))
                            .collect(),
                    )
                    .map(|s| s.median)
                };
                format!(
                    "{}-{}",
                    number(at(|s| s.first_us), 1),
                    number(at(|s| s.last_us), 1)
                )
            })
            .collect();
        let per_round: Vec<String> = results
            .outcomes(config, server.label)
            .filter_map(|(_, outcome)| median_of(outcome, trigger_to_last_ms))
            .map(|ms| format!("{ms:.1}"))
            .collect();
        table.row(vec![
            row_name(server),
            number(Some(f(connections as u64) / f(nodes as u64)), 0),
            triggers.len().to_string(),
            spread(trigger_to_last_ms).map_or_else(
                || "no data".to_owned(),
                |s| format!("{:.1} [{:.1}-{:.1}]", s.median, s.min, s.max),
            ),
            if server.role == Role::Candidate {
                "-".to_owned()
            } else {
                ratio_text(Spread::of(results.ratios(
                    (config, server.label),
                    (config, single.label),
                    |o| median_of(o, trigger_to_last_ms),
                )))
            },
            if per_round.is_empty() {
                "-".to_owned()
            } else {
                per_round.join(" ")
            },
            median(|t| f(t.call_to_last_us) / 1000.0),
            median(|t| f(t.call_to_first_us) / 1000.0),
            median(|t| f(t.arrival_p50_us) / 1000.0),
            median(|t| f(t.arrival_p99_us) / 1000.0),
            if nodes > 1 {
                per_server.join(", ")
            } else {
                "-".to_owned()
            },
            median(|t| f(t.server_calls_us) / 1000.0),
        ]);
    }
    table.print();
    noise_floor(results, config, servers, "trigger->last median", |o| {
        median_of(o, trigger_to_last_ms)
    });
    nats_and_cores(results, config, servers, "multicast");
    println!(
        "  trigger->last: the trigger written to the last of the {connections} connections \
         reading its push (the real-time clock both processes share), each connection exactly \
         one verified push; median and [range] over every measured trigger of every round. x 1 \
         server: per round, each round's median over the single server's (no cluster). call: \
         on the first server, just before Push::new; call ms = its Push::new + \
         Connections::multicast (for a cluster: publishing, its own connections, and gathering \
         the other nodes' counts). per server: median first and last arrival on each node's \
         connections, from the call, the first node first. NATS per multicast: messages \
         published to nats-server (in) and delivered by it (out), counted over the triggers, \
         warm-up included. Cores: CPU time over trigger->last, 10 ms ticks; server cores sums \
         every node and nats-server, all on the server's core."
    );
}
