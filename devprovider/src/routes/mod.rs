//! The HTTP surface: one module per endpoint family.

mod authorize;
mod avatar;
mod discovery;
mod token;
mod userinfo;

use std::sync::Arc;

use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;

use crate::state::AppState;

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(discovery::openid_configuration),
        )
        .route("/jwks", get(discovery::jwks))
        .route("/authorize", get(authorize::authorize))
        .route("/authorize/login", post(authorize::login))
        .route("/authorize/consent", post(authorize::consent))
        .route("/token", post(token::token))
        .route("/revoke", post(token::revoke))
        .route(
            "/userinfo",
            get(userinfo::userinfo).post(userinfo::userinfo),
        )
        .route("/avatars/{file}", get(avatar::avatar))
        .fallback(|| async { (StatusCode::NOT_FOUND, "not found\n") })
        .with_state(state)
}
