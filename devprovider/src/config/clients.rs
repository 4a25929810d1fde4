//! Registered clients, their metadata, and how both are checked.

use serde_json::Value;
use url::Url;

use super::{Config, Dpop, Par};
use crate::jose;

/// A registered confidential client. Redirect URIs are compared exactly (RFC 9700 §2.1).
#[derive(Clone)]
pub struct Client {
    pub id: String,
    pub secret: String,
    pub redirect_uris: Vec<String>,
    /// OIDC Back-Channel Logout 1.0 §2.2: where logout tokens are POSTed when a user who got
    /// tokens for this client logs out. Standard dialect only; plain `http://` (devprovider
    /// speaks no TLS).
    pub backchannel_logout_uri: Option<String>,
}

impl Client {
    /// A client with one redirect URI and no back-channel logout: how Portero is registered,
    /// with `{origin}/callback/{provider}`.
    pub fn new(
        id: impl Into<String>,
        secret: impl Into<String>,
        redirect_uri: impl Into<String>,
    ) -> Client {
        Client {
            id: id.into(),
            secret: secret.into(),
            redirect_uris: vec![redirect_uri.into()],
            backchannel_logout_uri: None,
        }
    }
}

// Written by hand so the secret can't end up in a log line.
impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("id", &self.id)
            .field("secret", &"<redacted>")
            .field("redirect_uris", &self.redirect_uris)
            .field("backchannel_logout_uri", &self.backchannel_logout_uri)
            .finish()
    }
}

/// RFC 6749 §3.1.2: an absolute URI without a fragment.
pub(crate) fn parse_redirect_uri(uri: &str) -> Result<Url, String> {
    let url = Url::parse(uri).map_err(|e| format!("redirect URI `{uri}` is not absolute: {e}"))?;
    if url.fragment().is_some() {
        return Err(format!("redirect URI `{uri}` must not have a fragment"));
    }
    if url.cannot_be_a_base() {
        return Err(format!("redirect URI `{uri}` cannot carry a query"));
    }
    Ok(url)
}

/// OIDC Back-Channel Logout 1.0 §2.2: an absolute URI without a fragment; `http` only, since
/// devprovider's HTTP client speaks no TLS.
fn parse_backchannel_logout_uri(uri: &str) -> Result<Url, String> {
    let url = Url::parse(uri)
        .map_err(|e| format!("backchannel_logout_uri `{uri}` is not absolute: {e}"))?;
    if url.scheme() != "http" {
        return Err(format!(
            "backchannel_logout_uri `{uri}` must be http:// (devprovider speaks no TLS)"
        ));
    }
    if url.fragment().is_some() {
        return Err(format!(
            "backchannel_logout_uri `{uri}` must not have a fragment"
        ));
    }
    Ok(url)
}

/// How a client authenticates at the token, revocation, introspection and PAR endpoints: RFC
/// 7591's `token_endpoint_auth_method`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum AuthMethod {
    /// `client_secret_basic` or `client_secret_post`, whichever the request uses.
    #[default]
    ClientSecret,
    /// HTTP Basic only (RFC 6749 §2.3.1).
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the body only.
    ClientSecretPost,
    /// A JWT signed with the client's own key (RFC 7523 §2.2), checked against its `jwks` or
    /// `jwks_uri`; the client has no secret.
    PrivateKeyJwt,
}

impl AuthMethod {
    /// Every method, by the name RFC 7591 and the config file give it.
    pub const ALL: [(AuthMethod, &'static str); 3] = [
        (AuthMethod::ClientSecretBasic, "client_secret_basic"),
        (AuthMethod::ClientSecretPost, "client_secret_post"),
        (AuthMethod::PrivateKeyJwt, "private_key_jwt"),
    ];
}

impl std::str::FromStr for AuthMethod {
    type Err = String;

