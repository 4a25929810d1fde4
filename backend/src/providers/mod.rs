//! The configured providers, shaped like oauth2-proxy's `providers/`: the protocol is written
//! once — OpenID Connect in `oidc.rs`, plain OAuth 2.0 in `oauth2.rs`, both on the
//! `oauth2`/`openidconnect` crates — the standard behaviour once (`standard.rs`), and each kind
//! in a file of its own holding its defaults and only what its service does differently, each
//! difference named with the documentation that explains it.
//!
//! A new kind (say Discord) is a `ProviderKind` variant, a file here with a type implementing
//! [`Kind`], and one line in [`kind`].

mod access;
mod error;
mod github;
mod gitlab;
mod google;
mod intra42;
mod oauth2;
mod oidc;
mod standard;

use std::{collections::BTreeMap, sync::Arc};

use ::oauth2::{AccessToken, AuthorizationCode, CsrfToken, PkceCodeVerifier};
use async_trait::async_trait;
use openidconnect::{HttpResponse, Nonce};
use secrecy::SecretString;
use serde_json::Value;
use shared::{ProfileDetails, ProviderInfo, ProviderKind, User};

pub use access::{Facts, Rule, ALL_RULES};
pub use error::ProviderError;
pub use oidc::{LogoutToken, LOGOUT_TOKEN_MAX_AGE};

use crate::{
    config::{AllowRules, Config, FieldMap, ProviderConfig, TokenAuth},
    http_client::ProviderHttp,
    session::{IdToken, ProviderTokens},
};

/// Tokens that expire within this margin are refreshed before use.
pub const REFRESH_MARGIN_SECS: i64 = 30;
/// 256 bits for `state` (rule 1 asks for at least 128).
const STATE_BYTES: u32 = 32;

/// Which protocol a kind speaks. Each kind says it in its own `Kind::protocol`, and both the
/// configuration (what is required) and the constructor (which flow to build) ask it there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// Discovery from the issuer, a verified id_token (`oidc.rs`).
    OpenIdConnect,
    /// Endpoints from configuration, the person from an API call (`oauth2.rs`).
    OAuth2,
}

/// What a kind fills in when the configuration does not say.
#[derive(Clone, Copy, Debug)]
pub struct KindDefaults {
    pub name: Option<&'static str>,
    pub issuer: Option<&'static str>,
    pub authorize_url: Option<&'static str>,
    pub token_url: Option<&'static str>,
    pub userinfo_url: Option<&'static str>,
    pub revocation_url: Option<&'static str>,
    pub jwks_url: Option<&'static str>,
    pub scopes: &'static [&'static str],
    pub token_auth: TokenAuth,
}

impl KindDefaults {
    /// A server that says nothing about itself: the OpenID Connect scopes and basic auth.
    pub const NONE: KindDefaults = KindDefaults {
        name: None,
        issuer: None,
        authorize_url: None,
        token_url: None,
        userinfo_url: None,
        revocation_url: None,
        jwks_url: None,
        scopes: &["openid", "profile", "email"],
        token_auth: TokenAuth::ClientSecretBasic,
    };
}

/// One kind of provider: its defaults and the steps where its service differs from the
/// standard. Every step has the standard behaviour as its default.
#[async_trait]
pub trait Kind: Send + Sync + 'static {
    fn protocol(&self) -> Protocol;

    fn defaults(&self) -> KindDefaults;

    /// Where the person's facts are in the userinfo JSON, when the configuration does not say.
    fn fields(&self) -> FieldMap {
        FieldMap::default()
    }

    /// The person and their provider-specific profile, from the provider's API.
    async fn profile(&self, api: &Api<'_>, token: &AccessToken) -> Result<Profile, ProviderError> {
        standard::profile(api, token).await
    }

    /// Ends the tokens at the provider (a logout).
    async fn revoke(&self, api: &Api<'_>, tokens: &ProviderTokens) -> Result<(), ProviderError> {
        standard::revoke(api, tokens).await
    }

    /// A token endpoint reply, before the oauth2 crate reads it: where a provider bends
    /// RFC 6749 §5, its kind bends the reply back.
    fn token_reply(&self, _reply: &mut HttpResponse) {}

    /// The access rules (`[providers.{id}.allow]`) this kind can check.
    fn rules(&self) -> &'static [Rule] {
        &access::STANDARD_RULES
    }

    /// What the provider vouches for, as far as `allow` needs it (rule 18). Standard: the
    /// verified email and the groups of the id_token and userinfo.
    async fn facts(
        &self,
        _api: &Api<'_>,
        _token: &AccessToken,
        login: &LoginResult,
        allow: &AllowRules,
    ) -> Result<Facts, ProviderError> {
        let docs: Vec<&Value> = login.id_token_claims.iter().chain(&login.raw).collect();
        Ok(access::standard_facts(&docs, allow))
    }

    /// The authorize parameter that makes the provider ask which account to use (the SPA's
    /// "Try another account"), where it has one.
    fn choose_account(&self) -> Option<(&'static str, &'static str)> {
        None
    }
}

