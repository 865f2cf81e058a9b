//! The tables printed at the end of a run: one per configuration and one per comparison, each with
//! the candidate's verdict against the target and the A/A control's spread beside it, and
//! for the configurations that price listeners, what they cost against the candidate without them.
//!
//! Absolute numbers are medians across rounds, for context only; what the targets are judged on is
//! the median of per-round ratios to the baseline, read against the A/A noise floor.

use yoctopus_bench::report::ThroughputReport;

use crate::config::{Comparison, Config, Workload};
use crate::lineup::{Role, Server};
use crate::results::{Outcome, Results, Spread};

/// Throughput of the candidate at least this many times the baseline's.
const THROUGHPUT_TARGET: f64 = 0.95;
/// p99 latency of the candidate at most this many times the baseline's.
const P99_TARGET: f64 = 1.2;
/// Memory per idle connection at most this many KiB.
const MEMORY_TARGET_KIB: f64 = 8.0;

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
            Workload::Throughput { .. } => throughput(results, config.name, &lineup, baseline),
            Workload::IdleMemory { .. } => memory(results, config.name, &lineup, baseline),
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
            Role::Baseline | Role::Variant => {}
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

/// `0.97x met` or `1.31x MISSED`, on the median.
fn verdict(spread: Option<Spread>, meets: impl Fn(f64) -> bool) -> String {
    match spread {
        Some(s) if meets(s.median) => format!("{:.3}x met", s.median),
        Some(s) => format!("{:.3}x MISSED", s.median),
        None => "no data".to_owned(),
    }
}

fn ratio_text(spread: Option<Spread>) -> String {
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

fn number(value: Option<f64>, decimals: usize) -> String {
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
struct Table {
    rows: Vec<Vec<String>>,
}

impl Table {
    fn new(header: &[&str]) -> Self {
        Self {
            rows: vec![header.iter().map(|cell| (*cell).to_owned()).collect()],
        }
    }

    fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    fn print(&self) {
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
    use super::number;

    #[test]
    fn whole_numbers_are_grouped_by_thousands() {
        assert_eq!(number(Some(84_321.4), 0), "84,321");
        assert_eq!(number(Some(999.0), 0), "999");
        assert_eq!(number(Some(-1234.0), 0), "-1,234");
        assert_eq!(number(Some(6.4321), 2), "6.43");
        assert_eq!(number(None, 0), "-");
    }
}
