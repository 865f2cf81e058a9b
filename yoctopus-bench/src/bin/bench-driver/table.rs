//! The tables printed at the end of a run: one per configuration and one per comparison, each with
//! the candidate's verdict against the target and the A/A control's spread beside it, and
//! for the configurations that price listeners, what they cost against the candidate without them.
//! With a reference (the candidate built at an earlier commit), the last tables are the before/after
//! comparison: the candidate's per-round ratios to the reference in every configuration that
//! measures it (all but the fan-outs). The
//! notify fan-out has no baseline to be a ratio of: its table gives Yoctopus's fan-out times,
//! their spread over every trigger of every round, and the pushes per second they come to. The
//! multicast's table gives the same times for Yoctopus and the hand-written loops, and the
//! per-round ratios of fan-out time to the hand-written loop's. Under each throughput table, the
//! candidate's per-round ratios to the batching baseline (against the 0.9x goal) and to
//! the floor. The open loop's table gives each server's latency from the scheduled send time
//! (p50, p99, p99.9), the throughput offered and served and the load generator's lag behind its
//! schedule, against a p99 goal; the live idle run's, the memory per connection and the pings'
//! CPU cost against their goals, and how many connections the open-files limit allowed.
//!
//! Absolute numbers are medians across rounds, for context only; what the targets are judged on is
//! the median of per-round ratios to the baseline, read against the A/A noise floor.

use yoctopus_bench::report::{FanoutTrigger, ThroughputReport};

use crate::config::{Comparison, Config, Workload};
use crate::lineup::{self, Role, Server};
use crate::results::{Outcome, Results, Spread};

/// Throughput of the candidate at least this many times the baseline's.
const THROUGHPUT_TARGET: f64 = 0.95;
/// p99 latency of the candidate at most this many times the baseline's.
const P99_TARGET: f64 = 1.2;
/// Throughput of the candidate at least this many times the batching baseline's.
const BATCHING_TARGET: f64 = 0.9;
/// Memory per idle connection at most this many KiB.
const MEMORY_TARGET_KIB: f64 = 8.0;
/// The open loop's p99 latency goal, from the scheduled send time, in milliseconds.
const OPEN_LOOP_P99_TARGET_MS: f64 = 10.0;
/// Memory per live idle connection at most this many KiB.
const LIVE_MEMORY_TARGET_KIB: f64 = 5.0;
/// The pings' CPU cost, at the default ping interval, below this percentage of one core.
const PING_CPU_TARGET_PERCENT: f64 = 5.0;
/// What a change may cost against the reference (throughput lost, p99 or memory gained) before
/// the project asks for a reason in BENCHMARKS.md.
const BEFORE_AFTER_TOLERANCE: f64 = 0.05;

/// Prints every table.
pub(crate) fn print(
    results: &Results,
    configs: &[Config],
    servers: &[Server],
    comparisons: &[Comparison],
) {
    let Some(baseline) = servers.iter().find(|s| s.role == Role::Baseline) else {
        return;
    };
    for config in configs {
        let lineup = config.lineup(servers);
        println!("\n## {}: {}", config.name, config.describe());
        match config.workload {
            Workload::Throughput { .. } => {
                throughput(results, config.name, &lineup, baseline);
                fairness(results, config.name, &lineup);
            }
            Workload::IdleMemory { .. } => memory(results, config.name, &lineup, baseline),
            Workload::Fanout { connections, .. } => {
                fanout(results, config.name, &lineup, connections);
            }
            Workload::Multicast { connections, .. } => {
                multicast(results, config.name, &lineup, baseline, connections);
            }
            Workload::OpenLoop { .. } => open_loop(results, config.name, &lineup, baseline),
            Workload::IdleLive { .. } => idle_live(results, config.name, &lineup),
            Workload::Tracker { .. } => crate::tracker::print(results, config, &lineup),
            Workload::ClusterNotify { .. } | Workload::ClusterMulticast { .. } => {
                crate::cluster::print(results, config, &lineup);
            }
        }
        for server in &lineup {
            for why in results.failures(config.name, server.label) {
                println!("  ! {} failed a measurement: {why}", server.label);
            }
        }
        if lineup.iter().any(|server| server.role == Role::Variant) {
            listeners(results, config.name, &lineup, baseline);
        }
    }
    for comparison in comparisons {
        let find = |name| configs.iter().find(|config| config.name == name);
        if let (Some(numerator), Some(denominator)) =
            (find(comparison.numerator), find(comparison.denominator))
        {
            let both: Vec<Server> = servers
                .iter()
                .filter(|server| numerator.measures(server) && denominator.measures(server))
                .copied()
                .collect();
            compare(results, comparison, &both);
        }
    }
    before_after(results, configs, servers);
}

/// The candidate and the reference of `servers`, if both are there.
fn candidate_and_reference(servers: &[Server]) -> Option<(&Server, &Server)> {
    let find = |role| servers.iter().find(|server| server.role == role);
    Some((find(Role::Candidate)?, find(Role::Reference)?))
}

fn metric(pick: fn(&ThroughputReport) -> Option<f64>) -> impl Fn(&Outcome) -> Option<f64> {
    move |outcome: &Outcome| outcome.throughput().and_then(pick)
}

fn rate(outcome: &Outcome) -> Option<f64> {
    Some(outcome.throughput()?.throughput)
}

fn p99(outcome: &Outcome) -> Option<f64> {
    u64_f64(outcome.throughput()?.latency_us.p99)
}

/// Server CPU time per verified reply, in microseconds.
fn server_us_per_request(outcome: &Outcome) -> Option<f64> {
    let report = outcome.throughput()?;
    Some(report.server_cpu_secs? * 1e6 / u64_f64(report.completed)?)
}

