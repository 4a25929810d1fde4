//! `cargo xtask bench` (issue 8): measures Portero against its performance budgets and writes
//! docs/BENCHMARKS.md. Timings are reported, never asserted: the bench fails only when
//! something does not work (a login errs, a session is unreadable), not when it is slow.
//!
//! 1. bundle: the bytes a first visit downloads, raw, gzip -9 and brotli; what the wasm holds;
//! 2. first render: headless Chromium, navigation start → `button[data-provider]` in the DOM;
//! 3. throughput: `/api/me` against `/healthz`, per session store, with the load generator below;
//! 4. logins: 1,000 complete logins through devprovider's forms, per store, with the backend's
//!    own CPU time per login from /proc;
//! 5. footprint: resident memory idle and with 10,000 sessions, start-up time with SQLite;
//! 6. the criterion micro-benchmarks of backend/benches/hot_paths.rs.
//!
//! Everything listens on 127.0.0.1 only, and every loop is bounded in count and time.

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    net::{SocketAddr, TcpListener as StdListener},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

use crate::{root, run, step, tools};

/// Connections of the throughput test (issue 8: 64 connections for 10 s).
const CONNECTIONS: usize = 64;
const DEFAULT_SECONDS: u64 = 10;
/// The seconds of each endpoint are split into this many alternating rounds.
const ROUNDS: u32 = 2;
const LOGINS: usize = 1_000;
const LOGIN_CONCURRENCY: usize = 50;
const FOOTPRINT_SESSIONS: usize = 10_000;
const RENDER_LOADS: usize = 20;
const STARTUPS: usize = 5;
const PROVIDER: &str = "dev";
const CLIENT_ID: &str = "portero-bench";
const USERS: [&str; 3] = ["ada", "grace", "alan"];
const BENCH_TARGET: &str = "hot_paths";
/// Criterion's settings for the short run (`cargo bench` alone uses its defaults).
const CRITERION_ARGS: [&str; 5] = ["--warm-up-time", "1", "--measurement-time", "2", "--noplot"];
const SECTIONS: [&str; 6] = [
    "bundle",
    "render",
    "throughput",
    "logins",
    "footprint",
    "micro",
];
const BEGIN: &str =
    "<!-- bench:begin (written by `cargo xtask bench`; edit outside these markers) -->";
const END: &str = "<!-- bench:end -->";

pub const USAGE: &str = "  bench [--seconds N] [--only SECTION,...]
         measure against the performance budgets and write docs/BENCHMARKS.md (sections:
         bundle, render, throughput, logins, footprint, micro; with --only, print only)";

struct Options {
    seconds: u64,
    only: Option<Vec<String>>,
}

impl Options {
    fn parse(args: &[String]) -> Result<Options> {
        let mut options = Options {
            seconds: DEFAULT_SECONDS,
            only: None,
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--seconds" => {
                    options.seconds = args
                        .next()
                        .and_then(|s| s.parse().ok())
                        .filter(|s| (1..=60).contains(s))
                        .context("--seconds takes a number from 1 to 60")?
                }
                "--only" => {
                    let list: Vec<String> = args
                        .next()
                        .context("--only takes a comma-separated list of sections")?
                        .split(',')
                        .map(str::to_owned)
                        .collect();
                    if let Some(bad) = list.iter().find(|s| !SECTIONS.contains(&s.as_str())) {
                        bail!("unknown section {bad:?}; known: {}", SECTIONS.join(", "));
                    }
                    options.only = Some(list);
                }
                other => bail!("bench: unknown argument {other:?}\n{USAGE}"),
            }
        }
        Ok(options)
    }

    fn wants(&self, section: &str) -> bool {
        self.only
            .as_ref()
            .is_none_or(|only| only.iter().any(|s| s == section))
    }
}

pub fn bench(args: &[String]) -> Result<()> {
    let options = Options::parse(args)?;
    let started = Instant::now();
    let machine = Machine::describe();
    let tools = tools::ensure_build_tools()?;
    let browser = if options.wants("render") {
        Some(tools::ensure_browser()?)
    } else {
        None
    };
    let work = root().join("target/bench");
    std::fs::create_dir_all(&work)?;

    // The release backend and the criterion harness in one build: `cargo bench` unifies the
    // dev-dependencies' features, so building the binary separately would build it twice.
    step("cargo bench --no-run: the release backend and the micro-benchmarks");
    run(super::cargo().args([
        "bench",
        "-p",
        "portero",
        "--bench",
        BENCH_TARGET,
        "--no-run",
    ]))?;
    let portero = root().join("target/release/portero");
    if !portero.exists() {
        bail!("{} was not built", portero.display());
    }
    // Its own dist/: `dist/` may be in use by `cargo xtask test` or a deployment meanwhile.
    let dist = work.join("dist");
    if options.wants("bundle") || options.wants("render") {
        build_spa_into(&tools, &dist)?;
    }
    let built = started.elapsed();

    let mut report = Report::default();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let env = Env {
        portero,
        dist,
        work: work.clone(),
        seconds: options.seconds,
    };
    if options.wants("bundle") {
        bundle(&env, &mut report)?;
    }
    if let Some(browser) = &browser {
        runtime.block_on(first_render(&env, browser, &mut report))?;
    }
    if options.wants("throughput") || options.wants("logins") {
        runtime.block_on(stores(&env, &options, &mut report))?;
    }
    if options.wants("footprint") {
        runtime.block_on(footprint(&env, &mut report))?;
    }
    if options.wants("micro") {
        micro(&mut report)?;
    }
    drop(runtime);

    let total = started.elapsed();
    let text = report.markdown(&machine, &options, built, total);
    if options.only.is_some() {
        println!("\n{text}");
        step("--only given: docs/BENCHMARKS.md left as it was");
    } else {
        write_doc(&text)?;
        step("wrote docs/BENCHMARKS.md");
    }
    if !report.failures.is_empty() {
        bail!(
            "something did not work:\n- {}",
            report.failures.join("\n- ")
        );
    }
    let missed = report.missed();
    step(&format!(
        "bench done in {} (builds {}); {} budget(s) missed{}",
        minutes(total),
        minutes(built),
        missed.len(),
        if missed.is_empty() {
            String::new()
        } else {
            format!(": {}", missed.join(", "))
        }
    ));
    Ok(())
}

struct Env {
    portero: PathBuf,
    dist: PathBuf,
    work: PathBuf,
    seconds: u64,
}

// ---- the report -------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq)]
enum Goal {
    AtMost,
    AtLeast,
}

struct Budget {
    limit: f64,
    goal: Goal,
    /// How the limit reads in the table ("≤ 130 KB").
    shown: String,
    /// What it would take to meet it, printed when it is missed.
    remedy: &'static str,
}

struct Row {
    figure: String,
    value: Option<f64>,
    shown: String,
    budget: Option<Budget>,
}

impl Row {
    fn met(&self) -> Option<bool> {
        let budget = self.budget.as_ref()?;
        let value = self.value?;
        Some(match budget.goal {
            Goal::AtMost => value <= budget.limit,
            Goal::AtLeast => value >= budget.limit,
        })
    }
}

#[derive(Default)]
struct Section {
    title: String,
    /// Markdown before the table: what was measured and how.
    intro: String,
    rows: Vec<Row>,
    /// Markdown after the table.
    details: String,
}

#[derive(Default)]
struct Report {
    sections: Vec<Section>,
    /// What could not be measured on this machine, and why.
    unmeasured: Vec<String>,
    /// What did not work (an error, not a slow figure): the bench fails after writing the report.
    failures: Vec<String>,
}

impl Section {
    fn new(title: &str, intro: String) -> Section {
        Section {
            title: title.to_owned(),
            intro,
            ..Section::default()
        }
    }

    fn info(&mut self, figure: impl Into<String>, shown: impl Into<String>) {
        self.rows.push(Row {
            figure: figure.into(),
            value: None,
            shown: shown.into(),
            budget: None,
        });
    }

    fn budgeted(
        &mut self,
        figure: impl Into<String>,
        value: f64,
        shown: impl Into<String>,
        budget: Budget,
    ) {
        self.rows.push(Row {
            figure: figure.into(),
            value: Some(value),
            shown: shown.into(),
            budget: Some(budget),
        });
    }
}

impl Report {
    fn missed(&self) -> Vec<String> {
        self.sections
            .iter()
            .flat_map(|s| &s.rows)
            .filter(|r| r.met() == Some(false))
            .map(|r| r.figure.clone())
            .collect()
    }

