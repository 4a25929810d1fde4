//! Section 6, the criterion micro-benchmarks of backend/benches/ in a short run: the median time
//! of one iteration of each, read from criterion's estimates.

use std::path::Path;

use anyhow::Result;
use serde_json::Value;

use super::{
    report::{Report, Section},
    BENCH_TARGET,
};
use crate::{root, run, step};

/// Criterion's settings for the short run (`cargo bench` alone uses its defaults).
const CRITERION_ARGS: [&str; 5] = ["--warm-up-time", "1", "--measurement-time", "2", "--noplot"];

pub fn micro(report: &mut Report) -> Result<()> {
    step("6/6 criterion micro-benchmarks (short run)");
    let home = root().join("target/bench/criterion");
    let _ = std::fs::remove_dir_all(&home);
    run(crate::cargo()
        .args(["bench", "-p", "portero", "--bench", BENCH_TARGET, "--"])
        .args(CRITERION_ARGS)
        .env("CRITERION_HOME", &home))?;
    let mut estimates = Vec::new();
    collect_estimates(&home, &mut estimates)?;
    estimates.sort_by(|a, b| a.0.cmp(&b.0));
    let mut section = Section::new(
        "6. Micro-benchmarks",
        format!(
            "Measured: `backend/benches/{BENCH_TARGET}.rs` with `{}`, the median time of one \
             iteration.",
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
        section.info(format!("`{id}`"), nanoseconds(nanos));
    }
    report.sections.push(section);
    Ok(())
}

fn nanoseconds(nanos: f64) -> String {
    if nanos >= 1_000_000.0 {
        format!("{:.2} ms", nanos / 1e6)
    } else if nanos >= 1_000.0 {
        format!("{:.2} µs", nanos / 1e3)
    } else {
        format!("{nanos:.0} ns")
    }
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
