//! Plain OAuth 2.0 (RFC 6749 §4.1 with PKCE, RFC 7636): `kind = "oauth2"` from configuration
//! alone, and the base of `github` and `intra42`, whose differences live in their own files.

use oauth2::{
    basic::BasicClient, AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken,
    EndpointNotSet, EndpointSet, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RefreshToken,
    Scope, TokenResponse, TokenUrl,
};
use secrecy::{ExposeSecret, SecretString};
use shared::{ProfileDetails, ProviderKind, User};

use super::{
    expires_at, field, get_json, github, intra42, secret, split_authorize_url, AuthorizeRequest,
    CallError, LoginResult, Profile, STATE_BYTES,
};
use crate::{
    config::{FieldMap, ProviderConfig, TokenAuth},
    error::AppError,
    http_client::ProviderHttp,
    session::ProviderTokens,
};

type Client = BasicClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

pub struct OAuth2 {
    pub(super) id: String,
    kind: ProviderKind,
    client: Client,
    pub(super) client_id: String,
    pub(super) client_secret: SecretString,
    scopes: Vec<String>,
    /// The `iss` the provider puts on its callback (RFC 9207), when it does.
    issuer: Option<String>,
    pub(super) userinfo_url: String,
    revocation_url: Option<String>,
    fields: FieldMap,
    pub(super) http: ProviderHttp,
}

impl OAuth2 {
    pub fn new(config: &ProviderConfig, redirect_uri: String, http: ProviderHttp) -> Self {
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
            .set_redirect_uri(RedirectUrl::new(redirect_uri).expect("built from a valid origin"))
            .set_auth_type(match config.token_auth {
                TokenAuth::ClientSecretBasic => AuthType::BasicAuth,
                TokenAuth::ClientSecretPost => AuthType::RequestBody,
            });
        OAuth2 {
            id: config.id.clone(),
            kind: config.kind,
            client,
            client_id: config.client_id.clone(),
            client_secret: config.client_secret.clone(),
            scopes: config.scopes.clone(),
            issuer: config.issuer.clone(),
            userinfo_url: endpoint(&config.endpoints.userinfo_url),
            revocation_url: config.endpoints.revocation_url.clone(),
            fields: config.fields.clone(),
            http,
        }
    }

    pub(super) fn fail(&self, message: impl Into<String>) -> AppError {
        AppError::provider(&self.id, message)
    }

    pub fn authorize(&self) -> Result<AuthorizeRequest, AppError> {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state) = self
            .client
            .authorize_url(|| CsrfToken::new_random_len(STATE_BYTES))
            .add_scopes(self.scopes.iter().map(|s| Scope::new(s.clone())))
            .set_pkce_challenge(challenge)
            .url();
        let endpoint = self.client.auth_uri().to_string();
        Ok(AuthorizeRequest {
            params: split_authorize_url(&url, &endpoint),
            authorize_endpoint: endpoint,
            state: state.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
            nonce: None,
        })
    }

    pub fn check_callback_issuer(&self, iss: Option<&str>) -> Result<(), AppError> {
        match (iss, &self.issuer) {
            (Some(iss), Some(expected)) if iss != expected => Err(AppError::IssuerMismatch(
                format!(
                    "the answer claims to come from another issuer than {} (possible mix-up attack)",
                    self.id
                ),
            )),
            // A provider without a configured issuer cannot be checked; the attempt is still
            // bound to this provider by its state.
            _ => Ok(()),
        }
    }

    pub async fn finish(
        &self,
        code: String,
        pkce_verifier: String,
    ) -> Result<LoginResult, AppError> {
        let request = self
            .client
            .exchange_code(AuthorizationCode::new(code))
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier));
        let token = match self.kind {
            ProviderKind::Github => {
                request
                    .request_async(&github::TokenEndpoint(&self.http))
                    .await
            }
            _ => request.request_async(&self.http).await,
        }
        .map_err(|e| {
            self.fail(format!(
                "the token endpoint {}",
                super::describe_token_error(&e)
            ))
        })?;
        let tokens = ProviderTokens {
            access_token: secret(token.access_token().secret().clone()),
            refresh_token: token.refresh_token().map(|t| secret(t.secret().clone())),
            id_token: None,
            expires_at: expires_at(token.expires_in()),
        };
        let profile = self.profile(&tokens).await.map_err(|e| match e {
            CallError::Unauthorized => self.fail("refused the access token it had just issued"),
            CallError::Failed(e) => e,
        })?;
        Ok(LoginResult {
            user: profile.user,
            tokens,
        })
    }

    pub async fn profile(&self, tokens: &ProviderTokens) -> Result<Profile, CallError> {
        match self.kind {
            ProviderKind::Github => github::profile(self, &tokens.access_token).await,
            ProviderKind::Intra42 => intra42::profile(self, &tokens.access_token).await,
            _ => {
                let raw = get_json(
                    &self.http,
                    &self.id,
                    &self.userinfo_url,
                    &tokens.access_token,
                    "application/json",
                )
                .await?;
                let subject = field(&raw, &self.fields.subject).ok_or_else(|| {
                    self.fail(format!(
                        "the userinfo reply has no {:?} (set subject_field)",
                        self.fields.subject
                    ))
                })?;
                let user = User {
                    provider: self.id.clone(),
                    subject,
                    login: field(&raw, &self.fields.login),
                    name: field(&raw, &self.fields.name),
                    email: field(&raw, &self.fields.email),
                    avatar_url: field(&raw, &self.fields.avatar),
                };
                Ok(Profile {
                    user,
                    details: ProfileDetails::default(),
                    raw,
                })
            }
        }
    }

    pub async fn refresh(&self, tokens: &ProviderTokens) -> Result<ProviderTokens, AppError> {
        let Some(refresh) = &tokens.refresh_token else {
            return Err(AppError::SessionExpired(self.id.clone()));
        };
        let token = self
            .client
            .exchange_refresh_token(&RefreshToken::new(refresh.expose_secret().to_owned()))
            .request_async(&self.http)
            .await
            .map_err(|e| super::refresh_error(&self.id, &e))?;
        Ok(ProviderTokens {
            access_token: secret(token.access_token().secret().clone()),
            // RFC 6749 §6: a new refresh token replaces the old one; without one, keep it.
            refresh_token: token
                .refresh_token()
                .map(|t| secret(t.secret().clone()))
                .or_else(|| tokens.refresh_token.clone()),
            id_token: None,
            expires_at: expires_at(token.expires_in()),
        })
    }

    pub async fn revoke(&self, tokens: &ProviderTokens) {
        let result = match (self.kind, &self.revocation_url) {
            (ProviderKind::Github, _) => github::revoke(self, &tokens.access_token).await,
            (_, Some(endpoint)) => {
                let mut result = Ok(());
                if let Some(refresh) = &tokens.refresh_token {
                    result = super::revoke_rfc7009(
                        &self.http,
                        endpoint,
                        &self.client_id,
                        &self.client_secret,
                        refresh,
                        "refresh_token",
                    )
                    .await;
                }
                result.and(
                    super::revoke_rfc7009(
                        &self.http,
                        endpoint,
                        &self.client_id,
                        &self.client_secret,
                        &tokens.access_token,
                        "access_token",
                    )
                    .await,
                )
            }
            // 42 Intra, and servers configured without revocation_url, offer none.
            (_, None) => Ok(()),
        };
        if let Err(e) = result {
            tracing::warn!(provider = %self.id, error = %e, "token revocation failed");
        }
    }
}
