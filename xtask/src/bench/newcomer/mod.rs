//! The newcomer section ("time to the first login"): a fresh clone of HEAD, with the tools of
//! `cargo xtask dev` installed and cargo's registry shared (nothing to download), and how long
//! `cargo xtask dev` takes until the SPA is served and the backend answers `/healthz`; then, in
//! another fresh clone, how long the README's other command, `cargo xtask test`, takes
//! (`test_run.rs`). Cold builds of minutes: measured only when asked (`--only newcomer`), kept
//! in docs/BENCHMARKS.newcomer.json, which every other run reports with its date.

mod clone;
mod test_run;

use std::{
    fmt::Write as _,
    net::TcpListener,
    path::Path,
    process::Stdio,
    thread::sleep,
    time::{Duration, Instant},
};

use anyhow::{bail, Result};
use serde_json::{json, Value};

use self::{
    clone::{fresh_clone, http_get, minutes_f, output, round1, LogTail},
    test_run::TestRun,
};
use super::{
    process_tree::{descendants, load_average, one_minute_load, stat, tree_cpu_seconds},
    report::{minutes, Budget, Report, Section},
};
use crate::{
    processes::{http_ok, Process},
    root, step, BACKEND_PORT, DEMO_APP, EMULATED, SPA_ORIGIN,
};

/// The last measurement, committed with the code it measured.
const RECORD: &str = "docs/BENCHMARKS.newcomer.json";
/// The page within 6 minutes, on two idle cores.
const BUDGET_SECONDS: f64 = 360.0;
/// CI has 90 minutes, and a fresh machine spends ≈ 12 of them installing the tools: the tests
/// themselves within 48, so that the README's test command stays under an hour.
const TEST_BUDGET_SECONDS: f64 = 48.0 * 60.0;
/// A cold build on two busy cores has taken 21 minutes; past this, something is wrong.
const LIMIT: Duration = Duration::from_secs(40 * 60);
const POLL: Duration = Duration::from_millis(500);
const LOAD_EVERY: Duration = Duration::from_secs(15);
/// How long `cargo xtask dev` has to stop its servers after SIGTERM.
const STOP_GRACE: Duration = Duration::from_secs(20);

/// One measurement, as docs/BENCHMARKS.newcomer.json holds it.
struct Record {
    date: String,
    commit: String,
    /// Seconds from the start of `cargo xtask dev` to the page (index.html and its wasm).
    page: f64,
    /// Seconds to the backend's first `/healthz` answer.
    healthz: f64,
    /// CPU seconds of every process of the run until the page (cargo, rustc, trunk, servers).
    cpu: f64,
    cores: usize,
    load_start: String,
    load_end: String,
    /// The mean of the one-minute load average, sampled during the run.
    load_mean: f64,
    /// What `cargo xtask dev` printed (its `xtask:` lines), with the second it appeared.
    steps: Vec<(f64, String)>,
    /// `cargo xtask test` in another fresh clone (absent from records older than it).
    test: Option<TestRun>,
}

impl Record {
    fn to_json(&self) -> Value {
        json!({
            "date": self.date,
            "commit": self.commit,
            "page_seconds": round1(self.page),
            "healthz_seconds": round1(self.healthz),
            "cpu_seconds": round1(self.cpu),
            "cores": self.cores,
            "load_average_start": self.load_start,
            "load_average_end": self.load_end,
            "load_average_mean": (self.load_mean * 100.0).round() / 100.0,
            "steps": self.steps.iter().map(|(at, line)| json!([round1(*at), line])).collect::<Vec<_>>(),
            "test": self.test.as_ref().map(TestRun::to_json),
        })
    }

    fn from_json(value: &Value) -> Option<Record> {
        let text = |key: &str| value[key].as_str().map(str::to_owned);
        Some(Record {
            date: text("date")?,
            commit: text("commit")?,
            page: value["page_seconds"].as_f64()?,
            healthz: value["healthz_seconds"].as_f64()?,
            cpu: value["cpu_seconds"].as_f64()?,
            cores: value["cores"].as_u64()? as usize,
            load_start: text("load_average_start")?,
            load_end: text("load_average_end")?,
            load_mean: value["load_average_mean"].as_f64()?,
            steps: value["steps"]
                .as_array()?
                .iter()
                .filter_map(|s| Some((s[0].as_f64()?, s[1].as_str()?.to_owned())))
                .collect(),
            test: TestRun::from_json(&value["test"]),
        })
    }

