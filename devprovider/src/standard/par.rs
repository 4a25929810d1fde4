//! The pushed authorization request endpoint, `POST /par` (RFC 9126 §2): the client sends its
//! authorization request from its back end, authenticated as at the token endpoint, and gets
//! a one-time `request_uri` to send the browser to `/authorize` with.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::authorize::check;
use super::{client_auth, dpop};
use crate::authorize::Trusted;
use crate::config::Par;
use crate::oauth::{no_store, OAuthError, Params};
use crate::state::AppState;

/// `POST /par`: 201 with `request_uri` and `expires_in`, or an RFC 6749 §5.2 error.
pub async fn par(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    if state.par == Par::Off {
        return (StatusCode::NOT_FOUND, "not found\n").into_response();
    }
    match push(&state, &headers, &body).await {
        Ok(request_uri) => {
            let body = json!({
                "request_uri": request_uri,
                "expires_in": state.par_ttl.as_secs(),
            });
            let created = (StatusCode::CREATED, no_store(), Json(body)).into_response();
            dpop::with_nonce(&state, created)
        }
        Err(error) => error.into_response(),
    }
}

async fn push(state: &AppState, headers: &HeaderMap, body: &[u8]) -> Result<String, OAuthError> {
    let params = Params::parse(body).map_err(|name| OAuthError::duplicate(&name))?;
    let client = client_auth::authenticate(state, headers, &params, "/par").await?;
    if params.get("request_uri").is_some() {
        return Err(OAuthError::invalid_request(
            "request_uri must not be pushed (RFC 9126 §2.1)",
        ));
    }
    let redirect_uri = params
        .get("redirect_uri")
        .ok_or_else(|| OAuthError::invalid_request("redirect_uri is required"))?
        .to_owned();
    let redirect_url = state
        .registered_redirect(&client.id, &redirect_uri)
        .ok_or_else(|| {
            OAuthError::invalid_request(format!(
                "redirect_uri `{redirect_uri}` is not registered for client `{}` (it must \
                 match a registered one exactly)",
                client.id
            ))
        })?;
    // RFC 9449 §10.1: a proof sent with the push binds the code to its key, as dpop_jkt does.
    let proof = dpop::proof(state, headers, "POST", "/par", None)?;
    let trusted = Trusted::pushed(
        state,
        params,
        client.id.clone(),
        (redirect_uri, redirect_url),
    );
    let checked = check(state, &trusted).map_err(|(error, description)| {
        OAuthError::new(StatusCode::BAD_REQUEST, error, description)
    })?;
    let mut request = checked.accept(trusted);
    if let Some(proof) = proof {
        match &request.dpop_jkt {
            Some(jkt) if *jkt != proof.jkt => {
                return Err(OAuthError::invalid_dpop_proof(
                    "dpop_jkt is not the thumbprint of the DPoP proof's key",
                ))
            }
            _ => request.dpop_jkt = Some(proof.jkt),
        }
    }
    Ok(state.push(request))
}
