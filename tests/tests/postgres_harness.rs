//! The PostgreSQL harness itself: a private server accepts connections and answers queries,
//! survives a restart on the same port with its data, serves separate databases, and leaves no
//! process and no files behind once dropped.
//!
//! Queries go through the server's own `psql` (this crate has no SQL client); every wait is
//! bounded.

use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use yoctopus_tests::postgres::PostgresServer;
use yoctopus_tests::processes_using;

/// How long any single wait in these tests may take.
const WAIT: Duration = Duration::from_secs(30);

/// Runs `sql` in `database` with `psql`, returning its unaligned, tuples-only output, or its
/// error output when it fails.
fn query(server: &PostgresServer, database: &str, sql: &str) -> Result<String, String> {
    let mut child = Command::new(server.bindir().join("psql"))
        .args(["-X", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1"])
        .args(["-p", &server.port().to_string(), "-U", "postgres"])
        .args(["-d", database, "-tAc", sql])
        .env("PGCONNECT_TIMEOUT", "10")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("psql runs");
    let read = |pipe: Option<Box<dyn Read + Send>>| {
        let (sender, receiver) = mpsc::channel();
        thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_string(&mut text);
            }
            let _ = sender.send(text);
        });
        receiver
    };
    let stdout = read(child.stdout.take().map(|pipe| Box::new(pipe) as _));
    let stderr = read(child.stderr.take().map(|pipe| Box::new(pipe) as _));
    let deadline = Instant::now() + WAIT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("psql can be waited for") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("psql -c {sql:?} did not finish within {WAIT:?}");
        }
        thread::sleep(Duration::from_millis(20));
    };
    let stdout = stdout.recv_timeout(WAIT).expect("psql's output is read");
    let stderr = stderr.recv_timeout(WAIT).expect("psql's errors are read");
    if status.success() {
        Ok(stdout.trim().to_owned())
    } else {
        Err(format!("{status}: {stderr}"))
    }
}

/// Whether something accepts TCP connections on `port` of 127.0.0.1.
fn port_open(port: u16) -> bool {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    TcpStream::connect_timeout(&address, Duration::from_secs(2)).is_ok()
}

/// `pgrep -f <data_dir>`'s findings (none when pgrep is not installed).
fn pgrep(data_dir: &Path) -> String {
    Command::new("pgrep")
        .arg("-af")
        .arg("--")
        .arg(data_dir)
        .stdin(Stdio::null())
        .output()
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
        .unwrap_or_default()
}

/// Asserts that no process of the cluster in `data_dir` runs and nothing listens on `port`.
fn assert_gone(data_dir: &Path, port: u16) {
    let processes = processes_using(data_dir);
    assert!(processes.is_empty(), "left running: {processes:#?}");
    let pgrep = pgrep(data_dir);
    assert!(pgrep.is_empty(), "pgrep still finds: {pgrep}");
    assert!(!port_open(port), "port {port} still accepts connections");
}

#[test]
fn a_private_server_answers_restarts_serves_databases_and_leaves_nothing_behind() {
    let mut server = PostgresServer::start().expect("PostgreSQL starts");
    let port = server.port();
    let data_dir = server.data_dir().to_owned();
    let dir = data_dir
        .parent()
        .expect("the data directory has a parent")
        .to_owned();
    assert_eq!(
        server.url(),
        format!("postgres://postgres@127.0.0.1:{port}/postgres")
    );
    assert!(server.is_running());
    assert!(
        !processes_using(&data_dir).is_empty(),
        "the postmaster is found"
    );

    // It accepts a connection and answers a query, as the superuser postgres.
    assert_eq!(query(&server, "postgres", "select 1"), Ok("1".to_owned()));
    assert_eq!(
        query(&server, "postgres", "select current_user"),
        Ok("postgres".to_owned())
    );
    query(
        &server,
        "postgres",
        "create table kept (n int); insert into kept values (42)",
    )
    .expect("a table is created");
    let first_start = query(&server, "postgres", "select pg_postmaster_start_time()");

    // Restarted: same port, a new postmaster, the data kept.
    server.restart().expect("PostgreSQL restarts");
    assert_eq!(server.port(), port);
    assert_eq!(query(&server, "postgres", "select 1"), Ok("1".to_owned()));
    assert_ne!(
        query(&server, "postgres", "select pg_postmaster_start_time()"),
        first_start,
        "a new postmaster answers"
    );
    assert_eq!(
        query(&server, "postgres", "select n from kept"),
        Ok("42".to_owned())
    );

    // A second database, separate from the first.
    let url = server
        .create_database("second")
        .expect("a database is created");
    assert_eq!(url, format!("postgres://postgres@127.0.0.1:{port}/second"));
    assert_eq!(
        query(&server, "second", "select current_database()"),
        Ok("second".to_owned())
    );
    assert!(query(&server, "second", "select n from kept").is_err());
    assert!(
        server.create_database("second").is_err(),
        "an existing database is an error"
    );
    assert!(
        server.create_database("bad name").is_err(),
        "a name needing quoting is refused"
    );

    // Stopped: nothing runs, and a restart from stopped works.
    server.stop();
    assert!(!server.is_running());
    assert_gone(&data_dir, port);
    assert!(query(&server, "postgres", "select 1").is_err());
    server
        .restart()
        .expect("PostgreSQL starts again after a stop");
    assert_eq!(
        query(&server, "second", "select current_database()"),
        Ok("second".to_owned())
    );

    // Dropped while running (with a client connected): nothing runs, no files remain.
    let mut idle = Command::new(server.bindir().join("psql"))
        .args(["-X", "-h", "127.0.0.1", "-p", &port.to_string()])
        .args([
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-c",
            "select pg_sleep(600)",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("psql runs");
    let deadline = Instant::now() + WAIT;
    while query(
        &server,
        "postgres",
        "select count(*) from pg_stat_activity where query like 'select pg_sleep%'",
    ) != Ok("1".to_owned())
    {
        assert!(Instant::now() < deadline, "the sleeping client is seen");
        thread::sleep(Duration::from_millis(50));
    }
    drop(server);
    assert_gone(&data_dir, port);
    assert!(!dir.exists(), "{} is removed", dir.display());
    let deadline = Instant::now() + WAIT;
    while idle.try_wait().expect("psql can be waited for").is_none() {
        if Instant::now() >= deadline {
            let _ = idle.kill();
            let _ = idle.wait();
            panic!("the client of the dropped server did not notice within {WAIT:?}");
        }
        thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn servers_started_side_by_side_are_separate() {
    let first = PostgresServer::start().expect("PostgreSQL starts");
    let second = PostgresServer::start().expect("PostgreSQL starts");
    assert_ne!(first.port(), second.port());
    assert_ne!(first.data_dir(), second.data_dir());
    first
        .create_database("only_here")
        .expect("a database is created");
    assert_eq!(
        query(&first, "only_here", "select current_database()"),
        Ok("only_here".to_owned())
    );
    assert!(query(&second, "only_here", "select 1").is_err());
    assert_eq!(query(&second, "postgres", "select 1"), Ok("1".to_owned()));
}
