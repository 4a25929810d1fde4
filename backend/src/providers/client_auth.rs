//! Portero as a provider's client: how it authenticates (`client_auth`: the secret in basic auth
//! or in the body, or a JWT signed with its own key, RFC 7523 §2.2), the same way at the token,
//! revocation and PAR endpoints; and what a DPoP client keeps of the provider (its nonces,
//! `dpop.rs`).

use std::sync::atomic::{AtomicBool, Ordering};

use oauth2::{AuthType, ClientSecret};
use secrecy::{ExposeSecret, SecretString};

use super::{
    dpop::Nonces,
    jose::{ClientKey, JWT_BEARER},
    standard::basic_auth,
};
use crate::config::{AssertionAudience, ProviderConfig, TokenAuth};

/// Portero as one provider's client.
pub struct ClientAuth {
    id: String,
    client_id: String,
    method: TokenAuth,
    secret: Option<SecretString>,
    key: Option<ClientKey>,
    audience: AssertionAudience,
    /// The configured issuer: the assertions' `aud` with `client_assertion_audience = "issuer"`
    /// (OpenID Connect kinds check that discovery names the same one).
    issuer: Option<String>,
    /// `dpop = true`: each session's tokens are bound to its own key.
    pub dpop: bool,
    /// The DPoP nonces this provider handed out (RFC 9449 §8).
    pub nonces: Nonces,
    /// Whether a Bearer token given despite a DPoP proof was logged already (once is enough).
    bearer_logged: AtomicBool,
}

impl ClientAuth {
    pub fn new(config: &ProviderConfig) -> Self {
        ClientAuth {
            id: config.id.clone(),
            client_id: config.client_id.clone(),
            method: config.token_auth,
            secret: config.client_secret.clone(),
            key: config.client_key.clone(),
            audience: config.assertion_audience,
            issuer: config.issuer.clone(),
            dpop: config.dpop,
            nonces: Nonces::default(),
            bearer_logged: AtomicBool::new(false),
        }
    }

    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The configured issuer, for the log.
    pub fn issuer(&self) -> &str {
        self.issuer.as_deref().unwrap_or_default()
    }

    /// The secret, for the kinds whose own calls need it (GitHub's revocation API).
    pub fn secret(&self) -> Option<&SecretString> {
        self.secret.as_ref()
    }

    /// The key `private_key_jwt` signs with.
    pub fn key(&self) -> Option<&ClientKey> {
        self.key.as_ref()
    }

    /// The secret as the oauth2 crate sends it on token requests; none with `private_key_jwt`,
    /// whose assertion [`ClientAuth::assertion`] adds to each request instead.
    pub fn crate_secret(&self) -> Option<ClientSecret> {
        self.secret
            .as_ref()
            .map(|s| ClientSecret::new(s.expose_secret().to_owned()))
    }

    /// Where the oauth2 crate puts the secret. Without one it sends `client_id` in the body,
    /// which `private_key_jwt` requests carry too (RFC 7523 §3).
    pub fn crate_auth_type(&self) -> AuthType {
        match self.method {
            TokenAuth::ClientSecretBasic => AuthType::BasicAuth,
            TokenAuth::ClientSecretPost | TokenAuth::PrivateKeyJwt => AuthType::RequestBody,
        }
    }

    /// With `private_key_jwt`: the two form fields of a fresh client assertion (RFC 7523 §2.2)
    /// for a call whose token endpoint is `token_endpoint`. A new one for every request: the
    /// server accepts each `jti` once.
    pub fn assertion(&self, token_endpoint: &str) -> Option<[(&'static str, String); 2]> {
        let key = self.key.as_ref()?;
        let audience = match (self.audience, &self.issuer) {
            (AssertionAudience::Issuer, Some(issuer)) => issuer.as_str(),
            _ => token_endpoint,
        };
        Some([
            ("client_assertion_type", JWT_BEARER.to_owned()),
            ("client_assertion", key.assertion(&self.client_id, audience)),
        ])
    }

    /// Authenticates a request built here (revocation, PAR) as the token endpoint's are: the
    /// form fields it needs added to `form`, and the `Authorization` header it needs, if any.
    pub fn authenticate(
        &self,
        form: &mut Vec<(&str, String)>,
        token_endpoint: &str,
    ) -> Option<String> {
        match (self.method, &self.secret) {
            (TokenAuth::ClientSecretBasic, Some(secret)) => {
                return Some(basic_auth(&self.client_id, secret))
            }
            (TokenAuth::ClientSecretPost, Some(secret)) => form.extend([
                ("client_id", self.client_id.clone()),
                ("client_secret", secret.expose_secret().to_owned()),
            ]),
            _ => {
                form.push(("client_id", self.client_id.clone()));
                form.extend(self.assertion(token_endpoint).into_iter().flatten());
            }
        }
        None
    }

    /// RFC 9449 §5: a server that ignores DPoP answers `token_type: Bearer`. The token still
    /// works, unbound; said in the log once, not at every login.
    pub fn bearer_despite_dpop(&self) {
        if !self.bearer_logged.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                provider = %self.id,
                "dpop = true, but the provider answered a Bearer token: it does not bind its \
                 tokens to DPoP keys; its tokens are used as Bearer tokens"
            );
        }
    }
}
