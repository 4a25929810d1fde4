//! The UserInfo endpoint (OIDC Core §5.3), with bearer tokens per RFC 6750.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::oauth::no_store;
use crate::state::AppState;

/// `GET` or `POST /userinfo` with `Authorization: Bearer TOKEN`.
pub async fn userinfo(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    state.count(|s| s.userinfo_requests += 1);
    let Some(token) = bearer_token(&headers) else {
        // RFC 6750 §3.1: a request without credentials gets the challenge but no error code.
        return unauthorized(
            "Bearer".to_owned(),
            "invalid_request",
            "an Authorization: Bearer header is required",
        );
    };
    match state.userinfo(token) {
        Ok(claims) => (no_store(), Json(claims)).into_response(),
        Err(description) => unauthorized(
            format!(r#"Bearer error="invalid_token", error_description="{description}""#),
            "invalid_token",
            description,
        ),
    }
}

fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

fn unauthorized(challenge: String, error: &str, description: &str) -> Response {
    let mut response = (
        StatusCode::UNAUTHORIZED,
        no_store(),
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response();
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}
