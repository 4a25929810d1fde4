//! The configured providers. The protocol is written once — OpenID Connect in `oidc.rs`, plain
//! OAuth 2.0 in `oauth2.rs`, both on the `oauth2`/`openidconnect` crates — and a provider with
//! quirks (`github.rs`, `intra42.rs`) holds only those, each named with the documentation that
//! explains it.

mod github;
mod intra42;
mod oauth2;
mod oidc;

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use shared::{ProfileDetails, ProviderInfo, ProviderKind, User};
use url::Url;

use crate::{
    config::{Config, ProviderConfig},
    error::AppError,
    http_client::ProviderHttp,
    session::ProviderTokens,
};

/// A provider that asks us to wait this long or less is waited for; longer, and the SPA gets a
/// 429 with the provider's `Retry-After` instead of a request that hangs.
const MAX_RATE_LIMIT_WAIT: Duration = Duration::from_secs(2);
/// Tokens that expire within this margin are refreshed before use.
pub const REFRESH_MARGIN_SECS: i64 = 30;

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

/// The live profile (`GET /api/profile`).
pub struct Profile {
    pub user: User,
    pub details: ProfileDetails,
    pub raw: Value,
}

/// Why a call with the stored access token failed: the token (refresh, or end the session), or
/// anything else.
pub enum CallError {
    Unauthorized,
    Failed(AppError),
}

impl From<AppError> for CallError {
    fn from(e: AppError) -> Self {
        CallError::Failed(e)
    }
}

enum Protocol {
    // Boxed: both are large and built once at start-up.
    Oidc(Box<oidc::Oidc>),
    OAuth2(Box<oauth2::OAuth2>),
}

