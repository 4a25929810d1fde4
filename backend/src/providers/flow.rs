//! The protocol half of a provider, below [`Provider`](super::Provider): a [`Flow`] speaks
//! OpenID Connect (`oidc/`) or plain OAuth 2.0 (`oauth2.rs`) for any kind, and what both flows
//! build their answers from.

use std::{collections::BTreeMap, sync::Arc};

use ::oauth2::{AuthorizationCode, PkceCodeVerifier};
use async_trait::async_trait;
use openidconnect::{HttpResponse, Nonce};
use serde_json::Value;
use shared::User;

use super::{
    client_auth::ClientAuth,
    dpop::{self, Proof},
    jose::DpopKey,
    oidc::LogoutToken,
    AuthorizeRequest, Kind, ProviderError,
};
use crate::{
    config::ProviderConfig,
    http_client::ProviderHttp,
    session::{IdToken, ProviderTokens, TokenType},
};

/// 256 bits for `state` (rule 1 asks for at least 128).
pub(super) const STATE_BYTES: u32 = 32;

/// The endpoints a provider's API calls use, once known (OpenID Connect learns them from
/// discovery), and what the provider says of its stricter features.
#[derive(Debug, Default)]
pub struct ApiEndpoints {
    /// The token endpoint: the `aud` of client assertions, on every call they authenticate.
    pub token: Option<String>,
    pub userinfo: Option<String>,
    pub revocation: Option<String>,
    /// OpenID Connect RP-Initiated Logout 1.0.
    pub end_session: Option<String>,
    /// RFC 9126 §5: `pushed_authorization_request_endpoint` (or `par_url`).
    pub par: Option<String>,
    /// RFC 9126 §5: `require_pushed_authorization_requests`.
    pub par_required: bool,
    /// RFC 9449 §5.1: `dpop_signing_alg_values_supported`; `None` when discovery lists none.
    pub dpop_algs: Option<Vec<String>>,
}

/// What the token request of a login sends (RFC 6749 §4.1.3, RFC 7636 §4.5): the code, the
/// attempt's PKCE verifier and nonce, and the new session's DPoP key (`dpop = true`), which
/// proves the request.
pub struct CodeGrant {
    pub code: AuthorizationCode,
    pub verifier: PkceCodeVerifier,
    pub nonce: Option<Nonce>,
    pub dpop: Option<DpopKey>,
}

/// The refresh token of `tokens`; `Refused` without one (the session cannot be extended).
pub(super) fn refresh_token<'a>(
    provider: &str,
    tokens: &'a ProviderTokens,
) -> Result<&'a ::oauth2::RefreshToken, ProviderError> {
    tokens
        .refresh_token
        .as_ref()
        .ok_or_else(|| ProviderError::refused(provider, "there is no refresh token"))
}

/// A code exchanged at the token endpoint; OpenID Connect also has the person from the
/// verified id_token, and its claims.
pub struct Exchanged {
    pub tokens: ProviderTokens,
    pub id_token_user: Option<User>,
    pub id_token_claims: Option<Value>,
}

/// The protocol half of a provider (`oauth2.rs`, `oidc/`).
#[async_trait]
pub(super) trait Flow: Send + Sync {
    /// `extra`: more authorize parameters (the kind's account chooser, the login's `prompt`,
    /// `login_hint` and `max_age`).
    async fn authorize(
        &self,
        extra: &[(String, String)],
    ) -> Result<AuthorizeRequest, ProviderError>;

    /// Mix-up defense (RFC 9207, rule 3): `iss` on the callback must be this provider's.
    async fn check_callback_issuer(&self, iss: Option<&str>) -> Result<(), ProviderError>;

    async fn exchange(&self, grant: CodeGrant) -> Result<Exchanged, ProviderError>;

    /// New tokens from the refresh token, for the person `subject`, proved with the session's
    /// DPoP key when it has one; `Refused` when there is no refresh token, the provider says no,
    /// or the new tokens are another person's.
    async fn refresh(
        &self,
        tokens: &ProviderTokens,
        subject: &str,
    ) -> Result<ProviderTokens, ProviderError>;

    async fn endpoints(&self) -> Result<Arc<ApiEndpoints>, ProviderError>;

    /// A back-channel logout token, verified; OAuth 2.0 has none.
    async fn logout_token(&self, _jwt: &str) -> Result<LogoutToken, String> {
        Err("this provider has no back-channel logout (it is not OpenID Connect)".into())
    }
}

