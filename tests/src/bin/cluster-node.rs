//! `cluster-node`: one server of a cluster in a process of its own, for the cluster's failure
//! tests (`tests/tests/cluster_failures.rs`).
//!
//! Servers in one test process (as `tests/tests/cluster.rs` runs them) cannot be killed, frozen
//! or cut off one at a time: what a real deployment suffers (a server killed with SIGKILL, one
//! that stops answering, NATS going away underneath every server) needs each server in a process
//! that a test can signal. This is that process: a server built with
//! `ServerBuilder::from_env()` (so `NATS_URL`, `CLUSTER_*`, `PORT`, `HOST` configure it), with a
//! `probe` plugin that lets a WebSocket client use the connection register as a plugin would:
//!
//! | endpoint | data | answer |
//! | --- | --- | --- |
//! | `probe:whoami` `read` | — | the connection's id |
//! | `probe:notify` `create` | `{"to": ID, "text": TEXT}` | `{}`; connection `ID` gets a push of type `probe` with `{"text": TEXT}` |
//! | `probe:close` `create` | `{"to": ID}` | `{}`; connection `ID` is closed (1000) |
//! | `probe:multicast` `create` | `{"label": LABEL, "text": TEXT}` | `{"reached": N}`; every connection labelled `LABEL` (`yoctopus:label`) gets the push |
//! | `probe:register` `read` | — | `{"count": N, "ids": [...sorted], "complete": BOOL}` |
//! | `probe:exports` `read` | — | `{"exports": {ID: settings}, "complete": BOOL}` |
//!
//! A register call that fails is an error reply carrying the `DeliveryError`'s text.
//!
//! It logs to stderr (`RUST_LOG`, default `info`), prints exactly one line to stdout,
//! `listening on PORT`, once it serves, and shuts down gracefully (closing its connections and
//! leaving the cluster) on SIGINT or SIGTERM, exiting with status 0.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use tokio::signal::unix::{signal, SignalKind};
use yoctopus_core::ServerBuilder;

/// The register, as seen by a client.
#[yoctopus_core::plugin]
mod probe {
    use std::collections::BTreeMap;

    use serde::Serialize;
    use serde_json::{json, Value};
    use yoctopus_core::prelude::*;
    use yoctopus_core::{Connections, SettingsFilter};

    /// The push type every probe push has.
    const PUSH_TYPE: &str = "probe";

    /// `probe:notify` `create`.
    #[derive(RequestFormat)]
    pub(crate) struct NotifyRequest {
        /// The connection id to push to.
        to: String,
        /// What the push carries, as `{"text": text}`.
        text: String,
    }

    /// `probe:close` `create`.
    #[derive(RequestFormat)]
    pub(crate) struct CloseRequest {
        /// The connection id to close.
        to: String,
    }

    /// `probe:multicast` `create`.
    #[derive(RequestFormat)]
    pub(crate) struct MulticastRequest {
        /// Every connection with this `yoctopus.label` gets the push.
        label: String,
        /// What the push carries, as `{"text": text}`.
        text: String,
    }

    /// An answer with nothing to say: `{}`.
    #[derive(Debug, Serialize, schemars::JsonSchema)]
    pub(crate) struct Done {}

    /// How many connections a multicast reached.
    #[derive(Debug, Serialize, schemars::JsonSchema)]
    pub(crate) struct Reached {
        /// The number of connections, on every server, the push was queued for.
        reached: usize,
    }

    /// The register: how many connections, which, and whether every server answered.
    #[derive(Debug, Serialize, schemars::JsonSchema)]
    pub(crate) struct Register {
        /// `Connections::count`.
        count: usize,
        /// `Connections::ids`, sorted.
        ids: Vec<String>,
        /// Whether both answers were complete.
        complete: bool,
    }

    /// Every connection's export.
    #[derive(Debug, Serialize, schemars::JsonSchema)]
    pub(crate) struct Exports {
        /// Each connection's settings, by id.
        exports: BTreeMap<String, Value>,
        /// Whether every server answered.
        complete: bool,
    }

    fn connection_id(text: &str) -> Result<ConnectionId, String> {
        text.parse()
            .map_err(|_| format!("`{text}` is not a connection id"))
    }

