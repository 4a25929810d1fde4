//! Section 2, first render: e2e's `first_render` binary drives headless Chromium through the
//! browser tests' harness against the release backend serving the release `dist/`, and prints
//! its marks as JSON; this module starts the backend, runs the binary and turns the marks into
//! figures. (xtask stays free of the backend crate and of fantoccini, which `cargo xtask dev`
//! would otherwise compile first.)

use std::{fmt::Write as _, path::PathBuf, process::Stdio, time::Duration};

use anyhow::{bail, Context, Result};
use serde_json::Value;

use super::{
    backend::{self, Backend},
    report::{median, percentile, Budget, Report, Section},
    target_dir, Env,
};
use crate::{run, step, tools};

const HARNESS: &str = "first_render";
/// Timed loads per kind of visit.
const LOADS: usize = 20;
/// The harness's whole run (42 loads, each waiting 10 s at most for the buttons) is bounded.
const HARNESS_LIMIT: Duration = Duration::from_secs(300);
/// (the harness's key, the report's name) of each kind of visit.
const VISITS: [(&str, &str); 2] = [
    ("cache_off", "first visit (cache off)"),
    ("cache_on", "return visit (cache on)"),
];

/// Builds e2e's binary (with the debug profile that `cargo xtask test` shares); its path.
pub fn build_harness() -> Result<PathBuf> {
    step("cargo build -p e2e --bin first_render: the first-render harness");
    run(crate::cargo().args(["build", "-p", "e2e", "--bin", HARNESS]))?;
    let path = target_dir().join("debug").join(HARNESS);
    if !path.exists() {
        bail!("{} was not built", path.display());
    }
    Ok(path)
}

/// One load's milestones, in milliseconds since navigation start.
struct Marks {
    buttons: f64,
    observed: bool,
    html: Option<f64>,
    wasm: Option<f64>,
    providers: Option<f64>,
}

impl Marks {
    fn parse(mark: &Value) -> Result<Marks> {
        Ok(Marks {
            buttons: mark["buttons"]
                .as_f64()
                .context("a load without `buttons`")?,
            observed: mark["observed"].as_bool().unwrap_or(false),
            html: mark["html"].as_f64(),
            wasm: mark["wasm"].as_f64(),
            providers: mark["providers"].as_f64(),
        })
    }
}

pub async fn first_render(env: &Env, browser: &tools::Browser, report: &mut Report) -> Result<()> {
    step(&format!(
        "2/6 first render: headless Chromium, {LOADS} loads with and without the HTTP cache"
    ));
    let harness = env
        .first_render
        .as_ref()
        .context("the first-render harness was not built")?;
    let spec = backend::Spec {
        static_dir: Some(&env.dist),
        ..backend::Spec::new("render", "memory")
    };
    let backend = Backend::start(env, &spec).await?;
    // Chromium leaves tens of MB in TMPDIR: a folder of the bench's, removed afterwards.
    let tmp = env.work.join("chromium-tmp");
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp)?;
    let output = tokio::time::timeout(
        HARNESS_LIMIT,
        tokio::process::Command::new(harness)
            .arg(&backend.origin)
            .arg(LOADS.to_string())
            .env("CHROMEDRIVER", &browser.chromedriver)
            .env("CHROMIUM", &browser.chromium)
            .env("TMPDIR", &tmp)
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .output(),
    )
    .await;
    drop(backend);
    let _ = std::fs::remove_dir_all(&tmp);
    let output = output
        .with_context(|| format!("{HARNESS} did not finish within {HARNESS_LIMIT:?}"))?
        .with_context(|| format!("cannot run {}", harness.display()))?;
    if !output.status.success() {
        bail!("{} failed ({})", harness.display(), output.status);
    }
    let figures: Value = serde_json::from_slice(&output.stdout)
        .with_context(|| format!("{HARNESS} printed no JSON"))?;

    let mut section = Section::new(
        "2. First render",
        format!(
            "Measured: {LOADS} loads of each kind after one untimed load, each from \
             `about:blank`, by `e2e/src/bin/{HARNESS}.rs` against the release backend serving \
             the release `dist/` (memory store)."
        ),
    );
    let mut table = String::from(
        "| visit | buttons in DOM: median | p90 | min | html received | wasm received | \
         `/api/providers` answered |\n|---|---|---|---|---|---|---|\n",
    );
    let mut approximate = false;
    for (key, visit) in VISITS {
        let marks = figures[key]
            .as_array()
            .with_context(|| format!("{HARNESS} gave no {key} loads"))?
            .iter()
            .map(Marks::parse)
            .collect::<Result<Vec<_>>>()?;
        if marks.is_empty() {
            bail!("{HARNESS} gave no {key} loads");
        }
        approximate |= marks.iter().any(|m| !m.observed);
        let pick = |f: fn(&Marks) -> Option<f64>| {
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
            "| {visit} | {middle:.1} ms | {:.1} ms | {:.1} ms | {} | {} | {} |",
            percentile(&buttons, 90.0),
            buttons[0],
            pick(|m| m.html),
            pick(|m| m.wasm),
            pick(|m| m.providers),
        );
        if key == "cache_off" {
            section.budgeted(
                "first render, first visit (median)",
                middle,
                format!("{middle:.1} ms"),
                Budget::at_most(100.0, "≤ 100 ms"),
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
            "\nSome loads rendered before the observer was installed: their figure is the \
             moment the check ran, an upper bound.\n",
        );
    }
    section.details = table;
    report.sections.push(section);
    Ok(())
}
