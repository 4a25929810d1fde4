//! Everything the provider remembers, in memory: pending authorization requests, codes and
//! tokens, and the rules that govern them. Handlers only translate HTTP to these calls.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::http::StatusCode;
use serde_json::{json, Map, Value};
use url::Url;

use crate::keys;
use crate::oauth::{self, OAuthError};
use crate::{Client, Config, DemoUser, Dialect, Stats};

/// How long a user has to get from the login page through consent.
const PENDING_TTL: Duration = Duration::from_secs(600);
/// Used codes are remembered this long past their expiry, so a replay still revokes the grant.
const USED_CODE_RETENTION: Duration = Duration::from_secs(600);
/// Expired access tokens are remembered this long, so a client hears "expired", not "invalid".
const EXPIRED_TOKEN_RETENTION: Duration = Duration::from_secs(600);
/// How long after start-up the clients' secrets stay valid in the `intra42` dialect: 42 shows
/// each application's `secret_valid_until` and makes owners rotate the secret before it.
const INTRA42_SECRET_VALIDITY: Duration = Duration::from_secs(28 * 24 * 3600);

pub const SUPPORTED_SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];

/// The OAuth App scopes of docs.github.com, "Scopes for OAuth apps".
pub const GITHUB_SCOPES: [&str; 34] = [
    "repo",
    "repo:status",
    "repo_deployment",
    "public_repo",
    "repo:invite",
    "security_events",
    "admin:repo_hook",
    "write:repo_hook",
    "read:repo_hook",
    "admin:org",
    "write:org",
    "read:org",
    "admin:public_key",
    "write:public_key",
    "read:public_key",
    "admin:org_hook",
    "gist",
    "notifications",
    "user",
    "read:user",
    "user:email",
    "user:follow",
    "project",
    "read:project",
    "delete_repo",
    "write:packages",
    "read:packages",
    "delete:packages",
    "admin:gpg_key",
    "write:gpg_key",
    "read:gpg_key",
    "codespace",
    "workflow",
    "read:audit_log",
];

/// api.intra.42.fr/apidoc/guides/specification: the scopes an application may request.
pub const INTRA42_SCOPES: [&str; 6] =
    ["public", "projects", "profile", "elearning", "tig", "forum"];

pub struct AppState {
    /// The base URL, `http://127.0.0.1:PORT`; also the standard dialect's OIDC issuer.
    pub issuer: String,
    pub dialect: Dialect,
    clients: HashMap<String, RegisteredClient>,
    users: Vec<DemoUser>,
    access_token_ttl: Duration,
    code_ttl: Duration,
    rate_limit_per_sec: Option<u32>,
    /// Unix seconds; reported as `secret_valid_until` by the `intra42` dialect.
    pub secret_valid_until: u64,
    store: Mutex<Store>,
    stats: Mutex<Stats>,
    limiter: Mutex<Limiter>,
}

struct RegisteredClient {
    client: Client,
    /// Parsed once, so building a redirect can't fail later.
    redirect_urls: Vec<Url>,
}

/// The scopes of a request, deduplicated, in the order the client sent them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scope(Vec<String>);

impl Scope {
    /// Parses a space-separated scope (RFC 6749 §3.3), refusing scopes this server doesn't know.
    pub fn parse(input: &str) -> Result<Scope, String> {
        let mut scopes: Vec<String> = Vec::new();
        for scope in input.split(' ').filter(|s| !s.is_empty()) {
            if !SUPPORTED_SCOPES.contains(&scope) {
                return Err(scope.to_owned());
            }
            if !scopes.iter().any(|s| s == scope) {
                scopes.push(scope.to_owned());
            }
        }
        Ok(Scope(scopes))
    }

    /// GitHub's scope parameter: names separated by spaces or commas. Names GitHub doesn't
    /// know are left out of the grant, which is why its docs tell clients to check the `scope`
    /// of the token reply.
    pub fn parse_github(input: &str) -> Scope {
        let mut scopes: Vec<String> = Vec::new();
        for scope in input.split([' ', ',']).filter(|s| !s.is_empty()) {
            if GITHUB_SCOPES.contains(&scope) && !scopes.iter().any(|s| s == scope) {
                scopes.push(scope.to_owned());
            }
        }
        Scope(scopes)
    }

