//! The HTTP surface: one module per endpoint family, and one router per dialect. The login and
//! consent forms and the avatars are shared; the protocol endpoints differ.

mod authorize;
mod avatar;
mod discovery;
mod github;
mod intra42;
mod token;
mod userinfo;

use std::sync::Arc;

use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::Router;

use crate::state::AppState;
use crate::Dialect;

pub fn router(state: Arc<AppState>) -> Router {
    let shared = Router::new()
        .route("/authorize/login", post(authorize::login))
        .route("/authorize/consent", post(authorize::consent))
        .route("/avatars/{file}", get(avatar::avatar));
    let dialect = match state.dialect {
        Dialect::Standard => Router::new()
            .route(
                "/.well-known/openid-configuration",
                get(discovery::openid_configuration),
            )
            .route("/jwks", get(discovery::jwks))
            .route("/authorize", get(authorize::authorize))
            .route("/token", post(token::token))
            .route("/revoke", post(token::revoke))
            .route(
                "/userinfo",
                get(userinfo::userinfo).post(userinfo::userinfo),
            ),
        // github.com and api.github.com folded onto one base URL.
        Dialect::Github => Router::new()
            .route("/login/oauth/authorize", get(github::authorize))
            .route("/login/oauth/access_token", post(github::access_token))
            .route("/user", get(github::user))
            .route("/user/emails", get(github::emails))
            .route(
                "/applications/{client_id}/token",
                delete(github::delete_token),
            )
            .route("/{login}", get(github::profile)),
        Dialect::Intra42 => Router::new()
            .route("/oauth/authorize", get(intra42::authorize))
            .route("/oauth/token", post(intra42::token))
            .route("/oauth/token/info", get(intra42::token_info))
            .route("/v2/me", get(intra42::me)),
    };
    shared
        .merge(dialect)
        .fallback(|| async { (StatusCode::NOT_FOUND, "not found\n") })
        .with_state(state)
}
