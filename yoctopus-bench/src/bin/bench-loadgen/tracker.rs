//! The change-tracking run, against `bench-tracker`: `connections` WebSocket connections, each
//! auto-subscribed to `Post` by the server, and writers of the load generator's own committing
//! rows into `posts` ([`crate::writer`]), as another process would. In turn:
//!
//! 1. **Subscribed.** Warm-up rows (`W:0:<k>`), one a second at most, until one reaches every
//!    connection: then every connection is subscribed (at most [`WARMUP_ATTEMPTS`]).
//! 2. **Latency.** For each of `latency` (a count and an interval), that many rows by one
//!    writer, one every interval on a fixed schedule; each is timed from its commit returning in
//!    the writer to the last connection reading its push.
//! 3. **Bursts.** For each count of `writers`, that many writers commit single-row INSERTs as
//!    fast as their commits return, for `burst` or until `burst_max` commits, whichever comes
//!    first; then the run waits until every connection has read every push (at most `timeout`),
//!    which says whether the pushes kept up.
//!
//! Every push is checked as it is read: it must be a `data-changed` `create` of `Post` with
//! exactly the row's fields (the title names the phase, the writer and the commit; `author_id`
//! and `content` must match it), of the phase under way, later than the connection's previous
//! push of the same writer (so never a duplicate), and at the same place in the connection's
//! sequence as on every other connection (the tracker's commit order is one order for all). A
//! phase completes when every commit reached every connection; anything else (a wrong push, a
//! broken connection, a push between phases, a timeout) ends the run, since the times that
//! follow would not be the tracker's.

use std::cell::RefCell;
use std::fmt;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::sync::Notify;
use yoctopus_bench::procfs;
use yoctopus_bench::request::{Listeners, RequestKind};
use yoctopus_bench::tracker::{
    self, Backend, BurstPhase, LatencyPhase, Phase, Quantiles, Title, TrackerReport,
};

use crate::client::{Client, Message};
use crate::writer::Writers;

/// How long the connections are left to settle after opening, before the first warm-up row.
const SETTLE: Duration = Duration::from_millis(200);

/// Warm-up rows at most, before the run gives up on every connection being subscribed.
const WARMUP_ATTEMPTS: u32 = 20;

/// How long a warm-up row may take to reach every connection before the next one is written.
const WARMUP_WAIT: Duration = Duration::from_secs(1);

/// The pause after each phase, in which no push may arrive.
const PAUSE: Duration = Duration::from_millis(300);

/// Time allowed to the writers beyond their schedule or their burst.
const WRITER_SLACK: Duration = Duration::from_secs(30);

/// During a burst, how often each connection reads: each read then takes the several pushes
/// that came meanwhile in one system call, and the load generator, which otherwise pays about
/// as much per push as the server, stays off the critical path. Arrivals are stamped when read,
/// so up to this late; a burst's times are seconds.
const BURST_READ_PACE: Duration = Duration::from_millis(10);

/// Writers at most (they are told apart by a digit of the title and by `author_id`).
pub(crate) const MAX_WRITERS: usize = 16;

/// What to run.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub(crate) addr: SocketAddr,
    /// The database's URL, as `bench-tracker` follows it.
    pub(crate) database: String,
    pub(crate) backend: Backend,
    pub(crate) connections: usize,
    /// The latency phases: how many commits, one every how long.
    pub(crate) latency: Vec<(usize, Duration)>,
    /// One burst per entry, with that many writers.
    pub(crate) writers: Vec<usize>,
    /// How long a burst's writers commit, at most.
    pub(crate) burst: Duration,
    /// How many commits a burst makes, at most, all writers together.
    pub(crate) burst_max: usize,
    /// The longest wait for a phase's pushes after its last commit.
    pub(crate) timeout: Duration,
    pub(crate) server_pid: Option<u32>,
}

