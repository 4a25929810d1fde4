//! The harness of the browser tests: the real backend (serving the built `dist/`, as in a
//! one-origin deployment) and devprovider, both on random loopback ports, and a headless
//! Chromium driven over WebDriver by Debian's chromedriver.
//!
//! `cargo xtask test` builds `dist/` and sets `PORTERO_E2E_DIST`, `CHROMEDRIVER` and `TMPDIR`.

use std::{
    net::{SocketAddr, TcpListener as StdListener},
    path::PathBuf,
    time::Duration,
};

use anyhow::{bail, Context, Result};
use devprovider::DevProvider;
use portero::{config::Config, startup::Application};
use tokio::sync::oneshot;

pub mod axe;
mod browser;
pub mod caddy;
pub mod nginx;
pub mod process;
pub mod recording_app;

pub use browser::Browser;

pub const PROVIDER: &str = "dev";

/// The repository's `.tools/`, where `cargo xtask test` installs what the tests use besides
/// the system's packages: npm packages and Python virtualenvs.
pub fn tools_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.tools")
}

/// The `python` of the virtualenv `.tools/venv-NAME` (xtask/src/tools.rs lists what is in it).
pub fn python_venv(name: &str) -> Result<PathBuf> {
    let python = tools_dir().join(format!("venv-{name}/bin/python"));
    if !python.exists() {
        bail!(
            "{} is missing: `cargo xtask test` makes it (xtask/src/tools.rs, TEST_VENVS)",
            python.display()
        );
    }
    Ok(python)
}

