//! What an app behind Portero calls: `GET /api/auth` for nginx `auth_request` and for the
//! forward auth of Caddy and Traefik, and `GET /.well-known/jwks.json`, the keys that verify
//! `X-Portero-Assertion`.

use axum::{
    extract::State,
    http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use shared::ReturnTo;

use crate::{error::AppError, gateway, session::CurrentUser, state::AppState};

/// The audience of the assertions `GET /api/auth` hands out.
pub const AUTH_AUDIENCE: &str = "auth";

/// The original request's path and query, as Caddy's `forward_auth` and Traefik's
/// `forwardAuth` send it. Like `x-csrf`, no cross-site page can add it without a CORS
/// preflight, which Portero never grants: on `GET /api/auth` it stands in for `x-csrf`.
pub const FORWARDED_URI: HeaderName = HeaderName::from_static("x-forwarded-uri");
/// The original request's method, from the same proxies.
const FORWARDED_METHOD: HeaderName = HeaderName::from_static("x-forwarded-method");

/// `GET /api/auth`: 200 with the identity headers (docs/design.md, "Your app behind Portero"),
/// or the refusal of [`CurrentUser`] (401) — except that a logged-out browser navigation
/// forwarded by Caddy or Traefik is sent to log in first (302). Never cached: the answer is
/// this session's, now.
pub async fn forward_auth(
    State(state): State<AppState>,
    headers: HeaderMap,
    user: Result<CurrentUser, AppError>,
) -> Response {
    let user = match user {
        Ok(user) => user,
        Err(refused) => return logged_out(&state.origin, &headers, refused),
    };
    let mut headers = gateway::identity_headers(
        user.user(),
        user.verified_email(),
        &state.gateway.signer,
        &state.origin,
        AUTH_AUDIENCE,
        state.config.assertion.ttl,
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    (StatusCode::OK, headers).into_response()
}

/// Without a session: a browser navigation that Caddy or Traefik forwarded goes to the start
/// page, which brings it back after the login; anything else (an XHR, nginx's subrequest, a
/// failing store) gets `refused` as it is.
fn logged_out(origin: &str, headers: &HeaderMap, refused: AppError) -> Response {
    let no_session = matches!(refused, AppError::NotLoggedIn | AppError::SessionExpired(_));
    match forwarded_navigation(headers) {
        Some(return_to) if no_session => start_page(origin, &return_to),
        _ => refused.into_response(),
    }
}

/// Where a forwarded browser navigation (`X-Forwarded-Method: GET`, `Accept` with
/// `text/html`) was going, kept only when it is a same-origin path (rule 5; anything else is
/// `/`); `None` for any other request.
fn forwarded_navigation(headers: &HeaderMap) -> Option<ReturnTo> {
    let uri = headers.get(FORWARDED_URI)?;
    let get = headers
        .get(FORWARDED_METHOD)
        .is_some_and(|method| method.as_bytes() == b"GET");
    let html = headers.get_all(header::ACCEPT).iter().any(|accept| {
        accept
            .to_str()
            .is_ok_and(|accept| accept.to_ascii_lowercase().contains("text/html"))
    });
    (get && html).then(|| ReturnTo::parse(uri.to_str().ok()))
}

/// 302 to `{origin}/?return_to=…`, the query percent-encoded whole, so a path with a query of
/// its own comes back intact.
fn start_page(origin: &str, return_to: &ReturnTo) -> Response {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("return_to", return_to.as_str())
        .finish();
    let location = format!("{origin}/?{query}");
    match HeaderValue::try_from(location) {
        Ok(location) => (
            StatusCode::FOUND,
            [
                (header::LOCATION, location),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
        )
            .into_response(),
        // Unreachable: an ASCII origin and an encoded query; still no panic on input.
        Err(_) => AppError::NotLoggedIn.into_response(),
    }
}

/// `GET /.well-known/jwks.json`: the current signing key and the earlier ones (key rotation).
/// Cached briefly: an app that meets an unknown `kid` fetches it again.
pub async fn jwks(State(state): State<AppState>) -> Response {
    let mut response = Json(state.gateway.signer.jwks()).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}
