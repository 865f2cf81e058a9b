//! The notify-one run: how long one notify by id takes from one client to another, on the same
//! server and across the servers of a cluster.
//!
//! A sender connects to the first server, and one receiver to each server given (so the first
//! receiver shares the sender's server, and every other receiver is on another node of the
//! cluster). Each connection first asks `fanout:whoami` for its connection id and its server's
//! node id: the receivers' ids are what the sender addresses, and the node ids prove the layout
//! (the first receiver on the sender's node, every other on a node of its own), so a cluster
//! that is not one, or two addresses of one server, fail the run instead of measuring the wrong
//! thing.
//!
//! Then the sender asks its server (`fanout:notify-one`) to notify the receivers in turn, one
//! request at a time: receiver 0, 1, …, 0, 1, …, so that the same-server and the cross-server
//! requests of one run are interleaved and share every moment's conditions. Each request is
//! stamped when written; it completes when its receiver has read exactly the push asked for
//! (`{"meta":{"method":"notify","type":"bench:one"},"data":{"seq":N,"message":"one N"}}`, byte
//! for byte or as the same JSON) and the sender has read the `ok` answer. Both ends are read by
//! this one process, on its one monotonic clock: no clock is shared between processes. The first
//! `--warmup-per-target` requests to each receiver are not counted.
//!
//! Every wait is bounded: a request that does not complete within `--timeout` fails the run, and
//! so does running out of `--duration` before every request was made. Afterwards every
//! connection is read for a moment more: a push that arrives then (a duplicate, one to the wrong
//! receiver, or one to the sender) is an error too.
//!
//! With `--nats-monitor`, the NATS server's counters are read just before the first request and
//! just after the last (outside every timed span); the report says how many of the requests went
//! to other servers, so the messages per cross-server notify can be read off.

use std::net::SocketAddr;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde_json::Value;
use tokio::time::{timeout, timeout_at, Instant};
use yoctopus_bench::fanout::{self, Identity, NotifiedOne};
use yoctopus_bench::nats::{self, NatsWindow};
use yoctopus_bench::procfs;
use yoctopus_bench::report::{Latency, NotifyLatencies, NotifyOneReport, NotifyTarget};
use yoctopus_bench::request::{Listeners, RequestKind};

use crate::client::{Client, Message};
use crate::fanout::read_reply;

/// How long opening the connections and asking who they are may take.
const SETUP_TIMEOUT: Duration = Duration::from_secs(10);

/// How long every connection is read after the last request, for pushes that should not come.
const QUIET: Duration = Duration::from_millis(100);

/// The `meta.id` of the `whoami` request; the notify-one requests are numbered from 2.
const WHOAMI_ID: u64 = 1;

/// What to run.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    /// The servers: one, or the nodes of a cluster. The sender is on the first.
    pub(crate) addrs: Vec<SocketAddr>,
    /// Measured requests per receiver.
    pub(crate) count: usize,
    /// Requests per receiver before them, not counted.
    pub(crate) warmup: usize,
    /// The longest the requests may take in all.
    pub(crate) duration: Duration,
    /// The longest one request may take, written to pushed and answered.
    pub(crate) timeout: Duration,
    /// The processes whose CPU time is summed as the servers' (the nodes, and NATS).
    pub(crate) server_pids: Vec<u32>,
    /// The NATS server's monitoring address, whose counters are read around the requests.
    pub(crate) nats_monitor: Option<SocketAddr>,
}

/// One receiver and what its requests measured.
struct Receiver {
    client: Client,
    identity: Identity,
    measured: Histograms,
}

/// The times of some requests.
struct Histograms {
    push_us: Histogram<u64>,
    reply_us: Histogram<u64>,
    call_us: Histogram<u64>,
}

impl Histograms {
    fn new() -> Self {
        // 1 µs to 100 s at three significant digits.
        let histogram =
            || Histogram::new_with_bounds(1, 100_000_000, 3).expect("the bounds are valid");
        Self {
            push_us: histogram(),
            reply_us: histogram(),
            call_us: histogram(),
        }
    }

