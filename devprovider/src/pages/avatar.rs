//! Generated avatars, so `picture` points somewhere real without any third-party service.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::html::escape;
use crate::state::AppState;

const COLOURS: [&str; 6] = [
    "#0969da", "#8250df", "#bf3989", "#1a7f37", "#bc4c00", "#0a7f8f",
];

/// Where the avatar of `login` is served, under the base URL `base`.
pub fn url(base: &str, login: &str) -> String {
    format!("{base}/avatars/{login}.svg")
}

/// `GET /avatars/{login}.svg`: the initials of a user (or of another account the dialect
/// knows) on a coloured circle.
pub async fn avatar(State(state): State<Arc<AppState>>, Path(file): Path<String>) -> Response {
    let login = file.strip_suffix(".svg").unwrap_or_default();
    let name = match state.user(login) {
        Some(user) => user.name.clone(),
        None => match state.rules.avatar_owner(&state, login) {
            Some(name) => name,
            None => return not_found(),
        },
    };
    let initials: String = name
        .split_whitespace()
        .filter_map(|word| word.chars().next())
        .take(2)
        .flat_map(char::to_uppercase)
        .collect();
    // A stable colour per login, so each user is recognisable at a glance.
    let colour = COLOURS[login.bytes().map(usize::from).sum::<usize>() % COLOURS.len()];
    let svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"96\" height=\"96\" viewBox=\"0 0 96 96\" \
         role=\"img\" aria-label=\"{name}\"><circle cx=\"48\" cy=\"48\" r=\"48\" fill=\"{colour}\"/>\
         <text x=\"48\" y=\"48\" dy=\".35em\" text-anchor=\"middle\" font-family=\"sans-serif\" \
         font-size=\"38\" fill=\"#fff\">{initials}</text></svg>\n",
        name = escape(&name),
        initials = escape(&initials),
    );
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
            // An SVG opened directly is a document: make sure it can never run anything.
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'",
            ),
        ],
        svg,
    )
        .into_response()
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "no such avatar\n").into_response()
}
