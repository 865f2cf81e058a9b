//! Running the programs a harness starts: fresh temporary directories, free loopback ports, and
//! commands whose every wait is bounded (a hung helper program fails the test, it never hangs
//! it).

use std::fs;
use std::fs::File;
use std::io::{self, ErrorKind, Read, Seek, SeekFrom};
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long a program killed after its timeout may take to exit.
const KILL_TIMEOUT: Duration = Duration::from_secs(10);

/// Creates a fresh directory `yoctopus-PREFIX-...` in the system's temporary directory.
pub(crate) fn make_temp_dir(prefix: &str) -> io::Result<PathBuf> {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.subsec_nanos());
    let base = std::env::temp_dir();
    for _ in 0..100 {
        let dir = base.join(format!(
            "yoctopus-{prefix}-{}-{nanos}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        match fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(error) if error.kind() == ErrorKind::AlreadyExists => {}
            Err(error) => {
                return Err(io::Error::new(
                    error.kind(),
                    format!("could not create {}: {error}", dir.display()),
                ))
            }
        }
    }
    Err(io::Error::new(
        ErrorKind::AlreadyExists,
        format!(
            "could not find a fresh directory name in {}",
            base.display()
        ),
    ))
}

/// A TCP port of 127.0.0.1 that was free a moment ago (bound and released).
pub(crate) fn free_port() -> io::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}

/// Runs `command` to completion within `timeout`, killing it when it takes longer, and returns
/// its output.
///
/// # Errors
///
/// When the program cannot be run, takes too long or exits unsuccessfully; the error names the
/// command and quotes its output.
pub(crate) fn run(command: &mut Command, timeout: Duration) -> io::Result<Output> {
    let deadline = Instant::now() + timeout;
    let what = describe(command);
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| io::Error::new(error.kind(), format!("could not run {what}: {error}")))?;
    // Pipes are read on threads, so that a chatty program cannot block on a full pipe; their
    // results come over channels, so that waiting for them is bounded too.
    let stdout = read_on_thread(child.stdout.take());
    let stderr = read_on_thread(child.stderr.take());
    let Some(status) = wait_until(&mut child, deadline)? else {
        let _ = child.kill();
        let _ = wait_until(&mut child, Instant::now() + KILL_TIMEOUT);
        return Err(io::Error::new(
            ErrorKind::TimedOut,
            format!("{what} did not finish within {timeout:?}"),
        ));
    };
    let collect = |receiver: mpsc::Receiver<Vec<u8>>| {
        let left = deadline.saturating_duration_since(Instant::now());
        receiver
            .recv_timeout(left.max(Duration::from_secs(1)))
            .unwrap_or_default()
    };
    let output = Output {
        status,
        stdout: collect(stdout),
        stderr: collect(stderr),
    };
    if output.status.success() {
        Ok(output)
    } else {
        Err(io::Error::other(format!(
            "{what} failed ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )))
    }
}

/// Reads `pipe` to its end on a thread, sending what it read over the returned channel.
fn read_on_thread(pipe: Option<impl Read + Send + 'static>) -> mpsc::Receiver<Vec<u8>> {
    let (sender, receiver) = mpsc::channel();
    if let Some(mut pipe) = pipe {
        thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            let _ = sender.send(bytes);
        });
    } else {
        let _ = sender.send(Vec::new());
    }
    receiver
}

/// Waits for `child` to exit, until `deadline`; `None` when it still runs then.
pub(crate) fn wait_until(child: &mut Child, deadline: Instant) -> io::Result<Option<ExitStatus>> {
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(None);
        }
        thread::sleep(Duration::from_millis(20).min(deadline - now));
    }
}

/// The command line of `command`, for messages.
pub(crate) fn describe(command: &Command) -> String {
    format!("{command:?}")
}

/// The end of the log at `path`, from byte `start` on (at most `most` bytes), for an error.
pub(crate) fn log_tail(path: &Path, start: u64, most: u64) -> String {
    let read = || -> io::Result<String> {
        let mut file = File::open(path)?;
        let length = file.metadata()?.len();
        file.seek(SeekFrom::Start(start.max(length.saturating_sub(most))))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    };
    read().unwrap_or_else(|error| format!("(could not read the log: {error})"))
}

/// The processes (other than this one) whose command line names `dir` or whose working
/// directory is in it, as `pid: command line (in cwd)`, read from /proc: what a stopped server
/// must not leave behind.
pub fn processes_using(dir: &Path) -> Vec<String> {
    let dir = dir.to_string_lossy().into_owned();
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.parse::<u32>().is_err() || name == std::process::id().to_string() {
            continue;
        }
        let cmdline = fs::read(entry.path().join("cmdline"))
            .map(|bytes| String::from_utf8_lossy(&bytes).replace('\0', " "))
            .unwrap_or_default();
        let cwd = fs::read_link(entry.path().join("cwd"))
            .map(|cwd| cwd.to_string_lossy().into_owned())
            .unwrap_or_default();
        if cmdline.contains(&dir) || cwd.starts_with(&dir) {
            found.push(format!("{name}: {cmdline} (in {cwd})"));
        }
    }
    found
}
