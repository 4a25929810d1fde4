//! The JOSE the stricter clients bring: client assertions (`private_key_jwt`, RFC 7523) and DPoP
//! proofs (RFC 9449), both compact JWS signed ES256 or RS256 and checked against a JWK with
//! jsonwebtoken. Pure checks: what has been seen before (replays, nonces) is the provider's
//! memory, in `state/proofs.rs`.

pub mod assertion;
pub mod dpop;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::{Map, Value};

/// The JWS algorithms accepted for client assertions and DPoP proofs, as discovery lists them.
pub const ALGORITHMS: [&str; 2] = ["ES256", "RS256"];

/// RSA keys shorter than this are refused (RFC 7518 §3.3 asks for 2048 bits or more).
const MIN_RSA_BITS: usize = 2048;

/// jsonwebtoken picks its crypto backend at run time: name RustCrypto's once, so that a build
/// in which another crate also turns on jsonwebtoken's other backend can't leave it undecided.
pub fn init() {
    let _ = jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.install_default();
}

/// The `alg` of a protected header, when it is one this provider accepts.
fn accepted_algorithm(header: &Map<String, Value>) -> Result<Algorithm, String> {
    match header.get("alg").and_then(Value::as_str) {
        Some("ES256") => Ok(Algorithm::ES256),
        Some("RS256") => Ok(Algorithm::RS256),
        Some(other) => Err(format!(
            "alg `{other}` is not accepted; use {}",
            ALGORITHMS.join(" or ")
        )),
        None => Err("the JWS header has no alg".to_owned()),
    }
}

/// A compact JWS's protected header as JSON, with the members jsonwebtoken's `Header` does
/// not keep (a JWK's private parts, an unexpected `typ`).
fn protected_header(jws: &str) -> Result<Map<String, Value>, String> {
    let mut parts = jws.split('.');
    let (Some(header), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("not a compact JWS (three base64url parts separated by dots)".to_owned());
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| "the JWS header is not base64url".to_owned())?;
    serde_json::from_slice(&bytes).map_err(|_| "the JWS header is not a JSON object".to_owned())
}

/// The public key of `jwk`, checked to fit `alg`: an EC P-256 key for ES256, an RSA key of at
/// least 2048 bits for RS256.
fn verifying_key(jwk: &Jwk, alg: Algorithm) -> Result<DecodingKey, String> {
    let fits = match (&jwk.algorithm, alg) {
        (AlgorithmParameters::EllipticCurve(ec), Algorithm::ES256) => {
            ec.curve == EllipticCurve::P256
        }
        (AlgorithmParameters::RSA(rsa), Algorithm::RS256) => URL_SAFE_NO_PAD
            .decode(&rsa.n)
            .map(|n| n.len() * 8 >= MIN_RSA_BITS)
            .unwrap_or(false),
        _ => false,
    };
    if !fits {
        return Err(format!(
            "the key does not fit {alg:?} (an EC P-256 key for ES256, RSA of {MIN_RSA_BITS} bits \
             or more for RS256)"
        ));
    }
    DecodingKey::from_jwk(jwk).map_err(|e| format!("the key is not usable: {e}"))
}

/// The RFC 7638 SHA-256 thumbprint of a public key, base64url: DPoP's `jkt`.
pub fn thumbprint(jwk: &Jwk) -> Result<String, String> {
    jwk.thumbprint(ThumbprintHash::SHA256)
        .map_err(|e| format!("no thumbprint for this key: {e}"))
}

/// A JWK Set (RFC 7517 §5) of signing keys: each an EC P-256 or RSA public key.
pub fn parse_jwks(value: &Value) -> Result<JwkSet, String> {
    let set: JwkSet = serde_json::from_value(value.clone())
        .map_err(|e| format!("not a JWK Set of EC or RSA keys: {e}"))?;
    if set.keys.is_empty() {
        return Err("the JWK Set has no key".to_owned());
    }
    for (index, key) in set.keys.iter().enumerate() {
        let alg = match &key.algorithm {
            AlgorithmParameters::EllipticCurve(_) => Algorithm::ES256,
            AlgorithmParameters::RSA(_) => Algorithm::RS256,
            _ => return Err(format!("key {index} is neither EC P-256 nor RSA")),
        };
        verifying_key(key, alg).map_err(|why| format!("key {index}: {why}"))?;
    }
    if let Some(private) = value["keys"]
        .as_array()
        .into_iter()
        .flatten()
        .find_map(private_member)
    {
        return Err(format!(
            "a key holds the private member `{private}`: register public keys only"
        ));
    }
    Ok(set)
}

