//! The configured providers, shaped like oauth2-proxy's `providers/`: the protocol is written
//! once — OpenID Connect in `oidc/`, plain OAuth 2.0 in `oauth2.rs`, both on the
//! `oauth2`/`openidconnect` crates, behind the `Flow` of `flow.rs` — the standard behaviour once
//! (`standard.rs`), and each kind in a file of its own holding its defaults and only what its
//! service does differently, each difference named with the documentation that explains it.
//! Here: [`Provider`], what the routes call, which puts a kind and a flow together.
//!
//! A new kind (say Discord) is a `ProviderKind` variant, a file here with a type implementing
//! [`Kind`], and one line in [`kind()`].

mod access;
mod client_auth;
mod dpop;
mod error;
mod flow;
mod github;
mod gitlab;
mod google;
mod intra42;
mod jose;
mod kind;
mod login_options;
mod oauth2;
mod oidc;
mod par;
mod standard;

use std::{collections::BTreeMap, sync::Arc};

use ::oauth2::{AuthorizationCode, CsrfToken, PkceCodeVerifier};
use openidconnect::Nonce;
use serde_json::Value;
use shared::{ProfileDetails, ProviderInfo, User};

pub use access::{admits, Denied, Facts, Rule, Wanted, ALL_RULES};
pub use error::ProviderError;
pub use flow::ApiEndpoints;
pub use jose::{ClientKey, DpopKey};
pub use kind::{kind, Api, Kind, KindDefaults, Protocol};
pub use login_options::{checked_auth_time, LoginOptions, MAX_MAX_AGE};
/// `Jwk`: the OpenID Connect providers' signing keys (public for backend/benches).
#[cfg(feature = "internals")]
pub use oidc::Jwk;
pub use oidc::{LogoutToken, LOGOUT_TOKEN_MAX_AGE};

use crate::{
    config::{AllowRules, Config, FieldMap, ParMode, Policy, ProviderConfig},
    http_client::ProviderHttp,
    session::ProviderTokens,
};
use client_auth::ClientAuth;
use flow::{CodeGrant, Exchanged, Flow, FlowConfig};

/// Tokens that expire within this margin are refreshed before use.
pub const REFRESH_MARGIN_SECS: i64 = 30;

/// What `POST /api/login/{provider}` needs: the public part goes to the SPA, the secrets
/// (verifier, nonce) stay in the login attempt.
pub struct AuthorizeRequest {
    pub authorize_endpoint: String,
    pub params: BTreeMap<String, String>,
    pub state: CsrfToken,
    pub pkce_verifier: PkceCodeVerifier,
    pub nonce: Option<Nonce>,
}

/// A finished login: who logged in, the tokens to keep (sealed) in the session, and what the
/// provider said about the person (for the access rules, rule 18, and the provider session).
pub struct LoginResult {
    pub user: User,
    pub tokens: ProviderTokens,
    /// The verified id_token's claims (OpenID Connect).
    pub id_token_claims: Option<Value>,
    /// The provider API's reply about the person (userinfo, GitHub's `/user`, 42's `/v2/me`).
    pub raw: Option<Value>,
    /// Rule 21: whether the provider says `user.email` is verified (each kind's
    /// `Kind::email_verified`). Only then is it told to an app as the person's address.
    pub email_verified: bool,
}

/// The live profile (`GET /api/profile`).
pub struct Profile {
    pub user: User,
    pub details: ProfileDetails,
    pub raw: Value,
}

pub struct Provider {
    pub info: ProviderInfo,
    kind: &'static dyn Kind,
    flow: Box<dyn Flow>,
    http: ProviderHttp,
    auth: Arc<ClientAuth>,
    par: ParMode,
    fields: FieldMap,
    allow: Option<AllowRules>,
    /// The facts its `allow` and the policies need of this provider.
    wanted: Wanted,
}

