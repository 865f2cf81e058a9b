//! Shared pieces of the Yoctopus benchmark harness.
//!
//! The harness is a handful of programs (see `README.md` beside `Cargo.toml`): servers doing the
//! same job, a load generator, and a driver that runs them against each other; and, for the
//! change-tracking configurations, `bench-tracker`, a server following a database table. They
//! agree on what a request looks like, what a report contains and how a process is measured
//! (for the cluster configurations, what their NATS server counted: [`nats`]) through this small
//! library, so that a change to the request format is made in exactly one place.

pub mod cli;
pub mod fanout;
pub mod lifetime;
pub mod limits;
pub mod nats;
pub mod order;
pub mod procfs;
pub mod report;
pub mod request;
pub mod tracker;
