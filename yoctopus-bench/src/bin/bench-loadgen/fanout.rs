//! The fan-out run: open `connections` idle connections and one controller, then, trigger after
//! trigger, ask the server (through the controller) to push to every idle connection, and time
//! until each of them has received its push. With [`Via::Notify`], `bench-yoctopus --fanout`
//! notifies every other connection by id; with [`Via::Multicast`], every idle connection is first
//! labelled [`fanout::GROUP`] (`yoctopus:label` `update`, each answer awaited), and each trigger
//! asks for one multicast to that label, which `bench-yoctopus --fanout` and the hand-written
//! `bench-multicast-baseline` both serve. The controller has no label, so it is left out either
//! way, and a push to it is an error.
//!
//! The idle connections are opened as the memory run opens them ([`Client::open_many`]) and then
//! each is read by a task of its own, which answers pings and checks every push it reads: it must
//! be exactly the current trigger's `{"meta":{"method":"notify","type":...},"data":...}`, and the
//! first of that trigger on that connection. A trigger completes when every connection has its
//! push and the server has answered that it notified every connection, or fails after `timeout`;
//! a failure ends the run, since what follows would not be the measurement.
//!
//! Times are taken on the real-time clock that the server stamps its first `notify` call with (see
//! [`yoctopus_bench::fanout`]): an arrival is stamped when its connection's task reads it, so a
//! load generator short of CPU shows as `loadgen_cpu_secs` near the fan-out time.
//!
//! **A cluster.** Given the addresses of several servers of one cluster, the idle connections are
//! spread over them in turn (connection `i` on server `i % servers`) and the controller is on the
//! first: a multicast sent there must reach the connections of every server, each exactly once,
//! and its answer must count all of them. The report then also gives, per server, when its first
//! and its last connection read each push. With `--nats-monitor`, the NATS server's counters are
//! read just before the first trigger and just after the last (outside every timed span), so the
//! report says what the triggers cost in NATS messages.

use std::cell::{Cell, RefCell};
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::Notify;
use tokio::time::{timeout_at, Instant};
use yoctopus_bench::fanout::{self, Answer, Via};
use yoctopus_bench::nats::{self, NatsWindow};
use yoctopus_bench::procfs;
use yoctopus_bench::report::{FanoutReport, FanoutTrigger, ServerArrivals};
use yoctopus_bench::request::{Listeners, RequestKind};

use crate::client::{Client, Message};

/// How long the connections are left to settle between opening and the first trigger: the server
/// enters a connection in its register just after the handshake's answer.
const SETTLE: Duration = Duration::from_millis(200);

/// How long the controller's handshake may take.
const CONTROLLER_TIMEOUT: Duration = Duration::from_secs(10);

/// How long labelling every idle connection may take, all at once.
const LABEL_TIMEOUT: Duration = Duration::from_secs(20);

/// The `meta.id` of the label request.
const LABEL_ID: u64 = 1;

/// What to run.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    /// The servers: one, or the nodes of a cluster (the controller on the first).
    pub(crate) addrs: Vec<SocketAddr>,
    /// Which call pushes.
    pub(crate) via: Via,
    pub(crate) connections: usize,
    /// Measured triggers.
    pub(crate) triggers: usize,
    /// Triggers sent first and not counted.
    pub(crate) warmup_triggers: usize,
    /// The longest one trigger may take, trigger to last push and answer.
    pub(crate) timeout: Duration,
    /// The pause after each trigger.
    pub(crate) pause: Duration,
    /// The processes whose CPU time is summed as the servers' (the nodes, and NATS).
    pub(crate) server_pids: Vec<u32>,
    /// The NATS server's monitoring address, whose counters are read around the triggers.
    pub(crate) nats_monitor: Option<SocketAddr>,
}

