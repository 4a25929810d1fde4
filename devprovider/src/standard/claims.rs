//! What the standard dialect's tokens and userinfo say: the token reply, RS256 id tokens,
//! logout tokens, and the claims a scope allows (OIDC Core §2, §5.4; Back-Channel Logout 1.0).

use serde_json::{json, Map, Value};

use crate::config::subject_of;
use crate::keys;
use crate::oauth;
use crate::scope::Scope;
use crate::state::{unix_now, AppState, Issued};

/// The token reply (RFC 6749 §5.1, OIDC Core §3.1.3.3).
pub fn token_response(state: &AppState, issued: Issued) -> Value {
    let mut body = json!({
        "access_token": issued.access_token,
        // RFC 9449 §5: a token bound to a DPoP key says so.
        "token_type": if issued.jkt.is_some() { "DPoP" } else { "Bearer" },
        "expires_in": state.access_token_ttl.as_secs(),
        "refresh_token": issued.refresh_token,
        "scope": issued.scope.to_string(),
    });
    if issued.scope.contains("openid") {
        body["id_token"] = Value::String(id_token(state, &issued));
    }
    body
}

/// OIDC Core §2: an RS256-signed id token for the grant's user.
pub fn id_token(state: &AppState, issued: &Issued) -> String {
    let iat = unix_now();
    let mut claims = Map::new();
    claims.insert("iss".into(), json!(state.issuer));
    claims.insert("aud".into(), json!(issued.grant.client_id));
    claims.insert("iat".into(), json!(iat));
    claims.insert("exp".into(), json!(iat + state.access_token_ttl.as_secs()));
    claims.insert("auth_time".into(), json!(issued.grant.auth_time));
    claims.insert("at_hash".into(), json!(keys::at_hash(&issued.access_token)));
    if let Some(nonce) = &issued.nonce {
        claims.insert("nonce".into(), json!(nonce));
    }
    // OIDC Back-Channel Logout 1.0 §2.1: with session support, id tokens name the session.
    claims.insert("sid".into(), json!(issued.grant.sid));
    claims.extend(userinfo_claims(state, &issued.grant.login, &issued.scope));
    keys::signing_key().sign_jwt("JWT", &Value::Object(claims))
}

/// OIDC Back-Channel Logout 1.0 §2.4: the logout token for one client's session. Signed like
/// id tokens, typed `logout+jwt`, and never with a `nonce`, so it can't pass for an id token.
pub fn logout_token(state: &AppState, client_id: &str, subject: &str, sid: &str) -> String {
    let iat = unix_now();
    let claims = json!({
        "iss": state.issuer,
        "aud": client_id,
        "iat": iat,
        // §2.4 requires `exp`; it is sent at once, so two minutes is plenty.
        "exp": iat + 120,
        "jti": oauth::random_token(),
        "sub": subject,
        "sid": sid,
        "events": { "http://schemas.openid.net/event/backchannel-logout": {} },
    });
    keys::signing_key().sign_jwt("logout+jwt", &claims)
}

/// `sub` plus the claims the scope allows (OIDC Core §5.4), for the id token and userinfo.
pub fn userinfo_claims(state: &AppState, login: &str, scope: &Scope) -> Map<String, Value> {
    let mut claims = Map::new();
    claims.insert("sub".into(), json!(subject_of(login)));
    // Users can't disappear at run time; an unknown login still has a subject.
    let Some(user) = state.user(login) else {
        return claims;
    };
    if scope.contains("profile") {
        claims.insert("name".into(), json!(user.name));
        claims.insert("preferred_username".into(), json!(user.login));
        claims.insert("picture".into(), json!(state.avatar_url(user)));
    }
    if scope.contains("email") {
        claims.insert("email".into(), json!(user.email));
        claims.insert("email_verified".into(), json!(user.email_verified));
    }
    // Not an OIDC Core claim, but the usual one for group membership (Keycloak, Okta, Dex,
    // Authentik send `groups`); given with any scope, for the users who have groups.
    let groups = state
        .membership(login)
        .map(|m| m.groups)
        .unwrap_or_default();
    if !groups.is_empty() {
        claims.insert("groups".into(), json!(groups));
    }
    claims
}