    /// One request: written → pushed, written → answered, and the server's call.
    fn record(&mut self, pushed: Duration, answered: Duration, call_us: u64) {
        let micros = |elapsed: Duration| {
            u64::try_from(elapsed.as_micros())
                .unwrap_or(u64::MAX)
                .max(1)
        };
        self.push_us.saturating_record(micros(pushed));
        self.reply_us.saturating_record(micros(answered));
        self.call_us.saturating_record(call_us.max(1));
    }

    fn latencies(&self) -> NotifyLatencies {
        NotifyLatencies {
            notifies: usize::try_from(self.push_us.len()).unwrap_or(usize::MAX),
            push_us: latency(&self.push_us),
            reply_us: latency(&self.reply_us),
            call_us: latency(&self.call_us),
        }
    }
}

/// Runs `plan` and reports what it measured.
pub(crate) async fn run(plan: &Plan) -> NotifyOneReport {
    let mut report = NotifyOneReport {
        servers: plan.addrs.len(),
        warmup_per_target: plan.warmup,
        count_per_target: plan.count,
        targets: Vec::new(),
        across: None,
        window_secs: 0.0,
        server_cpu_secs: None,
        loadgen_cpu_secs: 0.0,
        nats: None,
        wrong_pushes: 0,
        first_error: None,
    };
    let (mut sender, mut receivers) = match timeout(SETUP_TIMEOUT, open(&plan.addrs)).await {
        Ok(Ok(opened)) => opened,
        Ok(Err(problem)) => {
            report.first_error = Some(problem);
            return report;
        }
        Err(_) => {
            report.first_error = Some(format!(
                "opening the connections and asking who they are took more than {SETUP_TIMEOUT:?}"
            ));
            return report;
        }
    };

    let nats_before = plan.nats_monitor.map(nats::varz).transpose();
    let nats_before = match nats_before {
        Ok(before) => before,
        Err(problem) => {
            report.first_error = Some(format!("reading the NATS counters: {problem}"));
            return report;
        }
    };
    let mut across = Histograms::new();
    let problem = requests(plan, &mut sender, &mut receivers, &mut across, &mut report).await;
    if let Some(before) = nats_before {
        let cross = u64::try_from(plan.warmup + plan.count).unwrap_or(u64::MAX)
            * u64::try_from(receivers.len() - 1).unwrap_or(u64::MAX);
        match nats::varz(plan.nats_monitor.expect("asked before")) {
            Ok(after) => {
                report.nats = Some(NatsWindow {
                    counted: after.since(before),
                    operations: cross,
                });
            }
            Err(error) => {
                report
                    .first_error
                    .get_or_insert(format!("reading the NATS counters: {error}"));
            }
        }
    }
    if let Some(problem) = problem {
        report.first_error.get_or_insert(problem);
    } else if let Some(problem) = quiet(&mut sender, &mut receivers).await {
        report.wrong_pushes += 1;
        report.first_error.get_or_insert(problem);
    }
    report.targets = receivers
        .iter()
        .enumerate()
        .map(|(server, receiver)| NotifyTarget {
            server,
            same_server: server == 0,
            node: receiver.identity.node.clone(),
            measured: receiver.measured.latencies(),
        })
        .collect();
    report.across = (receivers.len() > 1).then(|| across.latencies());
    report
}

/// Opens the sender on the first server and a receiver on each, asks each who it is, and checks
/// that the layout is the one asked for.
async fn open(addrs: &[SocketAddr]) -> Result<(Client, Vec<Receiver>), String> {
    let mut sender = connect(addrs[0], 0).await?;
    let sender_identity = whoami(&mut sender).await?;
    let mut receivers: Vec<Receiver> = Vec::with_capacity(addrs.len());
    for (index, addr) in addrs.iter().enumerate() {
        let mut client = connect(*addr, index + 1).await?;
        let identity = whoami(&mut client)
            .await
            .map_err(|problem| format!("receiver {index}: {problem}"))?;
        if let Some(other) = receivers
            .iter()
            .position(|receiver| receiver.identity.node == identity.node)
        {
            return Err(format!(
                "receivers {other} and {index} ({} and {addr}) are on the same node {}: the \
                 addresses are not the servers of a cluster, one each",
                addrs[other], identity.node
            ));
        }
        receivers.push(Receiver {
            client,
            identity,
            measured: Histograms::new(),
        });
    }
    if receivers[0].identity.node != sender_identity.node {
        return Err(format!(
            "the sender ({}) and the first receiver ({}), both connected to {}, are on different \
             nodes",
            sender_identity.node, receivers[0].identity.node, addrs[0]
        ));
    }
    Ok((sender, receivers))
}

