//! Debian's nginx as the bench runs it, the anchor Portero's gateway is measured against: the
//! app and a tuned `proxy_pass` of the gateway section, the WebSocket proxy of the sockets one.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use anyhow::{Context, Result};

use crate::processes::{free_port, Process};

/// Debian's nginx, if installed.
pub fn binary() -> Option<PathBuf> {
    ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

/// Debian's nginx in the foreground on a free loopback port, every file in its own folder
/// (target/bench/nginx-LABEL/), as e2e's tests run it; stopped (with its workers) when dropped.
pub struct Nginx {
    pub port: u16,
    _process: Process,
}

impl Nginx {
    pub fn start(
        binary: &Path,
        work: &Path,
        label: &str,
        servers: impl FnOnce(u16) -> String,
    ) -> Result<Nginx> {
        let port = free_port()?;
        let dir = work.join(format!("nginx-{label}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join("servers.conf"), servers(port))?;
        // One worker per core, as `auto` does in production; keep-alive connections that the
        // load generator's closed loop never sees closed (nginx closes after 1000 by default).
        let main = format!(
            "daemon off;\nworker_processes auto;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n\
             events {{ worker_connections 1024; }}\n\
             http {{\n  access_log off;\n  keepalive_requests 1000000;\n  \
             client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n  \
             fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  \
             scgi_temp_path {d}/scgi;\n  include {d}/servers.conf;\n}}\n",
            d = dir.display()
        );
        std::fs::write(dir.join("main.conf"), main)?;
        let mut process = Process::spawn(
            &format!("nginx ({label})"),
            Command::new(binary)
                .arg("-p")
                .arg(&dir)
                .arg("-e")
                .arg(dir.join("error.log"))
                .arg("-c")
                .arg(dir.join("main.conf"))
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        )?;
        process
            .wait_listening(port)
            .with_context(|| format!("see {}", dir.join("error.log").display()))?;
        Ok(Nginx {
            port,
            _process: process,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        ([127, 0, 0, 1], self.port).into()
    }
}
