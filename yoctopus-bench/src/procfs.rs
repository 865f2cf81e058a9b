//! What the driver and the load generator read from `/proc`: a process's resident memory and CPU
//! time, the open-files limit, and how busy the machine is.
//!
//! Reading `/proc` keeps the harness free of `unsafe` and of platform crates; the harness runs on
//! Linux only (it also pins processes with `taskset`).

use std::io;

/// Clock ticks per second in `/proc/<pid>/stat`. Linux fixes `USER_HZ` at 100 in its ABI on every
/// architecture the harness runs on, so it is not asked for with `sysconf`.
const TICKS_PER_SECOND: f64 = 100.0;

/// The resident set size of process `pid` (`VmRSS` in `/proc/<pid>/status`), in bytes.
pub fn rss_bytes(pid: u32) -> io::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().strip_suffix("kB"))
        .and_then(|kib| kib.trim().parse::<u64>().ok())
        .map(|kib| kib * 1024)
        .ok_or_else(|| invalid(format!("no VmRSS line in /proc/{pid}/status")))
}

/// The CPU time process `pid` has used so far, user plus system, all threads, in seconds.
pub fn cpu_seconds(pid: u32) -> io::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name (field 2) may hold spaces and parentheses: count fields after its last `)`.
    let after_name = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .ok_or_else(|| invalid(format!("malformed /proc/{pid}/stat")))?;
    // The fields after the name start at field 3 (state): utime (14) and stime (15) follow.
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |index: usize, name: &str| {
        fields
            .get(index)
            .and_then(|field| field.parse::<u64>().ok())
            .ok_or_else(|| invalid(format!("no {name} in /proc/{pid}/stat")))
    };
    let user = ticks(14 - 3, "utime")?;
    let system = ticks(15 - 3, "stime")?;
    #[expect(
        clippy::cast_precision_loss,
        reason = "tick counts stay far below 2^52"
    )]
    let seconds = (user + system) as f64 / TICKS_PER_SECOND;
    Ok(seconds)
}

/// The CPU time the processes `pids` have used so far, summed, in seconds; `None` when there are
/// none or one cannot be read.
pub fn cpu_seconds_of(pids: &[u32]) -> Option<f64> {
    if pids.is_empty() {
        return None;
    }
    pids.iter().map(|pid| cpu_seconds(*pid).ok()).sum()
}

/// This process's soft limit on open files (`Max open files` in `/proc/self/limits`).
pub fn open_files_limit() -> io::Result<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits")?;
    let line = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))
        .ok_or_else(|| invalid("no `Max open files` line in /proc/self/limits".to_owned()))?;
    let soft = line["Max open files".len()..]
        .split_whitespace()
        .next()
        .unwrap_or_default();
    if soft == "unlimited" {
        return Ok(u64::MAX);
    }
    soft.parse()
        .map_err(|_| invalid(format!("unreadable open-files limit `{soft}`")))
}

/// The machine's load average over the last minute (`/proc/loadavg`).
pub fn load_average() -> io::Result<f64> {
    let loadavg = std::fs::read_to_string("/proc/loadavg")?;
    loadavg
        .split_whitespace()
        .next()
        .and_then(|load| load.parse().ok())
        .ok_or_else(|| invalid(format!("unreadable /proc/loadavg `{}`", loadavg.trim())))
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

#[cfg(test)]
mod tests {
    use super::{cpu_seconds, load_average, open_files_limit, rss_bytes};

    #[test]
    fn this_process_has_memory_cpu_time_and_an_open_files_limit() {
        let pid = std::process::id();
        assert!(rss_bytes(pid).expect("VmRSS") > 0);
        assert!(cpu_seconds(pid).expect("stat") >= 0.0);
        assert!(open_files_limit().expect("limits") > 0);
        assert!(load_average().expect("loadavg") >= 0.0);
    }
}
