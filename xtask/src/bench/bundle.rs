//! Section 1, the bundle: the bytes a first visit downloads from the release build of Portero's
//! SPA, raw, gzip -9 (the budget's measure) and brotli 11 (what browsers get), file by file;
//! the same for the anchor, the smallest honest Leptos app on the same packages
//! (xtask/bench-anchor), built in the same run with the same release settings; the difference,
//! which is the budget; then what Portero's wasm holds.

use std::{
    fmt::Write as _,
    path::{Path, PathBuf},
};

use anyhow::{bail, Result};

use super::{
    report::{kb, Budget, Report, Section},
    wasm, Env,
};
use crate::{brotli11, gzip9, root, run, step, tools};

/// The anchor app's folder: its own index.html and Trunk.toml.
pub const ANCHOR: &str = "xtask/bench-anchor";

/// `trunk build --release` into `dist`, with the precompressed siblings the backend serves.
pub fn build_spa_into(tools: &tools::Tools, dist: &Path) -> Result<()> {
    step(&format!("trunk build --release --dist {}", dist.display()));
    run(tools.trunk_release().arg("--dist").arg(dist))?;
    if !dist.join("index.html").exists() {
        bail!("trunk build finished without {}/index.html", dist.display());
    }
    crate::precompress(dist)
}

/// The anchor's `trunk build --release` into `dist`: its own Trunk.toml, the workspace's
/// `wasm-release` profile, the same wasm-opt and terser as Portero's SPA.
pub fn build_anchor_into(tools: &tools::Tools, dist: &Path) -> Result<()> {
    step(&format!(
        "trunk build --release --dist {} (the anchor, {ANCHOR})",
        dist.display()
    ));
    run(tools
        .trunk_release()
        .arg("--config")
        .arg(root().join(ANCHOR))
        .arg("--dist")
        .arg(dist))?;
    if !dist.join("index.html").exists() {
        bail!("trunk build finished without {}/index.html", dist.display());
    }
    Ok(())
}

/// index.html and every file of `dist` it names (boot.js names the JS and the wasm through
/// `data-js` and `data-wasm` on its own tag; trunk's inline loader names them in an `import`
/// and `module_or_path`, and in the preload links), in the order a browser asks for them. The
/// release index.html is minified, so attribute values may come without quotes.
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

/// The first visit of one build.
struct Visit {
    raw: usize,
    gzip: usize,
    brotli: usize,
    /// The Markdown table, file by file.
    table: String,
    wasm: Option<PathBuf>,
}

fn first_visit(dist: &Path) -> Result<Visit> {
    let mut table = String::from("| file | raw | gzip -9 | brotli 11 |\n|---|---|---|---|\n");
    let mut visit = Visit {
        raw: 0,
        gzip: 0,
        brotli: 0,
        table: String::new(),
        wasm: None,
    };
    for file in first_visit_files(dist)? {
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
            visit.wasm = Some(file.clone());
        }
        visit.raw += bytes.len();
        visit.gzip += g;
        visit.brotli += b;
    }
    let _ = writeln!(
        table,
        "| **total** | {} | {} | {} |",
        kb(visit.raw),
        kb(visit.gzip),
        kb(visit.brotli)
    );
    visit.table = table;
    Ok(visit)
}

/// The budget: Portero's first visit at most this much above the anchor's, gzip -9, in KB.
const ABOVE_ANCHOR_KB: f64 = 40.0;

pub fn bundle(env: &Env, report: &mut Report) -> Result<()> {
    step("1/6 bundle: the first visit's bytes, Portero's SPA and the anchor");
    let mut section = Section::new(
        "1. Bundle",
        format!(
            "Measured: index.html and every file it names, in the release `dist/` of `trunk \
             build --release`, for Portero's SPA and for the anchor ({ANCHOR}: one \
             leptos_router route with a parameter, one gloo-net call read by serde), built in \
             this run with the same settings."
        ),
    );
    let portero = first_visit(&env.dist)?;
    let anchor = first_visit(&env.anchor_dist)?;
    let above = portero.gzip as f64 - anchor.gzip as f64;
    section.budgeted(
        "bundle above the anchor, gzip -9",
        above / 1024.0,
        format!("{:+.1} KB", above / 1024.0),
        Budget::at_most(ABOVE_ANCHOR_KB, "≤ 40 KB"),
    );
    section.info("bundle, gzip -9", kb(portero.gzip));
    section.info("anchor, gzip -9", kb(anchor.gzip));
    section.info("bundle, raw", kb(portero.raw));
    section.info("bundle, brotli 11 (what browsers get)", kb(portero.brotli));
    section.info("anchor, brotli 11", kb(anchor.brotli));
    section.details = format!(
        "Portero's SPA:\n\n{}\nThe anchor:\n\n{}",
        portero.table, anchor.table
    );
    if let Some(shipped) = portero.wasm {
        section.details.push('\n');
        section.details.push_str(&wasm::makeup(&shipped)?);
    }
    report.sections.push(section);
    Ok(())
}
