//! The idle-memory run: open many connections, hold them, then send one request on each and hold
//! them again, so that the driver can read the server's memory between steps.
//!
//! After each step one [`IdlePhase`] line goes to standard output. The next step starts when the
//! controller says so: a line (or the end) on standard input when the driver controls the run, or
//! a fixed pause when a person runs it. Held connections are not read, so a Yoctopus server's
//! pings go unanswered; its default of 3 lost pings 10 s apart leaves far more time than a step
//! takes, and every wait here is bounded well below that.

use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use tokio::io::AsyncBufReadExt as _;
use yoctopus_bench::report::IdlePhase;
use yoctopus_bench::request::{Listeners, RequestKind};

use crate::client::Client;
use crate::verify::Verdict;

/// How long a request may take to be answered.
const REPLY_TIMEOUT: Duration = Duration::from_secs(20);

/// The longest a step is held waiting for the controller.
const MAX_HOLD: Duration = Duration::from_secs(25);

/// Who says when to go on to the next step.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Control {
    /// A line on standard input (or its end).
    Stdin,
    /// A pause of this long.
    Pause(Duration),
}

impl FromStr for Control {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "stdin" => Ok(Self::Stdin),
            seconds => seconds
                .parse::<f64>()
                .ok()
                .and_then(|seconds| Duration::try_from_secs_f64(seconds).ok())
                .map(Self::Pause)
                .ok_or_else(|| format!("expected `stdin` or a pause in seconds, got `{text}`")),
        }
    }
}

/// What to run.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub(crate) addr: SocketAddr,
    pub(crate) connections: usize,
    pub(crate) request: RequestKind,
    /// The listeners the server runs, which decide the reply expected.
    pub(crate) listeners: Listeners,
    pub(crate) control: Control,
}

/// Runs `plan`, printing one line per step.
pub(crate) async fn run(plan: &Plan) {
    let mut stdin = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    let mut advance = async || match plan.control {
        Control::Stdin => {
            let _ = tokio::time::timeout(MAX_HOLD, stdin.next_line()).await;
        }
        Control::Pause(pause) => tokio::time::sleep(pause.min(MAX_HOLD)).await,
    };

    let mut clients = Vec::with_capacity(plan.connections);
    let mut first_error = None;
    for opened in
        Client::open_many(&[plan.addr], plan.request, plan.listeners, plan.connections).await
    {
        match opened {
            Ok(client) => clients.push(client),
            Err(problem) => {
                first_error.get_or_insert(problem);
            }
        }
    }
    print_phase(IdlePhase {
        phase: "connected".to_owned(),
        open: clients.len(),
        failed: plan.connections - clients.len(),
        first_error,
    });
    advance().await;

    let requests: Vec<_> = clients
        .into_iter()
        .map(|client| tokio::task::spawn_local(request_once(client)))
        .collect();
    let mut held = Vec::with_capacity(requests.len());
    let mut failed = 0;
    let mut first_error = None;
    for request in requests {
        match request.await {
            Ok((client, Ok(()))) => held.push(client),
            Ok((_, Err(problem))) => {
                failed += 1;
                first_error.get_or_insert(problem);
            }
            Err(error) => {
                failed += 1;
                first_error.get_or_insert(format!("request task failed: {error}"));
            }
        }
    }
    print_phase(IdlePhase {
        phase: "requested".to_owned(),
        open: held.len(),
        failed,
        first_error,
    });
    advance().await;
    drop(held);
}

/// Sends one request and waits for its verified reply; gives the connection back to be held.
async fn request_once(mut client: Client) -> (Client, Result<(), String>) {
    let exchange = async {
        client.queue_request(1);
        client.flush().await.map_err(|error| error.to_string())?;
        loop {
            client.receive().await.map_err(|error| error.to_string())?;
            match client.next_reply().map_err(|error| error.to_string())? {
                None => {}
                Some(Verdict::Ok(1)) => return Ok(()),
                Some(Verdict::Ok(id)) => {
                    return Err(format!("a reply to id {id}, which was never sent"))
                }
                Some(Verdict::Wrong { problem, .. }) => return Err(problem),
            }
        }
    };
    let outcome = match tokio::time::timeout(REPLY_TIMEOUT, exchange).await {
        Ok(outcome) => outcome,
        Err(_) => Err("no reply in time".to_owned()),
    };
    (client, outcome)
}

fn print_phase(phase: IdlePhase) {
    println!(
        "{}",
        serde_json::to_string(&phase).expect("a phase serializes")
    );
}
