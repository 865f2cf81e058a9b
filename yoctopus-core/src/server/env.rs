//! Server options from environment variables, so any example or deployment is configured
//! without code.

use std::str::FromStr;
use std::time::Duration;

use super::{ServerBuilder, TlsConfig};
use crate::cluster::Cluster;
use crate::error::ConfigError;

impl ServerBuilder {
    /// A builder with the defaults, then every option the environment sets:
    ///
    /// | variable | option | form |
    /// | --- | --- | --- |
    /// | `PORT` | [`port`](Self::port) | `0`–`65535` |
    /// | `HOST` | [`host`](Self::host) | an IP address |
    /// | `ALLOWED_ORIGINS` | [`allowed_origins`](Self::allowed_origins) | comma-separated, `*` for any |
    /// | `PING_INTERVAL_MS` | [`ping_interval`](Self::ping_interval) | milliseconds, more than 0 |
    /// | `MAX_LOST_PINGS` | [`max_lost_pings`](Self::max_lost_pings) | a count, more than 0 |
    /// | `MAX_MESSAGE_BYTES` | [`max_message_size`](Self::max_message_size) | bytes, more than 0 |
    /// | `TLS_KEY`, `TLS_CERT` | [`tls`](Self::tls) | paths to PEM files; both or neither |
    /// | `TLS_CHAIN` | [`TlsConfig::chain`]: intermediates served with the certificate (the original's `caPath`) | path to a PEM file; needs `TLS_KEY` and `TLS_CERT` |
    /// | `TLS_CLIENT_CA` | [`TlsConfig::require_client_certificates`]: mutual TLS | path to a PEM file; needs `TLS_KEY` and `TLS_CERT` |
    /// | `NATS_URL` | [`cluster`](Self::cluster): join the cluster meeting at this NATS server | `nats://host:port`, comma-separated for several |
    /// | `CLUSTER_NAME` | [`Cluster::name`] | `A-Z a-z 0-9 _ -`, at most 64; needs `NATS_URL` |
    /// | `CLUSTER_HEARTBEAT_MS` | [`Cluster::heartbeat_interval`] | milliseconds, more than 0; needs `NATS_URL` |
    /// | `CLUSTER_EXPIRE_MS` | [`Cluster::expire_after`] | milliseconds, more than the heartbeat; needs `NATS_URL` |
    /// | `CLUSTER_GATHER_TIMEOUT_MS` | [`Cluster::gather_timeout`] | milliseconds, more than 0; needs `NATS_URL` |
    /// | `CLUSTER_REQUEST_TIMEOUT_MS` | [`Cluster::request_timeout`] | milliseconds, more than 0; needs `NATS_URL` |
    /// | `NODE_ID` | [`node_id`](Self::node_id) | 16 hex digits |
    ///
    /// `TLS_CA` is refused with an error that names both: it meant the chain to some and the
    /// client CA to others, and a wrong guess either breaks every browser or lets every client in.
    ///
    /// A variable that is set but cannot be read is an error naming it, never silently ignored.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::new().with_env()
    }

    /// This builder with every option the environment sets (see [`from_env`](Self::from_env))
    /// applied over it: set your own defaults first, let the deployment override them.
    pub fn with_env(self) -> Result<Self, ConfigError> {
        self.with_vars(|name| std::env::var(name).ok())
    }

    /// [`with_env`](Self::with_env) reading variables from `lookup` instead of the process
    /// environment.
    pub fn with_vars(self, lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut builder = self;
        if let Some(port) = parse::<u16>(&lookup, "PORT")? {
            builder = builder.port(port);
        }
        if let Some(host) = parse::<std::net::IpAddr>(&lookup, "HOST")? {
            builder = builder.host(host);
        }
        if let Some(origins) = lookup("ALLOWED_ORIGINS") {
            let origins: Vec<String> = origins
                .split(',')
                .map(str::trim)
                .filter(|origin| !origin.is_empty())
                .map(str::to_owned)
                .collect();
            builder = builder.allowed_origins(origins);
        }
        if let Some(millis) = positive::<u64>(&lookup, "PING_INTERVAL_MS")? {
            builder = builder.ping_interval(Duration::from_millis(millis));
        }
        if let Some(pings) = positive::<u32>(&lookup, "MAX_LOST_PINGS")? {
            builder = builder.max_lost_pings(pings);
        }
        if let Some(bytes) = positive::<usize>(&lookup, "MAX_MESSAGE_BYTES")? {
            builder = builder.max_message_size(bytes);
        }
        if let Some(node) = parse::<crate::NodeId>(&lookup, "NODE_ID")? {
            builder = builder.node_id(node);
        }
        if let Some(cluster) = cluster_from(&lookup)? {
            builder = builder.cluster(cluster);
        }
        if let Some(value) = lookup("TLS_CA") {
            return Err(ConfigError::InvalidValue {
                name: "TLS_CA",
                value,
                problem: "ambiguous: set TLS_CHAIN for intermediate certificates served with TLS_CERT (the original's caPath), or TLS_CLIENT_CA to require client certificates signed by it".to_owned(),
            });
        }
        let chain = lookup("TLS_CHAIN");
        let client_ca = lookup("TLS_CLIENT_CA");
        match (lookup("TLS_KEY"), lookup("TLS_CERT")) {
            (None, None) if chain.is_none() && client_ca.is_none() => {}
            (Some(key), Some(cert)) => {
                let mut tls = TlsConfig::new(key, cert);
                if let Some(chain) = chain {
                    tls = tls.chain(chain);
                }
                if let Some(client_ca) = client_ca {
                    tls = tls.require_client_certificates(client_ca);
                }
                builder = builder.tls(tls);
            }
            (key, cert) => {
                let (name, value) = match (key, cert) {
                    (Some(key), None) => ("TLS_KEY", key),
                    (None, Some(cert)) => ("TLS_CERT", cert),
                    _ => match (chain, client_ca) {
                        (Some(chain), _) => ("TLS_CHAIN", chain),
                        (None, client_ca) => ("TLS_CLIENT_CA", client_ca.unwrap_or_default()),
                    },
                };
                return Err(ConfigError::InvalidValue {
                    name,
                    value,
                    problem: "TLS needs both TLS_KEY and TLS_CERT".to_owned(),
                });
            }
        }
        Ok(builder)
    }
}