    /// The connection's own id, so a client on another server can address it.
    #[endpoint(name = "whoami", method = "read")]
    async fn whoami(id: ConnectionId) -> String {
        id.to_string()
    }

    /// Pushes `{"text": text}` (type `probe`) to connection `to`, wherever it is.
    #[endpoint(name = "notify", method = "create")]
    async fn notify(request: NotifyRequest, connections: Connections) -> Result<Done, String> {
        let to = connection_id(&request.to)?;
        connections
            .notify(to, PUSH_TYPE, &json!({ "text": request.text }))
            .await
            .map_err(|error| error.to_string())?;
        Ok(Done {})
    }

    /// Closes connection `to`, wherever it is.
    #[endpoint(name = "close", method = "create")]
    async fn close(request: CloseRequest, connections: Connections) -> Result<Done, String> {
        let to = connection_id(&request.to)?;
        connections
            .close(to, 1000, "closed by probe:close")
            .await
            .map_err(|error| error.to_string())?;
        Ok(Done {})
    }

    /// Pushes `{"text": text}` (type `probe`) to every connection labelled `label`.
    #[endpoint(name = "multicast", method = "create")]
    async fn multicast(
        request: MulticastRequest,
        connections: Connections,
    ) -> Result<Reached, String> {
        let push = Push::new(PUSH_TYPE, &json!({ "text": request.text }))
            .map_err(|error| error.to_string())?;
        let filter = SettingsFilter::all().with("yoctopus", "label", request.label);
        let reached = connections
            .multicast(filter, push)
            .await
            .map_err(|error| error.to_string())?;
        Ok(Reached { reached })
    }

    /// The count and the ids, asked at once.
    #[endpoint(name = "register", method = "read")]
    async fn register(connections: Connections) -> Result<Register, String> {
        let (count, ids) = tokio::join!(connections.count(), connections.ids());
        let count = count.map_err(|error| error.to_string())?;
        let ids = ids.map_err(|error| error.to_string())?;
        let mut listed: Vec<String> = ids.value.iter().map(ToString::to_string).collect();
        listed.sort();
        Ok(Register {
            count: count.value,
            ids: listed,
            complete: count.complete && ids.complete,
        })
    }

    /// Every connection's export.
    #[endpoint(name = "exports", method = "read")]
    async fn exports(connections: Connections) -> Result<Exports, String> {
        let exports = connections
            .exports()
            .await
            .map_err(|error| error.to_string())?;
        Ok(Exports {
            exports: exports
                .value
                .into_iter()
                .map(|(id, settings)| (id.to_string(), settings))
                .collect(),
            complete: exports.complete,
        })
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let stderr = std::io::stderr();
    let ansi = stderr.is_terminal();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .init();

    // Before serving, so that a signal arriving once the port is printed is never missed.
    let (mut interrupt, mut terminate) = match (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) {
        (Ok(interrupt), Ok(terminate)) => (interrupt, terminate),
        (Err(error), _) | (_, Err(error)) => {
            tracing::error!(%error, "could not listen for SIGINT and SIGTERM");
            return ExitCode::FAILURE;
        }
    };
    let builder = match ServerBuilder::from_env() {
        Ok(builder) => builder,
        Err(error) => {
            tracing::error!(%error, "the environment does not configure a server");
            return ExitCode::FAILURE;
        }
    };
    let server = match builder.plugin(probe::plugin()).start().await {
        Ok(server) => server,
        Err(error) => {
            tracing::error!(%error, "the server did not start");
            return ExitCode::FAILURE;
        }
    };

    let port = server.local_addr().port();
    let mut stdout = std::io::stdout().lock();
    let announced = writeln!(stdout, "listening on {port}").and_then(|()| stdout.flush());
    drop(stdout);
    if let Err(error) = announced {
        tracing::error!(%error, "could not print the port; shutting down");
        server.shutdown().await;
        return ExitCode::FAILURE;
    }

    server
        .run_until(async {
            let which = tokio::select! {
                _ = interrupt.recv() => "SIGINT",
                _ = terminate.recv() => "SIGTERM",
            };
            tracing::info!(signal = which, "shutting down");
        })
        .await;
    ExitCode::SUCCESS
}
