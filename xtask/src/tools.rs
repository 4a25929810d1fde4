//! The toolchain of ../shared/toolchain.md, installed when missing: the wasm32 target and the
//! standard library's source (rust-src, for the release SPA's own build of std), trunk and
//! wasm-bindgen-cli from crates.io (into cargo's bin), wasm-opt from npm's `binaryen` (into
//! `.tools/`, since Debian's binaryen produces broken modules) and terser (into `.tools/`, for
//! the release JavaScript), and for tests Debian's Chromium
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
/// Minifies the release JavaScript (frontend/minify-js.mjs).
const TERSER_VERSION: &str = "5.51.4";

/// The PATH under which trunk finds the pinned wasm-bindgen and wasm-opt.
pub struct Tools {
    path: OsString,
    /// The release SPA builds its own std with the `immediate-abort` panic strategy (rust-src
    /// is installed and the compiler takes the flag): ≈ 16 KB less gzipped wasm.
    build_std: bool,
}

/// The release SPA's std, built from rust-src with `-Cpanic=immediate-abort`: a panic traps at
/// once, so no panic message, location or formatting code ships (docs/BENCHMARKS.md, "The
/// bundle"). `-Zbuild-std` and `-Z` flags are unstable: RUSTC_BOOTSTRAP lets the stable
/// toolchain take them (shared/toolchain.md). The flags apply to the wasm target only, never
/// to build scripts or proc macros, and only to `trunk build --release` (not `trunk serve`).
const BUILD_STD_ENV: [(&str, &str); 3] = [
    ("RUSTC_BOOTSTRAP", "1"),
    ("CARGO_UNSTABLE_BUILD_STD", "std,panic_abort"),
    (
        "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS",
        "-Zunstable-options -Cpanic=immediate-abort",
    ),
];

impl Tools {
    pub fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        cmd.env("PATH", &self.path)
            .env("TRUNK_SKIP_VERSION_CHECK", "true")
            .current_dir(root());
        cmd
    }

    /// `trunk build --release`, with the SPA's own std when this machine can build it; add
    /// `--dist DIR` for another folder than dist/.
    pub fn trunk_release(&self) -> Command {
        let mut cmd = self.command("trunk");
        cmd.args(["build", "--release", "--skip-version-check"]);
        if self.build_std {
            cmd.envs(BUILD_STD_ENV);
        }
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
    ensure_npm_tool(
        &npm_bin.join("wasm-opt"),
        WASM_OPT_VERSION,
        &format!("binaryen@{BINARYEN_VERSION}"),
    )?;
    // For frontend/minify-js.mjs, trunk's post_build hook (Trunk.toml).
    ensure_npm_tool(
        &npm_bin.join("terser"),
        TERSER_VERSION,
        &format!("terser@{TERSER_VERSION}"),
    )?;

    let build_std = ensure_build_std();

    let mut paths = vec![npm_bin, bin];
    paths.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    Ok(Tools {
        path: std::env::join_paths(paths)?,
        build_std,
    })
}

/// rust-src for the release SPA's own std, added when missing (2 s), and a check that this
/// compiler takes `-Cpanic=immediate-abort` (a panic strategy in current Rust; older compilers
/// had a std feature `panic_immediate_abort` instead, shared/toolchain.md). Without either, the
/// release SPA builds with the prebuilt std as before, and ships ≈ 16 KB more gzipped wasm.
fn ensure_build_std() -> bool {
    let installed = Command::new("rustup")
        .args(["component", "list", "--installed"])
        .output()
        .map(|out| {
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .any(|l| l.starts_with("rust-src"))
        })
        .unwrap_or(false);
    if installed {
        step("rust-src (the release SPA's own std): present");
    } else {
        step("rust-src (the release SPA's own std): installing");
        if let Err(e) = run(Command::new("rustup").args(["component", "add", "rust-src"])) {
            step(&format!(
                "rust-src could not be installed ({e:#}): the release SPA uses the prebuilt                  std (a larger bundle)"
            ));
            return false;
        }
    }
    let takes_flag = Command::new("rustc")
        .args([
            "-Zunstable-options",
            "-Cpanic=immediate-abort",
            "--target",
            "wasm32-unknown-unknown",
            "--print",
            "cfg",
        ])
        .env("RUSTC_BOOTSTRAP", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !takes_flag {
        step(
            "this rustc has no -Cpanic=immediate-abort: the release SPA uses the prebuilt std \
             (a larger bundle)",
        );
    }
    takes_flag
}

/// `binary`'s name when it does not report `version` yet (to be installed); `None`, said so,
/// when it does.
fn missing(binary: &Path, version: &str) -> Option<String> {
    let name = binary
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("tool");
    if version_of(binary).is_some_and(|v| v.contains(version)) {
        step(&format!("{name} {version}: present"));
        return None;
    }
    Some(name.to_owned())
}

/// `package` (name@version) from npm into `.tools/`, unless `binary` already reports `version`.
fn ensure_npm_tool(binary: &Path, version: &str, package: &str) -> Result<()> {
    let Some(name) = missing(binary, version) else {
        return Ok(());
    };
    step(&format!("{name}: installing npm {package} into .tools/"));
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
        package,
    ]))
}

fn ensure_cargo_tool(binary: &Path, version: &str, install: &[&str], takes: &str) -> Result<()> {
    let Some(name) = missing(binary, version) else {
        return Ok(());
    };
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
