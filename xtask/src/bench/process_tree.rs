//! A process and everything below it, as /proc shows them: the newcomer section's CPU time of
//! a whole build (cargo, rustc, trunk…) and the machine's load while it ran.

use crate::processes::clock_ticks_per_second;

/// What /proc/PID/stat says of a process.
pub struct Stat {
    parent: u32,
    /// utime + stime + cutime + cstime: its own CPU and that of the children it has reaped.
    cpu_ticks: u64,
    pub start_time: u64,
}

pub fn stat(pid: u32) -> Option<Stat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces: count from its closing parenthesis.
    let fields: Vec<&str> = text[text.rfind(')')? + 2..].split_whitespace().collect();
    let number = |i: usize| fields.get(i)?.parse::<u64>().ok();
    Some(Stat {
        parent: number(1)? as u32,
        cpu_ticks: (11..=14).map(number).sum::<Option<u64>>()?,
        start_time: number(19)?,
    })
}

/// Every live process below `root` (children, their children…), with its start time.
pub fn descendants(root: u32) -> Vec<(u32, u64)> {
    let all: Vec<(u32, Stat)> = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| Some((pid, stat(pid)?)))
        .collect();
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(
            all.iter()
                .filter(|(_, s)| s.parent == parent)
                .map(|(pid, _)| *pid),
        );
        i += 1;
    }
    found
        .into_iter()
        .skip(1)
        .filter_map(|pid| Some((pid, all.iter().find(|(p, _)| *p == pid)?.1.start_time)))
        .collect()
}

/// CPU seconds of `root` and every live process below it, each with what it has reaped; the
/// compiler processes that have ended were reaped by cargo, which was reaped (or exec'ed into
/// xtask) in turn, so they are counted.
pub fn tree_cpu_seconds(root: u32) -> f64 {
    let ticks: u64 = std::iter::once(root)
        .chain(descendants(root).into_iter().map(|(pid, _)| pid))
        .filter_map(stat)
        .map(|s| s.cpu_ticks)
        .sum();
    ticks as f64 / clock_ticks_per_second() as f64
}

pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

pub fn one_minute_load() -> f64 {
    load_average()
        .split_whitespace()
        .next()
        .and_then(|l| l.parse().ok())
        .unwrap_or(f64::NAN)
}