    /// 42's scope parameter (Doorkeeper): space-separated, unknown names refused.
    pub fn parse_intra42(input: &str) -> Result<Scope, String> {
        let mut scopes: Vec<String> = Vec::new();
        for scope in input.split(' ').filter(|s| !s.is_empty()) {
            if !INTRA42_SCOPES.contains(&scope) {
                return Err(scope.to_owned());
            }
            if !scopes.iter().any(|s| s == scope) {
                scopes.push(scope.to_owned());
            }
        }
        Ok(Scope(scopes))
    }

    pub fn contains(&self, scope: &str) -> bool {
        self.0.iter().any(|s| s == scope)
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    pub fn join(&self, separator: &str) -> String {
        self.0.join(separator)
    }

    fn is_subset_of(&self, other: &Scope) -> bool {
        self.0.iter().all(|s| other.contains(s))
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.join(" "))
    }
}

/// A PKCE code challenge (RFC 7636 §4.2).
#[derive(Clone, Debug)]
pub struct Pkce {
    pub challenge: String,
    pub method: PkceMethod,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PkceMethod {
    S256,
    /// Only the `intra42` dialect accepts it: Doorkeeper implements both methods of RFC 7636.
    Plain,
}

impl Pkce {
    /// RFC 7636 §4.6, after checking the verifier's form (§4.1).
    fn verify(&self, verifier: &str) -> Result<(), GrantError> {
        if !oauth::is_valid_verifier(verifier) {
            return Err(GrantError::VerifierMalformed);
        }
        let matches = match self.method {
            PkceMethod::S256 => oauth::pkce_s256_matches(verifier, &self.challenge),
            PkceMethod::Plain => {
                oauth::constant_time_eq(verifier.as_bytes(), self.challenge.as_bytes())
            }
        };
        if matches {
            Ok(())
        } else {
            Err(GrantError::VerifierMismatch)
        }
    }
}

/// Why an authorization code was refused. Each dialect words it its own way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantError {
    UnknownCode,
    OtherClient,
    Replayed,
    Expired,
    RedirectMismatch,
    VerifierMissing,
    VerifierMalformed,
    VerifierMismatch,
    /// RFC 9700 §2.1.1: a verifier for a code requested without a challenge is a downgrade.
    VerifierWithoutChallenge,
}

impl GrantError {
    pub fn description(self) -> &'static str {
        match self {
            GrantError::UnknownCode => "unknown authorization code",
            GrantError::OtherClient => "the authorization code was issued to another client",
            GrantError::Replayed => {
                "the authorization code was already used; tokens issued for it are revoked"
            }
            GrantError::Expired => "the authorization code has expired",
            GrantError::RedirectMismatch => {
                "redirect_uri differs from the one in the authorization request"
            }
            GrantError::VerifierMissing => "code_verifier is required (PKCE)",
            GrantError::VerifierMalformed => {
                "code_verifier must be 43 to 128 unreserved characters"
            }
            GrantError::VerifierMismatch => "code_verifier does not match the code_challenge",
            GrantError::VerifierWithoutChallenge => {
                "code_verifier was sent but the authorization request had no code_challenge"
            }
        }
    }
}

impl From<GrantError> for OAuthError {
    fn from(error: GrantError) -> OAuthError {
        OAuthError::invalid_grant(error.description())
    }
}

/// A validated authorization request, waiting for the user to sign in and consent.
#[derive(Clone)]
pub struct PendingAuthorization {
    pub client_id: String,
    pub redirect_uri: String,
    redirect_url: Url,
    pub scope: Scope,
    pub state: Option<String>,
    pub pkce: Option<Pkce>,
    pub nonce: Option<String>,
    /// Set once the user picked an account on the login page.
    pub login: Option<String>,
    expires_at: Instant,
}

/// What the authorize endpoint accepted; see `AppState::registered_redirect`.
pub struct AuthorizationRequest {
    pub client_id: String,
    pub redirect_url: Url,
    pub redirect_uri: String,
    pub scope: Scope,
    pub state: Option<String>,
    pub pkce: Option<Pkce>,
    pub nonce: Option<String>,
}

/// Who granted what to which client: shared by every token descended from one code.
#[derive(Clone)]
struct Grant {
    id: u64,
    client_id: String,
    login: String,
    /// Unix seconds at which the user signed in (OIDC `auth_time`).
    auth_time: u64,
}