impl Provider {
    fn new(config: &ProviderConfig, policies: &[Policy], origin: &str, http: ProviderHttp) -> Self {
        let kind = kind(config.kind);
        let auth = Arc::new(ClientAuth::new(config));
        let rules = config.allow.iter().chain(policies.iter().map(|p| &p.rules));
        let wanted = Wanted::of(rules, kind.rules());
        // Rule 4: the redirect URI comes from configuration only, never from a request.
        let flow_config = FlowConfig {
            config,
            redirect_uri: format!("{origin}/callback/{}", config.id),
            http: http.clone(),
            kind,
            auth: auth.clone(),
        };
        let flow: Box<dyn Flow> = match kind.protocol() {
            Protocol::OpenIdConnect => Box::new(oidc::OidcFlow::new(flow_config)),
            Protocol::OAuth2 => Box::new(oauth2::OAuth2Flow::new(flow_config)),
        };
        Provider {
            info: ProviderInfo {
                id: config.id.clone(),
                name: config.name.clone(),
                kind: config.kind,
            },
            kind,
            flow,
            http,
            auth,
            par: config.par,
            fields: config.fields.clone(),
            allow: config.allow.clone(),
            wanted,
        }
    }

    pub fn id(&self) -> &str {
        &self.info.id
    }

    /// What a kind's calls need; with `tokens`, calls as the person they belong to.
    fn api<'a>(
        &'a self,
        endpoints: &'a ApiEndpoints,
        tokens: Option<&'a ProviderTokens>,
    ) -> Api<'a> {
        Api {
            id: self.id(),
            http: &self.http,
            auth: &self.auth,
            token_url: endpoints.token.as_deref(),
            userinfo_url: endpoints.userinfo.as_deref(),
            revocation_url: endpoints.revocation.as_deref(),
            fields: &self.fields,
            dpop: tokens.and_then(ProviderTokens::bound_to),
        }
    }

    /// A new login with the `options` it asks for (`another_account`: the kind's account
    /// chooser), its parameters pushed first where `par` says so (RFC 9126).
    pub async fn authorize(
        &self,
        options: &LoginOptions,
    ) -> Result<AuthorizeRequest, ProviderError> {
        let mut extra = options.params();
        if options.another_account {
            if let Some((name, value)) = self.kind.choose_account() {
                extra.push((name.to_owned(), value.to_owned()));
            }
        }
        let request = self.flow.authorize(&extra).await?;
        let endpoints = self.flow.endpoints().await?;
        match par::endpoint(self.par, &endpoints, self.id())? {
            Some(endpoint) => par::push(&self.api(&endpoints, None), endpoint, request).await,
            None => Ok(request),
        }
    }

    /// The public key `private_key_jwt` signs with, as a JWK Set: what the provider registers
    /// (served at `/.well-known/portero-client-jwks/{provider}`). `None` for secret-based
    /// clients.
    pub fn client_jwks(&self) -> Option<Value> {
        self.auth.key().map(ClientKey::jwks)
    }

    pub async fn check_callback_issuer(&self, iss: Option<&str>) -> Result<(), ProviderError> {
        self.flow.check_callback_issuer(iss).await
    }

    /// Exchanges the code and learns who logged in: from the id_token and userinfo (OpenID
    /// Connect), or from the kind's API call (OAuth 2.0).
    pub async fn finish(
        &self,
        code: AuthorizationCode,
        verifier: PkceCodeVerifier,
        nonce: Option<Nonce>,
    ) -> Result<LoginResult, ProviderError> {
        // RFC 9449: each session gets a key of its own, which proves every call with its tokens.
        let dpop = self.auth.dpop.then(DpopKey::generate);
        let Exchanged {
            tokens,
            id_token_user,
            id_token_claims,
        } = self
            .flow
            .exchange(CodeGrant {
                code,
                verifier,
                nonce,
                dpop,
            })
            .await?;
        let endpoints = self.flow.endpoints().await?;
        let mut raw = None;
        let user = match id_token_user {
            Some(claims) if endpoints.userinfo.is_none() => claims,
            claims => {
                let api = self.api(&endpoints, Some(&tokens));
                let profile = self
                    .kind
                    .profile(&api, &tokens.access_token)
                    .await
                    .map_err(|e| match e {
                        ProviderError::Unauthorized { .. } => {
                            api.fail("refused the access token it had just issued")
                        }
                        other => other,
                    })?;
                raw = Some(profile.raw);
                let from_api = profile.user;
                match claims {
                    None => from_api,
                    // OIDC Core §5.3.2: userinfo's `sub` must be the id_token's.
                    Some(claims) if claims.subject != from_api.subject => {
                        return Err(api.fail(
                            "the userinfo endpoint answered about another person than the id_token",
                        ))
                    }
                    Some(claims) => User {
                        login: from_api.login.or(claims.login),
                        name: from_api.name.or(claims.name),
                        email: from_api.email.or(claims.email),
                        avatar_url: from_api.avatar_url.or(claims.avatar_url),
                        ..claims
                    },
                }
            }
        };
        let mut login = LoginResult {
            user,
            tokens,
            id_token_claims,
            raw,
            email_verified: false,
        };
        login.email_verified = self
            .kind
            .email_verified(
                &self.api(&endpoints, Some(&login.tokens)),
                &login.tokens.access_token,
                &login,
            )
            .await?;
        Ok(login)
    }

    async fn check_at_start(&self) -> anyhow::Result<()> {
        let id = self.id();
        if let Some(key) = self.auth.key() {
            tracing::info!(
                provider = %id,
                kid = %key.public_jwk()["kid"],
                "client assertions are signed with client_key_file; the provider needs its public \
                 key: GET /.well-known/portero-client-jwks/{id}, or portero --print-client-jwk {id}"
            );
        }
        let asks_discovery = self.par == ParMode::Always || self.auth.dpop;
        if !asks_discovery || self.kind.protocol() != Protocol::OpenIdConnect {
            return Ok(());
        }
        let endpoints = match self.flow.endpoints().await {
            Ok(endpoints) => endpoints,
            Err(e) => {
                tracing::warn!(provider = %id, error = %e, "cannot check par and dpop now: they are checked at the first login");
                return Ok(());
            }
        };
        if self.par == ParMode::Always && endpoints.par.is_none() {
            anyhow::bail!(
                "configuration: providers.{id}.par: \"always\", but its discovery names no \
                 pushed_authorization_request_endpoint on the issuer's host (set par_url, or \
                 par = \"auto\")"
            );
        }
        let es256 = endpoints
            .dpop_algs
            .as_ref()
            .is_some_and(|algs| algs.iter().any(|a| a == "ES256"));
        if self.auth.dpop && !es256 {
            tracing::warn!(
                provider = %id,
                issuer = %self.auth.issuer(),
                "dpop = true, but its discovery lists no dpop_signing_alg_values_supported with \
                 ES256: it may not bind tokens (a Bearer token is then accepted and logged once)"
            );
        }
        Ok(())
    }

    /// OpenID Connect Back-Channel Logout 1.0 §2.6: the logout token's signature and claims
    /// (its `jti` is checked against replays by the caller).
    pub async fn logout_token(&self, jwt: &str) -> Result<LogoutToken, String> {
        self.flow.logout_token(jwt).await
    }

    /// Whether any rule (this provider's `allow`, a policy) reads facts about its people:
    /// otherwise none are read, at a login or after.
    pub fn reads_facts(&self) -> bool {
        !self.wanted.is_empty()
    }

    /// What the provider vouches for about the person of `login`, as far as the rules need
    /// it; `None` when no rule needs anything.
    pub async fn facts(&self, login: &LoginResult) -> Result<Option<Facts>, ProviderError> {
        if !self.reads_facts() {
            return Ok(None);
        }
        let endpoints = self.flow.endpoints().await?;
        let token = &login.tokens.access_token;
        let api = self.api(&endpoints, Some(&login.tokens));
        Ok(Some(
            self.kind.facts(&api, token, login, &self.wanted).await?,
        ))
    }

    /// The facts about `user` read again with `tokens` (rule 22): the kind's profile call
    /// again (userinfo, GitHub's `/user`, 42's `/v2/me`), which must still be about the same
    /// person, and the id_token the session holds (verified when it came). `Refused` when the
    /// provider answers about someone else.
    pub async fn facts_again(
        &self,
        tokens: &ProviderTokens,
        user: &User,
    ) -> Result<Facts, ProviderError> {
        let endpoints = self.flow.endpoints().await?;
        let id_token_claims = tokens
            .id_token
            .as_ref()
            .and_then(|t| standard::jwt_payload(t.secret()));
        let mut login = LoginResult {
            user: user.clone(),
            tokens: tokens.clone(),
            id_token_claims,
            raw: None,
            // The session keeps the login's verdict on its address (rule 21); facts read
            // verified addresses on their own.
            email_verified: false,
        };
        let api = self.api(&endpoints, Some(tokens));
        if endpoints.userinfo.is_some() || login.id_token_claims.is_none() {
            let profile = self.kind.profile(&api, &tokens.access_token).await?;
            if profile.user.subject != user.subject {
                return Err(ProviderError::refused(
                    self.id(),
                    "the provider answered about another person than the session's",
                ));
            }
            login.raw = Some(profile.raw);
        }
        self.kind
            .facts(&api, &tokens.access_token, &login, &self.wanted)
            .await
    }

    /// Rule 18: whether `user`, with `facts`, may log in here; the rules that failed when not
    /// (the caller revokes the tokens of a refused login).
    pub fn check_access(&self, facts: Option<&Facts>, user: &User) -> Result<(), Denied> {
        let Some(allow) = &self.allow else {
            return Ok(());
        };
        // The login rather than an address: an email rule's refusal then names no domain.
        let who = user
            .login
            .as_deref()
            .or(user.email.as_deref())
            .unwrap_or(&user.subject);
        access::check(allow, facts.unwrap_or(&Facts::default()), who)
    }

    /// The live profile with the person's tokens.
    pub async fn profile(&self, tokens: &ProviderTokens) -> Result<Profile, ProviderError> {
        let endpoints = self.flow.endpoints().await?;
        let api = self.api(&endpoints, Some(tokens));
        self.kind.profile(&api, &tokens.access_token).await
    }

    pub async fn refresh(
        &self,
        tokens: &ProviderTokens,
        subject: &str,
    ) -> Result<ProviderTokens, ProviderError> {
        self.flow.refresh(tokens, subject).await
    }

    /// OpenID Connect providers with an `end_session_endpoint`: the RP-initiated logout URL
    /// (RP-Initiated Logout 1.0 §2) that brings the browser back to `post_logout_redirect_uri`.
    /// Identified by `client_id`, not `id_token_hint`: the id_token would reach the browser,
    /// which rule 8 forbids (the provider may then ask the person to confirm, as §2 allows).
    pub async fn end_session_url(&self, post_logout_redirect_uri: &str) -> Option<String> {
        let endpoints = self.flow.endpoints().await.ok()?;
        let endpoint = endpoints.end_session.as_deref()?;
        let mut url = standard::secure_url(endpoint)
            .map_err(|e| tracing::warn!(provider = %self.id(), error = %e, "end_session_endpoint unusable"))
            .ok()?;
        url.query_pairs_mut()
            .append_pair("client_id", self.auth.client_id())
            .append_pair("post_logout_redirect_uri", post_logout_redirect_uri);
        Some(url.into())
    }

    /// Revocation where the provider offers it. Failures are logged, not returned: a logout
    /// must end the local session whatever the provider says.
    pub async fn revoke(&self, tokens: &ProviderTokens) {
        let result = match self.flow.endpoints().await {
            Ok(endpoints) => {
                let api = self.api(&endpoints, Some(tokens));
                self.kind.revoke(&api, tokens).await
            }
            Err(e) => Err(e),
        };
        if let Err(e) = result {
            tracing::warn!(provider = %self.id(), error = %e, "token revocation failed");
        }
    }
}

