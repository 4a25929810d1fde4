//! Portero Dev: a local OAuth 2.0 / OpenID Connect authorization server for development and
//! tests. Never use it in production: its users are demo users and everything lives in memory.
//!
//! One provider speaks one [`Dialect`]:
//! - `Standard`: RFC 6749 code flow with PKCE S256 per RFC 7636, refresh token rotation, RFC 7009
//!   revocation, RFC 9207 `iss` in authorization responses, OpenID Connect discovery, JWKS and
//!   RS256 id tokens, userinfo, and OpenID Connect Back-Channel Logout 1.0.
//! - `Github`: answers like github.com and api.github.com (an OAuth App), on one base URL.
//! - `Intra42`: answers like api.intra.42.fr (Doorkeeper).
//!
//! All three share the login page (one button per demo user), the consent page and the logout
//! page (`/logout`). Each completed login form starts a provider session; logging out (the page,
//! or [`DevProvider::log_out`]) ends a user's sessions and, in the standard dialect, POSTs a
//! logout token to each client that got tokens in them and registered a
//! `backchannel_logout_uri`.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use devprovider::{Client, Config, DevProvider};
//! let provider = DevProvider::start(Config {
//!     clients: vec![Client::new(
//!         "portero",
//!         "secret",
//!         "http://127.0.0.1:8080/callback/dev",
//!     )],
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
            if let Some(uri) = &client.backchannel_logout_uri {
                anyhow::ensure!(
                    self.dialect.rules().backchannel_logout(),
                    "client `{}` has a backchannel_logout_uri, but the {} dialect has no \
                     back-channel logout (the standard dialect has)",
                    client.id,
                    self.dialect
                );
                parse_backchannel_logout_uri(uri)
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

/// OIDC Back-Channel Logout 1.0 §2.2: an absolute URI without a fragment; `http` only, since
/// devprovider's HTTP client speaks no TLS.
fn parse_backchannel_logout_uri(uri: &str) -> Result<Url, String> {
    let url = Url::parse(uri)
        .map_err(|e| format!("backchannel_logout_uri `{uri}` is not absolute: {e}"))?;
    if url.scheme() != "http" {
        return Err(format!(
            "backchannel_logout_uri `{uri}` must be http:// (devprovider speaks no TLS)"
        ));
    }
    if url.fragment().is_some() {
        return Err(format!(
            "backchannel_logout_uri `{uri}` must not have a fragment"
        ));
    }
    Ok(url)
}

/// A registered confidential client. Redirect URIs are compared exactly (RFC 9700 §2.1).
#[derive(Clone)]
pub struct Client {
    pub id: String,
    pub secret: String,
    pub redirect_uris: Vec<String>,
    /// OIDC Back-Channel Logout 1.0 §2.2: where logout tokens are POSTed when a user who got
    /// tokens for this client logs out. Standard dialect only; plain `http://` (devprovider
    /// speaks no TLS).
    pub backchannel_logout_uri: Option<String>,
}

impl Client {
    /// A client with one redirect URI and no back-channel logout: how Portero is registered,
    /// with `{origin}/callback/{provider}`.
    pub fn new(
        id: impl Into<String>,
        secret: impl Into<String>,
        redirect_uri: impl Into<String>,
    ) -> Client {
        Client {
            id: id.into(),
            secret: secret.into(),
            redirect_uris: vec![redirect_uri.into()],
            backchannel_logout_uri: None,
        }
    }
}

// Written by hand so the secret can't end up in a log line.
impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("id", &self.id)
            .field("secret", &"<redacted>")
            .field("redirect_uris", &self.redirect_uris)
            .field("backchannel_logout_uri", &self.backchannel_logout_uri)
            .finish()
    }
}

/// A user who can sign in with one click on the login page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoUser {
    pub login: String,
    pub name: String,
    pub email: String,
    /// False: the provider says the address is not verified (OIDC `email_verified: false`;
    /// on GitHub, `/user/emails` says `verified: false` and `/user` shows no address).
    pub email_verified: bool,
    /// The OIDC `groups` claim of the standard dialect; none when empty.
    pub groups: Vec<String>,
}

