//! The standard dialect's authorization endpoint, `GET /authorize` (RFC 6749 §4.1.1, RFC 7636),
//! which also takes the `request_uri` of a pushed request (RFC 9126 §4), and the checks a
//! pushed request gets too.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::response::Response;

use super::SCOPES;
use crate::authorize::{begin, is_base64url_sha256, Challenge, Trusted, MALFORMED_S256};
use crate::config::{Dpop, Par};
use crate::html;
use crate::oauth::Params;
use crate::scope::Scope;
use crate::state::{AppState, AuthorizationRequest, Pkce};

/// Asked for when the client sends no scope (RFC 6749 §3.3 lets the server pick a default).
const DEFAULT_SCOPE: &str = "openid profile email";

/// `GET /authorize`: validates the request, then shows the login page.
pub async fn authorize(State(state): State<Arc<AppState>>, RawQuery(query): RawQuery) -> Response {
    let (params, _) = Params::parse_lenient(query.as_deref().unwrap_or_default().as_bytes());
    if let (Some(request_uri), true) = (params.get("request_uri"), state.par != Par::Off) {
        return pushed(&state, &params, request_uri);
    }
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
    if state.requires_par(request.client_id()) {
        return request.fail(
            "invalid_request",
            "this client must push its authorization requests first (RFC 9126): POST them to \
             /par and send only client_id and request_uri here",
        );
    }
    match check(&state, &request) {
        // OpenID Connect Core §3.1.2.6: the emulator keeps no sign-in session of its own (each
        // login asks for the persona, so `prompt=login` and any `max_age` always hold, and
        // `auth_time` is that moment), hence `prompt=none` can never be answered silently.
        Ok(_) if request.param("prompt") == Some("none") => request.fail(
            "login_required",
            "no one is signed in here (devprovider asks for the persona at every login)",
        ),
        Ok(checked) => begin(&state, checked.accept(request)),
        Err((error, description)) => request.fail(error, &description),
    }
}

/// `GET /authorize?client_id=…&request_uri=…` (RFC 9126 §4): the pushed request, once. Its
/// other parameters are the pushed ones; any sent here are ignored. Errors go to the user:
/// without the pushed request there is no redirect URI to trust.
fn pushed(state: &AppState, params: &Params, request_uri: &str) -> Response {
    let Some(client_id) = params.get("client_id") else {
        return html::error_page("The authorization request has request_uri but no client_id.");
    };
    match state.take_pushed(request_uri, client_id) {
        Ok(request) => begin(state, request),
        Err(why) => html::error_page(&format!("invalid_request_uri: {why}")),
    }
}

/// What the standard dialect accepts, besides client and redirect URI, in an authorization
/// request, pushed or not.
pub struct Checked {
    scope: Scope,
    pkce: Pkce,
    nonce: Option<String>,
    dpop_jkt: Option<String>,
}

impl Checked {
    pub fn accept(self, request: Trusted<'_>) -> AuthorizationRequest {
        AuthorizationRequest {
            dpop_jkt: self.dpop_jkt,
            ..request.accept(self.scope, Some(self.pkce), self.nonce)
        }
    }
}

/// The checks of RFC 6749 §4.1.1, RFC 7636 and RFC 9449 §10 in order; the error is the code
/// and description to answer with.
pub fn check(state: &AppState, request: &Trusted<'_>) -> Result<Checked, (&'static str, String)> {
    match request.param("response_type") {
        None => return Err(("invalid_request", "response_type is required".into())),
        Some("code") => {}
        Some(_) => {
            return Err((
                "unsupported_response_type",
                "only response_type=code is supported".into(),
            ))
        }
    }
    let pkce = match request.challenge() {
        Challenge::S256(pkce) => pkce,
        Challenge::MalformedS256 => return Err(("invalid_request", MALFORMED_S256.into())),
        Challenge::Absent | Challenge::Plain(_) | Challenge::OtherMethod => {
            return Err(("invalid_request", "PKCE with S256 is required".into()))
        }
    };
    let scope = state
        .rules
        .parse_scope(request.param("scope").unwrap_or(DEFAULT_SCOPE))
        .map_err(|unknown| {
            let supported = SCOPES.join(" ");
            let why = format!("unknown scope `{unknown}`; supported: {supported}");
            ("invalid_scope", why)
        })?;
    // A server without DPoP ignores the parameter, as any unknown one (RFC 6749 §3.1).
    let dpop_jkt = match request.param("dpop_jkt") {
        Some(jkt) if state.dpop != Dpop::Off => {
            if !is_base64url_sha256(jkt) {
                return Err((
                    "invalid_request",
                    "dpop_jkt must be a base64url SHA-256 JWK thumbprint (43 characters)".into(),
                ));
            }
            Some(jkt.to_owned())
        }
        _ => None,
    };
    Ok(Checked {
        scope,
        pkce,
        nonce: request.param("nonce").map(str::to_owned),
        dpop_jkt,
    })
}
