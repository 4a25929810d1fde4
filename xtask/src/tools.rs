//! The toolchain, installed when missing (docs/BENCHMARKS.md and README.md say what each
//! costs): the wasm32 target, trunk and wasm-bindgen-cli from crates.io (into cargo's bin),
//! wasm-opt from npm's `binaryen` (into `.tools/`, since Debian's binaryen produces broken
//! modules) and terser (into `.tools/`, for the release JavaScript). For tests: Debian's
//! packages (Chromium and chromedriver, redis-server, nginx, caddy, python3-venv) with apt-get
//! when run as root, and the tests' npm packages and Python virtualenvs in `.tools/`.

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
}

impl Tools {
    pub fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        cmd.env("PATH", &self.path)
            .env("TRUNK_SKIP_VERSION_CHECK", "true")
            .current_dir(root());
        cmd
    }

    /// `trunk build --release`, with the toolchain as rustup ships it; add `--dist DIR` for
    /// another folder than dist/.
    pub fn trunk_release(&self) -> Command {
        let mut cmd = self.command("trunk");
        cmd.args(["build", "--release", "--skip-version-check"]);
        cmd
    }
}

pub struct Browser {
    pub chromium: PathBuf,
    pub chromedriver: PathBuf,
}

impl Browser {
    /// Where Debian's packages put them (the only Chromium that installs without a download
    /// of its own).
    fn debian() -> Browser {
        Browser {
            chromium: PathBuf::from("/usr/bin/chromium"),
            chromedriver: PathBuf::from("/usr/bin/chromedriver"),
        }
    }
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
    ensure_system_packages(&BUILD_PACKAGES)?;
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

    let mut paths = vec![npm_bin, bin];
    paths.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    Ok(Tools {
        path: std::env::join_paths(paths)?,
    })
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
    if missing(binary, version).is_none() {
        return Ok(());
    }
    npm_install(package)
}

