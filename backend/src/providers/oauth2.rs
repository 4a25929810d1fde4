//! Plain OAuth 2.0 (RFC 6749 §4.1 with PKCE, RFC 7636) on the `oauth2` crate: the flow of every
//! kind without discovery (`github`, `intra42`, and `kind = "oauth2"`, which is this flow with
//! the standard behaviour and nothing else).

use std::sync::Arc;

use async_trait::async_trait;
use oauth2::{
    basic::BasicClient, AuthUrl, ClientId, CsrfToken, EndpointNotSet, EndpointSet,
    PkceCodeChallenge, RedirectUrl, Scope, TokenUrl,
};

use super::{
    client_auth::ClientAuth,
    flow::{
        refresh_token, split_authorize_url, tokens_from, ApiEndpoints, CodeGrant, Exchanged, Flow,
        FlowConfig, TokenHttp, STATE_BYTES,
    },
    jose::DpopKey,
    standard, AuthorizeRequest, Kind, KindDefaults, Protocol, ProviderError,
};
use crate::{http_client::ProviderHttp, session::ProviderTokens};

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
    auth: Arc<ClientAuth>,
}

impl OAuth2Flow {
    pub(super) fn new(flow: FlowConfig<'_>) -> Self {
        let config = flow.config;
        // Config validation guarantees these for every OAuth 2.0 kind.
        let endpoint = |url: &Option<String>| url.clone().expect("validated endpoint");
        let mut client = BasicClient::new(ClientId::new(config.client_id.clone()))
            .set_auth_uri(
                AuthUrl::new(endpoint(&config.endpoints.authorize_url)).expect("validated URL"),
            )
            .set_token_uri(
                TokenUrl::new(endpoint(&config.endpoints.token_url)).expect("validated URL"),
            )
            .set_redirect_uri(
                RedirectUrl::new(flow.redirect_uri).expect("built from a valid origin"),
            )
            .set_auth_type(flow.auth.crate_auth_type());
        if let Some(secret) = flow.auth.crate_secret() {
            client = client.set_client_secret(secret);
        }
        OAuth2Flow {
            id: config.id.clone(),
            client,
            scopes: config.scopes.clone(),
            issuer: config.issuer.clone(),
            endpoints: Arc::new(ApiEndpoints {
                token: config.endpoints.token_url.clone(),
                userinfo: config.endpoints.userinfo_url.clone(),
                revocation: config.endpoints.revocation_url.clone(),
                par: config.endpoints.par_url.clone(),
                ..ApiEndpoints::default()
            }),
            http: flow.http,
            kind: flow.kind,
            auth: flow.auth,
        }
    }

    fn token_http<'a>(&'a self, dpop: Option<&'a DpopKey>) -> TokenHttp<'a> {
        TokenHttp::new(&self.http, self.kind, &self.auth, dpop)
    }
}

#[async_trait]
impl Flow for OAuth2Flow {
    async fn authorize(
        &self,
        extra: &[(String, String)],
    ) -> Result<AuthorizeRequest, ProviderError> {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = self
            .client
            .authorize_url(|| CsrfToken::new_random_len(STATE_BYTES))
            .add_scopes(self.scopes.iter().map(|s| Scope::new(s.clone())))
            .set_pkce_challenge(challenge);
        for (name, value) in extra {
            request = request.add_extra_param(name.clone(), value.clone());
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

    async fn exchange(&self, grant: CodeGrant) -> Result<Exchanged, ProviderError> {
        let token = self
            .client
            .exchange_code(grant.code)
            .set_pkce_verifier(grant.verifier)
            .request_async(&self.token_http(grant.dpop.as_ref()))
            .await
            .map_err(|e| standard::token_error(&self.id, &e))?;
        Ok(Exchanged {
            tokens: tokens_from(&token, None, None, grant.dpop, &self.auth),
            id_token_user: None,
            id_token_claims: None,
        })
    }

    async fn refresh(
        &self,
        tokens: &ProviderTokens,
        _subject: &str,
    ) -> Result<ProviderTokens, ProviderError> {
        let refresh = refresh_token(&self.id, tokens)?;
        let token = self
            .client
            .exchange_refresh_token(refresh)
            .request_async(&self.token_http(tokens.dpop_key.as_ref()))
            .await
            .map_err(|e| standard::token_error(&self.id, &e))?;
        let dpop = tokens.dpop_key.clone();
        Ok(tokens_from(&token, None, Some(tokens), dpop, &self.auth))
    }

    async fn endpoints(&self) -> Result<Arc<ApiEndpoints>, ProviderError> {
        Ok(self.endpoints.clone())
    }
}
