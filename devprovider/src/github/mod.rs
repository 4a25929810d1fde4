//! The `github` dialect: what github.com does differently from RFC 6749 as an OAuth App
//! provider (docs.github.com, "Authorizing OAuth apps" and "Scopes for OAuth apps"). Its OAuth
//! endpoints are in `oauth.rs`, the REST calls in `api.rs`, its users' accounts in
//! `personas.rs`.

mod api;
mod oauth;
pub(crate) mod orgs;
mod personas;

use std::sync::Arc;
use std::time::Duration;

use axum::routing::{delete, get, post};
use axum::Router;

use crate::dialect::{Minted, Rules};
use crate::html::escape;
use crate::scope::Scope;
use crate::state::AppState;
use crate::DemoUser;

/// The OAuth App scopes of docs.github.com, "Scopes for OAuth apps".
pub const SCOPES: [&str; 34] = [
    "repo",
    "repo:status",
    "repo_deployment",
    "public_repo",
    "repo:invite",
    "security_events",
    "admin:repo_hook",
    "write:repo_hook",
    "read:repo_hook",
    "admin:org",
    "write:org",
    "read:org",
    "admin:public_key",
    "write:public_key",
    "read:public_key",
    "admin:org_hook",
    "gist",
    "notifications",
    "user",
    "read:user",
    "user:email",
    "user:follow",
    "project",
    "read:project",
    "delete_repo",
    "write:packages",
    "read:packages",
    "delete:packages",
    "admin:gpg_key",
    "write:gpg_key",
    "read:gpg_key",
    "codespace",
    "workflow",
    "read:audit_log",
];

/// Names separated by spaces or commas. Names GitHub doesn't know are left out of the grant,
/// which is why its docs tell clients to check the `scope` of the token reply.
pub fn parse_scope(input: &str) -> Scope {
    Scope::dropping_unknown(input, &[' ', ','], &SCOPES)
}

pub struct Github;

impl Rules for Github {
    fn name(&self) -> &'static str {
        "github"
    }

    /// github.com and api.github.com folded onto one base URL.
    fn routes(&self) -> Router<Arc<AppState>> {
        Router::new()
            .route("/login/oauth/authorize", get(oauth::authorize))
            .route("/login/oauth/access_token", post(oauth::access_token))
            .route("/user", get(api::user))
            .route("/user/emails", get(api::emails))
            .route("/user/orgs", get(api::orgs))
            .route("/user/teams", get(api::teams))
            .route("/orgs/{org}/members/{username}", get(api::org_member))
            .route("/applications/{client_id}/token", delete(api::delete_token))
            .route("/{login}", get(api::profile))
    }

    fn parse_scope(&self, input: &str) -> Result<Scope, String> {
        Ok(parse_scope(input))
    }

    fn consent_items(&self, _state: &AppState, user: &DemoUser, scope: &Scope) -> Vec<String> {
        // "Scopes for OAuth apps": no scope already reads public data.
        let mut items = vec![format!(
            "read your public profile (<code>{}</code>, name, avatar)",
            escape(&user.login)
        )];
        if scope.contains_any(&["user", "user:email"]) {
            items.push(format!(
                "read your email addresses, private ones included ({})",
                escape(&user.email)
            ));
        }
        for other in scope
            .iter()
            .filter(|s| !matches!(*s, "user" | "read:user" | "user:email"))
        {
            items.push(format!("use the <code>{}</code> scope", escape(other)));
        }
        items
    }

    /// "The temporary code will expire after 10 minutes."
    fn default_code_ttl(&self) -> Duration {
        Duration::from_secs(600)
    }

    fn page_note(&self) -> &'static str {
        "<p>This emulator answers like <strong>GitHub</strong>.</p>"
    }

    /// Organizations have avatars too (`avatar_url` in `/user/orgs`): any organization someone
    /// belongs to now.
    fn avatar_owner(&self, state: &AppState, login: &str) -> Option<String> {
        state.users().iter().find_map(|user| {
            let membership = state.membership(&user.login)?;
            let org = membership
                .github
                .into_iter()
                .find(|m| m.org.login == login)?;
            Some(org.org.name)
        })
    }

    /// GitHub sends RFC 9207's `iss` since 2026, naming its OAuth endpoints, not github.com.
    fn authorization_iss(&self, base_url: &str) -> Option<String> {
        Some(format!("{base_url}/login/oauth"))
    }

    /// "Troubleshooting authorization request errors", Access denied.
    fn denial(&self) -> &'static [(&'static str, &'static str)] {
        &[
            ("error", "access_denied"),
            (
                "error_description",
                "The user has denied your application access.",
            ),
            (
                "error_uri",
                "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-authorization-request-errors/#access-denied",
            ),
        ]
    }

    /// "Authorizing OAuth apps": redirect_uri is optional at the token endpoint; when sent it
    /// must match.
    fn token_request_may_omit_redirect_uri(&self) -> bool {
        true
    }

    /// OAuth App tokens: `gho_` and 36 characters, no expiry, no refresh token ("About
    /// authentication to GitHub", token prefixes).
    fn mint(&self, _ttl: Duration) -> Minted {
        Minted {
            access_token: crate::oauth::github_token("gho_"),
            refresh_token: None,
            ttl: None,
        }
    }
}