/// Runs `plan` and reports what it measured.
pub(crate) async fn run(plan: &Plan) -> FanoutReport {
    let mut report = FanoutReport {
        connections: plan.connections,
        triggers_planned: plan.triggers,
        connect_secs: 0.0,
        label_secs: 0.0,
        warmup: Vec::new(),
        triggers: Vec::new(),
        wrong_pushes: 0,
        connection_failures: 0,
        first_error: None,
        servers: plan.addrs.len(),
        nats: None,
    };
    let connecting = Instant::now();
    let opened = Client::open_many(
        &plan.addrs,
        RequestKind::Greeter,
        Listeners::None,
        plan.connections,
    )
    .await;
    let controller = tokio::time::timeout(
        CONTROLLER_TIMEOUT,
        Client::open(
            plan.addrs[0],
            RequestKind::Greeter,
            Listeners::None,
            plan.connections,
        ),
    )
    .await
    .unwrap_or_else(|_| Err(std::io::Error::other("the handshake timed out")));
    report.connect_secs = connecting.elapsed().as_secs_f64();
    let opened = match plan.via {
        Via::Notify => opened,
        Via::Multicast => {
            let labelling = Instant::now();
            let labelled = label_all(opened).await;
            report.label_secs = labelling.elapsed().as_secs_f64();
            labelled
        }
    };

    let tally = Rc::new(RefCell::new(Tally::new(plan.connections, plan.addrs.len())));
    let progress = Rc::new(Notify::new());
    let mut listening = Vec::with_capacity(plan.connections);
    for (index, client) in opened.into_iter().enumerate() {
        match client {
            Ok(client) => listening.push(tokio::task::spawn_local(listen(
                client,
                index,
                Rc::clone(&tally),
                Rc::clone(&progress),
            ))),
            Err(problem) => tally.borrow_mut().connection_failed(problem),
        }
    }
    let mut controller = match controller {
        Ok(controller) => Some(controller),
        Err(error) => {
            let problem = format!("opening the controller failed: {error}");
            tally.borrow_mut().connection_failed(problem);
            None
        }
    };
    tokio::time::sleep(SETTLE).await;

    let nats_before = counters(plan.nats_monitor, &tally);
    let mut triggered = 0;
    let total = plan.warmup_triggers + plan.triggers;
    for round in 1..=total as u64 {
        let Some(client) = controller.as_mut() else {
            break;
        };
        if tally.borrow().failed() {
            break;
        }
        triggered += 1;
        match trigger(plan, client, round, &tally, &progress).await {
            Ok(measured) if round as usize <= plan.warmup_triggers => report.warmup.push(measured),
            Ok(measured) => report.triggers.push(measured),
            Err(problem) => {
                tally
                    .borrow_mut()
                    .problem(format!("trigger {round}: {problem}"));
                break;
            }
        }
        tokio::time::sleep(plan.pause).await;
    }
    if let Some(before) = nats_before {
        report.nats = counters(plan.nats_monitor, &tally).map(|after| NatsWindow {
            counted: after.since(before),
            operations: triggered,
        });
    }
    for task in listening {
        task.abort();
    }

    let tally = tally.borrow();
    report.wrong_pushes = tally.wrong;
    report.connection_failures = tally.connection_failures;
    report.first_error.clone_from(&tally.first_error);
    if report.first_error.is_none() && report.triggers.len() < plan.triggers {
        report.first_error = Some(format!(
            "{} of {} triggers completed",
            report.triggers.len(),
            plan.triggers
        ));
    }
    report
}

