//! The Yoctopus side of the benchmark: the Quick Start's `greeter` plugin, unchanged, and a
//! `bench` plugin whose `order` endpoint takes a nested twenty-field request format, to price
//! validation (the format is [`yoctopus_bench::order`], which `bench-validation` times alone).
//!
//! `--listeners noop` or `--listeners transform` also registers a plugin of lifecycle listeners
//! around every endpoint, to price them: a `request_received` and a `response_prepared` listener
//! that do nothing ([`noop`]), or that rewrite the request's and the reply's `data` ([`transform`]).
//! Without the flag (or with `--listeners none`) no listener is registered and the server is the
//! one the other configurations measure.
//!
//! `--fanout` also registers the [`fanout`] plugin, for the fan-out configurations: its
//! `fanout:notify` `create` endpoint makes a background task notify every other open connection by
//! id through the connection register, and its `fanout:multicast` `create` endpoint makes one
//! multicast to the connections with a given label (set with the built-in `yoctopus:label`).
//! Without the flag the server has no such endpoint and runs exactly as before, so that it stays
//! comparable with a reference build of an older commit. For the cluster configurations the plugin
//! also has `fanout:notify-one` `create`, one `notify` by id from the handler itself to a
//! connection that may be on another server of the cluster, and `fanout:whoami` `read`, which
//! tells a client its own connection id (and its server's node id), so that another client can
//! address it.
//!
//! **A cluster.** With `NATS_URL` in the environment (and `CLUSTER_NAME`,
//! `CLUSTER_HEARTBEAT_MS` and the rest of the README's table), [`ServerBuilder::from_env`] makes
//! the server a node of that cluster, as for any Yoctopus server; the driver starts its cluster
//! nodes that way. By hand, `--nats URL` (with `--cluster-name NAME`, default `yoctopus`) does the
//! same with the cluster's default timings; it refuses to run beside `NATS_URL`, since one of the
//! two would be ignored. A node says which cluster it joined, as which node, on the line after
//! `listening on`.
//!
//! The server is built with [`ServerBuilder::from_env`], so `PORT` (and every other option of the
//! README's table) works as for any Yoctopus server. No tracing subscriber is installed unless
//! `RUST_LOG` is set: the raw baseline logs nothing, and the comparison is between the two servers'
//! request paths, not their logging.
//!
//! Run it with `PORT=3000 cargo run --release -p yoctopus-bench --bin bench-yoctopus [-- --listeners
//! noop|transform] [--fanout] [--nats nats://127.0.0.1:4222 [--cluster-name NAME]]`; it prints
//! `listening on ws://<address>` once it accepts connections (a cluster node once it has joined).

use yoctopus_bench::cli::Flags;
use yoctopus_bench::lifetime;
use yoctopus_bench::request::Listeners;
use yoctopus_core::prelude::*;

/// Greets people by name: the Quick Start's plugin.
#[plugin]
pub mod greeter {
    use serde::Serialize;
    use yoctopus_core::prelude::*;

    /// `greeter:hello` `read` takes `{"name": "string"}`.
    #[derive(RequestFormat)]
    pub struct Hello {
        /// Who to greet.
        pub name: String,
    }

    /// The answer.
    #[derive(Serialize, schemars::JsonSchema)]
    pub struct Greeting {
        /// `Hello, <name>!`
        pub message: String,
    }

    #[endpoint(name = "hello", method = "read")]
    async fn hello(request: Hello) -> Greeting {
        Greeting {
            message: format!("Hello, {}!", request.name),
        }
    }
}

/// The nested request format: `bench:order` `create`.
#[plugin]
pub mod bench {
    use yoctopus_bench::order::Order;

    use super::greeter::Greeting;

    /// Answers like the greeter, so the two requests differ only in what is validated.
    #[endpoint(name = "order", method = "create")]
    async fn create(order: Order) -> Greeting {
        Greeting {
            message: format!("Hello, {}!", order.customer.name),
        }
    }
}

/// Listeners that do nothing and read nothing (`--listeners noop`): what having a request and a
/// response listener costs by itself. They take no `Data`, so requests are still read straight
/// into their types with the envelope.
#[plugin]
pub mod noop {
    #[on(request_received)]
    async fn received() {}

    #[on(response_prepared)]
    async fn prepared() {}
}