    fn markdown(
        &self,
        machine: &Machine,
        options: &Options,
        built: Duration,
        total: Duration,
    ) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "## Last run\n");
        let _ = writeln!(
            out,
            "- date: {}; commit {}\n- machine: {} × {} (`nproc` = {}), {} memory, Linux {}; load \
             average {} when the run began. **Two cores shared with other builds and sessions: \
             every figure here is noisy (expect ±20 % between runs), and the client, the \
             provider emulator and the backend share those two cores.**\n- tools: {}; {}; {}\n\
             - duration of `cargo xtask bench`: {} in all, of which {} building (release \
             backend, criterion harness, release SPA); throughput runs of {} s per endpoint{}",
            machine.date,
            machine.commit,
            machine.cpu,
            machine.cores,
            machine.cores,
            machine.memory,
            machine.kernel,
            machine.load,
            machine.rustc,
            machine.chromium,
            machine.redis,
            minutes(total),
            minutes(built),
            options.seconds,
            if options.seconds == DEFAULT_SECONDS {
                ""
            } else {
                " (shortened with --seconds)"
            },
        );

        let _ = writeln!(out, "\n### Budgets\n");
        let _ = writeln!(
            out,
            "| figure | measured | budget | verdict |\n|---|---|---|---|"
        );
        for row in self.sections.iter().flat_map(|s| &s.rows) {
            let (Some(budget), Some(met)) = (&row.budget, row.met()) else {
                continue;
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                row.figure,
                row.shown,
                budget.shown,
                if met { "met" } else { "**missed**" }
            );
        }
        let missed: Vec<&Row> = self
            .sections
            .iter()
            .flat_map(|s| &s.rows)
            .filter(|r| r.met() == Some(false))
            .collect();
        if !missed.is_empty() {
            let _ = writeln!(out, "\n### What the missed budgets would take\n");
            let mut said = Vec::new();
            for row in missed {
                let remedy = row.budget.as_ref().map(|b| b.remedy).unwrap_or_default();
                if said.contains(&remedy) {
                    let _ = writeln!(out, "- **{}**: as above.", row.figure);
                } else {
                    let _ = writeln!(out, "- **{}**: {remedy}", row.figure);
                    said.push(remedy);
                }
            }
        }
        if !self.failures.is_empty() {
            let _ = writeln!(out, "\n### Failures (the bench exited with an error)\n");
            for line in &self.failures {
                let _ = writeln!(out, "- {line}");
            }
        }
        if !self.unmeasured.is_empty() {
            let _ = writeln!(out, "\n### Not measured in this run\n");
            for line in &self.unmeasured {
                let _ = writeln!(out, "- {line}");
            }
        }
        for section in &self.sections {
            let _ = writeln!(
                out,
                "\n### {}\n\n{}\n",
                section.title,
                section.intro.trim_end()
            );
            if !section.rows.is_empty() {
                let _ = writeln!(out, "| figure | measured | budget |\n|---|---|---|");
                for row in &section.rows {
                    let budget = match (&row.budget, row.met()) {
                        (Some(b), Some(true)) => format!("{} (met)", b.shown),
                        (Some(b), _) => format!("{} (**missed**)", b.shown),
                        (None, _) => String::new(),
                    };
                    let _ = writeln!(out, "| {} | {} | {budget} |", row.figure, row.shown);
                }
            }
            if !section.details.is_empty() {
                let _ = writeln!(out, "\n{}", section.details.trim_end());
            }
        }
        out
    }
}

/// Replaces the text between the markers of docs/BENCHMARKS.md; what is outside (notes written
/// by hand) stays. A missing file is created with a short header.
fn write_doc(generated: &str) -> Result<()> {
    let path = root().join("docs/BENCHMARKS.md");
    let old = std::fs::read_to_string(&path).unwrap_or_default();
    let (before, after) = match (old.find(BEGIN), old.find(END)) {
        (Some(b), Some(e)) if b < e => (old[..b].to_owned(), old[e + END.len()..].to_owned()),
        _ => (
            "# Benchmarks\n\nPortero's performance budgets (issue 8) and the figures of the last \
             `cargo xtask bench`. The part between the markers is rewritten by every run; the \
             notes after it are written by hand.\n\n"
                .to_owned(),
            "\n".to_owned(),
        ),
    };
    std::fs::create_dir_all(root().join("docs"))?;
    std::fs::write(&path, format!("{before}{BEGIN}\n{generated}{END}{after}"))?;
    Ok(())
}

