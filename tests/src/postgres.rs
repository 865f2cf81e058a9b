//! A private PostgreSQL server for tests.
//!
//! Tests of code that talks to PostgreSQL need a real server: a fake would only check what its
//! author believed PostgreSQL does. [`PostgresServer::start`] runs one of its own rather than
//! using a machine-wide service, so tests never depend on one being installed, running,
//! configured for them or left clean by earlier runs, and a test may stop and restart its server
//! (to check reconnection) without disturbing anything else:
//!
//! - the cluster is created with `initdb` in a fresh temporary directory, owned by the superuser
//!   `postgres` with `trust` authentication;
//! - the server listens on `127.0.0.1` only, on a port that was free when it started, and puts
//!   its Unix socket in the temporary directory; durability is switched off (`fsync`,
//!   `synchronous_commit`, `full_page_writes`), which a test's throwaway data does not need;
//! - its output goes to `postgres.log` in the temporary directory, whose tail is part of the
//!   error when the server fails to start;
//! - dropping the [`PostgresServer`] stops the server and removes the directory.
//!
//! Several tests may share one server and keep apart with a database each
//! ([`PostgresServer::create_database`]).
//!
//! PostgreSQL comes from the machine's packages (Debian's `postgresql`): the programs are found
//! with `pg_config --bindir`, else in the newest `/usr/lib/postgresql/*/bin`, else as `initdb` on
//! `PATH`. When none is found, [`PostgresServer::start`] says to run
//! `bash scripts/install-test-deps.sh`.
//!
//! `initdb` and `postgres` refuse to run as root. When the tests run as root (as they do in CI),
//! both run as the `postgres` system user that Debian's package creates, through `setpriv`
//! (which execs the program in its own process, so the child the harness signals *is* the
//! postmaster), and the temporary directory is given to that user.
//!
//! Every wait is bounded: a server that does not accept connections within 30 seconds is an
//! error, and one that does not stop is signalled harder, and finally killed.

use crate::process::{describe, free_port, log_tail, make_temp_dir, run, wait_until};
use std::ffi::OsStr;
use std::fs::{self, OpenOptions};
use std::io::{self, ErrorKind};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// The system user PostgreSQL runs as when the tests run as root, and the cluster's superuser.
const POSTGRES_USER: &str = "postgres";

/// How long a started server may take to accept connections.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a helper program (`initdb`, `createdb`, `chown`, …) may run.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a fast shutdown (SIGINT) may take before the server is shut down immediately.
const FAST_STOP_TIMEOUT: Duration = Duration::from_secs(20);

/// How long an immediate shutdown (SIGQUIT) may take before the server is killed (SIGKILL).
const IMMEDIATE_STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// How many free ports [`PostgresServer::start`] tries when another process takes the one it
/// picked before the server binds it.
const PORT_ATTEMPTS: usize = 5;

/// How much of the end of the server's log an error quotes.
const LOG_TAIL_BYTES: u64 = 4000;

/// What `start` tells the user when PostgreSQL's programs are nowhere to be found.
const NOT_INSTALLED: &str = "PostgreSQL is not installed (no initdb found through \
     `pg_config --bindir`, in /usr/lib/postgresql/*/bin or on PATH): run \
     `bash scripts/install-test-deps.sh` (or `apt-get install -y postgresql`)";

/// A private PostgreSQL server, started for a test and stopped when dropped.
///
/// The superuser is `postgres`, connecting without a password over TCP to `127.0.0.1`:
/// [`url`](Self::url) is the URL of its `postgres` database, and
/// [`create_database`](Self::create_database) makes one more.
#[derive(Debug)]
pub struct PostgresServer {
    /// The directory of the PostgreSQL programs (`initdb`, `postgres`, `psql`, …).
    bindir: PathBuf,
    /// The temporary directory: the cluster, the Unix socket, the log.
    dir: PathBuf,
    /// The cluster's data directory, `dir/data`.
    data_dir: PathBuf,
    /// The server's log, `dir/postgres.log`.
    log: PathBuf,
    /// The TCP port on 127.0.0.1, kept across restarts.
    port: u16,
    /// The user `initdb` and `postgres` run as, when the tests run as root.
    user: Option<&'static str>,
    /// The postmaster, while it runs.
    postmaster: Option<Child>,
}