/// The variables that shape a cluster, none of which means anything without `NATS_URL`.
const CLUSTER_VARIABLES: [&str; 5] = [
    "CLUSTER_NAME",
    "CLUSTER_HEARTBEAT_MS",
    "CLUSTER_EXPIRE_MS",
    "CLUSTER_GATHER_TIMEOUT_MS",
    "CLUSTER_REQUEST_TIMEOUT_MS",
];

/// The cluster `NATS_URL` and the `CLUSTER_*` variables describe, if any.
fn cluster_from(lookup: &impl Fn(&str) -> Option<String>) -> Result<Option<Cluster>, ConfigError> {
    let Some(url) = lookup("NATS_URL") else {
        return match CLUSTER_VARIABLES
            .into_iter()
            .find_map(|name| Some((name, lookup(name)?)))
        {
            Some((name, value)) => Err(ConfigError::InvalidValue {
                name,
                value,
                problem: "it shapes a cluster, which needs NATS_URL: the NATS server the cluster meets at".to_owned(),
            }),
            None => Ok(None),
        };
    };
    let mut cluster = Cluster::nats(url.trim());
    if let Some(name) = lookup("CLUSTER_NAME") {
        cluster = cluster.name(name.trim());
    }
    let millis = |name| positive::<u64>(lookup, name).map(|ms| ms.map(Duration::from_millis));
    if let Some(interval) = millis("CLUSTER_HEARTBEAT_MS")? {
        cluster = cluster.heartbeat_interval(interval);
    }
    if let Some(silence) = millis("CLUSTER_EXPIRE_MS")? {
        cluster = cluster.expire_after(silence);
    }
    if let Some(timeout) = millis("CLUSTER_GATHER_TIMEOUT_MS")? {
        cluster = cluster.gather_timeout(timeout);
    }
    if let Some(timeout) = millis("CLUSTER_REQUEST_TIMEOUT_MS")? {
        cluster = cluster.request_timeout(timeout);
    }
    cluster.check()?;
    Ok(Some(cluster))
}

fn parse<T>(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
) -> Result<Option<T>, ConfigError>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    let Some(value) = lookup(name) else {
        return Ok(None);
    };
    value
        .trim()
        .parse()
        .map(Some)
        .map_err(|error: T::Err| ConfigError::InvalidValue {
            name,
            value,
            problem: error.to_string(),
        })
}

