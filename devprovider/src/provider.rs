//! A running provider: [`DevProvider`] starts and stops it, reads its counters ([`Stats`]) and
//! turns the knobs tests use.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::admin::{AdminError, MembershipChange, Memberships};
use crate::state::AppState;
use crate::{keys, pages, Config, Dialect};

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
    /// `/user/teams`, `/orgs/{org}/members/{username}` or `/v2/me`, valid or not.
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
        let app = pages::router(state.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            // A dropped sender resolves `stopped` as well, which is how Drop stops the server.
            // The peer's address tells the admin API whether a request comes from loopback.
            let app = app.into_make_service_with_connect_info::<SocketAddr>();
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

    /// The groups, GitHub organizations and teams, and 42 campuses `login` has now; None for
    /// an unknown login.
    pub fn memberships(&self, login: &str) -> Option<Memberships> {
        self.state.memberships(login)
    }

    /// Changes who `login` belongs to while they may be logged in: tokens already issued stay
    /// valid, and what the provider answers from now on says the new memberships. Refused
    /// whole, naming why, for an unknown login, a bad value or a field of another dialect.
    pub fn change_memberships(
        &self,
        login: &str,
        change: MembershipChange,
    ) -> Result<Memberships, AdminError> {
        self.state.change_memberships(login, change)
    }

    /// Standard dialect: the `groups` claim of `login` from now on (none when empty).
    pub fn set_groups(&self, login: &str, groups: &[&str]) -> Result<(), AdminError> {
        let change = MembershipChange {
            groups: Some(owned(groups)),
            ..MembershipChange::default()
        };
        self.change_memberships(login, change).map(drop)
    }

    /// GitHub: the organizations (by login) `login` belongs to from now on; teams in the
    /// others go with them.
    pub fn set_github_orgs(&self, login: &str, orgs: &[&str]) -> Result<(), AdminError> {
        let change = MembershipChange {
            github_orgs: Some(owned(orgs)),
            ..MembershipChange::default()
        };
        self.change_memberships(login, change).map(drop)
    }

    /// GitHub: the teams (`org/team-slug`) `login` belongs to from now on; their organizations
    /// are joined with them.
    pub fn set_github_teams(&self, login: &str, teams: &[&str]) -> Result<(), AdminError> {
        let change = MembershipChange {
            github_teams: Some(owned(teams)),
            ..MembershipChange::default()
        };
        self.change_memberships(login, change).map(drop)
    }

    /// 42: the one campus (by name or id) the student `login` studies at from now on.
    pub fn set_intra42_campus(&self, login: &str, campus: &str) -> Result<(), AdminError> {
        let change = MembershipChange {
            intra42_campus: Some(campus.to_owned()),
            ..MembershipChange::default()
        };
        self.change_memberships(login, change).map(drop)
    }

    /// Replaces the DPoP nonce (with `Dpop::RequireNonce`) at once, old ones included: the
    /// next proof of every client gets `use_dpop_nonce`, as after a server restart.
    pub fn rotate_dpop_nonce(&self) {
        self.state.rotate_dpop_nonce();
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

fn owned(names: &[&str]) -> Vec<String> {
    names.iter().map(|name| (*name).to_owned()).collect()
}