/// The first private-key member of a JWK (RFC 7518 §6.2.2, §6.3.2), if it has one.
fn private_member(jwk: &Value) -> Option<&'static str> {
    ["d", "p", "q", "dp", "dq", "qi", "oth", "k"]
        .into_iter()
        .find(|member| jwk.get(member).is_some())
}

/// What went wrong in jsonwebtoken's check, in a client developer's words.
fn describe(error: &jsonwebtoken::errors::Error) -> String {
    match error.kind() {
        ErrorKind::InvalidSignature => "the signature does not verify".to_owned(),
        ErrorKind::ExpiredSignature => "it has expired (exp)".to_owned(),
        ErrorKind::ImmatureSignature => "it is not valid yet (nbf)".to_owned(),
        ErrorKind::InvalidIssuer => "iss is not the client_id".to_owned(),
        ErrorKind::InvalidSubject => "sub is not the client_id".to_owned(),
        ErrorKind::InvalidAudience => "aud names neither this issuer nor this endpoint".to_owned(),
        ErrorKind::MissingRequiredClaim(claim) => format!("the claim `{claim}` is missing"),
        ErrorKind::InvalidClaimFormat(claim) => format!("the claim `{claim}` is malformed"),
        ErrorKind::InvalidAlgorithm => "alg does not fit the key".to_owned(),
        other => format!("it can't be read ({other:?})"),
    }
}

/// Seconds since the Unix epoch in a NumericDate claim, which may carry a fraction.
fn numeric_date(claims: &Value, name: &str) -> Result<u64, String> {
    let value = claims
        .get(name)
        .ok_or_else(|| format!("the claim `{name}` is missing"))?;
    value
        .as_u64()
        .or_else(|| value.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
        .ok_or_else(|| format!("the claim `{name}` is not a NumericDate"))
}

/// A string claim that must be there and not be empty.
fn required_string<'a>(claims: &'a Value, name: &str) -> Result<&'a str, String> {
    claims
        .get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| format!("the claim `{name}` is missing or not a string"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const P256_X: &str = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
    const P256_Y: &str = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";

    #[test]
    fn rfc_7638s_example_key_has_its_thumbprint() {
        // RFC 7638 §3.1's RSA key and thumbprint.
        let jwk: Jwk = serde_json::from_value(json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        }))
        .unwrap();
        assert_eq!(
            thumbprint(&jwk).unwrap(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn a_jwk_set_with_a_private_key_or_a_symmetric_key_is_refused() {
        let public = json!({ "kty": "EC", "crv": "P-256", "x": P256_X, "y": P256_Y });
        assert!(parse_jwks(&json!({ "keys": [public] })).is_ok());
        let mut private = public.clone();
        private["d"] = json!("jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI");
        let error = parse_jwks(&json!({ "keys": [private] })).unwrap_err();
        assert!(error.contains("`d`"), "{error}");
        let error =
            parse_jwks(&json!({ "keys": [{ "kty": "oct", "k": "c2VjcmV0" }] })).unwrap_err();
        assert!(error.contains("neither EC P-256 nor RSA"), "{error}");
        let error = parse_jwks(&json!({ "keys": [] })).unwrap_err();
        assert!(error.contains("no key"), "{error}");
    }

    #[test]
    fn only_es256_and_rs256_are_accepted() {
        for (alg, accepted) in [
            ("ES256", true),
            ("RS256", true),
            ("none", false),
            ("HS256", false),
        ] {
            let header = json!({ "alg": alg });
            assert_eq!(
                accepted_algorithm(header.as_object().unwrap()).is_ok(),
                accepted,
                "{alg}"
            );
        }
    }
}
