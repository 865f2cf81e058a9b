//! A cluster of three servers, each in a process of its own (`cluster-node`, from
//! `tests/src/bin/cluster-node.rs`), meeting at a private `nats-server`, driven by WebSocket
//! clients through the node's `probe` plugin: what works across servers (notify and close by id,
//! multicast, the register's count, ids and exports), and what happens when things fail: a
//! server killed with SIGKILL, NATS restarted under every server, a server frozen with SIGSTOP.
//!
//! Every test has its own NATS server, its own cluster name and its own temporary directory for
//! the nodes' logs (printed when the test fails); every wait is bounded, every poll bounded in
//! attempts and in time. (The in-process cluster tests, with servers sharing this process, are in
//! `cluster.rs`.)

mod common;

use std::fs::{self, File};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{Client, WAIT};
use serde_json::{json, Value};
use yoctopus_tests::nats::NatsServer;

/// The node program, built by Cargo for these tests.
const NODE_PROGRAM: &str = env!("CARGO_BIN_EXE_cluster-node");

/// Every variable `ServerBuilder::from_env` reads: none is inherited from the environment the
/// tests run in, so only what a test sets configures its nodes.
const SERVER_VARIABLES: [&str; 18] = [
    "PORT",
    "HOST",
    "ALLOWED_ORIGINS",
    "PING_INTERVAL_MS",
    "MAX_LOST_PINGS",
    "MAX_MESSAGE_BYTES",
    "TLS_KEY",
    "TLS_CERT",
    "TLS_CHAIN",
    "TLS_CLIENT_CA",
    "TLS_CA",
    "NATS_URL",
    "CLUSTER_NAME",
    "CLUSTER_HEARTBEAT_MS",
    "CLUSTER_EXPIRE_MS",
    "CLUSTER_GATHER_TIMEOUT_MS",
    "CLUSTER_REQUEST_TIMEOUT_MS",
    "NODE_ID",
];

/// How long between two attempts of a poll.
const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// The most attempts of any poll, whatever its time bound.
const MAX_POLLS: u32 = 400;

/// How much of the end of each node's log a failing test prints.
const LOG_TAIL_BYTES: u64 = 6000;

/// What the node log says when the NATS client is back after an outage (`cluster/link.rs`).
const RECONNECTED: &str = "reconnected to NATS";

/// What the node log says when the NATS client lost its connection (`cluster/link.rs`).
const DISCONNECTED: &str = "lost the connection to NATS";

/// The cluster's timing, given to every node.
#[derive(Debug, Clone, Copy)]
struct Timings {
    heartbeat: Duration,
    expire: Duration,
    gather: Duration,
    request: Duration,
}

/// Short timings, so that failures show within a second or two.
const TIMINGS: Timings = Timings {
    heartbeat: Duration::from_millis(200),
    expire: Duration::from_millis(1000),
    gather: Duration::from_millis(500),
    request: Duration::from_millis(1000),
};

/// One `cluster-node` process: its WebSocket address, its log, its standard output. Dropping it
/// kills the process (SIGKILL) and reaps it.
struct Node {
    name: String,
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
    /// The lines the node printed, read on a thread.
    stdout: mpsc::Receiver<String>,
}