/// Sends trigger `round` and waits for its pushes and its answer.
async fn trigger(
    plan: &Plan,
    controller: &mut Client,
    round: u64,
    tally: &RefCell<Tally>,
    progress: &Notify,
) -> Result<FanoutTrigger, String> {
    let data = fanout::data(round);
    tally.borrow_mut().begin(round, &data);
    let mut request = Vec::with_capacity(128);
    fanout::write_trigger(&mut request, plan.via, round, fanout::KIND, &data);
    controller.queue_text(&request);

    let server_before = procfs::cpu_seconds_of(&plan.server_pids);
    let own_before = procfs::cpu_seconds(std::process::id()).unwrap_or_default();
    let deadline = Instant::now() + plan.timeout;
    let sent_ns = fanout::now_nanos();
    controller
        .flush()
        .await
        .map_err(|error| format!("writing the trigger failed: {error}"))?;
    // A failed answer means no pushes are coming: stop waiting for them.
    let answer_failed = Cell::new(false);
    let answered = async {
        let answer = timeout_at(deadline, answer(controller, round)).await;
        if !matches!(answer, Ok(Ok(_))) {
            answer_failed.set(true);
            progress.notify_one();
        }
        answer
    };
    let all_pushes = async {
        loop {
            {
                let tally = tally.borrow();
                if tally.failed() || tally.received == tally.expected_count() || answer_failed.get()
                {
                    return;
                }
            }
            progress.notified().await;
        }
    };
    let (answer, pushes) = tokio::join!(answered, timeout_at(deadline, all_pushes));
    let server_after = procfs::cpu_seconds_of(&plan.server_pids);
    let own_after = procfs::cpu_seconds(std::process::id()).unwrap_or_default();
    let mut tally = tally.borrow_mut();
    let (arrivals, spans) = tally.end();
    if let Some(problem) = &tally.first_error {
        return Err(problem.clone());
    }
    let answer = answer.map_err(|_| {
        format!(
            "no answer within {:?} ({} of {} pushes received)",
            plan.timeout,
            arrivals.len(),
            tally.expected_count()
        )
    })??;
    if pushes.is_err() {
        return Err(format!(
            "{} of {} pushes received within {:?} (the server notified {}, failed {}{})",
            arrivals.len(),
            tally.expected_count(),
            plan.timeout,
            answer.notified,
            answer.failed,
            answer
                .first_error
                .as_deref()
                .map(|error| format!(": {error}"))
                .unwrap_or_default()
        ));
    }
    if answer.notified != tally.expected_count() || answer.failed > 0 {
        return Err(format!(
            "the server notified {} connections and failed {} ({}), not {}",
            answer.notified,
            answer.failed,
            answer.first_error.as_deref().unwrap_or("no error given"),
            tally.expected_count()
        ));
    }
    let timing = Timing::of(sent_ns, answer.first_call_unix_ns, arrivals)?;
    Ok(FanoutTrigger {
        round,
        received: timing.arrivals.len(),
        call_to_last_us: timing.since_call(timing.last()),
        trigger_to_last_us: micros(timing.last() - sent_ns),
        trigger_to_call_us: micros(timing.call - sent_ns),
        call_to_first_us: timing.since_call(timing.arrivals[0]),
        arrival_p50_us: timing.since_call(timing.quantile(0.50)),
        arrival_p99_us: timing.since_call(timing.quantile(0.99)),
        server_ids_us: answer.ids_us,
        server_calls_us: answer.calls_us,
        server_cpu_secs: server_before
            .zip(server_after)
            .map(|(before, after)| after - before),
        loadgen_cpu_secs: own_after - own_before,
        call_unix_ns: timing.call,
        per_server: if plan.addrs.len() > 1 {
            spans
                .iter()
                .map(|span| {
                    let (first, last) = span.unwrap_or((timing.call, timing.call));
                    ServerArrivals {
                        first_us: timing.since_call(first),
                        last_us: timing.since_call(last),
                    }
                })
                .collect()
        } else {
            Vec::new()
        },
    })
}

/// The NATS server's counters, when there is one to ask; a failure to read them is the run's
/// problem (its counts would be missing) but not a reason to stop it.
fn counters(monitor: Option<SocketAddr>, tally: &RefCell<Tally>) -> Option<nats::Varz> {
    match nats::varz(monitor?) {
        Ok(varz) => Some(varz),
        Err(problem) => {
            tally
                .borrow_mut()
                .problem(format!("reading the NATS counters: {problem}"));
            None
        }
    }
}

/// The reply of the server to trigger `round`, on the controller.
async fn answer(controller: &mut Client, round: u64) -> Result<Answer, String> {
    loop {
        controller
            .receive()
            .await
            .map_err(|error| format!("the controller broke: {error}"))?;
        let read = controller
            .next_message(|message| match message {
                Message::Text(payload) => read_answer(payload, round),
                Message::Binary => Err("the controller received a binary message".to_owned()),
            })
            .map_err(|error| format!("the controller broke: {error}"))?;
        // Pongs go out with the next write.
        controller
            .flush()
            .await
            .map_err(|error| format!("the controller broke: {error}"))?;
        if let Some(read) = read {
            return read;
        }
    }
}

#[derive(Deserialize)]
struct Reply {
    meta: ReplyMeta,
    #[serde(default)]
    data: Option<Value>,
    #[serde(default)]
    error: Option<Value>,
}

#[derive(Deserialize)]
struct ReplyMeta {
    #[serde(default)]
    id: Option<Value>,
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    status: Option<String>,
}

/// Reads the server's answer to trigger `round`.
fn read_answer(payload: &[u8], round: u64) -> Result<Answer, String> {
    read_reply(payload, round, "the controller")
}