/// How evenly each server served its connections (medians over the rounds): the tail's source.
/// A p99 far above the median with the slowest connection's median far above the fastest's means
/// some connections wait while others are served; the same p99 with close medians means stalls
/// that every connection shares.
fn fairness(results: &Results, config: &str, servers: &[Server]) {
    let mut table = Table::new(&[
        "server",
        "p99 / p50",
        "fastest conn p50 us",
        "slowest conn p50 us",
        "slowest / fastest",
        "fewest replies",
        "most replies",
    ]);
    for server in servers {
        let median = |metric: &dyn Fn(&Outcome) -> Option<f64>| {
            Spread::of(results.values(config, server.label, metric)).map(|s| s.median)
        };
        table.row(vec![
            server.label.to_owned(),
            number(
                median(&metric(|r| {
                    Some(u64_f64(r.latency_us.p99)? / u64_f64(r.latency_us.p50.max(1))?)
                })),
                1,
            ),
            number(
                median(&metric(|r| u64_f64(r.fairness.fastest_median_us))),
                0,
            ),
            number(
                median(&metric(|r| u64_f64(r.fairness.slowest_median_us))),
                0,
            ),
            number(
                median(&metric(|r| {
                    Some(
                        u64_f64(r.fairness.slowest_median_us)?
                            / u64_f64(r.fairness.fastest_median_us.max(1))?,
                    )
                })),
                1,
            ),
            number(median(&metric(|r| u64_f64(r.fairness.fewest_replies))), 0),
            number(median(&metric(|r| u64_f64(r.fairness.most_replies))), 0),
        ]);
    }
    println!("  fairness, per connection:");
    table.print();
}

fn throughput(results: &Results, config: &str, servers: &[Server], baseline: &Server) {
    let mut table = Table::new(&[
        "server",
        "req/s",
        "x baseline [range]",
        "p50 us",
        "p99 us",
        "p99.9 us",
        "p99 x baseline [range]",
        "server cores",
        "server us/req",
        "loadgen cores",
        "errors",
    ]);
    for server in servers {
        let median = |metric: &dyn Fn(&Outcome) -> Option<f64>| {
            Spread::of(results.values(config, server.label, metric)).map(|s| s.median)
        };
        let ratio = |metric: &dyn Fn(&Outcome) -> Option<f64>| {
            if server.role == Role::Baseline {
                return "-".to_owned();
            }
            ratio_text(Spread::of(results.ratios(
                (config, server.label),
                (config, baseline.label),
                metric,
            )))
        };
        let errors: f64 = results
            .values(
                config,
                server.label,
                metric(|r| u64_f64(r.errors + r.connection_failures)),
            )
            .iter()
            .sum();
        table.row(vec![
            server.label.to_owned(),
            number(median(&rate), 0),
            ratio(&rate),
            number(median(&metric(|r| u64_f64(r.latency_us.p50))), 0),
            number(median(&p99), 0),
            number(median(&metric(|r| u64_f64(r.latency_us.p999))), 0),
            ratio(&p99),
            number(
                median(&metric(|r| Some(r.server_cpu_secs? / r.window_secs))),
                2,
            ),
            number(median(&server_us_per_request), 2),
            number(
                median(&metric(|r| Some(r.loadgen_cpu_secs / r.window_secs))),
                2,
            ),
            number(Some(errors), 0),
        ]);
    }
    table.print();
    let spread = |server: &Server, metric: &dyn Fn(&Outcome) -> Option<f64>| {
        Spread::of(results.ratios((config, server.label), (config, baseline.label), metric))
    };
    for server in servers {
        match server.role {
            Role::Baseline
            | Role::Variant
            | Role::Reference
            | Role::Alternative
            | Role::Cluster { .. }
            | Role::Batching
            | Role::Floor => {}
            Role::Candidate => println!(
                "  {}: throughput {} (target >= {THROUGHPUT_TARGET}x), p99 {} (target <= {P99_TARGET}x)",
                server.label,
                verdict(spread(server, &rate), |r| r >= THROUGHPUT_TARGET),
                verdict(spread(server, &p99), |r| r <= P99_TARGET),
            ),
            Role::Control => println!(
                "  noise floor ({} / baseline): throughput {}, p99 {}",
                server.label,
                range_text(spread(server, &rate)),
                range_text(spread(server, &p99)),
            ),
        }
    }
    against_bounds(results, config, servers);
    // After the noise floor, which is what it is read against.
    if let Some((candidate, reference)) = candidate_and_reference(servers) {
        let to_reference = |metric: &dyn Fn(&Outcome) -> Option<f64>| {
            ratio_text(Spread::of(results.ratios(
                (config, candidate.label),
                (config, reference.label),
                metric,
            )))
        };
        println!(
            "  before/after ({} / {}, same round): throughput {}, p99 {}",
            candidate.label,
            reference.label,
            to_reference(&rate),
            to_reference(&p99),
        );
    }
}

