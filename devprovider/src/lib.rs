//! Portero Dev: a local OAuth 2.0 / OpenID Connect authorization server for development and
//! tests. Never use it in production: its users are demo users and everything lives in memory.
//!
//! One provider speaks one [`Dialect`]:
//! - `Standard`: RFC 6749 code flow with PKCE S256 per RFC 7636, refresh token rotation, RFC 7009
//!   revocation, RFC 9207 `iss` in authorization responses, OpenID Connect discovery, JWKS and
//!   RS256 id tokens, userinfo.
//! - `Github`: answers like github.com and api.github.com (an OAuth App), on one base URL.
//! - `Intra42`: answers like api.intra.42.fr (Doorkeeper).
//!
//! All three share the login page (one button per demo user) and the consent page.
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
mod dialect;
#[cfg(feature = "form-login")]
pub mod form_login;
mod html;
mod keys;
mod oauth;
mod personas;
mod routes;
mod scope;
mod state;

use std::collections::HashSet;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use url::Url;

pub use crate::dialect::Dialect;
use crate::state::AppState;

/// What the provider knows: its dialect, registered clients, users and token lifetimes.
///
/// Lifetimes default per dialect: build with `Config::for_dialect(d)` (not
/// `Config { dialect: d, ..Config::default() }`, which keeps the standard lifetimes).
#[derive(Clone, Debug)]
pub struct Config {
    pub dialect: Dialect,
    pub clients: Vec<Client>,
    pub users: Vec<DemoUser>,
    /// Access token lifetime (the `expires_in` of token replies). Unused by `Github`: OAuth
    /// App tokens never expire.
    pub access_token_ttl: Duration,
    pub code_ttl: Duration,
    /// At most this many API calls (userinfo, `/user`, `/user/emails`, `/v2/me`,
    /// `/oauth/token/info`) per client within any one second; more answer 429 with
    /// `Retry-After: 1`, as 42 Intra does at about 2 per second. `None`: no limit.
    pub rate_limit_per_sec: Option<u32>,
}

impl Config {
    /// The defaults of one dialect: demo users, no clients, the dialect's lifetimes.
    pub fn for_dialect(dialect: Dialect) -> Config {
        Config {
            dialect,
            clients: Vec::new(),
            users: demo_users(),
            access_token_ttl: dialect.default_access_token_ttl(),
            code_ttl: dialect.default_code_ttl(),
            rate_limit_per_sec: None,
        }
    }

    /// Refuses configurations the provider could not honour, naming the offending value.
    pub fn validate(&self) -> anyhow::Result<()> {
        let mut ids = HashSet::new();
        for client in &self.clients {
            anyhow::ensure!(!client.id.is_empty(), "a client has an empty id");
            anyhow::ensure!(
                ids.insert(client.id.as_str()),
                "client `{}` is registered twice",
                client.id
            );
            anyhow::ensure!(
                !client.secret.is_empty(),
                "client `{}` has an empty secret",
                client.id
            );
            anyhow::ensure!(
                !client.redirect_uris.is_empty(),
                "client `{}` has no redirect_uris",
                client.id
            );
            for uri in &client.redirect_uris {
                parse_redirect_uri(uri)
                    .map_err(|why| anyhow::anyhow!("client `{}`: {why}", client.id))?;
            }
        }
        let mut logins = HashSet::new();
        for user in &self.users {
            // The login appears in URL paths (avatars), so keep it to URL-safe characters.
            anyhow::ensure!(
                !user.login.is_empty()
                    && user
                        .login
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')),
                "user login `{}` must be non-empty letters, digits, `-`, `_` or `.`",
                user.login
            );
            anyhow::ensure!(
                logins.insert(user.login.as_str()),
                "user `{}` is listed twice",
                user.login
            );
        }
        anyhow::ensure!(
            !self.access_token_ttl.is_zero(),
            "access_token_ttl must be positive"
        );
        anyhow::ensure!(!self.code_ttl.is_zero(), "code_ttl must be positive");
        anyhow::ensure!(
            self.rate_limit_per_sec != Some(0),
            "rate_limit_per_sec must be at least 1 (or absent for no limit)"
        );
        Ok(())
    }
}

impl Default for Config {
    fn default() -> Self {
        Config::for_dialect(Dialect::Standard)
    }
}

/// RFC 6749 §3.1.2: an absolute URI without a fragment.
pub(crate) fn parse_redirect_uri(uri: &str) -> Result<Url, String> {
    let url = Url::parse(uri).map_err(|e| format!("redirect URI `{uri}` is not absolute: {e}"))?;
    if url.fragment().is_some() {
        return Err(format!("redirect URI `{uri}` must not have a fragment"));
    }
    if url.cannot_be_a_base() {
        return Err(format!("redirect URI `{uri}` cannot carry a query"));
    }
    Ok(url)
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

/// The built-in demo users: ada, grace and alan. In the `github` and `intra42` dialects each
/// also has a GitHub or 42 profile (ids, counts, campus, levels); grace keeps her GitHub email
/// private, so clients must read `/user/emails`.
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
    /// Every request that reached the token endpoint (`POST /token`,
    /// `/login/oauth/access_token` or `/oauth/token`), valid or not.
    pub token_requests: usize,
    /// Successful `authorization_code` grants.
    pub authorization_code_grants: usize,
    /// Successful `refresh_token` grants.
    pub refresh_grants: usize,
    /// Every request that reached `/userinfo`, `/user`, `/user/emails` or `/v2/me`, valid or not.
    pub userinfo_requests: usize,
    /// Revocation requests from an authenticated client (`POST /revoke` answered 200, or
    /// GitHub's `DELETE /applications/{client_id}/token`).
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

    /// `http://127.0.0.1:PORT`, without a trailing slash: the OIDC issuer of the standard
    /// dialect. Same as [`DevProvider::base_url`].
    pub fn issuer(&self) -> String {
        self.state.issuer.clone()
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash: every endpoint of every dialect is
    /// under it (GitHub's `iss` is `{base_url}/login/oauth`).
    pub fn base_url(&self) -> String {
        self.state.issuer.clone()
    }

    pub fn dialect(&self) -> Dialect {
        self.state.dialect
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

    /// Makes the next `n` API calls (userinfo, `/user`, `/user/emails`, `/v2/me`,
    /// `/oauth/token/info`), whatever their token, answer 429 with
    /// `Retry-After: retry_after_secs`. Replaces any earlier setting; `n = 0` turns it off.
    pub fn throttle_next(&self, n: usize, retry_after_secs: u64) {
        self.state.throttle_next(n, retry_after_secs);
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
