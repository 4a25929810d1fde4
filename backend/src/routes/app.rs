//! What an app behind Portero calls: `GET /api/auth` for nginx `auth_request` and for the
//! forward auth of Caddy and Traefik, and `GET /.well-known/jwks.json`, the keys that verify
//! `X-Portero-Assertion`.

use axum::{
    extract::{rejection::QueryRejection, Query, State},
    http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde::Deserialize;
use shared::ReturnTo;

/// The audience of the assertions `GET /api/auth` hands out (no upstream may take it as its id).
pub use crate::config::AUTH_AUDIENCE;
use crate::{config::Policy, error::AppError, gateway, session::CurrentUser, state::AppState};

/// The original request's path and query, as Caddy's `forward_auth` and Traefik's
/// `forwardAuth` send it. Like `x-csrf`, no cross-site page can add it without a CORS
/// preflight, which Portero never grants: on `GET /api/auth` it stands in for `x-csrf`.
pub const FORWARDED_URI: HeaderName = HeaderName::from_static("x-forwarded-uri");
/// The original request's method, from the same proxies.
const FORWARDED_METHOD: HeaderName = HeaderName::from_static("x-forwarded-method");

/// `GET /api/auth`'s query.
#[derive(Deserialize)]
pub struct AuthQuery {
    /// `?policy=NAME`: only the people `[policies.NAME]` admits (docs/design.md, "Policies per
    /// app").
    policy: Option<String>,
}

/// `GET /api/auth`: 200 with the identity headers (docs/design.md, "Your app behind Portero"),
/// or the refusal of [`CurrentUser`] (401) — except that a logged-out browser navigation
/// forwarded by Caddy or Traefik is sent to log in first (302). With `?policy=NAME`, 403
/// `access_denied` to a person the policy does not admit, and 400 `unknown_policy` when no
/// such policy is configured. Never cached: the answer is this session's, now.
pub async fn forward_auth(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<AuthQuery>, QueryRejection>,
    user: Result<CurrentUser, AppError>,
) -> Response {
    let policy = match policy_asked(&state, query) {
        Ok(policy) => policy,
        Err(refused) => return no_store(refused.into_response()),
    };
    let user = match user {
        Ok(user) => user,
        Err(refused) => return logged_out(&state.origin, &headers, refused),
    };
    if let Err(refused) = admitted(&user, policy).await {
        // A person whose provider no longer admits them has just been logged out: sent to log
        // in again like any logged-out visitor.
        return no_store(logged_out(&state.origin, &headers, refused));
    }
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

/// The policy `?policy=` names: `None` without one, 400 `unknown_policy` for a name no
/// `[policies.*]` has.
fn policy_asked(
    state: &AppState,
    query: Result<Query<AuthQuery>, QueryRejection>,
) -> Result<Option<&Policy>, AppError> {
    let Query(query) = query.map_err(|e| AppError::BadRequest(e.body_text()))?;
    match query.policy {
        None => Ok(None),
        Some(name) => match state.gateway.policy(&name) {
            Some(policy) => Ok(Some(policy)),
            None => Err(AppError::UnknownPolicy(name.chars().take(64).collect())),
        },
    }
}

/// Whether `user` passes: their facts read again first when due (rule 22, which may end their
/// sessions), then `policy`, if any.
async fn admitted(user: &CurrentUser, policy: Option<&Policy>) -> Result<(), AppError> {
    let facts = user.facts().await?;
    match policy {
        Some(policy) => gateway::admit_request(policy, user, facts.as_ref()),
        None => Ok(()),
    }
}

/// The answer is about this session now: no cache keeps it.
fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
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
