//! The pages every dialect shares: the login and consent forms its authorize endpoint leads to,
//! the provider's own logout page, and the avatars. [`router`] mounts them, and the admin API
//! (`admin.rs`), beside the dialect's protocol endpoints (`Rules::routes`).

pub mod avatar;
mod forms;
mod logout;

use std::sync::Arc;

use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;

use crate::admin;
use crate::state::AppState;

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/authorize/login", post(forms::login))
        .route("/authorize/consent", post(forms::consent))
        .route("/avatars/{file}", get(avatar::avatar))
        .route("/logout", get(logout::page).post(logout::log_out))
        .route(
            "/admin/users/{login}",
            get(admin::show).patch(admin::change),
        )
        .merge(state.rules.routes())
        .fallback(|| async { (StatusCode::NOT_FOUND, "not found\n") })
        .with_state(state)
}
