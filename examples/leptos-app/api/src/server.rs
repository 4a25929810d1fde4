//! The server: the open games in memory, each host named by Portero.

use std::sync::{Arc, Mutex};

use axum::{
    extract::State,
    http::{HeaderMap, StatusCode},
    routing::get,
    Json, Router,
};

use crate::{Game, NewGame};

type Games = Arc<Mutex<Vec<Game>>>;

/// The routes, relative to the upstream's `url` in Portero's configuration.
pub fn router() -> Router {
    Router::new()
        .route("/games", get(list).post(open))
        .with_state(Games::default())
}

async fn list(State(games): State<Games>) -> Json<Vec<Game>> {
    Json(games.lock().map(|games| games.clone()).unwrap_or_default())
}

/// Who is calling: Portero sets `X-Portero-Login` (percent-encoded) on every request it
/// forwards, and never passes on a client's own (docs/design.md, rule 17). Behind a network you
/// do not control, verify the signed `X-Portero-Assertion` too (docs/integrate.md).
fn player(headers: &HeaderMap) -> Option<String> {
    let login = headers.get("x-portero-login")?.to_str().ok()?;
    let login = percent_encoding::percent_decode_str(login).decode_utf8_lossy();
    Some(login.into_owned())
}

/// An error in the shape Portero's own errors have, `{"error", "message"}`, which
/// `portero_leptos::api::ApiFailure` reads.
#[derive(serde::Serialize)]
struct Error {
    error: &'static str,
    message: &'static str,
}

type Refusal = (StatusCode, Json<Error>);

fn refuse(status: StatusCode, error: &'static str, message: &'static str) -> Refusal {
    (status, Json(Error { error, message }))
}

async fn open(
    State(games): State<Games>,
    headers: HeaderMap,
    Json(new): Json<NewGame>,
) -> Result<(StatusCode, Json<Game>), Refusal> {
    let host = player(&headers).ok_or_else(|| {
        refuse(
            StatusCode::UNAUTHORIZED,
            "not_logged_in",
            "Log in to open a game.",
        )
    })?;
    let title = new.title.trim();
    if title.is_empty() || title.chars().count() > 60 {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "bad_title",
            "A game's title has 1 to 60 characters.",
        ));
    }
    let mut games = games
        .lock()
        .map_err(|_| refuse(StatusCode::INTERNAL_SERVER_ERROR, "internal", "Try again."))?;
    let game = Game {
        id: games.len() as u32 + 1,
        title: title.to_owned(),
        host,
    };
    games.push(game.clone());
    Ok((StatusCode::CREATED, Json(game)))
}