/// The candidate against the hand-written bounds of the throughput configurations, by per-round
/// ratios: the batching baseline, which does the baseline's job batched as Yoctopus batches and
/// which the issue asks the candidate to reach [`BATCHING_TARGET`] of, and the floor, which does no
/// JSON work and shows how much of the core the transport and the load generator leave.
fn against_bounds(results: &Results, config: &str, servers: &[Server]) {
    let Some(candidate) = servers.iter().find(|s| s.role == Role::Candidate) else {
        return;
    };
    for bound in servers
        .iter()
        .filter(|s| matches!(s.role, Role::Batching | Role::Floor))
    {
        let to_bound = |metric: &dyn Fn(&Outcome) -> Option<f64>| {
            Spread::of(results.ratios((config, candidate.label), (config, bound.label), metric))
        };
        let throughput = match bound.role {
            Role::Batching => {
                let ratios = to_bound(&rate);
                format!(
                    "{} {} (target >= {BATCHING_TARGET}x)",
                    verdict(ratios, |r| r >= BATCHING_TARGET),
                    ratios.map_or_else(String::new, |s| format!("[{:.2}-{:.2}]", s.min, s.max)),
                )
            }
            _ => ratio_text(to_bound(&rate)),
        };
        println!(
            "  {} / {} (same round): throughput {throughput}, p99 {}",
            candidate.label,
            bound.label,
            ratio_text(to_bound(&p99)),
        );
    }
}

/// What listeners cost: each variant's per-round ratios to the candidate without listeners, and
/// to the baseline, with the server CPU time they add per request.
fn listeners(results: &Results, config: &str, servers: &[Server], baseline: &Server) {
    let Some(candidate) = servers.iter().find(|s| s.role == Role::Candidate) else {
        return;
    };
    println!(
        "\n## {config} listeners: {} with a request_received + response_prepared pair, against \
         itself without listeners (same round)",
        candidate.label
    );
    let to_candidate = format!("x {} [range]", candidate.label);
    let p99_to_candidate = format!("p99 x {} [range]", candidate.label);
    let mut table = Table::new(&[
        "server",
        &to_candidate,
        "x baseline [range]",
        &p99_to_candidate,
        "p99 x baseline [range]",
        "server us/req",
        "+ server us/req [range]",
    ]);
    for server in servers.iter().filter(|s| s.role == Role::Variant) {
        let ratio = |reference: &Server, metric: &dyn Fn(&Outcome) -> Option<f64>| {
            ratio_text(Spread::of(results.ratios(
                (config, server.label),
                (config, reference.label),
                metric,
            )))
        };
        let added = Spread::of(results.differences(
            (config, server.label),
            (config, candidate.label),
            server_us_per_request,
        ));
        table.row(vec![
            server.label.to_owned(),
            ratio(candidate, &rate),
            ratio(baseline, &rate),
            ratio(candidate, &p99),
            ratio(baseline, &p99),
            number(
                Spread::of(results.values(config, server.label, server_us_per_request))
                    .map(|s| s.median),
                2,
            ),
            added.map_or_else(
                || "no data".to_owned(),
                |s| format!("{:+.2} [{:+.2}-{:+.2}]", s.median, s.min, s.max),
            ),
        ]);
    }
    table.print();
}

fn memory(results: &Results, config: &str, servers: &[Server], baseline: &Server) {
    let connected = |o: &Outcome| o.memory()?.per_connection_connected();
    let requested = |o: &Outcome| o.memory()?.per_connection_requested();
    let mut table = Table::new(&[
        "server",
        "base MiB",
        "KiB/conn after handshake",
        "KiB/conn after 1 request",
        "x baseline [range]",
        "failed conns",
    ]);
    let kib = |bytes: Option<f64>| bytes.map(|bytes| bytes / 1024.0);
    for server in servers {
        let median = |metric: &dyn Fn(&Outcome) -> Option<f64>| {
            Spread::of(results.values(config, server.label, metric)).map(|s| s.median)
        };
        let ratio = if server.role == Role::Baseline {
            "-".to_owned()
        } else {
            ratio_text(Spread::of(results.ratios(
                (config, server.label),
                (config, baseline.label),
                requested,
            )))
        };
        let failed: f64 = results
            .values(config, server.label, |o| usize_f64(o.memory()?.failed))
            .iter()
            .sum();
        table.row(vec![
            server.label.to_owned(),
            number(
                median(&|o| u64_f64(o.memory()?.base_bytes)).map(|b| b / 1024.0 / 1024.0),
                1,
            ),
            number(kib(median(&connected)), 2),
            number(kib(median(&requested)), 2),
            ratio,
            number(Some(failed), 0),
        ]);
    }
    table.print();
    if let Some((candidate, reference)) = candidate_and_reference(servers) {
        println!(
            "  before/after ({} / {}, same round): KiB/conn after 1 request {}",
            candidate.label,
            reference.label,
            ratio_text(Spread::of(results.ratios(
                (config, candidate.label),
                (config, reference.label),
                requested,
            ))),
        );
    }
    for server in servers.iter().filter(|s| s.role == Role::Candidate) {
        let per_connection = |metric: &dyn Fn(&Outcome) -> Option<f64>| {
            Spread::of(results.values(config, server.label, metric)).map(|s| s.median / 1024.0)
        };
        let worst = per_connection(&connected)
            .zip(per_connection(&requested))
            .map(|(a, b)| a.max(b));
        println!(
            "  {}: {} KiB per idle connection at most (target <= {MEMORY_TARGET_KIB} KiB): {}",
            server.label,
            number(worst, 2),
            match worst {
                Some(kib) if kib <= MEMORY_TARGET_KIB => "met",
                Some(_) => "MISSED",
                None => "no data",
            }
        );
    }
}

