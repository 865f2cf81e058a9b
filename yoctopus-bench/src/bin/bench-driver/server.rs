//! A benchmark server process: started pinned to its core on a free port, known by the address it
//! prints, and killed when dropped.
//!
//! Every measurement gets a fresh server process, so that no measurement inherits another's
//! connections, allocator state or warm caches, and a server that crashed costs one measurement.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::Duration;

use yoctopus_bench::lifetime::EXIT_WITH_STDIN;
use yoctopus_bench::request::Listeners;

use crate::lineup::Server;
use crate::process::{self, Lines};

/// How long a server may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// A running benchmark server.
#[derive(Debug)]
pub(crate) struct RunningServer {
    child: Child,
    addr: SocketAddr,
}

impl RunningServer {
    /// Starts `server` from `bin_dir` on CPU `core`, with `flags` (what the workload needs, as
    /// `--fanout`). A server without listeners and without such flags gets no flags at all, so it
    /// runs exactly as a hand-started one.
    pub(crate) fn start(
        bin_dir: &Path,
        server: &Server,
        core: usize,
        flags: &[&str],
    ) -> Result<Self, String> {
        Self::start_with_env(bin_dir, server, core, flags, &[])
    }

    /// [`start`](Self::start), with `env` added to the server's environment (a cluster node's
    /// `NATS_URL` and `CLUSTER_*`).
    pub(crate) fn start_with_env(
        bin_dir: &Path,
        server: &Server,
        core: usize,
        flags: &[&str],
        env: &[(&str, String)],
    ) -> Result<Self, String> {
        let mut command = process::pinned(core, &bin_dir.join(server.binary));
        if server.listeners != Listeners::None {
            command.args(["--listeners", server.listeners.as_str()]);
        }
        command.args(flags);
        command.envs(env.iter().map(|(name, value)| (*name, value.as_str())));
        let mut child = command
            .env("PORT", "0")
            .env(EXIT_WITH_STDIN, "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|error| format!("starting {} failed: {error}", server.binary))?;
        let stdout = child.stdout.take().expect("stdout was piped");
        let lines = Lines::read(stdout);
        let addr = lines
            .next(START_TIMEOUT)
            .and_then(|line| line.strip_prefix("listening on ws://")?.trim().parse().ok());
        match addr {
            Some(addr) => Ok(Self { child, addr }),
            None => {
                let _ = child.kill();
                let _ = child.wait();
                Err(format!(
                    "{} did not print `listening on ws://<address>` within {START_TIMEOUT:?}",
                    server.binary
                ))
            }
        }
    }

    /// The address it listens on.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