struct Machine {
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
    fn describe() -> Machine {
        let output = |program: &str, args: &[&str]| {
            Command::new(program)
                .args(args)
                .current_dir(root())
                .stderr(Stdio::null())
                .output()
                .ok()
                .filter(|o| o.status.success())
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
                .unwrap_or_else(|| format!("{program}: not available"))
        };
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
}

fn minutes(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 60 {
        format!("{} min {:02} s", s / 60, s % 60)
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

fn kb(bytes: usize) -> String {
    format!("{:.1} KB", bytes as f64 / 1024.0)
}

fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.2} ms")
    } else {
        format!("{ms:.1} ms")
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// The `p`-th percentile (0..=100) of sorted samples, nearest rank.
fn percentile<T: Copy + Default>(sorted: &[T], p: f64) -> T {
    if sorted.is_empty() {
        return T::default();
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

// ---- 1. bundle --------------------------------------------------------------------------------

fn build_spa_into(tools: &tools::Tools, dist: &Path) -> Result<()> {
    step(&format!("trunk build --release --dist {}", dist.display()));
    run(tools
        .command("trunk")
        .args(["build", "--release", "--skip-version-check", "--dist"])
        .arg(dist))?;
    if !dist.join("index.html").exists() {
        bail!("trunk build finished without {}/index.html", dist.display());
    }
    super::precompress(dist)
}

/// index.html and every file of dist/ it names (boot.js names the JS and the wasm through
/// `data-js` and `data-wasm` on its own tag), in the order a browser asks for them.
fn first_visit_files(dist: &Path) -> Result<Vec<PathBuf>> {
    let index = std::fs::read_to_string(dist.join("index.html"))?;
    let mut files = vec![dist.join("index.html")];
    for attribute in ["href=\"", "src=\"", "data-js=\"", "data-wasm=\""] {
        let mut rest = index.as_str();
        while let Some(at) = rest.find(attribute) {
            rest = &rest[at + attribute.len()..];
            let Some(end) = rest.find('"') else { break };
            let name = rest[..end].trim_start_matches('/');
            let name = name.split(['?', '#']).next().unwrap_or_default();
            let path = dist.join(name);
            if !name.is_empty() && !name.contains("://") && path.is_file() && !files.contains(&path)
            {
                files.push(path);
            }
        }
    }
    Ok(files)
}

fn gzip9(bytes: &[u8]) -> Result<usize> {
    use std::io::Write;
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gzip.write_all(bytes)?;
    Ok(gzip.finish()?.len())
}

fn brotli11(bytes: &[u8]) -> Result<usize> {
    let mut out = Vec::new();
    brotli::BrotliCompress(
        &mut &bytes[..],
        &mut out,
        &brotli::enc::BrotliEncoderParams {
            quality: 11,
            ..Default::default()
        },
    )?;
    Ok(out.len())
}

const BUNDLE_REMEDY: &str = "the wasm is over nine tenths of it (its make-up is below). A minimal \
     Leptos 0.8 CSR app with a router already makes ≈ 96 KB of gzipped wasm (measured when the \
     toolchain was chosen), so the budget leaves ≈ 25 KB for Portero's own pages; today the \
     framework (tachys, reactive_graph, leptos_router: ≈ 40 % of the code) and \
     `core::fmt`/`alloc` (≈ 18 %: panic and `Debug` strings, formatting) dominate, with the \
     app's own code ≈ 10 % and serde_json ≈ 4 %. What it would take: a nightly \
     `-Zbuild-std=std,panic_abort -Zbuild-std-features=panic_immediate_abort` build, which \
     drops most of the panic and formatting machinery; fewer distinct view types (each \
     `view!` branch monomorphizes tachys' build/rebuild closures, the largest functions: \
     `.into_any()` on rarely shown branches, one generic error view); no `format!` in views; \
     and the API types decoded with `serde-wasm-bindgen`/`JSON.parse` instead of serde_json. \
     Brotli, which browsers get, is already ≈ 18 % smaller than gzip.";

fn bundle(env: &Env, report: &mut Report) -> Result<()> {
    step("1/6 bundle: the first visit's bytes");
    let mut section = Section::new(
        "1. Bundle",
        "What a first visit downloads from the release build (`trunk build --release`, wasm-opt \
         -Oz, the `wasm-release` profile): index.html and every file it names. gzip -9 is the \
         budget's measure; the backend and nginx serve the precompressed `.br` to browsers that \
         take it (all current ones)."
            .into(),
    );
    let mut table = String::from("| file | raw | gzip -9 | brotli 11 |\n|---|---|---|---|\n");
    let (mut raw, mut gz, mut br) = (0, 0, 0);
    let mut wasm_file = None;
    for file in first_visit_files(&env.dist)? {
        let bytes = std::fs::read(&file)?;
        let (g, b) = (gzip9(&bytes)?, brotli11(&bytes)?);
        let name = file
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        let _ = writeln!(
            table,
            "| {name} | {} | {} | {} |",
            kb(bytes.len()),
            kb(g),
            kb(b)
        );
        if name.ends_with(".wasm") {
            wasm_file = Some(file.clone());
        }
        raw += bytes.len();
        gz += g;
        br += b;
    }
    let _ = writeln!(
        table,
        "| **total** | {} | {} | {} |",
        kb(raw),
        kb(gz),
        kb(br)
    );
    section.budgeted(
        "bundle, gzip -9",
        gz as f64 / 1024.0,
        kb(gz),
        Budget {
            limit: 130.0,
            goal: Goal::AtMost,
            shown: "≤ 130 KB".into(),
            remedy: BUNDLE_REMEDY,
        },
    );
    section.info("bundle, raw", kb(raw));
    section.info("bundle, brotli 11 (what browsers get)", kb(br));
    section.details = table;
    if let Some(wasm) = wasm_file {
        section.details.push('\n');
        section.details.push_str(&wasm_makeup(&wasm)?);
    }
    report.sections.push(section);
    Ok(())
}

/// Sections of the shipped wasm, and the crates and functions of the code before
/// wasm-bindgen and wasm-opt (the shipped file has no names left to attribute by).
fn wasm_makeup(shipped: &Path) -> Result<String> {
    let mut out = String::new();
    let module = Wasm::parse(&std::fs::read(shipped)?)?;
    let total: usize = module.sections.iter().map(|(_, size)| size).sum();
    let _ = writeln!(
        out,
        "What the shipped wasm ({}, {} functions) is made of, by section:\n",
        kb(total),
        module.bodies.len()
    );
    let _ = writeln!(out, "| section | bytes | share |\n|---|---|---|");
    for (name, size) in &module.sections {
        let _ = writeln!(
            out,
            "| {name} | {} | {:.0} % |",
            kb(*size),
            *size as f64 * 100.0 / total as f64
        );
    }

    let unoptimised =
        root().join("target/wasm32-unknown-unknown/wasm-release/portero-frontend.wasm");
    let Ok(bytes) = std::fs::read(&unoptimised) else {
        let _ = writeln!(
            out,
            "\n({} is missing: no attribution by crate.)",
            unoptimised.display()
        );
        return Ok(out);
    };
    let module = Wasm::parse(&bytes)?;
    if module.names.is_empty() {
        let _ = writeln!(
            out,
            "\n(The cargo output has no name section: no attribution by crate.)"
        );
        return Ok(out);
    }
    let mut code = 0;
    let mut by_crate: BTreeMap<String, usize> = BTreeMap::new();
    let mut functions: Vec<(usize, String)> = Vec::new();
    for (index, size) in &module.bodies {
        let name = module
            .names
            .get(index)
            .map(|n| format!("{:#}", rustc_demangle::demangle(n)))
            .unwrap_or_else(|| format!("func[{index}]"));
        // Type descriptors that wasm-bindgen interprets and removes: they never ship.
        if name.starts_with("__wbindgen_describe") {
            continue;
        }
        code += size;
        *by_crate.entry(crate_of(&name)).or_default() += size;
        functions.push((*size, name));
    }
    let mut crates: Vec<(usize, String)> = by_crate.into_iter().map(|(c, s)| (s, c)).collect();
    crates.sort_by(|a, b| b.cmp(a));
    functions.sort_by(|a, b| b.cmp(a));
    let _ = writeln!(
        out,
        "\nCode by crate, before wasm-bindgen and wasm-opt ({} of function bodies in \
         `{}`, less wasm-bindgen's type descriptors; wasm-opt then shrinks and merges, so read \
         the shares, not the bytes):\n",
        kb(code),
        unoptimised
            .strip_prefix(root())
            .unwrap_or(&unoptimised)
            .display()
    );
    let _ = writeln!(out, "| crate | code | share |\n|---|---|---|");
    for (size, name) in crates.iter().take(15) {
        let _ = writeln!(
            out,
            "| {name} | {} | {:.1} % |",
            kb(*size),
            *size as f64 * 100.0 / code as f64
        );
    }
    let _ = writeln!(
        out,
        "\nLargest functions:\n\n| function | code |\n|---|---|"
    );
    for (size, name) in functions.iter().take(12) {
        let mut name = name.replace('|', "\\|");
        if name.chars().count() > 110 {
            name = name.chars().take(107).collect::<String>() + "…";
        }
        let _ = writeln!(out, "| `{name}` | {} |", kb(*size));
    }
    Ok(out)
}

/// The crate a demangled function belongs to: `leptos` for `leptos::mount::mount_to`,
/// `tachys` for `<tachys::x::Y as core::Z>::f`, and for an impl on a generic or primitive type,
/// `<T as tachys::view::Render>::build`, the trait's crate.
fn crate_of(name: &str) -> String {
    if !name.contains("::") {
        // Not a Rust path: wasm-bindgen's glue and exports, `main`, compiler builtins.
        return "(glue, exports, builtins)".into();
    }
    let path = match name.strip_prefix('<').and_then(|n| n.split_once(" as ")) {
        Some((self_type, rest)) => {
            let self_type = self_type.trim_start_matches(['&', '*', '[', '(']);
            let self_type = ["mut ", "const ", "dyn "]
                .iter()
                .fold(self_type, |t, p| t.strip_prefix(p).unwrap_or(t));
            if self_type.contains("::") {
                self_type
            } else {
                rest
            }
        }
        None => name.trim_start_matches('<'),
    };
    let head = path.split("::").next().unwrap_or(path);
    if head.is_empty() || !head.chars().all(|c| c.is_alphanumeric() || c == '_') {
        "(other)".into()
    } else {
        head.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn functions_are_attributed_to_their_crate() {
        for (name, expected) in [
            ("leptos::mount::mount_to", "leptos"),
            ("<tachys::html::Element as core::fmt::Debug>::fmt", "tachys"),
            (
                "<T as tachys::view::any_view::IntoAny>::into_any::build",
                "tachys",
            ),
            ("<&isize as core::fmt::Debug>::fmt", "core"),
            ("<[T] as alloc::slice::hack::ConvertVec>::to_vec", "alloc"),
            ("__wbindgen_malloc", "(glue, exports, builtins)"),
        ] {
            assert_eq!(crate_of(name), expected, "{name}");
        }
    }

    #[test]
    fn percentiles_and_medians() {
        let sorted = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
        assert_eq!(percentile(&sorted, 50.0), 5);
        assert_eq!(percentile(&sorted, 99.0), 10);
        assert_eq!(percentile::<u32>(&[], 99.0), 0);
        assert_eq!(median(&mut [3.0, 1.0, 2.0, 10.0]), 2.5);
    }
}

/// Just enough of the wasm binary format (the core spec, §5) to size sections and function
/// bodies and to read the function names of the "name" custom section.
struct Wasm {
    sections: Vec<(String, usize)>,
    /// (function index, body size) for every defined function.
    bodies: Vec<(u32, usize)>,
    names: BTreeMap<u32, String>,
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8> {
        let b = *self.bytes.get(self.at).context("truncated wasm")?;
        self.at += 1;
        Ok(b)
    }

    fn leb(&mut self) -> Result<u64> {
        let (mut value, mut shift) = (0u64, 0);
        loop {
            let b = self.byte()?;
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
            shift += 7;
            if shift > 63 {
                bail!("bad LEB128 in wasm");
            }
        }
    }

    fn u32(&mut self) -> Result<u32> {
        Ok(u32::try_from(self.leb()?)?)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let slice = self
            .bytes
            .get(self.at..self.at + n)
            .context("truncated wasm")?;
        self.at += n;
        Ok(slice)
    }

    fn name(&mut self) -> Result<String> {
        let n = self.u32()? as usize;
        Ok(String::from_utf8_lossy(self.take(n)?).into_owned())
    }

    fn limits(&mut self) -> Result<()> {
        let flags = self.byte()?;
        self.leb()?;
        if flags & 1 != 0 {
            self.leb()?;
        }
        Ok(())
    }
}

impl Wasm {
    fn parse(bytes: &[u8]) -> Result<Wasm> {
        if bytes.get(..4) != Some(b"\0asm") {
            bail!("not a wasm module");
        }
        let mut r = Reader { bytes, at: 8 };
        let mut module = Wasm {
            sections: Vec::new(),
            bodies: Vec::new(),
            names: BTreeMap::new(),
        };
        let mut imported_functions = 0u32;
        let mut custom: BTreeMap<String, usize> = BTreeMap::new();
        while r.at < bytes.len() {
            let id = r.byte()?;
            let size = r.u32()? as usize;
            let body = r.take(size)?;
            let mut s = Reader { bytes: body, at: 0 };
            let name = match id {
                0 => {
                    let name = s.name()?;
                    if name == "name" {
                        module.names = function_names(&mut s)?;
                    }
                    *custom.entry(format!("custom \"{name}\"")).or_default() += size;
                    continue;
                }
                1 => "type",
                2 => {
                    for _ in 0..s.u32()? {
                        s.name()?;
                        s.name()?;
                        match s.byte()? {
                            0 => {
                                s.u32()?;
                                imported_functions += 1;
                            }
                            1 => {
                                s.byte()?;
                                s.limits()?;
                            }
                            2 => s.limits()?,
                            3 => {
                                s.byte()?;
                                s.byte()?;
                            }
                            4 => {
                                s.byte()?;
                                s.u32()?;
                            }
                            other => bail!("unknown import kind {other}"),
                        }
                    }
                    "import"
                }
                3 => "function",
                4 => "table",
                5 => "memory",
                6 => "global",
                7 => "export",
                8 => "start",
                9 => "element",
                10 => {
                    for index in 0..s.u32()? {
                        let len = s.u32()? as usize;
                        s.take(len)?;
                        module.bodies.push((imported_functions + index, len));
                    }
                    "code"
                }
                11 => "data",
                12 => "data count",
                13 => "tag",
                _ => "unknown",
            };
            module.sections.push((name.to_owned(), size));
        }
        module.sections.extend(custom);
        module.sections.sort_by_key(|s| std::cmp::Reverse(s.1));
        Ok(module)
    }
}

fn function_names(s: &mut Reader) -> Result<BTreeMap<u32, String>> {
    let mut names = BTreeMap::new();
    while s.at < s.bytes.len() {
        let kind = s.byte()?;
        let size = s.u32()? as usize;
        let sub = s.take(size)?;
        if kind == 1 {
            let mut f = Reader { bytes: sub, at: 0 };
            for _ in 0..f.u32()? {
                let index = f.u32()?;
                names.insert(index, f.name()?);
            }
        }
    }
    Ok(names)
}

// ---- processes: the backend, devprovider, Redis -------------------------------------------------

fn free_port() -> Result<u16> {
    Ok(StdListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn random_key() -> Result<String> {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    use std::io::Read;
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// The release backend as a process of its own (its CPU time and memory are its own), next to
/// a devprovider in this process that has its callback URL registered.
struct Backend {
    child: Child,
    /// Just before the exec: start-up time counts from here.
    spawned_at: Instant,
    addr: SocketAddr,
    origin: String,
    _provider: devprovider::DevProvider,
}

struct BackendSpec<'a> {
    label: &'a str,
    store: &'a str,
    static_dir: Option<&'a Path>,
}

impl Backend {
    /// Writes the config and starts the process; returns at once (see `wait_ready`).
    async fn spawn(env: &Env, spec: &BackendSpec<'_>) -> Result<Backend> {
        let port = free_port()?;
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let origin = format!("http://{addr}");
        let secret = tools::random_hex(24)?;
        let provider = devprovider::DevProvider::start(devprovider::Config {
            clients: vec![devprovider::Client {
                id: CLIENT_ID.into(),
                secret: secret.clone(),
                redirect_uris: vec![format!("{origin}/callback/{PROVIDER}")],
                backchannel_logout_uri: None,
            }],
            ..Default::default()
        })
        .await?;
        let static_dir = spec
            .static_dir
            .map(|d| format!("static_dir = {:?}\n", d.display().to_string()))
            .unwrap_or_default();
        let config = env.work.join(format!("portero-{}.toml", spec.label));
        std::fs::write(
            &config,
            format!(
                "[server]\nbind = \"{addr}\"\npublic_origin = \"{origin}\"\n{static_dir}\
                 # The bench logs in from one address far faster than any person.\n\
                 rate_limit_per_minute = 0\n\n[session]\nstore = \"{}\"\nsecret_key = \"{}\"\n\n\
                 [providers.{PROVIDER}]\nkind = \"oidc\"\nname = \"Portero Dev\"\nissuer = \"{}\"\n\
                 client_id = \"{CLIENT_ID}\"\nclient_secret = \"{secret}\"\n",
                spec.store,
                random_key()?,
                provider.issuer(),
            ),
        )?;
        let log = std::fs::File::create(env.work.join(format!("portero-{}.log", spec.label)))?;
        let spawned_at = Instant::now();
        let child = Command::new(&env.portero)
            .arg("--config")
            .arg(&config)
            .current_dir(&env.work)
            // Per-request log lines are formatted as in production, then dropped.
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .with_context(|| format!("cannot start {}", env.portero.display()))?;
        Ok(Backend {
            child,
            spawned_at,
            addr,
            origin,
            _provider: provider,
        })
    }

    async fn start(env: &Env, spec: &BackendSpec<'_>) -> Result<Backend> {
        let mut backend = Backend::spawn(env, spec).await?;
        backend.wait_ready(Duration::from_secs(20), spec.label)?;
        Ok(backend)
    }

    /// Polls `/healthz` every millisecond; the time from the exec to its first answer.
    fn wait_ready(&mut self, limit: Duration, label: &str) -> Result<Duration> {
        let started = self.spawned_at;
        let url = format!("{}/healthz", self.origin);
        loop {
            if crate::processes::http_ok(&url) {
                return Ok(started.elapsed());
            }
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "the backend ({label}) exited ({status}); see target/bench/portero-{label}.log"
                );
            }
            if started.elapsed() > limit {
                bail!("the backend ({label}) did not answer /healthz within {limit:?}");
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// utime + stime of the process, in seconds (/proc/PID/stat fields 14 and 15).
    fn cpu_seconds(&self) -> Result<f64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid()))?;
        let after_name = &stat[stat.rfind(')').context("odd /proc/PID/stat")? + 2..];
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        // Fields 3.. of proc(5) start at index 0 here: utime is field 14, stime 15.
        let ticks: u64 = fields[11].parse::<u64>()? + fields[12].parse::<u64>()?;
        let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
        Ok(ticks as f64 / per_second.max(1) as f64)
    }

    /// VmRSS in KiB.
    fn rss_kib(&self) -> Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))?;
        let line = status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .context("no VmRSS in /proc/PID/status")?;
        Ok(line
            .split_whitespace()
            .nth(1)
            .context("odd VmRSS")?
            .parse()?)
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        stop_child(&mut self.child);
    }
}

/// SIGTERM (graceful shutdown), then SIGKILL after 5 s.
fn stop_child(child: &mut Child) {
    if let Ok(pid) = i32::try_from(child.id()) {
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
    }
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(5) {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// A throwaway redis-server on a free loopback port, without persistence.
struct Redis {
    child: Child,
    url: String,
}

impl Redis {
    fn start(work: &Path) -> Result<Option<Redis>> {
        let Some(binary) = ["/usr/bin/redis-server", "/usr/local/bin/redis-server"]
            .into_iter()
            .map(PathBuf::from)
            .find(|p| p.exists())
        else {
            return Ok(None);
        };
        let port = free_port()?;
        let child = Command::new(binary)
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args([
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "yes",
            ])
            .current_dir(work)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start redis-server")?;
        let mut redis = Redis {
            child,
            url: format!("redis://127.0.0.1:{port}"),
        };
        let started = Instant::now();
        loop {
            if redis_ping(port) {
                return Ok(Some(redis));
            }
            if started.elapsed() > Duration::from_secs(10) || redis.child.try_wait()?.is_some() {
                bail!("redis-server did not answer PING on port {port}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        stop_child(&mut self.child);
    }
}

fn redis_ping(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    let mut reply = [0u8; 5];
    stream.write_all(b"PING\r\n").is_ok()
        && stream.read_exact(&mut reply).is_ok()
        && &reply == b"+PONG"
}

// ---- an HTTP client that behaves like the SPA and like a person at devprovider ----------------

fn http_client(pool: usize) -> Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(pool)
        .timeout(Duration::from_secs(10))
        .build()?)
}

fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .rfind(|pair| pair.starts_with("portero_session=") && pair.len() > "portero_session=".len())
        .map(str::to_owned)
}

fn hidden_value(html: &str, name: &str) -> Result<String> {
    let at = html
        .find(&format!("name=\"{name}\""))
        .with_context(|| format!("devprovider's page has no field {name}"))?;
    let rest = &html[at..];
    let start = rest.find("value=\"").context("a field without value")? + "value=\"".len();
    let end = rest[start..].find('"').context("an unterminated value")?;
    Ok(rest[start..start + end].to_owned())
}

async fn api_post(
    http: &reqwest::Client,
    origin: &str,
    path: &str,
    cookie: Option<&str>,
    body: &Value,
) -> Result<reqwest::Response> {
    let mut request = http
        .post(format!("{origin}{path}"))
        .header("x-csrf", "1")
        .header("origin", origin)
        .json(body);
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    let response = request.send().await?;
    if !response.status().is_success() {
        let status = response.status();
        bail!(
            "{path} answered {status}: {}",
            response.text().await.unwrap_or_default()
        );
    }
    Ok(response)
}

/// How long one login took, in total and in the backend's two steps.
struct LoginTimes {
    total: Duration,
    start: Duration,
    finish: Duration,
}

/// One complete login, as the SPA and a person at devprovider's forms do it: the session
/// cookie it ends with, and its times.
async fn login(http: &reqwest::Client, origin: &str, user: &str) -> Result<(String, LoginTimes)> {
    let began = Instant::now();
    let response = api_post(
        http,
        origin,
        &format!("/api/login/{PROVIDER}"),
        None,
        &json!({}),
    )
    .await?;
    let attempt_cookie = session_cookie(&response).context("/api/login set no session cookie")?;
    let answer: Value = response.json().await?;
    let start = began.elapsed();

    let mut authorize = url::Url::parse(answer["authorize_endpoint"].as_str().unwrap_or_default())
        .context("no authorize_endpoint")?;
    if let Some(params) = answer["params"].as_object() {
        let mut query = authorize.query_pairs_mut();
        for (k, v) in params {
            query.append_pair(k, v.as_str().unwrap_or_default());
        }
    }
    let provider = authorize.origin().ascii_serialization();
    let page = http
        .get(authorize)
        .send()
        .await?
        .error_for_status()?
        .text()
        .await?;
    let page = http
        .post(format!("{provider}/authorize/login"))
        .form(&[
            ("request", hidden_value(&page, "request")?.as_str()),
            ("user", user),
        ])
        .send()
        .await?
        .error_for_status()?
        .text()
        .await?;
    let answer = http
        .post(format!("{provider}/authorize/consent"))
        .form(&[
            ("request", hidden_value(&page, "request")?.as_str()),
            ("decision", "allow"),
        ])
        .send()
        .await?;
    let callback = answer
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|l| l.to_str().ok())
        .context("devprovider's consent did not redirect")?;
    let callback = url::Url::parse(callback)?;
    let query: BTreeMap<String, String> = callback.query_pairs().into_owned().collect();
    let mut body = json!({
        "provider": PROVIDER,
        "code": query.get("code").context("no code on the callback")?,
        "state": query.get("state").context("no state on the callback")?,
    });
    if let Some(iss) = query.get("iss") {
        body["iss"] = json!(iss);
    }
    let finish_began = Instant::now();
    let response = api_post(http, origin, "/api/session", Some(&attempt_cookie), &body).await?;
    let cookie = session_cookie(&response).context("/api/session set no session cookie")?;
    // Read to the end, so the connection goes back to the pool.
    response.bytes().await?;
    let finish = finish_began.elapsed();
    Ok((
        cookie,
        LoginTimes {
            total: began.elapsed(),
            start,
            finish,
        },
    ))
}

/// Runs `job(i)` for i in 0..count with `concurrency` workers; stops at `limit`.
async fn concurrently<T, F, Fut>(
    count: usize,
    concurrency: usize,
    limit: Duration,
    job: F,
) -> Result<Vec<Result<T>>>
where
    T: Send + 'static,
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<T>> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let job = Arc::new(job);
    let deadline = Instant::now() + limit;
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (next, job) = (next.clone(), job.clone());
        workers.push(tokio::spawn(async move {
            let mut done = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count || Instant::now() > deadline {
                    return done;
                }
                done.push(job(i).await);
            }
        }));
    }
    let mut results = Vec::with_capacity(count);
    for worker in workers {
        results.extend(worker.await?);
    }
    if results.len() < count {
        bail!("only {} of {count} done within {limit:?}", results.len());
    }
    Ok(results)
}

