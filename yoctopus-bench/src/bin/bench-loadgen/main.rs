//! The benchmark's load generator: opens WebSocket connections to a server on loopback, sends the
//! Quick Start's greeter request (or the nested one), verifies every reply, and reports as JSON.
//!
//! ```text
//! bench-loadgen throughput --addr 127.0.0.1:3000 --connections 50 --in-flight 16 \
//!     --duration 5 --warmup 1 [--request greeter|nested] [--listeners none|noop|transform] \
//!     [--server-pid PID]
//! bench-loadgen idle --addr 127.0.0.1:3000 --connections 10000 [--request greeter] \
//!     [--listeners none|noop|transform] [--control stdin|SECONDS]
//! bench-loadgen open-loop --addr 127.0.0.1:3000 --connections 10000 [--period-ms 100] \
//!     [--warmup 1] [--duration 2] [--drain 2] [--request greeter|nested] \
//!     [--listeners none|noop|transform] [--server-pid PID]
//! bench-loadgen idle-live --addr 127.0.0.1:3000 --connections 100000 [--request greeter] \
//!     [--listeners none|noop|transform] [--control stdin|SECONDS] [--ping-window 10] \
//!     [--server-pid PID]
//! bench-loadgen fanout --addr 127.0.0.1:3000[,127.0.0.1:3001...] [--via notify|multicast] \
//!     --connections 10000 [--triggers 5] [--warmup-triggers 1] [--timeout 20] [--pause 0.2] \
//!     [--server-pid PID[,PID...]] [--nats-monitor 127.0.0.1:8222]
//! bench-loadgen notify-one --addr 127.0.0.1:3000[,127.0.0.1:3001...] [--count 1000] \
//!     [--warmup 100] [--duration 30] [--timeout 5] [--server-pid PID[,PID...]] \
//!     [--nats-monitor 127.0.0.1:8222]
//! bench-loadgen tracker --addr 127.0.0.1:3000 --database URL [--connections 1000] \
//!     [--latency 200x0.01,50x0.1] [--writers 1,4] [--burst 3] [--burst-max 3000] \
//!     [--timeout 60] [--server-pid PID]
//! ```
//!
//! `fanout` needs `bench-yoctopus --fanout` (or, with `--via multicast`, `bench-multicast-baseline`
//! will do too): it holds `--connections` idle connections and one controller, which sends the
//! triggers; each makes the server notify every idle connection by id from a background task
//! (`--via notify`, the default), or multicast to them all, having labelled them first (`--via
//! multicast`), and the report gives, per trigger, the time from the server's first call to the
//! last push received (see `fanout.rs`). Given several addresses, the servers of one cluster, it
//! spreads the idle connections over them in turn and sends the triggers to the first.
//!
//! `notify-one` needs `bench-yoctopus --fanout` too: a sender on the first server asks it to
//! notify one receiver by id, a receiver on each server given in turn (the first on the sender's
//! own server, the others on the other servers of the cluster), one request at a time, and the
//! report gives per receiver the time from the request written to the push read (see
//! `notify_one.rs`).
//!
//! `--server-pid` takes several pids, comma-separated, whose CPU time is summed; `--nats-monitor`
//! is the monitoring address of the cluster's NATS server, whose message counters the report then
//! gives for the measured operations.
//!
//! `tracker` needs `bench-tracker` and the URL of the database it follows: it holds
//! `--connections` connections, which the server subscribes to every change of `posts`, and
//! commits rows into that table through connections of its own (see `tracker.rs` and
//! `writer.rs`): paced commits timed to the last connection receiving each (`--latency`, phases
//! of COUNTxSECONDS: that many commits, one every so many seconds), then bursts as fast as
//! `--writers` writers go, timed until every push has been read.
//!
//! `open-loop` sends on a fixed schedule instead of a closed loop: each connection one request
//! every `--period-ms`, the connections' phases spread evenly over the period, timed from when
//! each request was due (see `open_loop.rs`). `idle-live` holds `--connections` idle connections
//! as `idle` does, but reads them, so they answer the server's pings, from several loopback
//! source addresses, and ends with a window of `--ping-window` seconds over which it reads the
//! server's CPU time (see `idle_live.rs`). Both raise this process's open-files limit to what
//! their connections need, if they can.
//!
//! `--listeners` names the listeners `bench-yoctopus` was started with: with `transform`, every
//! reply must carry the field the transforming listener adds, and otherwise none may.
//!
//! It runs on one thread (tokio's current-thread runtime): the driver pins it to a core of its own,
//! and one thread on one core has no cross-thread wake-ups or locks to pay for. It must not be the
//! bottleneck, so it pipelines (each connection writes its whole batch of requests in one system
//! call and splits each read into every reply it holds), encodes frames by hand, and reads only the
//! reply fields it checks. A run never outlasts its warm-up and duration by more than a few seconds.