/// How [`PostgresServer::halt`] asks the postmaster to stop first.
#[derive(Clone, Copy, Debug)]
enum Shutdown {
    /// SIGINT: disconnect the clients, roll back their transactions, write a checkpoint.
    Fast,
    /// SIGQUIT: quit at once; the next start recovers from the WAL.
    Immediate,
}

impl PostgresServer {
    /// Creates a cluster in a fresh temporary directory and starts a server for it on a free
    /// port of 127.0.0.1, returning once the server accepts connections.
    ///
    /// Blocks for as long as `initdb` and the server's start take (a second or two, usually);
    /// every wait is bounded.
    ///
    /// # Errors
    ///
    /// When PostgreSQL is not installed (the error says how to install it), when running as root
    /// without a `postgres` user to run the server as, when `initdb` fails, and when the server
    /// exits or does not accept connections within 30 seconds (the error quotes the end of the
    /// server's log).
    pub fn start() -> io::Result<PostgresServer> {
        let bindir = find_bindir()?;
        let user = user_to_run_as()?;
        let dir = make_temp_dir("postgres")?;
        // From here on, dropping `server` removes the directory, whatever fails.
        let mut server = PostgresServer {
            bindir,
            data_dir: dir.join("data"),
            log: dir.join("postgres.log"),
            dir,
            port: 0,
            user,
            postmaster: None,
        };
        if let Some(user) = server.user {
            server.give_dir_to(user)?;
        }
        server.initdb()?;
        let mut attempt = 1;
        loop {
            server.port = free_port()?;
            match server.spawn_and_wait() {
                Ok(()) => return Ok(server),
                Err(error) if error.kind() == ErrorKind::AddrInUse && attempt < PORT_ATTEMPTS => {
                    attempt += 1;
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// The URL of the server's `postgres` database, as the superuser `postgres`:
    /// `postgres://postgres@127.0.0.1:PORT/postgres`.
    pub fn url(&self) -> String {
        self.database_url("postgres")
    }

    /// The server's TCP port on 127.0.0.1; [`restart`](Self::restart) keeps it.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The cluster's data directory (inside the temporary directory, removed on drop).
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The directory of the PostgreSQL programs the server runs from, where tests find client
    /// programs of the same version (`psql`, `pg_dump`, …).
    pub fn bindir(&self) -> &Path {
        &self.bindir
    }

    /// Whether the postmaster is running (it was started and has neither been stopped nor
    /// exited).
    pub fn is_running(&mut self) -> bool {
        match self.postmaster.as_mut().map(Child::try_wait) {
            Some(Ok(None)) => true,
            Some(Ok(Some(_)) | Err(_)) => {
                self.postmaster = None;
                false
            }
            None => false,
        }
    }

    /// Creates the database `name` (with `createdb`) and returns its URL, so that tests sharing
    /// one server keep their data apart.
    ///
    /// # Errors
    ///
    /// When `name` is not 1 to 63 ASCII letters, digits and underscores (so that it needs no
    /// quoting in SQL nor escaping in the URL), and when `createdb` fails, for instance because
    /// the database exists or the server is stopped.
    pub fn create_database(&self, name: &str) -> io::Result<String> {
        let valid = (1..=63).contains(&name.len())
            && name
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || byte == b'_');
        if !valid {
            return Err(io::Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "{name:?} is not a database name for tests: use 1 to 63 ASCII letters, \
                     digits and underscores"
                ),
            ));
        }
        let mut createdb = self.client("createdb");
        createdb
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(["-U", POSTGRES_USER, "--maintenance-db=postgres", "--"])
            .arg(name);
        run(&mut createdb, COMMAND_TIMEOUT)?;
        Ok(self.database_url(name))
    }

    /// Stops the server with a fast shutdown (SIGINT to the postmaster: clients are
    /// disconnected, a checkpoint is written) and waits until it has exited; the data directory
    /// and the port stay, for [`restart`](Self::restart).
    ///
    /// Bounded: a server that does not stop within 20 seconds is shut down immediately
    /// (SIGQUIT), and after 10 more seconds killed (SIGKILL). Does nothing when the server is
    /// not running.
    pub fn stop(&mut self) {
        self.halt(Shutdown::Fast);
    }

    /// Stops the server (as [`stop`](Self::stop) does, when it runs) and starts it again with
    /// the same data directory on the same port, returning once it accepts connections.
    ///
    /// # Errors
    ///
    /// When the server exits or does not accept connections within 30 seconds, for instance
    /// because another process took the port while it was stopped (the error quotes the end of
    /// the server's log).
    pub fn restart(&mut self) -> io::Result<()> {
        self.stop();
        self.spawn_and_wait()
    }

    /// `postgres://postgres@127.0.0.1:PORT/<database>`.
    fn database_url(&self, database: &str) -> String {
        format!(
            "postgres://{POSTGRES_USER}@127.0.0.1:{}/{database}",
            self.port
        )
    }

    /// A command running `program` as the user the server runs as, in the temporary directory.
    fn as_server_user(&self, program: impl AsRef<OsStr>) -> Command {
        let mut command = match self.user {
            Some(user) => {
                // setpriv execs the program: its process is the one the harness signals.
                let mut setpriv = Command::new("setpriv");
                setpriv
                    .arg(format!("--reuid={user}"))
                    .arg(format!("--regid={user}"))
                    .args(["--init-groups", "--"])
                    .arg(program);
                setpriv
            }
            None => Command::new(program),
        };
        // English messages (the harness looks for "Address already in use" in the log) and no
        // dependence on which locales the machine has.
        command.current_dir(&self.dir).env("LC_ALL", "C");
        command
    }

    /// A command running the PostgreSQL server program `name` (`initdb`, `postgres`, …).
    fn server_program(&self, name: &str) -> Command {
        self.as_server_user(self.bindir.join(name))
    }

    /// A command running the PostgreSQL client program `name` (`psql`, `createdb`, …), which
    /// may run as any user.
    fn client(&self, name: &str) -> Command {
        let mut command = Command::new(self.bindir.join(name));
        command
            .env("LC_ALL", "C")
            .env("PGCONNECT_TIMEOUT", "10")
            .env_remove("PGSERVICE")
            .env_remove("PGOPTIONS");
        command
    }

    /// Gives the temporary directory to `user`, and checks that `user` can reach it (a parent
    /// directory closed to other users would stop `initdb`).
    fn give_dir_to(&self, user: &str) -> io::Result<()> {
        run(
            Command::new("chown")
                .arg("-R")
                .arg(format!("{user}:{user}"))
                .arg(&self.dir),
            COMMAND_TIMEOUT,
        )?;
        let mut check = self.as_server_user("test");
        check.arg("-w").arg(&self.dir);
        run(&mut check, COMMAND_TIMEOUT).map_err(|error| {
            io::Error::new(
                ErrorKind::PermissionDenied,
                format!(
                    "the {user} user, which runs PostgreSQL when the tests run as root, cannot \
                     write to {} (is a parent directory closed to it?): point TMPDIR at a \
                     directory it can reach, such as /tmp ({error})",
                    self.dir.display()
                ),
            )
        })?;
        Ok(())
    }

    /// Creates the cluster in `data_dir`.
    fn initdb(&self) -> io::Result<()> {
        let mut initdb = self.server_program("initdb");
        initdb
            .arg("-D")
            .arg(&self.data_dir)
            .args(["-U", POSTGRES_USER, "--auth=trust", "-E", "UTF8"])
            .args(["--no-locale", "--no-sync"]);
        run(&mut initdb, COMMAND_TIMEOUT).map(drop)
    }

    /// Starts the postmaster on `self.port` and waits until it accepts connections.
    ///
    /// When it exits first, the error's kind is [`ErrorKind::AddrInUse`] if it could not bind
    /// the port; when it does not accept connections in time, it is killed.
    fn spawn_and_wait(&mut self) -> io::Result<()> {
        let log_start = fs::metadata(&self.log).map_or(0, |metadata| metadata.len());
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)?;
        let mut postgres = self.server_program("postgres");
        postgres
            .arg("-D")
            .arg(&self.data_dir)
            .args(["-p", &self.port.to_string()])
            .args(["-c", "listen_addresses=127.0.0.1"])
            .arg("-k")
            .arg(&self.dir)
            .args(["-c", "fsync=off"])
            .args(["-c", "synchronous_commit=off"])
            .args(["-c", "full_page_writes=off"])
            .args(["-c", "max_connections=200"])
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        let child = postgres.spawn().map_err(|error| {
            io::Error::new(
                error.kind(),
                format!("could not run {}: {error}", describe(&postgres)),
            )
        })?;
        self.postmaster = Some(child);
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            let exited = match self.postmaster.as_mut().map(Child::try_wait) {
                Some(Ok(None)) => None,
                Some(Ok(Some(status))) => Some(status.to_string()),
                Some(Err(error)) => Some(error.to_string()),
                None => Some("gone".to_owned()),
            };
            if let Some(status) = exited {
                self.postmaster = None;
                let tail = self.log_since(log_start);
                let kind = if tail.contains("Address already in use") {
                    ErrorKind::AddrInUse
                } else {
                    ErrorKind::Other
                };
                return Err(io::Error::new(
                    kind,
                    format!(
                        "PostgreSQL exited ({status}) before accepting connections on port {}; \
                         the end of {}:\n{tail}",
                        self.port,
                        self.log.display()
                    ),
                ));
            }
            if self.accepts_connections() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                self.halt(Shutdown::Immediate);
                return Err(io::Error::new(
                    ErrorKind::TimedOut,
                    format!(
                        "PostgreSQL did not accept connections on port {} within {:?}; the end \
                         of {}:\n{}",
                        self.port,
                        READY_TIMEOUT,
                        self.log.display(),
                        self.log_since(log_start)
                    ),
                ));
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Whether the server accepts connections: `pg_isready` says so (a server still starting
    /// up rejects them), or, without `pg_isready`, its port takes a TCP connection.
    fn accepts_connections(&self) -> bool {
        let pg_isready = self.bindir.join("pg_isready");
        if pg_isready.is_file() {
            let mut command = self.client("pg_isready");
            command
                .args(["-q", "-t", "2", "-h", "127.0.0.1"])
                .args(["-p", &self.port.to_string(), "-U", POSTGRES_USER])
                .args(["-d", "postgres"]);
            run(&mut command, Duration::from_secs(5)).is_ok()
        } else {
            let address = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
            TcpStream::connect_timeout(&address, Duration::from_secs(2)).is_ok()
        }
    }

    /// The end of the log, from byte `start` on (at most [`LOG_TAIL_BYTES`]).
    fn log_since(&self, start: u64) -> String {
        log_tail(&self.log, start, LOG_TAIL_BYTES)
    }

    /// Stops the postmaster, if it runs, and waits until it has exited: first as `shutdown`
    /// says, then immediately, then with SIGKILL; every wait bounded.
    fn halt(&mut self, shutdown: Shutdown) {
        let Some(mut postmaster) = self.postmaster.take() else {
            return;
        };
        let pid = postmaster.id();
        let steps: &[(&str, Duration)] = match shutdown {
            Shutdown::Fast => &[("INT", FAST_STOP_TIMEOUT), ("QUIT", IMMEDIATE_STOP_TIMEOUT)],
            Shutdown::Immediate => &[("QUIT", IMMEDIATE_STOP_TIMEOUT)],
        };
        for &(signal, timeout) in steps {
            // Until the child is reaped, its pid cannot go to another process.
            if !matches!(postmaster.try_wait(), Ok(None)) {
                return;
            }
            self.signal(pid, signal);
            if let Ok(Some(_)) = wait_until(&mut postmaster, Instant::now() + timeout) {
                return;
            }
        }
        let _ = postmaster.kill();
        let _ = wait_until(&mut postmaster, Instant::now() + IMMEDIATE_STOP_TIMEOUT);
    }

    /// Sends `signal` (`INT`, `QUIT`) to the postmaster `pid`: with `kill`, or else with
    /// `pg_ctl kill` as the server's user. Best effort; [`halt`](Self::halt) checks the result.
    fn signal(&self, pid: u32, signal: &str) {
        let mut kill = Command::new("kill");
        kill.args(["-s", signal, &pid.to_string()]);
        if run(&mut kill, COMMAND_TIMEOUT).is_err() {
            let mut pg_ctl = self.server_program("pg_ctl");
            pg_ctl.args(["kill", signal, &pid.to_string()]);
            let _ = run(&mut pg_ctl, COMMAND_TIMEOUT);
        }
    }
}

impl Drop for PostgresServer {
    /// Stops the server at once (SIGQUIT, then SIGKILL; bounded) and removes the temporary
    /// directory; best effort, silently.
    fn drop(&mut self) {
        self.halt(Shutdown::Immediate);
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// The directory of PostgreSQL's programs: `pg_config --bindir`, else the newest
/// `/usr/lib/postgresql/*/bin`, else the directory of `initdb` on `PATH`; each only when it holds
/// both `initdb` and `postgres`.
fn find_bindir() -> io::Result<PathBuf> {
    let is_bindir = |dir: &Path| dir.join("initdb").is_file() && dir.join("postgres").is_file();
    let mut pg_config = Command::new("pg_config");
    pg_config.arg("--bindir");
    if let Ok(output) = run(&mut pg_config, COMMAND_TIMEOUT) {
        let dir = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
        if is_bindir(&dir) {
            return Ok(dir);
        }
    }
    // Debian's layout: /usr/lib/postgresql/<version>/bin, several versions side by side.
    let mut versions: Vec<(Vec<u32>, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let version = name
                .split('.')
                .map(str::parse)
                .collect::<Result<Vec<u32>, _>>()
                .ok()?;
            let dir = entry.path().join("bin");
            is_bindir(&dir).then_some((version, dir))
        })
        .collect();
    versions.sort();
    if let Some((_, dir)) = versions.pop() {
        return Ok(dir);
    }
    // initdb on PATH may be a link into the real directory (/usr/local/bin/initdb ->
    // /usr/lib/postgresql/15/bin/initdb): look beside its target, then beside the link.
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let initdb = dir.join("initdb");
        if !initdb.is_file() {
            continue;
        }
        if let Some(real) = fs::canonicalize(&initdb)
            .ok()
            .and_then(|real| real.parent().map(Path::to_path_buf))
        {
            if is_bindir(&real) {
                return Ok(real);
            }
        }
        if is_bindir(&dir) {
            return Ok(dir);
        }
    }
    Err(io::Error::new(ErrorKind::NotFound, NOT_INSTALLED))
}

/// The user to run `initdb` and `postgres` as: `postgres` when the tests run as root (which
/// PostgreSQL refuses), none otherwise.
fn user_to_run_as() -> io::Result<Option<&'static str>> {
    let mut id = Command::new("id");
    id.arg("-u");
    let uid = run(&mut id, COMMAND_TIMEOUT)?;
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        return Ok(None);
    }
    let mut id = Command::new("id");
    id.args(["-u", POSTGRES_USER]);
    if run(&mut id, COMMAND_TIMEOUT).is_err() {
        return Err(io::Error::new(
            ErrorKind::NotFound,
            format!(
                "the tests run as root, which PostgreSQL refuses, and there is no \
                 `{POSTGRES_USER}` user to run it as: install Debian's postgresql package, which \
                 creates that user (bash scripts/install-test-deps.sh), or run the tests as an \
                 ordinary user"
            ),
        ));
    }
    let mut setpriv = Command::new("setpriv");
    setpriv.arg("--version");
    if let Err(error) = run(&mut setpriv, COMMAND_TIMEOUT) {
        return Err(io::Error::new(
            ErrorKind::NotFound,
            format!(
                "the tests run as root, and running PostgreSQL as the `{POSTGRES_USER}` user \
                 needs setpriv (Debian's util-linux package): {error}"
            ),
        ));
    }
    Ok(Some(POSTGRES_USER))
}