impl DemoUser {
    /// `login@example.com`, verified, in no group.
    pub fn new(login: &str, name: &str) -> DemoUser {
        DemoUser {
            login: login.into(),
            name: name.into(),
            email: format!("{login}@example.com"),
            email_verified: true,
            groups: Vec::new(),
        }
    }

    /// The OIDC `sub`: stable across restarts because it only depends on the login.
    pub fn subject(&self) -> String {
        subject_of(&self.login)
    }
}

pub(crate) fn subject_of(login: &str) -> String {
    format!("user-{login}")
}

/// The built-in demo users. Everyone's address is `login@example.com`.
///
/// - **ada** (Ada Lovelace), **grace** (Grace Hopper) and **alan** (Alan Turing): verified
///   addresses, no groups, no GitHub organization. On GitHub, grace keeps her address private,
///   so clients must read `/user/emails`. On 42, ada studies in Madrid, alan in Málaga, and
///   grace moved from Barcelona to Urduliz, her primary campus (`campus_users[].is_primary`).
/// - **edsger** (Edsger Dijkstra): his address is not verified. Standard: `email_verified:
///   false`; GitHub: `/user` has `email: null` and `/user/emails` lists it `verified: false`.
/// - **margaret** (Margaret Hamilton): on GitHub a member of the organization
///   `apollo-guidance` and of its team `flight-software` (`/user/orgs`, `/user/teams`, with
///   scope `read:org` or `user`).
/// - **barbara** (Barbara Liskov): standard dialect `groups: ["staff"]` in the id token and
///   userinfo; nobody else has a `groups` claim.
///
/// edsger, margaret and barbara study in Madrid on 42, so a campus rule for Madrid admits
/// four students and refuses alan and grace.
pub fn demo_users() -> Vec<DemoUser> {
    vec![
        DemoUser::new("ada", "Ada Lovelace"),
        DemoUser::new("grace", "Grace Hopper"),
        DemoUser::new("alan", "Alan Turing"),
        DemoUser {
            email_verified: false,
            ..DemoUser::new("edsger", "Edsger Dijkstra")
        },
        DemoUser::new("margaret", "Margaret Hamilton"),
        DemoUser {
            groups: vec!["staff".into()],
            ..DemoUser::new("barbara", "Barbara Liskov")
        },
    ]
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
    /// Every request that reached `/userinfo`, `/user`, `/user/emails`, `/user/orgs`,
    /// `/user/teams` or `/v2/me`, valid or not.
    pub userinfo_requests: usize,
    /// Revocation requests from an authenticated client (`POST /revoke` answered 200, or
    /// GitHub's `DELETE /applications/{client_id}/token`).
    pub revocations: usize,
    /// Back-channel logout POSTs sent to clients' `backchannel_logout_uri`, answered or not.
    pub backchannel_logouts: usize,
    /// The HTTP status of each answered back-channel logout POST, in the order they were sent;
    /// a POST that got no answer (refused, timed out) has none.
    pub backchannel_logout_statuses: Vec<u16>,
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

    /// Ends every provider session of `login`, as its "Log out" button on `/logout` does, and
    /// waits for the back-channel logout POSTs (OIDC Back-Channel Logout 1.0) to each client
    /// that got tokens in those sessions and registered a `backchannel_logout_uri`. Returns how
    /// many sessions ended; `stats()` counts the POSTs and their statuses. Tokens already
    /// issued stay valid: ending its own session (and revoking them) is the client's job.
    pub async fn log_out(&self, login: &str) -> usize {
        self.state.log_out(login).await.sessions
    }

    /// Holds every answer to a `refresh_token` grant this long (zero: no delay). The grant is
    /// decided first (the refresh token rotates at once); only the reply waits, so a test can
    /// log out, or refresh again, while a client waits for its new tokens.
    pub fn set_refresh_delay(&self, delay: Duration) {
        self.state.set_refresh_delay(delay);
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
