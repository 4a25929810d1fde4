//! `cargo xtask fuzz [target] [seconds]`: runs the cargo-fuzz targets of fuzz/ (the parsers that
//! take outside input, docs/SECURITY.md) for `seconds` each (60 by default), all of them unless
//! one is named. Installs cargo-fuzz from crates.io when it is missing. libFuzzer needs nightly
//! compiler flags (`-Zsanitizer=address`); this machine has stable Rust, so they are enabled
//! with `RUSTC_BOOTSTRAP=1`. New inputs go to fuzz/corpus/<target> (not committed), starting
//! from fuzz/seeds/<target>; a crash is saved under fuzz/artifacts/<target> and fails the task.

use std::process::{Command, Stdio};

use anyhow::{bail, Result};

use crate::{root, run, step};

const TARGETS: [&str; 2] = ["return_to", "config"];
const DEFAULT_SECONDS: u64 = 60;

pub fn fuzz(args: &[String]) -> Result<()> {
    let mut targets: Vec<&str> = TARGETS.to_vec();
    let mut seconds = DEFAULT_SECONDS;
    for arg in args {
        if let Ok(n) = arg.parse::<u64>() {
            seconds = n.max(1);
        } else if let Some(target) = TARGETS.iter().find(|t| **t == arg.as_str()) {
            targets = vec![target];
        } else {
            bail!(
                "unknown fuzz target {arg:?}; the targets are {}",
                TARGETS.join(", ")
            );
        }
    }
    ensure_cargo_fuzz()?;
    for target in targets {
        let corpus = root().join("fuzz/corpus").join(target);
        std::fs::create_dir_all(&corpus)?;
        step(&format!("cargo fuzz run {target} for {seconds} s"));
        run(Command::new("cargo")
            .args(["fuzz", "run", target])
            .arg(&corpus)
            .arg(root().join("fuzz/seeds").join(target))
            .arg("--")
            .arg(format!("-max_total_time={seconds}"))
            .env("RUSTC_BOOTSTRAP", "1"))?;
    }
    Ok(())
}

fn ensure_cargo_fuzz() -> Result<()> {
    let present = Command::new("cargo")
        .args(["fuzz", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if present {
        step("cargo-fuzz: present");
        return Ok(());
    }
    step("cargo-fuzz: installing from crates.io");
    run(Command::new("cargo").args(["install", "cargo-fuzz", "--locked"]))
}