/// Runs `plan` and reports what it measured.
pub(crate) async fn run(plan: &Plan) -> TrackerReport {
    let mut report = TrackerReport {
        backend: plan.backend,
        connections: plan.connections,
        connect_secs: 0.0,
        warmup_inserts: 0,
        subscribe_secs: 0.0,
        latency: Vec::new(),
        bursts: Vec::new(),
        wrong_pushes: 0,
        connection_failures: 0,
        first_error: None,
    };
    let most_writers = plan.writers.iter().copied().max().unwrap_or(1).max(1);
    let writers = match Writers::connect(&plan.database, most_writers).await {
        Ok(writers) => writers,
        Err(problem) => {
            report.first_error = Some(problem);
            return report;
        }
    };

    let connecting = Instant::now();
    let opened = Client::open_many(
        &[plan.addr],
        RequestKind::Greeter,
        Listeners::None,
        plan.connections,
    )
    .await;
    report.connect_secs = connecting.elapsed().as_secs_f64();
    let tally = Rc::new(RefCell::new(Tally::new(plan.connections)));
    let progress = Rc::new(Notify::new());
    let tick = Rc::new(Notify::new());
    let mut listening = Vec::with_capacity(plan.connections + 1);
    listening.push(tokio::task::spawn_local(ticker(Rc::clone(&tick))));
    for (index, client) in opened.into_iter().enumerate() {
        match client {
            Ok(client) => listening.push(tokio::task::spawn_local(listen(
                client,
                index,
                Rc::clone(&tally),
                Rc::clone(&progress),
                Rc::clone(&tick),
            ))),
            Err(problem) => tally.borrow_mut().connection_failed(problem),
        }
    }
    tokio::time::sleep(SETTLE).await;

    let run = Run {
        plan,
        writers: &writers,
        tally: &tally,
        progress: &progress,
    };
    let measured = async {
        run.check()?;
        let (inserts, took) = run.subscribe().await?;
        report.warmup_inserts = inserts;
        report.subscribe_secs = took.as_secs_f64();
        for (phase, &(commits, interval)) in plan.latency.iter().enumerate() {
            let phase = u8::try_from(phase).map_err(|_| "too many latency phases".to_owned())?;
            report
                .latency
                .push(run.latency(phase, commits, interval).await?);
        }
        for (burst, &writers) in plan.writers.iter().enumerate() {
            let burst = u8::try_from(burst).map_err(|_| "too many bursts".to_owned())?;
            report.bursts.push(run.burst(burst, writers).await?);
        }
        Ok::<(), String>(())
    }
    .await;
    if let Err(problem) = measured {
        tally.borrow_mut().problem(problem);
    }
    for task in listening {
        task.abort();
    }
    // Joins the writers' thread, once its command (if one was abandoned) is done.
    drop(writers);

    let tally = tally.borrow();
    report.wrong_pushes = tally.wrong;
    report.connection_failures = tally.connection_failures;
    report.first_error.clone_from(&tally.first_error);
    if report.first_error.is_none() && report.bursts.len() < plan.writers.len() {
        report.first_error = Some(format!(
            "{} of {} bursts completed",
            report.bursts.len(),
            plan.writers.len()
        ));
    }
    report
}

/// What the phases share.
struct Run<'a> {
    plan: &'a Plan,
    writers: &'a Writers,
    tally: &'a RefCell<Tally>,
    progress: &'a Notify,
}