fn open_loop(results: &Results, config: &str, servers: &[Server], baseline: &Server) {
    let latency = |pick: fn(&yoctopus_bench::report::Latency) -> u64| {
        move |o: &Outcome| u64_f64(pick(&o.open_loop()?.latency_us)).map(|us| us / 1000.0)
    };
    let mut table = Table::new(&[
        "server",
        "p50 ms",
        "p99 ms",
        "p99.9 ms",
        "p99 x baseline [range]",
        "offered req/s",
        "served req/s",
        "send lag p50 ms",
        "send lag p99 ms",
        "server cores",
        "loadgen cores",
        "unanswered",
        "errors",
    ]);
    for server in servers {
        let median = |metric: &dyn Fn(&Outcome) -> Option<f64>| {
            Spread::of(results.values(config, server.label, metric)).map(|s| s.median)
        };
        let sum = |metric: &dyn Fn(&Outcome) -> Option<f64>| -> f64 {
            results.values(config, server.label, metric).iter().sum()
        };
        let ratio = if server.role == Role::Baseline {
            "-".to_owned()
        } else {
            ratio_text(Spread::of(results.ratios(
                (config, server.label),
                (config, baseline.label),
                latency(|l| l.p99),
            )))
        };
        let cores = |o: &Outcome| {
            let report = o.open_loop()?;
            Some(report.server_cpu_secs? / report.window_secs)
        };
        table.row(vec![
            server.label.to_owned(),
            number(median(&latency(|l| l.p50)), 2),
            number(median(&latency(|l| l.p99)), 2),
            number(median(&latency(|l| l.p999)), 2),
            ratio,
            number(median(&|o| Some(o.open_loop()?.scheduled_per_sec)), 0),
            number(median(&|o| Some(o.open_loop()?.served_per_sec)), 0),
            number(
                median(&|o| u64_f64(o.open_loop()?.send_lag_us.p50).map(|us| us / 1000.0)),
                2,
            ),
            number(
                median(&|o| u64_f64(o.open_loop()?.send_lag_us.p99).map(|us| us / 1000.0)),
                2,
            ),
            number(median(&cores), 2),
            number(
                median(&|o| {
                    let report = o.open_loop()?;
                    Some(report.loadgen_cpu_secs / report.window_secs)
                }),
                2,
            ),
            number(Some(sum(&|o| u64_f64(o.open_loop()?.unanswered))), 0),
            number(
                Some(sum(&|o| {
                    let report = o.open_loop()?;
                    u64_f64(report.errors + report.connection_failures)
                })),
                0,
            ),
        ]);
    }
    table.print();
    println!(
        "  latency runs from each request's scheduled send time, so it includes the load \
         generator's send lag (up to about 1 ms of it is its timer's granularity; more means it \
         fell behind its schedule, and the figures then understate what was offered)"
    );
    for server in servers.iter().filter(|s| s.role == Role::Candidate) {
        let p99 = Spread::of(results.values(config, server.label, latency(|l| l.p99)));
        println!(
            "  {}: p99 {} ms from the scheduled send time (goal < {OPEN_LOOP_P99_TARGET_MS} ms): {}",
            server.label,
            number(p99.map(|s| s.median), 2),
            match p99 {
                Some(s) if s.median < OPEN_LOOP_P99_TARGET_MS => "met",
                Some(_) => "MISSED",
                None => "no data",
            }
        );
    }
}

fn idle_live(results: &Results, config: &str, servers: &[Server]) {
    let mut table = Table::new(&[
        "server",
        "connections",
        "base MiB",
        "KiB/conn after handshake",
        "KiB/conn after 1 request",
        "pings seen",
        "window s",
        "server % of a core",
        "us per ping",
        "projected: asked conns, 10 s interval",
        "failed conns",
    ]);
    let kib = |bytes: Option<f64>| bytes.map(|bytes| bytes / 1024.0);
    let default_ms = crate::config::DEFAULT_PING_INTERVAL_MS;
    let mut note = None;
    for server in servers {
        let median = |metric: &dyn Fn(&Outcome) -> Option<f64>| {
            Spread::of(results.values(config, server.label, metric)).map(|s| s.median)
        };
        let failed: f64 = results
            .values(config, server.label, |o| {
                usize_f64(o.idle_live()?.memory.failed)
            })
            .iter()
            .sum();
        table.row(vec![
            server.label.to_owned(),
            number(median(&|o| usize_f64(o.idle_live()?.memory.connections)), 0),
            number(
                median(&|o| u64_f64(o.idle_live()?.memory.base_bytes)).map(|b| b / 1024.0 / 1024.0),
                1,
            ),
            number(
                kib(median(&|o| {
                    o.idle_live()?.memory.per_connection_connected()
                })),
                2,
            ),
            number(
                kib(median(&|o| {
                    o.idle_live()?.memory.per_connection_requested()
                })),
                2,
            ),
            number(median(&|o| u64_f64(o.idle_live()?.window.pings)), 0),
            number(median(&|o| Some(o.idle_live()?.window.window_secs)), 1),
            number(median(&|o| o.idle_live()?.ping_cpu_percent()), 2),
            number(median(&|o| o.idle_live()?.cpu_us_per_ping()), 2),
            number(
                median(&|o| o.idle_live()?.ping_cpu_percent_at(default_ms)),
                2,
            ),
            number(Some(failed), 0),
        ]);
        let capped = results
            .outcomes(config, server.label)
            .filter_map(|(_, outcome)| outcome.idle_live())
            .find(|report| report.hard_limit.is_some());
        if let Some(report) = capped {
            note = Some(format!(
                "  measured at {} connections of the {} asked: the open-files hard limit is {} \
                 (the server and the load generator each need one per connection; raising it \
                 needs root)",
                thousands(report.memory.connections as u64),
                thousands(report.asked as u64),
                report.hard_limit.map_or_else(String::new, thousands),
            ));
        }
    }
    table.print();
    if let Some(note) = &note {
        println!("{note}");
    }
    for server in servers.iter().filter(|s| s.role == Role::Candidate) {
        let per_connection = |metric: &dyn Fn(&Outcome) -> Option<f64>| {
            Spread::of(results.values(config, server.label, metric)).map(|s| s.median / 1024.0)
        };
        let worst = per_connection(&|o| o.idle_live()?.memory.per_connection_connected())
            .zip(per_connection(&|o| {
                o.idle_live()?.memory.per_connection_requested()
            }))
            .map(|(a, b)| a.max(b));
        println!(
            "  {}: {} KiB per live idle connection at most (goal <= {LIVE_MEMORY_TARGET_KIB} KiB): {}",
            server.label,
            number(worst, 2),
            match worst {
                Some(kib) if kib <= LIVE_MEMORY_TARGET_KIB => "met",
                Some(_) => "MISSED",
                None => "no data",
            }
        );
        let cpu = Spread::of(results.values(config, server.label, |o| {
            o.idle_live()?.ping_cpu_percent_at(default_ms)
        }));
        let measured_ms = results
            .outcomes(config, server.label)
            .find_map(|(_, o)| Some(o.idle_live()?.ping_interval_ms))
            .unwrap_or(crate::config::IDLE_LIVE_PING_INTERVAL_MS);
        println!(
            "  {}: pings would cost {}% of a core at the connections asked and the default {} s \
             interval (measured at {} ms on the connections opened, scaled by the pings per \
             second; goal < {PING_CPU_TARGET_PERCENT}%): {}",
            server.label,
            number(cpu.map(|s| s.median), 2),
            default_ms / 1000,
            measured_ms,
            match cpu {
                Some(s) if s.median < PING_CPU_TARGET_PERCENT => "met",
                Some(_) => "MISSED",
                None => "no data",
            }
        );
    }
}