    fn section(&self, measured_now: bool) -> Section {
        let when = if measured_now {
            format!("measured in this run ({})", self.date)
        } else {
            format!(
                "measured on {} by `cargo xtask bench --only newcomer`, not in this run \
                 (read back from `{RECORD}`)",
                self.date
            )
        };
        let mut section = Section::new(
            "Newcomer: a fresh clone to the page",
            format!(
                "Measured: `git clone` of commit {} into a temporary folder (its own `target/` \
                 and `.tools/`; cargo's registry and the installed trunk and wasm-bindgen \
                 shared), then `cargo xtask dev` until {SPA_ORIGIN}/ serves the SPA and the \
                 backend answers `/healthz`; {when}. {} cores, load average {} at the start, \
                 {} at the end, {:.1} on average.",
                self.commit, self.cores, self.load_start, self.load_end, self.load_mean
            ),
        );
        section.budgeted(
            "newcomer: `cargo xtask dev` to the page, fresh clone",
            self.page,
            format!(
                "{} (load average {:.1}{})",
                minutes_f(self.page),
                self.load_mean,
                if measured_now {
                    String::new()
                } else {
                    format!("; on {}", self.date)
                }
            ),
            Budget::at_most(BUDGET_SECONDS, "≤ 6 min"),
        );
        // A first login needs the backend too, which starts once it is built: the later of
        // the two is when the newcomer can log in, held to the same budget.
        let ready = self.page.max(self.healthz);
        section.budgeted(
            "newcomer: to the first login (the page and the backend up)",
            ready,
            format!(
                "{} (backend answering `/healthz` at {})",
                minutes_f(ready),
                minutes_f(self.healthz)
            ),
            Budget::at_most(BUDGET_SECONDS, "≤ 6 min"),
        );
        section.info(
            "CPU time of the run, until the page",
            format!(
                "{} ({:.1} of {} cores busy on average)",
                minutes_f(self.cpu),
                self.cpu / self.page.max(1.0),
                self.cores
            ),
        );
        let mut table = String::from("| at | `cargo xtask dev` printed |\n|---|---|\n");
        for (at, line) in &self.steps {
            let _ = writeln!(
                table,
                "| {} | {} |",
                minutes_f(*at),
                line.replace('|', "\\|")
            );
        }
        let _ = writeln!(table, "| {} | (the page answered) |", minutes_f(self.page));
        if let Some(test) = &self.test {
            section.budgeted(
                "newcomer: `cargo xtask test`, fresh clone, tools present",
                if test.passed {
                    test.seconds
                } else {
                    f64::INFINITY
                },
                format!(
                    "{} ({}; {} of CPU, load average {:.1})",
                    minutes_f(test.seconds),
                    if test.passed { "passed" } else { "FAILED" },
                    minutes_f(test.cpu),
                    test.load_mean
                ),
                Budget::at_most(TEST_BUDGET_SECONDS, "≤ 48 min, passing"),
            );
            table.push('\n');
            table.push_str(&test.table());
        }
        section.details = table;
        section
    }
}

/// The newcomer figure of the last measurement, for a run that does not measure it.
pub fn last(report: &mut Report) {
    let record = std::fs::read_to_string(root().join(RECORD))
        .ok()
        .and_then(|text| serde_json::from_str::<Value>(&text).ok())
        .and_then(|value| Record::from_json(&value));
    match record {
        Some(record) => report.sections.push(record.section(false)),
        None => report.unmeasured.push(format!(
            "newcomer: no earlier measurement in `{RECORD}`; `cargo xtask bench --only newcomer` \
             measures it (a cold build: minutes)"
        )),
    }
}

