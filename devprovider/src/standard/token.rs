//! The standard dialect's token endpoint (RFC 6749 §3.2, with DPoP per RFC 9449 §5), its
//! revocation endpoint (RFC 7009) and its introspection endpoint (RFC 7662, with `cnf.jkt` per
//! RFC 9449 §6.2).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::claims::token_response;
use super::{client_auth, dpop};
use crate::oauth::{no_store, OAuthError, Params};
use crate::state::AppState;
use crate::token_endpoint::answer;
use crate::Client;

/// `POST /token`.
pub async fn token(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    answer(&state, &headers, &body, async {
        match grant(&state, &headers, &body).await {
            Ok(reply) => dpop::with_nonce(&state, (no_store(), Json(reply)).into_response()),
            Err(error) => error.into_response(),
        }
    })
    .await
}

async fn grant(state: &AppState, headers: &HeaderMap, body: &[u8]) -> Result<Value, OAuthError> {
    let params = Params::parse(body).map_err(|name| OAuthError::duplicate(&name))?;
    let client = client_auth::authenticate(state, headers, &params, "/token").await?;
    let proof = dpop::proof(state, headers, "POST", "/token", None)?;
    if proof.is_none() && state.metadata(&client.id).dpop_bound_access_tokens {
        // RFC 9449 §5.2: the client registered `dpop_bound_access_tokens`.
        return Err(OAuthError::invalid_dpop_proof(format!(
            "client `{}` must send a DPoP proof with every token request",
            client.id
        )));
    }
    let jkt = proof.as_ref().map(|proof| proof.jkt.as_str());
    let required = |name: &str| {
        params
            .get(name)
            .ok_or_else(|| OAuthError::invalid_request(format!("{name} is required")))
    };
    let issued = match required("grant_type")? {
        "authorization_code" => state.exchange_code(
            client,
            required("code")?,
            params.get("redirect_uri"),
            params.get("code_verifier"),
            jkt,
        )?,
        "refresh_token" => {
            state.refresh(client, required("refresh_token")?, params.get("scope"), jkt)?
        }
        other => {
            return Err(OAuthError::new(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                format!(
                    "grant_type `{other}` is not supported; use authorization_code or \
                     refresh_token"
                ),
            ))
        }
    };
    Ok(token_response(state, issued))
}

/// `POST /revoke`: 200 whether or not the token was known (RFC 7009 §2.2), so clients can't
/// probe for valid tokens. A token bound to a DPoP key is revoked only with a proof by that
/// key, whose `ath` hashes the token: the request's Authorization header stays the client's
/// own (RFC 7009 §2.1), so the proof is what shows the key is held.
pub async fn revoke(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let result = async {
        // token_type_hint is only an optimisation hint (RFC 7009 §2.1): both kinds are
        // looked up anyway, so it is accepted and ignored.
        let (client, token) = client_and_token(&state, &headers, &body, "/revoke").await?;
        match state.token_binding(client, &token) {
            Some(jkt) => {
                dpop::bound_proof(&state, &headers, "POST", "/revoke", &token, &jkt)?;
            }
            None => {
                dpop::proof(&state, &headers, "POST", "/revoke", Some(&token))?;
            }
        }
        state.revoke(client, &token);
        Ok::<_, OAuthError>(())
    };
    match result.await {
        Ok(()) => {
            state.count(|s| s.revocations += 1);
            dpop::with_nonce(&state, (StatusCode::OK, no_store()).into_response())
        }
        Err(error) => error.into_response(),
    }
}

/// `POST /introspect` (RFC 7662): what a token of the calling client is. Another client's
/// token, or an unknown, expired or revoked one, is `{"active": false}` (§2.2).
pub async fn introspect(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let result = async {
        let (client, token) = client_and_token(&state, &headers, &body, "/introspect").await?;
        let Some(info) = state.introspect(client, &token) else {
            return Ok(json!({ "active": false }));
        };
        let mut body = json!({
            "active": true,
            "client_id": client.id,
            "scope": info.scope.to_string(),
            "sub": crate::config::subject_of(&info.login),
            "username": info.login,
            "iss": state.issuer,
            "iat": info.created_at,
            "token_type": if info.jkt.is_some() { "DPoP" } else { "Bearer" },
        });
        if let Some(exp) = info.expires_in {
            body["exp"] = json!(crate::state::unix_now() + exp);
        }
        if let Some(jkt) = info.jkt {
            body["cnf"] = json!({ "jkt": jkt });
        }
        Ok::<_, OAuthError>(body)
    };
    match result.await {
        Ok(body) => (no_store(), Json(body)).into_response(),
        Err(error) => error.into_response(),
    }
}

/// The client a request to `path` authenticates as, and the `token` it is about.
async fn client_and_token<'a>(
    state: &'a AppState,
    headers: &HeaderMap,
    body: &[u8],
    path: &str,
) -> Result<(&'a Client, String), OAuthError> {
    let params = Params::parse(body).map_err(|name| OAuthError::duplicate(&name))?;
    let client = client_auth::authenticate(state, headers, &params, path).await?;
    let token = params
        .get("token")
        .ok_or_else(|| OAuthError::invalid_request("token is required"))?;
    Ok((client, token.to_owned()))
}
