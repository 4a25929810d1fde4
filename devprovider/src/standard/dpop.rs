//! DPoP at the standard dialect's endpoints (RFC 9449): the proof a request carries, checked
//! against the request, this server's nonce and the proofs seen before; and how a refusal is
//! answered, at the token endpoint (§5, §8) and at a resource (§7, §9).

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use url::Url;

use crate::config::Dpop;
use crate::jose::dpop::{self as proofs, Expected, Proof};
use crate::jose::ALGORITHMS;
use crate::oauth::{no_store, OAuthError, DPOP_NONCE};
use crate::state::{unix_now, AppState};

/// Why a proof was refused.
#[derive(Debug)]
pub enum Refusal {
    Invalid(String),
    /// A valid proof, by another key than the token's (a resource says `invalid_token`).
    WrongKey(String),
    /// The proof lacks the current nonce, which the client is to retry with.
    UseNonce(String),
}

impl From<Refusal> for OAuthError {
    fn from(refusal: Refusal) -> OAuthError {
        match refusal {
            Refusal::Invalid(why) | Refusal::WrongKey(why) => OAuthError::invalid_dpop_proof(why),
            Refusal::UseNonce(nonce) => OAuthError::use_dpop_nonce(nonce),
        }
    }
}

/// The DPoP proof of a request to `path` (like `/token`), when it carries one; None too when
/// DPoP is off, since a server that knows no DPoP ignores the header. `access_token` is the
/// token the proof must hash (`ath`).
pub fn proof(
    state: &AppState,
    headers: &HeaderMap,
    method: &str,
    path: &str,
    access_token: Option<&str>,
) -> Result<Option<Proof>, Refusal> {
    if state.dpop == Dpop::Off {
        return Ok(None);
    }
    let mut values = headers.get_all("dpop").iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return match headers.contains_key("dpop") {
            true => Err(Refusal::Invalid("send one DPoP header, not several".into())),
            false => Ok(None),
        };
    };
    let value = value
        .to_str()
        .map_err(|_| Refusal::Invalid("the DPoP header is not ASCII".into()))?;
    let url = Url::parse(&format!("{}{path}", state.issuer))
        .map_err(|e| Refusal::Invalid(format!("no URL for {path}: {e}")))?;
    let expected = Expected {
        method,
        url: &url,
        access_token,
    };
    let proof = proofs::verify(value, &expected, unix_now())
        .map_err(|why| Refusal::Invalid(format!("the DPoP proof: {why}")))?;
    if state.dpop == Dpop::RequireNonce {
        let fresh = proof
            .nonce
            .as_deref()
            .is_some_and(|nonce| state.is_dpop_nonce_valid(nonce));
        if !fresh {
            return Err(Refusal::UseNonce(state.dpop_nonce()));
        }
    }
    if !state.first_use_of_proof(&proof.jti, proof.iat) {
        return Err(Refusal::Invalid(
            "the DPoP proof's jti was already used: make a new proof for each request".into(),
        ));
    }
    Ok(Some(proof))
}

/// The proof a request must carry because it presents a token bound to the key `jkt`.
pub fn bound_proof(
    state: &AppState,
    headers: &HeaderMap,
    method: &str,
    path: &str,
    token: &str,
    jkt: &str,
) -> Result<Proof, Refusal> {
    let proof = proof(state, headers, method, path, Some(token))?.ok_or_else(|| {
        Refusal::Invalid("the token is DPoP-bound: send a DPoP proof by its key".into())
    })?;
    if proof.jkt != jkt {
        return Err(Refusal::WrongKey(
            "the DPoP proof's key is not the one the token is bound to".into(),
        ));
    }
    Ok(proof)
}

/// RFC 9449 §8: with nonces on, successful replies hand out the current one too.
pub fn with_nonce(state: &AppState, mut response: Response) -> Response {
    if state.dpop == Dpop::RequireNonce {
        if let Ok(value) = HeaderValue::from_str(&state.dpop_nonce()) {
            response.headers_mut().insert(DPOP_NONCE, value);
        }
    }
    response
}

/// A resource's 401 (RFC 6750 §3, RFC 9449 §7.1): the error in the challenge of `scheme`, and
/// the DPoP challenge's `algs` whenever DPoP is on (§7.2, Figures 17 and 18).
pub fn unauthorized(
    state: &AppState,
    scheme: &str,
    error: Option<(&str, &str)>,
    nonce: Option<String>,
) -> Response {
    let algs = format!(r#"algs="{}""#, ALGORITHMS.join(" "));
    let params = error.map(|(error, description)| {
        let description = quotable(description);
        format!(r#"error="{error}", error_description="{description}""#)
    });
    let challenge = match (scheme, params, state.dpop == Dpop::Off) {
        ("DPoP", Some(params), _) => format!("DPoP {params}, {algs}"),
        (_, Some(params), true) => format!("Bearer {params}"),
        (_, Some(params), false) => format!("Bearer {params}, DPoP {algs}"),
        (_, None, true) => "Bearer".to_owned(),
        (_, None, false) => format!("Bearer, DPoP {algs}"),
    };
    let (code, description) = error.unwrap_or(("invalid_request", "no access token was sent"));
    let body = json!({ "error": code, "error_description": description });
    let mut response = (StatusCode::UNAUTHORIZED, no_store(), Json(body)).into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        headers.insert(header::WWW_AUTHENTICATE, value);
    }
    if let Some(value) = nonce.and_then(|n| HeaderValue::from_str(&n).ok()) {
        headers.insert(DPOP_NONCE, value);
    }
    response
}

/// A description may quote the request (an `htu`, an `alg`): keep the challenge's quoted string
/// well-formed (RFC 9110 §5.6.4) and its header value valid.
fn quotable(description: &str) -> String {
    description
        .chars()
        .map(|c| match c {
            '"' | '\\' => '\'',
            c if c.is_ascii_graphic() || c == ' ' => c,
            _ => '?',
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_description_quoting_the_request_stays_one_quoted_string() {
        assert_eq!(
            quotable("htu is `x\", error=\"y` \\ é\n"),
            "htu is `x', error='y` ' ??"
        );
    }
}
