//! The `intra42` dialect: what api.intra.42.fr (Doorkeeper) does its own way, from
//! api.intra.42.fr/apidoc ("Web Application Flow", "Specification"). Its endpoints are in
//! `routes.rs`, its students in `personas.rs`.

pub(crate) mod personas;
mod routes;

use std::sync::Arc;
use std::time::Duration;

use axum::routing::{get, post};
use axum::Router;

use crate::dialect::{Minted, Rules};
use crate::html::escape;
use crate::oauth;
use crate::scope::Scope;
use crate::state::AppState;
use crate::DemoUser;

/// "Specification": the scopes an application may request.
pub const SCOPES: [&str; 6] = ["public", "projects", "profile", "elearning", "tig", "forum"];

/// How long after start-up the clients' secrets stay valid: 42 shows each application's
/// `secret_valid_until` and makes owners rotate the secret before it.
const SECRET_VALIDITY: Duration = Duration::from_secs(28 * 24 * 3600);

/// The `secret_valid_until` of token replies, in Unix seconds.
pub fn secret_valid_until(started_at: u64) -> u64 {
    started_at + SECRET_VALIDITY.as_secs()
}

pub struct Intra42;

impl Rules for Intra42 {
    fn name(&self) -> &'static str {
        "intra42"
    }

    fn routes(&self) -> Router<Arc<AppState>> {
        Router::new()
            .route("/oauth/authorize", get(routes::authorize))
            .route("/oauth/token", post(routes::token))
            .route("/oauth/token/info", get(routes::token_info))
            .route("/v2/me", get(routes::me))
    }

    /// Doorkeeper: space-separated, unknown names refused.
    fn parse_scope(&self, input: &str) -> Result<Scope, String> {
        Scope::refusing_unknown(input, &[' '], &SCOPES)
    }

    fn consent_items(&self, state: &AppState, user: &DemoUser, scope: &Scope) -> Vec<String> {
        let campuses = state
            .membership(&user.login)
            .map(|m| m.campuses)
            .unwrap_or_default();
        let mut items = vec![format!(
            "read your public 42 data (login <code>{}</code>, {}, campus, levels)",
            escape(&user.login),
            escape(&personas::intra42_email(user, &campuses))
        )];
        for other in scope.iter().filter(|s| *s != "public") {
            items.push(format!("use the <code>{}</code> scope", escape(other)));
        }
        items
    }

    /// "Web Application Flow": `"expires_in": 7200`.
    fn default_access_token_ttl(&self) -> Duration {
        Duration::from_secs(7200)
    }

    /// Doorkeeper's default.
    fn default_code_ttl(&self) -> Duration {
        Duration::from_secs(600)
    }

    fn page_note(&self) -> &'static str {
        "<p>This emulator answers like <strong>42 Intra</strong>.</p>"
    }

    /// 42 does not send RFC 9207's `iss`.
    fn authorization_iss(&self, _base_url: &str) -> Option<String> {
        None
    }

    /// Doorkeeper's wording, which api.intra.42.fr answers.
    fn denial(&self) -> &'static [(&'static str, &'static str)] {
        &[
            ("error", "access_denied"),
            (
                "error_description",
                "The resource owner or authorization server denied the request.",
            ),
        ]
    }

    /// Doorkeeper's default tokens: 32 random bytes in hex.
    fn mint(&self, ttl: Duration) -> Minted {
        Minted {
            access_token: oauth::random_hex(32),
            refresh_token: Some(oauth::random_hex(32)),
            ttl: Some(ttl),
        }
    }
}