impl Run<'_> {
    /// The run's first problem, if there was one.
    fn check(&self) -> Result<(), String> {
        match &self.tally.borrow().first_error {
            Some(problem) => Err(problem.clone()),
            None => Ok(()),
        }
    }

    /// Waits until `done` or a problem, at most until `deadline`; whether `done`.
    async fn wait_until(&self, deadline: Instant, done: impl Fn(&Tally) -> bool) -> bool {
        loop {
            {
                let tally = self.tally.borrow();
                if done(&tally) {
                    return true;
                }
                if tally.failed() {
                    return false;
                }
            }
            let deadline = tokio::time::Instant::from_std(deadline);
            if tokio::time::timeout_at(deadline, self.progress.notified())
                .await
                .is_err()
            {
                return done(&self.tally.borrow());
            }
        }
    }

    /// Warm-up rows until one reaches every connection: how many, and how long it took.
    async fn subscribe(&self) -> Result<(usize, Duration), String> {
        let started = Instant::now();
        for attempt in 0..WARMUP_ATTEMPTS {
            self.tally.borrow_mut().expect_warmup(attempt);
            let title = Title {
                phase: Phase::Warmup,
                writer: 0,
                seq: attempt,
            };
            let commit = self.writers.one(title);
            match tokio::time::timeout(WRITER_SLACK, commit).await {
                Ok(Ok(Ok(_))) => {}
                Ok(Ok(Err(problem))) => return Err(problem),
                Ok(Err(_)) => return Err("the writers' thread ended".to_owned()),
                Err(_) => return Err("a warm-up insert did not return".to_owned()),
            }
            let reached = self
                .wait_until(Instant::now() + WARMUP_WAIT, |tally| {
                    tally.warm_reached == tally.connections()
                })
                .await;
            self.check()?;
            if reached {
                self.tally.borrow_mut().idle();
                self.pause().await?;
                return Ok((attempt as usize + 1, started.elapsed()));
            }
        }
        let tally = self.tally.borrow();
        Err(format!(
            "after {WARMUP_ATTEMPTS} warm-up inserts, {} of {} connections received the last: \
             not every connection is subscribed",
            tally.warm_reached,
            tally.connections()
        ))
    }

    /// The pause after a phase: no push may come.
    async fn pause(&self) -> Result<(), String> {
        tokio::time::sleep(PAUSE).await;
        self.check()
    }

    /// Waits until every commit of the phase under way reached every connection, at most
    /// `timeout` from now.
    async fn delivered(&self, total: usize) -> Result<(), String> {
        let deadline = Instant::now() + self.plan.timeout;
        let all = self
            .wait_until(deadline, |tally| tally.fully_delivered == total)
            .await;
        self.check()?;
        if all {
            return Ok(());
        }
        let tally = self.tally.borrow();
        Err(format!(
            "{} of {total} commits reached every one of the {} connections within {:?} of the \
             last commit ({} pushes read of {})",
            tally.fully_delivered,
            tally.connections(),
            self.plan.timeout,
            tally.pushes,
            total * tally.connections()
        ))
    }

    async fn latency(
        &self,
        phase: u8,
        count: usize,
        interval: Duration,
    ) -> Result<LatencyPhase, String> {
        let plan = self.plan;
        self.tally.borrow_mut().begin(Phase::Latency(phase));
        let cpu = Cpu::start(plan.server_pid);
        let schedule = interval * u32::try_from(count).unwrap_or(u32::MAX);
        let commits = match tokio::time::timeout(
            schedule + WRITER_SLACK,
            self.writers.paced(phase, count, interval),
        )
        .await
        {
            Ok(Ok(Ok(commits))) => commits,
            Ok(Ok(Err(problem))) => return Err(format!("latency phase {phase}: {problem}")),
            Ok(Err(_)) => return Err("the writers' thread ended".to_owned()),
            Err(_) => return Err(format!("latency phase {phase}: the writer did not finish")),
        };
        self.delivered(commits.len())
            .await
            .map_err(|problem| format!("latency phase {phase}: {problem}"))?;
        let (server_cpu_secs, loadgen_cpu_secs) = cpu.end();
        let arrivals = self.tally.borrow_mut().idle();
        self.pause().await?;

        let mut commit_us = Vec::with_capacity(commits.len());
        let mut to_first = Vec::with_capacity(commits.len());
        let mut to_last = Vec::with_capacity(commits.len());
        let mut first_to_last = Vec::with_capacity(commits.len());
        let mut read_before_returned = 0;
        let mut window_end = commits.first().map_or_else(Instant::now, |c| c.sent);
        for (seq, commit) in commits.iter().enumerate() {
            let arrival = arrivals.of(0, seq)?;
            commit_us.push(micros(commit.returned - commit.sent));
            if arrival.first < commit.returned {
                read_before_returned += 1;
            }
            to_first.push(micros(
                arrival.first.saturating_duration_since(commit.returned),
            ));
            to_last.push(micros(
                arrival.last.saturating_duration_since(commit.returned),
            ));
            first_to_last.push(micros(arrival.last - arrival.first));
            window_end = window_end.max(arrival.last);
        }
        let window_start = commits.first().map_or(window_end, |c| c.sent);
        Ok(LatencyPhase {
            commits: commits.len(),
            interval_ms: interval.as_secs_f64() * 1000.0,
            commit_us: Quantiles::of(commit_us),
            commit_to_first_us: Quantiles::of(to_first),
            commit_to_last_us: Quantiles::of(to_last),
            first_to_last_us: Quantiles::of(first_to_last),
            read_before_returned,
            window_secs: (window_end - window_start).as_secs_f64(),
            server_cpu_secs,
            loadgen_cpu_secs,
        })
    }

    async fn burst(&self, burst: u8, writers: usize) -> Result<BurstPhase, String> {
        let plan = self.plan;
        let phase = Phase::Burst(burst);
        self.tally.borrow_mut().begin(phase);
        let cpu = Cpu::start(plan.server_pid);
        let made = match tokio::time::timeout(
            plan.burst + WRITER_SLACK,
            self.writers
                .burst(burst, writers, plan.burst, plan.burst_max),
        )
        .await
        {
            Ok(Ok(Ok(made))) => made,
            Ok(Ok(Err(problem))) => return Err(format!("burst {burst}: {problem}")),
            Ok(Err(_)) => return Err("the writers' thread ended".to_owned()),
            Err(_) => return Err(format!("burst {burst}: the writers did not finish")),
        };
        let total: usize = made.commits.iter().map(Vec::len).sum();
        if total == 0 {
            return Err(format!("burst {burst}: no commit"));
        }
        self.delivered(total)
            .await
            .map_err(|problem| format!("burst {burst} ({writers} writers): {problem}"))?;
        let (server_cpu_secs, loadgen_cpu_secs) = cpu.end();
        let arrivals = self.tally.borrow_mut().idle();
        self.pause().await?;

        let mut last_commit = made.start;
        let mut last_push = made.start;
        let mut to_last = Vec::with_capacity(total);
        for (writer, commits) in made.commits.iter().enumerate() {
            for (seq, commit) in commits.iter().enumerate() {
                let arrival = arrivals.of(writer, seq)?;
                last_commit = last_commit.max(commit.returned);
                last_push = last_push.max(arrival.last);
                to_last.push(micros(
                    arrival.last.saturating_duration_since(commit.returned),
                ));
            }
        }
        let commit_secs = (last_commit - made.start).as_secs_f64();
        let deliver_secs = (last_push - made.start).as_secs_f64();
        #[expect(clippy::cast_precision_loss, reason = "counts stay far below 2^52")]
        let (commits, pushes) = (total as f64, (total * plan.connections) as f64);
        Ok(BurstPhase {
            writers,
            commits: total,
            capped: made.capped,
            commit_secs,
            commits_per_sec: commits / commit_secs,
            deliver_secs,
            delivered_per_sec: commits / deliver_secs,
            pushes_per_sec: pushes / deliver_secs,
            behind_ms: last_push
                .saturating_duration_since(last_commit)
                .as_secs_f64()
                * 1000.0,
            commit_to_last_us: Quantiles::of(to_last),
            server_cpu_secs,
            loadgen_cpu_secs,
        })
    }
}

