//! `cargo xtask dev | test | dist | bench`. Each first installs what is missing (idempotently, one line
//! per step), from the registries only: trunk and wasm-bindgen never download from GitHub.

#[cfg(feature = "bench")]
mod bench;
mod fuzz;
mod processes;
mod tools;

use std::{
    path::{Path, PathBuf},
    process::{Command, ExitCode},
    time::Duration,
};

use anyhow::{bail, Context, Result};
use processes::Supervisor;

const USAGE: &str = "usage: cargo xtask <task>

  dev    start the local provider emulator, the backend and trunk serve; open the printed URL
  test   fmt check, clippy, unit and integration tests, wasm tests in headless Chromium, and
         the browser tests against the built SPA and the example app (examples/leptos-app)
  dist   build the release SPA (dist/) and the release backend (target/release/portero)
  fuzz [target] [seconds]
         run the cargo-fuzz targets of fuzz/ (return_to, config), 60 s each by default
";

fn main() -> ExitCode {
    let task = std::env::args().nth(1);
    let result = match task.as_deref() {
        Some("dev") => dev(),
        Some("test") => test(),
        Some("dist") => dist(),
        Some("fuzz") => fuzz::fuzz(&std::env::args().skip(2).collect::<Vec<_>>()),
        Some("bench") => bench(&std::env::args().skip(2).collect::<Vec<_>>()),
        Some("-h" | "--help") | None => {
            println!("{USAGE}{BENCH_USAGE}");
            return ExitCode::SUCCESS;
        }
        Some(other) => {
            eprintln!("xtask: unknown task {other:?}\n{USAGE}{BENCH_USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Also in builds without the bench's crates, which hand `bench` over (below).
const BENCH_USAGE: &str = "  bench [--seconds N] [--only SECTION,...]
         measure against the performance budgets and write docs/BENCHMARKS.md (sections:
         bundle, render, throughput, logins, footprint, micro, gateway, sockets; with --only,
         print only; newcomer, a cold build of minutes, runs only when named in --only, and
         the other runs report its last figure)";

#[cfg(feature = "bench")]
fn bench(args: &[String]) -> Result<()> {
    bench::bench(args)
}

/// The bench needs crates the other tasks do not (Cargo.toml, feature `bench`): xtask built
/// without them hands over to itself built with them.
#[cfg(not(feature = "bench"))]
fn bench(args: &[String]) -> Result<()> {
    use std::os::unix::process::CommandExt;
    let error = cargo()
        .args([
            "run",
            "--quiet",
            "-p",
            "xtask",
            "--features",
            "bench",
            "--",
            "bench",
        ])
        .args(args)
        .current_dir(root())
        .exec();
    Err(error).context("cannot run cargo for `cargo xtask bench`")
}

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

pub fn step(message: &str) {
    println!("xtask: {message}");
}

/// Runs a command to completion in the repository root, failing with its name.
pub fn run(cmd: &mut Command) -> Result<()> {
    let shown = format!("{cmd:?}");
    let status = cmd
        .current_dir(root())
        .status()
        .with_context(|| format!("cannot start {shown}"))?;
    if !status.success() {
        bail!("{shown} failed ({status})");
    }
    Ok(())
}

fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    // `cargo run` hands xtask its own package's variables (CARGO_PKG_NAME, CARGO_MANIFEST_DIR…).
    // Build scripts that watch them (ring's) would rerun, and all that depends on them rebuild,
    // each time a developer alternates between a plain `cargo build` and `cargo xtask`.
    for (key, _) in std::env::vars_os() {
        let Some(key) = key.to_str() else { continue };
        if key.starts_with("CARGO_PKG_")
            || key.starts_with("CARGO_MANIFEST_")
            || matches!(
                key,
                "CARGO_CRATE_NAME" | "CARGO_BIN_NAME" | "CARGO_PRIMARY_PACKAGE"
            )
        {
            cmd.env_remove(key);
        }
    }
    cmd
}

const BACKEND_PORT: u16 = 3000;
const SPA_ORIGIN: &str = "http://127.0.0.1:8080";
/// `trunk serve`'s cargo target directory (see `dev`).
const DEV_SPA_TARGET: &str = "target/trunk-serve";
/// The example app of docs/leptos.md, and where `cargo xtask test` builds it.
const EXAMPLE: &str = "examples/leptos-app";
const EXAMPLE_DIST: &str = "target/leptos-app-dist";
/// Where config/dev.toml's `[upstreams.demo]` points.
const DEMO_APP: &str = "127.0.0.1:3903";

/// One devprovider process per dialect, matching the providers of config/dev.toml.
struct Emulated {
    name: &'static str,
    provider: &'static str,
    dialect: &'static str,
    client_id: &'static str,
    port: u16,
    /// A page that answers once the process is up.
    ready_path: &'static str,
    /// A committed devprovider file to run, whose client proves itself with a key Portero
    /// holds (`private_key_jwt`) instead of a secret made up here.
    committed: Option<&'static str>,
}

const EMULATED: [Emulated; 4] = [
    Emulated {
        name: "devprovider",
        provider: "dev",
        dialect: "standard",
        client_id: "portero-dev",
        port: 3900,
        ready_path: "/.well-known/openid-configuration",
        committed: None,
    },
    Emulated {
        name: "devprovider (github)",
        provider: "github",
        dialect: "github",
        client_id: "portero-dev-github",
        port: 3901,
        ready_path: "/avatars/ada.svg",
        committed: None,
    },
    Emulated {
        name: "devprovider (intra42)",
        provider: "intra42",
        dialect: "intra42",
        client_id: "portero-dev-intra42",
        port: 3902,
        ready_path: "/avatars/ada.svg",
        committed: None,
    },
    // PAR, private_key_jwt and DPoP, as devprovider/config/strict-idp.toml sets them up.
    Emulated {
        name: "devprovider (Strict IdP)",
        provider: "strict",
        dialect: "standard",
        client_id: "portero-dev-strict",
        port: 3904,
        ready_path: "/.well-known/openid-configuration",
        committed: Some("devprovider/config/strict-idp.toml"),
    },
];

fn dev() -> Result<()> {
    let tools = tools::ensure_build_tools()?;
    let mut supervisor = Supervisor::new()?;
    // The SPA first, so that its wasm build runs beside the backend's build instead of after
    // it. Cargo locks a target directory for the whole of a build, so trunk gets one of its
    // own: the two builds share only a few small build-time crates anyway (different features).
    step("starting trunk serve: it builds the SPA beside the backend (a minute or two at first)");
    supervisor.spawn(
        "trunk",
        tools
            .command("trunk")
            .args(["serve", "--skip-version-check"])
            .env("CARGO_TARGET_DIR", root().join(DEV_SPA_TARGET)),
    )?;
    step("building the backend, the provider emulator and the demo app");
    // One cargo invocation: the three share most of their dependencies. Packages only, no
    // target flag: `--example` would build that example instead of the binaries, not besides.
    run(cargo().args([
        "build",
        "--quiet",
        "-p",
        "portero",
        "-p",
        "devprovider",
        "-p",
        "demo-upstream",
    ]))?;

    let work = root().join("target/xtask-dev");
    std::fs::create_dir_all(&work)?;
    let bin = root().join("target/debug");
    let mut backend = Command::new(bin.join("portero"));
    backend.args(["--config", "config/dev.toml"]);
    for emulated in EMULATED {
        let config = match emulated.committed {
            Some(file) => strict_idp(&work, &bin, file)?,
            None => secret_client(&work, &emulated, &mut backend)?,
        };
        step(&format!(
            "starting {} on http://127.0.0.1:{}",
            emulated.name, emulated.port
        ));
        supervisor.spawn(
            emulated.name,
            Command::new(bin.join("devprovider"))
                .arg("--config")
                .arg(&config),
        )?;
        supervisor.wait_until(
            emulated.name,
            &format!("http://127.0.0.1:{}{}", emulated.port, emulated.ready_path),
            Duration::from_secs(30),
        )?;
    }

    step(&format!(
        "starting the backend on http://127.0.0.1:{BACKEND_PORT}"
    ));
    supervisor.spawn("portero", &mut backend)?;
    supervisor.wait_until(
        "portero",
        &format!("http://127.0.0.1:{BACKEND_PORT}/healthz"),
        Duration::from_secs(30),
    )?;

    // config/dev.toml's [upstreams.demo]: what the profile page shows as "What your app sees".
    step(&format!("starting the demo app on http://{DEMO_APP}"));
    supervisor.spawn(
        "demo app",
        Command::new(bin.join("demo_upstream")).args([
            DEMO_APP,
            &format!("http://127.0.0.1:{BACKEND_PORT}"),
            SPA_ORIGIN,
        ]),
    )?;

    step("waiting for trunk serve's first build of the SPA");
    supervisor.wait_until("trunk", SPA_ORIGIN, Duration::from_secs(15 * 60))?;
    println!(
        "\n  Portero is running: open {SPA_ORIGIN}\n  (log in with a demo user of any of the \
         four emulated providers; Ctrl-C stops everything)\n"
    );
    supervisor.wait_for_stop()
}

/// A devprovider file for `emulated` with a client secret made up afresh (the repository holds
/// no secret, not even a demo one), handed to the backend in `PORTERO_PROVIDERS__{ID}__CLIENT_SECRET`.
fn secret_client(work: &Path, emulated: &Emulated, backend: &mut Command) -> Result<PathBuf> {
    let secret = tools::random_hex(24)?;
    let config = work.join(format!("devprovider-{}.toml", emulated.provider));
    let mut client = format!(
        "bind = \"127.0.0.1:{}\"\ndialect = \"{}\"\n\n[[clients]]\nid = \"{}\"\n\
         secret = \"{secret}\"\nredirect_uris = [\"{SPA_ORIGIN}/callback/{}\"]\n",
        emulated.port, emulated.dialect, emulated.client_id, emulated.provider,
    );
    // Only OpenID providers log out over the back channel: "Log out" on devprovider's
    // page then ends the Portero sessions that login made.
    if emulated.dialect == "standard" {
        client.push_str(&format!(
            "backchannel_logout_uri = \"http://127.0.0.1:{BACKEND_PORT}/api/backchannel-logout/{}\"\n",
            emulated.provider
        ));
    }
    std::fs::write(&config, client)?;
    backend.env(
        format!(
            "PORTERO_PROVIDERS__{}__CLIENT_SECRET",
            emulated.provider.to_uppercase()
        ),
        &secret,
    );
    Ok(config)
}

/// The committed Strict IdP file, copied into `work` beside the public half of a client key
/// made afresh for this run (`portero --new-client-key`, into `work`, never committed), which
/// config/dev.toml gives Portero as `client_key_file`.
fn strict_idp(work: &Path, bin: &Path, committed: &str) -> Result<PathBuf> {
    let key = work.join("strict-client.pem");
    let _ = std::fs::remove_file(&key);
    let made = Command::new(bin.join("portero"))
        .arg("--new-client-key")
        .arg(&key)
        .output()
        .context("cannot run portero --new-client-key")?;
    if !made.status.success() {
        bail!(
            "portero --new-client-key failed: {}",
            String::from_utf8_lossy(&made.stderr)
        );
    }
    std::fs::write(work.join("strict-client.jwks.json"), &made.stdout)?;
    let config = work.join("strict-idp.toml");
    std::fs::copy(root().join(committed), &config)?;
    Ok(config)
}

fn test() -> Result<()> {
    let browser = tools::ensure_test_system()?;
    let tools = tools::ensure_build_tools()?;
    tools::ensure_test_packages()?;

    step("cargo fmt --check");
    run(cargo().args(["fmt", "--all", "--", "--check"]))?;
    step("cargo clippy -D warnings");
    run(cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--features",
        "xtask/bench,portero-leptos/spa",
        "--",
        "-D",
        "warnings",
    ]))?;
    step("unit and integration tests");
    run(cargo().args([
        "test",
        "--workspace",
        "--features",
        "xtask/bench",
        "--exclude",
        "e2e",
        // WebAssembly in the browser (below), not on this machine.
        "--exclude",
        "portero-leptos",
        "--exclude",
        "bench-anchor",
    ]))?;

    // Chromium leaves tens of MB per run in TMPDIR: give it a folder removed afterwards.
    let tmp = root().join("target/xtask-tmp");
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp)?;
    let result = browser_tests(&tools, &browser, &tmp);
    let _ = std::fs::remove_dir_all(&tmp);
    result
}