pub struct Provider {
    pub info: ProviderInfo,
    protocol: Protocol,
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
                Protocol::Oidc(Box::new(oidc::Oidc::new(config, redirect_uri, http)))
            }
            ProviderKind::Github | ProviderKind::Intra42 | ProviderKind::Oauth2 => {
                Protocol::OAuth2(Box::new(oauth2::OAuth2::new(config, redirect_uri, http)))
            }
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
        match &self.protocol {
            Protocol::Oidc(p) => p.authorize().await,
            Protocol::OAuth2(p) => p.authorize(),
        }
    }

    /// Mix-up defense (RFC 9207, rule 3): `iss` on the callback must be this provider's issuer.
    pub async fn check_callback_issuer(&self, iss: Option<&str>) -> Result<(), AppError> {
        match &self.protocol {
            Protocol::Oidc(p) => p.check_callback_issuer(iss).await,
            Protocol::OAuth2(p) => p.check_callback_issuer(iss),
        }
    }

    pub async fn finish(
        &self,
        code: String,
        pkce_verifier: String,
        nonce: Option<String>,
    ) -> Result<LoginResult, AppError> {
        match &self.protocol {
            Protocol::Oidc(p) => p.finish(code, pkce_verifier, nonce).await,
            Protocol::OAuth2(p) => p.finish(code, pkce_verifier).await,
        }
    }

    /// The live profile with the stored access token.
    pub async fn profile(&self, tokens: &ProviderTokens) -> Result<Profile, CallError> {
        match &self.protocol {
            Protocol::Oidc(p) => p.profile(tokens).await,
            Protocol::OAuth2(p) => p.profile(tokens).await,
        }
    }

    /// New tokens from the refresh token; `None` when there is no refresh token to use.
    pub async fn refresh(&self, tokens: &ProviderTokens) -> Result<ProviderTokens, AppError> {
        match &self.protocol {
            Protocol::Oidc(p) => p.refresh(tokens).await,
            Protocol::OAuth2(p) => p.refresh(tokens).await,
        }
    }

    /// OpenID Connect providers with an `end_session_endpoint`: the RP-initiated logout URL
    /// that brings the browser back to `post_logout_redirect_uri`.
    pub async fn end_session_url(&self, post_logout_redirect_uri: &str) -> Option<String> {
        match &self.protocol {
            Protocol::Oidc(p) => p.end_session_url(post_logout_redirect_uri).await,
            Protocol::OAuth2(_) => None,
        }
    }

    /// RFC 7009 revocation (or the provider's own kind) where the provider offers it. Failures
    /// are logged, not returned: a logout must end the local session whatever the provider says.
    pub async fn revoke(&self, tokens: &ProviderTokens) {
        match &self.protocol {
            Protocol::Oidc(p) => p.revoke(tokens).await,
            Protocol::OAuth2(p) => p.revoke(tokens).await,
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

/// 256 bits for `state` (rule 1 asks for at least 128).
pub(crate) const STATE_BYTES: u32 = 32;

/// The SPA builds the authorize URL itself (DESIGN.md step 3), so it gets the endpoint and the
/// parameters apart; parameters already in the endpoint's own query stay in the endpoint.
pub(crate) fn split_authorize_url(url: &Url, endpoint: &str) -> BTreeMap<String, String> {
    let endpoint_params: Vec<(String, String)> = Url::parse(endpoint)
        .map(|u| u.query_pairs().into_owned().collect())
        .unwrap_or_default();
    url.query_pairs()
        .into_owned()
        .filter(|pair| !endpoint_params.contains(pair))
        .collect()
}

pub(crate) fn secret(value: impl Into<String>) -> SecretString {
    SecretString::from(value.into())
}

pub(crate) fn expires_at(expires_in: Option<Duration>) -> Option<i64> {
    expires_in.map(|d| crate::session::now() + i64::try_from(d.as_secs()).unwrap_or(i64::MAX / 2))
}

/// `GET url` with the access token, for userinfo and provider APIs: JSON back, or a
/// `CallError` that tells an expired/revoked token (401) from everything else. A 429 with a
/// short `Retry-After` is waited out once; a longer one becomes our own 429.
pub(crate) async fn get_json(
    http: &ProviderHttp,
    provider: &str,
    url: &str,
    access_token: &SecretString,
    accept: &str,
) -> Result<Value, CallError> {
    let mut waited = false;
    loop {
        let request = http::Request::get(url)
            .header(
                http::header::AUTHORIZATION,
                format!("Bearer {}", access_token.expose_secret()),
            )
            .header(http::header::ACCEPT, accept)
            .body(Vec::new())
            .map_err(|e| AppError::provider(provider, format!("bad URL {url:?} ({e})")))?;
        let reply = http
            .send(request)
            .await
            .map_err(|e| AppError::provider(provider, format!("{url} {e}")))?;
        let status = reply.status();
        if status == http::StatusCode::UNAUTHORIZED {
            return Err(CallError::Unauthorized);
        }
        if status == http::StatusCode::TOO_MANY_REQUESTS {
            let retry_after = retry_after(reply.headers());
            if !waited && retry_after <= MAX_RATE_LIMIT_WAIT {
                waited = true;
                tracing::info!(%provider, ?retry_after, "provider rate limit: waiting");
                tokio::time::sleep(retry_after).await;
                continue;
            }
            return Err(AppError::ProviderRateLimited {
                provider: provider.to_owned(),
                retry_after_secs: retry_after.as_secs().max(1),
            }
            .into());
        }
        if !status.is_success() {
            return Err(AppError::provider(provider, format!("{url} answered {status}")).into());
        }
        return serde_json::from_slice(reply.body()).map_err(|e| {
            AppError::provider(
                provider,
                format!("{url} sent a reply that is not JSON ({e})"),
            )
            .into()
        });
    }
}

/// An error and its causes in one line. Used for transport and parse errors, whose texts name
/// URLs and serde positions but never a reply body.
pub(crate) fn describe(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

/// Token endpoint failures. The `Parse` variant carries the reply body, which may hold a
/// token, so only its serde error is shown.
pub(crate) fn describe_token_error<RE, T>(e: &::oauth2::RequestTokenError<RE, T>) -> String
where
    RE: std::error::Error + 'static,
    T: ::oauth2::ErrorResponse + 'static,
{
    match e {
        ::oauth2::RequestTokenError::ServerResponse(err) => format!("refused the request: {err}"),
        ::oauth2::RequestTokenError::Request(err) => describe(err),
        ::oauth2::RequestTokenError::Parse(err, _body) => {
            format!("sent a reply that is not valid OAuth 2.0 JSON ({err})")
        }
        ::oauth2::RequestTokenError::Other(msg) => format!("failed: {msg}"),
    }
}

/// A refresh the provider refused (RFC 6749 §5.2: the grant is revoked or expired) ends the
/// session; a provider that cannot be reached does not.
pub(crate) fn refresh_error<RE, T>(
    provider: &str,
    e: &::oauth2::RequestTokenError<RE, T>,
) -> AppError
where
    RE: std::error::Error + 'static,
    T: ::oauth2::ErrorResponse + 'static,
{
    match e {
        ::oauth2::RequestTokenError::ServerResponse(_) => {
            tracing::info!(%provider, error = %describe_token_error(e), "refresh refused");
            AppError::SessionExpired(provider.to_owned())
        }
        _ => AppError::provider(
            provider,
            format!("the token endpoint {}", describe_token_error(e)),
        ),
    }
}

/// RFC 9110 §10.2.3: seconds (the HTTP-date form is rare from APIs; it counts as a minute).
fn retry_after(headers: &http::HeaderMap) -> Duration {
    headers
        .get(http::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.trim()
                .parse()
                .map_or(Duration::from_secs(60), Duration::from_secs)
        })
        .unwrap_or(Duration::from_secs(1))
}

/// A value at a dotted path (`image.link`) of a JSON document, as text.
pub(crate) fn field(json: &Value, path: &str) -> Option<String> {
    let value = path.split('.').try_fold(json, |node, key| node.get(key))?;
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
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
    let url = secure_url(endpoint)?;
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("token", token.expose_secret())
        .append_pair("token_type_hint", hint)
        .finish();
    let request = http::Request::post(url.as_str())
        .header(
            http::header::AUTHORIZATION,
            basic_auth(client_id, client_secret),
        )
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

/// RFC 6749 §2.3.1: id and secret are form-urlencoded before they are joined.
pub(crate) fn basic_auth(client_id: &str, client_secret: &SecretString) -> String {
    use base64::Engine;
    let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let credentials = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        encode(client_id),
        encode(client_secret.expose_secret())
    ));
    format!("Basic {credentials}")
}

/// https, or plain http on a loopback address (development and tests only).
pub(crate) fn secure_url(endpoint: &str) -> Result<Url, String> {
    let url = Url::parse(endpoint).map_err(|e| format!("{endpoint:?} is not a URL ({e})"))?;
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    if url.scheme() != "https" && !loopback {
        return Err(format!("{endpoint} must use https"));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_are_found_by_dotted_path_and_numbers_become_text() {
        let doc = json!({ "id": 42, "image": { "link": "https://cdn/x.jpg" }, "name": "" });
        assert_eq!(field(&doc, "id").as_deref(), Some("42"));
        assert_eq!(
            field(&doc, "image.link").as_deref(),
            Some("https://cdn/x.jpg")
        );
        assert_eq!(field(&doc, "name"), None, "empty strings count as absent");
        assert_eq!(field(&doc, "image.missing"), None);
    }

    #[test]
    fn basic_credentials_are_form_encoded_first() {
        let header = basic_auth("id:1", &secret("s p&"));
        use base64::Engine;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(header.strip_prefix("Basic ").unwrap())
            .unwrap();
        assert_eq!(String::from_utf8(decoded).unwrap(), "id%3A1:s+p%26");
    }

    #[test]
    fn only_https_or_loopback_endpoints_are_called_with_secrets() {
        assert!(secure_url("https://api.example/revoke").is_ok());
        assert!(secure_url("http://127.0.0.1:3900/revoke").is_ok());
        assert!(secure_url("http://localhost/revoke").is_ok());
        assert!(secure_url("http://api.example/revoke").is_err());
    }
}
