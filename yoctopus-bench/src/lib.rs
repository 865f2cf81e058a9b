//! Shared pieces of the Yoctopus benchmark harness.
//!
//! The harness is four programs (see `README.md` beside `Cargo.toml`): two servers doing the same
//! job, a load generator, and a driver that runs them against each other. They agree on what a
//! request looks like, what a report contains and how a process is measured through this small
//! library, so that a change to the request format is made in exactly one place.

pub mod cli;
pub mod fanout;
pub mod lifetime;
pub mod procfs;
pub mod report;
pub mod request;
