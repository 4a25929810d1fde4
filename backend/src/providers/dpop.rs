//! DPoP (RFC 9449) on the wire: every request to a provider goes through [`send`], which adds a
//! fresh proof when the session's tokens are bound to a key, keeps the nonces the provider hands
//! out (§8 and §9, one per server), and sends a request once more when its answer asks for a
//! nonce. The keys and proofs are `jose.rs`'s.

use std::{collections::HashMap, sync::Mutex};

use openidconnect::HttpResponse;
use serde_json::Value;

use super::jose::DpopKey;
use crate::http_client::{ProviderHttp, ProviderHttpError};

/// The `DPoP-Nonce` of each server (scheme, host and port) that gave one: a server's nonce
/// serves all its endpoints, and one it no longer takes is replaced by the next it sends.
#[derive(Default)]
pub struct Nonces(Mutex<HashMap<String, String>>);

impl Nonces {
    fn get(&self, server: &str) -> Option<String> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(server)
            .cloned()
    }

    /// Keeps the nonce `reply` carries, if any, and gives it back.
    fn keep(&self, server: &str, reply: &HttpResponse) -> Option<String> {
        let nonce = reply
            .headers()
            .get("dpop-nonce")
            .and_then(|v| v.to_str().ok())
            // RFC 9449 §8.1: a nonce is a short printable value (a header value is printable
            // ASCII already); an empty or absurdly long one is not kept.
            .filter(|n| n.len() <= 512 && !n.is_empty())?;
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(server.to_owned(), nonce.to_owned());
        Some(nonce.to_owned())
    }
}

/// The proof a request carries: by the session's `key`, with `ath` for `access_token` when one
/// goes along (userinfo, revocation of a bound token).
#[derive(Clone, Copy)]
pub struct Proof<'a> {
    pub key: &'a DpopKey,
    pub access_token: Option<&'a str>,
}

/// Whether `reply` asks for a DPoP nonce: `use_dpop_nonce` from an authorization server (400,
/// RFC 9449 §8) or from a resource server (401 with `WWW-Authenticate`, §9).
fn asks_for_nonce(reply: &HttpResponse) -> bool {
    match reply.status().as_u16() {
        400 => serde_json::from_slice::<Value>(reply.body())
            .is_ok_and(|body| body.get("error").and_then(Value::as_str) == Some("use_dpop_nonce")),
        401 => reply
            .headers()
            .get_all(http::header::WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.contains("use_dpop_nonce")),
        _ => false,
    }
}

/// Sends the request `build` makes — built afresh for each try, so that a client assertion or
/// a proof is never sent twice — with a proof when `proof` is given. The answer's nonce is
/// kept; when the answer asks for a nonce and offers another than the one this request sent
/// (a first request, an expired nonce, or one another request replaced meanwhile), the request
/// goes once more with it.
pub async fn send(
    http: &ProviderHttp,
    nonces: &Nonces,
    proof: Option<Proof<'_>>,
    build: impl Fn() -> Result<http::Request<Vec<u8>>, String>,
) -> Result<HttpResponse, ProviderHttpError> {
    // The nonce the next try sends: the one kept for this server, then the one offered.
    let mut retry_with: Option<String> = None;
    loop {
        let mut request = build().map_err(ProviderHttpError::Unsendable)?;
        let url = url::Url::parse(&request.uri().to_string())
            .map_err(|e| ProviderHttpError::Unsendable(format!("not a URL ({e})")))?;
        let server = url.origin().ascii_serialization();
        let retrying = retry_with.is_some();
        let sent = retry_with.take().or_else(|| nonces.get(&server));
        if let Some(Proof { key, access_token }) = proof {
            let method = request.method().as_str().to_owned();
            let jwt = key
                .proof(&method, &url, access_token, sent.as_deref())
                .map_err(ProviderHttpError::Unsendable)?;
            let value = http::HeaderValue::from_str(&jwt)
                .map_err(|_| ProviderHttpError::Unsendable("a DPoP proof is not ASCII".into()))?;
            request.headers_mut().insert("dpop", value);
        }
        let reply = http.send(request).await?;
        let offered = nonces.keep(&server, &reply);
        if proof.is_some() && !retrying && offered != sent && asks_for_nonce(&reply) {
            if let Some(nonce) = offered {
                tracing::debug!(%server, "DPoP nonce asked for: sending again with it");
                retry_with = Some(nonce);
                continue;
            }
        }
        return Ok(reply);
    }
}

/// Whether a resource server's 401 refuses the proof rather than the token (RFC 9449 §7.1:
/// `WWW-Authenticate: DPoP error="invalid_dpop_proof"`, or a nonce asked for once more): the
/// token may still be good, so it must not be refreshed and the session ended over it.
pub fn refuses_proof(reply: &HttpResponse) -> bool {
    reply.status() == http::StatusCode::UNAUTHORIZED
        && reply
            .headers()
            .get_all(http::header::WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.contains("invalid_dpop_proof") || v.contains("use_dpop_nonce"))
}

/// Whether a token endpoint error is about the DPoP proof rather than the grant: the session's
/// tokens may still be good, so such a refusal must not end it (`invalid_dpop_proof`, or a nonce
/// asked for again).
pub fn is_proof_error(error: &str) -> bool {
    matches!(error, "invalid_dpop_proof" | "use_dpop_nonce")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(status: u16, body: &str, headers: &[(&str, &str)]) -> HttpResponse {
        let mut builder = http::Response::builder().status(status);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(body.as_bytes().to_vec()).unwrap()
    }

    #[test]
    fn nonce_requests_are_told_apart_from_other_refusals() {
        assert!(asks_for_nonce(&reply(
            400,
            r#"{"error":"use_dpop_nonce"}"#,
            &[]
        )));
        assert!(!asks_for_nonce(&reply(
            400,
            r#"{"error":"invalid_dpop_proof"}"#,
            &[]
        )));
        assert!(asks_for_nonce(&reply(
            401,
            "",
            &[(
                "www-authenticate",
                r#"DPoP error="use_dpop_nonce", algs="ES256""#
            )]
        )));
        assert!(!asks_for_nonce(&reply(
            401,
            "",
            &[("www-authenticate", r#"DPoP error="invalid_token""#)]
        )));
        assert!(!asks_for_nonce(&reply(
            200,
            r#"{"error":"use_dpop_nonce"}"#,
            &[]
        )));
    }

    #[test]
    fn a_server_keeps_the_last_nonce_it_gave() {
        let nonces = Nonces::default();
        let server = "https://idp.example";
        let offered = nonces.keep(server, &reply(200, "", &[("dpop-nonce", "n1")]));
        assert_eq!(offered.as_deref(), Some("n1"));
        assert_eq!(nonces.keep(server, &reply(200, "", &[])), None);
        assert_eq!(nonces.get(server).as_deref(), Some("n1"));
        nonces.keep(server, &reply(400, "", &[("dpop-nonce", "n2")]));
        assert_eq!(nonces.get(server).as_deref(), Some("n2"));
        assert_eq!(nonces.get("https://other.example"), None);
    }
}
