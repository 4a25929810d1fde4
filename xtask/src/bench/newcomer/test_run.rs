//! The newcomer's second command: `cargo xtask test` in a fresh clone of HEAD, with the tools
//! present (trunk, wasm-bindgen-cli and the system packages installed; cargo's registry
//! shared), its own `target/` and `.tools/`. How long it takes, what it cost in CPU, and
//! whether it passed: CI runs the same command on a fresh machine within its time.

use std::{
    process::Stdio,
    thread::sleep,
    time::{Duration, Instant},
};

use anyhow::Result;
use serde_json::{json, Value};

use super::{
    super::process_tree::one_minute_load,
    clone::{fresh_clone, minutes_f, round1, LogTail},
};
use crate::{processes::Process, root, step};

/// Past this, something is wrong (CI gives the whole run 90 minutes).
const LIMIT: Duration = Duration::from_secs(80 * 60);
const LOAD_EVERY: Duration = Duration::from_secs(15);

/// One `cargo xtask test` in a fresh clone.
pub struct TestRun {
    pub seconds: f64,
    /// CPU seconds of the run and every process it started.
    pub cpu: f64,
    /// The mean one-minute load average during the run.
    pub load_mean: f64,
    pub passed: bool,
    /// What it printed (its `xtask:` lines), with the second each appeared.
    pub steps: Vec<(f64, String)>,
}

impl TestRun {
    pub fn to_json(&self) -> Value {
        json!({
            "seconds": round1(self.seconds),
            "cpu_seconds": round1(self.cpu),
            "load_average_mean": (self.load_mean * 100.0).round() / 100.0,
            "passed": self.passed,
            "steps": self.steps.iter().map(|(at, line)| json!([round1(*at), line])).collect::<Vec<_>>(),
        })
    }

    pub fn from_json(value: &Value) -> Option<TestRun> {
        Some(TestRun {
            seconds: value["seconds"].as_f64()?,
            cpu: value["cpu_seconds"].as_f64()?,
            load_mean: value["load_average_mean"].as_f64()?,
            passed: value["passed"].as_bool()?,
            steps: value["steps"]
                .as_array()?
                .iter()
                .filter_map(|s| Some((s[0].as_f64()?, s[1].as_str()?.to_owned())))
                .collect(),
        })
    }

    /// The steps as a Markdown table.
    pub fn table(&self) -> String {
        let mut table = String::from("| at | `cargo xtask test` printed |\n|---|---|\n");
        for (at, line) in &self.steps {
            table.push_str(&format!(
                "| {} | {} |\n",
                minutes_f(*at),
                line.replace('|', "\\|")
            ));
        }
        table.push_str(&format!(
            "| {} | ({}) |\n",
            minutes_f(self.seconds),
            if self.passed { "passed" } else { "FAILED" }
        ));
        table
    }
}

/// CPU seconds of the children this process has waited for (and of theirs).
fn children_cpu_seconds() -> f64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct it is given.
    let usage = unsafe {
        libc::getrusage(libc::RUSAGE_CHILDREN, usage.as_mut_ptr());
        usage.assume_init()
    };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(usage.ru_utime) + secs(usage.ru_stime)
}

/// Clones HEAD and times `cargo xtask test` in the clone.
pub fn measure() -> Result<TestRun> {
    step("newcomer: a fresh clone of HEAD and `cargo xtask test` (tools present; tens of minutes)");
    let (clone, _commit) = fresh_clone("newcomer-test")?;
    let log_path = root().join("target/bench/newcomer-test.log");
    let log = std::fs::File::create(&log_path)?;
    let mut cmd = crate::cargo();
    cmd.args(["xtask", "test"])
        .current_dir(&clone)
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET_DIR")
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    let cpu_before = children_cpu_seconds();
    let started = Instant::now();
    let mut test = Process::spawn_group("cargo xtask test (fresh clone)", &mut cmd)?;
    step(&format!(
        "newcomer: `cargo xtask test` started in {} (its output: {})",
        clone.display(),
        log_path.display()
    ));
    let mut tail = LogTail::open(&log_path)?;
    let mut steps = Vec::new();
    let mut loads = vec![one_minute_load()];
    let mut sampled = Instant::now();
    let status = loop {
        let at = started.elapsed().as_secs_f64();
        for line in tail.new_lines()? {
            if let Some(said) = line.strip_prefix("xtask: ") {
                step(&format!("newcomer test: [{}] {said}", minutes_f(at)));
                steps.push((at, said.to_owned()));
            }
        }
        if let Some(status) = test.exited()? {
            break Some(status);
        }
        if started.elapsed() > LIMIT {
            break None;
        }
        if sampled.elapsed() >= LOAD_EVERY {
            loads.push(one_minute_load());
            sampled = Instant::now();
        }
        sleep(Duration::from_millis(500));
    };
    let seconds = started.elapsed().as_secs_f64();
    // Stops the whole group when it ran past the limit; reaps it either way.
    drop(test);
    let cpu = children_cpu_seconds() - cpu_before;
    step("newcomer: removing the test clone");
    let _ = std::fs::remove_dir_all(&clone);
    Ok(TestRun {
        seconds,
        cpu,
        load_mean: loads.iter().sum::<f64>() / loads.len() as f64,
        passed: status.is_some_and(|s| s.success()),
        steps,
    })
}
