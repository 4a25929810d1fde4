//! The standard dialect's OpenID Connect Discovery 1.0 document and JWK Set.

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use super::SCOPES;
use crate::keys;
use crate::state::AppState;

pub async fn openid_configuration(State(state): State<Arc<AppState>>) -> Json<Value> {
    let issuer = &state.issuer;
    let auth_methods = ["client_secret_basic", "client_secret_post"];
    Json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "userinfo_endpoint": format!("{issuer}/userinfo"),
        "jwks_uri": format!("{issuer}/jwks"),
        "revocation_endpoint": format!("{issuer}/revoke"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": SCOPES,
        "token_endpoint_auth_methods_supported": auth_methods,
        "revocation_endpoint_auth_methods_supported": auth_methods,
        "code_challenge_methods_supported": ["S256"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "claims_supported": [
            "sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash",
            "name", "preferred_username", "picture", "email", "email_verified", "groups", "sid",
        ],
        "authorization_response_iss_parameter_supported": true,
        // OpenID Connect Back-Channel Logout 1.0 §2.1, with `sid` in id and logout tokens.
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
    }))
}

pub async fn jwks() -> Json<Value> {
    Json(keys::signing_key().jwks())
}
