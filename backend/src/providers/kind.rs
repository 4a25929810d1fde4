//! What differs from one kind of provider to the next: its protocol, its defaults, and the
//! steps where its service departs from the standard ([`Kind`]); and [`kind()`], the one place a
//! `kind = "…"` of the configuration is matched.

use ::oauth2::AccessToken;
use async_trait::async_trait;
use openidconnect::HttpResponse;
use serde_json::Value;
use shared::ProviderKind;

use super::{
    access, client_auth::ClientAuth, github, gitlab, google, intra42, jose::DpopKey, oauth2, oidc,
    standard, Facts, LoginResult, Profile, ProviderError, Rule, Wanted,
};
use crate::{
    config::{FieldMap, TokenAuth},
    http_client::ProviderHttp,
    session::ProviderTokens,
};

/// Which protocol a kind speaks. Each kind says it in its own `Kind::protocol`, and both the
/// configuration (what is required) and the constructor (which flow to build) ask it there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// Discovery from the issuer, a verified id_token (`oidc/`).
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
    /// Whether the service can take `private_key_jwt`, PAR and DPoP at all: false where its
    /// documentation knows only client secrets, so that asking for them is a configuration error
    /// rather than a login that fails.
    pub strict_clients: bool,
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
        strict_clients: true,
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

    /// What the provider vouches for, as far as the rules need it (`wanted`; rule 18), about
    /// the person of `login` (at a login, or its re-check: `login.raw` is then the kind's
    /// profile reply read again). Standard: the verified email and the groups of the id_token
    /// and userinfo.
    async fn facts(
        &self,
        _api: &Api<'_>,
        _token: &AccessToken,
        login: &LoginResult,
        wanted: &Wanted,
    ) -> Result<Facts, ProviderError> {
        let docs: Vec<&Value> = login.id_token_claims.iter().chain(&login.raw).collect();
        Ok(access::standard_facts(&docs, wanted))
    }

    /// Rule 21: whether the provider says the person's address (`login.user.email`) is
    /// verified. Standard: a document that gives this address (the id_token, userinfo) says
    /// `email_verified: true` beside it (OIDC Core §5.1), as the access rules read it.
    async fn email_verified(
        &self,
        api: &Api<'_>,
        _token: &AccessToken,
        login: &LoginResult,
    ) -> Result<bool, ProviderError> {
        Ok(standard::email_verified(login, api.fields))
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

/// What a kind's calls need: the provider's id and HTTP client, Portero as its client, the
/// endpoints in use (configured, or discovered), and the key that proves each use of the
/// person's access token when the provider bound it to one (DPoP).
pub struct Api<'a> {
    pub id: &'a str,
    pub http: &'a ProviderHttp,
    pub auth: &'a ClientAuth,
    pub token_url: Option<&'a str>,
    pub userinfo_url: Option<&'a str>,
    pub revocation_url: Option<&'a str>,
    pub fields: &'a FieldMap,
    pub dpop: Option<&'a DpopKey>,
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
