//! The README's code, compiled as doctests.
//!
//! Every `rust` block of `README.md` is a doctest of this otherwise empty library, so that
//! `cargo test -p yoctopus-examples --doc` fails when the README stops matching the API. Blocks
//! that start a server are `no_run`: compiled, not run.

/// The README, whose `rust` blocks rustdoc compiles and runs; it exists only under `doctest`.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
