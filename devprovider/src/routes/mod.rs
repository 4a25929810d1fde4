//! The HTTP surface: one module per endpoint family. The login, consent and logout pages and
//! the avatars are shared; each dialect mounts its protocol endpoints (`Rules::routes`).

pub mod authorize;
pub mod avatar;
pub mod discovery;
mod forms;
pub mod github;
pub mod intra42;
mod logout;
pub mod token;
pub mod userinfo;

use std::sync::Arc;

use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;

use crate::state::AppState;

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/authorize/login", post(forms::login))
        .route("/authorize/consent", post(forms::consent))
        .route("/avatars/{file}", get(avatar::avatar))
        .route("/logout", get(logout::page).post(logout::log_out))
        .merge(state.rules.routes())
        .fallback(|| async { (StatusCode::NOT_FOUND, "not found\n") })
        .with_state(state)
}