mod client;
mod fanout;
mod frame;
mod handshake;
mod idle;
mod idle_live;
mod in_flight;
mod notify_one;
mod open_loop;
mod recorder;
mod throughput;
mod tracker;
mod verify;
mod writer;

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use yoctopus_bench::cli::Flags;
use yoctopus_bench::fanout::Via;
use yoctopus_bench::request::{Listeners, RequestKind};
use yoctopus_bench::tracker::Backend;

const USAGE: &str = "usage:
  bench-loadgen throughput --addr HOST:PORT [--connections 50] [--in-flight 1] [--duration 5]
                           [--warmup 1] [--request greeter|nested]
                           [--listeners none|noop|transform] [--server-pid PID]
  bench-loadgen idle --addr HOST:PORT [--connections 10000] [--request greeter|nested]
                     [--listeners none|noop|transform] [--control stdin|SECONDS]
  bench-loadgen open-loop --addr HOST:PORT [--connections 10000] [--period-ms 100] [--warmup 1]
                          [--duration 2] [--drain 2] [--request greeter|nested]
                          [--listeners none|noop|transform] [--server-pid PID]
  bench-loadgen idle-live --addr HOST:PORT [--connections 100000] [--request greeter|nested]
                          [--listeners none|noop|transform] [--control stdin|SECONDS]
                          [--ping-window 10] [--server-pid PID]
  bench-loadgen fanout --addr HOST:PORT[,HOST:PORT...] [--via notify|multicast]
                       [--connections 10000] [--triggers 5] [--warmup-triggers 1] [--timeout 20]
                       [--pause 0.2] [--server-pid PID[,PID...]] [--nats-monitor HOST:PORT]
  bench-loadgen notify-one --addr HOST:PORT[,HOST:PORT...] [--count 1000] [--warmup 100]
                           [--duration 30] [--timeout 5] [--server-pid PID[,PID...]]
                           [--nats-monitor HOST:PORT]
  bench-loadgen tracker --addr HOST:PORT --database URL [--connections 1000]
                        [--latency 200x0.01,50x0.1] [--writers 1] [--burst 3]
                        [--burst-max 3000] [--timeout 60] [--server-pid PID]";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("bench-loadgen: {message}\n{USAGE}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let flags = Flags::parse(std::env::args().skip(1))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| format!("starting the runtime failed: {error}"))?;
    let local = tokio::task::LocalSet::new();
    match flags.positional() {
        [mode] if mode == "throughput" => {
            flags.allow_only(&[
                "addr",
                "connections",
                "in-flight",
                "duration",
                "warmup",
                "request",
                "listeners",
                "server-pid",
            ])?;
            let plan = throughput::Plan {
                addr: address(&flags)?,
                connections: positive(&flags, "connections", 50)?,
                in_flight: positive(&flags, "in-flight", 1)?,
                request: flags.get_or("request", RequestKind::Greeter)?,
                listeners: flags.get_or("listeners", Listeners::None)?,
                warmup: seconds(&flags, "warmup", 1.0)?,
                duration: seconds(&flags, "duration", 5.0)?,
                server_pid: server_pid(&flags)?,
            };
            if plan.duration.is_zero() {
                return Err("`--duration` must be more than 0".to_owned());
            }
            let report = local.block_on(&runtime, throughput::run(&plan));
            println!(
                "{}",
                serde_json::to_string(&report).expect("a report serializes")
            );
            Ok(())
        }
        [mode] if mode == "idle" => {
            flags.allow_only(&["addr", "connections", "request", "listeners", "control"])?;
            let plan = idle::Plan {
                addr: address(&flags)?,
                connections: positive(&flags, "connections", 10_000)?,
                request: flags.get_or("request", RequestKind::Greeter)?,
                listeners: flags.get_or("listeners", Listeners::None)?,
                control: flags.get_or("control", idle::Control::Pause(Duration::from_secs(1)))?,
            };
            local.block_on(&runtime, idle::run(&plan));
            Ok(())
        }
        [mode] if mode == "open-loop" => {
            flags.allow_only(&[
                "addr",
                "connections",
                "period-ms",
                "warmup",
                "duration",
                "drain",
                "request",
                "listeners",
                "server-pid",
            ])?;
            let period_ms: f64 = flags.get_or("period-ms", 100.0)?;
            let plan = open_loop::Plan {
                addr: address(&flags)?,
                connections: positive(&flags, "connections", 10_000)?,
                period: Duration::try_from_secs_f64(period_ms / 1000.0)
                    .ok()
                    .filter(|period| {
                        *period >= Duration::from_millis(1) && *period <= Duration::from_secs(60)
                    })
                    .ok_or("`--period-ms` must be between 1 and 60,000")?,
                request: flags.get_or("request", RequestKind::Greeter)?,
                listeners: flags.get_or("listeners", Listeners::None)?,
                warmup: seconds(&flags, "warmup", 1.0)?,
                duration: seconds(&flags, "duration", 2.0)?,
                drain: seconds(&flags, "drain", 2.0)?,
                server_pid: server_pid(&flags)?,
            };
            if plan.duration.is_zero() {
                return Err("`--duration` must be more than 0".to_owned());
            }
            enough_open_files(plan.connections)?;
            let report = local.block_on(&runtime, open_loop::run(&plan));
            println!(
                "{}",
                serde_json::to_string(&report).expect("a report serializes")
            );
            Ok(())
        }
        [mode] if mode == "idle-live" => {
            flags.allow_only(&[
                "addr",
                "connections",
                "request",
                "listeners",
                "control",
                "ping-window",
                "server-pid",
            ])?;
            let plan = idle_live::Plan {
                addr: address(&flags)?,
                connections: positive(&flags, "connections", 100_000)?,
                request: flags.get_or("request", RequestKind::Greeter)?,
                listeners: flags.get_or("listeners", Listeners::None)?,
                control: flags.get_or("control", idle::Control::Pause(Duration::from_secs(1)))?,
                ping_window: seconds(&flags, "ping-window", 10.0)?,
                server_pid: server_pid(&flags)?,
            };
            if plan.connections > idle_live::MAX_CONNECTIONS {
                return Err(format!(
                    "`--connections` may be at most {}",
                    idle_live::MAX_CONNECTIONS
                ));
            }
            enough_open_files(plan.connections)?;
            local.block_on(&runtime, idle_live::run(&plan));
            Ok(())
        }
        [mode] if mode == "fanout" => {
            flags.allow_only(&[
                "addr",
                "via",
                "connections",
                "triggers",
                "warmup-triggers",
                "timeout",
                "pause",
                "server-pid",
                "nats-monitor",
            ])?;
            let plan = fanout::Plan {
                addrs: addresses(&flags)?,
                via: flags.get_or("via", Via::Notify)?,
                connections: positive(&flags, "connections", 10_000)?,
                triggers: positive(&flags, "triggers", 5)?,
                warmup_triggers: flags.get_or("warmup-triggers", 1)?,
                timeout: seconds(&flags, "timeout", 20.0)?,
                pause: seconds(&flags, "pause", 0.2)?,
                server_pids: server_pids(&flags)?,
                nats_monitor: nats_monitor(&flags)?,
            };
            if plan.timeout.is_zero() {
                return Err("`--timeout` must be more than 0".to_owned());
            }
            let report = local.block_on(&runtime, fanout::run(&plan));
            println!(
                "{}",
                serde_json::to_string(&report).expect("a report serializes")
            );
            Ok(())
        }
        [mode] if mode == "notify-one" => {
            flags.allow_only(&[
                "addr",
                "count",
                "warmup",
                "duration",
                "timeout",
                "server-pid",
                "nats-monitor",
            ])?;
            let plan = notify_one::Plan {
                addrs: addresses(&flags)?,
                count: positive(&flags, "count", 1000)?,
                warmup: flags.get_or("warmup", 100)?,
                duration: seconds(&flags, "duration", 30.0)?,
                timeout: seconds(&flags, "timeout", 5.0)?,
                server_pids: server_pids(&flags)?,
                nats_monitor: nats_monitor(&flags)?,
            };
            if plan.timeout.is_zero() || plan.duration.is_zero() {
                return Err("`--timeout` and `--duration` must be more than 0".to_owned());
            }
            let report = local.block_on(&runtime, notify_one::run(&plan));
            println!(
                "{}",
                serde_json::to_string(&report).expect("a report serializes")
            );
            Ok(())
        }
        [mode] if mode == "tracker" => {
            flags.allow_only(&[
                "addr",
                "database",
                "connections",
                "latency",
                "writers",
                "burst",
                "burst-max",
                "timeout",
                "server-pid",
            ])?;
            let database: String = flags.required("database")?;
            let backend = Backend::of_url(&database).ok_or_else(|| {
                format!("`--database {database}`: expected sqlite:... or postgres://...")
            })?;
            let writers = flags
                .text("writers")
                .unwrap_or("1")
                .split(',')
                .map(|count| match count.trim().parse::<usize>() {
                    Ok(count) if (1..=tracker::MAX_WRITERS).contains(&count) => Ok(count),
                    _ => Err(format!(
                        "`--writers`: `{count}` is not a count of writers from 1 to {}",
                        tracker::MAX_WRITERS
                    )),
                })
                .collect::<Result<Vec<_>, _>>()?;
            let plan = tracker::Plan {
                addr: address(&flags)?,
                database,
                backend,
                connections: positive(&flags, "connections", 1000)?,
                latency: latency_phases(flags.text("latency").unwrap_or("200x0.01,50x0.1"))?,
                writers,
                burst: seconds(&flags, "burst", 3.0)?,
                burst_max: positive(&flags, "burst-max", 3000)?,
                timeout: seconds(&flags, "timeout", 60.0)?,
                server_pid: server_pid(&flags)?,
            };
            if plan.burst.is_zero() || plan.timeout.is_zero() {
                return Err("`--burst` and `--timeout` must be more than 0".to_owned());
            }
            let report = local.block_on(&runtime, tracker::run(&plan));
            println!(
                "{}",
                serde_json::to_string(&report).expect("a report serializes")
            );
            Ok(())
        }
        _ => Err(
            "expected one mode: `throughput`, `idle`, `open-loop`, `idle-live`, `fanout`, \
             `notify-one` or `tracker`"
                .to_owned(),
        ),
    }
}