struct CodeRecord {
    client_id: String,
    redirect_uri: String,
    scope: Scope,
    nonce: Option<String>,
    pkce: Option<Pkce>,
    login: String,
    auth_time: u64,
    expires_at: Instant,
    /// None until first presented; then whether it produced a grant (so a replay can revoke it).
    used: Option<Option<u64>>,
}

struct AccessRecord {
    grant: Grant,
    scope: Scope,
    /// Unix seconds (42's `created_at`).
    created_at: u64,
    /// None: never expires (GitHub OAuth App tokens).
    expires_at: Option<Instant>,
}

impl AccessRecord {
    fn is_live(&self, now: Instant) -> bool {
        self.expires_at.is_none_or(|at| at > now)
    }
}

/// A live access token, as resource endpoints see it.
pub struct AccessInfo {
    pub login: String,
    pub client_id: String,
    pub scope: Scope,
    pub created_at: u64,
    /// Seconds left; None when the token never expires.
    pub expires_in: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessProblem {
    /// Never issued, revoked, or expired long ago.
    Unknown,
    Expired,
}

/// 429 state: the `throttle_next` test knob and the per-client sliding window.
#[derive(Default)]
struct Limiter {
    throttled_calls: usize,
    throttle_retry_after: u64,
    recent: HashMap<String, VecDeque<Instant>>,
}

struct RefreshRecord {
    grant: Grant,
    scope: Scope,
}

#[derive(Default)]
struct Store {
    pending: HashMap<String, PendingAuthorization>,
    codes: HashMap<String, CodeRecord>,
    access: HashMap<String, AccessRecord>,
    refresh: HashMap<String, RefreshRecord>,
    /// Refresh tokens replaced by rotation, mapped to their grant: a replay means theft
    /// (RFC 9700 §4.14.2), so the whole grant is revoked.
    retired_refresh: HashMap<String, u64>,
    next_grant: u64,
}

impl Store {
    fn purge(&mut self, now: Instant) {
        self.pending.retain(|_, p| p.expires_at > now);
        self.codes
            .retain(|_, c| c.expires_at + USED_CODE_RETENTION > now);
        self.access.retain(|_, a| {
            a.expires_at
                .is_none_or(|at| at + EXPIRED_TOKEN_RETENTION > now)
        });
    }

