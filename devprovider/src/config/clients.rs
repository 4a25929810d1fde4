//! Registered clients and how their URIs are checked.

use url::Url;

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
pub(super) fn parse_backchannel_logout_uri(uri: &str) -> Result<Url, String> {
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