/// Listeners that transform `data` (`--listeners transform`): the request's before its format is
/// checked, the reply's before it is sent. The greeter still answers `Hello, <name>!` for the name
/// sent, and the load generator (with the same flag) checks the field added to the reply.
#[plugin]
pub mod transform {
    use serde_json::Value;
    use yoctopus_bench::request::TRANSFORMED;
    use yoctopus_core::prelude::*;

    /// Replaces the greeted name with its trimmed copy; the benchmark's names have no spaces to
    /// trim, so the reply stays the one expected.
    #[on(request_received)]
    async fn trim_name(mut data: Data) -> Data {
        let trimmed = data
            .get("name")
            .and_then(Value::as_str)
            .map(|name| name.trim().to_owned());
        if let (Some(trimmed), Some(object)) = (trimmed, data.as_object_mut()) {
            object.insert("name".to_owned(), Value::String(trimmed));
        }
        data
    }

    /// Adds `"transformed": true` to the reply's data.
    #[on(response_prepared)]
    async fn mark_reply(mut data: Data) -> Data {
        if let Some(object) = data.as_object_mut() {
            object.insert(TRANSFORMED.to_owned(), Value::Bool(true));
        }
        data
    }
}

/// The fan-outs (`--fanout`): a trigger makes a background task, holding a [`Connections`]
/// handle, push to other connections, as a plugin's timer or queue consumer would. `notify`
/// notifies every open connection but the caller's, one `notify` by id each; `multicast` makes one
/// `multicast` call with a settings filter on the built-in label. The trigger is answered once the
/// calls have returned, with how many were queued and when the first call was made; the load
/// generator times the pushes' arrival from that moment.
///
/// [`Connections`]: yoctopus_core::Connections
#[plugin]
pub mod fanout {
    use std::time::{Instant, SystemTime};

    use serde_json::Value;
    use yoctopus_bench::fanout::{unix_nanos, Answer, Identity, NotifiedOne};
    use yoctopus_core::prelude::*;
    use yoctopus_core::{Connections, DeliveryError, Push, SettingsFilter};

    /// `{"kind": "string", "data": any}`: what to push.
    #[derive(RequestFormat)]
    pub struct Trigger {
        /// The push's `meta.type`.
        pub kind: String,
        /// The push's `data`.
        pub data: Value,
    }

    /// Notifies every other connection from a task of its own and answers when it is done.
    #[endpoint(name = "notify", method = "create")]
    async fn notify(
        trigger: Trigger,
        controller: ConnectionId,
        connections: Connections,
    ) -> Result<Answer, DeliveryError> {
        let Trigger { kind, data } = trigger;
        tokio::spawn(async move {
            let listing = Instant::now();
            let ids = connections.ids().await?.value;
            let ids_us = micros(listing);
            let (mut notified, mut failed, mut first_error) = (0, 0, None);
            let first_call = SystemTime::now();
            let calling = Instant::now();
            for id in ids.into_iter().filter(|id| *id != controller) {
                match connections.notify(id, &kind, &data).await {
                    Ok(()) => notified += 1,
                    Err(error) => {
                        failed += 1;
                        first_error.get_or_insert_with(|| error.to_string());
                    }
                }
            }
            Ok(Answer {
                notified,
                failed,
                first_error,
                ids_us,
                calls_us: micros(calling),
                first_call_unix_ns: unix_nanos(first_call),
            })
        })
        .await
        .map_err(|error| DeliveryError::Unavailable(format!("the fan-out task failed: {error}")))?
    }

    /// `{"kind": "string", "label": "string", "data": any}`: what to push, and to whom.
    #[derive(RequestFormat)]
    pub struct Multicast {
        /// The push's `meta.type`.
        pub kind: String,
        /// The `yoctopus` plugin's `label` of the connections to reach.
        pub label: String,
        /// The push's `data`.
        pub data: Value,
    }