/// CPU time of the server and of the load generator from a phase's start.
struct Cpu {
    server_pid: Option<u32>,
    server: Option<f64>,
    own: f64,
}

impl Cpu {
    fn start(server_pid: Option<u32>) -> Self {
        Self {
            server_pid,
            server: server_pid.and_then(|pid| procfs::cpu_seconds(pid).ok()),
            own: procfs::cpu_seconds(std::process::id()).unwrap_or_default(),
        }
    }

    /// The server's and the load generator's CPU seconds since the start.
    fn end(&self) -> (Option<f64>, f64) {
        let server = self
            .server_pid
            .and_then(|pid| procfs::cpu_seconds(pid).ok())
            .zip(self.server)
            .map(|(after, before)| after - before);
        let own = procfs::cpu_seconds(std::process::id()).unwrap_or_default() - self.own;
        (server, own)
    }
}

fn micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}

/// Wakes the connections waiting for their next read in a burst, every [`BURST_READ_PACE`].
async fn ticker(tick: Rc<Notify>) {
    let mut interval = tokio::time::interval(BURST_READ_PACE);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        tick.notify_waiters();
    }
}

/// Reads one connection until the run ends: answers pings and hands every push to `tally`,
/// waking the run only for news (a commit or warm-up row that reached every connection, a
/// problem), not for every push: 1,000 connections read hundreds of thousands a second. In a
/// burst it reads at most once a `tick`.
async fn listen(
    mut client: Client,
    index: usize,
    tally: Rc<RefCell<Tally>>,
    progress: Rc<Notify>,
    tick: Rc<Notify>,
) {
    let problem = loop {
        if let Err(error) = client.receive().await {
            break format!("connection {index} broke: {error}");
        }
        let at = Instant::now();
        let mut news = false;
        let broken = loop {
            let read = client.next_message(|message| {
                let mut tally = tally.borrow_mut();
                match message {
                    Message::Text(payload) => tally.push(index, payload, at),
                    Message::Binary => {
                        tally.wrong(format!("connection {index}: a binary message"));
                        true
                    }
                }
            });
            match read {
                Ok(Some(read)) => news |= read,
                Ok(None) => break None,
                Err(error) => break Some(format!("connection {index} broke: {error}")),
            }
        };
        if news {
            progress.notify_one();
        }
        if let Some(problem) = broken {
            break problem;
        }
        // Pongs.
        if let Err(error) = client.flush().await {
            break format!("connection {index} broke: {error}");
        }
        let in_burst = matches!(tally.borrow().stage, Stage::Measured(Phase::Burst(_)));
        if in_burst {
            tick.notified().await;
        }
    };
    let mut tally = tally.borrow_mut();
    let problem = format!(
        "{problem} ({} of the {}'s pushes read by then, {} of its commits at every connection)",
        tally.pushes, tally.stage, tally.fully_delivered
    );
    tally.connection_failed(problem);
    progress.notify_one();
}