fn positive<T>(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
) -> Result<Option<T>, ConfigError>
where
    T: FromStr + Default + PartialEq + ToString,
    T::Err: std::fmt::Display,
{
    match parse::<T>(lookup, name)? {
        Some(zero) if zero == T::default() => Err(ConfigError::InvalidValue {
            name,
            value: zero.to_string(),
            problem: "must be more than 0".to_owned(),
        }),
        other => Ok(other),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::time::Duration;

    use crate::error::ConfigError;
    use crate::{ServerBuilder, TlsConfig};

    fn from(vars: &[(&str, &str)]) -> Result<ServerBuilder, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        ServerBuilder::new().with_vars(|name| vars.get(name).cloned())
    }

    #[test]
    fn every_variable_reaches_its_option() {
        let builder = from(&[
            ("PORT", "4000"),
            ("HOST", "0.0.0.0"),
            ("ALLOWED_ORIGINS", "https://a.example, https://b.example"),
            ("PING_INTERVAL_MS", "1500"),
            ("MAX_LOST_PINGS", "5"),
            ("MAX_MESSAGE_BYTES", "4096"),
        ])
        .unwrap();
        assert_eq!(builder.port, 4000);
        assert_eq!(builder.host.to_string(), "0.0.0.0");
        assert_eq!(
            builder.allowed_origins,
            ["https://a.example", "https://b.example"]
        );
        assert_eq!(builder.limits.ping_interval, Duration::from_millis(1500));
        assert_eq!(builder.limits.max_lost_pings, 5);
        assert_eq!(builder.limits.max_message_size, 4096);
    }

    #[test]
    fn a_nats_url_makes_the_server_a_node_of_a_cluster() {
        assert!(from(&[]).unwrap().cluster.is_none());
        let builder = from(&[
            ("NATS_URL", " nats://127.0.0.1:4222 "),
            ("CLUSTER_NAME", "chat"),
            ("NODE_ID", "00000000000000ab"),
            ("CLUSTER_HEARTBEAT_MS", "250"),
            ("CLUSTER_EXPIRE_MS", "1000"),
            ("CLUSTER_GATHER_TIMEOUT_MS", "300"),
            ("CLUSTER_REQUEST_TIMEOUT_MS", "400"),
        ])
        .unwrap();
        assert_eq!(
            builder.cluster,
            Some(
                crate::Cluster::nats("nats://127.0.0.1:4222")
                    .name("chat")
                    .heartbeat_interval(Duration::from_millis(250))
                    .expire_after(Duration::from_millis(1000))
                    .gather_timeout(Duration::from_millis(300))
                    .request_timeout(Duration::from_millis(400))
            )
        );
        assert_eq!(builder.node, Some(crate::NodeId::new(0xab)));

        for (vars, named) in [
            (&[("CLUSTER_NAME", "chat")][..], "CLUSTER_NAME"),
            (
                &[("NATS_URL", "nats://h:1"), ("CLUSTER_NAME", "a.b")],
                "CLUSTER_NAME",
            ),
            (&[("NATS_URL", " ")], "NATS_URL"),
            (&[("NODE_ID", "12")], "NODE_ID"),
            (
                &[("CLUSTER_GATHER_TIMEOUT_MS", "100")],
                "CLUSTER_GATHER_TIMEOUT_MS",
            ),
            (
                &[("NATS_URL", "nats://h:1"), ("CLUSTER_HEARTBEAT_MS", "0")],
                "CLUSTER_HEARTBEAT_MS",
            ),
            (
                &[("NATS_URL", "nats://h:1"), ("CLUSTER_HEARTBEAT_MS", "5000")],
                "expire_after",
            ),
        ] {
            match from(vars) {
                Err(ConfigError::InvalidValue { name, .. }) => assert_eq!(name, named),
                other => panic!("{vars:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn tls_needs_a_key_and_a_certificate() {
        let builder = from(&[
            ("TLS_KEY", "k.pem"),
            ("TLS_CERT", "c.pem"),
            ("TLS_CHAIN", "chain.pem"),
            ("TLS_CLIENT_CA", "ca.pem"),
        ])
        .unwrap();
        assert_eq!(
            builder.tls,
            Some(
                TlsConfig::new("k.pem", "c.pem")
                    .chain("chain.pem")
                    .require_client_certificates("ca.pem")
            )
        );
        let error = from(&[("TLS_KEY", "k.pem")]).unwrap_err();
        assert!(
            matches!(
                error,
                ConfigError::InvalidValue {
                    name: "TLS_KEY",
                    ..
                }
            ),
            "{error}"
        );
        for name in ["TLS_CHAIN", "TLS_CLIENT_CA"] {
            let error = from(&[(name, "ca.pem")]).unwrap_err();
            assert!(
                matches!(error, ConfigError::InvalidValue { name: found, .. } if found == name),
                "{error}"
            );
        }
        let error = from(&[
            ("TLS_KEY", "k.pem"),
            ("TLS_CERT", "c.pem"),
            ("TLS_CA", "ca.pem"),
        ])
        .unwrap_err();
        assert!(
            matches!(&error, ConfigError::InvalidValue { name: "TLS_CA", problem, .. }
                if problem.contains("TLS_CHAIN") && problem.contains("TLS_CLIENT_CA")),
            "{error}"
        );
    }

    #[test]
    fn bad_values_are_errors_that_name_the_variable() {
        let error = from(&[("PORT", "70000")]).unwrap_err();
        assert!(
            matches!(error, ConfigError::InvalidValue { name: "PORT", .. }),
            "{error}"
        );
        let error = from(&[("MAX_LOST_PINGS", "0")]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "MAX_LOST_PINGS = \"0\": must be more than 0"
        );
        let error = from(&[("PING_INTERVAL_MS", "soon")]).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("PING_INTERVAL_MS = \"soon\": "),
            "{error}"
        );
    }
}
