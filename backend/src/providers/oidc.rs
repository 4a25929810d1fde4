//! OpenID Connect (`kind = "oidc"`, and the presets of `google.rs` and `gitlab.rs`): discovery
//! from the issuer, PKCE S256, the id_token verified (signature from JWKS, `iss`, `aud`, `exp`,
//! `nonce`, `at_hash`), the profile from userinfo. The protocol work is the `openidconnect`
//! crate's.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use async_trait::async_trait;
use openidconnect::{
    core::{
        CoreAuthDisplay, CoreAuthenticationFlow, CoreClaimName, CoreClaimType, CoreClient,
        CoreClientAuthMethod, CoreGrantType, CoreJsonWebKey, CoreJsonWebKeySet,
        CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm, CoreResponseMode,
        CoreResponseType, CoreSubjectIdentifierType,
    },
    AccessTokenHash, AdditionalProviderMetadata, AuthUrl, AuthorizationCode, ClientId,
    ClientSecret, CsrfToken, DiscoveryError, EndpointMaybeSet, EndpointNotSet, EndpointSet,
    IssuerUrl, JsonWebKeySetUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier,
    ProviderMetadata, RedirectUrl, Scope, TokenResponse, TokenUrl, UserInfoUrl,
};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use shared::User;
use tokio::sync::RwLock;

use super::{
    split_authorize_url, standard, tokens_from, ApiEndpoints, AuthorizeRequest, Exchanged, Flow,
    FlowConfig, Kind, KindDefaults, Protocol, ProviderError, TokenHttp, STATE_BYTES,
};
use crate::{
    config::{Endpoints, FieldMap},
    http_client::ProviderHttp,
    session::{IdToken, ProviderTokens},
};

/// Discovery and keys are fetched again after this long, so a provider's key rotation is
/// picked up without a restart.
const DISCOVERY_TTL: Duration = Duration::from_secs(60 * 60);

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

/// The id_token verifier, for public-key signatures only (rule 6: "signature from JWKS"). A
/// provider whose discovery lists an HMAC algorithm would otherwise have its id_tokens checked
/// with the client secret, which anyone who learnt it could then forge.
fn id_token_verifier(client: &Client) -> openidconnect::core::CoreIdTokenVerifier<'_> {
    client
        .id_token_verifier()
        .set_allowed_algs(PUBLIC_KEY_ALGORITHMS)
}

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

/// What a verified logout token says.
pub struct LogoutToken {
    pub sub: Option<String>,
    pub sid: Option<String>,
    pub jti: String,
    pub iat: i64,
}

/// A logout token older than this is refused (Back-Channel Logout 1.0 §2.6 step 7 leaves the
/// window to the client); its `jti` is remembered as long.
pub const LOGOUT_TOKEN_MAX_AGE: i64 = 5 * 60;
const BACKCHANNEL_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

enum JwsError {
    Malformed,
    Algorithm,
    UnknownKey,
    Signature,
}

impl std::fmt::Display for JwsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            JwsError::Malformed => "it is not a JWT",
            JwsError::Algorithm => {
                "it is not signed with one of the provider's public-key algorithms"
            }
            JwsError::UnknownKey => "it names a key the provider does not publish",
            JwsError::Signature => "its signature does not verify",
        })
    }
}

/// A compact JWS checked against `jwks` (public-key algorithms only, as id_tokens): its header
/// and its claims.
fn verify_jws(jwks: &CoreJsonWebKeySet, jwt: &str) -> Result<(Value, Value), JwsError> {
    use base64::Engine;
    use openidconnect::JsonWebKey;
    let decode = |part: &str| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .map_err(|_| JwsError::Malformed)
    };
    let mut parts = jwt.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwsError::Malformed);
    };
    let header_json: Value =
        serde_json::from_slice(&decode(header)?).map_err(|_| JwsError::Malformed)?;
    let alg: openidconnect::core::CoreJwsSigningAlgorithm =
        serde_json::from_value(header_json.get("alg").cloned().unwrap_or_default())
            .map_err(|_| JwsError::Algorithm)?;
    if !PUBLIC_KEY_ALGORITHMS.contains(&alg) {
        return Err(JwsError::Algorithm);
    }
    let kid = header_json.get("kid").and_then(Value::as_str);
    let candidates: Vec<_> = jwks
        .keys()
        .iter()
        .filter(|k| kid.is_none_or(|kid| k.key_id().is_some_and(|id| id.as_str() == kid)))
        .collect();
    if candidates.is_empty() {
        return Err(JwsError::UnknownKey);
    }
    let signature = decode(signature)?;
    let signed = &jwt[..header.len() + 1 + payload.len()];
    candidates
        .iter()
        .find(|key| {
            key.verify_signature(&alg, signed.as_bytes(), &signature)
                .is_ok()
        })
        .ok_or(JwsError::Signature)?;
    let claims = serde_json::from_slice(&decode(payload)?).map_err(|_| JwsError::Malformed)?;
    Ok((header_json, claims))
}

