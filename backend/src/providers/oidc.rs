//! OpenID Connect providers (`kind = "oidc"`, and the `google` and `gitlab` presets): discovery
//! from the issuer, PKCE S256, the id_token verified (signature from JWKS, `iss`, `aud`, `exp`,
//! `nonce`), the profile from userinfo. The protocol work is the `openidconnect` crate's.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use openidconnect::{
    core::{
        CoreAuthDisplay, CoreAuthenticationFlow, CoreClaimName, CoreClaimType, CoreClient,
        CoreClientAuthMethod, CoreGenderClaim, CoreGrantType, CoreJsonWebKey,
        CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm, CoreResponseMode,
        CoreResponseType, CoreSubjectIdentifierType,
    },
    AccessTokenHash, AdditionalProviderMetadata, AuthUrl, AuthorizationCode, ClientId,
    ClientSecret, CsrfToken, EmptyAdditionalClaims, EndpointMaybeSet, EndpointNotSet, EndpointSet,
    IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, ProviderMetadata,
    RedirectUrl, RefreshToken, Scope, TokenResponse, TokenUrl, UserInfoUrl,
};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use shared::{ProfileDetails, User};
use tokio::sync::RwLock;

use super::{
    describe, describe_token_error, expires_at, get_json, secret, split_authorize_url,
    AuthorizeRequest, CallError, LoginResult, Profile, STATE_BYTES,
};
use crate::{
    config::{Endpoints, ProviderConfig},
    error::AppError,
    http_client::ProviderHttp,
    session::ProviderTokens,
};

/// Discovery and keys are fetched again after this long, so a provider's key rotation is
/// picked up without a restart.
const DISCOVERY_TTL: Duration = Duration::from_secs(60 * 60);

/// The person from id_token or userinfo claims, which share their getters but no trait.
macro_rules! user_from {
    ($provider:expr, $claims:expr) => {
        User {
            provider: $provider.to_owned(),
            subject: $claims.subject().to_string(),
            login: $claims.preferred_username().map(|u| u.to_string()),
            name: $claims
                .name()
                .and_then(|n| n.get(None))
                .map(|n| n.to_string()),
            email: $claims.email().map(|e| e.to_string()),
            avatar_url: $claims
                .picture()
                .and_then(|p| p.get(None))
                .map(|p| p.to_string()),
        }
    };
}

/// Discovery fields beyond OpenID Connect Discovery 1.0 that Portero uses.
#[derive(Clone, Debug, Deserialize, Serialize)]
struct ExtraMetadata {
    /// RFC 8414 / RFC 7009.
    revocation_endpoint: Option<String>,
    /// OpenID Connect RP-Initiated Logout 1.0.
    end_session_endpoint: Option<String>,
    /// RFC 9207 §3: when true, a callback without `iss` is refused.
    #[serde(default)]
    authorization_response_iss_parameter_supported: bool,
}
impl AdditionalProviderMetadata for ExtraMetadata {}

type Metadata = ProviderMetadata<
    ExtraMetadata,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

type Client = CoreClient<
    EndpointSet,      // authorization
    EndpointNotSet,   // device authorization
    EndpointNotSet,   // introspection
    EndpointNotSet,   // revocation: see `super::revoke_rfc7009`
    EndpointMaybeSet, // token
    EndpointMaybeSet, // userinfo
>;

struct Discovered {
    client: Client,
    authorize_endpoint: String,
    issuer: String,
    extra: ExtraMetadata,
    fetched_at: Instant,
}

pub struct Oidc {
    id: String,
    issuer: String,
    client_id: String,
    client_secret: SecretString,
    redirect_uri: String,
    scopes: Vec<String>,
    endpoints: Endpoints,
    http: ProviderHttp,
    discovered: RwLock<Option<Arc<Discovered>>>,
}