fn browser_tests(tools: &tools::Tools, browser: &tools::Browser, tmp: &Path) -> Result<()> {
    step("wasm tests in headless Chromium");
    run(tools
        .command("cargo")
        .args([
            "test",
            "-p",
            "portero-leptos",
            "--features",
            "spa",
            "--target",
            "wasm32-unknown-unknown",
        ])
        .env("CHROMEDRIVER", &browser.chromedriver)
        .env("TMPDIR", tmp))?;

    build_spa(tools)?;
    // A Leptos app of one's own on portero-leptos (docs/leptos.md), as its author builds it.
    let example = root().join(EXAMPLE_DIST);
    step(&format!(
        "trunk build --release {EXAMPLE} ({EXAMPLE_DIST}/)"
    ));
    run(tools
        .trunk_release()
        .arg("--config")
        .arg(EXAMPLE)
        .arg("--dist")
        .arg(&example))?;
    step("browser tests (e2e/)");
    run(cargo()
        .args(["test", "-p", "e2e", "--", "--test-threads=1"])
        .env("PORTERO_E2E_DIST", root().join("dist"))
        .env("PORTERO_E2E_LEPTOS_APP_DIST", &example)
        .env("CHROMEDRIVER", &browser.chromedriver)
        .env("CHROMIUM", &browser.chromium)
        .env("TMPDIR", tmp))
}