    fn revoke_grant(&mut self, grant: u64) {
        self.access.retain(|_, a| a.grant.id != grant);
        self.refresh.retain(|_, r| r.grant.id != grant);
        self.retired_refresh.retain(|_, g| *g != grant);
    }
}

/// Tokens minted under the lock; the id token is signed after it is released.
pub struct Issued {
    pub access_token: String,
    /// None in the `github` dialect: OAuth App tokens come without one.
    pub refresh_token: Option<String>,
    pub scope: Scope,
    grant: Grant,
    nonce: Option<String>,
    /// Unix seconds.
    pub created_at: u64,
    /// None when the access token never expires.
    pub expires_in: Option<u64>,
}

impl Config {
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

/// RFC 6749 §3.1.2: an absolute URI without a fragment.
fn parse_redirect_uri(uri: &str) -> Result<Url, String> {
    let url = Url::parse(uri).map_err(|e| format!("redirect URI `{uri}` is not absolute: {e}"))?;
    if url.fragment().is_some() {
        return Err(format!("redirect URI `{uri}` must not have a fragment"));
    }
    if url.cannot_be_a_base() {
        return Err(format!("redirect URI `{uri}` cannot carry a query"));
    }
    Ok(url)
}

impl AppState {
    pub fn new(config: Config, issuer: String) -> anyhow::Result<AppState> {
        config.validate()?;
        let clients = config
            .clients
            .into_iter()
            .map(|client| {
                let redirect_urls = client
                    .redirect_uris
                    .iter()
                    .filter_map(|uri| parse_redirect_uri(uri).ok())
                    .collect();
                (
                    client.id.clone(),
                    RegisteredClient {
                        client,
                        redirect_urls,
                    },
                )
            })
            .collect();
        Ok(AppState {
            issuer,
            dialect: config.dialect,
            clients,
            users: config.users,
            access_token_ttl: config.access_token_ttl,
            code_ttl: config.code_ttl,
            rate_limit_per_sec: config.rate_limit_per_sec,
            secret_valid_until: unix_now() + INTRA42_SECRET_VALIDITY.as_secs(),
            store: Mutex::new(Store::default()),
            stats: Mutex::new(Stats::default()),
            limiter: Mutex::new(Limiter::default()),
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

    pub fn users(&self) -> &[DemoUser] {
        &self.users
    }

    pub fn user(&self, login: &str) -> Option<&DemoUser> {
        self.users.iter().find(|u| u.login == login)
    }

    pub fn avatar_url(&self, user: &DemoUser) -> String {
        format!("{}/avatars/{}.svg", self.issuer, user.login)
    }

    /// The registered redirect URI equal to `uri`, character for character (no normalisation).
    pub fn registered_redirect(&self, client_id: &str, uri: &str) -> Option<Url> {
        let client = self.clients.get(client_id)?;
        let index = client.client.redirect_uris.iter().position(|r| r == uri)?;
        client.redirect_urls.get(index).cloned()
    }

    /// The client's first registered redirect URI: GitHub's "callback URL", used when an
    /// authorization request leaves `redirect_uri` out.
    pub fn default_redirect(&self, client_id: &str) -> Option<(String, Url)> {
        let client = self.clients.get(client_id)?;
        Some((
            client.client.redirect_uris.first()?.clone(),
            client.redirect_urls.first()?.clone(),
        ))
    }

    /// The `iss` of authorization responses (RFC 9207): the issuer in the standard dialect,
    /// `{base}/login/oauth` for GitHub (which sends it since 2026), none for 42.
    pub fn authorization_iss(&self) -> Option<String> {
        match self.dialect {
            Dialect::Standard => Some(self.issuer.clone()),
            Dialect::Github => Some(format!("{}/login/oauth", self.issuer)),
            Dialect::Intra42 => None,
        }
    }

    /// Builds `redirect?params&state&iss` (RFC 6749 §4.1.2, RFC 9207), keeping any query the
    /// registered URI already has.
    pub fn authorization_response(
        &self,
        redirect: &Url,
        params: &[(&str, &str)],
        state: Option<&str>,
    ) -> Url {
        let mut url = redirect.clone();
        {
            let mut query = url.query_pairs_mut();
            for (name, value) in params {
                query.append_pair(name, value);
            }
            if let Some(state) = state {
                query.append_pair("state", state);
            }
            if let Some(iss) = self.authorization_iss() {
                query.append_pair("iss", &iss);
            }
        }
        url
    }

    /// Remembers a validated request; returns the id the login and consent forms carry.
    pub fn begin_authorization(&self, request: AuthorizationRequest) -> String {
        let id = oauth::random_token();
        let now = Instant::now();
        let mut store = self.store();
        store.purge(now);
        store.pending.insert(
            id.clone(),
            PendingAuthorization {
                client_id: request.client_id,
                redirect_uri: request.redirect_uri,
                redirect_url: request.redirect_url,
                scope: request.scope,
                state: request.state,
                pkce: request.pkce,
                nonce: request.nonce,
                login: None,
                expires_at: now + PENDING_TTL,
            },
        );
        id
    }

    /// Records which demo user signed in for a pending request.
    pub fn select_user(
        &self,
        request_id: &str,
        login: &str,
    ) -> Result<(PendingAuthorization, DemoUser), &'static str> {
        let user = self
            .user(login)
            .ok_or("There is no demo user by that name.")?;
        let mut store = self.store();
        store.purge(Instant::now());
        let pending = store
            .pending
            .get_mut(request_id)
            .ok_or("This sign-in request is unknown or has expired. Start the login again.")?;
        pending.login = Some(user.login.clone());
        Ok((pending.clone(), user.clone()))
    }

    /// Consumes a pending request (single use) and answers with where to send the browser.
    pub fn finish_authorization(&self, request_id: &str, allow: bool) -> Result<Url, &'static str> {
        let now = Instant::now();
        let mut store = self.store();
        store.purge(now);
        let pending = store.pending.get(request_id).ok_or(
            "This sign-in request is unknown, expired or already answered. Start the login again.",
        )?;
        let login = pending
            .login
            .clone()
            .ok_or("Sign in as a demo user before answering the consent page.")?;
        let pending = store.pending.remove(request_id).expect("checked above");
        let state = pending.state.as_deref();
        if !allow {
            return Ok(self.authorization_response(&pending.redirect_url, self.denial(), state));
        }
        let code = oauth::random_token();
        let url = self.authorization_response(&pending.redirect_url, &[("code", &code)], state);
        store.codes.insert(
            code,
            CodeRecord {
                client_id: pending.client_id,
                redirect_uri: pending.redirect_uri,
                scope: pending.scope,
                nonce: pending.nonce,
                pkce: pending.pkce,
                login,
                auth_time: unix_now(),
                expires_at: now + self.code_ttl,
                used: None,
            },
        );
        Ok(url)
    }

    /// The `error` parameters of a redirect after the user pressed Deny.
    fn denial(&self) -> &'static [(&'static str, &'static str)] {
        match self.dialect {
            Dialect::Standard => &[
                ("error", "access_denied"),
                ("error_description", "The user denied the request"),
            ],
            // docs.github.com, "Troubleshooting authorization request errors", Access denied.
            Dialect::Github => &[
                ("error", "access_denied"),
                (
                    "error_description",
                    "The user has denied your application access.",
                ),
                (
                    "error_uri",
                    "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-authorization-request-errors/#access-denied",
                ),
            ],
            // Doorkeeper's wording, which api.intra.42.fr answers.
            Dialect::Intra42 => &[
                ("error", "access_denied"),
                (
                    "error_description",
                    "The resource owner or authorization server denied the request.",
                ),
            ],
        }
    }

