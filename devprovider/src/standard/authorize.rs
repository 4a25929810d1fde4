//! The standard dialect's authorization endpoint, `GET /authorize` (RFC 6749 §4.1.1, RFC 7636).

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::response::Response;

use super::SCOPES;
use crate::authorize::{Challenge, Trusted, MALFORMED_S256};
use crate::html;
use crate::state::AppState;

/// Asked for when the client sends no scope (RFC 6749 §3.3 lets the server pick a default).
const DEFAULT_SCOPE: &str = "openid profile email";

/// `GET /authorize`: validates the request, then shows the login page.
pub async fn authorize(State(state): State<Arc<AppState>>, RawQuery(query): RawQuery) -> Response {
    let unknown_client = |client_id: Option<&str>| match client_id {
        None => html::error_page("The authorization request has no client_id."),
        Some(id) => html::error_page(&format!("Unknown client_id `{id}`.")),
    };
    let redirect = |client_id: &str, uri: Option<&str>| {
        let uri = uri.ok_or("The authorization request has no redirect_uri.")?;
        match state.registered_redirect(client_id, uri) {
            Some(url) => Ok((uri.to_owned(), url)),
            None => Err(format!(
                "The redirect_uri `{uri}` is not registered for client `{client_id}` \
                 (it must match a registered one exactly)."
            )),
        }
    };
    let request = match Trusted::check(&state, query, unknown_client, redirect) {
        Ok(request) => request,
        Err(page) => return *page,
    };
    if let Some(refused) = request.refuse_duplicate() {
        return refused;
    }
    match request.param("response_type") {
        None => return request.fail("invalid_request", "response_type is required"),
        Some("code") => {}
        Some(_) => {
            return request.fail(
                "unsupported_response_type",
                "only response_type=code is supported",
            )
        }
    }
    let pkce = match request.challenge() {
        Challenge::S256(pkce) => pkce,
        Challenge::MalformedS256 => return request.fail("invalid_request", MALFORMED_S256),
        Challenge::Absent | Challenge::Plain(_) | Challenge::OtherMethod => {
            return request.fail("invalid_request", "PKCE with S256 is required")
        }
    };
    let scope = match state
        .rules
        .parse_scope(request.param("scope").unwrap_or(DEFAULT_SCOPE))
    {
        Ok(scope) => scope,
        Err(unknown) => {
            return request.fail(
                "invalid_scope",
                &format!("unknown scope `{unknown}`; supported: {}", SCOPES.join(" ")),
            )
        }
    };
    let nonce = request.param("nonce").map(str::to_owned);
    request.begin(scope, Some(pkce), nonce)
}