/// Raises the open-files limit, if it must, to `connections` sockets and this process's own.
fn enough_open_files(connections: usize) -> Result<(), String> {
    yoctopus_bench::limits::raise_open_files(connections as u64 + 256).map(|_| ())
}

fn address(flags: &Flags) -> Result<SocketAddr, String> {
    let addr: SocketAddr = flags.required("addr")?;
    if !addr.ip().is_loopback() {
        return Err(format!(
            "`--addr {addr}` is not a loopback address; the benchmark only loads local servers"
        ));
    }
    Ok(addr)
}

/// `--addr`: one loopback address or several, comma-separated, all different.
fn addresses(flags: &Flags) -> Result<Vec<SocketAddr>, String> {
    let text: String = flags.required("addr")?;
    let mut addrs = Vec::new();
    for part in text.split(',') {
        let addr: SocketAddr = part
            .trim()
            .parse()
            .map_err(|error| format!("`--addr {text}`: `{part}`: {error}"))?;
        if !addr.ip().is_loopback() {
            return Err(format!(
                "`--addr {addr}` is not a loopback address; the benchmark only loads local servers"
            ));
        }
        if addrs.contains(&addr) {
            return Err(format!("`--addr {text}` names {addr} twice"));
        }
        addrs.push(addr);
    }
    Ok(addrs)
}