    /// The authorization_code grant (RFC 6749 §4.1.3, RFC 7636 §4.6). The redirect URI must
    /// match the authorization request's; GitHub alone lets the client leave it out.
    pub fn exchange_code(
        &self,
        client: &Client,
        code: &str,
        redirect_uri: Option<&str>,
        verifier: Option<&str>,
    ) -> Result<Issued, GrantError> {
        let now = Instant::now();
        let issued = {
            let mut guard = self.store();
            let store = &mut *guard;
            store.purge(now);
            let grant_id = store.next_grant;
            store.next_grant += 1;
            let record = store.codes.get_mut(code).ok_or(GrantError::UnknownCode)?;
            if record.client_id != client.id {
                // Not consumed: another client must not be able to burn someone else's code.
                return Err(GrantError::OtherClient);
            }
            if let Some(grant) = record.used {
                // RFC 6749 §4.1.2: a replayed code revokes what it produced.
                if let Some(grant) = grant {
                    store.revoke_grant(grant);
                }
                tracing::warn!(client = %client.id, "authorization code replayed; grant revoked");
                return Err(GrantError::Replayed);
            }
            // Any presentation by its client uses the code up, so failed attempts can't be retried.
            record.used = Some(None);
            if record.expires_at <= now {
                return Err(GrantError::Expired);
            }
            // docs.github.com, "Authorizing OAuth apps": redirect_uri is optional at GitHub's
            // token endpoint; when sent it must match.
            let redirect_optional = self.dialect == Dialect::Github && redirect_uri.is_none();
            if !redirect_optional && redirect_uri != Some(record.redirect_uri.as_str()) {
                return Err(GrantError::RedirectMismatch);
            }
            match (&record.pkce, verifier) {
                (Some(pkce), Some(verifier)) => pkce.verify(verifier)?,
                (Some(_), None) => return Err(GrantError::VerifierMissing),
                (None, Some(_)) => return Err(GrantError::VerifierWithoutChallenge),
                (None, None) => {}
            }
            let (scope, nonce) = (record.scope.clone(), record.nonce.clone());
            let grant = Grant {
                id: grant_id,
                client_id: client.id.clone(),
                login: record.login.clone(),
                auth_time: record.auth_time,
            };
            record.used = Some(Some(grant.id));
            self.issue(store, now, grant, scope.clone(), scope, nonce)
        };
        self.count(|s| s.authorization_code_grants += 1);
        Ok(issued)
    }