/// Clones HEAD, times `cargo xtask dev` in the clone, stops it, and records the figures.
pub fn newcomer(report: &mut Report) -> Result<()> {
    step("newcomer: a fresh clone of HEAD and `cargo xtask dev` to the page (a cold build)");
    for port in dev_ports() {
        if TcpListener::bind(("127.0.0.1", port)).is_err() {
            bail!(
                "port {port} is taken (is a `cargo xtask dev` running?): the newcomer run needs \
                 the ports of `cargo xtask dev` free"
            );
        }
    }
    let (clone, commit) = fresh_clone("newcomer")?;
    let measured = measure(&clone, commit);
    step("newcomer: removing the clone");
    let _ = std::fs::remove_dir_all(&clone);
    let mut record = measured?;
    record.test = Some(test_run::measure()?);
    std::fs::write(
        root().join(RECORD),
        format!("{}\n", serde_json::to_string_pretty(&record.to_json())?),
    )?;
    step(&format!(
        "newcomer: the page after {} (load average {:.1}); recorded in {RECORD}",
        minutes_f(record.page),
        record.load_mean
    ));
    report.sections.push(record.section(true));
    Ok(())
}

fn measure(clone: &Path, commit: String) -> Result<Record> {
    let log_path = root().join("target/bench/newcomer-dev.log");
    let log = std::fs::File::create(&log_path)?;
    let mut cmd = crate::cargo();
    cmd.args(["xtask", "dev"])
        .current_dir(clone)
        // The clone's own target/, as on a newcomer's machine.
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET_DIR")
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    let load_start = load_average();
    let started = Instant::now();
    let mut dev = Process::spawn_group("cargo xtask dev (fresh clone)", &mut cmd)?;
    step(&format!(
        "newcomer: `cargo xtask dev` started in {} (its output: {})",
        clone.display(),
        log_path.display()
    ));

    let mut tail = LogTail::open(&log_path)?;
    let mut steps = Vec::new();
    let (mut healthz, mut page, mut cpu) = (None, None, 0.0);
    let mut loads = vec![one_minute_load()];
    let mut sampled = Instant::now();
    let outcome = loop {
        let at = started.elapsed().as_secs_f64();
        for line in tail.new_lines()? {
            if let Some(said) = line.strip_prefix("xtask: ") {
                step(&format!("newcomer: [{}] {said}", minutes_f(at)));
                steps.push((at, said.to_owned()));
            }
        }
        if healthz.is_none() && http_ok(&format!("http://127.0.0.1:{BACKEND_PORT}/healthz")) {
            healthz = Some(at);
        }
        if page.is_none() && spa_served() {
            page = Some(at);
            cpu = tree_cpu_seconds(dev.id());
        }
        if let (Some(healthz), Some(page)) = (healthz, page) {
            break Ok((healthz, page));
        }
        if let Some(status) = dev.exited()? {
            break Err(anyhow::anyhow!(
                "`cargo xtask dev` exited ({status}) before the page was served; see {}",
                log_path.display()
            ));
        }
        if started.elapsed() > LIMIT {
            break Err(anyhow::anyhow!(
                "no page within {}; see {}",
                minutes(LIMIT),
                log_path.display()
            ));
        }
        if sampled.elapsed() >= LOAD_EVERY {
            loads.push(one_minute_load());
            sampled = Instant::now();
        }
        sleep(POLL);
    };
    let load_end = load_average();
    stop(dev);
    let (healthz, page) = outcome?;
    Ok(Record {
        date: output("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
        commit,
        page,
        healthz,
        cpu,
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        load_start,
        load_end,
        load_mean: loads.iter().sum::<f64>() / loads.len() as f64,
        steps,
        test: None,
    })
}

/// SIGTERM to xtask alone, so that it stops its servers as at Ctrl-C; then SIGKILL to whatever
/// of the run is left (a server that outlived it, trunk's cargo).
fn stop(mut dev: Process) {
    step("newcomer: stopping `cargo xtask dev` and its servers");
    let pid = dev.id();
    let descendants = descendants(pid);
    unsafe {
        libc::kill(pid as libc::pid_t, libc::SIGTERM);
    }
    let deadline = Instant::now() + STOP_GRACE;
    while Instant::now() < deadline && matches!(dev.exited(), Ok(None)) {
        sleep(Duration::from_millis(100));
    }
    drop(dev);
    for (pid, started) in descendants {
        // Only the very process seen before: a pid reused since has another start time.
        if stat(pid).is_some_and(|s| s.start_time == started) {
            unsafe {
                libc::kill(pid as libc::pid_t, libc::SIGKILL);
            }
        }
    }
    let freed = Instant::now();
    while freed.elapsed() < Duration::from_secs(10) {
        if dev_ports()
            .into_iter()
            .all(|port| TcpListener::bind(("127.0.0.1", port)).is_ok())
        {
            return;
        }
        sleep(Duration::from_millis(200));
    }
    step("newcomer: some port of `cargo xtask dev` is still taken after the stop");
}

fn dev_ports() -> Vec<u16> {
    let spa = SPA_ORIGIN
        .rsplit(':')
        .next()
        .and_then(|p| p.parse::<u16>().ok());
    let demo = DEMO_APP
        .rsplit(':')
        .next()
        .and_then(|p| p.parse::<u16>().ok());
    let mut ports = vec![BACKEND_PORT];
    ports.extend(EMULATED.iter().map(|e| e.port));
    ports.extend(demo.into_iter().chain(spa));
    ports
}

/// The SPA is served: index.html, as trunk writes it (naming its wasm), and that wasm.
fn spa_served() -> bool {
    let Some(index) = http_get(&format!("{SPA_ORIGIN}/")) else {
        return false;
    };
    let Some(at) = index.find("data-wasm=\"") else {
        return false;
    };
    let rest = &index[at + "data-wasm=\"".len()..];
    let Some(end) = rest.find('"') else {
        return false;
    };
    http_ok(&format!(
        "{SPA_ORIGIN}/{}",
        rest[..end].trim_start_matches('/')
    ))
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use super::*;

    #[test]
    fn a_record_reads_back_as_written() {
        let record = Record {
            date: "2026-12-01 16:00 UTC".into(),
            commit: "abc1234".into(),
            page: 301.26,
            healthz: 250.0,
            cpu: 560.0,
            cores: 2,
            load_start: "0.50 0.40 0.30".into(),
            load_end: "2.00 1.50 1.00".into(),
            load_mean: 1.234,
            steps: vec![(12.3, "building the backend".into())],
            test: Some(TestRun {
                seconds: 1234.56,
                cpu: 2000.0,
                load_mean: 1.5,
                passed: true,
                steps: vec![(1.0, "cargo fmt --check".into())],
            }),
        };
        let back = Record::from_json(&record.to_json()).unwrap();
        assert_eq!(back.page, 301.3);
        assert_eq!(back.load_mean, 1.23);
        assert_eq!(back.steps, [(12.3, "building the backend".to_owned())]);
        assert_eq!(back.test.as_ref().unwrap().seconds, 1234.6);
        let section = back.section(false);
        assert!(section.details.contains("(the page answered)"));
        assert!(section.details.contains("(passed)"));
        let older = json!({"date": "d", "commit": "c", "page_seconds": 1.0, "healthz_seconds": 1.0,
            "cpu_seconds": 1.0, "cores": 2, "load_average_start": "", "load_average_end": "",
            "load_average_mean": 1.0, "steps": []});
        assert!(Record::from_json(&older).unwrap().test.is_none());
    }

    #[test]
    fn the_tree_of_a_process_is_found_and_its_cpu_counted() {
        // A child that computes for a moment and is reaped: its CPU time counts as this
        // process's (cutime), as rustc's counts as cargo's.
        let busy = "i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done";
        let before = tree_cpu_seconds(std::process::id());
        assert!(Command::new("sh")
            .args(["-c", busy])
            .status()
            .unwrap()
            .success());
        assert!(tree_cpu_seconds(std::process::id()) >= before + 0.05);
        let child = Process::spawn("sleep", Command::new("sleep").arg("30")).unwrap();
        assert!(descendants(std::process::id())
            .iter()
            .any(|(pid, _)| *pid == child.id()));
    }

    #[test]
    fn the_dev_ports_are_all_listed() {
        // config/dev.toml's: the backend, devprovider's four dialects (3904 the Strict IdP),
        // the demo app and the SPA.
        let mut ports = dev_ports();
        ports.sort_unstable();
        assert_eq!(ports, [3000, 3900, 3901, 3902, 3903, 3904, 8080]);
    }
}