/// `--server-pid`: none, one, or several comma-separated.
fn server_pids(flags: &Flags) -> Result<Vec<u32>, String> {
    flags.text("server-pid").map_or(Ok(Vec::new()), |text| {
        text.split(',')
            .map(|pid| {
                pid.trim()
                    .parse()
                    .map_err(|error| format!("`--server-pid {text}`: {error}"))
            })
            .collect()
    })
}

/// `--nats-monitor`: a loopback address, if given.
fn nats_monitor(flags: &Flags) -> Result<Option<SocketAddr>, String> {
    let Some(text) = flags.text("nats-monitor") else {
        return Ok(None);
    };
    let addr: SocketAddr = text
        .parse()
        .map_err(|error| format!("`--nats-monitor {text}`: {error}"))?;
    if !addr.ip().is_loopback() {
        return Err(format!("`--nats-monitor {addr}` is not a loopback address"));
    }
    Ok(Some(addr))
}

fn server_pid(flags: &Flags) -> Result<Option<u32>, String> {
    flags
        .text("server-pid")
        .map(str::parse)
        .transpose()
        .map_err(|error| format!("`--server-pid`: {error}"))
}

fn positive(flags: &Flags, name: &str, default: usize) -> Result<usize, String> {
    match flags.get_or(name, default)? {
        0 => Err(format!("`--{name}` must be more than 0")),
        value => Ok(value),
    }
}