/// `npm install PACKAGE@VERSION` into `.tools/`.
fn npm_install(package: &str) -> Result<()> {
    step(&format!("{package}: installing with npm into .tools/"));
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

/// A Debian package that a task needs, how to tell it is installed, and what needs it (said
/// when it is missing and cannot be installed here).
#[derive(Clone, Copy)]
struct SystemPackage {
    package: &'static str,
    installed: fn() -> bool,
    needed_by: &'static str,
}

/// What `cargo xtask test` needs from the system beside Rust and npm.
const TEST_PACKAGES: [SystemPackage; 6] = [
    SystemPackage {
        package: "chromium",
        installed: || Path::new("/usr/bin/chromium").exists(),
        needed_by: "the wasm tests and the browser tests (e2e/)",
    },
    SystemPackage {
        package: "chromium-driver",
        installed: || Path::new("/usr/bin/chromedriver").exists(),
        needed_by: "the wasm tests and the browser tests (e2e/)",
    },
    SystemPackage {
        package: "redis-server",
        installed: || on_path("redis-server"),
        needed_by:
            "the Redis session store tests (backend/tests/api/sessions_redis.rs, metrics.rs)",
    },
    SystemPackage {
        package: "nginx",
        installed: || Path::new("/usr/sbin/nginx").exists() || Path::new("/usr/bin/nginx").exists(),
        needed_by: "deploy/'s nginx blocks, run by e2e/tests/nginx.rs and apps_behind.rs",
    },
    SystemPackage {
        package: "caddy",
        installed: || Path::new("/usr/bin/caddy").exists(),
        needed_by: "deploy/Caddyfile, run by e2e/tests/caddy.rs",
    },
    SystemPackage {
        package: "python3-venv",
        installed: python_has_venv,
        needed_by: "the Django app of e2e/tests/apps_behind.rs (a virtualenv in .tools/)",
    },
];

/// What every task needs: npm installs wasm-opt and terser (and the tests' npm packages).
const BUILD_PACKAGES: [SystemPackage; 1] = [SystemPackage {
    package: "npm",
    installed: || on_path("npm"),
    needed_by: "wasm-opt and terser (.tools/), which build the SPA",
}];

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

/// `python3 -m venv` makes a virtualenv with pip only when ensurepip is there too (Debian
/// splits both into python3-venv).
fn python_has_venv() -> bool {
    Command::new("python3")
        .args(["-c", "import venv, ensurepip"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// Installs the missing `packages` with apt-get when run as root; otherwise stops, before any
/// build or test, with the one command to run and what needs each package.
fn ensure_system_packages(packages: &[SystemPackage]) -> Result<()> {
    let missing: Vec<&SystemPackage> = packages.iter().filter(|p| !(p.installed)()).collect();
    let names: Vec<&str> = missing.iter().map(|p| p.package).collect();
    for package in packages.iter().filter(|p| !names.contains(&p.package)) {
        step(&format!("{}: present", package.package));
    }
    if missing.is_empty() {
        return Ok(());
    }
    let is_root = unsafe { libc::geteuid() } == 0;
    if !is_root {
        bail!("{}", install_yourself(&missing));
    }
    step(&format!("{}: installing with apt-get", names.join(", ")));
    run(Command::new("apt-get")
        .args(["update", "-qq"])
        .env("DEBIAN_FRONTEND", "noninteractive"))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "-qq"])
        .args(&names)
        .env("DEBIAN_FRONTEND", "noninteractive"))?;
    if let Some(still) = missing.iter().find(|p| !(p.installed)()) {
        bail!(
            "apt-get installed {} but it is still not found",
            still.package
        );
    }
    Ok(())
}

/// What a user who is not root is told: the one command, and what needs each package.
fn install_yourself(missing: &[&SystemPackage]) -> String {
    let names: Vec<&str> = missing.iter().map(|p| p.package).collect();
    let mut text = format!(
        "missing system packages; run this once, then try again:\n\n  sudo apt-get install -y \
         {}\n\nwhat needs them:",
        names.join(" ")
    );
    for package in missing {
        text.push_str(&format!("\n  {}: {}", package.package, package.needed_by));
    }
    text
}

/// The npm packages the browser tests use, in `.tools/node_modules/`.
const TEST_NPM_PACKAGES: [(&str, &str); 2] = [
    // The accessibility audit of every page people see (e2e/src/axe.rs).
    ("axe-core", "4.11.0"),
    // A certified OpenID Provider, a real one to log in at (e2e/tests/oidc_provider.rs).
    ("oidc-provider", "9.13.3"),
];

/// The Python virtualenvs the browser tests use, `.tools/venv-NAME/`, and what goes in each.
const TEST_VENVS: [(&str, &[&str]); 1] = [
    // docs/integrate.md's Django app (e2e/django/portero_app.py).
    ("django", &["django==5.2.*", "pyjwt[crypto]==2.*"]),
];

/// The system packages of `cargo xtask test` (with the build's), checked first: a machine
/// that lacks one and cannot install it stops here, before minutes of building.
pub fn ensure_test_system() -> Result<Browser> {
    ensure_system_packages(&[&BUILD_PACKAGES[..], &TEST_PACKAGES[..]].concat())?;
    Ok(Browser::debian())
}

/// Chromium and chromedriver alone (the bench's first render).
#[cfg(feature = "bench")]
pub fn ensure_browser() -> Result<Browser> {
    ensure_system_packages(&TEST_PACKAGES[..2])?;
    Ok(Browser::debian())
}

/// The tests' npm packages and Python virtualenvs, in `.tools/`, where the tests find them
/// (e2e/src/lib.rs, `tools_dir`).
pub fn ensure_test_packages() -> Result<()> {
    for (package, version) in TEST_NPM_PACKAGES {
        let installed = local_tools()
            .join("node_modules")
            .join(package)
            .join("package.json");
        let present = std::fs::read_to_string(&installed)
            .is_ok_and(|json| json.contains(&format!("\"version\": \"{version}\"")));
        if present {
            step(&format!("{package} {version}: present"));
        } else {
            npm_install(&format!("{package}@{version}"))?;
        }
    }
    for (name, requirements) in TEST_VENVS {
        ensure_venv(name, requirements)?;
    }
    Ok(())
}

/// `.tools/venv-NAME` with `requirements` from PyPI, made again when they change.
fn ensure_venv(name: &str, requirements: &[&str]) -> Result<()> {
    let folder = local_tools().join(format!("venv-{name}"));
    let wanted = requirements.join("\n");
    let stamp = folder.join("portero-requirements.txt");
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str()) {
        step(&format!(
            "Python virtualenv {name} (.tools/venv-{name}): present"
        ));
        return Ok(());
    }
    step(&format!(
        "Python virtualenv {name}: installing {} into .tools/venv-{name}",
        requirements.join(", ")
    ));
    let _ = std::fs::remove_dir_all(&folder);
    run(Command::new("python3").args(["-m", "venv"]).arg(&folder))?;
    run(Command::new(folder.join("bin/python"))
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .args(requirements))?;
    std::fs::write(&stamp, wanted)?;
    Ok(())
}

pub fn random_hex(bytes: usize) -> Result<String> {
    use std::io::Read;
    let mut buf = vec![0u8; bytes];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut buf)?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_who_is_not_root_gets_one_command_and_what_needs_each_package() {
        let missing: Vec<&SystemPackage> = TEST_PACKAGES
            .iter()
            .filter(|p| matches!(p.package, "redis-server" | "nginx"))
            .collect();
        let told = install_yourself(&missing);
        assert!(
            told.contains("\n  sudo apt-get install -y redis-server nginx\n"),
            "{told}"
        );
        assert!(
            told.contains("redis-server: the Redis session store tests"),
            "{told}"
        );
        assert!(told.contains("nginx: deploy/'s nginx blocks"), "{told}");
    }
}
