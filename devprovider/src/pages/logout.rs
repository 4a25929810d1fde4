//! The provider's own "Log out": `GET /logout` lists the demo users signed in here, each with a
//! button; `POST /logout` (user) ends that user's provider sessions, which in the standard
//! dialect tells each client by back-channel logout.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;

use crate::html;
use crate::oauth::Params;
use crate::state::AppState;

/// `GET /logout`.
pub async fn page(State(state): State<Arc<AppState>>) -> Response {
    signed_in_page(&state, None)
}

/// `POST /logout` (user): logs the user out everywhere at the provider.
pub async fn log_out(State(state): State<Arc<AppState>>, body: Bytes) -> Response {
    let Ok(form) = Params::parse(&body) else {
        return html::error_page("The logout form was sent with a repeated field.");
    };
    let Some(user) = form.get("user").and_then(|login| state.user(login)) else {
        return html::error_page("The logout form needs the `user` of a demo user.");
    };
    let login = user.login.clone();
    let done = state.log_out(&login).await;
    let told: Vec<String> = done
        .notified
        .iter()
        .map(|status| status.map_or("no answer".to_owned(), |s| format!("HTTP {s}")))
        .collect();
    let message = match (done.sessions, told.is_empty()) {
        (0, _) => format!("{login} had no session here."),
        (n, true) => format!("{login} is logged out ({n} session(s) ended)."),
        (n, false) => format!(
            "{login} is logged out ({n} session(s) ended); clients told: {}.",
            told.join(", ")
        ),
    };
    signed_in_page(&state, Some(&message))
}

fn signed_in_page(state: &AppState, done: Option<&str>) -> Response {
    let live = state.live_sessions();
    let signed_in: Vec<_> = live
        .iter()
        .filter_map(|live| {
            let user = state.user(&live.login)?;
            let clients: Vec<&str> = live.clients.iter().map(String::as_str).collect();
            let detail = match clients.as_slice() {
                [] => format!("{} session(s)", live.sessions),
                _ => format!("{} session(s), with {}", live.sessions, clients.join(", ")),
            };
            Some((user, detail))
        })
        .collect();
    html::logout_page(state.rules.page_note(), &signed_in, done)
}