impl Node {
    /// Starts node `name` of cluster `cluster` at `nats_url`, its stderr going to
    /// `dir/NAME.log`, and waits (at most [`WAIT`]) until it prints `listening on PORT`.
    fn spawn(name: &str, dir: &Path, nats_url: &str, cluster: &str, timings: Timings) -> Node {
        let log = dir.join(format!("{name}.log"));
        let stderr = File::create(&log)
            .unwrap_or_else(|error| panic!("could not create {}: {error}", log.display()));
        let mut command = Command::new(NODE_PROGRAM);
        for variable in SERVER_VARIABLES {
            command.env_remove(variable);
        }
        let millis = |duration: Duration| duration.as_millis().to_string();
        command
            .env("PORT", "0")
            .env("HOST", "127.0.0.1")
            .env("NATS_URL", nats_url)
            .env("CLUSTER_NAME", cluster)
            .env("CLUSTER_HEARTBEAT_MS", millis(timings.heartbeat))
            .env("CLUSTER_EXPIRE_MS", millis(timings.expire))
            .env("CLUSTER_GATHER_TIMEOUT_MS", millis(timings.gather))
            .env("CLUSTER_REQUEST_TIMEOUT_MS", millis(timings.request))
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr);
        let mut child = command
            .spawn()
            .unwrap_or_else(|error| panic!("could not run {NODE_PROGRAM}: {error}"));
        let stdout = child.stdout.take().expect("the node's stdout is piped");
        let (sender, receiver) = mpsc::channel();
        thread::spawn(move || {
            // Read to the end, so the node never blocks on a full pipe.
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = sender.send(line);
            }
        });
        // From here on, dropping `node` kills the process, whatever fails.
        let mut node = Node {
            name: name.to_owned(),
            child,
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            log,
            stdout: receiver,
        };
        let line = match node.stdout.recv_timeout(WAIT) {
            Ok(line) => line,
            Err(error) => panic!(
                "{name} did not print `listening on PORT` within {WAIT:?} ({error}); its log:\n{}",
                node.log_tail()
            ),
        };
        let port: u16 = line
            .strip_prefix("listening on ")
            .and_then(|port| port.trim().parse().ok())
            .unwrap_or_else(|| panic!("{name} printed {line:?}, not `listening on PORT`"));
        node.addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        node
    }

    fn addr(&self) -> SocketAddr {
        self.addr
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The node's log so far.
    fn log_text(&self) -> String {
        fs::read(&self.log)
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_else(|error| format!("(could not read {}: {error})", self.log.display()))
    }

    /// The end of the node's log, for a failure's message.
    fn log_tail(&self) -> String {
        let read = || -> std::io::Result<String> {
            let mut file = File::open(&self.log)?;
            let length = file.metadata()?.len();
            file.seek(SeekFrom::Start(length.saturating_sub(LOG_TAIL_BYTES)))?;
            let mut bytes = Vec::new();
            file.read_to_end(&mut bytes)?;
            Ok(String::from_utf8_lossy(&bytes).into_owned())
        };
        read().unwrap_or_else(|error| format!("(could not read the log: {error})"))
    }

    /// Waits (at most `within`, polling) until the node's log contains `needle`.
    async fn wait_for_log(&self, needle: &str, within: Duration) {
        let mut poll = Poll::new(within);
        while !self.log_text().contains(needle) {
            assert!(
                poll.again().await,
                "{}'s log did not say {needle:?} within {within:?}; its end:\n{}",
                self.name,
                self.log_tail()
            );
        }
    }

    /// Whether the process is still running (neither exited nor killed).
    fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Kills the process at once (SIGKILL: no goodbye to the cluster) and reaps it.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let reaped = wait_until(&mut self.child, Instant::now() + WAIT);
        assert!(
            reaped.is_some(),
            "{} was not reaped after SIGKILL",
            self.name
        );
    }

    /// Freezes the process (SIGSTOP), and waits until the kernel says it is stopped.
    fn pause(&self) {
        self.signal("STOP");
        let mut attempts = 0;
        while self.state() != Some('T') {
            attempts += 1;
            assert!(
                attempts < 500,
                "{} is not stopped after SIGSTOP (state {:?})",
                self.name,
                self.state()
            );
            thread::sleep(Duration::from_millis(2));
        }
    }

    /// Lets a frozen process go on (SIGCONT).
    fn resume(&self) {
        self.signal("CONT");
    }

    /// Asks the process to shut down (SIGTERM) and waits (at most [`WAIT`]) until it exits;
    /// answers how it exited, and what it printed after its first line.
    fn terminate(&mut self) -> (ExitStatus, Vec<String>) {
        self.signal("TERM");
        let status = wait_until(&mut self.child, Instant::now() + WAIT).unwrap_or_else(|| {
            panic!(
                "{} did not exit within {WAIT:?} of SIGTERM; its log:\n{}",
                self.name,
                self.log_tail()
            )
        });
        // The pipe closes with the process; what is left in it is read within a bound.
        let mut more = Vec::new();
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stdout.recv_timeout(left) {
                Ok(line) => more.push(line),
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    panic!("{}'s stdout did not close after it exited", self.name)
                }
            }
        }
        (status, more)
    }

    /// Sends `signal` (a name `kill -s` knows) to the process, which must not have been reaped
    /// (so its pid is still its own).
    fn signal(&self, signal: &str) {
        let mut kill = Command::new("kill");
        kill.args(["-s", signal, &self.pid().to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut child = kill
            .spawn()
            .unwrap_or_else(|error| panic!("could not run `kill`: {error}"));
        let status = wait_until(&mut child, Instant::now() + WAIT).unwrap_or_else(|| {
            let _ = child.kill();
            let _ = wait_until(&mut child, Instant::now() + WAIT);
            panic!("`kill -s {signal}` did not finish within {WAIT:?}")
        });
        assert!(
            status.success(),
            "`kill -s {signal} {}` failed: {status}",
            self.pid()
        );
    }

    /// The process's state letter in /proc (`R`, `S`, `T` for stopped, ...).
    fn state(&self) -> Option<char> {
        let stat = fs::read_to_string(format!("/proc/{}/stat", self.pid())).ok()?;
        // `pid (comm) state ...`: the name may hold spaces and parentheses, so after the last `)`.
        stat.rsplit_once(')')?.1.trim_start().chars().next()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = wait_until(&mut self.child, Instant::now() + WAIT);
        }
    }
}

