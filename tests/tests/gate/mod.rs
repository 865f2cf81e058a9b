//! A plugin whose requests wait until the test lets them finish, shared by the tests of limits
//! on requests in flight and of shutdown (which must let running requests finish).

#![allow(
    dead_code,
    reason = "each test file uses a different part of the plugin"
)]

/// `gated:slow` `read` holds each request until the test releases a permit; `gated:fast` and
/// `gated:echo` `read` answer at once.
#[yoctopus_core::plugin]
pub(crate) mod gated {
    use yoctopus_core::prelude::*;

    /// Tells the test which slow requests have started, and holds each until the test releases
    /// one permit for it.
    pub(crate) struct Gate {
        pub(crate) started: tokio::sync::mpsc::UnboundedSender<u64>,
        pub(crate) release: std::sync::Arc<tokio::sync::Semaphore>,
    }

    #[endpoint(name = "slow", method = "read")]
    async fn slow(n: u64, gate: State<Gate>) -> u64 {
        let _ = gate.started.send(n);
        gate.release
            .acquire()
            .await
            .expect("the test never closes the gate")
            .forget();
        n
    }

    #[endpoint(name = "fast", method = "read")]
    async fn fast() -> &'static str {
        "fast"
    }

    #[endpoint(name = "echo", method = "read")]
    async fn echo(data: serde_json::Value) -> serde_json::Value {
        data
    }
}
