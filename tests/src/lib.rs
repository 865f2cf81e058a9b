//! Harnesses for the real servers that Yoctopus's tests talk to.
//!
//! The integration tests (in `tests/`), the examples' tests and the benchmark need real servers
//! beside the Yoctopus server under test: a database, a message broker, a browser. Each harness
//! here starts a *private* instance of one of them for the duration of a test — in a temporary
//! directory, on a free loopback port, from the machine's installed packages, without Docker and
//! without downloads — and stops it and removes its files afterwards, so that no test depends on
//! a machine-wide service or on what another test left behind.
//!
//! When a server's package is missing, its harness returns an error saying so and naming
//! `bash scripts/install-test-deps.sh`, which installs every such package from Debian's archive.
//!
//! - [`postgres`]: a PostgreSQL server ([`postgres::PostgresServer`]).
//! - [`nats`]: a NATS server ([`nats::NatsServer`]).

pub mod nats;
pub mod postgres;
mod process;

pub use process::processes_using;