// ---- 3. the load generator ----------------------------------------------------------------------

#[derive(Default)]
struct Load {
    ok: usize,
    failed: usize,
    elapsed: Duration,
    /// Microseconds, sorted.
    latencies: Vec<u32>,
}

impl Load {
    fn merge(&mut self, other: Load) {
        self.ok += other.ok;
        self.failed += other.failed;
        self.elapsed += other.elapsed;
        self.latencies.extend(other.latencies);
        self.latencies.sort_unstable();
    }

    fn rate(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }

    fn p(&self, p: f64) -> Duration {
        Duration::from_micros(u64::from(percentile(&self.latencies, p)))
    }
}

/// `GET path` over `connections` keep-alive HTTP/1.1 connections, each sending its next request
/// when the previous answer is read (closed loop, as oha and wrk do), for `duration`.
async fn hammer(
    addr: SocketAddr,
    path: &str,
    cookie: Option<&str>,
    connections: usize,
    duration: Duration,
) -> Result<Load> {
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let path = path.to_owned();
        let cookie = cookie.map(str::to_owned);
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(16 * 1024);
            let (mut ok, mut failed) = (0, 0);
            while Instant::now() < deadline {
                if let Err(_e) = one_connection(
                    addr,
                    &path,
                    cookie.as_deref(),
                    deadline,
                    &mut latencies,
                    &mut ok,
                )
                .await
                {
                    failed += 1;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
            (ok, failed, latencies)
        }));
    }
    let mut load = Load {
        ok: 0,
        failed: 0,
        elapsed: Duration::ZERO,
        latencies: Vec::new(),
    };
    for task in tasks {
        let (ok, failed, latencies) = task.await?;
        load.ok += ok;
        load.failed += failed;
        load.latencies.extend(latencies);
    }
    load.elapsed = started.elapsed();
    load.latencies.sort_unstable();
    Ok(load)
}

