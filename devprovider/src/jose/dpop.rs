//! DPoP proofs (RFC 9449 §4.3): a JWT typed `dpop+jwt`, signed by the public key in its own
//! header, naming the request it was made for (`htm`, `htu`), when (`iat`), a unique `jti`,
//! and `ath` when an access token goes with it. The caller checks `jti` replays and nonces.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::Validation;
use serde_json::Value;
use sha2::{Digest, Sha256};
use url::Url;

use super::{
    accepted_algorithm, describe, numeric_date, private_member, protected_header, required_string,
    thumbprint, verifying_key,
};

/// How far a proof's `iat` may be from now, either way (RFC 9449 §11.1: a short window, a few
/// seconds to minutes).
pub const IAT_WINDOW_SECS: u64 = 60;

/// The request a proof must have been made for.
pub struct Expected<'a> {
    pub method: &'a str,
    /// The URL of the endpoint: `htu` must name it, without query or fragment.
    pub url: &'a Url,
    /// Presented with the proof; `ath` must be its hash.
    pub access_token: Option<&'a str>,
}

/// A proof that passed every check that needs no memory of earlier requests.
#[derive(Debug)]
pub struct Proof {
    /// The RFC 7638 thumbprint of the proof's key, which binds tokens (`cnf.jkt`).
    pub jkt: String,
    pub jti: String,
    pub iat: u64,
    pub nonce: Option<String>,
}

/// Checks `proof` against what the request was, at Unix time `now`; the error says why not.
pub fn verify(proof: &str, expected: &Expected<'_>, now: u64) -> Result<Proof, String> {
    let header = protected_header(proof)?;
    if header.get("typ").and_then(Value::as_str) != Some("dpop+jwt") {
        return Err("typ must be dpop+jwt".to_owned());
    }
    let alg = accepted_algorithm(&header)?;
    let jwk_value = header
        .get("jwk")
        .filter(|jwk| jwk.is_object())
        .ok_or("the header has no jwk, the public key that signed the proof")?;
    if let Some(member) = private_member(jwk_value) {
        return Err(format!(
            "the jwk holds the private member `{member}`: send the public key only"
        ));
    }
    let jwk: Jwk = serde_json::from_value(jwk_value.clone())
        .map_err(|e| format!("the jwk is not an EC or RSA public key: {e}"))?;
    let key = verifying_key(&jwk, alg)?;
    let mut validation = Validation::new(alg);
    // A proof has no exp, aud or iss: its lifetime is `iat`'s window.
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let claims = jsonwebtoken::decode::<Value>(proof, &key, &validation)
        .map_err(|e| describe(&e))?
        .claims;

    let jti = required_string(&claims, "jti")?.to_owned();
    let htm = required_string(&claims, "htm")?;
    if htm != expected.method {
        return Err(format!(
            "htm is `{htm}`, but this request is a {}",
            expected.method
        ));
    }
    check_htu(required_string(&claims, "htu")?, expected.url)?;
    let iat = numeric_date(&claims, "iat")?;
    if iat.saturating_add(IAT_WINDOW_SECS) < now {
        return Err(format!(
            "iat is more than {IAT_WINDOW_SECS} s old: make a fresh proof for each request"
        ));
    }
    if iat > now + IAT_WINDOW_SECS {
        return Err(format!(
            "iat is more than {IAT_WINDOW_SECS} s in the future"
        ));
    }
    if let Some(token) = expected.access_token {
        match claims.get("ath").and_then(Value::as_str) {
            Some(ath) if ath == access_token_hash(token) => {}
            Some(_) => return Err("ath is not the hash of this access token".to_owned()),
            None => return Err("ath is missing: a proof sent with a token must hash it".to_owned()),
        }
    }
    let nonce = claims
        .get("nonce")
        .and_then(Value::as_str)
        .map(str::to_owned);
    Ok(Proof {
        jkt: thumbprint(&jwk)?,
        jti,
        iat,
        nonce,
    })
}

/// RFC 9449 §4.3 step 9, with the syntax- and scheme-based normalisation it recommends: the
/// `url` crate lowercases scheme and host and drops a default port.
fn check_htu(htu: &str, expected: &Url) -> Result<(), String> {
    let mut url = Url::parse(htu).map_err(|_| format!("htu `{htu}` is not an absolute URL"))?;
    url.set_query(None);
    url.set_fragment(None);
    let mut expected = expected.clone();
    expected.set_query(None);
    expected.set_fragment(None);
    if url == expected {
        Ok(())
    } else {
        Err(format!(
            "htu is `{htu}`, but this request went to {expected}"
        ))
    }
}

/// `ath` (RFC 9449 §4.2): base64url SHA-256 of the access token.
pub fn access_token_hash(access_token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(access_token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn htu_is_compared_after_normalisation_and_without_query() {
        let expected = Url::parse("http://127.0.0.1:3900/token").unwrap();
        for same in [
            "http://127.0.0.1:3900/token",
            "HTTP://127.0.0.1:3900/token?x=1#f",
        ] {
            assert_eq!(check_htu(same, &expected), Ok(()), "{same}");
        }
        for other in [
            "http://127.0.0.1:3900/userinfo",
            "http://localhost:3900/token",
            "/token",
        ] {
            assert!(check_htu(other, &expected).is_err(), "{other}");
        }
        let default_port = Url::parse("https://idp.example/token").unwrap();
        assert_eq!(
            check_htu("https://IDP.example:443/token", &default_port),
            Ok(())
        );
    }

    #[test]
    fn ath_is_rfc_9449s_example_hash() {
        // RFC 9449 §7.1, Figures 13 and 14.
        assert_eq!(
            access_token_hash("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"),
            "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
        );
    }
}
