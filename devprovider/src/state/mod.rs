//! Everything the provider remembers, in memory, and the rules that govern it. Handlers only
//! translate HTTP to these calls; what differs per provider comes from the dialect's `Rules`.

mod authorization;
mod grants;
mod limits;
mod memberships;
mod par;
mod proofs;
mod sessions;
mod store;

use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use url::Url;

pub use authorization::AuthorizationRequest;
pub use grants::{AccessInfo, AccessProblem, GrantError, Issued, Pkce, PkceMethod};
pub use memberships::Membership;

use crate::config::{ClientMetadata, Dpop, Par};
use crate::dialect::{Dialect, Rules};
use crate::{Client, Config, DemoUser, Stats};
use limits::Limiter;
use proofs::{ClientKeys, Proofs};
use store::Store;

pub struct AppState {
    /// The base URL, `http://127.0.0.1:PORT`; also the standard dialect's OIDC issuer.
    pub issuer: String,
    pub dialect: Dialect,
    /// The dialect's rules, chosen once here.
    pub rules: &'static dyn Rules,
    clients: HashMap<String, RegisteredClient>,
    users: Vec<DemoUser>,
    pub access_token_ttl: Duration,
    code_ttl: Duration,
    rate_limit_per_sec: Option<u32>,
    pub par: Par,
    pub par_ttl: Duration,
    pub dpop: Dpop,
    /// Unix seconds at start-up.
    pub started_at: u64,
    store: Mutex<Store>,
    stats: Mutex<Stats>,
    limiter: Mutex<Limiter>,
    proofs: Mutex<Proofs>,
    /// Each person's groups, organizations and campuses, by login.
    memberships: Mutex<HashMap<String, Membership>>,
    /// Nanoseconds to hold refresh_token grant replies (`set_refresh_delay`).
    refresh_delay: AtomicU64,
    /// Sends back-channel logout tokens and fetches clients' `jwks_uri`: plain HTTP, no
    /// redirects followed.
    http: reqwest::Client,
}

struct RegisteredClient {
    client: Client,
    /// Parsed once, so building a redirect can't fail later.
    redirect_urls: Vec<Url>,
    metadata: ClientMetadata,
    keys: ClientKeys,
}

impl AppState {
    pub fn new(config: Config, issuer: String) -> anyhow::Result<AppState> {
        config.validate()?;
        crate::jose::init();
        let mut metadata = config.client_metadata;
        let clients = config
            .clients
            .into_iter()
            .map(|client| {
                let redirect_urls = client
                    .redirect_uris
                    .iter()
                    .filter_map(|uri| crate::config::parse_redirect_uri(uri).ok())
                    .collect();
                let metadata = metadata.remove(&client.id).unwrap_or_default();
                // Validated above, so neither can fail here.
                let keys = match (&metadata.jwks, &metadata.jwks_uri) {
                    (Some(jwks), _) => {
                        crate::jose::parse_jwks(jwks).map_or(ClientKeys::None, ClientKeys::Inline)
                    }
                    (None, Some(uri)) => crate::config::parse_jwks_uri(uri)
                        .map_or(ClientKeys::None, ClientKeys::Remote),
                    (None, None) => ClientKeys::None,
                };
                let registered = RegisteredClient {
                    client,
                    redirect_urls,
                    metadata,
                    keys,
                };
                (registered.client.id.clone(), registered)
            })
            .collect();
        Ok(AppState {
            issuer,
            dialect: config.dialect,
            rules: config.dialect.rules(),
            clients,
            memberships: Mutex::new(
                config
                    .users
                    .iter()
                    .map(|user| (user.login.clone(), Membership::initial(user)))
                    .collect(),
            ),
            users: config.users,
            access_token_ttl: config.access_token_ttl,
            code_ttl: config.code_ttl,
            rate_limit_per_sec: config.rate_limit_per_sec,
            par: config.par,
            par_ttl: config.par_ttl,
            dpop: config.dpop,
            started_at: unix_now(),
            store: Mutex::new(Store::default()),
            stats: Mutex::new(Stats::default()),
            limiter: Mutex::new(Limiter::default()),
            proofs: Mutex::new(Proofs::default()),
            refresh_delay: AtomicU64::new(0),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                // Loopback clients: an environment proxy must not see their logout tokens.
                .no_proxy()
                // OIDC Back-Channel Logout 1.0 §2.8 lets the OP give up on a slow RP.
                .timeout(Duration::from_secs(5))
                .build()
                .context("building the back-channel logout HTTP client")?,
        })
    }

    fn store(&self) -> MutexGuard<'_, Store> {
        // A panic elsewhere must not wedge the provider: the maps stay consistent per operation.
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn stats(&self) -> Stats {
        self.stats.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn count(&self, update: impl FnOnce(&mut Stats)) {
        update(&mut self.stats.lock().unwrap_or_else(|e| e.into_inner()));
    }

    pub fn client(&self, id: &str) -> Option<&Client> {
        self.clients.get(id).map(|c| &c.client)
    }

    /// What `id` registered beyond id, secret and URIs; the defaults for an unknown id.
    pub fn metadata(&self, id: &str) -> ClientMetadata {
        self.clients
            .get(id)
            .map(|c| c.metadata.clone())
            .unwrap_or_default()
    }

    fn registered_keys(&self, id: &str) -> Option<&ClientKeys> {
        self.clients.get(id).map(|c| &c.keys)
    }

    pub fn users(&self) -> &[DemoUser] {
        &self.users
    }

    pub fn user(&self, login: &str) -> Option<&DemoUser> {
        self.users.iter().find(|u| u.login == login)
    }

    pub fn avatar_url(&self, user: &DemoUser) -> String {
        crate::pages::avatar::url(&self.issuer, &user.login)
    }
}

pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