async fn one_connection(
    addr: SocketAddr,
    path: &str,
    cookie: Option<&str>,
    deadline: Instant,
    latencies: &mut Vec<u32>,
    ok: &mut usize,
) -> Result<()> {
    use http_body_util::BodyExt;
    let stream = tokio::net::TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    let driver = tokio::spawn(async move {
        let _ = connection.await;
    });
    let host = addr.to_string();
    let result = async {
        while Instant::now() < deadline {
            let mut request = hyper::Request::get(path)
                .header(hyper::header::HOST, &host)
                .header("x-csrf", "1");
            if let Some(cookie) = cookie {
                request = request.header(hyper::header::COOKIE, cookie);
            }
            let request = request.body(http_body_util::Empty::<hyper::body::Bytes>::new())?;
            let began = Instant::now();
            sender.ready().await?;
            let response = sender.send_request(request).await?;
            let status = response.status();
            response.into_body().collect().await?;
            if status != hyper::StatusCode::OK {
                bail!("{path} answered {status}");
            }
            latencies.push(u32::try_from(began.elapsed().as_micros()).unwrap_or(u32::MAX));
            *ok += 1;
        }
        Ok(())
    }
    .await;
    driver.abort();
    result
}

// ---- 3 and 4: per store -----------------------------------------------------------------------

struct StoreRun {
    label: &'static str,
    store: String,
}

