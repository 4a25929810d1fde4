//! Debian's Caddy (package `caddy`; `cargo xtask test` installs it) run by a test in the
//! foreground on loopback ports, with the Caddyfile it is given; its state, its autosaved
//! configuration and its log stay in the test's own folder.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

use anyhow::{bail, Context, Result};

use crate::{process::ProcessGroup, wait_for_port};

pub struct Caddy {
    pub port: u16,
    work: PathBuf,
    process: ProcessGroup,
}

fn binary() -> Result<PathBuf> {
    let caddy = Path::new("/usr/bin/caddy");
    if !caddy.exists() {
        bail!("caddy is not installed (Debian package caddy; `cargo xtask test` installs it)");
    }
    Ok(caddy.to_owned())
}

impl Caddy {
    /// Starts caddy with `caddyfile`, whose site listens on 127.0.0.1:`port`, and waits until
    /// it accepts connections there.
    pub async fn start(port: u16, caddyfile: &str) -> Result<Caddy> {
        let work = std::env::temp_dir().join(format!("portero-caddy-{port}"));
        std::fs::create_dir_all(&work)?;
        std::fs::write(work.join("Caddyfile"), caddyfile)?;
        let log = std::fs::File::create(work.join("caddy.log"))?;
        let process = ProcessGroup::spawn(
            Command::new(binary()?)
                .args(["run", "--adapter", "caddyfile", "--config"])
                .arg(work.join("Caddyfile"))
                // Caddy keeps its state under HOME or the XDG folders: the test's own.
                .env("HOME", &work)
                .env("XDG_CONFIG_HOME", work.join("config"))
                .env("XDG_DATA_HOME", work.join("data"))
                .stdout(log.try_clone()?)
                .stderr(log),
        )?;
        let caddy = Caddy {
            port,
            work,
            process,
        };
        let site = SocketAddr::from(([127, 0, 0, 1], port));
        if let Err(e) = wait_for_port(site, Duration::from_secs(10)).await {
            let log = std::fs::read_to_string(caddy.work.join("caddy.log")).unwrap_or_default();
            return Err(e).context(format!("caddy did not start: {log}"));
        }
        Ok(caddy)
    }

    pub fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Caddy {
    fn drop(&mut self) {
        // The group first (the folder holds its state and log), then the folder.
        self.process.stop();
        let _ = std::fs::remove_dir_all(&self.work);
    }
}