fn build_spa(tools: &tools::Tools) -> Result<()> {
    step("trunk build --release (dist/)");
    run(&mut tools.trunk_release())?;
    if !root().join("dist/index.html").exists() {
        bail!("trunk build finished without dist/index.html");
    }
    precompress(&root().join("dist"))
}

/// `.br` and `.gz` siblings of every text and wasm file in dist/, made once at build time so
/// the backend (and nginx's `gzip_static`) serve them without compressing per request.
fn precompress(dist: &Path) -> Result<()> {
    let mut raw = 0;
    let mut gz = 0;
    for entry in std::fs::read_dir(dist)? {
        let path = entry?.path();
        let compressible = matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("html" | "js" | "css" | "wasm" | "svg" | "json")
        );
        if !compressible {
            continue;
        }
        let bytes = std::fs::read(&path)?;
        let gzip = gzip9(&bytes)?;
        raw += bytes.len();
        gz += gzip.len();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        std::fs::write(path.with_file_name(format!("{name}.gz")), gzip)?;
        std::fs::write(path.with_file_name(format!("{name}.br")), brotli11(&bytes)?)?;
    }
    step(&format!(
        "dist/: {} KB raw, {} KB gzip -9 (precompressed .gz and .br written)",
        raw / 1024,
        gz / 1024
    ));
    Ok(())
}

/// gzip at its best compression, as `.gz` ships and as the bundle budget counts.
fn gzip9(bytes: &[u8]) -> Result<Vec<u8>> {
    use std::io::Write;
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gzip.write_all(bytes)?;
    Ok(gzip.finish()?)
}

/// Brotli at quality 11, as `.br` ships.
fn brotli11(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    brotli::BrotliCompress(
        &mut &bytes[..],
        &mut out,
        &brotli::enc::BrotliEncoderParams {
            quality: 11,
            ..Default::default()
        },
    )?;
    Ok(out)
}

fn dist() -> Result<()> {
    let tools = tools::ensure_build_tools()?;
    build_spa(&tools)?;
    step("cargo build --release -p portero");
    run(cargo().args(["build", "--release", "-p", "portero"]))?;
    step("done: serve dist/ with target/release/portero (server.static_dir = \"dist\")");
    Ok(())
}
