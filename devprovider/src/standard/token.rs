//! The standard dialect's token endpoint (RFC 6749 §3.2) and revocation endpoint (RFC 7009).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::Value;

use super::claims::token_response;
use crate::oauth::{authenticate_client, no_store, OAuthError, Params};
use crate::state::AppState;
use crate::token_endpoint::answer;

/// `POST /token`.
pub async fn token(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    answer(&state, &headers, &body, || {
        match grant(&state, &headers, &body) {
            Ok(reply) => (no_store(), Json(reply)).into_response(),
            Err(error) => error.into_response(),
        }
    })
    .await
}

fn grant(state: &AppState, headers: &HeaderMap, body: &[u8]) -> Result<Value, OAuthError> {
    let params = Params::parse(body).map_err(|name| OAuthError::duplicate(&name))?;
    let client = authenticate_client(state, headers, &params)?;
    match params.get("grant_type") {
        None => Err(OAuthError::invalid_request("grant_type is required")),
        Some("authorization_code") => {
            let code = params
                .get("code")
                .ok_or_else(|| OAuthError::invalid_request("code is required"))?;
            let issued = state.exchange_code(
                client,
                code,
                params.get("redirect_uri"),
                params.get("code_verifier"),
            )?;
            Ok(token_response(state, issued))
        }
        Some("refresh_token") => {
            let refresh_token = params
                .get("refresh_token")
                .ok_or_else(|| OAuthError::invalid_request("refresh_token is required"))?;
            let issued = state.refresh(client, refresh_token, params.get("scope"))?;
            Ok(token_response(state, issued))
        }
        Some(other) => Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            format!(
                "grant_type `{other}` is not supported; use authorization_code or refresh_token"
            ),
        )),
    }
}

/// `POST /revoke`: 200 whether or not the token was known (RFC 7009 §2.2), so clients can't
/// probe for valid tokens.
pub async fn revoke(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let result = Params::parse(&body)
        .map_err(|name| OAuthError::duplicate(&name))
        .and_then(|params| {
            let client = authenticate_client(&state, &headers, &params)?;
            // token_type_hint is only an optimisation hint (RFC 7009 §2.1): both kinds are
            // looked up anyway, so it is accepted and ignored.
            let token = params
                .get("token")
                .ok_or_else(|| OAuthError::invalid_request("token is required"))?;
            state.revoke(client, token);
            Ok(())
        });
    match result {
        Ok(()) => {
            state.count(|s| s.revocations += 1);
            (StatusCode::OK, no_store()).into_response()
        }
        Err(error) => error.into_response(),
    }
}