    /// The refresh_token grant (RFC 6749 §6) with rotation: the old refresh token dies.
    pub fn refresh(
        &self,
        client: &Client,
        refresh_token: &str,
        requested_scope: Option<&str>,
    ) -> Result<Issued, OAuthError> {
        let now = Instant::now();
        let issued = {
            let mut store = self.store();
            store.purge(now);
            if let Some(grant) = store.retired_refresh.get(refresh_token).copied() {
                store.revoke_grant(grant);
                tracing::warn!(client = %client.id, "rotated refresh token replayed; grant revoked");
                return Err(OAuthError::invalid_grant(
                    "the refresh token was already used; the grant is revoked",
                ));
            }
            let record = store
                .refresh
                .get(refresh_token)
                .ok_or_else(|| OAuthError::invalid_grant("unknown or revoked refresh token"))?;
            if record.grant.client_id != client.id {
                return Err(OAuthError::invalid_grant(
                    "the refresh token was issued to another client",
                ));
            }
            // RFC 6749 §6: a refresh may narrow the scope but never widen it.
            let access_scope = match requested_scope {
                None => record.scope.clone(),
                Some(requested) => match self.dialect {
                    Dialect::Intra42 => Scope::parse_intra42(requested),
                    _ => Scope::parse(requested),
                }
                .ok()
                .filter(|s| s.is_subset_of(&record.scope))
                .ok_or_else(|| {
                    OAuthError::new(
                        StatusCode::BAD_REQUEST,
                        "invalid_scope",
                        "the requested scope exceeds the scope originally granted",
                    )
                })?,
            };
            let record = store.refresh.remove(refresh_token).expect("checked above");
            store
                .retired_refresh
                .insert(refresh_token.to_owned(), record.grant.id);
            self.issue(
                &mut store,
                now,
                record.grant,
                access_scope,
                record.scope,
                None,
            )
        };
        self.count(|s| s.refresh_grants += 1);
        Ok(issued)
    }

    fn issue(
        &self,
        store: &mut Store,
        now: Instant,
        grant: Grant,
        access_scope: Scope,
        refresh_scope: Scope,
        nonce: Option<String>,
    ) -> Issued {
        let created_at = unix_now();
        let (access_token, refresh_token, ttl) = match self.dialect {
            Dialect::Standard => (
                oauth::random_token(),
                Some(oauth::random_token()),
                Some(self.access_token_ttl),
            ),
            // OAuth App tokens: `gho_` + 36 characters, no expiry, no refresh token
            // (docs.github.com, "About authentication to GitHub", token prefixes).
            Dialect::Github => (oauth::github_token("gho_"), None, None),
            // Doorkeeper's default tokens: 32 random bytes in hex.
            Dialect::Intra42 => (
                oauth::random_hex(32),
                Some(oauth::random_hex(32)),
                Some(self.access_token_ttl),
            ),
        };
        store.access.insert(
            access_token.clone(),
            AccessRecord {
                grant: grant.clone(),
                scope: access_scope.clone(),
                created_at,
                expires_at: ttl.map(|ttl| now + ttl),
            },
        );
        if let Some(refresh_token) = &refresh_token {
            store.refresh.insert(
                refresh_token.clone(),
                RefreshRecord {
                    grant: grant.clone(),
                    scope: refresh_scope,
                },
            );
        }
        Issued {
            access_token,
            refresh_token,
            scope: access_scope,
            grant,
            nonce,
            created_at,
            expires_in: ttl.map(|ttl| ttl.as_secs()),
        }
    }

    /// The standard dialect's token reply (RFC 6749 §5.1, OIDC Core §3.1.3.3).
    pub fn token_response(&self, issued: Issued) -> Value {
        let mut body = json!({
            "access_token": issued.access_token,
            "token_type": "Bearer",
            "expires_in": self.access_token_ttl.as_secs(),
            "refresh_token": issued.refresh_token,
            "scope": issued.scope.to_string(),
        });
        if issued.scope.contains("openid") {
            body["id_token"] = Value::String(self.id_token(&issued));
        }
        body
    }

    /// OIDC Core §2: an RS256-signed id token for the grant's user.
    fn id_token(&self, issued: &Issued) -> String {
        let iat = unix_now();
        let mut claims = Map::new();
        claims.insert("iss".into(), json!(self.issuer));
        claims.insert("aud".into(), json!(issued.grant.client_id));
        claims.insert("iat".into(), json!(iat));
        claims.insert("exp".into(), json!(iat + self.access_token_ttl.as_secs()));
        claims.insert("auth_time".into(), json!(issued.grant.auth_time));
        claims.insert("at_hash".into(), json!(keys::at_hash(&issued.access_token)));
        if let Some(nonce) = &issued.nonce {
            claims.insert("nonce".into(), json!(nonce));
        }
        claims.extend(self.user_claims(&issued.grant.login, &issued.scope));
        keys::signing_key().sign_jwt(&Value::Object(claims))
    }