/// Reads the `data` of the `ok` answer to the request `meta.id` `id`, sent by `who` (which must
/// not receive a push meanwhile).
pub(crate) fn read_reply<T: DeserializeOwned>(
    payload: &[u8],
    id: u64,
    who: &str,
) -> Result<T, String> {
    let text = String::from_utf8_lossy(payload);
    let reply: Reply = serde_json::from_slice(payload)
        .map_err(|error| format!("unreadable answer ({error}): {text}"))?;
    if reply.meta.method.as_deref() == Some("notify") {
        return Err(format!(
            "{who}, which the server must leave out, was notified: {text}"
        ));
    }
    if reply.meta.id != Some(Value::from(id)) {
        return Err(format!("an answer to another request: {text}"));
    }
    if reply.meta.status.as_deref() != Some("ok") {
        return Err(format!(
            "the request failed: {}",
            reply.error.unwrap_or(Value::Null)
        ));
    }
    serde_json::from_value(reply.data.unwrap_or(Value::Null))
        .map_err(|error| format!("unexpected answer ({error}): {text}"))
}

/// Labels every opened connection [`fanout::GROUP`], all at once, each within [`LABEL_TIMEOUT`];
/// a connection that failed to open stays failed.
async fn label_all(opened: Vec<Result<Client, String>>) -> Vec<Result<Client, String>> {
    let labelling: Vec<_> = opened
        .into_iter()
        .map(|client| {
            tokio::task::spawn_local(async move {
                let mut client = client?;
                match tokio::time::timeout(LABEL_TIMEOUT, label(&mut client)).await {
                    Ok(Ok(())) => Ok(client),
                    Ok(Err(problem)) => Err(format!("labelling a connection failed: {problem}")),
                    Err(_) => Err(format!(
                        "labelling a connection took more than {LABEL_TIMEOUT:?}"
                    )),
                }
            })
        })
        .collect();
    let mut labelled = Vec::with_capacity(labelling.len());
    for task in labelling {
        labelled.push(
            task.await
                .unwrap_or_else(|error| Err(format!("labelling task failed: {error}"))),
        );
    }
    labelled
}

/// Sends `client`'s label request and waits for its `ok`.
async fn label(client: &mut Client) -> Result<(), String> {
    let mut request = Vec::with_capacity(96);
    fanout::write_label(&mut request, LABEL_ID, fanout::GROUP);
    client.queue_text(&request);
    client.flush().await.map_err(|error| error.to_string())?;
    loop {
        client.receive().await.map_err(|error| error.to_string())?;
        let read = client
            .next_message(|message| match message {
                Message::Text(payload) => read_label_reply(payload),
                Message::Binary => Err("a binary message".to_owned()),
            })
            .map_err(|error| error.to_string())?;
        // Pongs go out with the next write.
        client.flush().await.map_err(|error| error.to_string())?;
        if let Some(read) = read {
            return read;
        }
    }
}

/// Checks the server's answer to the label request.
fn read_label_reply(payload: &[u8]) -> Result<(), String> {
    let text = String::from_utf8_lossy(payload);
    let reply: Reply = serde_json::from_slice(payload)
        .map_err(|error| format!("unreadable answer ({error}): {text}"))?;
    if reply.meta.id != Some(Value::from(LABEL_ID)) {
        return Err(format!("not the answer to the label request: {text}"));
    }
    if reply.meta.status.as_deref() != Some("ok") {
        return Err(format!(
            "the label request failed: {}",
            reply.error.unwrap_or(Value::Null)
        ));
    }
    Ok(())
}

/// Reads one idle connection until the run ends: answers pings and hands every push to `tally`.
async fn listen(mut client: Client, index: usize, tally: Rc<RefCell<Tally>>, progress: Rc<Notify>) {
    let problem = loop {
        if let Err(error) = client.receive().await {
            break format!("connection {index} broke: {error}");
        }
        let at = fanout::now_nanos();
        let mut changed = false;
        let broken = loop {
            let read = client.next_message(|message| {
                let mut tally = tally.borrow_mut();
                match message {
                    Message::Text(payload) => tally.push(index, payload, at),
                    Message::Binary => tally.wrong(format!("connection {index}: a binary message")),
                }
            });
            match read {
                Ok(Some(())) => changed = true,
                Ok(None) => break None,
                Err(error) => break Some(format!("connection {index} broke: {error}")),
            }
        };
        if changed {
            progress.notify_one();
        }
        if let Some(problem) = broken {
            break problem;
        }
        // Pongs.
        if let Err(error) = client.flush().await {
            break format!("connection {index} broke: {error}");
        }
    };
    tally.borrow_mut().connection_failed(problem);
    progress.notify_one();
}

