//! The open-loop run (`open-loop`): every connection sends one request per period on a fixed
//! schedule, whether or not its earlier requests were answered, and latency runs from each
//! request's *scheduled* send time to its verified reply.
//!
//! A closed loop hides a slow server: while a reply is late its connection sends nothing, so the
//! stall is measured once instead of for every request that would have been sent meanwhile
//! (coordinated omission). Here the schedule does not wait: connection `i` of `n` sends at
//! `start + i × period / n + k × period`, the phases spread evenly over the period, and a request
//! that leaves late, because the server or the load generator fell behind, is still timed from
//! when it was due.
//!
//! The load generator has one core for 10,000 connections at 100,000 requests a second, so the
//! schedule is kept by one task, not by one timer per connection: it sleeps until the next request
//! is due, then writes every request that is due, each with one `try_write` on its connection's
//! write half (a write that does not fit in the socket's buffer means the server stopped reading
//! for seconds, and breaks that connection). Each connection's replies are read by a task of its
//! own, woken only when bytes arrive, which verifies each reply, matches it to its request by
//! `meta.id` and records scheduled → read in an HDR histogram. Nothing waits on a timer per
//! request, so the cost per request is one write and one read.
//!
//! The load generator's own lateness is measured too: scheduled → written, per request. Tokio's
//! timer has a resolution of one millisecond, so up to about 1 ms of it is the schedule's
//! granularity (and is in every latency, against the server); more means the load generator fell
//! behind its schedule, and the report says so rather than hiding it.
//!
//! Only requests scheduled in the measured window (after the warm-up) are timed. After the
//! window the schedule stops and the run waits up to `drain` for their replies; a request still
//! unanswered then is counted, and timed as the drain's end minus its scheduled time (a lower
//! bound), so that a server that stops answering cannot look fast.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use hdrhistogram::Histogram;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::time::{sleep_until, timeout_at, Instant};
use yoctopus_bench::procfs;
use yoctopus_bench::report::{Latency, OpenLoopReport};
use yoctopus_bench::request::{client_name, greeting, Listeners, RequestKind};

use crate::client::Client;
use crate::frame::{Frame, FrameReader, Masker};
use crate::in_flight::InFlight;
use crate::verify::{verify, Verdict};

/// Requests written back to back before the scheduler lets the readers run: when it is late, it
/// catches up in bursts without starving the replies.
const MAX_BURST: usize = 256;

/// How long after the schedule's start the first request is due, so that the scheduler is asleep
/// when the schedule starts.
const LEAD: Duration = Duration::from_millis(100);

/// How often the drain checks whether every timed request has its reply.
const DRAIN_POLL: Duration = Duration::from_millis(5);

/// What to run.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub(crate) addr: SocketAddr,
    pub(crate) connections: usize,
    /// The time between two requests of one connection.
    pub(crate) period: Duration,
    pub(crate) request: RequestKind,
    /// The listeners the server runs, which decide the reply expected.
    pub(crate) listeners: Listeners,
    pub(crate) warmup: Duration,
    pub(crate) duration: Duration,
    /// How long after the window the replies to its requests are waited for.
    pub(crate) drain: Duration,
    pub(crate) server_pid: Option<u32>,
}

/// One connection, shared by the scheduler (which writes) and its reader task.
struct Lane {
    writer: OwnedWriteHalf,
    /// The name its requests greet.
    name: String,
    state: RefCell<LaneState>,
}

struct LaneState {
    masker: Masker,
    /// Requests written and not yet answered, with their scheduled send times.
    outstanding: InFlight,
    next_id: u64,
    /// Set when the connection broke: its later requests are not written.
    broken: bool,
}