async fn connect(addr: SocketAddr, index: usize) -> Result<Client, String> {
    Client::open(addr, RequestKind::Greeter, Listeners::None, index)
        .await
        .map_err(|error| format!("connecting to {addr} failed: {error}"))
}

/// Asks `client`'s server who `client` is.
async fn whoami(client: &mut Client) -> Result<Identity, String> {
    let mut request = Vec::with_capacity(96);
    fanout::write_whoami(&mut request, WHOAMI_ID);
    client.queue_text(&request);
    client.flush().await.map_err(|error| error.to_string())?;
    let (identity, _) = read(client, |payload| {
        read_reply::<Identity>(payload, WHOAMI_ID, "the connection")
    })
    .await?;
    identity.map_err(|problem| format!("fanout:whoami: {problem}"))
}

/// The requests, one at a time, to each receiver in turn; records every measured one. Answers
/// the problem that ended them early, if one did.
async fn requests(
    plan: &Plan,
    sender: &mut Client,
    receivers: &mut [Receiver],
    across: &mut Histograms,
    report: &mut NotifyOneReport,
) -> Option<String> {
    let targets = receivers.len();
    let warmup = plan.warmup * targets;
    let total = (plan.warmup + plan.count) * targets;
    let deadline = Instant::now() + plan.duration;
    let mut request = Vec::with_capacity(192);
    let mut window: Option<(Instant, f64, Option<f64>)> = None;
    let mut last_answer = Instant::now();
    for number in 0..total {
        if number == warmup {
            window = Some((
                Instant::now(),
                procfs::cpu_seconds(std::process::id()).unwrap_or_default(),
                procfs::cpu_seconds_of(&plan.server_pids),
            ));
        }
        if Instant::now() >= deadline {
            return Some(format!(
                "{number} of {total} requests made within {:?}",
                plan.duration
            ));
        }
        let target = number % targets;
        let seq = u64::try_from(number).unwrap_or(u64::MAX) + 1;
        let id = seq + WHOAMI_ID;
        let data = fanout::one_data(seq);
        let expected = fanout::expected_push(fanout::ONE_KIND, &data);
        let receiver = &mut receivers[target];
        request.clear();
        fanout::write_notify_one(
            &mut request,
            id,
            &receiver.identity.id,
            fanout::ONE_KIND,
            &data,
        );
        sender.queue_text(&request);
        let written = Instant::now();
        if let Err(error) = sender.flush().await {
            return Some(format!("the sender broke: {error}"));
        }
        let limit = (written + plan.timeout).min(deadline + plan.timeout);
        let pushed = timeout_at(
            limit,
            read(&mut receiver.client, |payload| {
                check_push(payload, &expected)
            }),
        );
        let answered = timeout_at(
            limit,
            read(sender, |payload| {
                read_reply::<NotifiedOne>(payload, id, "the sender")
            }),
        );
        let (pushed, answered) = tokio::join!(pushed, answered);
        let described = |what: &str| format!("request {seq} to receiver {target}: {what}");
        let pushed_at = match pushed {
            Ok(Ok((Ok(()), at))) => at,
            Ok(Ok((Err(problem), _))) => {
                report.wrong_pushes += 1;
                return Some(described(&problem));
            }
            Ok(Err(problem)) => return Some(described(&format!("the receiver broke: {problem}"))),
            Err(_) => {
                return Some(described(&format!(
                    "no push within {:?}{}",
                    plan.timeout,
                    match &answered {
                        Ok(Ok((Err(problem), _))) => format!(" (the answer: {problem})"),
                        _ => String::new(),
                    }
                )))
            }
        };
        let (answer, answered_at) = match answered {
            Ok(Ok((Ok(answer), at))) => (answer, at),
            Ok(Ok((Err(problem), _))) => return Some(described(&problem)),
            Ok(Err(problem)) => return Some(described(&format!("the sender broke: {problem}"))),
            Err(_) => return Some(described(&format!("no answer within {:?}", plan.timeout))),
        };
        last_answer = answered_at;
        if number >= warmup {
            let (pushed, answered) = (pushed_at - written, answered_at - written);
            receiver.measured.record(pushed, answered, answer.call_us);
            if target > 0 {
                across.record(pushed, answered, answer.call_us);
            }
        }
    }
    if let Some((start, own_before, server_before)) = window {
        report.window_secs = last_answer.duration_since(start).as_secs_f64();
        report.loadgen_cpu_secs =
            procfs::cpu_seconds(std::process::id()).unwrap_or_default() - own_before;
        report.server_cpu_secs = server_before
            .zip(procfs::cpu_seconds_of(&plan.server_pids))
            .map(|(before, after)| after - before);
    }
    None
}

