//! The login and consent forms every dialect's authorize endpoint leads to.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::html::{self, escape};
use crate::oauth::Params;
use crate::state::AppState;

/// `POST /authorize/login` (request, user): the user picked a demo account.
pub async fn login(State(state): State<Arc<AppState>>, body: Bytes) -> Response {
    let Ok(form) = Params::parse(&body) else {
        return html::error_page("The sign-in form was sent with a repeated field.");
    };
    let (Some(request_id), Some(login)) = (form.get("request"), form.get("user")) else {
        return html::error_page("The sign-in form needs both `request` and `user`.");
    };
    match state.select_user(request_id, login) {
        Ok((pending, user)) => {
            let mut items = vec![format!("sign you in as {}", escape(&user.name))];
            items.extend(state.rules.consent_items(&state, &user, &pending.scope));
            html::consent_page(
                state.rules.page_note(),
                &pending.client_id,
                request_id,
                &items,
            )
        }
        Err(message) => html::error_page(message),
    }
}

/// `POST /authorize/consent` (request, decision): answers the client, once.
pub async fn consent(State(state): State<Arc<AppState>>, body: Bytes) -> Response {
    let Ok(form) = Params::parse(&body) else {
        return html::error_page("The consent form was sent with a repeated field.");
    };
    let Some(request_id) = form.get("request") else {
        return html::error_page("The consent form needs `request`.");
    };
    let allow = match form.get("decision") {
        Some("allow") => true,
        Some("deny") => false,
        _ => return html::error_page("The consent form needs decision=allow or decision=deny."),
    };
    match state.finish_authorization(request_id, allow) {
        // 303 so the browser follows with a GET, not a re-POST of the form.
        Ok(url) => (
            StatusCode::SEE_OTHER,
            [
                (header::LOCATION, url.to_string()),
                (header::CACHE_CONTROL, "no-store".to_owned()),
            ],
        )
            .into_response(),
        Err(message) => html::error_page(message),
    }
}