/// What the connections have received, shared by their tasks on the load generator's one thread.
#[derive(Debug)]
struct Tally {
    /// The trigger whose pushes are expected; 0 between triggers, when none is.
    round: u64,
    /// Its push's exact bytes...
    expected: Vec<u8>,
    /// ...and JSON value.
    expected_value: Value,
    /// Per connection, the last trigger it received a push of.
    seen: Vec<u64>,
    /// This trigger's arrivals ([`fanout::now_nanos`]).
    arrivals: Vec<u64>,
    /// Per server (connection `i` is on server `i % servers`), this trigger's first and last
    /// arrival there.
    spans: Vec<Option<(u64, u64)>>,
    /// Verified pushes of this trigger.
    received: usize,
    wrong: u64,
    connection_failures: u64,
    first_error: Option<String>,
}

impl Tally {
    fn new(connections: usize, servers: usize) -> Self {
        Self {
            round: 0,
            expected: Vec::new(),
            expected_value: Value::Null,
            seen: vec![0; connections],
            arrivals: Vec::with_capacity(connections),
            spans: vec![None; servers.max(1)],
            received: 0,
            wrong: 0,
            connection_failures: 0,
            first_error: None,
        }
    }

    /// Pushes expected per trigger: one per idle connection.
    fn expected_count(&self) -> usize {
        self.seen.len()
    }

    /// Whether the run cannot go on.
    fn failed(&self) -> bool {
        self.first_error.is_some()
    }

    /// Expects the pushes of trigger `round`, which carry `data`.
    fn begin(&mut self, round: u64, data: &Value) {
        self.round = round;
        self.expected = fanout::expected_push(fanout::KIND, data);
        self.expected_value =
            serde_json::from_slice(&self.expected).expect("the expected push is JSON");
        self.arrivals.clear();
        self.spans.fill(None);
        self.received = 0;
    }

    /// Stops expecting pushes; the arrivals of the trigger, earliest first, and per server the
    /// first and the last.
    fn end(&mut self) -> (Vec<u64>, Vec<Option<(u64, u64)>>) {
        self.round = 0;
        let mut arrivals = std::mem::take(&mut self.arrivals);
        arrivals.sort_unstable();
        (arrivals, self.spans.clone())
    }

    /// A push read by connection `index` at `at`.
    fn push(&mut self, index: usize, payload: &[u8], at: u64) {
        if self.round == 0 {
            return self.wrong(format!(
                "connection {index}: a push outside a trigger: {}",
                shorten(payload)
            ));
        }
        let exact = payload == self.expected.as_slice()
            || serde_json::from_slice::<Value>(payload)
                .is_ok_and(|value| value == self.expected_value);
        if !exact {
            return self.wrong(format!(
                "connection {index}: expected {}, got {}",
                String::from_utf8_lossy(&self.expected),
                shorten(payload)
            ));
        }
        if self.seen[index] == self.round {
            return self.wrong(format!(
                "connection {index}: a second push of trigger {}",
                self.round
            ));
        }
        self.seen[index] = self.round;
        self.arrivals.push(at);
        let servers = self.spans.len();
        let span = &mut self.spans[index % servers];
        *span = Some(span.map_or((at, at), |(first, last)| (first.min(at), last.max(at))));
        self.received += 1;
    }

    fn wrong(&mut self, problem: String) {
        self.wrong += 1;
        self.problem(problem);
    }

    fn connection_failed(&mut self, problem: String) {
        self.connection_failures += 1;
        self.problem(problem);
    }

    fn problem(&mut self, problem: String) {
        self.first_error.get_or_insert(problem);
    }
}

/// One trigger's times on the shared real-time clock, in nanoseconds since the epoch.
struct Timing {
    /// The server's first `notify` call.
    call: u64,
    /// Every arrival, earliest first; at least one.
    arrivals: Vec<u64>,
}

impl Timing {
    /// Checks that the events are in the order they must have happened in: the trigger sent, the
    /// first call, the pushes. Otherwise the real-time clock was set during the trigger.
    fn of(sent: u64, call: u64, arrivals: Vec<u64>) -> Result<Self, String> {
        let (Some(&first), Some(&last)) = (arrivals.first(), arrivals.last()) else {
            return Err("no push arrived".to_owned());
        };
        if !(sent <= call && call <= first && first <= last) {
            return Err(format!(
                "the clock moved: trigger at {sent} ns, first call at {call} ns, pushes from \
                 {first} to {last} ns"
            ));
        }
        Ok(Self { call, arrivals })
    }

