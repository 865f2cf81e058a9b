//! The benchmark's load generator: opens WebSocket connections to a server on loopback, sends the
//! Quick Start's greeter request (or the nested one), verifies every reply, and reports as JSON.
//!
//! ```text
//! bench-loadgen throughput --addr 127.0.0.1:3000 --connections 50 --in-flight 16 \
//!     --duration 5 --warmup 1 [--request greeter|nested] [--listeners none|noop|transform] \
//!     [--server-pid PID]
//! bench-loadgen idle --addr 127.0.0.1:3000 --connections 10000 [--request greeter] \
//!     [--listeners none|noop|transform] [--control stdin|SECONDS]
//! bench-loadgen fanout --addr 127.0.0.1:3000 [--via notify|multicast] --connections 10000 \
//!     [--triggers 5] [--warmup-triggers 1] [--timeout 20] [--pause 0.2] [--server-pid PID]
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
//! last push received (see `fanout.rs`).
//!
//! `tracker` needs `bench-tracker` and the URL of the database it follows: it holds
//! `--connections` connections, which the server subscribes to every change of `posts`, and
//! commits rows into that table through connections of its own (see `tracker.rs` and
//! `writer.rs`): paced commits timed to the last connection receiving each (`--latency`, phases
//! of COUNTxSECONDS: that many commits, one every so many seconds), then bursts as fast as
//! `--writers` writers go, timed until every push has been read.
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
mod in_flight;
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
  bench-loadgen fanout --addr HOST:PORT [--via notify|multicast] [--connections 10000]
                       [--triggers 5] [--warmup-triggers 1] [--timeout 20] [--pause 0.2]
                       [--server-pid PID]
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
            ])?;
            let plan = fanout::Plan {
                addr: address(&flags)?,
                via: flags.get_or("via", Via::Notify)?,
                connections: positive(&flags, "connections", 10_000)?,
                triggers: positive(&flags, "triggers", 5)?,
                warmup_triggers: flags.get_or("warmup-triggers", 1)?,
                timeout: seconds(&flags, "timeout", 20.0)?,
                pause: seconds(&flags, "pause", 0.2)?,
                server_pid: server_pid(&flags)?,
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
        _ => Err("expected one mode: `throughput`, `idle`, `fanout` or `tracker`".to_owned()),
    }
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
