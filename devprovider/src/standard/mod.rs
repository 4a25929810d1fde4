//! The `standard` dialect: OAuth 2.0 (RFC 6749) and OpenID Connect Core 1.0 as written, which
//! is what the `Rules` defaults already do. This folder adds the OIDC scopes and claims
//! (`claims.rs`), discovery, and the endpoints.

mod authorize;
mod claims;
mod client_auth;
mod discovery;
mod dpop;
mod par;
mod token;
mod userinfo;

use std::sync::Arc;

use axum::routing::{get, post};
use axum::Router;

pub(crate) use claims::logout_token;
use claims::userinfo_claims;

use crate::dialect::Rules;
use crate::html::escape;
use crate::scope::Scope;
use crate::state::AppState;
use crate::DemoUser;

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
            .route("/introspect", post(token::introspect))
            .route("/par", post(par::par))
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

    fn consent_items(&self, _state: &AppState, user: &DemoUser, scope: &Scope) -> Vec<String> {
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
