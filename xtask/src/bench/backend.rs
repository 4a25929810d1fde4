//! The release backend as a process of its own (so its CPU time and memory are its own), next
//! to a devprovider in this process that has the backend's callback URL registered.

use std::{
    net::SocketAddr,
    path::Path,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context, Result};

use super::Env;
use crate::{
    processes::{free_port, http_ok, Process},
    tools,
};

pub const PROVIDER: &str = "dev";
const CLIENT_ID: &str = "portero-bench";

pub struct Backend {
    process: Process,
    /// Just before the exec: start-up time counts from here.
    spawned_at: Instant,
    pub addr: SocketAddr,
    pub origin: String,
    label: String,
    _provider: devprovider::DevProvider,
}

pub struct Spec<'a> {
    /// Names its config and log files, target/bench/portero-LABEL.{toml,log}.
    pub label: &'a str,
    pub store: &'a str,
    pub static_dir: Option<&'a Path>,
    /// Lines added to the config's `[server]` table (its limits).
    pub server: &'a str,
    /// TOML tables after the config's own (the gateway's upstream).
    pub extra: &'a str,
}

impl<'a> Spec<'a> {
    /// A backend with `store` and nothing else of its own.
    pub fn new(label: &'a str, store: &'a str) -> Spec<'a> {
        Spec {
            label,
            store,
            static_dir: None,
            server: "",
            extra: "",
        }
    }
}

impl Backend {
    /// Writes the config and starts the process; returns at once (see `wait_ready`).
    pub async fn spawn(env: &Env, spec: &Spec<'_>) -> Result<Backend> {
        let Spec { server, extra, .. } = spec;
        let addr: SocketAddr = ([127, 0, 0, 1], free_port()?).into();
        let origin = format!("http://{addr}");
        let secret = tools::random_hex(24)?;
        let provider = devprovider::DevProvider::start(devprovider::Config {
            clients: vec![devprovider::Client::new(
                CLIENT_ID,
                secret.clone(),
                format!("{origin}/callback/{PROVIDER}"),
            )],
            ..Default::default()
        })
        .await?;
        let static_dir = spec
            .static_dir
            .map(|d| format!("static_dir = {:?}\n", d.display().to_string()))
            .unwrap_or_default();
        let config = env.work.join(format!("portero-{}.toml", spec.label));
        std::fs::write(
            &config,
            format!(
                "[server]\nbind = \"{addr}\"\npublic_origin = \"{origin}\"\n{static_dir}\
                 # The bench logs in from one address far faster than any person.\n\
                 rate_limit_per_minute = 0\n{server}\n[session]\nstore = \"{}\"\nsecret_key = \"{}\"\n\
                 # And has more logins under way at once (the footprint's 10,000).\n\
                 max_pending_logins_per_address = 20000\nmax_pending_logins = 20000\n\n\
                 [providers.{PROVIDER}]\nkind = \"oidc\"\nname = \"Portero Dev\"\nissuer = \"{}\"\n\
                 client_id = \"{CLIENT_ID}\"\nclient_secret = \"{secret}\"\n{extra}",
                spec.store,
                random_key()?,
                provider.issuer(),
            ),
        )?;
        let log = std::fs::File::create(env.work.join(format!("portero-{}.log", spec.label)))?;
        let spawned_at = Instant::now();
        let process = Process::spawn(
            &format!("the backend ({})", spec.label),
            Command::new(&env.portero)
                .arg("--config")
                .arg(&config)
                .current_dir(&env.work)
                // Per-request log lines are formatted as in production, then dropped.
                .stdout(Stdio::null())
                .stderr(log),
        )?;
        Ok(Backend {
            process,
            spawned_at,
            addr,
            origin,
            label: spec.label.to_owned(),
            _provider: provider,
        })
    }

    pub async fn start(env: &Env, spec: &Spec<'_>) -> Result<Backend> {
        let mut backend = Backend::spawn(env, spec).await?;
        backend.wait_ready()?;
        Ok(backend)
    }

    /// Polls `/healthz` every millisecond; the time from the exec to its first answer.
    pub fn wait_ready(&mut self) -> Result<Duration> {
        let url = format!("{}/healthz", self.origin);
        self.process
            .wait_until(
                "did not answer /healthz",
                Duration::from_secs(20),
                Duration::from_millis(1),
                || http_ok(&url),
            )
            .with_context(|| format!("see target/bench/portero-{}.log", self.label))?;
        Ok(self.spawned_at.elapsed())
    }

    pub fn cpu_seconds(&self) -> Result<f64> {
        self.process.cpu_seconds()
    }

    pub fn rss_kib(&self) -> Result<u64> {
        self.process.rss_kib()
    }
}

/// The backend's `session.secret_key`: 32 random bytes, base64.
fn random_key() -> Result<String> {
    use base64::Engine;
    use std::io::Read;
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
}
