//! Pieces every OAuth endpoint shares: parameter parsing, client authentication, error replies
//! and random tokens.

use std::collections::HashMap;

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use rand::distributions::Alphanumeric;
use rand::rngs::OsRng;
use rand::{Rng, RngCore};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::state::AppState;
use crate::Client;

/// Request parameters, from a query string or a form body.
pub struct Params(HashMap<String, String>);

impl Params {
    /// Fails with the parameter's name when one appears twice: RFC 6749 §3.1 forbids it, and
    /// picking either copy would let an attacker smuggle a value past a check.
    pub fn parse(input: &[u8]) -> Result<Params, String> {
        match Self::parse_lenient(input) {
            (params, None) => Ok(params),
            (_, Some(name)) => Err(name),
        }
    }

    /// Keeps the first value of each parameter and names the first one repeated, for the
    /// authorize endpoint, which must still know the client to report the error.
    pub fn parse_lenient(input: &[u8]) -> (Params, Option<String>) {
        let mut map = HashMap::new();
        let mut duplicate = None;
        for (name, value) in url::form_urlencoded::parse(input) {
            if map.contains_key(name.as_ref()) {
                duplicate.get_or_insert_with(|| name.into_owned());
            } else {
                map.insert(name.into_owned(), value.into_owned());
            }
        }
        (Params(map), duplicate)
    }

    /// A JSON object body, as GitHub's token endpoint and Doorkeeper accept besides forms.
    /// Strings and numbers become parameters; other values are refused with their name.
    pub fn parse_json(input: &[u8]) -> Result<Params, String> {
        let object: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(input).map_err(|_| "the JSON body".to_owned())?;
        let mut map = HashMap::new();
        for (name, value) in object {
            let value = match value {
                serde_json::Value::String(s) => s,
                serde_json::Value::Number(n) => n.to_string(),
                _ => return Err(name),
            };
            map.insert(name, value);
        }
        Ok(Params(map))
    }

    /// A form or, when the Content-Type says so, JSON body.
    pub fn parse_body(headers: &HeaderMap, body: &[u8]) -> Result<Params, String> {
        let is_json = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim_start().starts_with("application/json"));
        if is_json {
            Self::parse_json(body)
        } else {
            Self::parse(body)
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// RFC 6749 §3.1: a parameter sent without a value is treated as omitted.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
}

/// An error reply as RFC 6749 §5.2 shapes it.
#[derive(Debug)]
pub struct OAuthError {
    status: StatusCode,
    error: &'static str,
    description: String,
    /// Sent as `DPoP-Nonce` (RFC 9449 §8): with `use_dpop_nonce`, the nonce to retry with.
    dpop_nonce: Option<String>,
}

impl OAuthError {
    /// The RFC 6749 error code, for dialects that word errors their own way.
    pub fn code(&self) -> &'static str {
        self.error
    }
}

impl OAuthError {
    pub fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        OAuthError {
            status,
            error,
            description: description.into(),
            dpop_nonce: None,
        }
    }

    /// RFC 9449 §5: the DPoP proof of a token request is missing or wrong.
    pub fn invalid_dpop_proof(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_dpop_proof", description)
    }

    /// RFC 9449 §8: the proof lacks this server's nonce, which the reply hands over.
    pub fn use_dpop_nonce(nonce: String) -> Self {
        OAuthError {
            dpop_nonce: Some(nonce),
            ..Self::new(
                StatusCode::BAD_REQUEST,
                "use_dpop_nonce",
                "DPoP proofs must carry this server's nonce: retry with the DPoP-Nonce header's",
            )
        }
    }

    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    pub fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_grant", description)
    }

    pub fn invalid_client(description: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "invalid_client", description)
    }

    pub fn duplicate(name: &str) -> Self {
        Self::invalid_request(format!("parameter `{name}` was sent more than once"))
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = json!({ "error": self.error, "error_description": self.description });
        let mut response = (self.status, no_store(), Json(body)).into_response();
        if let Some(value) = self
            .dpop_nonce
            .and_then(|nonce| HeaderValue::from_str(&nonce).ok())
        {
            response.headers_mut().insert(DPOP_NONCE, value);
        }
        if self.status == StatusCode::UNAUTHORIZED {
            // RFC 6749 §5.2: a 401 invalid_client names the scheme the client should use.
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(r#"Basic realm="devprovider""#),
            );
        }
        response
    }
}

/// RFC 9449 §8: the header that hands a client the server's DPoP nonce.
pub const DPOP_NONCE: header::HeaderName = header::HeaderName::from_static("dpop-nonce");