async fn stores(env: &Env, options: &Options, report: &mut Report) -> Result<()> {
    let sqlite_dir = env.work.join("sqlite");
    let _ = std::fs::remove_dir_all(&sqlite_dir);
    let mut runs = vec![
        StoreRun {
            label: "memory",
            store: "memory".into(),
        },
        StoreRun {
            label: "sqlite",
            store: format!("sqlite://{}", sqlite_dir.join("sessions.db").display()),
        },
    ];
    let redis = Redis::start(&env.work)?;
    match &redis {
        Some(redis) => runs.push(StoreRun {
            label: "redis",
            store: redis.url.clone(),
        }),
        None => report.unmeasured.push(
            "Redis store: no redis-server on this machine (`apt-get install redis-server`)".into(),
        ),
    }

    let duration = Duration::from_secs(env.seconds);
    let mut throughput = Section::new(
        "3. `/api/me` throughput against `/healthz`",
        format!(
            "The release backend (`target/release/portero`, info logging to /dev/null) on \
             loopback; a closed-loop load generator in xtask (hyper, {CONNECTIONS} keep-alive \
             connections, {} s per endpoint after 1 s of warm-up) sends `GET /healthz`, then \
             `GET /api/me` with the cookie of a real login (so the session is read from the \
             store and its idle expiry checked). `/healthz` is the floor of the stack: routing, \
             the request-id, trace and security-header layers. The generator runs on the same \
             two cores as the backend, so absolute rates are far below what the backend does \
             alone; the ratio is what the budget is about.",
            env.seconds
        ),
    );
    let mut throughput_table = String::from(
        "| store | endpoint | requests/s | p50 | p99 | errors |\n|---|---|---|---|---|---|\n",
    );
    let mut logins = Section::new(
        "4. Login cost",
        format!(
            "{LOGINS} complete logins per store, {LOGIN_CONCURRENCY} at a time: `POST \
             /api/login/dev` → devprovider's authorize page, login form and consent form (over \
             HTTP, as a person would; devprovider runs in the xtask process) → `POST \
             /api/session` (the backend exchanges the code, verifies the RS256 id_token with \
             the JWKS, calls userinfo, seals the tokens, saves the session). CPU is the \
             backend process's own utime + stime from /proc/PID/stat (clock ticks of 1/{} s) \
             across the whole run, divided by the logins. Afterwards every session cookie is \
             checked with `GET /api/me` (200 expected for all).",
            unsafe { libc::sysconf(libc::_SC_CLK_TCK) }
        ),
    );
    let mut login_table = String::from(
        "| store | logins/s | p50 | p99 | backend p99 of `/api/login` | backend p99 of `/api/session` | CPU per login | errors | sessions readable |\n|---|---|---|---|---|---|---|---|---|\n",
    );

    for run in &runs {
        step(&format!("3+4/6 {} store: logins and throughput", run.label));
        let backend = Backend::start(
            env,
            &BackendSpec {
                label: run.label,
                store: &run.store,
                static_dir: None,
            },
        )
        .await?;
        let http = http_client(LOGIN_CONCURRENCY)?;
        // One login first: OIDC discovery and JWKS are fetched once per process, not per login.
        let (cookie, _) = login(&http, &backend.origin, "ada")
            .await
            .context("a first login")?;

        if options.wants("logins") {
            let cpu_before = backend.cpu_seconds()?;
            let began = Instant::now();
            let results = {
                let (http, origin) = (http.clone(), backend.origin.clone());
                concurrently(
                    LOGINS,
                    LOGIN_CONCURRENCY,
                    Duration::from_secs(180),
                    move |i| {
                        let (http, origin) = (http.clone(), origin.clone());
                        async move { login(&http, &origin, USERS[i % USERS.len()]).await }
                    },
                )
                .await?
            };
            let elapsed = began.elapsed();
            let cpu = backend.cpu_seconds()? - cpu_before;
            let mut errors = Vec::new();
            let mut cookies = Vec::new();
            let (mut totals, mut starts, mut finishes) = (Vec::new(), Vec::new(), Vec::new());
            for result in results {
                match result {
                    Ok((cookie, times)) => {
                        cookies.push(cookie);
                        totals.push(times.total);
                        starts.push(times.start);
                        finishes.push(times.finish);
                    }
                    Err(e) => errors.push(format!("{e:#}")),
                }
            }
            totals.sort();
            starts.sort();
            finishes.sort();
            // Every session readable afterwards.
            let readable = {
                let cookies = Arc::new(cookies);
                let count = cookies.len();
                let http = http.clone();
                let origin = backend.origin.clone();
                let checks = concurrently(
                    count,
                    LOGIN_CONCURRENCY,
                    Duration::from_secs(120),
                    move |i| {
                        let (http, origin, cookies) =
                            (http.clone(), origin.clone(), cookies.clone());
                        async move {
                            let status = http
                                .get(format!("{origin}/api/me"))
                                .header("x-csrf", "1")
                                .header("cookie", &cookies[i])
                                .send()
                                .await?
                                .status();
                            Ok(status == reqwest::StatusCode::OK)
                        }
                    },
                )
                .await?;
                checks.iter().filter(|c| matches!(c, Ok(true))).count()
            };
            let cpu_per_login = cpu / LOGINS as f64;
            let rate = totals.len() as f64 / elapsed.as_secs_f64();
            let _ = writeln!(
                login_table,
                "| {} | {rate:.0} | {} | {} | {} | {} | {} | {} | {readable} of {} |",
                run.label,
                ms(percentile(&totals, 50.0)),
                ms(percentile(&totals, 99.0)),
                ms(percentile(&starts, 99.0)),
                ms(percentile(&finishes, 99.0)),
                ms(Duration::from_secs_f64(cpu_per_login)),
                errors.len(),
                totals.len(),
            );
            logins.budgeted(
                format!("backend CPU per login, {}", run.label),
                cpu_per_login * 1000.0,
                format!("{:.2} ms", cpu_per_login * 1000.0),
                Budget {
                    limit: 1.0,
                    goal: Goal::AtMost,
                    shown: "≤ 1 ms".into(),
                    remedy: if run.label == "sqlite" {
                        SQLITE_LOGIN_REMEDY
                    } else {
                        LOGIN_REMEDY
                    },
                },
            );
            logins.budgeted(
                format!("login errors, {}", run.label),
                (errors.len() + (totals.len() - readable)) as f64,
                format!(
                    "{} errors, {readable} of {} sessions readable",
                    errors.len(),
                    totals.len()
                ),
                Budget {
                    limit: 0.0,
                    goal: Goal::AtMost,
                    shown: "0 errors, all readable".into(),
                    remedy: "a failed login or an unreadable session under load is a bug, not a \
                             performance matter: see the errors listed below and the backend log \
                             in target/bench/.",
                },
            );
            logins.info(format!("logins/s, {}", run.label), format!("{rate:.0}"));
            logins.info(
                format!("login p99, {}", run.label),
                ms(percentile(&totals, 99.0)),
            );
            if !errors.is_empty() || readable < totals.len() {
                report.failures.push(format!(
                    "{} store: {} of {LOGINS} logins failed, {} sessions unreadable",
                    run.label,
                    errors.len(),
                    totals.len() - readable
                ));
            }
            if !errors.is_empty() {
                errors.sort();
                errors.dedup();
                let _ = writeln!(
                    logins.details,
                    "\nErrors with the {} store (first 5 distinct): {}",
                    run.label,
                    errors
                        .iter()
                        .take(5)
                        .map(|e| format!("`{e}`"))
                        .collect::<Vec<_>>()
                        .join("; ")
                );
            }
        }

        if options.wants("throughput") {
            // Warm-up, then both endpoints in alternating rounds, so that a change in what
            // else the machine does meanwhile weighs on both alike.
            let me_path = ("/api/me", Some(cookie.as_str()));
            for (path, cookie) in [("/healthz", None), me_path] {
                hammer(
                    backend.addr,
                    path,
                    cookie,
                    CONNECTIONS,
                    Duration::from_secs(1),
                )
                .await?;
            }
            let (mut health, mut me) = (Load::default(), Load::default());
            for _ in 0..ROUNDS {
                let slice = duration / ROUNDS;
                health.merge(hammer(backend.addr, "/healthz", None, CONNECTIONS, slice).await?);
                me.merge(hammer(backend.addr, me_path.0, me_path.1, CONNECTIONS, slice).await?);
            }
            for (endpoint, load) in [("/healthz", &health), ("/api/me", &me)] {
                let _ = writeln!(
                    throughput_table,
                    "| {} | `{endpoint}` | {:.0} | {} | {} | {} |",
                    run.label,
                    load.rate(),
                    ms(load.p(50.0)),
                    ms(load.p(99.0)),
                    load.failed,
                );
            }
            let ratio = me.rate() / health.rate() * 100.0;
            let shown = format!(
                "{ratio:.0} % ({:.0} of {:.0} requests/s)",
                me.rate(),
                health.rate()
            );
            let remedy = if run.label == "sqlite" {
                SQLITE_ME_REMEDY
            } else {
                ME_REMEDY
            };
            match run.label {
                "memory" => throughput.budgeted(
                    "`/api/me` vs `/healthz`, memory",
                    ratio,
                    shown,
                    Budget {
                        limit: 60.0,
                        goal: Goal::AtLeast,
                        shown: "≥ 60 %".into(),
                        remedy,
                    },
                ),
                "sqlite" => throughput.budgeted(
                    "`/api/me` vs `/healthz`, SQLite",
                    ratio,
                    shown,
                    Budget {
                        limit: 40.0,
                        goal: Goal::AtLeast,
                        shown: "≥ 40 %".into(),
                        remedy,
                    },
                ),
                _ => throughput.info(format!("`/api/me` vs `/healthz`, {}", run.label), shown),
            }
            let failed = health.failed + me.failed;
            if failed > 0 {
                report.failures.push(format!(
                    "{} store: {failed} request(s) of the throughput test failed",
                    run.label
                ));
                let _ = writeln!(
                    throughput.details,
                    "\n{failed} request(s) failed with the {} store (see target/bench/portero-{}.log).",
                    run.label, run.label
                );
            }
        }
        drop(backend);
    }
    drop(redis);
    if options.wants("throughput") {
        throughput.details = format!("{throughput_table}{}", throughput.details);
        report.sections.push(throughput);
    }
    if options.wants("logins") {
        logins.details = format!("{login_table}{}", logins.details);
        report.sections.push(logins);
    }
    Ok(())
}

const ME_REMEDY: &str = "the session work proper is small (`session/load_memory` ≈ 2 µs in the \
     micro-benchmarks; tower-sessions and serde_json under 2 % of the backend's CPU in a `perf` \
     profile of this run). What `/api/me` adds to `/healthz` is mostly \
     the per-request cost of the `/api` stack: the session layer clones the store into a new \
     `Arc` per request, and each layer boxes its future (malloc + free ≈ 12 % of the backend's \
     CPU in a `perf` profile). `AppState` is one `Arc` and the CSRF check, the store-failure \
     mapping and the cookie fix-up are one middleware (they were three), which moved the ratio \
     from 58 % to 63 % in back-to-back runs. Meeting the budget steadily: an idle machine (the \
     load generator shares the backend's two cores), and dropping the cookie fix-up once \
     tower-sessions ships its PR #268.";

const SQLITE_ME_REMEDY: &str = "each `/api/me` reads its record with a `SELECT` through sqlx, \
     which runs every SQLite connection on a thread of its own and hands each statement over \
     a channel and back (two thread wake-ups per request; `session/load_sqlite` in the \
     micro-benchmarks against `session/load_memory`). Meeting the budget would take an \
     in-process cache of decoded records for a second or so (written through on save, so a \
     replica's own writes are seen at once; several replicas use Redis anyway). The pool's size \
     makes no difference beyond the noise: with 4 or 10 connections the ratio moved between 19 % \
     and 33 % from run to run.";

const LOGIN_REMEDY: &str = "a login is two backend requests plus two provider calls made by the \
     backend (token, userinfo) with their JSON, the RS256 id_token check (≈ 0.13 ms, see the \
     micro-benchmarks), sealing the tokens, three log lines and the session writes. Under 1 ms \
     on a busy 2-core machine would take: skipping the userinfo call when the id_token already \
     carries the claims (one provider round trip less), one session write per request instead \
     of the attempt's save and the new record's (four store writes per login today, see the SQLite \
     row), and measuring on an idle machine.";

