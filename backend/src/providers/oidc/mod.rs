//! OpenID Connect (`kind = "oidc"`, and the presets of `google.rs` and `gitlab.rs`): discovery
//! from the issuer (`discovery.rs`), PKCE S256, the id_token verified (signature from JWKS,
//! `iss`, `aud`, `exp`, `nonce`, `at_hash`: `id_token.rs`), the profile from userinfo, and
//! back-channel logout tokens (`logout_token.rs`). The protocol work is the `openidconnect`
//! crate's, but for the RSA signature arithmetic, which is ring's (`jwk.rs`).

mod discovery;
mod id_token;
mod jwk;
mod logout_token;

use std::sync::Arc;

use async_trait::async_trait;
use openidconnect::{
    core::CoreAuthenticationFlow, CsrfToken, Nonce, OAuth2TokenResponse, PkceCodeChallenge, Scope,
    TokenResponse,
};

#[cfg(feature = "internals")]
pub use jwk::Jwk;
pub use logout_token::{LogoutToken, LOGOUT_TOKEN_MAX_AGE};

use super::{
    client_auth::ClientAuth,
    flow::{
        self, split_authorize_url, tokens_from, ApiEndpoints, CodeGrant, Exchanged, Flow,
        FlowConfig, TokenHttp, STATE_BYTES,
    },
    jose::DpopKey,
    standard, AuthorizeRequest, Kind, KindDefaults, Protocol, ProviderError,
};
use crate::{
    config::{Endpoints, FieldMap},
    http_client::ProviderHttp,
    session::{IdToken, ProviderTokens},
};
use id_token::user_from_claims;

/// An OpenID Connect provider kind: standard everything, with the defaults of its preset.
pub struct Oidc {
    pub defaults: KindDefaults,
}

/// `kind = "oidc"`: any OpenID Connect provider, from its `issuer`.
pub static OIDC: Oidc = Oidc {
    defaults: KindDefaults::NONE,
};

impl Kind for Oidc {
    fn protocol(&self) -> Protocol {
        Protocol::OpenIdConnect
    }

    fn defaults(&self) -> KindDefaults {
        self.defaults
    }

    /// OIDC Core §3.1.2.1: `prompt=select_account`.
    fn choose_account(&self) -> Option<(&'static str, &'static str)> {
        Some(("prompt", "select_account"))
    }

    /// OIDC Core §5.1's standard claims, `profile` (the person's page) included.
    fn fields(&self) -> FieldMap {
        FieldMap {
            profile: Some("profile".into()),
            ..FieldMap::default()
        }
    }
}

/// Public-key signatures only: an HMAC one would be keyed with the client secret.
const PUBLIC_KEY_ALGORITHMS: [openidconnect::core::CoreJwsSigningAlgorithm; 10] = {
    use openidconnect::core::CoreJwsSigningAlgorithm as Alg;
    [
        Alg::RsaSsaPkcs1V15Sha256,
        Alg::RsaSsaPkcs1V15Sha384,
        Alg::RsaSsaPkcs1V15Sha512,
        Alg::RsaSsaPssSha256,
        Alg::RsaSsaPssSha384,
        Alg::RsaSsaPssSha512,
        Alg::EcdsaP256Sha256,
        Alg::EcdsaP384Sha384,
        Alg::EcdsaP521Sha512,
        Alg::EdDsa,
    ]
};

pub struct OidcFlow {
    id: String,
    issuer: String,
    client_id: String,
    auth: Arc<ClientAuth>,
    redirect_uri: String,
    scopes: Vec<String>,
    endpoints: Endpoints,
    http: ProviderHttp,
    kind: &'static dyn Kind,
    discovered: discovery::Cache,
}

impl OidcFlow {
    pub(super) fn new(flow: FlowConfig<'_>) -> Self {
        let config = flow.config;
        OidcFlow {
            id: config.id.clone(),
            issuer: config
                .issuer
                .clone()
                .expect("config validation requires an issuer for OpenID Connect kinds"),
            client_id: config.client_id.clone(),
            auth: flow.auth,
            redirect_uri: flow.redirect_uri,
            scopes: config.scopes.clone(),
            endpoints: config.endpoints.clone(),
            http: flow.http,
            kind: flow.kind,
            discovered: discovery::Cache::new(config.jwks_min_refetch),
        }
    }

    fn fail(&self, message: impl Into<String>) -> ProviderError {
        ProviderError::failed(&self.id, message)
    }

    fn token_http<'a>(&'a self, dpop: Option<&'a DpopKey>) -> TokenHttp<'a> {
        TokenHttp::new(&self.http, self.kind, &self.auth, dpop)
    }

