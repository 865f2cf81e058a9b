//! How a server joins a cluster: where the NATS server is, the cluster's name, and the timing of
//! membership and gathers.

use std::time::Duration;

use crate::error::ConfigError;

/// The longest cluster name: it is one token of every subject the cluster uses.
const MAX_NAME_CHARS: usize = 64;

/// A cluster of servers meeting on one NATS server (or NATS cluster), given to
/// [`ServerBuilder::cluster`](crate::ServerBuilder::cluster), or read from `NATS_URL` by
/// [`ServerBuilder::from_env`](crate::ServerBuilder::from_env).
///
/// ```no_run
/// # async fn run() -> Result<(), yoctopus_core::ServerError> {
/// use std::time::Duration;
/// use yoctopus_core::{Cluster, Server};
///
/// let server = Server::builder()
///     .cluster(Cluster::nats("nats://127.0.0.1:4222").name("chat").gather_timeout(Duration::from_millis(500)))
///     .start()
///     .await?;
/// # Ok(()) }
/// ```
///
/// The defaults: name `yoctopus`, heartbeat every second, a node silent for three seconds is
/// gone, a gather waits at most one second for every node's answer, a request to one node at
/// most two seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cluster {
    pub(crate) url: String,
    pub(crate) name: String,
    pub(crate) heartbeat_interval: Duration,
    pub(crate) expire_after: Duration,
    pub(crate) gather_timeout: Duration,
    pub(crate) request_timeout: Duration,
}

impl Cluster {
    /// Servers meeting at the NATS server at `url` (`nats://host:port`; several, comma-separated,
    /// for a NATS cluster).
    pub fn nats(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            name: "yoctopus".to_owned(),
            heartbeat_interval: Duration::from_secs(1),
            expire_after: Duration::from_secs(3),
            gather_timeout: Duration::from_secs(1),
            request_timeout: Duration::from_secs(2),
        }
    }

    /// The cluster's name (`A-Z a-z 0-9 _ -`, at most 64): servers of one name form one
    /// cluster, so several clusters can share a NATS server.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// How often a node says it is alive.
    pub fn heartbeat_interval(mut self, interval: Duration) -> Self {
        self.heartbeat_interval = interval;
        self
    }

    /// How long a node may be silent before the others count it gone (its connections with
    /// it). More than the heartbeat interval; three intervals is usual.
    pub fn expire_after(mut self, silence: Duration) -> Self {
        self.expire_after = silence;
        self
    }

    /// How long a multicast or a register query waits for every node's answer; after it, the
    /// answer is what arrived, marked incomplete.
    pub fn gather_timeout(mut self, timeout: Duration) -> Self {
        self.gather_timeout = timeout;
        self
    }

    /// How long a push or close to one connection on another node waits for that node.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// The NATS URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Checks what `start` relies on.
    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        let invalid = |name: &'static str, value: String, problem: &str| {
            Err(ConfigError::InvalidValue {
                name,
                value,
                problem: problem.to_owned(),
            })
        };
        if self.url.trim().is_empty() {
            return invalid("NATS_URL", self.url.clone(), "empty");
        }
        let name_ok = (1..=MAX_NAME_CHARS).contains(&self.name.len())
            && self
                .name
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-');
        if !name_ok {
            return invalid(
                "CLUSTER_NAME",
                self.name.clone(),
                "a cluster name is 1 to 64 characters of A-Z, a-z, 0-9, `_` and `-`",
            );
        }
        let positive = [
            ("heartbeat_interval", self.heartbeat_interval),
            ("gather_timeout", self.gather_timeout),
            ("request_timeout", self.request_timeout),
        ];
        for (name, duration) in positive {
            if duration.is_zero() {
                return invalid(name, "0".to_owned(), "must be more than 0");
            }
        }
        if self.expire_after <= self.heartbeat_interval {
            return invalid(
                "expire_after",
                format!("{:?}", self.expire_after),
                "must be longer than the heartbeat interval, or every node expires between heartbeats",
            );
        }
        Ok(())
    }
}