/// Checks a receiver's push against the one expected.
fn check_push(payload: &[u8], expected: &[u8]) -> Result<(), String> {
    let exact = payload == expected
        || serde_json::from_slice::<Value>(payload).is_ok_and(|value| {
            serde_json::from_slice::<Value>(expected).is_ok_and(|wanted| value == wanted)
        });
    if exact {
        Ok(())
    } else {
        Err(format!(
            "expected the push {}, got {}",
            String::from_utf8_lossy(expected),
            String::from_utf8_lossy(payload)
        ))
    }
}

/// Reads `client` until its next text message, which `check` judges; answers the judgment and
/// when the bytes holding the message were read. Pings are answered on the way; a binary message
/// or a close is a problem.
async fn read<T>(
    client: &mut Client,
    mut check: impl FnMut(&[u8]) -> T,
) -> Result<(T, Instant), String> {
    let mut at = Instant::now();
    loop {
        let message = client
            .next_message(|message| match message {
                Message::Text(payload) => Ok(check(payload)),
                Message::Binary => Err("a binary message".to_owned()),
            })
            .map_err(|error| error.to_string())?;
        // Pongs go out now.
        client.flush().await.map_err(|error| error.to_string())?;
        if let Some(message) = message {
            return message.map(|judged| (judged, at));
        }
        client.receive().await.map_err(|error| error.to_string())?;
        at = Instant::now();
    }
}

/// Reads every connection for [`QUIET`]: anything but pings is a push that should not have come.
async fn quiet(sender: &mut Client, receivers: &mut [Receiver]) -> Option<String> {
    let until = Instant::now() + QUIET;
    let clients = std::iter::once(("the sender".to_owned(), sender)).chain(
        receivers
            .iter_mut()
            .enumerate()
            .map(|(index, receiver)| (format!("receiver {index}"), &mut receiver.client)),
    );
    for (who, client) in clients {
        match timeout_at(until, read(client, |payload| payload.to_vec())).await {
            Err(_) => {}
            Ok(Ok((payload, _))) => {
                return Some(format!(
                    "{who} received a message after the last request: {}",
                    String::from_utf8_lossy(&payload)
                ))
            }
            Ok(Err(problem)) => return Some(format!("{who} broke: {problem}")),
        }
    }
    None
}

fn latency(histogram: &Histogram<u64>) -> Latency {
    if histogram.is_empty() {
        return Latency::default();
    }
    Latency {
        p50: histogram.value_at_quantile(0.50),
        p99: histogram.value_at_quantile(0.99),
        p999: histogram.value_at_quantile(0.999),
        max: histogram.max(),
    }
}

#[cfg(test)]
mod tests {
    use yoctopus_bench::fanout;

    use super::check_push;

    #[test]
    fn a_push_must_be_the_one_asked_for() {
        let expected = fanout::expected_push(fanout::ONE_KIND, &fanout::one_data(3));
        assert!(check_push(&expected, &expected).is_ok());
        assert!(check_push(
            br#"{"data":{"message":"one 3","seq":3},"meta":{"type":"bench:one","method":"notify"}}"#,
            &expected
        )
        .is_ok());
        let other = fanout::expected_push(fanout::ONE_KIND, &fanout::one_data(4));
        assert!(check_push(&other, &expected).is_err());
        assert!(check_push(b"{", &expected).is_err());
    }
}