    /// One multicast, from a task of its own, to the connections labelled `label`: the push is
    /// made (serialized once) and handed to `Connections::multicast` with the filter
    /// `{"yoctopus": {"label": label}}`. The clock is stamped just before the push is made, the
    /// hand-written server's stamp just before it serializes its push.
    #[endpoint(name = "multicast", method = "create")]
    async fn multicast(
        trigger: Multicast,
        connections: Connections,
    ) -> Result<Answer, DeliveryError> {
        let Multicast { kind, label, data } = trigger;
        tokio::spawn(async move {
            let filter = SettingsFilter::all().with("yoctopus", "label", label);
            let first_call = SystemTime::now();
            let calling = Instant::now();
            let push = Push::new(&kind, &data)
                .map_err(|error| DeliveryError::Serialize(error.to_string()))?;
            let notified = connections.multicast(filter, push).await?;
            Ok(Answer {
                notified,
                failed: 0,
                first_error: None,
                ids_us: 0,
                calls_us: micros(calling),
                first_call_unix_ns: unix_nanos(first_call),
            })
        })
        .await
        .map_err(|error| {
            DeliveryError::Unavailable(format!("the multicast task failed: {error}"))
        })?
    }

    /// `{"to": "<connection id>", "kind": "string", "data": any}`: what to push, and to whom.
    #[derive(RequestFormat)]
    pub struct One {
        /// The connection id of the receiver, as `fanout:whoami` told it: `<node>-<number>`.
        pub to: String,
        /// The push's `meta.type`.
        pub kind: String,
        /// The push's `data`.
        pub data: Value,
    }

    /// One notify by id, from the handler itself, to a connection that may be held by another
    /// server of the cluster: a chat's direct message. Answered once the call has returned `Ok`
    /// (queued for the receiver, on whichever server holds it), with how long the call took.
    #[endpoint(name = "notify-one", method = "create")]
    async fn notify_one(one: One, connections: Connections) -> Result<NotifiedOne, String> {
        let One { to, kind, data } = one;
        let to: ConnectionId = to
            .parse()
            .map_err(|error| format!("`to` {to:?}: {error}"))?;
        let calling = Instant::now();
        connections
            .notify(to, &kind, &data)
            .await
            .map_err(|error| error.to_string())?;
        Ok(NotifiedOne {
            call_us: micros(calling),
        })
    }

    /// The caller's connection id and its server's node id.
    #[endpoint(name = "whoami", method = "read")]
    async fn whoami(caller: ConnectionId) -> Identity {
        Identity {
            id: caller.to_string(),
            node: caller.node().to_string(),
        }
    }

    fn micros(since: Instant) -> u64 {
        u64::try_from(since.elapsed().as_micros()).unwrap_or(u64::MAX)
    }
}

#[yoctopus_core::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let flags = Flags::parse(std::env::args().skip(1))?;
    flags.allow_only(&["listeners", "fanout", "nats", "cluster-name"])?;
    let listeners = flags.get_or("listeners", Listeners::None)?;
    let fanout = flags.get_or("fanout", false)?;
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .init();
    }
    let mut builder = ServerBuilder::from_env()?;
    let cluster_name = flags.text("cluster-name").unwrap_or("yoctopus");
    let mut cluster = std::env::var("NATS_URL").ok().map(|url| {
        let name = std::env::var("CLUSTER_NAME").unwrap_or_else(|_| "yoctopus".to_owned());
        (url, name)
    });
    match (flags.text("nats"), &cluster) {
        (Some(_), Some(_)) => {
            return Err("`--nats` and NATS_URL both name a cluster; give one of them".into())
        }
        (Some(url), None) => {
            builder = builder.cluster(yoctopus_core::Cluster::nats(url).name(cluster_name));
            cluster = Some((url.to_owned(), cluster_name.to_owned()));
        }
        (None, _) if flags.text("cluster-name").is_some() => {
            return Err("`--cluster-name` names the cluster of `--nats`, which is missing".into())
        }
        (None, _) => {}
    }
    let builder = builder.plugin(greeter::plugin()).plugin(bench::plugin());
    let builder = match listeners {
        Listeners::None => builder,
        Listeners::Noop => builder.plugin(noop::plugin()),
        Listeners::Transform => builder.plugin(transform::plugin()),
    };
    let builder = if fanout {
        builder.plugin(fanout::plugin())
    } else {
        builder
    };
    let server = builder.start().await?;
    println!("listening on ws://{}", server.local_addr());
    // After the line the driver waits for, which it reads alone.
    if let Some((url, name)) = cluster {
        println!("node {} of cluster {name} at {url}", server.node_id());
    }
    server.run_until(lifetime::stop_requested()).await;
    Ok(())
}