/// A push as the tracker sends it; any other field is an error.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PushJson<'a> {
    #[serde(borrow)]
    meta: MetaJson<'a>,
    #[serde(borrow)]
    data: DataJson<'a>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MetaJson<'a> {
    method: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DataJson<'a> {
    operation: &'a str,
    model: &'a str,
    #[serde(borrow)]
    fields: FieldsJson<'a>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FieldsJson<'a> {
    id: i64,
    title: &'a str,
    content: &'a str,
    author_id: i32,
}

/// How Yoctopus writes a `Post` create push around its fields (which the database renders:
/// SQLite without spaces, PostgreSQL with).
const PUSH_HEAD: &[u8] = br#"{"meta":{"method":"notify","type":"data-changed"},"data":{"operation":"create","model":"Post","fields":"#;

/// What follows the fields.
const PUSH_TAIL: &[u8] = b"}}";

/// The commit a push reports, if it is exactly a benchmark row's `create`. The envelope is
/// compared byte for byte and only the fields parsed, which costs the load generator about half
/// of parsing all; a push that is otherwise written is parsed whole, and then held to the same.
fn read_push(payload: &[u8]) -> Result<Title, String> {
    let fields = payload
        .strip_prefix(PUSH_HEAD)
        .and_then(|rest| rest.strip_suffix(PUSH_TAIL));
    let fields = match fields {
        Some(fields) => serde_json::from_slice(fields)
            .map_err(|error| format!("an unexpected push ({error}): {}", shorten(payload)))?,
        None => {
            let push: PushJson<'_> = serde_json::from_slice(payload)
                .map_err(|error| format!("an unexpected push ({error}): {}", shorten(payload)))?;
            let envelope = push.meta.method == "notify"
                && push.meta.kind == tracker::PUSH_TYPE
                && push.data.operation == "create"
                && push.data.model == tracker::MODEL;
            if !envelope {
                return Err(format!("an unexpected push: {}", shorten(payload)));
            }
            push.data.fields
        }
    };
    let title: Title = fields.title.parse()?;
    let expected = fields.content == tracker::CONTENT
        && fields.author_id == tracker::author_id(title)
        && fields.id > 0;
    if expected {
        Ok(title)
    } else {
        Err(format!("an unexpected push: {}", shorten(payload)))
    }
}

fn shorten(payload: &[u8]) -> String {
    let text = String::from_utf8_lossy(payload);
    match text.char_indices().nth(200) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.into_owned(),
    }
}