fn thousands(value: u64) -> String {
    number(u64_f64(value), 0)
}

/// What a fan-out table shows of one server: over every measured trigger of every round.
struct FanoutCells {
    triggers: String,
    /// Median and range of first call to last push.
    fanout: String,
    pushes_per_second: String,
    /// Each round's median, in round order.
    per_round: String,
    trigger_to_last: String,
    first_push: String,
    arrival_p50: String,
    arrival_p99: String,
    /// The server's own time for its calls.
    calls: String,
    ids: String,
    server_cores: String,
    loadgen_cores: String,
}

impl FanoutCells {
    fn of(results: &Results, config: &str, server: &Server, connections: usize) -> Self {
        let mut triggers: Vec<FanoutTrigger> = Vec::new();
        let mut per_round = Vec::new();
        for (_, outcome) in results.outcomes(config, server.label) {
            let Some(report) = outcome.fanout() else {
                continue;
            };
            triggers.extend(report.triggers.iter().cloned());
            per_round.extend(median_fanout_ms(outcome));
        }
        let spread = |time: fn(&FanoutTrigger) -> u64| {
            Spread::of(
                triggers
                    .iter()
                    .map(|trigger| u64_f64(time(trigger)).unwrap_or(f64::NAN) / 1000.0)
                    .collect(),
            )
        };
        let median = |time: fn(&FanoutTrigger) -> u64| number(spread(time).map(|s| s.median), 1);
        let fanout_spread = Spread::of(triggers.iter().map(fanout_ms).collect());
        let busy = |cpu: fn(&FanoutTrigger) -> Option<f64>| {
            let cpu: Option<f64> = triggers.iter().map(cpu).sum();
            let window: f64 = triggers
                .iter()
                .filter_map(|trigger| u64_f64(trigger.trigger_to_last_us))
                .sum::<f64>()
                / 1e6;
            number(cpu.filter(|_| window > 0.0).map(|cpu| cpu / window), 2)
        };
        Self {
            triggers: number(usize_f64(triggers.len()), 0),
            fanout: fanout_spread.map_or_else(
                || "no data".to_owned(),
                |s| format!("{:.1} [{:.1}-{:.1}]", s.median, s.min, s.max),
            ),
            pushes_per_second: number(
                fanout_spread
                    .filter(|s| s.median > 0.0)
                    .and_then(|s| Some(usize_f64(connections)? / (s.median / 1000.0))),
                0,
            ),
            per_round: if per_round.is_empty() {
                "-".to_owned()
            } else {
                per_round
                    .iter()
                    .map(|ms| format!("{ms:.1}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            },
            trigger_to_last: median(|t| t.trigger_to_last_us),
            first_push: median(|t| t.call_to_first_us),
            arrival_p50: median(|t| t.arrival_p50_us),
            arrival_p99: median(|t| t.arrival_p99_us),
            calls: median(|t| t.server_calls_us),
            ids: median(|t| t.server_ids_us),
            server_cores: busy(|t| t.server_cpu_secs),
            loadgen_cores: busy(|t| Some(t.loadgen_cpu_secs)),
        }
    }
}

/// The notify fan-out table: per server, over every measured trigger of every round, the median
/// and range of the time from the first `notify` call to the last push received, `connections`
/// over that median as pushes per second, each round's median, and the medians of the other times.
fn fanout(results: &Results, config: &str, servers: &[Server], connections: usize) {
    let mut table = Table::new(&[
        "server",
        "triggers",
        "fan-out ms [range]",
        "pushes/s",
        "per-round median ms",
        "trigger->last ms",
        "first push ms",
        "arrival p50 ms",
        "arrival p99 ms",
        "notify loop ms",
        "ids() ms",
        "server cores",
        "loadgen cores",
    ]);
    for server in servers {
        let cells = FanoutCells::of(results, config, server, connections);
        table.row(vec![
            server.label.to_owned(),
            cells.triggers,
            cells.fanout,
            cells.pushes_per_second,
            cells.per_round,
            cells.trigger_to_last,
            cells.first_push,
            cells.arrival_p50,
            cells.arrival_p99,
            cells.calls,
            cells.ids,
            cells.server_cores,
            cells.loadgen_cores,
        ]);
    }
    table.print();
    println!(
        "  fan-out: from the server's first notify call to the last of the {connections} \
         connections reading its push (the real-time clock both processes share), each push \
         verified; pushes/s = {connections} / the median. trigger->last adds the trigger's way \
         to the server, the spawn and ids(); times from the first call otherwise. Cores are CPU \
         time over trigger->last, at 10 ms resolution: loadgen cores near 1 would mean the load \
         generator, not the server, set the pace."
    );
}

/// The multicast table: the fan-out table's times per server, and each server's median of
/// per-round ratios of its median fan-out time to the baseline's (the hand-written loop); below
/// it, the candidate's verdict against "at least as fast as the hand-written loop", the noise
/// floor, and the candidate against the alternative (the same loop with writer tasks).
fn multicast(
    results: &Results,
    config: &str,
    servers: &[Server],
    baseline: &Server,
    connections: usize,
) {
    let mut table = Table::new(&[
        "server",
        "triggers",
        "fan-out ms [range]",
        "x baseline [range]",
        "pushes/s",
        "per-round median ms",
        "trigger->last ms",
        "first push ms",
        "arrival p50 ms",
        "arrival p99 ms",
        "call ms",
        "server cores",
        "loadgen cores",
    ]);
    let to = |server: &Server, other: &Server| {
        Spread::of(results.ratios(
            (config, server.label),
            (config, other.label),
            median_fanout_ms,
        ))
    };
    for server in servers {
        let cells = FanoutCells::of(results, config, server, connections);
        table.row(vec![
            server.label.to_owned(),
            cells.triggers,
            cells.fanout,
            if server.role == Role::Baseline {
                "-".to_owned()
            } else {
                ratio_text(to(server, baseline))
            },
            cells.pushes_per_second,
            cells.per_round,
            cells.trigger_to_last,
            cells.first_push,
            cells.arrival_p50,
            cells.arrival_p99,
            cells.calls,
            cells.server_cores,
            cells.loadgen_cores,
        ]);
    }
    table.print();
    let alternative = servers.iter().find(|s| s.role == Role::Alternative);
    for server in servers {
        match server.role {
            Role::Candidate => {
                println!(
                    "  {}: fan-out time {} the hand-written loop's (target <= 1.0x: at least as \
                     fast)",
                    server.label,
                    verdict(to(server, baseline), |r| r <= 1.0),
                );
                if let Some(alternative) = alternative {
                    println!(
                        "  {} / {} (the same loop with a writer task per connection, as Yoctopus \
                         has): {}",
                        server.label,
                        alternative.label,
                        ratio_text(to(server, alternative)),
                    );
                }
            }
            Role::Control => println!(
                "  noise floor ({} / baseline): fan-out time {}",
                server.label,
                range_text(to(server, baseline)),
            ),
            Role::Baseline
            | Role::Alternative
            | Role::Variant
            | Role::Reference
            | Role::Cluster { .. }
            | Role::Batching
            | Role::Floor => {}
        }
    }
    println!(
        "  multicast: from just before the server serializes the push (Yoctopus: Push::new, then \
         Connections::multicast with the filter {{\"yoctopus\":{{\"label\":...}}}}; the \
         hand-written loop: its serialization, then one write or queued frame per connection of \
         the label's group) to the last of the {connections} labelled connections reading it, \
         each push verified. Ratios are of each round's median fan-out time, below 1 is faster \
         than the baseline. call ms = the server's own time for that call (the write loop itself, \
         for the baseline). Cores as for notify-10k."
    );
}

/// The median fan-out time of one measurement, in milliseconds.
fn median_fanout_ms(outcome: &Outcome) -> Option<f64> {
    Spread::of(outcome.fanout()?.triggers.iter().map(fanout_ms).collect()).map(|s| s.median)
}

/// A trigger's fan-out time in milliseconds.
fn fanout_ms(trigger: &FanoutTrigger) -> f64 {
    u64_f64(trigger.call_to_last_us).unwrap_or(f64::NAN) / 1000.0
}

fn compare(results: &Results, comparison: &Comparison, servers: &[Server]) {
    println!(
        "\n## {} / {}: {}",
        comparison.numerator, comparison.denominator, comparison.title
    );
    let mut table = Table::new(&["server", "ratio [range]", "throughput cost"]);
    let spread = |server: &Server| {
        Spread::of(results.ratios(
            (comparison.numerator, server.label),
            (comparison.denominator, server.label),
            rate,
        ))
    };
    for server in servers {
        let spread = spread(server);
        table.row(vec![
            server.label.to_owned(),
            ratio_text(spread),
            spread.map_or_else(
                || "-".to_owned(),
                |s| format!("{:.1}%", (1.0 - s.median) * 100.0),
            ),
        ]);
    }
    table.print();
    for server in servers.iter().filter(|s| s.role == Role::Candidate) {
        println!(
            "  {}: {} (target >= {}x, a cost of at most {:.0}%)",
            server.label,
            verdict(spread(server), |r| r >= comparison.target),
            comparison.target,
            (1.0 - comparison.target) * 100.0
        );
    }
}

/// The before/after tables: per configuration, the candidate's per-round ratios to the reference
/// (throughput and p99, or memory per idle connection), their medians and ranges, the A/A control's
/// range for the noise floor, and whether the median costs more than the project's 5%.
fn before_after(results: &Results, configs: &[Config], servers: &[Server]) {
    let Some((candidate, reference)) = candidate_and_reference(servers) else {
        return;
    };
    // Only the configurations that measure the reference (all but the fan-out).
    let configs: Vec<Config> = configs
        .iter()
        .filter(|config| config.measures(reference))
        .cloned()
        .collect();
    if configs.is_empty() {
        return;
    }
    let baseline = servers.iter().find(|s| s.role == Role::Baseline);
    let control = servers.iter().find(|s| s.role == Role::Control);
    let noise = |config: &str, metric: &dyn Fn(&Outcome) -> Option<f64>| match (control, baseline) {
        (Some(control), Some(baseline)) => ratio_text(Spread::of(results.ratios(
            (config, control.label),
            (config, baseline.label),
            metric,
        ))),
        _ => "-".to_owned(),
    };
    let ratios = |config: &str, metric: &dyn Fn(&Outcome) -> Option<f64>| {
        results.ratios((config, candidate.label), (config, reference.label), metric)
    };
    let median = |config: &str, server: &Server, metric: &dyn Fn(&Outcome) -> Option<f64>| {
        Spread::of(results.values(config, server.label, metric)).map(|s| s.median)
    };
    println!(
        "\n## before/after: {candidate} (this build, bench-yoctopus) / {reference} (the reference, \
         {binary}), per-round ratios within each round",
        candidate = candidate.label,
        reference = reference.label,
        binary = lineup::REFERENCE_BINARY,
    );
    println!(
        "  ratio = {} / {}: throughput above 1 is faster now, p99 and memory below 1 are lower now. \
         A median cost over {:.0}% needs a reason in BENCHMARKS.md; read it against the A/A range.",
        candidate.label,
        reference.label,
        BEFORE_AFTER_TOLERANCE * 100.0
    );

    let throughput_configs: Vec<&Config> = configs
        .iter()
        .filter(|c| matches!(c.workload, Workload::Throughput { .. }))
        .collect();
    if !throughput_configs.is_empty() {
        let candidate_rate = format!("{} req/s", candidate.label);
        let reference_rate = format!("{} req/s", reference.label);
        let mut table = Table::new(&[
            "configuration",
            &candidate_rate,
            &reference_rate,
            "throughput ratio [range]",
            "per round",
            "p99 ratio [range]",
            "per round",
            "A/A throughput [range]",
            "A/A p99 [range]",
            "verdict",
        ]);
        for config in throughput_configs {
            let throughput = ratios(config.name, &rate);
            let latency = ratios(config.name, &p99);
            let (throughput_spread, latency_spread) =
                (Spread::of(throughput.clone()), Spread::of(latency.clone()));
            table.row(vec![
                config.name.to_owned(),
                number(median(config.name, candidate, &rate), 0),
                number(median(config.name, reference, &rate), 0),
                ratio_text(throughput_spread),
                per_round(&throughput),
                ratio_text(latency_spread),
                per_round(&latency),
                noise(config.name, &rate),
                noise(config.name, &p99),
                cost_verdict(&[
                    Cost::lower("throughput", throughput_spread),
                    Cost::higher("p99", latency_spread),
                ]),
            ]);
        }
        table.print();
    }

    let requested = |o: &Outcome| o.memory()?.per_connection_requested();
    let connected = |o: &Outcome| o.memory()?.per_connection_connected();
    let kib = |bytes: Option<f64>| bytes.map(|bytes| bytes / 1024.0);
    for config in configs
        .iter()
        .filter(|c| matches!(c.workload, Workload::IdleMemory { .. }))
    {
        let candidate_kib = format!("{} KiB/conn", candidate.label);
        let reference_kib = format!("{} KiB/conn", reference.label);
        let mut table = Table::new(&[
            "configuration",
            &candidate_kib,
            &reference_kib,
            "after handshake ratio [range]",
            "after 1 request ratio [range]",
            "per round",
            "A/A after 1 request [range]",
            "verdict",
        ]);
        let after_request = ratios(config.name, &requested);
        let (handshake_spread, request_spread) = (
            Spread::of(ratios(config.name, &connected)),
            Spread::of(after_request.clone()),
        );
        table.row(vec![
            config.name.to_owned(),
            number(kib(median(config.name, candidate, &requested)), 2),
            number(kib(median(config.name, reference, &requested)), 2),
            ratio_text(handshake_spread),
            ratio_text(request_spread),
            per_round(&after_request),
            noise(config.name, &requested),
            cost_verdict(&[
                Cost::higher("memory after handshake", handshake_spread),
                Cost::higher("memory after 1 request", request_spread),
            ]),
        ]);
        println!();
        table.print();
    }
}

/// Per-round ratios, in round order: `1.02 0.97 1.05`.
fn per_round(ratios: &[f64]) -> String {
    if ratios.is_empty() {
        return "-".to_owned();
    }
    ratios
        .iter()
        .map(|ratio| format!("{ratio:.2}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// What one before/after ratio costs: on the median, the fraction by which the candidate is worse
/// than the reference (negative when it is better).
#[derive(Debug, Clone, Copy)]
struct Cost {
    /// The metric.
    what: &'static str,
    /// `lower` or `higher`: which way is worse.
    worse: &'static str,
    fraction: Option<f64>,
}

impl Cost {
    /// A metric for which lower is worse (throughput).
    fn lower(what: &'static str, ratio: Option<Spread>) -> Self {
        Self {
            what,
            worse: "lower",
            fraction: ratio.map(|s| 1.0 - s.median),
        }
    }

    /// A metric for which higher is worse (latency, memory).
    fn higher(what: &'static str, ratio: Option<Spread>) -> Self {
        Self {
            what,
            worse: "higher",
            fraction: ratio.map(|s| s.median - 1.0),
        }
    }
}

/// `within 5%`, or `OVER 5%: p99 7.2% higher; reason needed` naming every cost over the tolerance.
fn cost_verdict(costs: &[Cost]) -> String {
    if costs.iter().all(|cost| cost.fraction.is_none()) {
        return "no data".to_owned();
    }
    let over: Vec<String> = costs
        .iter()
        .filter_map(|cost| {
            let fraction = cost.fraction.filter(|f| *f > BEFORE_AFTER_TOLERANCE)?;
            Some(format!(
                "{} {:.1}% {}",
                cost.what,
                fraction * 100.0,
                cost.worse
            ))
        })
        .collect();
    if over.is_empty() {
        format!("within {:.0}%", BEFORE_AFTER_TOLERANCE * 100.0)
    } else {
        format!(
            "OVER {:.0}%: {}; reason needed",
            BEFORE_AFTER_TOLERANCE * 100.0,
            over.join(", ")
        )
    }
}

/// `0.97x met` or `1.31x MISSED`, on the median.
fn verdict(spread: Option<Spread>, meets: impl Fn(f64) -> bool) -> String {
    match spread {
        Some(s) if meets(s.median) => format!("{:.3}x met", s.median),
        Some(s) => format!("{:.3}x MISSED", s.median),
        None => "no data".to_owned(),
    }
}

pub(crate) fn ratio_text(spread: Option<Spread>) -> String {
    spread.map_or_else(
        || "no data".to_owned(),
        |s| format!("{:.3} [{:.2}-{:.2}]", s.median, s.min, s.max),
    )
}

fn range_text(spread: Option<Spread>) -> String {
    spread.map_or_else(
        || "no data".to_owned(),
        |s| format!("median {:.3}x, {:.2}x-{:.2}x", s.median, s.min, s.max),
    )
}

/// `value` with `decimals` decimals, whole numbers grouped by thousands; `-` for none.
pub(crate) fn number(value: Option<f64>, decimals: usize) -> String {
    let Some(value) = value else {
        return "-".to_owned();
    };
    if decimals > 0 {
        return format!("{value:.decimals$}");
    }
    // Thousands separators for whole numbers.
    let whole = format!("{value:.0}");
    let (sign, digits) = whole.split_at(usize::from(whole.starts_with('-')));
    let mut grouped = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    format!("{sign}{grouped}")
}

#[expect(clippy::cast_precision_loss, reason = "counts stay far below 2^52")]
fn u64_f64(value: u64) -> Option<f64> {
    Some(value as f64)
}

#[expect(clippy::cast_precision_loss, reason = "counts stay far below 2^52")]
fn usize_f64(value: usize) -> Option<f64> {
    Some(value as f64)
}

/// Columns aligned to their widest cell: the first to the left, the others to the right.
pub(crate) struct Table {
    rows: Vec<Vec<String>>,
}

impl Table {
    pub(crate) fn new(header: &[&str]) -> Self {
        Self {
            rows: vec![header.iter().map(|cell| (*cell).to_owned()).collect()],
        }
    }

    pub(crate) fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub(crate) fn print(&self) {
        let columns = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let widths: Vec<usize> = (0..columns)
            .map(|column| {
                self.rows
                    .iter()
                    .filter_map(|row| row.get(column))
                    .map(|cell| cell.chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        for row in &self.rows {
            let cells: Vec<String> = row
                .iter()
                .zip(&widths)
                .enumerate()
                .map(|(column, (cell, width))| {
                    if column == 0 {
                        format!("{cell:<width$}")
                    } else {
                        format!("{cell:>width$}")
                    }
                })
                .collect();
            println!("  {}", cells.join("  "));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{cost_verdict, number, per_round, Cost};
    use crate::results::Spread;

    fn ratio(median: f64) -> Option<Spread> {
        Some(Spread {
            median,
            min: median,
            max: median,
        })
    }

    #[test]
    fn a_cost_over_five_percent_against_the_reference_asks_for_a_reason() {
        let verdict = |throughput, p99| {
            cost_verdict(&[
                Cost::lower("throughput", throughput),
                Cost::higher("p99", p99),
            ])
        };
        assert_eq!(verdict(ratio(0.951), ratio(0.7)), "within 5%");
        assert_eq!(verdict(ratio(1.2), ratio(1.049)), "within 5%");
        assert_eq!(
            verdict(ratio(1.1), ratio(1.072)),
            "OVER 5%: p99 7.2% higher; reason needed"
        );
        assert_eq!(
            verdict(ratio(0.9), ratio(1.06)),
            "OVER 5%: throughput 10.0% lower, p99 6.0% higher; reason needed"
        );
        assert_eq!(verdict(None, ratio(1.01)), "within 5%");
        assert_eq!(verdict(None, None), "no data");
        assert_eq!(per_round(&[1.0, 0.974, 1.051]), "1.00 0.97 1.05");
        assert_eq!(per_round(&[]), "-");
    }

    #[test]
    fn whole_numbers_are_grouped_by_thousands() {
        assert_eq!(number(Some(84_321.4), 0), "84,321");
        assert_eq!(number(Some(999.0), 0), "999");
        assert_eq!(number(Some(-1234.0), 0), "-1,234");
        assert_eq!(number(Some(6.4321), 2), "6.43");
        assert_eq!(number(None, 0), "-");
    }
}