/// §2.6 steps 3–8 on the verified claims.
fn logout_claims(
    header: &Value,
    claims: &Value,
    issuer: &str,
    client_id: &str,
) -> Result<LogoutToken, String> {
    let text = |name: &str| claims.get(name).and_then(Value::as_str).map(str::to_owned);
    if let Some(typ) = header.get("typ").and_then(Value::as_str) {
        // §2.4: `logout+jwt` tells it from an id_token; plain `JWT` is what older servers send.
        if !typ.eq_ignore_ascii_case("logout+jwt") && !typ.eq_ignore_ascii_case("jwt") {
            return Err(format!("its typ is {typ:?}, not logout+jwt"));
        }
    }
    if text("iss").as_deref() != Some(issuer) {
        return Err("it was issued by another issuer".into());
    }
    let audience_ok = match claims.get("aud") {
        Some(Value::String(aud)) => aud == client_id,
        Some(Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(client_id)),
        _ => false,
    };
    if !audience_ok {
        return Err("it is not for this client (aud)".into());
    }
    let now = crate::session::now();
    let iat = claims
        .get("iat")
        .and_then(Value::as_i64)
        .ok_or("it has no iat")?;
    if iat < now - LOGOUT_TOKEN_MAX_AGE || iat > now + 60 {
        return Err("its iat is not recent".into());
    }
    if claims
        .get("exp")
        .and_then(Value::as_i64)
        .is_some_and(|exp| exp < now)
    {
        return Err("it has expired".into());
    }
    let event = claims
        .get("events")
        .and_then(|events| events.get(BACKCHANNEL_EVENT));
    if !event.is_some_and(Value::is_object) {
        return Err("its events do not name a back-channel logout".into());
    }
    if claims.get("nonce").is_some() {
        return Err("it carries a nonce, as an id_token would".into());
    }
    let (sub, sid) = (text("sub"), text("sid"));
    if sub.is_none() && sid.is_none() {
        return Err("it names neither a sub nor a sid".into());
    }
    let jti = text("jti").ok_or("it has no jti")?;
    Ok(LogoutToken { sub, sid, jti, iat })
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

/// The person from verified id_token claims.
fn user_from_claims(provider: &str, claims: &openidconnect::core::CoreIdTokenClaims) -> User {
    User {
        provider: provider.to_owned(),
        subject: claims.subject().to_string(),
        login: claims.preferred_username().map(|u| u.to_string()),
        name: claims
            .name()
            .and_then(|n| n.get(None))
            .map(|n| n.to_string()),
        email: claims.email().map(|e| e.to_string()),
        avatar_url: claims
            .picture()
            .and_then(|p| p.get(None))
            .map(|p| p.to_string()),
    }
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
    /// The signing keys, for logout tokens (the client keeps its own copy for id_tokens).
    jwks: CoreJsonWebKeySet,
    authorize_endpoint: String,
    issuer: String,
    iss_parameter_required: bool,
    endpoints: Arc<ApiEndpoints>,
    fetched_at: Instant,
}

pub struct OidcFlow {
    id: String,
    issuer: String,
    client_id: String,
    client_secret: SecretString,
    redirect_uri: String,
    scopes: Vec<String>,
    endpoints: Endpoints,
    http: ProviderHttp,
    kind: &'static dyn Kind,
    discovered: RwLock<Option<Arc<Discovered>>>,
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
            client_secret: config.client_secret.clone(),
            redirect_uri: flow.redirect_uri,
            scopes: config.scopes.clone(),
            endpoints: config.endpoints.clone(),
            http: flow.http,
            kind: flow.kind,
            discovered: RwLock::new(None),
        }
    }

    fn fail(&self, message: impl Into<String>) -> ProviderError {
        ProviderError::failed(&self.id, message)
    }

    fn token_http(&self) -> TokenHttp<'_> {
        TokenHttp {
            http: &self.http,
            kind: self.kind,
        }
    }

    /// Discovery happens on first use rather than at start-up, so the backend starts (and
    /// serves the other providers) while one provider is down; its routes answer 502 meanwhile.
    async fn discovered(&self) -> Result<Arc<Discovered>, ProviderError> {
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
        let discovered = Arc::new(self.discover().await?);
        *slot = Some(discovered.clone());
        Ok(discovered)
    }

    /// Reads the discovery document (OpenID Connect Discovery 1.0 §4), takes the configured
    /// endpoints over the discovered ones, checks the discovered ones (rule 15), then fetches the
    /// signing keys.
    async fn discover(&self) -> Result<Discovered, ProviderError> {
        let issuer = IssuerUrl::new(self.issuer.clone())
            .map_err(|e| self.fail(format!("the issuer is not a valid URL ({e})")))?;
        let document = format!(
            "{}/.well-known/openid-configuration",
            self.issuer.trim_end_matches('/')
        );
        let failed = |what: String, detail: String| {
            ProviderError::failed_at(
                &self.id,
                format!("OpenID Connect discovery failed: {what}"),
                format!("discovery at {document}: {detail}"),
            )
        };
        let request = http::Request::get(&document)
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
        let mut metadata: Metadata = serde_json::from_slice(reply.body()).map_err(|e| {
            failed(
                "the issuer sent a document that is not discovery JSON".into(),
                e.to_string(),
            )
        })?;
        if metadata.issuer() != &issuer {
            return Err(failed(
                "the document names another issuer than the configured one".into(),
                format!("it names {}", metadata.issuer().as_str()),
            ));
        }
        // Configured endpoints win over discovered ones (DESIGN.md: any kind may override).
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
        // Rule 15: what discovery alone names must be the issuer's. Token, userinfo and keys
        // are needed: one elsewhere stops the login. Revocation and logout are optional: one
        // elsewhere is left unused.
        let on_issuer = |url: &str| is_the_issuers(&issuer, url);
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
                if !on_issuer(&url) {
                    return Err(failed(
                        format!(
                            "its {name} is not on the issuer's host over https (configure it \
                             explicitly to use it)"
                        ),
                        format!("{name} {url}"),
                    ));
                }
            }
        }
        let extra = metadata.additional_metadata().clone();
        let optional = |name: &str, url: Option<String>| {
            url.filter(|url| {
                let ok = on_issuer(url);
                if !ok {
                    tracing::warn!(provider = %self.id, %name, %url, "left unused: not on the issuer's host over https");
                }
                ok
            })
        };
        let endpoints = ApiEndpoints {
            userinfo: metadata.userinfo_endpoint().map(|u| u.to_string()),
            revocation: configured
                .revocation_url
                .clone()
                .or_else(|| optional("revocation_endpoint", extra.revocation_endpoint)),
            end_session: optional("end_session_endpoint", extra.end_session_endpoint),
        };
        let jwks = CoreJsonWebKeySet::fetch_async(metadata.jwks_uri(), &self.http)
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
                failed(what, detail)
            })?;
        metadata = metadata.set_jwks(jwks.clone());
        let redirect = RedirectUrl::new(self.redirect_uri.clone())
            .map_err(|e| self.fail(format!("the redirect URI is not valid ({e})")))?;
        Ok(Discovered {
            jwks,
            authorize_endpoint: metadata.authorization_endpoint().to_string(),
            issuer: metadata.issuer().to_string(),
            iss_parameter_required: extra.authorization_response_iss_parameter_supported,
            endpoints: Arc::new(endpoints),
            client: CoreClient::from_provider_metadata(
                metadata,
                ClientId::new(self.client_id.clone()),
                Some(ClientSecret::new(
                    self.client_secret.expose_secret().to_owned(),
                )),
            )
            .set_redirect_uri(redirect),
            fetched_at: Instant::now(),
        })
    }

    /// OIDC Core §3.1.3.7 step 5: an `azp` there must be this client (openidconnect leaves
    /// this check to its users).
    fn check_authorized_party(&self, azp: Option<&ClientId>) -> Result<(), ProviderError> {
        match azp {
            Some(azp) if azp.as_str() != self.client_id => {
                Err(self.fail("the id_token was issued to another client (azp)"))
            }
            _ => Ok(()),
        }
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
        extra: Option<(&'static str, &'static str)>,
    ) -> Result<AuthorizeRequest, ProviderError> {
        let d = self.discovered().await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let scopes = self
            .scopes
            .iter()
            // openidconnect always adds `openid` itself.
            .filter(|s| s.as_str() != "openid")
            .map(|s| Scope::new(s.clone()));
        let request = d
            .client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                || CsrfToken::new_random_len(STATE_BYTES),
                Nonce::new_random,
            )
            .add_scopes(scopes)
            .set_pkce_challenge(challenge);
        let (url, state, nonce) = match extra {
            Some((name, value)) => request.add_extra_param(name, value),
            None => request,
        }
        .url();
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

    async fn exchange(
        &self,
        code: AuthorizationCode,
        verifier: PkceCodeVerifier,
        nonce: Option<Nonce>,
    ) -> Result<Exchanged, ProviderError> {
        let d = self.discovered().await?;
        let token = d
            .client
            .exchange_code(code)
            .map_err(|e| self.fail(format!("cannot exchange the code: {e}")))?
            .set_pkce_verifier(verifier)
            .request_async(&self.token_http())
            .await
            .map_err(|e| standard::token_error(&self.id, &e))?;

        let id_token = token
            .id_token()
            .ok_or_else(|| self.fail("the token endpoint sent no id_token"))?;
        let verifier = id_token_verifier(&d.client);
        let nonce = nonce.unwrap_or_else(|| Nonce::new(String::new()));
        let claims = id_token
            .claims(&verifier, &nonce)
            .map_err(|e| self.fail(format!("the id_token failed verification: {e}")))?;
        self.check_authorized_party(claims.authorized_party())?;
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
        Ok(Exchanged {
            id_token_user: Some(user_from_claims(&self.id, claims)),
            // Verified just above; read again whole, for the claims openidconnect does not
            // type (`sid`, `groups`, …).
            id_token_claims: standard::jwt_payload(&id_token.to_string()),
            tokens: tokens_from(&token, Some(IdToken::new(id_token.to_string())), None),
        })
    }

    /// RFC 6749 §6 with OIDC Core §12.2: a new id_token, when sent, is verified like the first
    /// (no nonce this time).
    async fn refresh(
        &self,
        tokens: &ProviderTokens,
        subject: &str,
    ) -> Result<ProviderTokens, ProviderError> {
        let Some(refresh) = &tokens.refresh_token else {
            return Err(ProviderError::refused(
                &self.id,
                "there is no refresh token",
            ));
        };
        let d = self.discovered().await?;
        let token = d
            .client
            .exchange_refresh_token(refresh)
            .map_err(|e| self.fail(format!("cannot refresh: {e}")))?
            .request_async(&self.token_http())
            .await
            .map_err(|e| standard::token_error(&self.id, &e))?;
        let id_token = match token.id_token() {
            Some(id_token) => {
                let claims = id_token
                    .claims(&id_token_verifier(&d.client), |_: Option<&Nonce>| Ok(()))
                    .map_err(|e| {
                        self.fail(format!("the refreshed id_token failed verification: {e}"))
                    })?;
                self.check_authorized_party(claims.authorized_party())?;
                // OIDC Core §12.2: the same person, or the session is not theirs any more.
                if claims.subject().as_str() != subject {
                    return Err(ProviderError::refused(
                        &self.id,
                        "the refreshed id_token is about another person",
                    ));
                }
                Some(IdToken::new(id_token.to_string()))
            }
            None => None,
        };
        Ok(tokens_from(&token, id_token, Some(tokens)))
    }

    async fn endpoints(&self) -> Result<Arc<ApiEndpoints>, ProviderError> {
        Ok(self.discovered().await?.endpoints.clone())
    }

    /// OpenID Connect Back-Channel Logout 1.0 §2.6, steps 1–8 (the `jti` replay of step 9 is
    /// the caller's, with the store).
    async fn logout_token(&self, jwt: &str) -> Result<LogoutToken, String> {
        let d = self.discovered().await.map_err(|e| e.to_string())?;
        let (header, claims) = match verify_jws(&d.jwks, jwt) {
            Err(JwsError::UnknownKey) => {
                // A key the provider rotated in since discovery: read its keys again, once.
                *self.discovered.write().await = None;
                let fresh = self.discovered().await.map_err(|e| e.to_string())?;
                verify_jws(&fresh.jwks, jwt)
            }
            other => other,
        }
        .map_err(|e| e.to_string())?;
        logout_claims(&header, &claims, &d.issuer, &self.client_id)
    }
}