impl Oidc {
    pub fn new(config: &ProviderConfig, redirect_uri: String, http: ProviderHttp) -> Self {
        Oidc {
            id: config.id.clone(),
            issuer: config
                .issuer
                .clone()
                .expect("config validation requires an issuer for OpenID Connect kinds"),
            client_id: config.client_id.clone(),
            client_secret: config.client_secret.clone(),
            redirect_uri,
            scopes: config.scopes.clone(),
            endpoints: config.endpoints.clone(),
            http,
            discovered: RwLock::new(None),
        }
    }

    fn fail(&self, message: impl Into<String>) -> AppError {
        AppError::provider(&self.id, message)
    }

    /// Discovery happens on first use rather than at start-up, so the backend starts (and
    /// serves the other providers) while one provider is down; its routes answer 502 meanwhile.
    async fn discovered(&self) -> Result<Arc<Discovered>, AppError> {
        if let Some(d) = self.discovered.read().await.as_ref() {
            if d.fetched_at.elapsed() < DISCOVERY_TTL {
                return Ok(d.clone());
            }
        }
        let mut slot = self.discovered.write().await;
        if let Some(d) = slot.as_ref() {
            if d.fetched_at.elapsed() < DISCOVERY_TTL {
                return Ok(d.clone());
            }
        }
        let issuer = IssuerUrl::new(self.issuer.clone())
            .map_err(|e| self.fail(format!("the issuer is not a valid URL ({e})")))?;
        let mut metadata = Metadata::discover_async(issuer, &self.http)
            .await
            .map_err(|e| {
                self.fail(format!(
                    "OpenID Connect discovery at {}/.well-known/openid-configuration failed: {}",
                    self.issuer,
                    describe(&e)
                ))
            })?;
        // Configured endpoints win over discovered ones (DESIGN.md: any kind may override).
        let bad =
            |key: &str, e: &dyn std::fmt::Display| self.fail(format!("{key} is not valid ({e})"));
        if let Some(url) = &self.endpoints.authorize_url {
            metadata = metadata.set_authorization_endpoint(
                AuthUrl::new(url.clone()).map_err(|e| bad("authorize_url", &e))?,
            );
        }
        if let Some(url) = &self.endpoints.token_url {
            metadata = metadata.set_token_endpoint(Some(
                TokenUrl::new(url.clone()).map_err(|e| bad("token_url", &e))?,
            ));
        }
        if let Some(url) = &self.endpoints.userinfo_url {
            metadata = metadata.set_userinfo_endpoint(Some(
                UserInfoUrl::new(url.clone()).map_err(|e| bad("userinfo_url", &e))?,
            ));
        }
        let mut extra = metadata.additional_metadata().clone();
        if self.endpoints.revocation_url.is_some() {
            extra.revocation_endpoint = self.endpoints.revocation_url.clone();
        }
        let redirect = RedirectUrl::new(self.redirect_uri.clone())
            .map_err(|e| self.fail(format!("the redirect URI is not valid ({e})")))?;
        let discovered = Arc::new(Discovered {
            authorize_endpoint: metadata.authorization_endpoint().to_string(),
            issuer: metadata.issuer().to_string(),
            extra,
            client: CoreClient::from_provider_metadata(
                metadata,
                ClientId::new(self.client_id.clone()),
                Some(ClientSecret::new(
                    self.client_secret.expose_secret().to_owned(),
                )),
            )
            .set_redirect_uri(redirect),
            fetched_at: Instant::now(),
        });
        *slot = Some(discovered.clone());
        Ok(discovered)
    }

