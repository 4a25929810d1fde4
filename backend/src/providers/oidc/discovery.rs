//! OpenID Connect Discovery 1.0: the issuer's document read on first use and again after
//! `DISCOVERY_TTL`, the configured endpoints taken over the discovered ones, the discovered ones
//! held to the issuer's host (rule 15), and the signing keys fetched — again for a `kid` they
//! lack at most once per `jwks_min_refetch_secs` ([`Cache`]).

use std::{
    sync::{Arc, Mutex, PoisonError, RwLock},
    time::{Duration, Instant},
};

use openidconnect::{
    core::{
        CoreAuthDisplay, CoreAuthPrompt, CoreClaimName, CoreClaimType, CoreClientAuthMethod,
        CoreErrorResponseType, CoreGenderClaim, CoreGrantType, CoreJweContentEncryptionAlgorithm,
        CoreJweKeyManagementAlgorithm, CoreResponseMode, CoreResponseType, CoreRevocableToken,
        CoreRevocationErrorResponse, CoreSubjectIdentifierType, CoreTokenIntrospectionResponse,
        CoreTokenResponse,
    },
    AdditionalProviderMetadata, AuthUrl, ClientId, DiscoveryError, EmptyAdditionalClaims,
    EndpointMaybeSet, EndpointNotSet, EndpointSet, IssuerUrl, JsonWebKeySetUrl, ProviderMetadata,
    RedirectUrl, StandardErrorResponse, TokenUrl, UserInfoUrl,
};
use serde::{Deserialize, Serialize};

use super::{
    jwk::{Jwk, Jwks},
    OidcFlow,
};
use crate::providers::{standard, ApiEndpoints, ProviderError};

/// Discovery and keys are fetched again after this long, so a provider's key rotation is
/// picked up without a restart.
const DISCOVERY_TTL: Duration = Duration::from_secs(60 * 60);

