//! OpenID Connect Back-Channel Logout 1.0 §2.6: a logout token's signature checked against the
//! provider's keys, then its claims (steps 1–8; the `jti` replay of step 9 is the caller's, with
//! the store).

use serde_json::Value;

use super::{jwk::Jwks, OidcFlow, PUBLIC_KEY_ALGORITHMS};

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
fn verify_jws(jwks: &Jwks, jwt: &str) -> Result<(Value, Value), JwsError> {
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

impl OidcFlow {
    /// The logout token `jwt`, verified: against the keys of the last discovery, or, when it
    /// names a key the provider may have rotated in since, against its keys read again (at
    /// most once per `jwks_min_refetch_secs`, whatever the tokens say: `Cache`).
    pub(super) async fn verify_logout_token(&self, jwt: &str) -> Result<LogoutToken, String> {
        let d = self.discovered().await.map_err(|e| e.to_string())?;
        let (header, claims) = match verify_jws(&d.jwks, jwt) {
            Err(JwsError::UnknownKey) => match self.keys_again(&d).await {
                Some(fresh) => verify_jws(&fresh.jwks, jwt),
                None => Err(JwsError::UnknownKey),
            },
            other => other,
        }
        .map_err(|e| e.to_string())?;
        logout_claims(&header, &claims, &d.issuer, &self.client_id)
    }
}