/// Runs `plan` and reports what it measured.
pub(crate) async fn run(plan: &Plan) -> OpenLoopReport {
    let connecting = Instant::now();
    let opened =
        Client::open_many(&[plan.addr], plan.request, plan.listeners, plan.connections).await;
    let connect_secs = connecting.elapsed().as_secs_f64();

    let start = Instant::now() + LEAD;
    let window_start = start + plan.warmup;
    let window_end = window_start + plan.duration;
    let drain_end = window_end + plan.drain;
    let tally = Rc::new(RefCell::new(Tally::new(window_start, window_end)));
    let mut lanes = Vec::with_capacity(opened.len());
    for (index, opened) in opened.into_iter().enumerate() {
        let client = match opened {
            Ok(client) => client,
            Err(problem) => {
                tally.borrow_mut().connection_failed(problem);
                continue;
            }
        };
        let (stream, frames) = client.into_stream();
        let (reader, writer) = stream.into_split();
        let name = client_name(index);
        let lane = Rc::new(Lane {
            writer,
            state: RefCell::new(LaneState {
                masker: Masker::new(index as u64),
                outstanding: InFlight::with_capacity(4),
                next_id: 1,
                broken: false,
            }),
            name,
        });
        tokio::task::spawn_local(read_replies(
            Rc::clone(&lane),
            reader,
            frames,
            Expected {
                endpoint: plan.request.endpoint().endpoint,
                greeting: greeting(&lane.name),
                marked: plan.listeners.marks_replies(),
            },
            Rc::clone(&tally),
            drain_end,
        ));
        lanes.push(lane);
    }

    let scheduler = tokio::task::spawn_local(keep_schedule(
        lanes.clone(),
        plan.clone(),
        start,
        window_end,
        Rc::clone(&tally),
    ));
    sleep_until(window_start).await;
    let server_before = plan
        .server_pid
        .and_then(|pid| procfs::cpu_seconds(pid).ok());
    let own_before = procfs::cpu_seconds(std::process::id()).unwrap_or_default();
    sleep_until(window_end).await;
    let server_after = plan
        .server_pid
        .and_then(|pid| procfs::cpu_seconds(pid).ok());
    let own_after = procfs::cpu_seconds(std::process::id()).unwrap_or_default();
    if timeout_at(drain_end, scheduler).await.is_err() {
        tally
            .borrow_mut()
            .error("the scheduler did not stop at the end of the window".to_owned());
    }

    // The drain: until every timed request has its reply, or its time is up.
    while Instant::now() < drain_end && !tally.borrow().settled() {
        tokio::time::sleep(DRAIN_POLL).await;
    }
    let drained = Instant::now();
    let mut tally = tally.borrow_mut();
    for lane in &lanes {
        for (_, due) in lane.state.borrow().outstanding.outstanding() {
            tally.unanswered(*due, drained);
        }
    }

    let window_secs = plan.duration.as_secs_f64();
    let rate = |count: u64| {
        #[expect(
            clippy::cast_precision_loss,
            reason = "request counts stay far below 2^52"
        )]
        let count = count as f64;
        count / window_secs
    };
    #[expect(
        clippy::cast_precision_loss,
        reason = "connection counts stay far below 2^52"
    )]
    let scheduled_per_sec = plan.connections as f64 / plan.period.as_secs_f64();
    OpenLoopReport {
        request: plan.request,
        connections: plan.connections,
        period_ms: plan.period.as_secs_f64() * 1000.0,
        window_secs,
        scheduled_per_sec,
        scheduled: tally.scheduled,
        sent: tally.sent,
        answered: tally.answered,
        unanswered: tally.unanswered,
        served_per_sec: rate(tally.served),
        latency_us: percentiles(&tally.latency_us),
        send_lag_us: percentiles(&tally.send_lag_us),
        errors: tally.errors,
        connection_failures: tally.connection_failures,
        first_error: tally.first_error.clone(),
        server_cpu_secs: server_before
            .zip(server_after)
            .map(|(before, after)| after - before),
        loadgen_cpu_secs: own_after - own_before,
        connect_secs,
    }
}

/// Writes every request when it is due, from `start` until `end`: slot `s` is connection
/// `s % n`'s request, due at `start + s × period / n`.
async fn keep_schedule(
    lanes: Vec<Rc<Lane>>,
    plan: Plan,
    start: Instant,
    end: Instant,
    tally: Rc<RefCell<Tally>>,
) {
    if lanes.is_empty() {
        return;
    }
    let count = lanes.len() as u128;
    let period_ns = plan.period.as_nanos();
    let due = |slot: u64| {
        let offset = u128::from(slot) * period_ns / count;
        start + Duration::from_nanos(u64::try_from(offset).unwrap_or(u64::MAX))
    };
    let mut request = Vec::with_capacity(256);
    let mut frame = Vec::with_capacity(256);
    let mut slot = 0_u64;
    loop {
        let next = due(slot);
        if next >= end {
            return;
        }
        sleep_until(next).await;
        let mut burst = 0;
        loop {
            let next = due(slot);
            if next >= end {
                return;
            }
            if next > Instant::now() {
                break;
            }
            let lane = &lanes[usize::try_from(u128::from(slot) % count).expect("an index")];
            send(lane, next, plan.request, &mut request, &mut frame, &tally);
            slot += 1;
            burst += 1;
            if burst == MAX_BURST {
                burst = 0;
                tokio::task::yield_now().await;
            }
        }
    }
}

