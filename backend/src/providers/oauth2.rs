//! Plain OAuth 2.0 (RFC 6749 §4.1 with PKCE, RFC 7636) on the `oauth2` crate: the flow of every
//! kind without discovery (`github`, `intra42`, and `kind = "oauth2"`, which is this flow with
//! the standard behaviour and nothing else).

use std::sync::Arc;

use async_trait::async_trait;
use oauth2::{
    basic::BasicClient, AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken,
    EndpointNotSet, EndpointSet, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenUrl,
};
use openidconnect::Nonce;
use secrecy::ExposeSecret;

use super::{
    flow::{
        split_authorize_url, tokens_from, ApiEndpoints, Exchanged, Flow, FlowConfig, TokenHttp,
        STATE_BYTES,
    },
    standard, AuthorizeRequest, Kind, KindDefaults, Protocol, ProviderError,
};
use crate::{config::TokenAuth, http_client::ProviderHttp, session::ProviderTokens};

/// `kind = "oauth2"`: everything from configuration (`authorize_url`, `token_url`,
/// `userinfo_url`, the field names), nothing assumed.
pub struct PlainOAuth2;

impl Kind for PlainOAuth2 {
    fn protocol(&self) -> Protocol {
        Protocol::OAuth2
    }

    fn defaults(&self) -> KindDefaults {
        KindDefaults {
            scopes: &[],
            ..KindDefaults::NONE
        }
    }
}

type Client = BasicClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

pub struct OAuth2Flow {
    id: String,
    client: Client,
    scopes: Vec<String>,
    /// The `iss` the provider puts on its callback (RFC 9207), when it does.
    issuer: Option<String>,
    endpoints: Arc<ApiEndpoints>,
    http: ProviderHttp,
    kind: &'static dyn Kind,
}

impl OAuth2Flow {
    pub(super) fn new(flow: FlowConfig<'_>) -> Self {
        let config = flow.config;
        // Config validation guarantees these for every OAuth 2.0 kind.
        let endpoint = |url: &Option<String>| url.clone().expect("validated endpoint");
        let client = BasicClient::new(ClientId::new(config.client_id.clone()))
            .set_client_secret(ClientSecret::new(
                config.client_secret.expose_secret().to_owned(),
            ))
            .set_auth_uri(
                AuthUrl::new(endpoint(&config.endpoints.authorize_url)).expect("validated URL"),
            )
            .set_token_uri(
                TokenUrl::new(endpoint(&config.endpoints.token_url)).expect("validated URL"),
            )
            .set_redirect_uri(
                RedirectUrl::new(flow.redirect_uri).expect("built from a valid origin"),
            )
            .set_auth_type(match config.token_auth {
                TokenAuth::ClientSecretBasic => AuthType::BasicAuth,
                TokenAuth::ClientSecretPost => AuthType::RequestBody,
            });
        OAuth2Flow {
            id: config.id.clone(),
            client,
            scopes: config.scopes.clone(),
            issuer: config.issuer.clone(),
            endpoints: Arc::new(ApiEndpoints {
                userinfo: config.endpoints.userinfo_url.clone(),
                revocation: config.endpoints.revocation_url.clone(),
                end_session: None,
            }),
            http: flow.http,
            kind: flow.kind,
        }
    }

    fn token_http(&self) -> TokenHttp<'_> {
        TokenHttp {
            http: &self.http,
            kind: self.kind,
        }
    }
}

#[async_trait]
impl Flow for OAuth2Flow {
    async fn authorize(
        &self,
        extra: Option<(&'static str, &'static str)>,
    ) -> Result<AuthorizeRequest, ProviderError> {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = self
            .client
            .authorize_url(|| CsrfToken::new_random_len(STATE_BYTES))
            .add_scopes(self.scopes.iter().map(|s| Scope::new(s.clone())))
            .set_pkce_challenge(challenge);
        if let Some((name, value)) = extra {
            request = request.add_extra_param(name, value);
        }
        let (url, state) = request.url();
        let endpoint = self.client.auth_uri().to_string();
        Ok(AuthorizeRequest {
            params: split_authorize_url(&url, &endpoint),
            authorize_endpoint: endpoint,
            state,
            pkce_verifier: verifier,
            nonce: None,
        })
    }

    async fn check_callback_issuer(&self, iss: Option<&str>) -> Result<(), ProviderError> {
        match (iss, &self.issuer) {
            (Some(iss), Some(expected)) if iss != expected => Err(ProviderError::IssuerMismatch {
                provider: self.id.clone(),
                message: format!(
                    "the answer claims to come from another issuer than {} (possible mix-up attack)",
                    self.id
                ),
            }),
            // Rule 3: a provider configured without an issuer puts none on its callback (42 Intra
            // does not); an answer that carries one came from elsewhere.
            (Some(_), None) => Err(ProviderError::IssuerMismatch {
                provider: self.id.clone(),
                message: format!(
                    "the answer names an issuer, and {} has none (possible mix-up attack)",
                    self.id
                ),
            }),
            _ => Ok(()),
        }
    }

    async fn exchange(
        &self,
        code: AuthorizationCode,
        verifier: PkceCodeVerifier,
        _nonce: Option<Nonce>,
    ) -> Result<Exchanged, ProviderError> {
        let token = self
            .client
            .exchange_code(code)
            .set_pkce_verifier(verifier)
            .request_async(&self.token_http())
            .await
            .map_err(|e| standard::token_error(&self.id, &e))?;
        Ok(Exchanged {
            tokens: tokens_from(&token, None, None),
            id_token_user: None,
            id_token_claims: None,
        })
    }

    async fn refresh(
        &self,
        tokens: &ProviderTokens,
        _subject: &str,
    ) -> Result<ProviderTokens, ProviderError> {
        let Some(refresh) = &tokens.refresh_token else {
            return Err(ProviderError::refused(
                &self.id,
                "there is no refresh token",
            ));
        };
        let token = self
            .client
            .exchange_refresh_token(refresh)
            .request_async(&self.token_http())
            .await
            .map_err(|e| standard::token_error(&self.id, &e))?;
        Ok(tokens_from(&token, None, Some(tokens)))
    }

    async fn endpoints(&self) -> Result<Arc<ApiEndpoints>, ProviderError> {
        Ok(self.endpoints.clone())
    }
}