/// `COUNTxSECONDS,...`: latency phases of COUNT commits, one every SECONDS (more than 0, at most
/// 10); `none` for none.
fn latency_phases(text: &str) -> Result<Vec<(usize, Duration)>, String> {
    if text == "none" {
        return Ok(Vec::new());
    }
    text.split(',')
        .map(|phase| {
            let (count, every) = phase.trim().split_once('x').unwrap_or((phase, ""));
            let count = count.parse::<usize>().ok().filter(|count| *count > 0);
            let every = every
                .parse::<f64>()
                .ok()
                .and_then(|seconds| Duration::try_from_secs_f64(seconds).ok())
                .filter(|every| !every.is_zero() && *every <= Duration::from_secs(10));
            count.zip(every).ok_or_else(|| {
                format!(
                    "`--latency`: `{phase}` is not COUNTxSECONDS (commits, and the interval \
                     between two, more than 0 and at most 10 s)"
                )
            })
        })
        .collect()
}

fn seconds(flags: &Flags, name: &str, default: f64) -> Result<Duration, String> {
    let seconds: f64 = flags.get_or(name, default)?;
    Duration::try_from_secs_f64(seconds)
        .ok()
        .filter(|duration| *duration <= Duration::from_secs(600))
        .ok_or_else(|| format!("`--{name} {seconds}` must be between 0 and 600 seconds"))
}