/// Writes `lane`'s next request, due at `due`, in one `try_write`.
fn send(
    lane: &Lane,
    due: Instant,
    kind: RequestKind,
    request: &mut Vec<u8>,
    frame: &mut Vec<u8>,
    tally: &RefCell<Tally>,
) {
    let mut state = lane.state.borrow_mut();
    if state.broken {
        tally.borrow_mut().slot(due, None);
        return;
    }
    let id = state.next_id;
    state.next_id += 1;
    request.clear();
    kind.write(request, id, &lane.name);
    frame.clear();
    state.masker.text(frame, request);
    let problem = match lane.writer.try_write(frame) {
        Ok(written) if written == frame.len() => None,
        Ok(_) => Some("the server stopped reading: a request did not fit in the socket's buffer"),
        Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {
            Some("the server stopped reading: the socket's buffer is full")
        }
        Err(error) => {
            state.broken = true;
            let mut tally = tally.borrow_mut();
            tally.slot(due, None);
            tally.connection_failed(format!("writing a request failed: {error}"));
            return;
        }
    };
    let mut tally = tally.borrow_mut();
    match problem {
        None => {
            state.outstanding.insert(id, due);
            tally.slot(due, Some(Instant::now()));
        }
        Some(problem) => {
            state.broken = true;
            tally.slot(due, None);
            tally.connection_failed(problem.to_owned());
        }
    }
}

/// What every reply on one connection must be.
struct Expected {
    endpoint: &'static str,
    greeting: String,
    marked: bool,
}

/// Reads `lane`'s replies until `stop`, verifying each and timing it from its scheduled send
/// time; answers pings.
async fn read_replies(
    lane: Rc<Lane>,
    mut reader: OwnedReadHalf,
    mut frames: FrameReader,
    expected: Expected,
    tally: Rc<RefCell<Tally>>,
    stop: Instant,
) {
    let mut pongs = Vec::new();
    loop {
        match timeout_at(stop, frames.fill(&mut reader)).await {
            Err(_) => return,
            Ok(Err(error)) => {
                lane.state.borrow_mut().broken = true;
                tally.borrow_mut().connection_failed(error.to_string());
                return;
            }
            Ok(Ok(())) => {}
        }
        let received = Instant::now();
        let mut state = lane.state.borrow_mut();
        let state = &mut *state;
        let mut tally = tally.borrow_mut();
        loop {
            let frame = match frames.next_frame() {
                Ok(Some(frame)) => frame,
                Ok(None) => break,
                Err(error) => {
                    state.broken = true;
                    tally.connection_failed(error.to_string());
                    return;
                }
            };
            let verdict = match frame {
                Frame::Text(payload) => verify(
                    payload,
                    expected.endpoint,
                    &expected.greeting,
                    expected.marked,
                ),
                Frame::Ping(payload) => {
                    state.masker.pong(&mut pongs, payload);
                    continue;
                }
                Frame::Pong => continue,
                Frame::Binary => Verdict::Wrong {
                    id: None,
                    problem: "a binary message".to_owned(),
                },
                Frame::Close(_) => {
                    state.broken = true;
                    tally.connection_failed("the server sent a close frame".to_owned());
                    return;
                }
            };
            match verdict {
                Verdict::Ok(id) => match state.outstanding.take(id) {
                    Some(due) => tally.reply(due, received),
                    None => tally.error(format!("a reply to id {id}, which is not outstanding")),
                },
                Verdict::Wrong { id, problem } => {
                    if let Some(due) = id.and_then(|id| state.outstanding.take(id)) {
                        tally.wrong_reply(due);
                    }
                    tally.error(problem);
                }
            }
        }
        if !pongs.is_empty() {
            // A pong is a few bytes, far less than the socket's buffer ever lacks.
            if lane.writer.try_write(&pongs).ok() != Some(pongs.len()) {
                state.broken = true;
                tally.connection_failed("writing a pong failed".to_owned());
                return;
            }
            pongs.clear();
        }
    }
}

/// The tallies of one run, shared by the scheduler and every reader.
struct Tally {
    window_start: Instant,
    window_end: Instant,
    /// Scheduled → reply read, requests scheduled in the window.
    latency_us: Histogram<u64>,
    /// Scheduled → written, the same requests.
    send_lag_us: Histogram<u64>,
    scheduled: u64,
    sent: u64,
    answered: u64,
    /// Timed requests answered wrongly: neither answered nor outstanding.
    wrong: u64,
    unanswered: u64,
    /// Verified replies read in the window, whenever their requests were scheduled.
    served: u64,
    errors: u64,
    connection_failures: u64,
    first_error: Option<String>,
}