    fn from_str(name: &str) -> Result<AuthMethod, String> {
        AuthMethod::ALL
            .into_iter()
            .find(|(_, n)| *n == name)
            .map(|(method, _)| method)
            .ok_or_else(|| {
                let names: Vec<&str> = AuthMethod::ALL.iter().map(|(_, n)| *n).collect();
                format!("unknown method `{name}`; use {}", names.join(", "))
            })
    }
}

/// What RFC 7591 calls client metadata, beyond [`Client`]'s fields: what the stricter
/// (FAPI-style) clients register. [`Config::client_metadata`] holds it by client id.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ClientMetadata {
    /// `token_endpoint_auth_method`.
    pub token_endpoint_auth_method: AuthMethod,
    /// `jwks`: the client's public keys as a JWK Set, for `private_key_jwt`.
    pub jwks: Option<Value>,
    /// `jwks_uri`: where the client publishes its JWK Set (plain `http://`: devprovider speaks
    /// no TLS). Fetched when an assertion needs it, and again when one names an unknown key.
    pub jwks_uri: Option<String>,
    /// RFC 9126 §6: every authorization request of this client must be pushed first.
    pub require_pushed_authorization_requests: bool,
    /// RFC 9449 §5.2: every token request of this client must carry a DPoP proof.
    pub dpop_bound_access_tokens: bool,
}

impl ClientMetadata {
    /// A `private_key_jwt` client whose public keys are `jwks` (a JWK Set).
    pub fn private_key_jwt(jwks: Value) -> ClientMetadata {
        ClientMetadata {
            token_endpoint_auth_method: AuthMethod::PrivateKeyJwt,
            jwks: Some(jwks),
            ..ClientMetadata::default()
        }
    }
}

/// A client's registration, as `config` can honour it; the error names the problem.
pub(super) fn validate(
    client: &Client,
    metadata: Option<&ClientMetadata>,
    config: &Config,
) -> Result<(), String> {
    let default = ClientMetadata::default();
    let metadata = metadata.unwrap_or(&default);
    let method = metadata.token_endpoint_auth_method;
    if method != AuthMethod::PrivateKeyJwt && client.secret.is_empty() {
        return Err("the secret is empty (only a private_key_jwt client has none)".to_owned());
    }
    if client.redirect_uris.is_empty() {
        return Err("no redirect_uris".to_owned());
    }
    for uri in &client.redirect_uris {
        parse_redirect_uri(uri)?;
    }
    if let Some(uri) = &client.backchannel_logout_uri {
        if !config.dialect.rules().backchannel_logout() {
            return Err(format!(
                "backchannel_logout_uri is set, but the {} dialect has no back-channel logout \
                 (the standard dialect has)",
                config.dialect
            ));
        }
        parse_backchannel_logout_uri(uri)?;
    }
    if *metadata != default && config.dialect != crate::Dialect::Standard {
        return Err(format!(
            "client metadata (auth method, keys, PAR, DPoP) is for the standard dialect; the {} \
             dialect has none",
            config.dialect
        ));
    }
    validate_keys(metadata)?;
    if metadata.require_pushed_authorization_requests && config.par == Par::Off {
        return Err("require_pushed_authorization_requests needs PAR on (`par`)".to_owned());
    }
    if metadata.dpop_bound_access_tokens && config.dpop == Dpop::Off {
        return Err("dpop_bound_access_tokens needs DPoP on (`dpop`)".to_owned());
    }
    Ok(())
}

/// `private_key_jwt` needs exactly one of `jwks` and `jwks_uri`; the others use neither.
fn validate_keys(metadata: &ClientMetadata) -> Result<(), String> {
    let private_key_jwt = metadata.token_endpoint_auth_method == AuthMethod::PrivateKeyJwt;
    match (&metadata.jwks, &metadata.jwks_uri) {
        (Some(_), Some(_)) => Err("give jwks or jwks_uri, not both".to_owned()),
        (None, None) if private_key_jwt => {
            Err("private_key_jwt needs the client's public keys: jwks or jwks_uri".to_owned())
        }
        (Some(_), None) | (None, Some(_)) if !private_key_jwt => {
            Err("jwks and jwks_uri are for token_endpoint_auth_method = private_key_jwt".to_owned())
        }
        (Some(jwks), None) => jose::parse_jwks(jwks)
            .map(drop)
            .map_err(|why| format!("jwks: {why}")),
        (None, Some(uri)) => parse_jwks_uri(uri).map(drop),
        (None, None) => Ok(()),
    }
}

/// An absolute `http://` URL: devprovider's HTTP client speaks no TLS.
pub(crate) fn parse_jwks_uri(uri: &str) -> Result<Url, String> {
    let url = Url::parse(uri).map_err(|e| format!("jwks_uri `{uri}` is not absolute: {e}"))?;
    if url.scheme() != "http" {
        return Err(format!(
            "jwks_uri `{uri}` must be http:// (devprovider speaks no TLS)"
        ));
    }
    Ok(url)
}