/// Waits until something answers TCP connections on `addr`, up to `limit`.
pub async fn wait_for_port(addr: SocketAddr, limit: Duration) -> Result<()> {
    let started = std::time::Instant::now();
    while tokio::net::TcpStream::connect(addr).await.is_err() {
        if started.elapsed() > limit {
            bail!("nothing answered on {addr} within {limit:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

/// A free port on 127.0.0.1.
pub fn free_port() -> Result<u16> {
    Ok(StdListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// The folder of the npm package `package` in `.tools/node_modules/` (xtask/src/tools.rs
/// lists them, with their versions).
pub fn npm_package(package: &str) -> Result<PathBuf> {
    let installed = tools_dir().join("node_modules").join(package);
    if !installed.join("package.json").exists() {
        bail!(
            "{} is missing: `cargo xtask test` installs it (xtask/src/tools.rs, \
             TEST_NPM_PACKAGES)",
            installed.display()
        );
    }
    Ok(installed)
}

const CLIENT_ID: &str = "portero-e2e";
const EMULATED_SECRET: &str = "e2e-emulated-secret";

/// The stack of `cargo xtask dev`: Portero Dev, plus GitHub and 42 Intra emulated by
/// devprovider's dialects (kept running as long as the returned emulators live).
pub struct DevLikeStack {
    pub stack: Stack,
    pub github: DevProvider,
    pub intra42: DevProvider,
}

impl DevLikeStack {
    pub async fn start() -> Result<DevLikeStack> {
        DevLikeStack::start_on(Stack::bind().await?, "").await
    }

    /// The same on a stack of one's own (another app's `dist/`, or one behind a proxy:
    /// [`Stack::bind_with_origin`]), with `extra` TOML
    /// appended to the configuration (upstreams…).
    pub async fn start_on(builder: StackBuilder, extra: &str) -> Result<DevLikeStack> {
        let github = emulator(devprovider::Dialect::Github, &builder.origin, "github").await?;
        let intra42 = emulator(devprovider::Dialect::Intra42, &builder.origin, "intra42").await?;
        let (gh, ft) = (github.base_url(), intra42.base_url());
        let stack = builder
            .start(&format!(
                r#"
                [providers.github]
                kind = "github"
                name = "GitHub (emulated)"
                client_id = "portero-github"
                client_secret = "{EMULATED_SECRET}"
                authorize_url = "{gh}/login/oauth/authorize"
                token_url = "{gh}/login/oauth/access_token"
                userinfo_url = "{gh}/user"
                issuer = "{gh}/login/oauth"

                [providers.intra42]
                kind = "intra42"
                name = "42 Intra (emulated)"
                client_id = "portero-intra42"
                client_secret = "{EMULATED_SECRET}"
                authorize_url = "{ft}/oauth/authorize"
                token_url = "{ft}/oauth/token"
                userinfo_url = "{ft}/v2/me"

                {extra}
                "#
            ))
            .await?;
        Ok(DevLikeStack {
            stack,
            github,
            intra42,
        })
    }
}

async fn emulator(
    dialect: devprovider::Dialect,
    origin: &str,
    provider: &str,
) -> Result<DevProvider> {
    DevProvider::start(devprovider::Config {
        clients: vec![devprovider::Client::new(
            format!("portero-{provider}"),
            EMULATED_SECRET,
            format!("{origin}/callback/{provider}"),
        )],
        ..devprovider::Config::for_dialect(dialect)
    })
    .await
}

pub struct Stack {
    pub origin: String,
    /// `None` once [`Stack::stop_provider`] has run.
    provider: Option<DevProvider>,
    provider_config: devprovider::Config,
    provider_addr: SocketAddr,
    _stop: oneshot::Sender<()>,
}

/// A bound but not yet started stack: its origin is known, so other servers can register
/// `{origin}/callback/…` before the backend starts.
pub struct StackBuilder {
    listener: tokio::net::TcpListener,
    pub origin: String,
    session: String,
    /// What the backend serves: `PORTERO_E2E_DIST` (Portero's SPA) unless set.
    dist: Option<PathBuf>,
}

impl Stack {
    /// The backend with devprovider as provider `dev`.
    pub async fn start() -> Result<Stack> {
        Stack::bind().await?.start("").await
    }

    pub async fn bind() -> Result<StackBuilder> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let origin = format!("http://{}", listener.local_addr()?);
        Ok(StackBuilder {
            listener,
            origin,
            session: String::new(),
            dist: None,
        })
    }

    /// For a backend behind a proxy: the browser's origin is `origin`, not the backend's port.
    pub async fn bind_with_origin(origin: &str) -> Result<StackBuilder> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        Ok(StackBuilder {
            listener,
            origin: origin.to_owned(),
            session: String::new(),
            dist: None,
        })
    }
}

impl StackBuilder {
    /// Where the backend itself listens.
    pub fn listen_url(&self) -> String {
        let addr = self
            .listener
            .local_addr()
            .expect("a bound listener has an address");
        format!("http://{addr}")
    }

    /// TOML keys added to the backend's `[session]` table, e.g. `login_timeout_secs = 1`.
    pub fn session(mut self, toml: &str) -> StackBuilder {
        self.session = toml.to_owned();
        self
    }

    /// Serves another app's built `dist/` (`server.static_dir`) instead of Portero's SPA.
    pub fn serving(mut self, dist: PathBuf) -> StackBuilder {
        self.dist = Some(dist);
        self
    }

    /// Starts devprovider and the backend; `extra_providers` is TOML appended to the config.
    pub async fn start(self, extra_providers: &str) -> Result<Stack> {
        let dist = match self.dist {
            Some(dist) => dist,
            None => PathBuf::from(std::env::var("PORTERO_E2E_DIST").context(
                "PORTERO_E2E_DIST is not set: run the browser tests with `cargo xtask test`, which builds dist/ first",
            )?),
        };
        if !dist.join("index.html").exists() {
            bail!(
                "{} has no index.html: build it with `trunk build --release`",
                dist.display()
            );
        }
        let origin = self.origin;
        let secret = format!("e2e-secret-{}", std::process::id());
        let provider_config = devprovider::Config {
            clients: vec![devprovider::Client::new(
                CLIENT_ID,
                secret.clone(),
                format!("{origin}/callback/{PROVIDER}"),
            )],
            ..Default::default()
        };
        let provider = DevProvider::start(provider_config.clone()).await?;
        let config = Config::from_toml(
            &format!(
                r#"
                [server]
                public_origin = "{origin}"
                static_dir = "{dist}"
                [session]
                store = "memory"
                {session}
                [providers.{PROVIDER}]
                kind = "oidc"
                name = "Portero Dev"
                issuer = "{issuer}"
                client_id = "{CLIENT_ID}"
                client_secret = "{secret}"
                {extra_providers}
                "#,
                dist = dist.display(),
                session = self.session,
                issuer = provider.issuer(),
            ),
            std::iter::empty(),
            None,
        )?;
        let app = Application::with_listener(config, self.listener).await?;
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(app.run_until(async {
            let _ = stopped.await;
        }));
        Ok(Stack {
            origin,
            provider_addr: provider.addr(),
            provider: Some(provider),
            provider_config,
            _stop: stop,
        })
    }
}

impl Stack {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.origin)
    }

    /// The running devprovider.
    pub fn provider(&self) -> &DevProvider {
        self.provider
            .as_ref()
            .expect("devprovider was stopped by Stack::stop_provider")
    }

    /// Stops devprovider: the backend's calls to it are then refused, as when a provider is
    /// down.
    pub async fn stop_provider(&mut self) {
        if let Some(provider) = self.provider.take() {
            provider.shutdown().await;
        }
    }

    /// Replaces devprovider with a new one on the same address (same issuer, same clients)
    /// that knows none of the codes and tokens the old one issued: to the backend, every grant
    /// of its sessions has been revoked at the provider.
    pub async fn restart_provider(&mut self) -> Result<()> {
        self.stop_provider().await;
        // The old socket can take a moment to let go of the port.
        let mut tries = 0;
        let listener = loop {
            match tokio::net::TcpListener::bind(self.provider_addr).await {
                Ok(listener) => break listener,
                Err(e) if tries >= 50 => {
                    return Err(e).context(format!("rebinding {}", self.provider_addr))
                }
                Err(_) => tries += 1,
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        self.provider = Some(DevProvider::serve(self.provider_config.clone(), listener).await?);
        Ok(())
    }
}
