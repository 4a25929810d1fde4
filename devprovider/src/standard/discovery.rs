//! The standard dialect's OpenID Connect Discovery 1.0 document and JWK Set.

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use super::SCOPES;
use crate::config::{AuthMethod, Dpop, Par};
use crate::jose;
use crate::keys;
use crate::state::AppState;

pub async fn openid_configuration(State(state): State<Arc<AppState>>) -> Json<Value> {
    let issuer = &state.issuer;
    let auth_methods: Vec<&str> = AuthMethod::ALL.iter().map(|(_, name)| *name).collect();
    let mut doc = json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "userinfo_endpoint": format!("{issuer}/userinfo"),
        "jwks_uri": format!("{issuer}/jwks"),
        "revocation_endpoint": format!("{issuer}/revoke"),
        "introspection_endpoint": format!("{issuer}/introspect"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": SCOPES,
        "token_endpoint_auth_methods_supported": auth_methods,
        "revocation_endpoint_auth_methods_supported": auth_methods,
        "introspection_endpoint_auth_methods_supported": auth_methods,
        // RFC 7523 §2.2 / OIDC Core §9: what `private_key_jwt` assertions may be signed with.
        "token_endpoint_auth_signing_alg_values_supported": jose::ALGORITHMS,
        "revocation_endpoint_auth_signing_alg_values_supported": jose::ALGORITHMS,
        "introspection_endpoint_auth_signing_alg_values_supported": jose::ALGORITHMS,
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
    });
    // RFC 9126 §5.
    if state.par != Par::Off {
        doc["pushed_authorization_request_endpoint"] = json!(format!("{issuer}/par"));
        doc["require_pushed_authorization_requests"] = json!(state.par == Par::Required);
    }
    // RFC 9449 §5.1.
    if state.dpop != Dpop::Off {
        doc["dpop_signing_alg_values_supported"] = json!(jose::ALGORITHMS);
    }
    Json(doc)
}

pub async fn jwks() -> Json<Value> {
    Json(keys::signing_key().jwks())
}