/// What every flow is built from.
pub(super) struct FlowConfig<'a> {
    pub config: &'a ProviderConfig,
    pub redirect_uri: String,
    pub http: ProviderHttp,
    pub kind: &'static dyn Kind,
    pub auth: Arc<ClientAuth>,
}

/// The SPA builds the authorize URL itself (docs/design.md, "The flow", step 3), so it gets the endpoint and the
/// parameters apart; parameters already in the endpoint's own query stay in the endpoint.
pub(super) fn split_authorize_url(url: &url::Url, endpoint: &str) -> BTreeMap<String, String> {
    let endpoint_params: Vec<(String, String)> = url::Url::parse(endpoint)
        .map(|u| u.query_pairs().into_owned().collect())
        .unwrap_or_default();
    url.query_pairs()
        .into_owned()
        .filter(|pair| !endpoint_params.contains(pair))
        .collect()
}

/// The tokens of a token endpoint reply, bound to `dpop` when the reply says `token_type: DPoP`.
/// After a refresh, what the reply leaves out is kept from `previous`: RFC 6749 §6, a new
/// refresh token replaces the old one, and without one the old one stays (and so does the
/// id_token, OIDC Core §12.2).
pub(super) fn tokens_from(
    reply: &impl ::oauth2::TokenResponse,
    id_token: Option<IdToken>,
    previous: Option<&ProviderTokens>,
    dpop: Option<DpopKey>,
    auth: &ClientAuth,
) -> ProviderTokens {
    // The crates' token types are enums with an `Extension(String)` for the types they do not
    // know, DPoP among them; their serde form is the wire value.
    let named = serde_json::to_value(reply.token_type()).ok();
    let token_type = match named.as_ref().and_then(Value::as_str) {
        Some(t) if t.eq_ignore_ascii_case("dpop") => TokenType::Dpop,
        _ => TokenType::Bearer,
    };
    if dpop.is_some() && token_type == TokenType::Bearer {
        auth.bearer_despite_dpop();
    }
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
        token_type,
        dpop_key: dpop,
    }
}

/// The token endpoint as the oauth2 crate sees it: each request gets a fresh client assertion
/// (`private_key_jwt`) and DPoP proof (`dpop`), a nonce the server asks for is sent with it once
/// more, and replies pass through the kind's fix-ups.
pub(super) struct TokenHttp<'a> {
    pub http: &'a ProviderHttp,
    pub kind: &'static dyn Kind,
    pub auth: &'a ClientAuth,
    /// The session's DPoP key, which proves this request.
    pub dpop: Option<&'a DpopKey>,
}

impl<'a> TokenHttp<'a> {
    pub fn new(
        http: &'a ProviderHttp,
        kind: &'static dyn Kind,
        auth: &'a ClientAuth,
        dpop: Option<&'a DpopKey>,
    ) -> Self {
        TokenHttp {
            http,
            kind,
            auth,
            dpop,
        }
    }
}

impl<'c> ::oauth2::AsyncHttpClient<'c> for TokenHttp<'_> {
    type Error = crate::http_client::ProviderHttpError;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<HttpResponse, Self::Error>> + Send + 'c>,
    >;

    fn call(&'c self, request: ::oauth2::HttpRequest) -> Self::Future {
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let token_endpoint = parts.uri.to_string();
            let build = || {
                let mut body = body.clone();
                if let Some(fields) = self.auth.assertion(&token_endpoint) {
                    let mut form = url::form_urlencoded::Serializer::new(String::new());
                    form.extend_pairs(fields);
                    // The crate's own fields come first, so the body is "…&" + these.
                    body.push(b'&');
                    body.extend_from_slice(form.finish().as_bytes());
                }
                let mut request = http::Request::builder()
                    .method(parts.method.clone())
                    .uri(parts.uri.clone())
                    .body(body)
                    .map_err(|e| e.to_string())?;
                *request.headers_mut() = parts.headers.clone();
                Ok(request)
            };
            let proof = self.dpop.map(|key| Proof {
                key,
                access_token: None,
            });
            let mut reply = dpop::send(self.http, &self.auth.nonces, proof, build).await?;
            self.kind.token_reply(&mut reply);
            Ok(reply)
        })
    }
}
