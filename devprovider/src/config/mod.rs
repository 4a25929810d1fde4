//! What a provider is started with: its dialect, clients, users and lifetimes ([`Config`]),
//! and the binary's TOML file that fills it (`file`).

mod clients;
pub mod file;
mod users;

use std::collections::HashSet;
use std::time::Duration;

use clients::parse_backchannel_logout_uri;
pub(crate) use clients::parse_redirect_uri;
pub use clients::Client;
#[cfg(test)]
pub(crate) use users::demo_user;
pub use users::{demo_users, DemoUser};
pub(crate) use users::{stable_number, subject_of};

use crate::Dialect;

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
