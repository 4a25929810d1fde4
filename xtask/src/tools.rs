//! The toolchain of ../shared/toolchain.md, installed when missing: the wasm32 target, trunk
//! and wasm-bindgen-cli from crates.io (into cargo's bin), wasm-opt from npm's `binaryen` (into
//! `.tools/`, since Debian's binaryen produces broken modules), and for tests Debian's Chromium
//! and chromedriver.

use std::{
    ffi::OsString,
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use anyhow::{bail, Context, Result};

use crate::{root, run, step};

const TRUNK_VERSION: &str = "0.21.14";
/// Must equal the `wasm-bindgen` pin in frontend/Cargo.toml and `[tools]` in Trunk.toml.
const WASM_BINDGEN_VERSION: &str = "0.2.130";
const BINARYEN_VERSION: &str = "132.0.0";
const WASM_OPT_VERSION: &str = "version_132";

/// The PATH under which trunk finds the pinned wasm-bindgen and wasm-opt.
pub struct Tools {
    path: OsString,
}

impl Tools {
    pub fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        cmd.env("PATH", &self.path)
            .env("TRUNK_SKIP_VERSION_CHECK", "true")
            .current_dir(root());
        cmd
    }
}

pub struct Browser {
    pub chromium: PathBuf,
    pub chromedriver: PathBuf,
}

fn cargo_bin() -> PathBuf {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .unwrap_or_else(|| PathBuf::from(".cargo"))
        .join("bin")
}

fn local_tools() -> PathBuf {
    root().join(".tools")
}

/// The first line `program --version` prints, or None when it cannot run.
fn version_of(program: &Path) -> Option<String> {
    let out = Command::new(program)
        .arg("--version")
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status.success().then(|| {
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()
            .unwrap_or("")
            .to_owned()
    })
}

pub fn ensure_build_tools() -> Result<Tools> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .context("rustup is needed to add the wasm32 target")?;
    if String::from_utf8_lossy(&installed.stdout).contains("wasm32-unknown-unknown") {
        step("wasm32-unknown-unknown target: present");
    } else {
        step("wasm32-unknown-unknown target: installing");
        run(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))?;
    }

    let bin = cargo_bin();
    ensure_cargo_tool(
        &bin.join("trunk"),
        TRUNK_VERSION,
        &["install", "--locked", "trunk", "--version", TRUNK_VERSION],
        "≈ 8 min on 2 cores",
    )?;
    // Without --locked: its lock file wants a webpki-roots the registry lacks (toolchain.md).
    ensure_cargo_tool(
        &bin.join("wasm-bindgen"),
        WASM_BINDGEN_VERSION,
        &[
            "install",
            "wasm-bindgen-cli",
            "--version",
            WASM_BINDGEN_VERSION,
        ],
        "≈ 4 min",
    )?;

    let npm_bin = local_tools().join("node_modules/.bin");
    let wasm_opt = npm_bin.join("wasm-opt");
    if version_of(&wasm_opt).is_some_and(|v| v.contains(WASM_OPT_VERSION)) {
        step(&format!("wasm-opt {WASM_OPT_VERSION}: present"));
    } else {
        step(&format!(
            "wasm-opt: installing npm binaryen@{BINARYEN_VERSION} into .tools/"
        ));
        std::fs::create_dir_all(local_tools())?;
        run(Command::new("npm").args([
            "install",
            "--silent",
            "--no-audit",
            "--no-fund",
            "--prefix",
            local_tools()
                .to_str()
                .context("the repository path is not UTF-8")?,
            &format!("binaryen@{BINARYEN_VERSION}"),
        ]))?;
    }

    let mut paths = vec![npm_bin, bin];
    paths.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    Ok(Tools {
        path: std::env::join_paths(paths)?,
    })
}

fn ensure_cargo_tool(binary: &Path, version: &str, install: &[&str], takes: &str) -> Result<()> {
    let name = binary
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("tool");
    if version_of(binary).is_some_and(|v| v.contains(version)) {
        step(&format!("{name} {version}: present"));
        return Ok(());
    }
    step(&format!(
        "{name} {version}: installing with cargo ({takes})"
    ));
    run(Command::new("cargo").args(install))
}

pub fn ensure_browser() -> Result<Browser> {
    let chromium = PathBuf::from("/usr/bin/chromium");
    let chromedriver = PathBuf::from("/usr/bin/chromedriver");
    if chromium.exists() && chromedriver.exists() {
        step("chromium and chromedriver: present");
    } else {
        // Debian's packages: the only Chromium that installs without a download of its own.
        let is_root = unsafe { libc::geteuid() } == 0;
        if !is_root {
            bail!(
                "Chromium is missing: run `sudo apt-get install -y chromium chromium-driver` \
                 (Debian) and try again"
            );
        }
        step("chromium and chromedriver: installing with apt-get");
        run(Command::new("apt-get").arg("update").arg("-qq"))?;
        run(Command::new("apt-get")
            .args(["install", "-y", "-qq", "chromium", "chromium-driver"])
            .env("DEBIAN_FRONTEND", "noninteractive"))?;
    }
    Ok(Browser {
        chromium,
        chromedriver,
    })
}

pub fn random_hex(bytes: usize) -> Result<String> {
    use std::io::Read;
    let mut buf = vec![0u8; bytes];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut buf)?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}