const SQLITE_LOGIN_REMEDY: &str = "the difference to the memory store is SQLite's. A login \
     makes four writes to the store and one read: at `/api/login` the new record (a \
     transaction, by the session layer); at `/api/session` the attempt taken (saved before the \
     token exchange, so that a state can never be used twice, even by two requests at once), \
     the old id deleted by `cycle_id` and the new record inserted (a transaction). Each is a \
     statement through sqlx, which runs every connection on a thread of its own and hands each \
     statement over a channel and back; `synchronous = NORMAL` under WAL (no fsync per commit) \
     is already set (a pool of 4 connections instead of sqlx's 10 made no difference beyond the \
     noise). Meeting the budget would take a SQLite \
     access without a thread hand-over per statement (rusqlite called in place, which blocks \
     the async worker for the statement's duration), or the delete and the insert of the new \
     id in one transaction (tower-sessions' `cycle_id` makes them two).";

// ---- 5. footprint -----------------------------------------------------------------------------

async fn footprint(env: &Env, report: &mut Report) -> Result<()> {
    step("5/6 footprint: resident memory and start-up time");
    let mut section = Section::new(
        "5. Footprint",
        format!(
            "Resident memory (VmRSS of /proc/PID/status) of the release backend with the memory \
             store: idle (started, `/healthz` answered, 1 s of quiet), then after \
             {FOOTPRINT_SESSIONS} sessions made by as many `POST /api/login/dev` calls without \
             a cookie (each a new session holding one login attempt: state, PKCE verifier, \
             nonce). Start-up: from just before the exec to the first `/healthz` answer (polled \
             every millisecond), with a SQLite store, {STARTUPS} starts, the first of which \
             creates the file."
        ),
    );
    let backend = Backend::start(
        env,
        &BackendSpec {
            label: "footprint",
            store: "memory",
            static_dir: None,
        },
    )
    .await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle = backend.rss_kib()?;
    let http = http_client(LOGIN_CONCURRENCY)?;
    let results = {
        let (http, origin) = (http.clone(), backend.origin.clone());
        concurrently(
            FOOTPRINT_SESSIONS,
            LOGIN_CONCURRENCY,
            Duration::from_secs(180),
            move |_| {
                let (http, origin) = (http.clone(), origin.clone());
                async move {
                    let response = api_post(
                        &http,
                        &origin,
                        &format!("/api/login/{PROVIDER}"),
                        None,
                        &json!({}),
                    )
                    .await?;
                    session_cookie(&response).context("no session cookie")?;
                    response.bytes().await?;
                    Ok(())
                }
            },
        )
        .await?
    };
    let failed = results.iter().filter(|r| r.is_err()).count();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let full = backend.rss_kib()?;
    let mib = |kib: u64| kib as f64 / 1024.0;
    section.budgeted(
        "resident memory, idle",
        mib(idle),
        format!("{:.1} MB", mib(idle)),
        Budget {
            limit: 20.0,
            goal: Goal::AtMost,
            shown: "≤ 20 MB".into(),
            remedy:
                "the idle figure is mostly code and the allocator's arenas: fewer tokio worker \
                     threads (each has a stack and its glibc malloc arena; `MALLOC_ARENA_MAX=2` \
                     or a compact allocator), `panic = \"abort\"`, `strip`, and dropping \
                     dependencies that build large static tables (the JSON log format, the \
                     Redis client when Redis is not configured).",
        },
    );
    section.budgeted(
        format!("resident memory, {FOOTPRINT_SESSIONS} sessions"),
        mib(full),
        format!("{:.1} MB", mib(full)),
        Budget {
            limit: 50.0,
            goal: Goal::AtMost,
            shown: "≤ 50 MB".into(),
            remedy: "each session is a tower-sessions record (a HashMap of JSON values) in a \
                     mutex-guarded HashMap; a compact encoding of the login attempt (one struct \
                     instead of a JSON map) and a store that keeps serialized bytes would \
                     roughly halve it.",
        },
    );
    section.info(
        "memory per session",
        format!(
            "{:.2} KB ({failed} of {FOOTPRINT_SESSIONS} calls failed)",
            (full.saturating_sub(idle)) as f64 / FOOTPRINT_SESSIONS as f64
        ),
    );
    drop(backend);
    if failed > 0 {
        report.failures.push(format!(
            "{failed} of {FOOTPRINT_SESSIONS} POST /api/login/{PROVIDER} calls failed"
        ));
    }

    let dir = env.work.join("startup");
    let _ = std::fs::remove_dir_all(&dir);
    let store = format!("sqlite://{}", dir.join("sessions.db").display());
    let mut times = Vec::new();
    for _ in 0..STARTUPS {
        let mut backend = Backend::spawn(
            env,
            &BackendSpec {
                label: "startup",
                store: &store,
                static_dir: None,
            },
        )
        .await?;
        times.push(backend.wait_ready(Duration::from_secs(20), "startup")?);
    }
    let first = times[0];
    let mut seconds: Vec<f64> = times.iter().map(Duration::as_secs_f64).collect();
    let middle = Duration::from_secs_f64(median(&mut seconds));
    section.budgeted(
        "start-up to `/healthz`, SQLite (median)",
        middle.as_secs_f64() * 1000.0,
        format!(
            "{} (first start, creating the file: {})",
            ms(middle),
            ms(first)
        ),
        Budget {
            limit: 100.0,
            goal: Goal::AtMost,
            shown: "≤ 100 ms".into(),
            remedy: "start-up is the SQLite pool (opening the file, WAL, the schema migration) \
                     and binding: open one connection eagerly and the rest lazily, and run the \
                     migration only when the schema version differs.",
        },
    );
    report.sections.push(section);
    Ok(())
}

// ---- 2. first render --------------------------------------------------------------------------

const FIRST_RENDER_REMEDY: &str = "index.html already preloads the JS glue and the wasm \
     (`modulepreload`, `preload`), so the downloads overlap; on loopback the time goes after \
     the wasm has arrived (the `wasm received` column): compiling and starting it, then the \
     `GET /api/providers` round trip, which only begins once the app runs, then rendering. A \
     return visit (cached, compiled code reused) is barely faster, so the fetch and the app's \
     start weigh more than the download. What it would take: start `/api/providers` from \
     boot.js in parallel with the wasm (hand the promise to the app), or have the backend \
     inline the provider list into index.html (no request before the buttons); and a smaller \
     wasm (compile and instantiate time grow with code size). On a quiet machine the median \
     was under the budget (see the notes below the generated part).";

/// Installed before any script of every page: notes when the first provider button enters the
/// DOM, in the page's own clock (`performance.now()` counts from navigation start).
const OBSERVER: &str = "(() => {
  const observer = new MutationObserver(() => {
    if (window.__porteroButtons === undefined && document.querySelector('button[data-provider]')) {
      window.__porteroButtons = performance.now();
      observer.disconnect();
    }
  });
  observer.observe(document, { childList: true, subtree: true });
})();";

/// Waits for the mark, then reads it with a few Navigation and Resource Timing milestones.
const READ_MARKS: &str = "const done = arguments[arguments.length - 1];
const began = performance.now();
(function poll() {
  const found = document.querySelector('button[data-provider]');
  if (window.__porteroButtons !== undefined || (found && performance.now() - began > 50)) {
    const nav = performance.getEntriesByType('navigation')[0] || {};
    const res = performance.getEntriesByType('resource');
    const end = (test) => { const e = res.find(test); return e ? e.responseEnd : null; };
    done({
      buttons: window.__porteroButtons === undefined ? performance.now() : window.__porteroButtons,
      observed: window.__porteroButtons !== undefined,
      html: nav.responseEnd || null,
      dom: nav.domContentLoadedEventEnd || null,
      wasm: end((e) => e.name.endsWith('.wasm')),
      providers: end((e) => e.name.includes('/api/providers')),
    });
  } else if (performance.now() - began > 10000) {
    done(null);
  } else {
    setTimeout(poll, 2);
  }
})();";

/// A W3C WebDriver session on Debian's chromedriver, spoken to over plain HTTP (the few
/// commands needed here, plus chromedriver's `goog/cdp/execute` for DevTools commands).
struct WebDriver {
    http: reqwest::Client,
    base: String,
    session: String,
    driver: Child,
}