/// The kind behind each `kind = "…"` of the configuration: the one place the kind is matched.
pub fn kind(kind: ProviderKind) -> &'static dyn Kind {
    match kind {
        ProviderKind::Github => &github::Github,
        ProviderKind::Intra42 => &intra42::Intra42,
        ProviderKind::Google => &google::GOOGLE,
        ProviderKind::Gitlab => &gitlab::GITLAB,
        ProviderKind::Oidc => &oidc::OIDC,
        ProviderKind::Oauth2 => &oauth2::PlainOAuth2,
    }
}

/// What a kind's calls need: the provider's id and HTTP client, the client's credentials, and
/// the endpoints in use (configured, or discovered).
pub struct Api<'a> {
    pub id: &'a str,
    pub http: &'a ProviderHttp,
    pub client_id: &'a str,
    pub client_secret: &'a SecretString,
    pub userinfo_url: Option<&'a str>,
    pub revocation_url: Option<&'a str>,
    pub fields: &'a FieldMap,
}

impl Api<'_> {
    pub fn fail(&self, message: impl Into<String>) -> ProviderError {
        ProviderError::failed(self.id, message)
    }

    pub fn userinfo_url(&self) -> Result<&str, ProviderError> {
        self.userinfo_url
            .ok_or_else(|| self.fail("the provider has no userinfo endpoint"))
    }
}

/// The endpoints a provider's API calls use, once known (OpenID Connect learns them from
/// discovery).
#[derive(Debug, Default)]
pub struct ApiEndpoints {
    pub userinfo: Option<String>,
    pub revocation: Option<String>,
    /// OpenID Connect RP-Initiated Logout 1.0.
    pub end_session: Option<String>,
}

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
}

/// The live profile (`GET /api/profile`).
pub struct Profile {
    pub user: User,
    pub details: ProfileDetails,
    pub raw: Value,
}

/// A code exchanged at the token endpoint; OpenID Connect also has the person from the
/// verified id_token, and its claims.
pub struct Exchanged {
    pub tokens: ProviderTokens,
    pub id_token_user: Option<User>,
    pub id_token_claims: Option<Value>,
}

/// The protocol half of a provider (`oauth2.rs`, `oidc.rs`).
#[async_trait]
trait Flow: Send + Sync {
    /// `extra`: one more authorize parameter (the kind's account chooser).
    async fn authorize(
        &self,
        extra: Option<(&'static str, &'static str)>,
    ) -> Result<AuthorizeRequest, ProviderError>;

    /// Mix-up defense (RFC 9207, rule 3): `iss` on the callback must be this provider's.
    async fn check_callback_issuer(&self, iss: Option<&str>) -> Result<(), ProviderError>;

    async fn exchange(
        &self,
        code: AuthorizationCode,
        verifier: PkceCodeVerifier,
        nonce: Option<Nonce>,
    ) -> Result<Exchanged, ProviderError>;

    /// New tokens from the refresh token, for the person `subject`; `Refused` when there is no
    /// refresh token, the provider says no, or the new tokens are another person's.
    async fn refresh(
        &self,
        tokens: &ProviderTokens,
        subject: &str,
    ) -> Result<ProviderTokens, ProviderError>;

    async fn endpoints(&self) -> Result<Arc<ApiEndpoints>, ProviderError>;

    /// A back-channel logout token, verified; OAuth 2.0 has none.
    async fn logout_token(&self, _jwt: &str) -> Result<oidc::LogoutToken, String> {
        Err("this provider has no back-channel logout (it is not OpenID Connect)".into())
    }
}

/// What every flow is built from.
struct FlowConfig<'a> {
    config: &'a ProviderConfig,
    redirect_uri: String,
    http: ProviderHttp,
    kind: &'static dyn Kind,
}

pub struct Provider {
    pub info: ProviderInfo,
    kind: &'static dyn Kind,
    flow: Box<dyn Flow>,
    http: ProviderHttp,
    client_id: String,
    client_secret: SecretString,
    fields: FieldMap,
    allow: Option<AllowRules>,
}

impl Provider {
    fn new(config: &ProviderConfig, origin: &str, http: ProviderHttp) -> Self {
        let kind = kind(config.kind);
        // Rule 4: the redirect URI comes from configuration only, never from a request.
        let flow_config = FlowConfig {
            config,
            redirect_uri: format!("{origin}/callback/{}", config.id),
            http: http.clone(),
            kind,
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
            client_id: config.client_id.clone(),
            client_secret: config.client_secret.clone(),
            fields: config.fields.clone(),
            allow: config.allow.clone(),
        }
    }

    pub fn id(&self) -> &str {
        &self.info.id
    }

    fn api<'a>(&'a self, endpoints: &'a ApiEndpoints) -> Api<'a> {
        Api {
            id: self.id(),
            http: &self.http,
            client_id: &self.client_id,
            client_secret: &self.client_secret,
            userinfo_url: endpoints.userinfo.as_deref(),
            revocation_url: endpoints.revocation.as_deref(),
            fields: &self.fields,
        }
    }