/// What the run expects a push to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Warm-up rows; `target` is the last one written.
    Warmup { target: u32 },
    /// The commits of a phase.
    Measured(Phase),
    /// No push may come.
    Idle,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Warmup { .. } => f.write_str("the warm-up"),
            Self::Measured(Phase::Latency(phase)) => write!(f, "latency phase {phase}"),
            Self::Measured(Phase::Burst(burst)) => write!(f, "burst {burst}"),
            Self::Measured(Phase::Warmup) => f.write_str("warm-up rows"),
            Self::Idle => f.write_str("a pause between phases"),
        }
    }
}

/// One connection's place in the phase under way.
#[derive(Debug, Clone, Copy)]
struct Place {
    /// The last warm-up row it received.
    last_warmup: Option<u32>,
    /// Pushes of the phase it received.
    received: usize,
    /// Per writer, the last commit of the phase it received.
    last: [Option<u32>; MAX_WRITERS],
}

impl Place {
    const NEW: Self = Self {
        last_warmup: None,
        received: 0,
        last: [None; MAX_WRITERS],
    };
}

/// When a commit's pushes were read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Arrival {
    /// Connections that read it.
    count: usize,
    first: Instant,
    last: Instant,
}

/// The arrivals of a phase's commits, by writer and commit.
#[derive(Debug, Default)]
struct Arrivals(Vec<Vec<Option<Arrival>>>);

impl Arrivals {
    /// The arrivals of writer `writer`'s commit `seq`, which reached every connection.
    fn of(&self, writer: usize, seq: usize) -> Result<Arrival, String> {
        self.0
            .get(writer)
            .and_then(|commits| commits.get(seq).copied().flatten())
            .ok_or_else(|| format!("no push of writer {writer}'s commit {seq}"))
    }
}

/// What the connections have received, shared by their tasks on the load generator's thread.
#[derive(Debug)]
struct Tally {
    stage: Stage,
    places: Vec<Place>,
    /// Connections that have the current warm-up target.
    warm_reached: usize,
    /// The phase's order of commits (writer, commit), as the first connection to get so far
    /// received them: every connection must receive the same.
    order: Vec<(u8, u32)>,
    arrivals: Arrivals,
    /// The phase's commits that reached every connection.
    fully_delivered: usize,
    /// The phase's pushes read.
    pushes: usize,
    wrong: u64,
    connection_failures: u64,
    first_error: Option<String>,
}

impl Tally {
    fn new(connections: usize) -> Self {
        Self {
            stage: Stage::Idle,
            places: vec![Place::NEW; connections],
            warm_reached: 0,
            order: Vec::new(),
            arrivals: Arrivals::default(),
            fully_delivered: 0,
            pushes: 0,
            wrong: 0,
            connection_failures: 0,
            first_error: None,
        }
    }

    fn connections(&self) -> usize {
        self.places.len()
    }

    fn failed(&self) -> bool {
        self.first_error.is_some()
    }

    /// Expects warm-up rows up to `target`.
    fn expect_warmup(&mut self, target: u32) {
        self.stage = Stage::Warmup { target };
        self.warm_reached = self
            .places
            .iter()
            .filter(|place| place.last_warmup == Some(target))
            .count();
    }

