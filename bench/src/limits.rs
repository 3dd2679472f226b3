//! The open-files limit (RLIMIT_NOFILE). Every worker holds a connection, so a run with
//! many workers needs a soft limit well above the usual 1024, in the bench and in the
//! server (which inherits the bench's limits). Without a libc binding the limit is read
//! from `/proc/self/limits` and raised, where possible, with util-linux `prlimit`.

use std::process::{Command, Stdio};

/// A limit value; `None` is unlimited.
pub type Limit = Option<u64>;

/// Parses the `Max open files` line of `/proc/<pid>/limits`: `(soft, hard)`.
pub fn parse_nofile(limits: &str) -> Option<(Limit, Limit)> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    let mut fields = line["Max open files".len()..].split_whitespace();
    let parse = |s: &str| match s {
        "unlimited" => Some(None),
        n => n.parse().ok().map(Some),
    };
    let soft = parse(fields.next()?)?;
    let hard = parse(fields.next()?)?;
    Some((soft, hard))
}

/// The soft and hard open-files limits of this process, if readable.
pub fn nofile() -> Option<(Limit, Limit)> {
    parse_nofile(&std::fs::read_to_string("/proc/self/limits").ok()?)
}

/// The file descriptors a run with `workers` concurrent workers wants per process. The
/// server, which inherits the bench's limit, holds the most: a connection per worker, and
/// with the standalone sandbox processor up to as many again to the processor (which
/// itself, like the bench, needs one per worker), plus headroom for the runtime, logs and
/// the database.
pub fn wanted(workers: usize) -> u64 {
    workers as u64 * 2 + 100
}

/// Makes sure the soft open-files limit is at least `want`: raises it (up to the hard
/// limit) with `prlimit` if needed. Returns a line to print: what was done, or a warning.
pub fn ensure_nofile(want: u64) -> Option<String> {
    let (soft, hard) = nofile()?;
    let enough = |l: Limit| l.is_none_or(|n| n >= want);
    if enough(soft) {
        return None;
    }
    let soft_n = soft.unwrap_or(u64::MAX);
    // Ask for a little more than needed (8192 at least) without passing the hard limit.
    let target = want.max(8192).min(hard.unwrap_or(u64::MAX));
    if target > soft_n {
        let _ = Command::new("prlimit")
            .arg(format!("--pid={}", std::process::id()))
            .arg(format!("--nofile={target}:"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
    let now = nofile().map_or(soft, |(s, _)| s);
    let show = |l: Limit| l.map_or_else(|| "unlimited".to_string(), |n| n.to_string());
    if enough(now) {
        Some(format!(
            "note: raised the open-files soft limit from {soft_n} to {} (this run wants {want})",
            show(now)
        ))
    } else {
        Some(format!(
            "warning: the open-files soft limit is {} (hard {}), this run wants {want}; \
             connections may fail with \"Too many open files\". Run `ulimit -n 8192` (or more) \
             in the shell first.",
            show(now),
            show(hard)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_limits() {
        let text = "Limit                     Soft Limit           Hard Limit           Units     \n\
                    Max cpu time              unlimited            unlimited            seconds   \n\
                    Max open files            1024                 1048576              files     \n";
        assert_eq!(parse_nofile(text), Some((Some(1024), Some(1_048_576))));
        let unl = "Max open files            unlimited            unlimited            files\n";
        assert_eq!(parse_nofile(unl), Some((None, None)));
        assert_eq!(parse_nofile("nothing here"), None);
        assert_eq!(wanted(1000), 2100);
    }

    #[test]
    fn reads_own_limits() {
        if std::path::Path::new("/proc/self/limits").exists() {
            assert!(nofile().is_some());
        }
    }
}
