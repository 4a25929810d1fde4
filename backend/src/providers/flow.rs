//! The protocol half of a provider, below [`Provider`](super::Provider): a [`Flow`] speaks
//! OpenID Connect (`oidc/`) or plain OAuth 2.0 (`oauth2.rs`) for any kind, and what both flows
//! build their answers from.

use std::{collections::BTreeMap, sync::Arc};

use ::oauth2::{AuthorizationCode, PkceCodeVerifier};
use async_trait::async_trait;
use openidconnect::{HttpResponse, Nonce};
use serde_json::Value;
use shared::User;

use super::{oidc::LogoutToken, AuthorizeRequest, Kind, ProviderError};
use crate::{
    config::ProviderConfig,
    http_client::ProviderHttp,
    session::{IdToken, ProviderTokens},
};

/// 256 bits for `state` (rule 1 asks for at least 128).
pub(super) const STATE_BYTES: u32 = 32;

/// The endpoints a provider's API calls use, once known (OpenID Connect learns them from
/// discovery).
#[derive(Debug, Default)]
pub struct ApiEndpoints {
    pub userinfo: Option<String>,
    pub revocation: Option<String>,
    /// OpenID Connect RP-Initiated Logout 1.0.
    pub end_session: Option<String>,
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
}

/// The SPA builds the authorize URL itself (DESIGN.md step 3), so it gets the endpoint and the
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

/// The tokens of a token endpoint reply. After a refresh, what the reply leaves out is kept
/// from `previous`: RFC 6749 §6, a new refresh token replaces the old one, and without one the
/// old one stays (and so does the id_token, OIDC Core §12.2).
pub(super) fn tokens_from(
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
pub(super) struct TokenHttp<'a> {
    pub http: &'a ProviderHttp,
    pub kind: &'static dyn Kind,
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