/// Waits for `child` to exit, until `deadline`; `None` when it still runs then.
fn wait_until(child: &mut Child, deadline: Instant) -> Option<ExitStatus> {
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) => {}
            Err(_) => return None,
        }
        let now = Instant::now();
        if now >= deadline {
            return None;
        }
        thread::sleep(Duration::from_millis(10).min(deadline - now));
    }
}

/// A private NATS server and three nodes meeting at it, under a cluster name of their own. Dropping
/// it kills the nodes, then stops NATS; when the test failed, it prints the end of every node's
/// log and keeps the directory.
struct TestCluster {
    nats: NatsServer,
    nodes: Vec<Node>,
    dir: PathBuf,
    timings: Timings,
}

impl TestCluster {
    fn start(test: &str, timings: Timings) -> TestCluster {
        let nats = NatsServer::start()
            .expect("a private nats-server starts (bash scripts/install-test-deps.sh)");
        let dir = fresh_dir(test);
        let cluster = format!("failures-{test}-{}", std::process::id());
        let mut started = TestCluster {
            nats,
            nodes: Vec::new(),
            dir,
            timings,
        };
        for n in 1..=3 {
            let node = Node::spawn(
                &format!("node-{n}"),
                &started.dir,
                &started.nats.url(),
                &cluster,
                timings,
            );
            started.nodes.push(node);
        }
        started
    }

    /// Node `n`, counted from 1.
    fn node(&self, n: usize) -> &Node {
        &self.nodes[n - 1]
    }

    fn node_mut(&mut self, n: usize) -> &mut Node {
        &mut self.nodes[n - 1]
    }

    /// A client of node `n`.
    async fn client(&self, n: usize) -> Client {
        Client::connect(self.node(n).addr()).await
    }

    /// A client of node `n` whose connection is labelled `label` (`yoctopus:label`).
    async fn labelled(&self, n: usize, label: &str) -> Client {
        let mut client = self.client(n).await;
        client
            .assert_ok("yoctopus:label", "update", json!(label), json!({}))
            .await;
        client
    }

    /// How long a node killed or gone silent may stay in the others' register: until it
    /// expires, noticed at the next heartbeat or two, plus slack for a busy machine.
    fn expiry_bound(&self) -> Duration {
        self.timings.expire + 3 * self.timings.heartbeat + Duration::from_secs(3)
    }

