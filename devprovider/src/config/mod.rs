//! What a provider is started with: its dialect, clients, users and lifetimes ([`Config`]),
//! and the binary's TOML file that fills it (`file`).

mod clients;
pub mod file;
mod users;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

pub(crate) use clients::parse_jwks_uri;
pub(crate) use clients::parse_redirect_uri;
pub use clients::{AuthMethod, Client, ClientMetadata};
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
    /// Pushed authorization requests (RFC 9126), standard dialect.
    pub par: Par,
    /// How long a `request_uri` from `POST /par` stays valid (its `expires_in`).
    pub par_ttl: Duration,
    /// Sender-constrained tokens with DPoP (RFC 9449), standard dialect.
    pub dpop: Dpop,
    /// What RFC 7591 calls client metadata, beyond [`Client`]'s fields, by client id: how the
    /// client authenticates, its public keys, and whether it must use PAR or DPoP. A client
    /// without an entry authenticates with its secret and may use PAR and DPoP or not.
    /// Standard dialect only.
    pub client_metadata: HashMap<String, ClientMetadata>,
}

/// Whether the standard dialect takes pushed authorization requests (RFC 9126).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Par {
    /// No `/par` endpoint, and discovery names none.
    Off,
    /// `POST /par` works and discovery names it; `/authorize` takes either kind of request.
    #[default]
    On,
    /// Every authorization request must be pushed first: discovery says
    /// `require_pushed_authorization_requests`, and `/authorize` refuses any other.
    Required,
}

/// Whether the standard dialect binds tokens to DPoP keys (RFC 9449).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Dpop {
    /// No `dpop_signing_alg_values_supported` in discovery; a `DPoP` header is ignored and
    /// tokens are Bearer, as at a server that never heard of DPoP.
    Off,
    /// A token request with a DPoP proof gets a DPoP-bound token.
    #[default]
    On,
    /// As `On`, and every proof must carry a nonce from this server (RFC 9449 §8, §9): a proof
    /// without the current one gets `use_dpop_nonce` and a `DPoP-Nonce` header to retry with.
    RequireNonce,
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
            par: Par::default(),
            // RFC 9126 §2.2's example, and oidc-provider's default.
            par_ttl: Duration::from_secs(60),
            dpop: Dpop::default(),
            client_metadata: HashMap::new(),
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
            let metadata = self.client_metadata.get(&client.id);
            clients::validate(client, metadata, self)
                .map_err(|why| anyhow::anyhow!("client `{}`: {why}", client.id))?;
        }
        if let Some(unknown) = self
            .client_metadata
            .keys()
            .find(|id| !ids.contains(id.as_str()))
        {
            anyhow::bail!("client_metadata names `{unknown}`, which is not a registered client");
        }
        if self.dialect != Dialect::Standard {
            anyhow::ensure!(
                self.par != Par::Required && self.dpop != Dpop::RequireNonce,
                "PAR and DPoP are standard dialect features; the {} dialect has neither",
                self.dialect
            );
        }
        anyhow::ensure!(!self.par_ttl.is_zero(), "par_ttl must be positive");
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