    /// `sub` plus the claims the scope allows (OIDC Core §5.4).
    fn user_claims(&self, login: &str, scope: &Scope) -> Map<String, Value> {
        let mut claims = Map::new();
        // Users can't disappear at run time, but an unknown login still yields a valid subject.
        let Some(user) = self.user(login) else {
            claims.insert("sub".into(), json!(format!("user-{login}")));
            return claims;
        };
        claims.insert("sub".into(), json!(user.subject()));
        if scope.contains("profile") {
            claims.insert("name".into(), json!(user.name));
            claims.insert("preferred_username".into(), json!(user.login));
            claims.insert("picture".into(), json!(self.avatar_url(user)));
        }
        if scope.contains("email") {
            claims.insert("email".into(), json!(user.email));
            claims.insert("email_verified".into(), json!(true));
        }
        claims
    }

    /// The userinfo reply for a live access token.
    pub fn userinfo(&self, access_token: &str) -> Result<Value, &'static str> {
        let info = self.access(access_token).map_err(|problem| match problem {
            AccessProblem::Unknown => "the access token is unknown or revoked",
            AccessProblem::Expired => "the access token has expired",
        })?;
        Ok(Value::Object(self.user_claims(&info.login, &info.scope)))
    }

    /// What a resource endpoint needs to know about a bearer token.
    pub fn access(&self, access_token: &str) -> Result<AccessInfo, AccessProblem> {
        let now = Instant::now();
        let store = self.store();
        let record = store
            .access
            .get(access_token)
            .ok_or(AccessProblem::Unknown)?;
        if !record.is_live(now) {
            return Err(AccessProblem::Expired);
        }
        Ok(AccessInfo {
            login: record.grant.login.clone(),
            client_id: record.grant.client_id.clone(),
            scope: record.scope.clone(),
            created_at: record.created_at,
            expires_in: record
                .expires_at
                .map(|at| at.saturating_duration_since(now).as_secs()),
        })
    }

    pub fn is_access_token_active(&self, token: &str) -> bool {
        self.store()
            .access
            .get(token)
            .is_some_and(|a| a.is_live(Instant::now()))
    }

    /// GitHub's "Delete an app token": ends one access token of this client. False when the
    /// token is unknown or belongs to another client.
    pub fn revoke_access_token(&self, client: &Client, token: &str) -> bool {
        let mut store = self.store();
        let owned = store
            .access
            .get(token)
            .is_some_and(|a| a.grant.client_id == client.id);
        if owned {
            store.access.remove(token);
        }
        owned
    }

    /// See `DevProvider::throttle_next`.
    pub fn throttle_next(&self, calls: usize, retry_after_secs: u64) {
        let mut limiter = self.limiter();
        limiter.throttled_calls = calls;
        limiter.throttle_retry_after = retry_after_secs;
    }

    /// Uses up one throttled call, if any are left: `Some(retry_after_secs)` means answer 429.
    pub fn take_throttle(&self) -> Option<u64> {
        let mut limiter = self.limiter();
        if limiter.throttled_calls == 0 {
            return None;
        }
        limiter.throttled_calls -= 1;
        Some(limiter.throttle_retry_after)
    }

    /// Counts an API call of `client_id` against `rate_limit_per_sec` (a one-second sliding
    /// window): `Some(1)` means over the limit, answer 429 with `Retry-After: 1`. Refused calls
    /// don't count, so a client that waits gets through.
    pub fn rate_limit(&self, client_id: &str) -> Option<u64> {
        let limit = usize::try_from(self.rate_limit_per_sec?).unwrap_or(usize::MAX);
        let now = Instant::now();
        let mut limiter = self.limiter();
        let recent = limiter.recent.entry(client_id.to_owned()).or_default();
        while recent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
        {
            recent.pop_front();
        }
        if recent.len() >= limit {
            return Some(1);
        }
        recent.push_back(now);
        None
    }

    fn limiter(&self) -> MutexGuard<'_, Limiter> {
        self.limiter.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// RFC 7009 §2.1: revokes a token of this client; others' and unknown tokens are ignored.
    pub fn revoke(&self, client: &Client, token: &str) {
        let mut store = self.store();
        let refresh_grant = store
            .refresh
            .get(token)
            .filter(|r| r.grant.client_id == client.id)
            .map(|r| r.grant.id);
        let access_owned = store
            .access
            .get(token)
            .is_some_and(|a| a.grant.client_id == client.id);
        if let Some(grant) = refresh_grant {
            // Revoking a refresh token ends the whole grant, access tokens included.
            store.revoke_grant(grant);
        } else if access_owned {
            store.access.remove(token);
        }
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