    /// Expects the commits of `phase`.
    fn begin(&mut self, phase: Phase) {
        self.stage = Stage::Measured(phase);
        for place in &mut self.places {
            place.received = 0;
            place.last = [None; MAX_WRITERS];
        }
        self.order.clear();
        self.arrivals = Arrivals((0..MAX_WRITERS).map(|_| Vec::new()).collect());
        self.fully_delivered = 0;
        self.pushes = 0;
    }

    /// Expects no push; the arrivals of the phase that ends.
    fn idle(&mut self) -> Arrivals {
        self.stage = Stage::Idle;
        std::mem::take(&mut self.arrivals)
    }

    /// A push read by connection `index` at `at`; whether it is news for the run: it completed
    /// a commit's or the warm-up's delivery, or it was wrong.
    fn push(&mut self, index: usize, payload: &[u8], at: Instant) -> bool {
        let title = match read_push(payload) {
            Ok(title) => title,
            Err(problem) => {
                self.wrong(format!("connection {index}: {problem}"));
                return true;
            }
        };
        match self.stage {
            Stage::Warmup { target } if title.phase == Phase::Warmup => {
                let place = &mut self.places[index];
                if let Some(last) = place.last_warmup.filter(|last| title.seq <= *last) {
                    self.wrong(format!(
                        "connection {index}: warm-up row {} after {last}",
                        title.seq
                    ));
                    return true;
                }
                place.last_warmup = Some(title.seq);
                if title.seq == target {
                    self.warm_reached += 1;
                    return self.warm_reached == self.places.len();
                }
                false
            }
            Stage::Measured(phase) if title.phase == phase => self.measured(index, title, at),
            stage => {
                self.wrong(format!(
                    "connection {index}: a push of {title} during {stage}"
                ));
                true
            }
        }
    }

