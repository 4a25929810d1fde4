//! The standard behaviour every kind gets unless its own file says otherwise — the person from
//! the userinfo endpoint (OIDC Core §5.3, or any OAuth 2.0 API that answers JSON) and RFC 7009
//! revocation — and the HTTP helpers the kinds' own calls share.

use std::time::Duration;

use oauth2::AccessToken;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use shared::{ProfileDetails, User};
use url::Url;

use super::{
    dpop::{self, Proof},
    jose::DpopKey,
    Api, Profile, ProviderError,
};
use crate::{config::FieldMap, session::ProviderTokens};

/// A provider that asks us to wait this long or less is waited for; longer, and the SPA gets a
/// 429 with the provider's `Retry-After` instead of a request that hangs.
const MAX_RATE_LIMIT_WAIT: Duration = Duration::from_secs(2);

/// `GET {userinfo}` with the access token, each field found where the field map says.
pub async fn profile(api: &Api<'_>, token: &AccessToken) -> Result<Profile, ProviderError> {
    let raw = get_json(api, api.userinfo_url()?, token, "application/json").await?;
    let fields = api.fields;
    let subject = field(&raw, &fields.subject).ok_or_else(|| {
        api.fail(format!(
            "the userinfo reply has no {:?} (set subject_field)",
            fields.subject
        ))
    })?;
    let user = User {
        provider: api.id.to_owned(),
        subject,
        login: field(&raw, &fields.login),
        name: field(&raw, &fields.name),
        email: field(&raw, &fields.email),
        avatar_url: field(&raw, &fields.avatar),
    };
    let details = ProfileDetails {
        profile_url: fields.profile.as_deref().and_then(|f| field(&raw, f)),
        ..ProfileDetails::default()
    };
    Ok(Profile { user, details, raw })
}

