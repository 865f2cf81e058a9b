//! Raising this process's open-files limit from inside the harness, so that the 100,000 idle
//! connections of `idle-100k` (and the 10,000 of the others) need nothing of the shell that
//! started it: the driver raises its own limit before it starts anything, and every server and
//! load generator it starts inherits it.
//!
//! The workspace forbids `unsafe`, and a `setrlimit` binding would be a platform crate, so the
//! limit is set with util-linux's `prlimit` (the harness already needs util-linux for `taskset`),
//! on this process's own id. The soft limit goes up to the hard one; a hard limit that is itself
//! too low is raised too, which only a privileged process (root, or `CAP_SYS_RESOURCE`) may do, up
//! to the kernel's `fs.nr_open`.

use std::io;
use std::process::Command;

/// This process's open-files limits, soft and hard (`Max open files` in `/proc/self/limits`);
/// `u64::MAX` stands for `unlimited`.
pub fn open_files() -> io::Result<(u64, u64)> {
    let limits = std::fs::read_to_string("/proc/self/limits")?;
    let line = limits
        .lines()
        .find_map(|line| line.strip_prefix("Max open files"))
        .ok_or_else(|| invalid("no `Max open files` line in /proc/self/limits".to_owned()))?;
    let mut fields = line.split_whitespace().map(|field| match field {
        "unlimited" => Ok(u64::MAX),
        number => number
            .parse()
            .map_err(|_| invalid(format!("unreadable open-files limit `{number}`"))),
    });
    let soft = fields
        .next()
        .ok_or_else(|| invalid("no soft open-files limit".to_owned()))??;
    let hard = fields
        .next()
        .ok_or_else(|| invalid("no hard open-files limit".to_owned()))??;
    Ok((soft, hard))
}

/// Makes sure this process may open at least `needed` files, raising its limits if it must (see
/// the module's documentation); returns the soft limit it ends with.
pub fn raise_open_files(needed: u64) -> Result<u64, String> {
    let read = || open_files().map_err(|error| format!("reading the open-files limit: {error}"));
    let (soft, hard) = read()?;
    if soft >= needed {
        return Ok(soft);
    }
    let (new_soft, new_hard) = raised(needed, hard);
    let setting = format!("--nofile={new_soft}:{new_hard}");
    let outcome = Command::new("prlimit")
        .args(["--pid", &std::process::id().to_string(), &setting])
        .output();
    let (soft, _) = read()?;
    if soft >= needed {
        return Ok(soft);
    }
    let why = match outcome {
        Err(error) => format!("running `prlimit` failed ({error}); install util-linux"),
        Ok(output) => String::from_utf8_lossy(&output.stderr).trim().to_owned(),
    };
    Err(format!(
        "{needed} open files are needed and the limit is {soft} (hard {hard}); `prlimit {setting}` \
         did not raise it ({why}). Raising the hard limit needs root: raise it before starting \
         (`ulimit -Hn`), or ask for fewer connections"
    ))
}

/// The limits to ask for: the soft limit up to the hard one, both up to `needed` when the hard
/// limit is lower. An unlimited hard limit is left alone, and the soft one set to `needed`.
fn raised(needed: u64, hard: u64) -> (u64, u64) {
    match hard {
        u64::MAX => (needed, hard),
        hard if hard >= needed => (hard, hard),
        _ => (needed, needed),
    }
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

#[cfg(test)]
mod tests {
    use super::{open_files, raise_open_files, raised};

    #[test]
    fn the_soft_limit_goes_to_the_hard_one_and_both_up_when_the_hard_is_too_low() {
        assert_eq!(raised(100, 1000), (1000, 1000));
        assert_eq!(raised(5000, 1000), (5000, 5000));
        assert_eq!(raised(100, u64::MAX), (100, u64::MAX));
    }

    #[test]
    fn a_limit_already_high_enough_is_left_as_it_is() {
        let (soft, hard) = open_files().expect("limits");
        assert!(soft <= hard);
        assert_eq!(raise_open_files(16), Ok(soft));
        assert_eq!(open_files().expect("limits"), (soft, hard));
    }
}
