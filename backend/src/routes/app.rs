//! What an app behind Portero calls: `GET /api/auth` for nginx `auth_request`, and
//! `GET /.well-known/jwks.json`, the keys that verify `X-Portero-Assertion`.

use axum::{
    extract::State,
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};

use crate::{gateway, session::CurrentUser, state::AppState};

/// The audience of the assertions `GET /api/auth` hands out.
pub const AUTH_AUDIENCE: &str = "auth";

/// `GET /api/auth`: 200 with the identity headers (DESIGN.md, "Your app behind Portero"), or
/// the 401 of [`CurrentUser`]. Never cached: the answer is this session's, now.
pub async fn auth(State(state): State<AppState>, user: CurrentUser) -> Response {
    let mut headers = gateway::identity_headers(
        user.user(),
        &state.gateway.signer,
        &state.origin,
        AUTH_AUDIENCE,
        state.config.assertion.ttl,
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    (StatusCode::OK, headers).into_response()
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
