//! The standard dialect's UserInfo endpoint (OIDC Core §5.3), with bearer tokens per RFC 6750.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::userinfo_claims;
use crate::oauth::{bearer_token, no_store, too_many_requests};
use crate::state::{AccessProblem, AppState};

/// `GET` or `POST /userinfo` with `Authorization: Bearer TOKEN`.
pub async fn userinfo(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    state.count(|s| s.userinfo_requests += 1);
    if let Some(retry_after) = state.take_throttle() {
        return too_many_requests(retry_after);
    }
    let Some(token) = bearer_token(&headers, false) else {
        // RFC 6750 §3.1: a request without credentials gets the challenge but no error code.
        return unauthorized(
            "Bearer".to_owned(),
            "invalid_request",
            "an Authorization: Bearer header is required",
        );
    };
    let info = state.access(token);
    if let Some(retry_after) = info
        .as_ref()
        .ok()
        .and_then(|info| state.rate_limit(&info.client_id))
    {
        return too_many_requests(retry_after);
    }
    let info = info.map_err(|problem| match problem {
        AccessProblem::Unknown => "the access token is unknown or revoked",
        AccessProblem::Expired => "the access token has expired",
    });
    match info {
        Ok(info) => {
            let claims = userinfo_claims(&state, &info.login, &info.scope);
            (no_store(), Json(claims)).into_response()
        }
        Err(description) => unauthorized(
            format!(r#"Bearer error="invalid_token", error_description="{description}""#),
            "invalid_token",
            description,
        ),
    }
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