/// Token responses and errors must not be cached (RFC 6749 §5.1).
pub fn no_store() -> [(header::HeaderName, &'static str); 2] {
    [
        (header::CACHE_CONTROL, "no-store"),
        (header::PRAGMA, "no-cache"),
    ]
}

/// RFC 6585 §4: 429 with how long to wait. 42 Intra answers exactly this body.
pub fn too_many_requests(retry_after_secs: u64) -> Response {
    (
        StatusCode::TOO_MANY_REQUESTS,
        [
            (header::RETRY_AFTER, retry_after_secs.to_string()),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        Json(json!({ "error": "Too Many Requests" })),
    )
        .into_response()
}

/// The id and secret a client presented, from HTTP Basic or the body.
pub fn client_credentials(
    headers: &HeaderMap,
    params: &Params,
) -> Result<(String, String), OAuthError> {
    match headers.get(header::AUTHORIZATION) {
        Some(value) => {
            let (id, secret) = parse_basic(value).ok_or_else(|| {
                OAuthError::invalid_client("the Authorization header is not valid HTTP Basic")
            })?;
            // RFC 6749 §2.3: one authentication method per request.
            if params.get("client_secret").is_some() {
                return Err(OAuthError::invalid_request(
                    "use either HTTP Basic or client_secret in the body, not both",
                ));
            }
            if params.get("client_id").is_some_and(|body_id| body_id != id) {
                return Err(OAuthError::invalid_request(
                    "client_id in the body differs from the one in the Authorization header",
                ));
            }
            Ok((id, secret))
        }
        None => match (params.get("client_id"), params.get("client_secret")) {
            (Some(id), Some(secret)) => Ok((id.to_owned(), secret.to_owned())),
            _ => Err(OAuthError::invalid_client(
                "client authentication is required (client_secret_basic or client_secret_post)",
            )),
        },
    }
}

/// The registered client with this id and secret.
pub fn check_client<'a>(state: &'a AppState, id: &str, secret: &str) -> Option<&'a Client> {
    state
        .client(id)
        .filter(|client| constant_time_eq(client.secret.as_bytes(), secret.as_bytes()))
}

/// RFC 6749 §2.3.1: id and secret are form-urlencoded before they are joined and base64-encoded.
pub fn parse_basic(value: &HeaderValue) -> Option<(String, String)> {
    let value = value.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((form_urldecode(id)?, form_urldecode(secret)?))
}

fn form_urldecode(input: &str) -> Option<String> {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// Compares digests so neither the content nor the length of a secret leaks through timing.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let (a, b) = (Sha256::digest(a), Sha256::digest(b));
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

/// 32 bytes from the OS CSPRNG, base64url: unguessable tokens, codes and request ids.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// `n` bytes from the OS CSPRNG in lowercase hex (Doorkeeper's token format).
pub fn random_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A GitHub-style token: the prefix and 36 base62 characters from the OS CSPRNG.
pub fn github_token(prefix: &str) -> String {
    let body: String = (&mut OsRng)
        .sample_iter(&Alphanumeric)
        .take(36)
        .map(char::from)
        .collect();
    format!("{prefix}{body}")
}

/// The token of an `Authorization: Bearer …` header (RFC 6750 §2.1). GitHub also accepts
/// the older `token …` scheme, which `also_token` allows.
pub fn bearer_token(headers: &HeaderMap, also_token: bool) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    let scheme_ok = scheme.eq_ignore_ascii_case("bearer")
        || (also_token && scheme.eq_ignore_ascii_case("token"));
    (scheme_ok && !token.is_empty()).then_some(token)
}

/// Whether the client asked for JSON (`Accept: application/json`), as GitHub's token endpoint
/// checks.
pub fn accepts_json(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|v| {
            let media = v.split(';').next().unwrap_or("").trim();
            media.eq_ignore_ascii_case("application/json")
        })
}

/// RFC 7636 §4.6: BASE64URL-NOPAD(SHA256(ASCII(code_verifier))) == code_challenge.
pub fn pkce_s256_matches(verifier: &str, challenge: &str) -> bool {
    let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    constant_time_eq(computed.as_bytes(), challenge.as_bytes())
}

/// RFC 7636 §4.1: 43–128 characters from the unreserved set.
pub fn is_valid_verifier(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_urldecoded() {
        let header = HeaderValue::from_str(&format!(
            "Basic {}",
            STANDARD.encode("my+client:s%3Acr%2Bt%25")
        ))
        .unwrap();
        assert_eq!(
            parse_basic(&header),
            Some(("my client".to_owned(), "s:cr+t%".to_owned()))
        );
    }

    #[test]
    fn a_broken_percent_escape_is_rejected() {
        assert_eq!(form_urldecode("abc%4"), None);
        assert_eq!(form_urldecode("abc%zz"), None);
    }

    #[test]
    fn github_tokens_have_the_prefix_and_36_base62_characters() {
        let token = github_token("gho_");
        assert_eq!(token.len(), 40);
        assert!(token.starts_with("gho_"));
        assert!(token[4..].bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_ne!(token, github_token("gho_"));
    }

    #[test]
    fn json_bodies_become_parameters_and_nested_values_are_refused() {
        let params = Params::parse_json(br#"{"client_id":"a","code":"c","n":5}"#).unwrap();
        assert_eq!(params.get("client_id"), Some("a"));
        assert_eq!(params.get("n"), Some("5"));
        assert_eq!(
            Params::parse_json(br#"{"x":{"y":1}}"#).err().as_deref(),
            Some("x")
        );
    }

    #[test]
    fn accept_application_json_is_recognised_among_others() {
        let mut headers = HeaderMap::new();
        assert!(!accepts_json(&headers));
        headers.insert(
            header::ACCEPT,
            HeaderValue::from_static("text/html, application/json;q=0.9"),
        );
        assert!(accepts_json(&headers));
    }

    #[test]
    fn a_repeated_parameter_is_refused() {
        assert_eq!(Params::parse(b"a=1&b=2&a=3").err().as_deref(), Some("a"));
    }

    #[test]
    fn the_rfc_7636_example_verifier_matches_its_challenge() {
        assert!(pkce_s256_matches(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
        assert!(is_valid_verifier(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
        ));
        assert!(!is_valid_verifier("too-short"));
    }
}