/// RFC 7009 at the revocation endpoint, when the provider has one: the refresh token first
/// (revoking it also ends its access tokens at most providers), then the access token.
pub async fn revoke(api: &Api<'_>, tokens: &ProviderTokens) -> Result<(), ProviderError> {
    let Some(endpoint) = api.revocation_url else {
        return Ok(());
    };
    let mut first_error = None;
    let refresh = tokens
        .refresh_token
        .as_ref()
        .map(|t| (t.secret(), "refresh_token"));
    let access = Some((tokens.access_token.secret(), "access_token"));
    for (token, hint) in refresh.into_iter().chain(access) {
        let revoked = revoke_rfc7009(api, endpoint, token, hint, tokens.dpop_key.as_ref()).await;
        if let Err(e) = revoked {
            first_error.get_or_insert(e);
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// RFC 7009 token revocation, the client authenticated as at the token endpoint; with a DPoP
/// key, a proof by it whose `ath` hashes the token revoked (what shows the key is held, since
/// the Authorization header is the client's).
///
/// Written here rather than taken from `oauth2`, whose `revoke_token` refuses any `http://`
/// endpoint: that rule stays (RFC 7009 §2 asks for TLS), except for loopback addresses, where
/// development and the conformance tests run their providers.
async fn revoke_rfc7009(
    api: &Api<'_>,
    endpoint: &str,
    token: &str,
    hint: &str,
    dpop: Option<&DpopKey>,
) -> Result<(), ProviderError> {
    let url = secure_url(endpoint).map_err(|e| api.fail(e))?;
    let build = || {
        let mut form = vec![
            ("token", token.to_owned()),
            ("token_type_hint", hint.to_owned()),
        ];
        let authorization = api
            .auth
            .authenticate(&mut form, api.token_url.unwrap_or(endpoint));
        form_post(url.as_str(), &form, authorization)
    };
    let proof = dpop.map(|key| Proof {
        key,
        access_token: Some(token),
    });
    let reply = dpop::send(api.http, &api.auth.nonces, proof, build).await;
    expect_success(api, reply, "the revocation endpoint")
}

/// A form POST of `form` to `url`, with `authorization` when the client authenticates so.
pub fn form_post(
    url: &str,
    form: &[(&str, String)],
    authorization: Option<String>,
) -> Result<http::Request<Vec<u8>>, String> {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let mut request = http::Request::post(url)
        .header(
            http::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .header(http::header::ACCEPT, "application/json");
    if let Some(authorization) = authorization {
        request = request.header(http::header::AUTHORIZATION, authorization);
    }
    request.body(body.into_bytes()).map_err(|e| e.to_string())
}

/// Sends `request` and wants a 2xx back (revocations: the body does not matter).
pub async fn send_expecting_success(
    api: &Api<'_>,
    request: http::Request<Vec<u8>>,
    what: &str,
) -> Result<(), ProviderError> {
    expect_success(api, api.http.send(request).await, what)
}

/// Wants a 2xx in `reply` (revocations: the body does not matter).
fn expect_success(
    api: &Api<'_>,
    reply: Result<openidconnect::HttpResponse, crate::http_client::ProviderHttpError>,
    what: &str,
) -> Result<(), ProviderError> {
    let reply = reply.map_err(|e| {
        ProviderError::failed_at(
            api.id,
            format!("{what} {e}"),
            format!("{what} {}", e.detail()),
        )
    })?;
    if reply.status().is_success() {
        Ok(())
    } else {
        Err(api.fail(format!("{what} answered {}", reply.status())))
    }
}

/// `GET url` with the access token, for userinfo and provider APIs: JSON back, or an error that
/// tells an expired/revoked token (401) from everything else. A DPoP-bound token goes as
/// `Authorization: DPoP` with a proof (RFC 9449 §7.1). A 429 with a short `Retry-After` is
/// waited out once; a longer one becomes our own 429.
pub async fn get_json(
    api: &Api<'_>,
    url: &str,
    token: &AccessToken,
    accept: &str,
) -> Result<Value, ProviderError> {
    // Browsers read the path of what failed; the log also gets the host (rule 15).
    let path = Url::parse(url).map_or_else(|_| "the API".to_owned(), |u| u.path().to_owned());
    let fail = |what: String| {
        ProviderError::failed_at(api.id, format!("{path} {what}"), format!("{url} {what}"))
    };
    let scheme = if api.dpop.is_some() { "DPoP" } else { "Bearer" };
    let build = || {
        http::Request::get(url)
            .header(
                http::header::AUTHORIZATION,
                format!("{scheme} {}", token.secret()),
            )
            .header(http::header::ACCEPT, accept)
            .body(Vec::new())
            .map_err(|e| e.to_string())
    };
    let proof = api.dpop.map(|key| Proof {
        key,
        access_token: Some(token.secret()),
    });
    let mut waited = false;
    loop {
        let reply = dpop::send(api.http, &api.auth.nonces, proof, build).await;
        let reply = reply.map_err(|e| {
            ProviderError::failed_at(
                api.id,
                format!("{path} {e}"),
                format!("{url} {}", e.detail()),
            )
        })?;
        let status = reply.status();
        if api.dpop.is_some() && dpop::refuses_proof(&reply) {
            let challenge = reply.headers().get(http::header::WWW_AUTHENTICATE);
            let challenge = challenge.and_then(|v| v.to_str().ok()).unwrap_or_default();
            return Err(ProviderError::failed_at(
                api.id,
                format!("{path} refused Portero's DPoP proof"),
                format!("{url} refused Portero's DPoP proof ({challenge})"),
            ));
        }
        if status == http::StatusCode::UNAUTHORIZED {
            return Err(ProviderError::Unauthorized {
                provider: api.id.to_owned(),
            });
        }
        if status == http::StatusCode::TOO_MANY_REQUESTS {
            let retry_after = retry_after(reply.headers());
            if !waited && retry_after <= MAX_RATE_LIMIT_WAIT {
                waited = true;
                tracing::info!(provider = %api.id, ?retry_after, "provider rate limit: waiting");
                tokio::time::sleep(retry_after).await;
                continue;
            }
            return Err(ProviderError::RateLimited {
                provider: api.id.to_owned(),
                retry_after_secs: retry_after.as_secs().max(1),
            });
        }
        if !status.is_success() {
            return Err(fail(format!("answered {status}")));
        }
        return serde_json::from_slice(reply.body())
            .map_err(|e| fail(format!("sent a reply that is not JSON ({e})")));
    }
}

/// RFC 9110 §10.2.3: seconds (the HTTP-date form is rare from APIs; it counts as a minute).
fn retry_after(headers: &http::HeaderMap) -> Duration {
    headers
        .get(http::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.trim()
                .parse()
                .map_or(Duration::from_secs(60), Duration::from_secs)
        })
        .unwrap_or(Duration::from_secs(1))
}

/// Rule 21 for the standard kinds: `login.user.email` counts as verified when a document that
/// gives this very address says `email_verified: true` beside it — the verified id_token, or
/// the userinfo reply (where the address is at `fields.email`, the flag at `email_verified` in
/// the same object). A string `"true"` is not `true` (OIDC Core §5.1 says boolean), as for the
/// access rules.
pub fn email_verified(login: &super::LoginResult, fields: &FieldMap) -> bool {
    let Some(email) = &login.user.email else {
        return false;
    };
    let flag = match fields.email.rsplit_once('.') {
        Some((parent, _)) => format!("{parent}.email_verified"),
        None => "email_verified".to_owned(),
    };
    let says = |doc: &Value, address: &str, flag: &str| {
        let verified = flag.split('.').try_fold(doc, |node, key| node.get(key));
        field(doc, address).is_some_and(|a| a.eq_ignore_ascii_case(email))
            && verified == Some(&Value::Bool(true))
    };
    login
        .id_token_claims
        .iter()
        .any(|claims| says(claims, "email", "email_verified"))
        || login.raw.iter().any(|raw| says(raw, &fields.email, &flag))
}

/// The JSON payload of a JWT whose signature was already checked.
pub fn jwt_payload(jwt: &str) -> Option<Value> {
    use base64::Engine;
    let payload = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// A value at a dotted path (`image.link`) of a JSON document, as text.
pub fn field(json: &Value, path: &str) -> Option<String> {
    let value = path.split('.').try_fold(json, |node, key| node.get(key))?;
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// RFC 6749 §2.3.1: id and secret are form-urlencoded before they are joined.
pub fn basic_auth(client_id: &str, client_secret: &SecretString) -> String {
    use base64::Engine;
    let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let credentials = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        encode(client_id),
        encode(client_secret.expose_secret())
    ));
    format!("Basic {credentials}")
}

/// https, or plain http on a loopback address (development and tests only).
pub fn secure_url(endpoint: &str) -> Result<Url, String> {
    let url = Url::parse(endpoint).map_err(|e| format!("{endpoint:?} is not a URL ({e})"))?;
    if url.scheme() != "https" && !is_loopback(&url) {
        return Err(format!("{endpoint} must use https"));
    }
    Ok(url)
}

pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// A transport error for the log: what failed and why, the address included.
fn describe(e: &crate::http_client::ProviderHttpError) -> String {
    e.detail()
}

/// Token endpoint failures: an OAuth error reply is the provider refusing; anything else failed.
/// The `Parse` variant carries the reply body, which may hold a token, so only its serde error
/// is shown.
pub fn token_error<T>(
    provider: &str,
    e: &oauth2::RequestTokenError<crate::http_client::ProviderHttpError, T>,
) -> ProviderError
where
    T: oauth2::ErrorResponse + 'static,
{
    match e {
        // The provider's description may name its own address: the log gets it, not the page.
        oauth2::RequestTokenError::ServerResponse(err) if is_proof_error(err) => {
            ProviderError::failed_at(
                provider,
                "the token endpoint refused Portero's DPoP proof",
                format!("the token endpoint refused Portero's DPoP proof: {err}"),
            )
        }
        oauth2::RequestTokenError::ServerResponse(err) => ProviderError::refused(
            provider,
            format!("the token endpoint refused the request: {err}"),
        ),
        oauth2::RequestTokenError::Request(err) => ProviderError::failed_at(
            provider,
            format!("the token endpoint {err}"),
            format!("the token endpoint {}", describe(err)),
        ),
        oauth2::RequestTokenError::Parse(err, _body) => ProviderError::failed(
            provider,
            format!("the token endpoint sent a reply that is not valid OAuth 2.0 JSON ({err})"),
        ),
        oauth2::RequestTokenError::Other(msg) => {
            ProviderError::failed(provider, format!("the token endpoint failed: {msg}"))
        }
    }
}

/// Whether an OAuth error reply is about the DPoP proof rather than the grant: the tokens may
/// still be good, so it must not end the session the way a refused refresh does.
fn is_proof_error(err: &impl oauth2::ErrorResponse) -> bool {
    serde_json::to_value(err)
        .ok()
        .and_then(|reply| Some(dpop::is_proof_error(reply.get("error")?.as_str()?)))
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_are_found_by_dotted_path_and_numbers_become_text() {
        let doc = json!({ "id": 42, "image": { "link": "https://cdn/x.jpg" }, "name": "" });
        assert_eq!(field(&doc, "id").as_deref(), Some("42"));
        assert_eq!(
            field(&doc, "image.link").as_deref(),
            Some("https://cdn/x.jpg")
        );
        assert_eq!(field(&doc, "name"), None, "empty strings count as absent");
        assert_eq!(field(&doc, "image.missing"), None);
    }

    #[test]
    fn basic_credentials_are_form_encoded_first() {
        let header = basic_auth("id:1", &SecretString::from("s p&"));
        use base64::Engine;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(header.strip_prefix("Basic ").unwrap())
            .unwrap();
        assert_eq!(String::from_utf8(decoded).unwrap(), "id%3A1:s+p%26");
    }

    #[test]
    fn only_https_or_loopback_endpoints_are_called_with_secrets() {
        assert!(secure_url("https://api.example/revoke").is_ok());
        assert!(secure_url("http://127.0.0.1:3900/revoke").is_ok());
        assert!(secure_url("http://localhost/revoke").is_ok());
        assert!(secure_url("http://api.example/revoke").is_err());
    }
}
