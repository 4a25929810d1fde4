//! The configured providers. The protocol (RFC 6749 §4.1 with PKCE, OpenID Connect Core) is
//! written once, in the `oauth2`/`openidconnect` crates and in `oidc.rs`; a provider kind with
//! quirks gets its own file holding only those.

mod oidc;

use std::{collections::BTreeMap, sync::Arc};

use secrecy::SecretString;
use shared::{ProviderInfo, ProviderKind, User};
use url::Url;

use crate::{
    config::{Config, ProviderConfig},
    error::AppError,
    http_client::ProviderHttp,
    session::ProviderTokens,
};

/// What `POST /api/login/{provider}` needs: the public part goes to the SPA, the secrets
/// (verifier, nonce) stay in the login attempt.
pub struct AuthorizeRequest {
    pub authorize_endpoint: String,
    pub params: BTreeMap<String, String>,
    pub state: String,
    pub pkce_verifier: String,
    pub nonce: Option<String>,
}

/// A finished login: who logged in, and the tokens to keep (sealed) in the session.
pub struct LoginResult {
    pub user: User,
    pub tokens: ProviderTokens,
}

pub struct Provider {
    pub info: ProviderInfo,
    protocol: oidc::Oidc,
}

impl Provider {
    fn new(config: &ProviderConfig, public_origin: &Url, http: ProviderHttp) -> Self {
        // Rule 4: the redirect URI comes from configuration only, never from a request.
        let redirect_uri = format!(
            "{}/callback/{}",
            public_origin.origin().ascii_serialization(),
            config.id
        );
        let protocol = match config.kind {
            ProviderKind::Oidc | ProviderKind::Google | ProviderKind::Gitlab => {
                oidc::Oidc::new(config, redirect_uri, http)
            }
            // Config validation refuses the kinds this build cannot serve.
            other => unreachable!("provider kind {other:?} passed config validation"),
        };
        Provider {
            info: ProviderInfo {
                id: config.id.clone(),
                name: config.name.clone(),
                kind: config.kind,
            },
            protocol,
        }
    }

    pub fn id(&self) -> &str {
        &self.info.id
    }

    pub async fn authorize(&self) -> Result<AuthorizeRequest, AppError> {
        self.protocol.authorize().await
    }

    /// Mix-up defense (RFC 9207, rule 3): `iss` on the callback must be this provider's issuer.
    pub async fn check_callback_issuer(&self, iss: Option<&str>) -> Result<(), AppError> {
        self.protocol.check_callback_issuer(iss).await
    }

    pub async fn finish(
        &self,
        code: String,
        pkce_verifier: String,
        nonce: Option<String>,
    ) -> Result<LoginResult, AppError> {
        self.protocol.finish(code, pkce_verifier, nonce).await
    }

    /// RFC 7009 revocation where the provider offers it. Failures are logged, not returned: a
    /// logout must end the local session whatever the provider says.
    pub async fn revoke(&self, tokens: &ProviderTokens) {
        self.protocol.revoke(tokens).await
    }
}

#[derive(Clone)]
pub struct Providers {
    list: Arc<Vec<Provider>>,
}

impl Providers {
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        let http = ProviderHttp::new(config.server.provider_timeout)?;
        let list = config
            .providers
            .iter()
            .map(|p| Provider::new(p, &config.server.public_origin, http.clone()))
            .collect();
        Ok(Providers {
            list: Arc::new(list),
        })
    }

    pub fn get(&self, id: &str) -> Result<&Provider, AppError> {
        self.list
            .iter()
            .find(|p| p.id() == id)
            .ok_or_else(|| AppError::UnknownProvider(id.chars().take(64).collect()))
    }

    pub fn infos(&self) -> Vec<ProviderInfo> {
        self.list.iter().map(|p| p.info.clone()).collect()
    }
}

pub(crate) fn secret(value: impl Into<String>) -> SecretString {
    SecretString::from(value.into())
}