    /// A push of the phase under way; whether it is news (see [`push`](Self::push)).
    fn measured(&mut self, index: usize, title: Title, at: Instant) -> bool {
        let writer = usize::from(title.writer);
        if writer >= MAX_WRITERS {
            self.wrong(format!("connection {index}: {title} names no writer"));
            return true;
        }
        let place = &mut self.places[index];
        if let Some(last) = place.last[writer].filter(|last| title.seq <= *last) {
            self.wrong(format!(
                "connection {index}: {title} after commit {last} of the same writer \
                 (a duplicate, or out of order)"
            ));
            return true;
        }
        place.last[writer] = Some(title.seq);
        let position = place.received;
        place.received += 1;
        let key = (title.writer, title.seq);
        match self.order.get(position) {
            None => self.order.push(key),
            Some(&other) if other == key => {}
            Some(&(other_writer, other_seq)) => {
                self.wrong(format!(
                    "connection {index}: {title} as change {position} of the phase, where \
                     another connection had writer {other_writer}'s commit {other_seq}: not one \
                     commit order for all"
                ));
                return true;
            }
        }
        let commits = &mut self.arrivals.0[writer];
        let seq = title.seq as usize;
        if commits.len() <= seq {
            commits.resize(seq + 1, None);
        }
        let arrival = commits[seq].get_or_insert(Arrival {
            count: 0,
            first: at,
            last: at,
        });
        arrival.count += 1;
        arrival.first = arrival.first.min(at);
        arrival.last = arrival.last.max(at);
        self.pushes += 1;
        if arrival.count == self.places.len() {
            self.fully_delivered += 1;
            return true;
        }
        false
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

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use yoctopus_bench::tracker::{self, Phase, Title};

    use super::{read_push, Tally};

    fn push(title: Title, id: i64) -> Vec<u8> {
        format!(
            r#"{{"meta":{{"method":"notify","type":"data-changed"}},"data":{{"operation":"create","model":"Post","fields":{{"id" : {id}, "title" : "{title}", "content" : "{}", "author_id" : {}}}}}}}"#,
            tracker::CONTENT,
            tracker::author_id(title)
        )
        .into_bytes()
    }

    fn title(phase: Phase, writer: u8, seq: u32) -> Title {
        Title { phase, writer, seq }
    }

    #[test]
    fn a_push_must_be_the_row_s_create_exactly() {
        let row = title(Phase::Latency(0), 0, 7);
        assert_eq!(read_push(&push(row, 8)), Ok(row));
        let compact = br#"{"meta":{"method":"notify","type":"data-changed"},"data":{"operation":"create","model":"Post","fields":{"id":8,"title":"L0:0:7","content":"bench change tracker","author_id":7}}}"#;
        assert_eq!(read_push(compact), Ok(row), "SQLite's fields");
        let reordered = br#"{"data":{"model":"Post","operation":"create","fields":{"author_id":7,"id":8,"title":"L0:0:7","content":"bench change tracker"}},"meta":{"type":"data-changed","method":"notify"}}"#;
        assert_eq!(
            read_push(reordered),
            Ok(row),
            "the same JSON otherwise written"
        );
        let text = String::from_utf8(push(row, 8)).expect("text");
        for wrong in [
            text.replace("create", "update"),
            text.replace("\"Post\"", "\"User\""),
            text.replace(tracker::CONTENT, "other"),
            text.replace("\"author_id\" : 7", "\"author_id\" : 8"),
            text.replace("\"id\" : 8", "\"id\" : 0"),
            text.replace("}}}", "},\"extra\":1}}"),
            text.replace("}}}", "}}}}"),
            text.replace("\"notify\"", "\"ping\""),
            text.replace("L0:0:7", "nonsense"),
        ] {
            assert!(read_push(wrong.as_bytes()).is_err(), "{wrong}");
        }
    }

    #[test]
    fn every_connection_must_get_every_commit_once_in_one_order() {
        let at = Instant::now();
        let mut tally = Tally::new(2);
        tally.begin(Phase::Burst(0));
        let a = title(Phase::Burst(0), 0, 0);
        let b = title(Phase::Burst(0), 1, 0);
        let c = title(Phase::Burst(0), 0, 1);
        for (index, row) in [(0, a), (0, b), (1, a), (1, b), (0, c)] {
            tally.push(
                index,
                &push(row, 1),
                at + Duration::from_millis(index as u64),
            );
        }
        assert_eq!((tally.fully_delivered, tally.wrong), (2, 0));
        tally.push(1, &push(c, 1), at + Duration::from_millis(5));
        assert_eq!(tally.fully_delivered, 3);
        let arrivals = tally.idle();
        let first = arrivals.of(0, 0).expect("delivered");
        assert_eq!(
            (first.count, first.last - first.first),
            (2, Duration::from_millis(1))
        );
        assert!(tally.first_error.is_none());
        tally.push(0, &push(c, 1), at);
        assert_eq!(tally.wrong, 1, "a push between phases");

        let mut tally = Tally::new(2);
        tally.begin(Phase::Burst(0));
        tally.push(0, &push(a, 1), at);
        tally.push(0, &push(a, 1), at);
        assert_eq!(tally.wrong, 1, "a duplicate");
        let mut tally = Tally::new(2);
        tally.begin(Phase::Burst(0));
        tally.push(0, &push(a, 1), at);
        tally.push(1, &push(b, 1), at);
        assert_eq!(tally.wrong, 1, "another order");
        let mut tally = Tally::new(1);
        tally.begin(Phase::Latency(1));
        tally.push(0, &push(title(Phase::Latency(0), 0, 0), 1), at);
        assert_eq!(tally.wrong, 1, "another phase's commit");
    }

    #[test]
    fn warm_up_rows_count_towards_the_last_one_written() {
        let at = Instant::now();
        let mut tally = Tally::new(2);
        tally.expect_warmup(0);
        tally.push(0, &push(title(Phase::Warmup, 0, 0), 1), at);
        assert_eq!(tally.warm_reached, 1);
        tally.expect_warmup(1);
        assert_eq!(tally.warm_reached, 0);
        tally.push(0, &push(title(Phase::Warmup, 0, 1), 2), at);
        tally.push(1, &push(title(Phase::Warmup, 0, 1), 2), at);
        assert_eq!(tally.warm_reached, 2);
        tally.push(1, &push(title(Phase::Warmup, 0, 0), 1), at);
        assert_eq!(tally.wrong, 1, "an older warm-up row after a newer one");
    }
}
