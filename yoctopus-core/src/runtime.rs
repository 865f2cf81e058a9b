//! The tokio runtime a Yoctopus server runs best on, which `#[yoctopus_core::main]` builds.
//!
//! Why not tokio's default: on one core, tokio's multi-thread scheduler serves a thousand busy
//! connections unfairly. Its per-worker run queue holds 256 tasks; when more connections are ready
//! at once, half the queue moves to the shared queue, which the worker visits only every 61 tasks
//! while the connections still in the local queue keep coming back to it. The connections that
//! landed in the shared queue then wait many turns: in `yoctopus-bench` at 1,000 connections with
//! one request each outstanding, the 99th percentile was 30 to 60 times the median, and the
//! slowest connection got a third of the replies of the fastest. The current-thread scheduler has
//! one unbounded first-in-first-out queue, so every ready connection is served in turn and the
//! 99th percentile stays close to the median (figures in BENCHMARKS.md).
//!
//! With more than one core, one current-thread runtime would leave the others idle, so the
//! multi-thread scheduler stays: its work stealing spreads connections over the cores.

use std::io;
use std::num::NonZeroUsize;

/// Builds the runtime for a Yoctopus server: tokio's current-thread scheduler when this process
/// may run on a single core (`std::thread::available_parallelism`, which honours CPU affinity and
/// cgroup quotas), its multi-thread scheduler otherwise; I/O and timers enabled either way.
///
/// `#[yoctopus_core::main]` calls it; call it yourself to run a server inside code of your own:
///
/// ```no_run
/// let runtime = yoctopus_core::runtime::build()?;
/// runtime.block_on(async {
///     // ServerBuilder::from_env()?.plugin(...).start().await ...
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Errors
/// When tokio cannot build the runtime (its I/O driver or a worker thread cannot be created).
pub fn build() -> io::Result<tokio::runtime::Runtime> {
    builder(std::thread::available_parallelism().ok()).build()
}

/// What a machine with `cores` cores (unknown when `None`) gets: the current-thread scheduler on
/// one core, the multi-thread one otherwise.
fn builder(cores: Option<NonZeroUsize>) -> tokio::runtime::Builder {
    let mut builder = if cores.is_some_and(|cores| cores.get() == 1) {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    builder.enable_all();
    builder
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroUsize;

    use tokio::runtime::RuntimeFlavor;

    use super::builder;

    fn flavor(cores: Option<usize>) -> RuntimeFlavor {
        let runtime = builder(cores.and_then(NonZeroUsize::new))
            .build()
            .expect("the runtime builds");
        runtime.handle().runtime_flavor()
    }

    #[test]
    fn one_core_gets_the_current_thread_scheduler_and_more_get_the_multi_thread_one() {
        assert_eq!(flavor(Some(1)), RuntimeFlavor::CurrentThread);
        assert_eq!(flavor(Some(2)), RuntimeFlavor::MultiThread);
        assert_eq!(flavor(None), RuntimeFlavor::MultiThread);
    }

    #[test]
    fn timers_and_sockets_work_on_both() {
        for cores in [1, 2] {
            let runtime = builder(NonZeroUsize::new(cores)).build().unwrap();
            runtime.block_on(async {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let addr = listener.local_addr().unwrap();
                let (accepted, connected) =
                    tokio::join!(listener.accept(), tokio::net::TcpStream::connect(addr));
                accepted.unwrap();
                connected.unwrap();
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            });
        }
    }
}