impl Tally {
    fn new(window_start: Instant, window_end: Instant) -> Self {
        // 1 µs to 100 s at three significant digits.
        let histogram = || Histogram::new_with_bounds(1, 100_000_000, 3).expect("valid bounds");
        Self {
            window_start,
            window_end,
            latency_us: histogram(),
            send_lag_us: histogram(),
            scheduled: 0,
            sent: 0,
            answered: 0,
            wrong: 0,
            unanswered: 0,
            served: 0,
            errors: 0,
            connection_failures: 0,
            first_error: None,
        }
    }

    fn in_window(&self, at: Instant) -> bool {
        at >= self.window_start && at < self.window_end
    }

    /// A request due at `due`, written at `written` (or not written: its connection is broken).
    fn slot(&mut self, due: Instant, written: Option<Instant>) {
        if !self.in_window(due) {
            return;
        }
        self.scheduled += 1;
        if let Some(written) = written {
            self.sent += 1;
            self.send_lag_us.saturating_record(micros(due, written));
        }
    }

    /// A verified reply, read at `received`, to the request due at `due`.
    fn reply(&mut self, due: Instant, received: Instant) {
        if self.in_window(received) {
            self.served += 1;
        }
        if self.in_window(due) {
            self.answered += 1;
            self.latency_us.saturating_record(micros(due, received));
        }
    }

    /// A wrong reply to the request due at `due` (the error is counted apart).
    fn wrong_reply(&mut self, due: Instant) {
        if self.in_window(due) {
            self.wrong += 1;
        }
    }

    /// A request due at `due` still unanswered at `at`, when the run ended.
    fn unanswered(&mut self, due: Instant, at: Instant) {
        if self.in_window(due) {
            self.unanswered += 1;
            self.latency_us.saturating_record(micros(due, at));
        }
    }

    /// Whether every timed request written has had its reply.
    fn settled(&self) -> bool {
        self.answered + self.wrong >= self.sent
    }

    fn error(&mut self, problem: String) {
        self.errors += 1;
        self.first_error.get_or_insert(problem);
    }

    fn connection_failed(&mut self, problem: String) {
        self.connection_failures += 1;
        self.first_error.get_or_insert(problem);
    }
}

/// `from` → `to` in whole microseconds, at least 1 (the histogram's lowest value).
fn micros(from: Instant, to: Instant) -> u64 {
    u64::try_from(to.saturating_duration_since(from).as_micros())
        .unwrap_or(u64::MAX)
        .max(1)
}

fn percentiles(histogram: &Histogram<u64>) -> Latency {
    Latency {
        p50: histogram.value_at_quantile(0.50),
        p99: histogram.value_at_quantile(0.99),
        p999: histogram.value_at_quantile(0.999),
        max: histogram.max(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::time::Instant;

    use super::Tally;

    #[test]
    fn only_requests_scheduled_in_the_window_are_timed_from_their_schedule() {
        let start = Instant::now();
        let ms = |millis| start + Duration::from_millis(millis);
        let mut tally = Tally::new(ms(1000), ms(2000));
        // Due in the warm-up, answered in the window: served, not timed.
        tally.slot(ms(900), Some(ms(900)));
        tally.reply(ms(900), ms(1005));
        // Due in the window, written 3 ms late, answered 7 ms after it was due.
        tally.slot(ms(1500), Some(ms(1503)));
        tally.reply(ms(1500), ms(1507));
        // Due in the window, never answered: timed to the end of the run.
        tally.slot(ms(1900), Some(ms(1900)));
        tally.unanswered(ms(1900), ms(2900));
        // Due in the window on a broken connection: scheduled, not sent.
        tally.slot(ms(1950), None);
        assert_eq!(
            (
                tally.scheduled,
                tally.sent,
                tally.answered,
                tally.unanswered
            ),
            (3, 2, 1, 1)
        );
        assert_eq!(tally.served, 2);
        assert!(!tally.settled(), "one timed request is still out");
        let near = |value: u64, expected: u64| value.abs_diff(expected) <= expected / 100;
        assert!(
            near(tally.latency_us.min(), 7_000),
            "{}",
            tally.latency_us.min()
        );
        assert!(near(tally.latency_us.max(), 1_000_000));
        assert!(near(tally.send_lag_us.max(), 3_000));
    }
}
