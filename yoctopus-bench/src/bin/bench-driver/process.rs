//! Child processes run within bounds: pinned to one core with `taskset`, their output read line by
//! line with a deadline, and their end awaited with a deadline after which they are killed.
//!
//! The driver is plain threads and `std::process`: it only starts programs and waits, and keeping
//! an async runtime out of it keeps it off the cores it measures.

use std::io::{BufRead as _, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A command that runs `program` pinned to CPU `core`. `taskset` execs the program, so the child's
/// process id is the program's.
pub(crate) fn pinned(core: usize, program: &Path) -> Command {
    let mut command = Command::new("taskset");
    command.arg("-c").arg(core.to_string()).arg(program);
    command
}

/// The lines of a child's output, read on a thread of their own so a wait can time out. Output
/// after the lines wanted is still drained, so the child never blocks on a full pipe.
#[derive(Debug)]
pub(crate) struct Lines {
    lines: mpsc::Receiver<String>,
}

impl Lines {
    /// Starts reading `output`.
    pub(crate) fn read(output: impl Read + Send + 'static) -> Self {
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(output).lines() {
                let Ok(line) = line else { return };
                // Once the receiver is gone, keep draining without forwarding.
                let _ = sender.send(line);
            }
        });
        Self { lines }
    }

    /// The next line, or `None` if none came before `timeout` or the output ended.
    pub(crate) fn next(&self, timeout: Duration) -> Option<String> {
        self.lines.recv_timeout(timeout).ok()
    }
}

/// Waits for `child` to exit until `deadline`, then kills it; `None` if it had to be killed.
pub(crate) fn wait_until(child: &mut Child, deadline: Instant) -> Option<ExitStatus> {
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
}

/// Runs `loadgen` (a `bench-loadgen` command, its arguments given) to its end, within `budget`
/// from its start, and reads the one JSON report it prints: an error if it cannot start, runs
/// over (it is killed), fails, prints nothing or prints something else.
pub(crate) fn loadgen_report<T: serde::de::DeserializeOwned>(
    loadgen: &mut Command,
    budget: Duration,
) -> Result<T, String> {
    let mut loadgen = loadgen
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|error| format!("starting bench-loadgen failed: {error}"))?;
    let lines = Lines::read(loadgen.stdout.take().expect("stdout was piped"));
    let status = wait_until(&mut loadgen, Instant::now() + budget)
        .ok_or("bench-loadgen did not finish in time and was killed")?;
    if !status.success() {
        return Err(format!("bench-loadgen failed: {status}"));
    }
    let line = lines
        .next(Duration::from_secs(1))
        .ok_or("bench-loadgen printed no report")?;
    serde_json::from_str(&line).map_err(|error| format!("unreadable report ({error}): {line}"))
}

/// Checks that `taskset` can pin to `core`, so that a missing tool or core fails the run at once.
pub(crate) fn check_pinning(core: usize) -> Result<(), String> {
    let status = pinned(core, Path::new("true"))
        .status()
        .map_err(|error| format!("running `taskset` failed ({error}); install util-linux"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "`taskset -c {core} true` failed: is there a CPU {core}?"
        ))
    }
}