    pub async fn authorize(&self) -> Result<AuthorizeRequest, AppError> {
        let d = self.discovered().await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let scopes = self
            .scopes
            .iter()
            // openidconnect always adds `openid` itself.
            .filter(|s| s.as_str() != "openid")
            .map(|s| Scope::new(s.clone()));
        let (url, state, nonce) = d
            .client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                || CsrfToken::new_random_len(STATE_BYTES),
                Nonce::new_random,
            )
            .add_scopes(scopes)
            .set_pkce_challenge(challenge)
            .url();
        let params = split_authorize_url(&url, &d.authorize_endpoint);
        Ok(AuthorizeRequest {
            authorize_endpoint: d.authorize_endpoint.clone(),
            params,
            state: state.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
            nonce: Some(nonce.secret().clone()),
        })
    }

    pub async fn check_callback_issuer(&self, iss: Option<&str>) -> Result<(), AppError> {
        let d = self.discovered().await?;
        match iss {
            Some(iss) if iss == d.issuer => Ok(()),
            Some(_) => Err(AppError::IssuerMismatch(format!(
                "the answer claims to come from another issuer than {} (possible mix-up attack)",
                self.id
            ))),
            None if d.extra.authorization_response_iss_parameter_supported => {
                Err(AppError::IssuerMismatch(format!(
                    "{} always sends `iss` with its answer, and this answer has none",
                    self.id
                )))
            }
            None => Ok(()),
        }
    }

    pub async fn finish(
        &self,
        code: String,
        pkce_verifier: String,
        nonce: Option<String>,
    ) -> Result<LoginResult, AppError> {
        let d = self.discovered().await?;
        let token = d
            .client
            .exchange_code(AuthorizationCode::new(code))
            .map_err(|e| self.fail(format!("cannot exchange the code: {e}")))?
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier))
            .request_async(&self.http)
            .await
            .map_err(|e| self.fail(format!("the token endpoint {}", describe_token_error(&e))))?;

        let id_token = token
            .id_token()
            .ok_or_else(|| self.fail("the token endpoint sent no id_token"))?;
        let verifier = d.client.id_token_verifier();
        let nonce = Nonce::new(nonce.unwrap_or_default());
        let claims = id_token
            .claims(&verifier, &nonce)
            .map_err(|e| self.fail(format!("the id_token failed verification: {e}")))?;
        // OpenID Connect Core §3.1.3.8: when the id_token carries `at_hash`, it must match.
        if let Some(expected) = claims.access_token_hash() {
            let cannot = |e: &dyn std::fmt::Display| {
                self.fail(format!("the id_token's at_hash cannot be checked: {e}"))
            };
            let alg = id_token.signing_alg().map_err(|e| cannot(&e))?;
            let key = id_token.signing_key(&verifier).map_err(|e| cannot(&e))?;
            let actual = AccessTokenHash::from_token(token.access_token(), alg, key)
                .map_err(|e| cannot(&e))?;
            if &actual != expected {
                return Err(self.fail("the id_token does not belong to the access token (at_hash)"));
            }
        }

        let mut user = user_from!(self.id, claims);
        if d.client.user_info_url().is_some() {
            let info = d
                .client
                .user_info(token.access_token().clone(), Some(claims.subject().clone()))
                .map_err(|e| self.fail(format!("cannot call userinfo: {e}")))?
                .request_async::<EmptyAdditionalClaims, _, CoreGenderClaim>(&self.http)
                .await
                .map_err(|e| {
                    self.fail(format!("the userinfo endpoint failed: {}", describe(&e)))
                })?;
            let from_info = user_from!(self.id, info);
            user = User {
                login: from_info.login.or(user.login),
                name: from_info.name.or(user.name),
                email: from_info.email.or(user.email),
                avatar_url: from_info.avatar_url.or(user.avatar_url),
                ..user
            };
        }

        Ok(LoginResult {
            user,
            tokens: ProviderTokens {
                access_token: secret(token.access_token().secret().clone()),
                refresh_token: token.refresh_token().map(|t| secret(t.secret().clone())),
                id_token: Some(secret(id_token.to_string())),
                expires_at: expires_at(token.expires_in()),
            },
        })
    }

    /// The live profile from userinfo (OIDC Core §5.3), as JSON so the raw reply reaches the
    /// SPA too.
    pub async fn profile(&self, tokens: &ProviderTokens) -> Result<Profile, CallError> {
        let d = self.discovered().await?;
        let url = d
            .client
            .user_info_url()
            .ok_or_else(|| self.fail("the provider has no userinfo endpoint"))?
            .to_string();
        let raw = get_json(
            &self.http,
            &self.id,
            &url,
            &tokens.access_token,
            "application/json",
        )
        .await?;
        let text = |name: &str| super::field(&raw, name);
        let user = User {
            provider: self.id.clone(),
            subject: text("sub").ok_or_else(|| self.fail("the userinfo reply has no sub"))?,
            login: text("preferred_username"),
            name: text("name"),
            email: text("email"),
            avatar_url: text("picture"),
        };
        let details = ProfileDetails {
            profile_url: text("profile"),
            ..ProfileDetails::default()
        };
        Ok(Profile { user, details, raw })
    }

    /// RFC 6749 §6 with OIDC Core §12.2: a new id_token, when sent, is verified like the first
    /// (no nonce this time).
    pub async fn refresh(&self, tokens: &ProviderTokens) -> Result<ProviderTokens, AppError> {
        let Some(refresh) = &tokens.refresh_token else {
            return Err(AppError::SessionExpired(self.id.clone()));
        };
        let d = self.discovered().await?;
        let token = d
            .client
            .exchange_refresh_token(&RefreshToken::new(refresh.expose_secret().to_owned()))
            .map_err(|e| self.fail(format!("cannot refresh: {e}")))?
            .request_async(&self.http)
            .await
            .map_err(|e| super::refresh_error(&self.id, &e))?;
        let id_token = match token.id_token() {
            Some(id_token) => {
                id_token
                    .claims(&d.client.id_token_verifier(), |_: Option<&Nonce>| Ok(()))
                    .map_err(|e| {
                        self.fail(format!("the refreshed id_token failed verification: {e}"))
                    })?;
                Some(secret(id_token.to_string()))
            }
            None => tokens.id_token.clone(),
        };
        Ok(ProviderTokens {
            access_token: secret(token.access_token().secret().clone()),
            refresh_token: token
                .refresh_token()
                .map(|t| secret(t.secret().clone()))
                .or_else(|| tokens.refresh_token.clone()),
            id_token,
            expires_at: expires_at(token.expires_in()),
        })
    }

    /// OpenID Connect RP-Initiated Logout 1.0 §2: where the browser may go to end its session
    /// at the provider too, when discovery names an `end_session_endpoint`. Identified by
    /// `client_id`, not `id_token_hint`: the id_token would reach the browser, which rule 8
    /// forbids (the provider may then ask the person to confirm, as §2 allows).
    pub async fn end_session_url(&self, post_logout_redirect_uri: &str) -> Option<String> {
        let d = self.discovered().await.ok()?;
        let endpoint = d.extra.end_session_endpoint.as_deref()?;
        let mut url = super::secure_url(endpoint)
            .map_err(|e| tracing::warn!(provider = %self.id, error = %e, "end_session_endpoint unusable"))
            .ok()?;
        url.query_pairs_mut()
            .append_pair("client_id", &self.client_id)
            .append_pair("post_logout_redirect_uri", post_logout_redirect_uri);
        Some(url.into())
    }

    pub async fn revoke(&self, tokens: &ProviderTokens) {
        let Ok(d) = self.discovered().await else {
            tracing::warn!(provider = %self.id, "cannot revoke: discovery failed");
            return;
        };
        let Some(endpoint) = d.extra.revocation_endpoint.as_deref() else {
            return;
        };
        // The refresh token first: revoking it also ends its access tokens at most providers.
        let mut revocable = Vec::new();
        if let Some(refresh) = &tokens.refresh_token {
            revocable.push((refresh, "refresh_token"));
        }
        revocable.push((&tokens.access_token, "access_token"));
        for (token, hint) in revocable {
            let result = super::revoke_rfc7009(
                &self.http,
                endpoint,
                &self.client_id,
                &self.client_secret,
                token,
                hint,
            )
            .await;
            if let Err(e) = result {
                tracing::warn!(provider = %self.id, error = %e, "token revocation failed");
            }
        }
    }
}
