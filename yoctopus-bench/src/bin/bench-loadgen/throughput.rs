//! The closed-loop throughput run: every connection keeps `in_flight` requests outstanding, writes
//! its batch of new requests in one go, and sends a new request for each verified reply.
//!
//! All connections are open before the clock starts, so the warm-up and the measured window hold
//! only requests. CPU time of the server and of the load generator itself is sampled at the edges
//! of the window, so that a run which pinned the load generator at one full core shows it.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use tokio::time::{timeout_at, Instant};
use yoctopus_bench::procfs;
use yoctopus_bench::report::ThroughputReport;
use yoctopus_bench::request::{Listeners, RequestKind};

use crate::client::Client;
use crate::in_flight::InFlight;
use crate::recorder::Recorder;
use crate::verify::Verdict;

/// How long connections may take to wind down after the window before the run gives up on them.
const WIND_DOWN: Duration = Duration::from_secs(5);

/// What to run.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub(crate) addr: SocketAddr,
    pub(crate) connections: usize,
    pub(crate) in_flight: usize,
    pub(crate) request: RequestKind,
    /// The listeners the server runs, which decide the reply expected.
    pub(crate) listeners: Listeners,
    pub(crate) warmup: Duration,
    pub(crate) duration: Duration,
    pub(crate) server_pid: Option<u32>,
}

/// Runs `plan` and reports what it measured.
pub(crate) async fn run(plan: &Plan) -> ThroughputReport {
    let connecting = Instant::now();
    let opened =
        Client::open_many(&[plan.addr], plan.request, plan.listeners, plan.connections).await;
    let connect_secs = connecting.elapsed().as_secs_f64();

    let window_start = Instant::now() + plan.warmup;
    let window_end = window_start + plan.duration;
    let recorder = Rc::new(RefCell::new(Recorder::new(
        window_start,
        window_end,
        opened.len(),
    )));
    let mut running = Vec::with_capacity(opened.len());
    for (index, client) in opened.into_iter().enumerate() {
        match client {
            Ok(client) => running.push(tokio::task::spawn_local(closed_loop(
                index,
                client,
                plan.in_flight,
                Rc::clone(&recorder),
                window_end,
            ))),
            Err(problem) => recorder.borrow_mut().connection_failed(problem),
        }
    }

    tokio::time::sleep_until(window_start).await;
    let server_before = plan
        .server_pid
        .and_then(|pid| procfs::cpu_seconds(pid).ok());
    let own_before = procfs::cpu_seconds(std::process::id()).unwrap_or_default();
    tokio::time::sleep_until(window_end).await;
    let server_after = plan
        .server_pid
        .and_then(|pid| procfs::cpu_seconds(pid).ok());
    let own_after = procfs::cpu_seconds(std::process::id()).unwrap_or_default();

    for connection in running {
        if timeout_at(window_end + WIND_DOWN, connection)
            .await
            .is_err()
        {
            recorder
                .borrow_mut()
                .connection_failed("a connection did not stop after the window".to_owned());
        }
    }

    let recorder = recorder.borrow();
    let window_secs = plan.duration.as_secs_f64();
    #[expect(
        clippy::cast_precision_loss,
        reason = "request counts stay far below 2^52"
    )]
    let throughput = recorder.completed() as f64 / window_secs;
    ThroughputReport {
        request: plan.request,
        connections: plan.connections,
        in_flight: plan.in_flight,
        window_secs,
        completed: recorder.completed(),
        throughput,
        errors: recorder.errors(),
        connection_failures: recorder.connection_failures(),
        first_error: recorder.first_error().map(str::to_owned),
        latency_us: recorder.latency(),
        fairness: recorder.fairness(),
        server_cpu_secs: server_before
            .zip(server_after)
            .map(|(before, after)| after - before),
        loadgen_cpu_secs: own_after - own_before,
        connect_secs,
    }
}

/// Drives connection number `index` until `window_end`.
async fn closed_loop(
    index: usize,
    mut client: Client,
    depth: usize,
    recorder: Rc<RefCell<Recorder>>,
    window_end: Instant,
) {
    let mut in_flight = InFlight::with_capacity(depth);
    let mut next_id = 1_u64;
    loop {
        let now = Instant::now();
        if now >= window_end {
            return;
        }
        while in_flight.len() < depth {
            client.queue_request(next_id);
            in_flight.insert(next_id, now);
            next_id += 1;
        }
        let exchanged = timeout_at(window_end, async {
            client.flush().await?;
            client.receive().await
        })
        .await;
        match exchanged {
            Err(_) => return,
            Ok(Err(error)) => {
                recorder.borrow_mut().connection_failed(error.to_string());
                return;
            }
            Ok(Ok(())) => {}
        }
        let received = Instant::now();
        let mut recorder = recorder.borrow_mut();
        loop {
            match client.next_reply() {
                Ok(None) => break,
                Ok(Some(Verdict::Ok(id))) => match in_flight.take(id) {
                    Some(sent) => recorder.reply(index, sent, received),
                    None => recorder.error(format!("a reply to id {id}, which is not outstanding")),
                },
                Ok(Some(Verdict::Wrong { id, problem })) => {
                    if let Some(id) = id {
                        in_flight.take(id);
                    }
                    recorder.error(problem);
                }
                Err(error) => {
                    recorder.connection_failed(error.to_string());
                    return;
                }
            }
        }
    }
}