#[derive(Clone)]
pub struct Providers {
    list: Arc<Vec<Provider>>,
}

impl Providers {
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        let http = ProviderHttp::new(config.server.provider_timeout)?;
        let origin = config.server.origin();
        let list = config
            .providers
            .iter()
            .map(|p| Provider::new(p, &config.policies, &origin, http.clone()))
            .collect();
        Ok(Providers {
            list: Arc::new(list),
        })
    }

    /// What start-up checks of the stricter providers (docs/design.md, "Stricter providers"),
    /// from their discovery documents: `par = "always"` at a provider without a PAR endpoint
    /// stops start-up; `dpop = true` at one that lists no DPoP algorithm is warned about. A
    /// provider that cannot be reached now is warned about and checked again at its first login.
    pub async fn check_at_start(&self) -> anyhow::Result<()> {
        for provider in self.list.iter() {
            provider.check_at_start().await?;
        }
        Ok(())
    }

    /// The provider with this id; `None` for ids no configuration names.
    pub fn get(&self, id: &str) -> Option<&Provider> {
        self.list.iter().find(|p| p.id() == id)
    }

    pub fn infos(&self) -> Vec<ProviderInfo> {
        self.list.iter().map(|p| p.info.clone()).collect()
    }
}

/// Endpoints that receive the client secret or a token must use https, except on a loopback
/// address (development and tests): the reason, when `url` breaks that.
pub fn require_https_off_loopback(url: &str) -> Result<(), &'static str> {
    match url::Url::parse(url) {
        Ok(url) if url.scheme() == "https" || standard::is_loopback(&url) => Ok(()),
        Ok(_) => Err("must use https (plain http only on a loopback address)"),
        Err(_) => Err("is not a URL"),
    }
}
