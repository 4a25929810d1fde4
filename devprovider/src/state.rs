//! Everything the provider remembers, in memory: pending authorization requests, codes and
//! tokens, and the rules that govern them. Handlers only translate HTTP to these calls.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::http::StatusCode;
use serde_json::{json, Map, Value};
use url::Url;

use crate::keys;
use crate::oauth::{self, OAuthError};
use crate::{Client, Config, DemoUser, Stats};

/// How long a user has to get from the login page through consent.
const PENDING_TTL: Duration = Duration::from_secs(600);
/// Used codes are remembered this long past their expiry, so a replay still revokes the grant.
const USED_CODE_RETENTION: Duration = Duration::from_secs(600);

pub const SUPPORTED_SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];

pub struct AppState {
    pub issuer: String,
    clients: HashMap<String, RegisteredClient>,
    users: Vec<DemoUser>,
    access_token_ttl: Duration,
    code_ttl: Duration,
    store: Mutex<Store>,
    stats: Mutex<Stats>,
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

    pub fn contains(&self, scope: &str) -> bool {
        self.0.iter().any(|s| s == scope)
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

/// A validated authorization request, waiting for the user to sign in and consent.
#[derive(Clone)]
pub struct PendingAuthorization {
    pub client_id: String,
    pub redirect_uri: String,
    redirect_url: Url,
    pub scope: Scope,
    pub state: Option<String>,
    pub code_challenge: String,
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
    pub code_challenge: String,
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
    code_challenge: String,
    login: String,
    auth_time: u64,
    expires_at: Instant,
    /// None until first presented; then whether it produced a grant (so a replay can revoke it).
    used: Option<Option<u64>>,
}

struct AccessRecord {
    grant: Grant,
    scope: Scope,
    expires_at: Instant,
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
        self.access.retain(|_, a| a.expires_at > now);
    }

    fn revoke_grant(&mut self, grant: u64) {
        self.access.retain(|_, a| a.grant.id != grant);
        self.refresh.retain(|_, r| r.grant.id != grant);
        self.retired_refresh.retain(|_, g| *g != grant);
    }
}

/// Tokens minted under the lock; the id token is signed after it is released.
struct Issued {
    access_token: String,
    refresh_token: String,
    scope: Scope,
    grant: Grant,
    nonce: Option<String>,
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
            clients,
            users: config.users,
            access_token_ttl: config.access_token_ttl,
            code_ttl: config.code_ttl,
            store: Mutex::new(Store::default()),
            stats: Mutex::new(Stats::default()),
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
            query.append_pair("iss", &self.issuer);
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
                code_challenge: request.code_challenge,
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
            return Ok(self.authorization_response(
                &pending.redirect_url,
                &[
                    ("error", "access_denied"),
                    ("error_description", "The user denied the request"),
                ],
                state,
            ));
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
                code_challenge: pending.code_challenge,
                login,
                auth_time: unix_now(),
                expires_at: now + self.code_ttl,
                used: None,
            },
        );
        Ok(url)
    }

    /// The authorization_code grant (RFC 6749 §4.1.3, RFC 7636 §4.6).
    pub fn exchange_code(
        &self,
        client: &Client,
        code: &str,
        redirect_uri: Option<&str>,
        verifier: Option<&str>,
    ) -> Result<Value, OAuthError> {
        let now = Instant::now();
        let issued = {
            let mut guard = self.store();
            let store = &mut *guard;
            store.purge(now);
            let grant_id = store.next_grant;
            store.next_grant += 1;
            let record = store
                .codes
                .get_mut(code)
                .ok_or_else(|| OAuthError::invalid_grant("unknown authorization code"))?;
            if record.client_id != client.id {
                // Not consumed: another client must not be able to burn someone else's code.
                return Err(OAuthError::invalid_grant(
                    "the authorization code was issued to another client",
                ));
            }
            if let Some(grant) = record.used {
                // RFC 6749 §4.1.2: a replayed code revokes what it produced.
                if let Some(grant) = grant {
                    store.revoke_grant(grant);
                }
                tracing::warn!(client = %client.id, "authorization code replayed; grant revoked");
                return Err(OAuthError::invalid_grant(
                    "the authorization code was already used; tokens issued for it are revoked",
                ));
            }
            // Any presentation by its client uses the code up, so failed attempts can't be retried.
            record.used = Some(None);
            if record.expires_at <= now {
                return Err(OAuthError::invalid_grant(
                    "the authorization code has expired",
                ));
            }
            if redirect_uri != Some(record.redirect_uri.as_str()) {
                return Err(OAuthError::invalid_grant(
                    "redirect_uri differs from the one in the authorization request",
                ));
            }
            let verifier = verifier
                .ok_or_else(|| OAuthError::invalid_grant("code_verifier is required (PKCE)"))?;
            if !oauth::is_valid_verifier(verifier) {
                return Err(OAuthError::invalid_grant(
                    "code_verifier must be 43 to 128 unreserved characters",
                ));
            }
            if !oauth::pkce_s256_matches(verifier, &record.code_challenge) {
                return Err(OAuthError::invalid_grant(
                    "code_verifier does not match the code_challenge",
                ));
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
        Ok(self.token_response(issued))
    }

    /// The refresh_token grant (RFC 6749 §6) with rotation: the old refresh token dies.
    pub fn refresh(
        &self,
        client: &Client,
        refresh_token: &str,
        requested_scope: Option<&str>,
    ) -> Result<Value, OAuthError> {
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
                Some(requested) => Scope::parse(requested)
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
        Ok(self.token_response(issued))
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
        let access_token = oauth::random_token();
        let refresh_token = oauth::random_token();
        store.access.insert(
            access_token.clone(),
            AccessRecord {
                grant: grant.clone(),
                scope: access_scope.clone(),
                expires_at: now + self.access_token_ttl,
            },
        );
        store.refresh.insert(
            refresh_token.clone(),
            RefreshRecord {
                grant: grant.clone(),
                scope: refresh_scope,
            },
        );
        Issued {
            access_token,
            refresh_token,
            scope: access_scope,
            grant,
            nonce,
        }
    }

    fn token_response(&self, issued: Issued) -> Value {
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
        let now = Instant::now();
        let (login, scope) = {
            let store = self.store();
            let record = store
                .access
                .get(access_token)
                .ok_or("the access token is unknown or revoked")?;
            if record.expires_at <= now {
                return Err("the access token has expired");
            }
            (record.grant.login.clone(), record.scope.clone())
        };
        Ok(Value::Object(self.user_claims(&login, &scope)))
    }

    pub fn is_access_token_active(&self, token: &str) -> bool {
        self.store()
            .access
            .get(token)
            .is_some_and(|a| a.expires_at > Instant::now())
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
