//! Portero Dev: a local OAuth 2.0 / OpenID Connect authorization server for development and
//! tests. Never use it in production: its users are demo users and everything lives in memory.
//!
//! It speaks the standard dialect (RFC 6749 code flow with PKCE S256 per RFC 7636, refresh
//! token rotation, RFC 7009 revocation, RFC 9207 `iss` in authorization responses, OpenID
//! Connect discovery, JWKS and RS256 id tokens, userinfo).
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use devprovider::{Client, Config, DevProvider};
//! let provider = DevProvider::start(Config {
//!     clients: vec![Client {
//!         id: "portero".into(),
//!         secret: "secret".into(),
//!         redirect_uris: vec!["http://127.0.0.1:8080/callback/dev".into()],
//!     }],
//!     ..Config::default()
//! })
//! .await?;
//! println!("issuer: {}", provider.issuer());
//! provider.shutdown().await;
//! # Ok(()) }
//! ```

pub mod config_file;
mod html;
mod keys;
mod oauth;
mod routes;
mod state;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::state::AppState;

/// What the provider knows: its registered clients, its users and token lifetimes.
#[derive(Clone, Debug)]
pub struct Config {
    pub clients: Vec<Client>,
    pub users: Vec<DemoUser>,
    pub access_token_ttl: Duration,
    pub code_ttl: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            clients: Vec::new(),
            users: demo_users(),
            access_token_ttl: Duration::from_secs(3600),
            code_ttl: Duration::from_secs(60),
        }
    }
}

/// A registered confidential client. Redirect URIs are compared exactly (RFC 9700 §2.1).
#[derive(Clone)]
pub struct Client {
    pub id: String,
    pub secret: String,
    pub redirect_uris: Vec<String>,
}

// Written by hand so the secret can't end up in a log line.
impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("id", &self.id)
            .field("secret", &"<redacted>")
            .field("redirect_uris", &self.redirect_uris)
            .finish()
    }
}

/// A user who can sign in with one click on the login page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoUser {
    pub login: String,
    pub name: String,
    pub email: String,
}

impl DemoUser {
    /// The OIDC `sub`: stable across restarts because it only depends on the login.
    pub fn subject(&self) -> String {
        format!("user-{}", self.login)
    }
}

/// The built-in demo users: ada, grace and alan.
pub fn demo_users() -> Vec<DemoUser> {
    [
        ("ada", "Ada Lovelace"),
        ("grace", "Grace Hopper"),
        ("alan", "Alan Turing"),
    ]
    .into_iter()
    .map(|(login, name)| DemoUser {
        login: login.into(),
        name: name.into(),
        email: format!("{login}@example.com"),
    })
    .collect()
}

/// Counters of what reached the endpoints, for tests that prove a request was (not) made.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Every request that reached `POST /token`, valid or not.
    pub token_requests: usize,
    /// Successful `authorization_code` grants.
    pub authorization_code_grants: usize,
    /// Successful `refresh_token` grants.
    pub refresh_grants: usize,
    /// Every request that reached `/userinfo`, valid or not.
    pub userinfo_requests: usize,
    /// Revocation requests from an authenticated client (answered 200).
    pub revocations: usize,
}

/// A running provider. Dropping it stops the server too; `shutdown` also waits for it.
pub struct DevProvider {
    state: Arc<AppState>,
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl DevProvider {
    /// Binds 127.0.0.1:0 (random port) and serves in a spawned tokio task.
    pub async fn start(config: Config) -> anyhow::Result<DevProvider> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .context("binding 127.0.0.1:0")?;
        Self::serve(config, listener).await
    }

    /// Serves on a listener the caller bound (the binary uses this).
    pub async fn serve(config: Config, listener: TcpListener) -> anyhow::Result<DevProvider> {
        let addr = listener
            .local_addr()
            .context("reading the listener's address")?;
        // Key generation takes a moment: keep it off the async worker threads.
        tokio::task::spawn_blocking(keys::signing_key)
            .await
            .context("generating the RSA signing key")?;
        let state = Arc::new(AppState::new(config, issuer_for(addr))?);
        let app = routes::router(state.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            // A dropped sender resolves `stopped` as well, which is how Drop stops the server.
            let result = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
            if let Err(error) = result {
                tracing::error!(%error, "devprovider stopped serving");
            }
        });
        Ok(DevProvider {
            state,
            addr,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn issuer(&self) -> String {
        self.state.issuer.clone()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> Stats {
        self.state.stats()
    }

    /// False once the token is unknown, revoked or expired.
    pub fn is_access_token_active(&self, token: &str) -> bool {
        self.state.is_access_token_active(token)
    }

    /// Stops serving (in-flight requests finish) and waits for the server task.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            // A browser may hold a request open; don't let it hang the caller forever.
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(5), task)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }
}

impl Drop for DevProvider {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Browsers can't reach 0.0.0.0: a server bound to every interface names itself by loopback.
fn issuer_for(addr: SocketAddr) -> String {
    let mut addr = addr;
    if addr.ip().is_unspecified() {
        addr.set_ip(Ipv4Addr::LOCALHOST.into());
    }
    format!("http://{addr}")
}