    /// A new login; `another_account` asks the provider to let the person choose an account.
    pub async fn authorize(
        &self,
        another_account: bool,
    ) -> Result<AuthorizeRequest, ProviderError> {
        let extra = another_account
            .then(|| self.kind.choose_account())
            .flatten();
        self.flow.authorize(extra).await
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
        let Exchanged {
            tokens,
            id_token_user,
            id_token_claims,
        } = self.flow.exchange(code, verifier, nonce).await?;
        let endpoints = self.flow.endpoints().await?;
        let mut raw = None;
        let user = match id_token_user {
            Some(claims) if endpoints.userinfo.is_none() => claims,
            claims => {
                let api = self.api(&endpoints);
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
        Ok(LoginResult {
            user,
            tokens,
            id_token_claims,
            raw,
        })
    }

    /// OpenID Connect Back-Channel Logout 1.0 §2.6: the logout token's signature and claims
    /// (its `jti` is checked against replays by the caller).
    pub async fn logout_token(&self, jwt: &str) -> Result<LogoutToken, String> {
        self.flow.logout_token(jwt).await
    }

    /// Rule 18: whether the person of `login` may log in here; the sentence naming the rules
    /// that failed when not (their tokens are then the caller's to revoke).
    pub async fn check_access(
        &self,
        login: &LoginResult,
    ) -> Result<Result<(), String>, ProviderError> {
        let Some(allow) = &self.allow else {
            return Ok(Ok(()));
        };
        let endpoints = self.flow.endpoints().await?;
        let facts = self
            .kind
            .facts(
                &self.api(&endpoints),
                &login.tokens.access_token,
                login,
                allow,
            )
            .await?;
        let who = login
            .user
            .email
            .as_deref()
            .or(login.user.login.as_deref())
            .unwrap_or(&login.user.subject);
        Ok(access::check(allow, &facts, who))
    }

    /// The live profile with an access token.
    pub async fn profile(&self, token: &AccessToken) -> Result<Profile, ProviderError> {
        let endpoints = self.flow.endpoints().await?;
        self.kind.profile(&self.api(&endpoints), token).await
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
            .append_pair("client_id", &self.client_id)
            .append_pair("post_logout_redirect_uri", post_logout_redirect_uri);
        Some(url.into())
    }

    /// Revocation where the provider offers it. Failures are logged, not returned: a logout
    /// must end the local session whatever the provider says.
    pub async fn revoke(&self, tokens: &ProviderTokens) {
        let result = match self.flow.endpoints().await {
            Ok(endpoints) => self.kind.revoke(&self.api(&endpoints), tokens).await,
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
            .map(|p| Provider::new(p, &origin, http.clone()))
            .collect();
        Ok(Providers {
            list: Arc::new(list),
        })
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

/// The SPA builds the authorize URL itself (DESIGN.md step 3), so it gets the endpoint and the
/// parameters apart; parameters already in the endpoint's own query stay in the endpoint.
fn split_authorize_url(url: &url::Url, endpoint: &str) -> BTreeMap<String, String> {
    let endpoint_params: Vec<(String, String)> = url::Url::parse(endpoint)
        .map(|u| u.query_pairs().into_owned().collect())
        .unwrap_or_default();
    url.query_pairs()
        .into_owned()
        .filter(|pair| !endpoint_params.contains(pair))
        .collect()
}

/// The tokens of a token endpoint reply. After a refresh, what the reply leaves out is kept
/// from `previous`: RFC 6749 §6, a new refresh token replaces the old one, and without one the
/// old one stays (and so does the id_token, OIDC Core §12.2).
fn tokens_from(
    reply: &impl ::oauth2::TokenResponse,
    id_token: Option<IdToken>,
    previous: Option<&ProviderTokens>,
) -> ProviderTokens {
    ProviderTokens {
        access_token: reply.access_token().clone(),
        refresh_token: reply
            .refresh_token()
            .cloned()
            .or_else(|| previous.and_then(|p| p.refresh_token.clone())),
        id_token: id_token.or_else(|| previous.and_then(|p| p.id_token.clone())),
        expires_at: reply
            .expires_in()
            .map(|d| crate::session::now() + i64::try_from(d.as_secs()).unwrap_or(i64::MAX / 2)),
    }
}

/// The token endpoint as the oauth2 crate sees it: replies pass through the kind's fix-ups.
struct TokenHttp<'a> {
    http: &'a ProviderHttp,
    kind: &'static dyn Kind,
}

impl<'c> ::oauth2::AsyncHttpClient<'c> for TokenHttp<'_> {
    type Error = crate::http_client::ProviderHttpError;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<HttpResponse, Self::Error>> + Send + 'c>,
    >;

    fn call(&'c self, request: ::oauth2::HttpRequest) -> Self::Future {
        Box::pin(async move {
            let mut reply = self.http.send(request).await?;
            self.kind.token_reply(&mut reply);
            Ok(reply)
        })
    }
}
