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

/// RFC 7009 token revocation with client_secret_basic.
///
/// Written here rather than taken from `oauth2`, whose `revoke_token` refuses any `http://`
/// endpoint: that rule stays (RFC 7009 §2 asks for TLS), except for loopback addresses, where
/// development and the conformance tests run their providers.
pub(crate) async fn revoke_rfc7009(
    http: &ProviderHttp,
    endpoint: &str,
    client_id: &str,
    client_secret: &SecretString,
    token: &SecretString,
    hint: &str,
) -> Result<(), String> {
    use base64::Engine;
    use secrecy::ExposeSecret;

    let url =
        Url::parse(endpoint).map_err(|e| format!("the revocation endpoint is not a URL ({e})"))?;
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    if url.scheme() != "https" && !loopback {
        return Err("the revocation endpoint must use https".into());
    }
    // RFC 6749 §2.3.1: id and secret are form-urlencoded before they are joined.
    let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let credentials = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        encode(client_id),
        encode(client_secret.expose_secret())
    ));
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("token", token.expose_secret())
        .append_pair("token_type_hint", hint)
        .finish();
    let request = http::Request::post(url.as_str())
        .header(http::header::AUTHORIZATION, format!("Basic {credentials}"))
        .header(
            http::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .header(http::header::ACCEPT, "application/json")
        .body(body.into_bytes())
        .map_err(|e| format!("cannot build the revocation request ({e})"))?;
    let reply = http
        .send(request)
        .await
        .map_err(|e| format!("the revocation endpoint {e}"))?;
    if reply.status().is_success() {
        Ok(())
    } else {
        Err(format!(
            "the revocation endpoint answered {}",
            reply.status()
        ))
    }
}