impl WebDriver {
    async fn start(browser: &tools::Browser, tmp: &Path) -> Result<WebDriver> {
        let port = free_port()?;
        let driver = Command::new(&browser.chromedriver)
            .arg(format!("--port={port}"))
            // Chromium leaves its scoped dirs in TMPDIR: a folder removed afterwards.
            .env("TMPDIR", tmp)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("cannot start {}", browser.chromedriver.display()))?;
        let profile = tmp.join("profile");
        std::fs::create_dir_all(&profile)?;
        let capabilities = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": browser.chromium,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--no-first-run", "--disable-quic",
                    "--window-size=1280,900",
                    format!("--user-data-dir={}", profile.display()),
                ],
            },
        }}});
        let mut webdriver = WebDriver {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()?,
            base: format!("http://127.0.0.1:{port}"),
            session: String::new(),
            driver,
        };
        let mut last = String::new();
        for _ in 0..50 {
            match webdriver
                .http
                .post(format!("{}/session", webdriver.base))
                .json(&capabilities)
                .send()
                .await
            {
                Ok(response) => {
                    let answer: Value = response.json().await?;
                    if let Some(id) = answer["value"]["sessionId"].as_str() {
                        webdriver.session = id.to_owned();
                        return Ok(webdriver);
                    }
                    last = answer["value"]["message"].to_string();
                }
                Err(e) => last = e.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        stop_child(&mut webdriver.driver);
        bail!("chromedriver did not start a session: {last}")
    }

    async fn command(&self, path: &str, body: Value) -> Result<Value> {
        let response = self
            .http
            .post(format!("{}/session/{}{path}", self.base, self.session))
            .json(&body)
            .send()
            .await?;
        let status = response.status();
        let answer: Value = response.json().await?;
        if !status.is_success() {
            bail!("WebDriver {path}: {}", answer["value"]["message"]);
        }
        Ok(answer["value"].clone())
    }

    async fn cdp(&self, command: &str, params: Value) -> Result<Value> {
        self.command(
            "/goog/cdp/execute",
            json!({ "cmd": command, "params": params }),
        )
        .await
    }

    async fn goto(&self, url: &str) -> Result<()> {
        self.command("/url", json!({ "url": url })).await.map(drop)
    }

    async fn close(mut self) {
        let _ = self
            .http
            .delete(format!("{}/session/{}", self.base, self.session))
            .send()
            .await;
        stop_child(&mut self.driver);
    }
}

async fn first_render(env: &Env, browser: &tools::Browser, report: &mut Report) -> Result<()> {
    step(&format!(
        "2/6 first render: headless Chromium, {RENDER_LOADS} loads with and without the HTTP cache"
    ));
    let backend = Backend::start(
        env,
        &BackendSpec {
            label: "render",
            store: "memory",
            static_dir: Some(&env.dist),
        },
    )
    .await?;
    let tmp = env.work.join("chromium-tmp");
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp)?;
    let webdriver = WebDriver::start(browser, &tmp).await?;
    let result = render_loads(&webdriver, &backend.origin).await;
    webdriver.close().await;
    let _ = std::fs::remove_dir_all(&tmp);
    drop(backend);
    let runs = result?;

    let mut section = Section::new(
        "2. First render",
        format!(
            "Headless Chromium ({}) on loopback, against the release backend serving the \
             release `dist/` (one origin, memory store, devprovider as provider `dev`). Before \
             any page script, a MutationObserver (DevTools `Page.addScriptToEvaluateOnNewDocument`) \
             notes `performance.now()` — milliseconds since navigation start — when the first \
             `button[data-provider]` enters the DOM, i.e. after boot.js, the wasm download and \
             compile, the app's start and its `GET /api/providers`. {RENDER_LOADS} loads each \
             (after one untimed load), each from `about:blank`: with the HTTP cache disabled \
             (DevTools `Network.setCacheDisabled`: a first visit, every byte fetched and the wasm \
             compiled afresh) and with it on (a return visit: hashed assets are `immutable`, so \
             Chromium also reuses its compiled wasm). No network latency: on a real link add \
             the round trips and the download time of the bundle.",
            webdriver_version()
        ),
    );
    let mut table = String::from(
        "| visit | buttons in DOM: median | p90 | min | html received | wasm received | `/api/providers` answered |\n|---|---|---|---|---|---|---|\n",
    );
    let mut approximate = false;
    for (label, marks) in &runs {
        approximate |= marks.iter().any(|m| !m.observed);
        let pick = |f: &dyn Fn(&Marks) -> Option<f64>| {
            let mut v: Vec<f64> = marks.iter().filter_map(f).collect();
            if v.is_empty() {
                "–".to_owned()
            } else {
                format!("{:.1} ms", median(&mut v))
            }
        };
        let mut buttons: Vec<f64> = marks.iter().map(|m| m.buttons).collect();
        let middle = median(&mut buttons);
        let _ = writeln!(
            table,
            "| {label} | {middle:.1} ms | {:.1} ms | {:.1} ms | {} | {} | {} |",
            percentile(&buttons, 90.0),
            buttons[0],
            pick(&|m| m.html),
            pick(&|m| m.wasm),
            pick(&|m| m.providers),
        );
        if label.starts_with("first") {
            section.budgeted(
                "first render, first visit (median)",
                middle,
                format!("{middle:.1} ms"),
                Budget {
                    limit: 150.0,
                    goal: Goal::AtMost,
                    shown: "≤ 150 ms".into(),
                    remedy: FIRST_RENDER_REMEDY,
                },
            );
        } else {
            section.info(
                "first render, return visit (median)",
                format!("{middle:.1} ms"),
            );
        }
    }
    if approximate {
        table.push_str(
            "\nSome loads rendered before the observer could be installed: their figure is the \
             moment the check ran, an upper bound.\n",
        );
    }
    section.details = table;
    report.sections.push(section);
    Ok(())
}

fn webdriver_version() -> String {
    Command::new("chromium")
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "Chromium".into())
}

struct Marks {
    buttons: f64,
    observed: bool,
    html: Option<f64>,
    wasm: Option<f64>,
    providers: Option<f64>,
}

async fn render_loads(
    webdriver: &WebDriver,
    origin: &str,
) -> Result<Vec<(&'static str, Vec<Marks>)>> {
    webdriver
        .command("/timeouts", json!({ "script": 15_000, "pageLoad": 30_000 }))
        .await?;
    webdriver
        .cdp(
            "Page.addScriptToEvaluateOnNewDocument",
            json!({ "source": OBSERVER }),
        )
        .await?;
    webdriver.cdp("Network.enable", json!({})).await?;
    let mut runs = Vec::new();
    for (label, cache_off) in [
        ("first visit (cache off)", true),
        ("return visit (cache on)", false),
    ] {
        webdriver
            .cdp(
                "Network.setCacheDisabled",
                json!({ "cacheDisabled": cache_off }),
            )
            .await?;
        let mut marks = Vec::new();
        for i in 0..=RENDER_LOADS {
            webdriver.goto("about:blank").await?;
            webdriver.goto(&format!("{origin}/")).await?;
            let answer = webdriver
                .command(
                    "/execute/async",
                    json!({ "script": READ_MARKS, "args": [] }),
                )
                .await?;
            if answer.is_null() {
                bail!("no provider button appeared within 10 s at {origin}/");
            }
            if i == 0 {
                continue;
            }
            marks.push(Marks {
                buttons: answer["buttons"].as_f64().context("no mark")?,
                observed: answer["observed"].as_bool().unwrap_or(false),
                html: answer["html"].as_f64(),
                wasm: answer["wasm"].as_f64(),
                providers: answer["providers"].as_f64(),
            });
        }
        runs.push((label, marks));
    }
    Ok(runs)
}

// ---- 6. micro-benchmarks ----------------------------------------------------------------------

fn micro(report: &mut Report) -> Result<()> {
    step("6/6 criterion micro-benchmarks (short run)");
    let home = root().join("target/bench/criterion");
    let _ = std::fs::remove_dir_all(&home);
    run(super::cargo()
        .args(["bench", "-p", "portero", "--bench", BENCH_TARGET, "--"])
        .args(CRITERION_ARGS)
        .env("CRITERION_HOME", &home))?;
    let mut estimates = Vec::new();
    collect_estimates(&home, &mut estimates)?;
    estimates.sort_by(|a, b| a.0.cmp(&b.0));
    let mut section = Section::new(
        "6. Micro-benchmarks",
        format!(
            "Criterion, `backend/benches/{BENCH_TARGET}.rs`, run with `{}`: the median time of \
             one iteration. `cargo bench -p portero --bench {BENCH_TARGET}` runs them at length.",
            CRITERION_ARGS.join(" ")
        ),
    );
    if estimates.is_empty() {
        report.unmeasured.push(format!(
            "micro-benchmarks: no estimates found under {}",
            home.display()
        ));
    }
    for (id, nanos) in estimates {
        let shown = if nanos >= 1_000_000.0 {
            format!("{:.2} ms", nanos / 1e6)
        } else if nanos >= 1_000.0 {
            format!("{:.2} µs", nanos / 1e3)
        } else {
            format!("{nanos:.0} ns")
        };
        section.info(format!("`{id}`"), shown);
    }
    report.sections.push(section);
    Ok(())
}

/// (full id, median in ns) of every benchmark criterion measured under `dir`.
fn collect_estimates(dir: &Path, found: &mut Vec<(String, f64)>) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries {
        let path = entry?.path();
        if !path.is_dir() {
            continue;
        }
        let (estimates, benchmark) = (
            path.join("new/estimates.json"),
            path.join("new/benchmark.json"),
        );
        if estimates.exists() && benchmark.exists() {
            let estimates: Value = serde_json::from_str(&std::fs::read_to_string(estimates)?)?;
            let benchmark: Value = serde_json::from_str(&std::fs::read_to_string(benchmark)?)?;
            if let (Some(id), Some(median)) = (
                benchmark["full_id"].as_str(),
                estimates["median"]["point_estimate"].as_f64(),
            ) {
                found.push((id.to_owned(), median));
            }
        } else if path.file_name().is_some_and(|n| n != "report") {
            collect_estimates(&path, found)?;
        }
    }
    Ok(())
}
