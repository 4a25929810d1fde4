//! The `standard` dialect: OAuth 2.0 (RFC 6749) and OpenID Connect Core 1.0 as written, which
//! is what the `Rules` defaults already do. This file adds the OIDC scopes and claims.

use std::sync::Arc;

use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Map, Value};

use super::Rules;
use crate::html::escape;
use crate::keys;
use crate::oauth;
use crate::routes::{authorize, discovery, token, userinfo};
use crate::scope::Scope;
use crate::state::{unix_now, AppState, Issued};
use crate::{subject_of, DemoUser};

/// The scopes of OIDC Core §5.4 and §11.
pub const SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];

pub struct Standard;

impl Rules for Standard {
    fn name(&self) -> &'static str {
        "standard"
    }

    fn routes(&self) -> Router<Arc<AppState>> {
        Router::new()
            .route(
                "/.well-known/openid-configuration",
                get(discovery::openid_configuration),
            )
            .route("/jwks", get(discovery::jwks))
            .route("/authorize", get(authorize::authorize))
            .route("/token", post(token::token))
            .route("/revoke", post(token::revoke))
            .route(
                "/userinfo",
                get(userinfo::userinfo).post(userinfo::userinfo),
            )
    }

    /// RFC 6749 §3.3: space-separated; a name the server doesn't know is refused.
    fn parse_scope(&self, input: &str) -> Result<Scope, String> {
        Scope::refusing_unknown(input, &[' '], &SCOPES)
    }

    fn backchannel_logout(&self) -> bool {
        true
    }

    fn consent_items(&self, user: &DemoUser, scope: &Scope) -> Vec<String> {
        let mut items = Vec::new();
        if scope.contains("profile") {
            items.push(format!(
                "see your name, login (<code>{}</code>) and avatar",
                escape(&user.login)
            ));
        }
        if scope.contains("email") {
            items.push(format!("see your email address ({})", escape(&user.email)));
        }
        if scope.contains("offline_access") {
            items.push("keep access while you are away (refresh tokens)".to_owned());
        }
        items
    }
}

/// The token reply (RFC 6749 §5.1, OIDC Core §3.1.3.3).
pub fn token_response(state: &AppState, issued: Issued) -> Value {
    let mut body = json!({
        "access_token": issued.access_token,
        "token_type": "Bearer",
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
    if !user.groups.is_empty() {
        claims.insert("groups".into(), json!(user.groups));
    }
    claims
}
