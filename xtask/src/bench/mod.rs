//! `cargo xtask bench`: measures Portero against its performance budgets and writes
//! the measured part of docs/BENCHMARKS.md (what the figures mean is the hand-written part).
//! Timings are reported, never asserted: the bench fails only when something does not work (a
//! login errs, a session is unreadable), not when it is slow.
//!
//! One module per job: `bundle` and `wasm` (the first visit's bytes and what the wasm holds),
//! `render` (first render, through e2e's browser harness), `stores` with `load` and `logins`
//! (throughput and login cost per session store), `footprint` (memory and start-up), `micro`
//! (criterion), `gateway` (Portero's gateway against nginx `proxy_pass`), `websocket` (sockets
//! through Portero against nginx, and their memory), `newcomer` (a fresh clone to the page of
//! `cargo xtask dev`, only when asked), over `backend` (the release backend as a process),
//! `nginx` and `report` (the Markdown).
//! Everything listens on 127.0.0.1 only, and every loop is bounded in count and time.

mod backend;
mod bundle;
mod footprint;
mod gateway;
mod load;
mod logins;
mod machine;
mod micro;
mod newcomer;
mod nginx;
mod process_tree;
mod render;
mod report;
mod stores;
mod wasm;
mod websocket;

use std::{path::PathBuf, time::Instant};

use anyhow::{bail, Context, Result};

use crate::{root, run, step, tools};
use report::{minutes, Report};

const DEFAULT_SECONDS: u64 = 10;
const SECTIONS: [&str; 9] = [
    "bundle",
    "render",
    "throughput",
    "logins",
    "footprint",
    "micro",
    "gateway",
    "sockets",
    "newcomer",
];
/// The criterion harness of backend/benches/.
const BENCH_TARGET: &str = "hot_paths";

pub struct Options {
    pub seconds: u64,
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
                other => bail!("bench: unknown argument {other:?}\n{}", crate::BENCH_USAGE),
            }
        }
        Ok(options)
    }

    pub fn wants(&self, section: &str) -> bool {
        self.only
            .as_ref()
            .is_none_or(|only| only.iter().any(|s| s == section))
    }

    /// Named in `--only`: for the sections that run only when asked for.
    pub fn asked(&self, section: &str) -> bool {
        self.only
            .as_ref()
            .is_some_and(|only| only.iter().any(|s| s == section))
    }

    pub fn shortened(&self) -> bool {
        self.seconds != DEFAULT_SECONDS
    }
}

/// What every measurement works with: the built programs and the bench's own folder.
pub struct Env {
    pub portero: PathBuf,
    pub dist: PathBuf,
    /// The anchor's release build, beside `dist` (bundle section).
    pub anchor_dist: PathBuf,
    pub work: PathBuf,
    /// e2e's first-render binary, when the render section is wanted.
    pub first_render: Option<PathBuf>,
    pub seconds: u64,
}

pub fn bench(args: &[String]) -> Result<()> {
    // The sockets section's app, which the bench starts as a process of its own.
    if let Some((flag, rest)) = args.split_first() {
        if flag == websocket::ECHO_FLAG {
            return websocket::serve_echo(rest);
        }
    }
    let options = Options::parse(args)?;
    if options.wants("sockets") {
        // Before anything is started, so that all inherit it.
        websocket::raise_open_files_limit();
    }
    let started = Instant::now();
    let machine = machine::Machine::describe();
    let tools = tools::ensure_build_tools()?;
    let browser = if options.wants("render") {
        Some(tools::ensure_browser()?)
    } else {
        None
    };
    let work = root().join("target/bench");
    std::fs::create_dir_all(&work)?;
    let env = build(&options, &tools, work)?;
    let built = started.elapsed();

    let mut report = Report::default();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    if options.wants("bundle") {
        bundle::bundle(&env, &mut report)?;
    }
    if let Some(browser) = &browser {
        runtime.block_on(render::first_render(&env, browser, &mut report))?;
    }
    if options.wants("throughput") || options.wants("logins") {
        runtime.block_on(stores::stores(&env, &options, &mut report))?;
    }
    if options.wants("footprint") {
        runtime.block_on(footprint::footprint(&env, &mut report))?;
    }
    if options.wants("micro") {
        micro::micro(&mut report)?;
    }
    if options.wants("gateway") {
        runtime.block_on(gateway::gateway(&env, &mut report))?;
    }
    if options.wants("sockets") {
        runtime.block_on(websocket::sockets(&env, &mut report))?;
    }
    if options.asked("newcomer") {
        if let Err(e) = newcomer::newcomer(&mut report) {
            report.failures.push(format!("newcomer: {e:#}"));
        }
    } else if options.only.is_none() {
        newcomer::last(&mut report);
    }
    drop(runtime);

    let total = started.elapsed();
    let text = report.markdown(&machine, &options, built, total);
    if options.only.is_some() {
        println!("\n{text}");
        step("--only given: docs/BENCHMARKS.md left as it was");
    } else {
        report::write_doc(&text)?;
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

/// Builds what the wanted sections measure; the build time is reported apart.
fn build(options: &Options, tools: &tools::Tools, work: PathBuf) -> Result<Env> {
    // The release backend and the criterion harness in one build: `cargo bench` unifies the
    // dev-dependencies' features, so building the binary separately would build it twice.
    let portero = target_dir().join("release/portero");
    // The bundle and the newcomer sections need no release backend (the newcomer builds a
    // clone of its own).
    if SECTIONS
        .iter()
        .any(|s| !matches!(*s, "bundle" | "newcomer") && options.wants(s))
    {
        step("cargo bench --no-run: the release backend and the micro-benchmarks");
        run(crate::cargo().args([
            "bench",
            "-p",
            "portero",
            "--bench",
            BENCH_TARGET,
            "--no-run",
        ]))?;
        if !portero.exists() {
            bail!("{} was not built", portero.display());
        }
    }
    // Its own dist/: `dist/` may be in use by `cargo xtask test` or a deployment meanwhile.
    let dist = work.join("dist");
    if options.wants("bundle") || options.wants("render") {
        bundle::build_spa_into(tools, &dist)?;
    }
    let anchor_dist = work.join("anchor-dist");
    if options.wants("bundle") {
        bundle::build_anchor_into(tools, &anchor_dist)?;
    }
    let first_render = if options.wants("render") {
        Some(render::build_harness()?)
    } else {
        None
    };
    Ok(Env {
        portero,
        dist,
        anchor_dist,
        work,
        first_render,
        seconds: options.seconds,
    })
}

/// Cargo's output folder, as the builds above use it.
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|dir| {
            if dir.is_absolute() {
                dir
            } else {
                root().join(dir)
            }
        })
        .unwrap_or_else(|| root().join("target"))
}