/// Rule 15: `url` is https on the issuer's host and port, or plain http when the issuer itself
/// is plain http on a loopback address (development and tests).
fn is_the_issuers(issuer: &IssuerUrl, url: &str) -> bool {
    let (Ok(url), issuer) = (url::Url::parse(url), issuer.url()) else {
        return false;
    };
    let same_host = url.host() == issuer.host()
        && url.port_or_known_default() == issuer.port_or_known_default();
    let scheme_ok = url.scheme() == "https"
        || (url.scheme() == "http" && issuer.scheme() == "http" && standard::is_loopback(issuer));
    same_host && scheme_ok
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
    /// RFC 9126 §5.
    pushed_authorization_request_endpoint: Option<String>,
    #[serde(default)]
    require_pushed_authorization_requests: bool,
    /// RFC 9449 §5.1.
    dpop_signing_alg_values_supported: Option<Vec<String>>,
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
    Jwk,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

/// `CoreClient` with our keys (`jwk.rs`: RSA signatures checked by ring).
pub(super) type Client = openidconnect::Client<
    EmptyAdditionalClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    Jwk,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    CoreTokenResponse,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,      // authorization
    EndpointNotSet,   // device authorization
    EndpointNotSet,   // introspection
    EndpointNotSet,   // revocation: see `standard::revoke_rfc7009`
    EndpointMaybeSet, // token
    EndpointMaybeSet, // userinfo
>;

pub(super) struct Discovered {
    pub client: Client,
    /// The signing keys, for logout tokens (the client keeps its own copy for id_tokens).
    pub jwks: Jwks,
    pub authorize_endpoint: String,
    pub issuer: String,
    pub iss_parameter_required: bool,
    pub endpoints: Arc<ApiEndpoints>,
    fetched_at: Instant,
}

/// What discovery last read, and who may read it again when. The provider is read by one
/// request at a time (`reading`), never under `current`'s lock, which is held only to copy or
/// replace an `Arc`: requests go on with the copy they have while it is read again.
pub(super) struct Cache {
    current: RwLock<Option<Arc<Discovered>>>,
    reading: tokio::sync::Mutex<()>,
    /// When the keys were last read, or tried: a `kid` they lack is looked for again only
    /// `min_refetch` after (docs/design.md, rule 14: a flood of logout tokens naming made-up
    /// keys must not hammer the provider, nor stall its logins).
    keys_read_at: Mutex<Option<Instant>>,
    min_refetch: Duration,
}

impl Cache {
    pub(super) fn new(min_refetch: Duration) -> Self {
        Cache {
            current: RwLock::new(None),
            reading: tokio::sync::Mutex::new(()),
            keys_read_at: Mutex::new(None),
            min_refetch,
        }
    }

    fn current(&self) -> Option<Arc<Discovered>> {
        let current = self.current.read().unwrap_or_else(PoisonError::into_inner);
        current.clone()
    }

    fn fresh(&self) -> Option<Arc<Discovered>> {
        self.current()
            .filter(|d| d.fetched_at.elapsed() < DISCOVERY_TTL)
    }

    fn replace(&self, discovered: Arc<Discovered>) {
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Some(discovered);
    }

    /// Whether the keys may be read now; if so, this read counts as the window's one.
    fn may_read_keys(&self) -> bool {
        let mut last = self
            .keys_read_at
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if last.is_some_and(|at| at.elapsed() < self.min_refetch) {
            return false;
        }
        *last = Some(Instant::now());
        true
    }
}

impl OidcFlow {
    /// Discovery happens on first use rather than at start-up, so the backend starts (and
    /// serves the other providers) while one provider is down; its routes answer 502 meanwhile.
    /// Past `DISCOVERY_TTL` one request reads it again while the others use the copy they have.
    pub(super) async fn discovered(&self) -> Result<Arc<Discovered>, ProviderError> {
        let cache = &self.discovered;
        if let Some(d) = cache.fresh() {
            return Ok(d);
        }
        let _reading = match (cache.current(), cache.reading.try_lock()) {
            (_, Ok(reading)) => reading,
            (Some(stale), Err(_)) => return Ok(stale),
            (None, Err(_)) => cache.reading.lock().await,
        };
        // Read by the request this one waited for.
        if let Some(d) = cache.fresh() {
            return Ok(d);
        }
        cache.may_read_keys();
        let discovered = Arc::new(self.discover().await?);
        cache.replace(discovered.clone());
        Ok(discovered)
    }

    /// The provider read again because a token names a key `seen` lacks (a key rotated in
    /// since): at most once per `jwks_min_refetch_secs`, the keys in use kept meanwhile and
    /// when the read fails. `None` when the keys were not read again.
    pub(super) async fn keys_again(&self, seen: &Arc<Discovered>) -> Option<Arc<Discovered>> {
        let cache = &self.discovered;
        let _reading = cache.reading.lock().await;
        let current = cache.current()?;
        if !Arc::ptr_eq(&current, seen) {
            // Read again while this request waited: those keys.
            return Some(current);
        }
        if !cache.may_read_keys() {
            return None;
        }
        match self.discover().await {
            Ok(discovered) => {
                let discovered = Arc::new(discovered);
                cache.replace(discovered.clone());
                Some(discovered)
            }
            Err(e) => {
                tracing::warn!(provider = %self.id, error = %e, "the keys could not be read again; the old ones stay");
                None
            }
        }
    }

    /// Reads the discovery document (OpenID Connect Discovery 1.0 §4), takes the configured
    /// endpoints over the discovered ones, checks the discovered ones (rule 15), then fetches the
    /// signing keys.
    async fn discover(&self) -> Result<Discovered, ProviderError> {
        let issuer = IssuerUrl::new(self.issuer.clone())
            .map_err(|e| self.fail(format!("the issuer is not a valid URL ({e})")))?;
        let metadata = self.fetch_document(&issuer).await?;
        let mut metadata = self.with_configured_endpoints(metadata)?;
        self.check_required_on_issuer(&issuer, &metadata)?;
        let extra = metadata.additional_metadata().clone();
        let endpoints = self.api_endpoints(&issuer, &metadata, &extra);
        let jwks = self.fetch_keys(&metadata).await?;
        metadata = metadata.set_jwks(jwks.clone());
        let redirect = RedirectUrl::new(self.redirect_uri.clone())
            .map_err(|e| self.fail(format!("the redirect URI is not valid ({e})")))?;
        Ok(Discovered {
            jwks,
            authorize_endpoint: metadata.authorization_endpoint().to_string(),
            issuer: metadata.issuer().to_string(),
            iss_parameter_required: extra.authorization_response_iss_parameter_supported,
            endpoints: Arc::new(endpoints),
            client: Client::from_provider_metadata(
                metadata,
                ClientId::new(self.auth.client_id().to_owned()),
                self.auth.crate_secret(),
            )
            .set_auth_type(self.auth.crate_auth_type())
            .set_redirect_uri(redirect),
            fetched_at: Instant::now(),
        })
    }

    fn document_url(&self) -> String {
        format!(
            "{}/.well-known/openid-configuration",
            self.issuer.trim_end_matches('/')
        )
    }

    /// Discovery failed: `what` for the browser, `detail` for the log.
    fn discovery_failed(&self, what: String, detail: String) -> ProviderError {
        ProviderError::failed_at(
            &self.id,
            format!("OpenID Connect discovery failed: {what}"),
            format!("discovery at {}: {detail}", self.document_url()),
        )
    }

    /// The issuer's discovery document, which must name the configured issuer.
    async fn fetch_document(&self, issuer: &IssuerUrl) -> Result<Metadata, ProviderError> {
        let failed = |what: String, detail: String| self.discovery_failed(what, detail);
        let request = http::Request::get(self.document_url())
            .header(http::header::ACCEPT, "application/json")
            .body(Vec::new())
            .map_err(|e| failed("the issuer cannot be called".into(), e.to_string()))?;
        let reply = self
            .http
            .send(request)
            .await
            .map_err(|e| failed(format!("the issuer {e}"), e.detail()))?;
        if reply.status() != http::StatusCode::OK {
            let status = reply.status();
            return Err(failed(
                format!("the issuer answered {status}"),
                status.to_string(),
            ));
        }
        let metadata: Metadata = serde_json::from_slice(reply.body()).map_err(|e| {
            failed(
                "the issuer sent a document that is not discovery JSON".into(),
                e.to_string(),
            )
        })?;
        if metadata.issuer() != issuer {
            return Err(failed(
                "the document names another issuer than the configured one".into(),
                format!("it names {}", metadata.issuer().as_str()),
            ));
        }
        Ok(metadata)
    }

    /// Configured endpoints win over discovered ones (docs/design.md: any kind may override).
    fn with_configured_endpoints(&self, mut metadata: Metadata) -> Result<Metadata, ProviderError> {
        let bad =
            |key: &str, e: &dyn std::fmt::Display| self.fail(format!("{key} is not valid ({e})"));
        let configured = &self.endpoints;
        if let Some(url) = &configured.authorize_url {
            metadata = metadata.set_authorization_endpoint(
                AuthUrl::new(url.clone()).map_err(|e| bad("authorize_url", &e))?,
            );
        }
        if let Some(url) = &configured.token_url {
            metadata = metadata.set_token_endpoint(Some(
                TokenUrl::new(url.clone()).map_err(|e| bad("token_url", &e))?,
            ));
        }
        if let Some(url) = &configured.userinfo_url {
            metadata = metadata.set_userinfo_endpoint(Some(
                UserInfoUrl::new(url.clone()).map_err(|e| bad("userinfo_url", &e))?,
            ));
        }
        if let Some(url) = &configured.jwks_url {
            metadata = metadata
                .set_jwks_uri(JsonWebKeySetUrl::new(url.clone()).map_err(|e| bad("jwks_url", &e))?);
        }
        Ok(metadata)
    }

    /// Rule 15: what discovery alone names must be the issuer's. Token, userinfo and keys are
    /// needed: one elsewhere stops the login.
    fn check_required_on_issuer(
        &self,
        issuer: &IssuerUrl,
        metadata: &Metadata,
    ) -> Result<(), ProviderError> {
        let configured = &self.endpoints;
        let required = [
            (
                "token_endpoint",
                configured.token_url.is_none(),
                metadata.token_endpoint().map(|u| u.to_string()),
            ),
            (
                "userinfo_endpoint",
                configured.userinfo_url.is_none(),
                metadata.userinfo_endpoint().map(|u| u.to_string()),
            ),
            (
                "jwks_uri",
                configured.jwks_url.is_none(),
                Some(metadata.jwks_uri().to_string()),
            ),
        ];
        for (name, discovered, url) in required {
            if let (true, Some(url)) = (discovered, url) {
                if !is_the_issuers(issuer, &url) {
                    return Err(self.discovery_failed(
                        format!(
                            "its {name} is not on the issuer's host over https (configure it \
                             explicitly to use it)"
                        ),
                        format!("{name} {url}"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The endpoints calls as the person use. Revocation, logout and PAR are optional (rule 15):
    /// one discovered elsewhere than on the issuer is left unused.
    fn api_endpoints(
        &self,
        issuer: &IssuerUrl,
        metadata: &Metadata,
        extra: &ExtraMetadata,
    ) -> ApiEndpoints {
        let optional = |name: &str, url: &Option<String>| {
            url.clone().filter(|url| {
                let ok = is_the_issuers(issuer, url);
                if !ok {
                    tracing::warn!(provider = %self.id, %name, %url, "left unused: not on the issuer's host over https");
                }
                ok
            })
        };
        ApiEndpoints {
            token: metadata.token_endpoint().map(|u| u.to_string()),
            userinfo: metadata.userinfo_endpoint().map(|u| u.to_string()),
            revocation: self
                .endpoints
                .revocation_url
                .clone()
                .or_else(|| optional("revocation_endpoint", &extra.revocation_endpoint)),
            end_session: optional("end_session_endpoint", &extra.end_session_endpoint),
            // It receives the client's credentials, like the token endpoint.
            par: self.endpoints.par_url.clone().or_else(|| {
                optional(
                    "pushed_authorization_request_endpoint",
                    &extra.pushed_authorization_request_endpoint,
                )
            }),
            par_required: extra.require_pushed_authorization_requests,
            dpop_algs: extra.dpop_signing_alg_values_supported.clone(),
        }
    }

    /// The signing keys at `jwks_uri`.
    async fn fetch_keys(&self, metadata: &Metadata) -> Result<Jwks, ProviderError> {
        Jwks::fetch_async(metadata.jwks_uri(), &self.http)
            .await
            .map_err(|e| {
                let (what, detail) = match &e {
                    DiscoveryError::Request(e) => (format!("the keys endpoint {e}"), e.detail()),
                    DiscoveryError::Response(status, _, _) => (
                        format!("the keys endpoint answered {status}"),
                        e.to_string(),
                    ),
                    _ => (
                        "the keys endpoint sent a reply that is not JSON Web Keys".to_owned(),
                        e.to_string(),
                    ),
                };
                self.discovery_failed(what, detail)
            })
    }
}