    fn last(&self) -> u64 {
        *self.arrivals.last().expect("at least one arrival")
    }

    /// The arrival at `quantile` (nearest rank).
    fn quantile(&self, quantile: f64) -> u64 {
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss,
            reason = "a rank between 1 and the number of arrivals"
        )]
        let rank = (quantile * self.arrivals.len() as f64).ceil() as usize;
        self.arrivals[rank.clamp(1, self.arrivals.len()) - 1]
    }

    fn since_call(&self, at: u64) -> u64 {
        micros(at - self.call)
    }
}

fn micros(nanos: u64) -> u64 {
    nanos / 1_000
}

fn shorten(payload: &[u8]) -> String {
    let text = String::from_utf8_lossy(payload);
    match text.char_indices().nth(200) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use yoctopus_bench::fanout;

    use super::{read_label_reply, Tally, Timing};

    #[test]
    fn a_label_answer_must_be_ok_and_to_the_label_request() {
        assert!(read_label_reply(
            br#"{"meta":{"id":1,"endpoint":"yoctopus:label","method":"update","status":"ok"},"data":{}}"#
        )
        .is_ok());
        assert!(read_label_reply(br#"{"meta":{"id":2,"status":"ok"}}"#).is_err());
        assert!(read_label_reply(br#"{"meta":{"id":1,"status":"error"},"error":["no"]}"#).is_err());
        assert!(read_label_reply(b"not json").is_err());
    }

    #[test]
    fn a_push_counts_once_per_trigger_and_only_when_exact() {
        let mut tally = Tally::new(2, 1);
        let data = fanout::data(1);
        tally.begin(1, &data);
        let push = fanout::expected_push(fanout::KIND, &data);
        tally.push(0, &push, 10);
        // The same JSON, keys in another order: still the push expected.
        tally.push(
            1,
            br#"{"data":{"message":"fan-out 1","round":1},"meta":{"type":"bench:fanout","method":"notify"}}"#,
            20,
        );
        assert_eq!((tally.received, tally.wrong), (2, 0));
        assert!(!tally.failed());
        assert_eq!(tally.end(), (vec![10, 20], vec![Some((10, 20))]));

        tally.begin(2, &fanout::data(2));
        tally.push(0, &push, 30);
        assert_eq!(
            (tally.received, tally.wrong),
            (0, 1),
            "trigger 1's push again"
        );
        let second = fanout::expected_push(fanout::KIND, &fanout::data(2));
        tally.push(1, &second, 40);
        tally.push(1, &second, 50);
        assert_eq!((tally.received, tally.wrong), (1, 2), "a duplicate");
        assert!(tally.failed());
        tally.end();
        tally.push(0, &second, 60);
        assert_eq!(tally.wrong, 3, "outside a trigger");
    }

    #[test]
    fn arrivals_are_spanned_per_server_of_a_cluster() {
        let mut tally = Tally::new(5, 2);
        let data = fanout::data(1);
        let push = fanout::expected_push(fanout::KIND, &data);
        tally.begin(1, &data);
        for (index, at) in [(0, 30), (1, 10), (2, 20), (3, 50), (4, 40)] {
            tally.push(index, &push, at);
        }
        let (arrivals, spans) = tally.end();
        assert_eq!(arrivals, vec![10, 20, 30, 40, 50]);
        assert_eq!(spans, vec![Some((20, 40)), Some((10, 50))]);
        tally.begin(2, &fanout::data(2));
        assert_eq!(tally.end().1, vec![None, None], "cleared per trigger");
    }

    #[test]
    fn timing_runs_from_the_first_call_and_refuses_a_clock_that_moved() {
        let timing = Timing::of(1_000, 5_000, (1..=100).map(|n| 5_000 + n * 1_000).collect())
            .expect("in order");
        assert_eq!(timing.since_call(timing.last()), 100);
        assert_eq!(timing.since_call(timing.quantile(0.50)), 50);
        assert_eq!(timing.since_call(timing.quantile(0.99)), 99);
        assert_eq!(timing.since_call(timing.arrivals[0]), 1);
        assert!(Timing::of(6_000, 5_000, vec![7_000]).is_err());
        assert!(Timing::of(1_000, 5_000, vec![4_000, 7_000]).is_err());
        assert!(Timing::of(1_000, 5_000, vec![]).is_err());
    }
}
