//! Debian's nginx (Debian package `nginx`; `cargo xtask test` installs it) run by a test in the foreground
//! on a loopback port, with a minimal main configuration around the server blocks it is given,
//! every file in the test's own folder.

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::Duration,
};

use anyhow::{bail, Context, Result};

use crate::process::ProcessGroup;

pub struct Nginx {
    pub port: u16,
    work: PathBuf,
    _process: ProcessGroup,
}

fn binary() -> Result<PathBuf> {
    ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .context("nginx is not installed (Debian package nginx; `cargo xtask test` installs it)")
}

/// The repository's `deploy/` folder, where the nginx configurations users copy live.
pub fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy")
}

impl Nginx {
    /// A free loopback port for nginx to listen on.
    pub fn free_port() -> Result<u16> {
        Ok(std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port())
    }

    /// Starts nginx with `servers` (the `server { … }` blocks, listening on `port`) and waits
    /// until it accepts connections.
    pub async fn start(port: u16, servers: &str) -> Result<Nginx> {
        let work = std::env::temp_dir().join(format!("portero-nginx-{port}"));
        std::fs::create_dir_all(&work)?;
        std::fs::write(work.join("servers.conf"), servers)?;
        let main = format!(
            "daemon off;\nworker_processes 1;\npid {w}/nginx.pid;\nerror_log {w}/error.log;\n\
             events {{ worker_connections 64; }}\n\
             http {{\n  include /etc/nginx/mime.types;\n  access_log off;\n\
               client_body_temp_path {w}/body;\n  proxy_temp_path {w}/proxy;\n\
               fastcgi_temp_path {w}/fastcgi;\n  uwsgi_temp_path {w}/uwsgi;\n  scgi_temp_path {w}/scgi;\n\
               include {w}/servers.conf;\n}}\n",
            w = work.display()
        );
        std::fs::write(work.join("main.conf"), main)?;
        let process = ProcessGroup::spawn(
            Command::new(binary()?)
                .arg("-p")
                .arg(&work)
                .arg("-c")
                .arg(work.join("main.conf"))
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        )?;
        let nginx = Nginx {
            port,
            work,
            _process: process,
        };
        for _ in 0..50 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(nginx);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!(
            "nginx did not start: {}",
            std::fs::read_to_string(nginx.work.join("error.log")).unwrap_or_default()
        )
    }

    pub fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // The group first (the folder holds its pid and logs), then the folder.
        self._process.stop();
        let _ = std::fs::remove_dir_all(&self.work);
    }
}
