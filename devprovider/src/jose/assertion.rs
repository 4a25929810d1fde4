//! Client assertions: `private_key_jwt` client authentication (RFC 7523 §2.2 and §3, OpenID
//! Connect Core §9). A JWT signed with one of the client's registered keys, `iss` = `sub` = the
//! client id, an `aud` naming this provider, an `exp`, and a `jti` never seen before (the
//! caller remembers those).

use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, JwkSet};
use jsonwebtoken::{Algorithm, Validation};
use serde_json::Value;

use super::{
    accepted_algorithm, describe, numeric_date, protected_header, required_string, verifying_key,
};

/// The `client_assertion_type` of RFC 7523 §2.2.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// How far ahead an assertion may expire: a longer one would be a reusable credential, and
/// Okta, among others, refuses more than an hour.
const MAX_LIFETIME_SECS: u64 = 3600;

/// Clock skew allowed on `exp` and `nbf`.
const LEEWAY_SECS: u64 = 5;

/// A verified assertion: what replay detection needs.
#[derive(Debug)]
pub struct Assertion {
    pub jti: String,
    /// Unix seconds: the `jti` must be remembered until then.
    pub exp: u64,
}

/// Why an assertion was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// No registered key fits the header's `kid` and `alg`: keys fetched from a `jwks_uri`
    /// may have changed since, and are worth fetching again.
    NoKey(String),
    Invalid(String),
}

/// Checks `jwt` as the assertion of `client_id`, signed by one of `keys`, for one of
/// `audiences` (the issuer, the token endpoint, the endpoint called), at Unix time `now`.
pub fn verify(
    jwt: &str,
    client_id: &str,
    audiences: &[String],
    keys: &JwkSet,
    now: u64,
) -> Result<Assertion, Refusal> {
    let invalid = |why: String| Refusal::Invalid(format!("the client assertion: {why}"));
    let header = protected_header(jwt).map_err(invalid)?;
    let alg = accepted_algorithm(&header).map_err(invalid)?;
    let kid = header.get("kid").and_then(Value::as_str);
    let candidates: Vec<&Jwk> = keys
        .keys
        .iter()
        .filter(|key| kid.is_none() || key.common.key_id.as_deref() == kid)
        .filter(|key| fits(key, alg))
        .collect();
    if candidates.is_empty() {
        return Err(Refusal::NoKey(match kid {
            Some(kid) => format!("the client has no {alg:?} key with kid `{kid}`"),
            None => format!("the client has no {alg:?} key"),
        }));
    }
    let mut validation = Validation::new(alg);
    validation.leeway = LEEWAY_SECS;
    validation.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
    validation.set_issuer(&[client_id]);
    validation.sub = Some(client_id.to_owned());
    validation.set_audience(audiences);
    let mut last_refusal = String::new();
    for key in candidates {
        let key = verifying_key(key, alg).map_err(invalid)?;
        match jsonwebtoken::decode::<Value>(jwt, &key, &validation) {
            Ok(data) => return accepted(&data.claims, now).map_err(invalid),
            Err(error) => last_refusal = describe(&error),
        }
    }
    Err(invalid(last_refusal))
}

fn fits(key: &Jwk, alg: Algorithm) -> bool {
    matches!(
        (&key.algorithm, alg),
        (AlgorithmParameters::EllipticCurve(_), Algorithm::ES256)
            | (AlgorithmParameters::RSA(_), Algorithm::RS256)
    )
}

/// The checks jsonwebtoken leaves to the caller: a `jti`, and an `exp` not too far ahead.
fn accepted(claims: &Value, now: u64) -> Result<Assertion, String> {
    let jti = required_string(claims, "jti")?.to_owned();
    let exp = numeric_date(claims, "exp")?;
    if exp > now + MAX_LIFETIME_SECS {
        return Err(format!(
            "exp is more than {MAX_LIFETIME_SECS} s ahead; make assertions short-lived"
        ));
    }
    Ok(Assertion { jti, exp })
}
