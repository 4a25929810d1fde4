//! Section 1, the bundle: the bytes a first visit downloads from the release build, raw, gzip -9
//! (the budget's measure) and brotli 11 (what browsers get), file by file; then what the wasm
//! holds.

use std::{
    fmt::Write as _,
    path::{Path, PathBuf},
};

use anyhow::{bail, Result};

use super::{
    report::{kb, Budget, Report, Section},
    wasm, Env,
};
use crate::{brotli11, gzip9, run, step, tools};

/// `trunk build --release` into `dist`, with the precompressed siblings the backend serves.
pub fn build_spa_into(tools: &tools::Tools, dist: &Path) -> Result<()> {
    step(&format!("trunk build --release --dist {}", dist.display()));
    run(tools.trunk_release().arg("--dist").arg(dist))?;
    if !dist.join("index.html").exists() {
        bail!("trunk build finished without {}/index.html", dist.display());
    }
    crate::precompress(dist)
}

/// index.html and every file of dist/ it names (boot.js names the JS and the wasm through
/// `data-js` and `data-wasm` on its own tag), in the order a browser asks for them. The release
/// index.html is minified, so attribute values may come without quotes.
fn first_visit_files(dist: &Path) -> Result<Vec<PathBuf>> {
    let index = std::fs::read_to_string(dist.join("index.html"))?;
    let mut files = vec![dist.join("index.html")];
    for attribute in [" href=", " src=", " data-js=", " data-wasm="] {
        let mut rest = index.as_str();
        while let Some(at) = rest.find(attribute) {
            rest = &rest[at + attribute.len()..];
            let (value, after) = match rest.chars().next() {
                Some(quote @ ('"' | '\'')) => {
                    let Some(end) = rest[1..].find(quote) else {
                        break;
                    };
                    (&rest[1..=end], &rest[end + 2..])
                }
                _ => {
                    let end = rest
                        .find(|c: char| c.is_ascii_whitespace() || c == '>')
                        .unwrap_or(rest.len());
                    (&rest[..end], &rest[end..])
                }
            };
            rest = after;
            let name = value.trim_start_matches('/');
            let name = name.split(['?', '#']).next().unwrap_or_default();
            let path = dist.join(name);
            if !name.is_empty() && !name.contains("://") && path.is_file() && !files.contains(&path)
            {
                files.push(path);
            }
        }
    }
    if !files
        .iter()
        .any(|f| f.extension().is_some_and(|e| e == "wasm"))
    {
        bail!(
            "{}/index.html names no .wasm file: the bundle figure would leave the app out",
            dist.display()
        );
    }
    Ok(files)
}

pub fn bundle(env: &Env, report: &mut Report) -> Result<()> {
    step("1/6 bundle: the first visit's bytes");
    let mut section = Section::new(
        "1. Bundle",
        "Measured: index.html and every file it names, in the release `dist/` of `trunk build \
         --release`."
            .into(),
    );
    let mut table = String::from("| file | raw | gzip -9 | brotli 11 |\n|---|---|---|---|\n");
    let (mut raw, mut gz, mut br) = (0, 0, 0);
    let mut wasm_file = None;
    for file in first_visit_files(&env.dist)? {
        let bytes = std::fs::read(&file)?;
        let (g, b) = (gzip9(&bytes)?.len(), brotli11(&bytes)?.len());
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
        Budget::at_most(120.0, "≤ 120 KB"),
    );
    section.info("bundle, raw", kb(raw));
    section.info("bundle, brotli 11 (what browsers get)", kb(br));
    section.details = table;
    if let Some(shipped) = wasm_file {
        section.details.push('\n');
        section.details.push_str(&wasm::makeup(&shipped)?);
    }
    report.sections.push(section);
    Ok(())
}
