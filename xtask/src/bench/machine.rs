//! What the bench ran on and when: the first lines of the report.

use std::process::{Command, Stdio};

use crate::root;

pub struct Machine {
    date: String,
    commit: String,
    cpu: String,
    cores: usize,
    memory: String,
    kernel: String,
    load: String,
    rustc: String,
    chromium: String,
    redis: String,
}

impl Machine {
    pub fn describe() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split(':').nth(1))
            .map(|m| m.trim().to_owned())
            .unwrap_or_else(|| "unknown CPU".into());
        let memory = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|m| {
                let kb: f64 = m.lines().next()?.split_whitespace().nth(1)?.parse().ok()?;
                Some(format!("{:.0} GiB", kb / 1024.0 / 1024.0))
            })
            .unwrap_or_else(|| "unknown".into());
        let dirty = !output("git", &["status", "--porcelain"]).is_empty();
        Machine {
            date: output("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
            commit: format!(
                "{}{}",
                output("git", &["rev-parse", "--short", "HEAD"]),
                if dirty {
                    " with uncommitted changes"
                } else {
                    ""
                }
            ),
            cpu,
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            memory,
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .map(|k| k.trim().to_owned())
                .unwrap_or_default(),
            load: std::fs::read_to_string("/proc/loadavg")
                .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
                .unwrap_or_default(),
            rustc: output("rustc", &["--version"]),
            chromium: output("chromium", &["--version"]),
            redis: output("redis-server", &["--version"])
                .split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" "),
        }
    }

    /// Three list items: date and commit, the machine, the tools.
    pub fn markdown(&self) -> String {
        format!(
            "- date: {}; commit {}\n- machine: {} × {} (`nproc` = {}), {} memory, Linux {}; \
             load average {} when the run began\n- tools: {}; {}; {}",
            self.date,
            self.commit,
            self.cpu,
            self.cores,
            self.cores,
            self.memory,
            self.kernel,
            self.load,
            self.rustc,
            self.chromium,
            self.redis,
        )
    }
}

/// What `program args` prints, trimmed, or a note that it is not available.
fn output(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .current_dir(root())
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| format!("{program}: not available"))
}