    fn mismatch(&self, message: String) -> ProviderError {
        ProviderError::IssuerMismatch {
            provider: self.id.clone(),
            message,
        }
    }
}

#[async_trait]
impl Flow for OidcFlow {
    async fn authorize(
        &self,
        extra: &[(String, String)],
    ) -> Result<AuthorizeRequest, ProviderError> {
        let d = self.discovered().await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let scopes = self
            .scopes
            .iter()
            // openidconnect always adds `openid` itself.
            .filter(|s| s.as_str() != "openid")
            .map(|s| Scope::new(s.clone()));
        let mut request = d
            .client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                || CsrfToken::new_random_len(STATE_BYTES),
                Nonce::new_random,
            )
            .add_scopes(scopes)
            .set_pkce_challenge(challenge);
        for (name, value) in extra {
            request = request.add_extra_param(name.clone(), value.clone());
        }
        let (url, state, nonce) = request.url();
        Ok(AuthorizeRequest {
            params: split_authorize_url(&url, &d.authorize_endpoint),
            authorize_endpoint: d.authorize_endpoint.clone(),
            state,
            pkce_verifier: verifier,
            nonce: Some(nonce),
        })
    }

    async fn check_callback_issuer(&self, iss: Option<&str>) -> Result<(), ProviderError> {
        let d = self.discovered().await?;
        match iss {
            Some(iss) if iss == d.issuer => Ok(()),
            Some(_) => Err(self.mismatch(format!(
                "the answer claims to come from another issuer than {} (possible mix-up attack)",
                self.id
            ))),
            None if d.iss_parameter_required => Err(self.mismatch(format!(
                "{} always sends `iss` with its answer, and this answer has none",
                self.id
            ))),
            None => Ok(()),
        }
    }

    async fn exchange(&self, grant: CodeGrant) -> Result<Exchanged, ProviderError> {
        let d = self.discovered().await?;
        let token = d
            .client
            .exchange_code(grant.code)
            .map_err(|e| self.fail(format!("cannot exchange the code: {e}")))?
            .set_pkce_verifier(grant.verifier)
            .request_async(&self.token_http(grant.dpop.as_ref()))
            .await
            .map_err(|e| standard::token_error(&self.id, &e))?;

        let id_token = token
            .id_token()
            .ok_or_else(|| self.fail("the token endpoint sent no id_token"))?;
        let claims = self.verify_id_token(&d, id_token, token.access_token(), grant.nonce)?;
        Ok(Exchanged {
            id_token_user: Some(user_from_claims(&self.id, claims)),
            // Verified just above; read again whole, for the claims openidconnect does not
            // type (`sid`, `groups`, …).
            id_token_claims: standard::jwt_payload(&id_token.to_string()),
            tokens: tokens_from(
                &token,
                Some(IdToken::new(id_token.to_string())),
                None,
                grant.dpop,
                &self.auth,
            ),
        })
    }

    /// RFC 6749 §6 with OIDC Core §12.2: a new id_token, when sent, is verified like the first
    /// (no nonce this time).
    async fn refresh(
        &self,
        tokens: &ProviderTokens,
        subject: &str,
    ) -> Result<ProviderTokens, ProviderError> {
        let refresh = flow::refresh_token(&self.id, tokens)?;
        let d = self.discovered().await?;
        let token = d
            .client
            .exchange_refresh_token(refresh)
            .map_err(|e| self.fail(format!("cannot refresh: {e}")))?
            .request_async(&self.token_http(tokens.dpop_key.as_ref()))
            .await
            .map_err(|e| standard::token_error(&self.id, &e))?;
        let id_token = match token.id_token() {
            Some(id_token) => {
                self.verify_refreshed_id_token(&d, id_token, subject)?;
                Some(IdToken::new(id_token.to_string()))
            }
            None => None,
        };
        let dpop = tokens.dpop_key.clone();
        Ok(tokens_from(
            &token,
            id_token,
            Some(tokens),
            dpop,
            &self.auth,
        ))
    }

    async fn endpoints(&self) -> Result<Arc<ApiEndpoints>, ProviderError> {
        Ok(self.discovered().await?.endpoints.clone())
    }

    /// OpenID Connect Back-Channel Logout 1.0 §2.6, steps 1–8 (the `jti` replay of step 9 is
    /// the caller's, with the store): `logout_token.rs`.
    async fn logout_token(&self, jwt: &str) -> Result<LogoutToken, String> {
        self.verify_logout_token(jwt).await
    }
}