    /// Asserts that every node not killed on purpose still runs.
    fn assert_running(&mut self, nodes: &[usize]) {
        for &n in nodes {
            let node = self.node_mut(n);
            assert!(
                node.is_running(),
                "{} exited; its log:\n{}",
                node.name,
                node.log_tail()
            );
        }
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        let failed = thread::panicking();
        if failed {
            for node in &self.nodes {
                eprintln!(
                    "---- the end of {}'s log ({}) ----\n{}",
                    node.name,
                    node.log.display(),
                    node.log_tail()
                );
            }
        }
        self.nodes.clear();
        if failed {
            eprintln!("the nodes' logs are kept in {}", self.dir.display());
        } else {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// A fresh directory for one test's logs.
fn fresh_dir(test: &str) -> PathBuf {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.subsec_nanos());
    let dir = std::env::temp_dir().join(format!(
        "yoctopus-cluster-failures-{test}-{}-{nanos}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    fs::create_dir_all(&dir)
        .unwrap_or_else(|error| panic!("could not create {}: {error}", dir.display()));
    dir
}

/// A poll bounded in time and in attempts.
struct Poll {
    started: Instant,
    within: Duration,
    attempts: u32,
}

impl Poll {
    fn new(within: Duration) -> Poll {
        Poll {
            started: Instant::now(),
            within,
            attempts: 0,
        }
    }

    /// Whether one more attempt may be made (after a pause, but for the first); `false` once
    /// the time or the attempts are spent.
    async fn again(&mut self) -> bool {
        if self.attempts > 0 {
            tokio::time::sleep(POLL_INTERVAL).await;
        }
        self.attempts += 1;
        self.attempts <= MAX_POLLS && self.started.elapsed() < self.within
    }
}

/// The connection id of `client`.
async fn id_of(client: &mut Client) -> String {
    let id = client.ok("probe:whoami", "read", Value::Null).await;
    id.as_str().expect("an id is a string").to_owned()
}

/// The node part of a connection id.
fn node_of(id: &str) -> &str {
    id.split_once('-').map_or(id, |(node, _)| node)
}

/// `from` notifies connection `to_id` with `text` (answered `{}`), and `to` receives exactly that
/// push next.
async fn notify_arrives(from: &mut Client, to_id: &str, to: &mut Client, text: &str) {
    from.assert_ok(
        "probe:notify",
        "create",
        json!({"to": to_id, "text": text}),
        json!({}),
    )
    .await;
    assert_eq!(to.recv_json().await, probe_push(text));
}

/// The push `probe:notify` and `probe:multicast` send.
fn probe_push(text: &str) -> Value {
    json!({"meta": {"method": "notify", "type": "probe"}, "data": {"text": text}})
}

/// What `probe:register` answers when the register holds `ids`, complete or not.
fn register_of(ids: &[&String], complete: bool) -> Value {
    let mut ids: Vec<&String> = ids.to_vec();
    ids.sort();
    json!({"count": ids.len(), "ids": ids, "complete": complete})
}

/// The pushes that reached `client` before the answer to a request sent now: since a server
/// writes a connection's frames in order, nothing queued before the request can come after.
async fn pushes_before_reply(client: &mut Client) -> Vec<Value> {
    let (reply, pushes) = reply_and_pushes(client, "probe:whoami", "read", Value::Null).await;
    assert_eq!(reply["meta"]["status"], "ok", "whoami answers: {reply}");
    pushes
}

/// Sends a request; answers its reply and the pushes that arrived before it.
async fn reply_and_pushes(
    client: &mut Client,
    endpoint: &str,
    method: &str,
    data: Value,
) -> (Value, Vec<Value>) {
    client.send_request("after", endpoint, method, data).await;
    let mut pushes = Vec::new();
    loop {
        let message = client.recv_json().await;
        if message["meta"]["id"] == json!("after") {
            return (message, pushes);
        }
        pushes.push(message);
    }
}

/// Sends a request and answers the whole reply, with how long it took (bounded by [`WAIT`]:
/// `Client` fails the test when nothing arrives in time).
async fn timed(
    client: &mut Client,
    endpoint: &str,
    method: &str,
    data: Value,
) -> (Value, Duration) {
    let started = Instant::now();
    let reply = client.request("timed", endpoint, method, data).await;
    (reply, started.elapsed())
}

/// The `error` of `reply`, failing the test when it is not an error reply.
fn error_of(reply: &Value) -> String {
    assert_eq!(
        reply["meta"]["status"], "error",
        "expected an error reply, got {reply}"
    );
    reply["error"]
        .as_str()
        .unwrap_or_else(|| panic!("the error is a string: {reply}"))
        .to_owned()
}

#[tokio::test]
async fn a_notify_by_id_crosses_servers_and_a_closed_id_is_an_error() {
    let cluster = TestCluster::start("notify", TIMINGS);
    let mut on_1 = cluster.client(1).await;
    let mut on_2 = cluster.client(2).await;
    let mut on_3 = cluster.client(3).await;
    let (id_1, id_2, id_3) = (
        id_of(&mut on_1).await,
        id_of(&mut on_2).await,
        id_of(&mut on_3).await,
    );
    assert_ne!(node_of(&id_1), node_of(&id_3), "two servers, two node ids");
    assert_ne!(node_of(&id_2), node_of(&id_3), "two servers, two node ids");

    // From node 1 to node 3, and back.
    notify_arrives(&mut on_1, &id_3, &mut on_3, "from node 1").await;
    notify_arrives(&mut on_3, &id_1, &mut on_1, "from node 3").await;
    for client in [&mut on_1, &mut on_2, &mut on_3] {
        assert_eq!(
            pushes_before_reply(client).await,
            Vec::<Value>::new(),
            "each push reached its one connection, once"
        );
    }

    // Ids that name no open connection: on a node of the cluster, and on no node at all.
    let never_opened = format!("{}-999999", node_of(&id_3));
    on_1.assert_error(
        "probe:notify",
        "create",
        json!({"to": never_opened, "text": "nobody"}),
        json!(format!("no open connection has id {never_opened}")),
    )
    .await;
    let no_such_node = "00000000000000ff-1";
    on_1.assert_error(
        "probe:notify",
        "create",
        json!({"to": no_such_node, "text": "nobody"}),
        json!(format!("no open connection has id {no_such_node}")),
    )
    .await;
    on_1.assert_error(
        "probe:notify",
        "create",
        json!({"to": "not-an-id", "text": "nobody"}),
        json!("`not-an-id` is not a connection id"),
    )
    .await;

    // Closed by id from another server: the close frame arrives, with the probe's code.
    on_1.assert_ok("probe:close", "create", json!({"to": id_2}), json!({}))
        .await;
    assert_eq!(on_2.close_code().await, Some(1000));

    // Closed by its client: once node 3 has let it go, notifying it is an error.
    on_3.close().await;
    let mut poll = Poll::new(WAIT);
    let error = loop {
        assert!(
            poll.again().await,
            "a notify to {id_3} still succeeded {WAIT:?} after its connection closed"
        );
        let reply = on_1
            .request(
                "late",
                "probe:notify",
                "create",
                json!({"to": id_3, "text": "too late"}),
            )
            .await;
        if reply["meta"]["status"] == "error" {
            break error_of(&reply);
        }
        assert_eq!(reply["data"], json!({}), "{reply}");
    };
    assert_eq!(error, format!("no open connection has id {id_3}"));
    // And closing it is the same error.
    on_1.assert_error(
        "probe:close",
        "create",
        json!({"to": id_3}),
        json!(format!("no open connection has id {id_3}")),
    )
    .await;
}

#[tokio::test]
async fn a_multicast_reaches_exactly_the_matching_connections_on_every_server() {
    let cluster = TestCluster::start("multicast", TIMINGS);
    // Per node: three labelled connections and one without a label.
    let layout: [(usize, Option<&str>); 12] = [
        (1, Some("red")),
        (1, Some("blue")),
        (1, Some("green")),
        (1, None),
        (2, Some("red")),
        (2, Some("red")),
        (2, Some("blue")),
        (2, None),
        (3, Some("blue")),
        (3, Some("red")),
        (3, Some("blue")),
        (3, None),
    ];
    let mut clients = Vec::new();
    for (n, label) in layout {
        let client = match label {
            Some(label) => cluster.labelled(n, label).await,
            None => cluster.client(n).await,
        };
        clients.push(client);
    }
    // Sent by the unlabelled connection of each node in turn, which no multicast reaches.
    let senders = [3, 7, 11];
    let cases = [
        ("red", 4, senders[0]),
        ("blue", 4, senders[2]),
        ("green", 1, senders[1]),
        ("purple", 0, senders[0]),
    ];
    for (label, expected, sender) in cases {
        let text = format!("to every {label} connection");
        let reply = clients[sender]
            .ok(
                "probe:multicast",
                "create",
                json!({"label": label, "text": text}),
            )
            .await;
        assert_eq!(
            reply,
            json!({"reached": expected}),
            "a multicast to {label} from node {}",
            layout[sender].0
        );
        for (k, client) in clients.iter_mut().enumerate() {
            let pushes = pushes_before_reply(client).await;
            let (n, client_label) = layout[k];
            if client_label == Some(label) {
                assert_eq!(
                    pushes,
                    vec![probe_push(&text)],
                    "{label}: connection {k} (node {n}) gets the push once"
                );
            } else {
                assert_eq!(
                    pushes,
                    Vec::<Value>::new(),
                    "{label}: connection {k} (node {n}, label {client_label:?}) gets nothing"
                );
            }
        }
    }
}

#[tokio::test]
async fn the_register_counts_lists_and_exports_every_servers_connections() {
    let mut cluster = TestCluster::start("register", TIMINGS);
    // Two connections on node 1, one on node 2, three on node 3, each labelled after its place.
    let mut clients = Vec::new();
    let mut expected: Vec<(String, String, usize)> = Vec::new();
    for (n, how_many) in [(1, 2), (2, 1), (3, 3)] {
        for k in 0..how_many {
            let label = format!("n{n}-{k}");
            let mut client = cluster.labelled(n, &label).await;
            expected.push((id_of(&mut client).await, label, n));
            clients.push(client);
        }
    }
    let ids: Vec<&String> = expected.iter().map(|(id, _, _)| id).collect();
    let all = register_of(&ids, true);

    // Asked of each node: every connection of all three, complete.
    for (client, n) in [(0, 1), (2, 2), (3, 3)] {
        let register = clients[client]
            .ok("probe:register", "read", Value::Null)
            .await;
        assert_eq!(register, all, "the register as node {n} sees it");
    }

    // Every connection's export, with its label and the port of the server that holds it.
    let reply = clients[2].ok("probe:exports", "read", Value::Null).await;
    assert_eq!(reply["complete"], json!(true), "{reply}");
    let exports = reply["exports"]
        .as_object()
        .unwrap_or_else(|| panic!("exports is an object: {reply}"));
    let mut exported: Vec<&String> = exports.keys().collect();
    exported.sort();
    let mut listed = ids.clone();
    listed.sort();
    assert_eq!(exported, listed, "one export per connection");
    for (id, label, n) in &expected {
        let settings = &exports[id.as_str()]["yoctopus"];
        assert_eq!(settings["label"], json!(label), "{id}: {settings}");
        assert_eq!(
            settings["port"],
            json!(cluster.node(*n).addr().port()),
            "{id} is held by node {n}: {settings}"
        );
        assert_eq!(settings["remoteAddress"], json!("127.0.0.1"), "{settings}");
        assert_eq!(settings["isSecure"], json!(false), "{settings}");
    }

    // Closed connections leave every server's register.
    for client in clients {
        client.close().await;
    }
    let mut watcher = cluster.client(2).await;
    let watcher_id = id_of(&mut watcher).await;
    let only_watcher = register_of(&[&watcher_id], true);
    let mut poll = Poll::new(WAIT);
    let mut last = Value::Null;
    while last != only_watcher {
        assert!(
            poll.again().await,
            "the register still says {last} {WAIT:?} after its connections closed"
        );
        last = watcher.ok("probe:register", "read", Value::Null).await;
    }
    watcher.close().await;

    // A node asked to stop (SIGTERM) leaves the cluster and exits cleanly, having printed
    // nothing but its port.
    for n in [1, 2, 3] {
        let node = cluster.node_mut(n);
        let (status, more) = node.terminate();
        assert!(
            status.success(),
            "node {n} exits with 0: {status}; its log:\n{}",
            node.log_tail()
        );
        assert_eq!(more, Vec::<String>::new(), "node {n} printed only its port");
        let log = node.log_text();
        for said in ["shutting down", "left the cluster", "server stopped"] {
            assert!(log.contains(said), "node {n}'s log says {said:?}:\n{log}");
        }
    }
}

#[tokio::test]
async fn a_killed_server_leaves_the_register_and_the_others_keep_serving() {
    let mut cluster = TestCluster::start("killed", TIMINGS);
    let mut a = cluster.labelled(1, "red").await;
    let mut b = cluster.client(2).await;
    let mut c1 = cluster.labelled(3, "red").await;
    let mut c2 = cluster.client(3).await;
    let (id_a, id_b, id_c1, id_c2) = (
        id_of(&mut a).await,
        id_of(&mut b).await,
        id_of(&mut c1).await,
        id_of(&mut c2).await,
    );
    assert_eq!(
        a.ok("probe:register", "read", Value::Null).await,
        register_of(&[&id_a, &id_b, &id_c1, &id_c2], true)
    );

    cluster.node_mut(3).kill();
    let killed = Instant::now();
    drop((c1, c2));

    // Nodes 1 and 2 go on serving, and reach each other.
    assert_eq!(id_of(&mut a).await, id_a);
    notify_arrives(&mut a, &id_b, &mut b, "still here").await;
    notify_arrives(&mut b, &id_a, &mut a, "me too").await;

    // A push to a connection of the dead server is an error, answered within the request
    // timeout; once NATS has noticed that node 3 is gone, it says so at once.
    let mut poll = Poll::new(WAIT);
    loop {
        assert!(
            poll.again().await,
            "a notify to {id_c1} never said `no open connection`"
        );
        let (reply, took) = timed(
            &mut a,
            "probe:notify",
            "create",
            json!({"to": id_c1, "text": "anyone?"}),
        )
        .await;
        let error = error_of(&reply);
        assert!(
            took < cluster.timings.request + Duration::from_secs(2),
            "the error took {took:?}: {error}"
        );
        if error == format!("no open connection has id {id_c1}") {
            break;
        }
        assert!(
            error.starts_with("delivery is unavailable"),
            "a notify to a dead server's connection: {error}"
        );
    }

    // Within the expiry bound, node 3's connections are gone from both survivors' registers,
    // and the answer is complete again (nobody left to wait for).
    let survivors = register_of(&[&id_a, &id_b], true);
    let bound = cluster.expiry_bound();
    for (client, n) in [(&mut a, 1), (&mut b, 2)] {
        let mut poll = Poll::new(bound.saturating_sub(killed.elapsed()));
        let mut last = Value::Null;
        while last != survivors {
            assert!(
                poll.again().await,
                "{:?} after the kill, node {n}'s register still says {last}",
                killed.elapsed()
            );
            last = client.ok("probe:register", "read", Value::Null).await;
        }
    }
    let expired_after = killed.elapsed();
    assert!(expired_after <= bound, "expired after {expired_after:?}");
    for n in [1, 2] {
        cluster
            .node(n)
            .wait_for_log("went silent and is counted gone", WAIT)
            .await;
    }

    // A multicast now waits for nobody: node 1's red connection only, well within the gather
    // timeout.
    let (reply, took) = timed(
        &mut b,
        "probe:multicast",
        "create",
        json!({"label": "red", "text": "after the kill"}),
    )
    .await;
    assert_eq!(reply["data"], json!({"reached": 1}), "{reply}");
    assert!(
        took < cluster.timings.gather,
        "the multicast took {took:?}: it waited for the dead server"
    );
    assert_eq!(
        pushes_before_reply(&mut a).await,
        vec![probe_push("after the kill")]
    );
    cluster.assert_running(&[1, 2]);
}

#[tokio::test]
async fn while_nats_is_down_delivery_fails_fast_and_resumes_after_the_restart() {
    let mut cluster = TestCluster::start("nats-restart", TIMINGS);
    let mut a1 = cluster.client(1).await;
    let mut a2 = cluster.client(1).await;
    let mut b = cluster.labelled(2, "red").await;
    let mut c = cluster.labelled(3, "red").await;
    let (id_a1, id_a2, id_b, id_c) = (
        id_of(&mut a1).await,
        id_of(&mut a2).await,
        id_of(&mut b).await,
        id_of(&mut c).await,
    );
    let everyone = register_of(&[&id_a1, &id_a2, &id_b, &id_c], true);
    notify_arrives(&mut a1, &id_c, &mut c, "before").await;

    cluster.nats.stop();

    // Whatever needs another server is an error at once, never a hang; this server's own
    // connections are reached as ever.
    let unavailable = "delivery is unavailable";
    for (endpoint, method, data) in [
        (
            "probe:notify",
            "create",
            json!({"to": id_c, "text": "during"}),
        ),
        (
            "probe:multicast",
            "create",
            json!({"label": "red", "text": "during"}),
        ),
        ("probe:register", "read", Value::Null),
        ("probe:exports", "read", Value::Null),
    ] {
        let (reply, took) = timed(&mut a1, endpoint, method, data).await;
        let error = error_of(&reply);
        assert!(
            error.starts_with(unavailable),
            "{endpoint} while NATS is down: {error}"
        );
        assert!(took < WAIT, "{endpoint} was answered after {took:?}");
        eprintln!("while NATS is down, {endpoint} is answered after {took:?}: {error}");
    }
    notify_arrives(&mut a1, &id_a2, &mut a2, "local").await;
    for n in [1, 2, 3] {
        cluster.node(n).wait_for_log(DISCONNECTED, WAIT).await;
    }

    // NATS stays away longer than a node may be silent: every node counts the others gone, so
    // after the restart the cluster must learn its members again. Meanwhile, every push to
    // another server keeps failing at once.
    let outage = cluster.timings.expire + 3 * cluster.timings.heartbeat;
    let down = Instant::now();
    let mut tries = 0;
    while down.elapsed() < outage {
        tries += 1;
        let (reply, took) = timed(
            &mut a1,
            "probe:notify",
            "create",
            json!({"to": id_b, "text": format!("down {tries}")}),
        )
        .await;
        let error = error_of(&reply);
        assert!(error.starts_with(unavailable), "try {tries}: {error}");
        assert!(took < WAIT, "try {tries} was answered after {took:?}");
        tokio::time::sleep(cluster.timings.heartbeat).await;
    }
    for n in [1, 2, 3] {
        cluster
            .node(n)
            .wait_for_log("went silent and is counted gone", WAIT)
            .await;
    }

    cluster
        .nats
        .restart()
        .expect("nats-server starts again on its port");
    let restarted = Instant::now();

    // Delivery resumes by itself: poll a cross-server notify until it is queued.
    let mut poll = Poll::new(WAIT);
    let mut failed: Vec<(String, String)> = Vec::new();
    let delivered = loop {
        assert!(
            poll.again().await,
            "no notify to node 3 succeeded within {WAIT:?} of the restart: {failed:?}"
        );
        let text = format!("after the restart, attempt {}", failed.len() + 1);
        let reply = a1
            .request(
                "again",
                "probe:notify",
                "create",
                json!({"to": id_c, "text": text}),
            )
            .await;
        if reply["meta"]["status"] == "ok" {
            break text;
        }
        failed.push((text, error_of(&reply)));
    };
    let resumed_after = restarted.elapsed();
    let mut kinds: Vec<&str> = failed.iter().map(|(_, error)| error.as_str()).collect();
    kinds.dedup();
    eprintln!(
        "delivery resumed {resumed_after:?} after the restart, at attempt {} (failures before \
         it: {kinds:?})",
        failed.len() + 1
    );

    // Every node says it reconnected; the cluster knows all its members and connections again.
    for n in [1, 2, 3] {
        cluster.node(n).wait_for_log(RECONNECTED, WAIT).await;
    }
    let mut poll = Poll::new(WAIT);
    let mut last = Value::Null;
    let mut seen = Vec::new();
    while last != everyone {
        assert!(
            poll.again().await,
            "after the restart the register still says {last}"
        );
        last = a1.ok("probe:register", "read", Value::Null).await;
        if seen.last() != Some(&last) {
            seen.push(last.clone());
        }
    }
    eprintln!(
        "the register {:?} after the restart: {seen:?}",
        restarted.elapsed()
    );
    let reply = a1
        .ok(
            "probe:multicast",
            "create",
            json!({"label": "red", "text": "all back"}),
        )
        .await;
    assert_eq!(reply, json!({"reached": 2}));
    assert_eq!(
        pushes_before_reply(&mut b).await,
        vec![probe_push("all back")],
        "node 2's connection gets the multicast once, and none of the pushes that failed"
    );
    assert_eq!(pushes_before_reply(&mut a2).await, Vec::<Value>::new());

    // Node 3's connection: the notify that succeeded, then the multicast, once each. A failed
    // attempt may arrive too only if it was handed to NATS (its answer was what got lost): one
    // refused because NATS was away, or because nobody listened, never was.
    let pushes = pushes_before_reply(&mut c).await;
    let texts: Vec<&str> = pushes
        .iter()
        .map(|push| {
            assert_eq!(push["meta"]["type"], "probe", "{pushes:?}");
            push["data"]["text"].as_str().unwrap_or_default()
        })
        .collect();
    let position = |wanted: &str| texts.iter().position(|text| *text == wanted);
    let (Some(notified), Some(multicast)) = (position(&delivered), position("all back")) else {
        panic!("node 3's connection got {texts:?}, not {delivered:?} and \"all back\"");
    };
    assert!(notified < multicast, "in order: {texts:?}");
    assert_eq!(
        multicast,
        texts.len() - 1,
        "nothing after the multicast: {texts:?}"
    );
    for (k, text) in texts.iter().enumerate() {
        if k == notified || k == multicast {
            continue;
        }
        let attempt = failed.iter().find(|(sent, _)| sent == text);
        let Some((_, error)) = attempt else {
            panic!("node 3's connection got {text:?}, which nobody sent it: {texts:?}");
        };
        assert!(
            !error.starts_with("delivery is unavailable: not connected")
                && !error.starts_with("no open connection"),
            "{text:?} was refused with {error:?}, yet it arrived: {texts:?}"
        );
        assert_eq!(position(text), Some(k), "{text:?} arrived twice: {texts:?}");
    }
    cluster.assert_running(&[1, 2, 3]);
}

#[tokio::test]
async fn a_frozen_server_makes_register_answers_incomplete_not_late() {
    // Expiry well beyond the time node 3 stays frozen, so that it is a member that does not
    // answer (not a member counted gone) all along.
    let timings = Timings {
        expire: Duration::from_millis(4000),
        ..TIMINGS
    };
    let mut cluster = TestCluster::start("frozen", timings);
    let mut a1 = cluster.client(1).await;
    let mut a2 = cluster.client(1).await;
    let mut b = cluster.client(2).await;
    let mut c = cluster.client(3).await;
    let (id_a1, id_a2, id_b, id_c) = (
        id_of(&mut a1).await,
        id_of(&mut a2).await,
        id_of(&mut b).await,
        id_of(&mut c).await,
    );
    let everyone = register_of(&[&id_a1, &id_a2, &id_b, &id_c], true);
    assert_eq!(a1.ok("probe:register", "read", Value::Null).await, everyone);

    cluster.node(3).pause();
    let frozen = Instant::now();

    // Answered at the gather timeout, with what nodes 1 and 2 hold, marked incomplete.
    let (reply, took) = timed(&mut a1, "probe:register", "read", Value::Null).await;
    assert_eq!(
        reply["data"],
        register_of(&[&id_a1, &id_a2, &id_b], false),
        "{reply}"
    );
    assert!(
        took >= timings.gather.saturating_sub(Duration::from_millis(50)),
        "the register was answered after {took:?}, before the gather timeout"
    );
    assert!(
        took < timings.gather + Duration::from_secs(2),
        "the register was answered after {took:?}"
    );
    let (reply, _) = timed(&mut b, "probe:exports", "read", Value::Null).await;
    assert_eq!(reply["data"]["complete"], json!(false), "{reply}");
    let mut exported: Vec<&String> = reply["data"]["exports"]
        .as_object()
        .map(|exports| exports.keys().collect())
        .unwrap_or_default();
    exported.sort();
    let mut expected = vec![&id_a1, &id_a2, &id_b];
    expected.sort();
    assert_eq!(exported, expected, "{reply}");

    // Nodes 1 and 2 still reach each other at once; a push to node 3 fails within the request
    // timeout.
    notify_arrives(&mut a1, &id_b, &mut b, "node 3 is frozen").await;
    let (reply, took) = timed(
        &mut a1,
        "probe:notify",
        "create",
        json!({"to": id_c, "text": "while frozen"}),
    )
    .await;
    let error = error_of(&reply);
    assert!(
        error.starts_with("delivery is unavailable"),
        "a push to a frozen server: {error}"
    );
    assert!(
        took < timings.request + Duration::from_secs(2),
        "the push to a frozen server was answered after {took:?}"
    );
    assert!(
        frozen.elapsed() < timings.expire,
        "node 3 was frozen for {:?}, longer than it may be silent: the checks above did not \
         see a member that does not answer",
        frozen.elapsed()
    );

    cluster.node(3).resume();

    // Node 3 serves again, and every register read is complete with every connection. The push
    // whose sender was told it failed may still arrive: it waited for node 3 on NATS all along,
    // and node 3 takes it from there in its own time, before or after anything below.
    let mut late = pushes_before_reply(&mut c).await;
    for (client, n) in [(&mut a1, 1), (&mut b, 2)] {
        assert_eq!(
            client.ok("probe:register", "read", Value::Null).await,
            everyone,
            "the register as node {n} sees it after SIGCONT"
        );
    }
    let (reply, pushes) = reply_and_pushes(&mut c, "probe:register", "read", Value::Null).await;
    late.extend(pushes);
    assert_eq!(
        reply["data"], everyone,
        "the register as node 3 sees it after SIGCONT: {reply}"
    );
    assert!(
        late.is_empty() || late == vec![probe_push("while frozen")],
        "node 3's connection got {late:?}"
    );
    eprintln!("after SIGCONT, the notify that had failed with {error:?} delivered: {late:?}");
    cluster.assert_running(&[1, 2, 3]);
}
