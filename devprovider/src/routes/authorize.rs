//! The authorization endpoint (RFC 6749 §4.1.1) and the login and consent forms behind it.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

use crate::html::{self, escape};
use crate::oauth::Params;
use crate::state::{AppState, AuthorizationRequest, Pkce, PkceMethod, Scope};
use crate::{personas, DemoUser, Dialect};

/// Asked for when the client sends no scope (RFC 6749 §3.3 lets the server pick a default).
const DEFAULT_SCOPE: &str = "openid profile email";

/// `GET /authorize`: validates the request, then shows the login page.
pub async fn authorize(State(state): State<Arc<AppState>>, RawQuery(query): RawQuery) -> Response {
    let (params, duplicate) = Params::parse_lenient(query.unwrap_or_default().as_bytes());

    // RFC 6749 §4.1.2.1: until client and redirect URI are known good, the error goes to the
    // user, never to a redirect target an attacker may have chosen.
    if let Some(name) = duplicate
        .as_deref()
        .filter(|name| matches!(*name, "client_id" | "redirect_uri"))
    {
        return html::error_page(&format!("The parameter `{name}` was sent more than once."));
    }
    let Some(client_id) = params.get("client_id") else {
        return html::error_page("The authorization request has no client_id.");
    };
    if state.client(client_id).is_none() {
        return html::error_page(&format!("Unknown client_id `{client_id}`."));
    }
    let Some(redirect_uri) = params.get("redirect_uri") else {
        return html::error_page("The authorization request has no redirect_uri.");
    };
    let Some(redirect_url) = state.registered_redirect(client_id, redirect_uri) else {
        return html::error_page(&format!(
            "The redirect_uri `{redirect_uri}` is not registered for client `{client_id}` \
             (it must match a registered one exactly)."
        ));
    };

    let client_state = params.get("state");
    let fail = |error: &str, description: &str| -> Response {
        let url = state.authorization_response(
            &redirect_url,
            &[("error", error), ("error_description", description)],
            client_state,
        );
        Redirect::to(url.as_str()).into_response()
    };
    if let Some(name) = duplicate {
        return fail(
            "invalid_request",
            &format!("parameter `{name}` was sent more than once"),
        );
    }
    match params.get("response_type") {
        None => return fail("invalid_request", "response_type is required"),
        Some("code") => {}
        Some(_) => {
            return fail(
                "unsupported_response_type",
                "only response_type=code is supported",
            )
        }
    }
    let (Some(code_challenge), Some("S256")) = (
        params.get("code_challenge"),
        params.get("code_challenge_method"),
    ) else {
        return fail("invalid_request", "PKCE with S256 is required");
    };
    if !is_s256_challenge(code_challenge) {
        return fail(
            "invalid_request",
            "code_challenge must be a base64url SHA-256 (43 characters)",
        );
    }
    let scope = match Scope::parse(params.get("scope").unwrap_or(DEFAULT_SCOPE)) {
        Ok(scope) => scope,
        Err(unknown) => {
            return fail(
                "invalid_scope",
                &format!(
                    "unknown scope `{unknown}`; supported: {}",
                    crate::state::SUPPORTED_SCOPES.join(" ")
                ),
            )
        }
    };

    let request_id = state.begin_authorization(AuthorizationRequest {
        client_id: client_id.to_owned(),
        redirect_url,
        redirect_uri: redirect_uri.to_owned(),
        scope,
        state: client_state.map(str::to_owned),
        pkce: Some(Pkce {
            challenge: code_challenge.to_owned(),
            method: PkceMethod::S256,
        }),
        nonce: params.get("nonce").map(str::to_owned),
    });
    html::login_page(state.dialect, client_id, &request_id, state.users())
}

/// An S256 challenge is always a base64url SHA-256: 43 characters, no padding.
pub fn is_s256_challenge(challenge: &str) -> bool {
    challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `POST /authorize/login` (request, user): the user picked a demo account.
pub async fn login(State(state): State<Arc<AppState>>, body: Bytes) -> Response {
    let Ok(form) = Params::parse(&body) else {
        return html::error_page("The sign-in form was sent with a repeated field.");
    };
    let (Some(request_id), Some(login)) = (form.get("request"), form.get("user")) else {
        return html::error_page("The sign-in form needs both `request` and `user`.");
    };
    match state.select_user(request_id, login) {
        Ok((pending, user)) => html::consent_page(
            state.dialect,
            &pending.client_id,
            request_id,
            &consent_items(state.dialect, &user, &pending.scope),
        ),
        Err(message) => html::error_page(message),
    }
}

/// `POST /authorize/consent` (request, decision): answers the client, once.
pub async fn consent(State(state): State<Arc<AppState>>, body: Bytes) -> Response {
    let Ok(form) = Params::parse(&body) else {
        return html::error_page("The consent form was sent with a repeated field.");
    };
    let Some(request_id) = form.get("request") else {
        return html::error_page("The consent form needs `request`.");
    };
    let allow = match form.get("decision") {
        Some("allow") => true,
        Some("deny") => false,
        _ => return html::error_page("The consent form needs decision=allow or decision=deny."),
    };
    match state.finish_authorization(request_id, allow) {
        // 303 so the browser follows with a GET, not a re-POST of the form.
        Ok(url) => (
            StatusCode::SEE_OTHER,
            [
                (header::LOCATION, url.to_string()),
                (header::CACHE_CONTROL, "no-store".to_owned()),
            ],
        )
            .into_response(),
        Err(message) => html::error_page(message),
    }
}

/// What the consent page lists, in the words of each dialect's scopes (HTML, escaped).
fn consent_items(dialect: Dialect, user: &DemoUser, scope: &Scope) -> Vec<String> {
    let mut items = vec![format!("sign you in as {}", escape(&user.name))];
    match dialect {
        Dialect::Standard => {
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
        }
        // docs.github.com, "Scopes for OAuth apps": no scope already reads public data.
        Dialect::Github => {
            items.push(format!(
                "read your public profile (<code>{}</code>, name, avatar)",
                escape(&user.login)
            ));
            if scope.contains("user") || scope.contains("user:email") {
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
        }
        Dialect::Intra42 => {
            items.push(format!(
                "read your public 42 data (login <code>{}</code>, {}, campus, levels)",
                escape(&user.login),
                escape(&personas::intra42_email(user))
            ));
            for other in scope.iter().filter(|s| *s != "public") {
                items.push(format!("use the <code>{}</code> scope", escape(other)));
            }
        }
    }
    items
}
