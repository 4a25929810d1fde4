//! The Pong lobby's own API, which Portero's gateway forwards `/api/lobby/...` to (an
//! `[upstreams.lobby]` in Portero's configuration): `GET /games` lists the open games, `POST
//! /games` opens one, hosted by whoever is signed in.
//!
//! The bodies are here, without the server (`default-features = false`), so the app reads and
//! writes the same types the server does.

use serde::{Deserialize, Serialize};

/// An open game (`GET /games`, and the answer of `POST /games`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Game {
    pub id: u32,
    pub title: String,
    /// The login of the player who opened it, as Portero told the server.
    pub host: String,
}

/// `POST /games`: a game to open.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct NewGame {
    pub title: String,
}

#[cfg(feature = "server")]
mod server;

#[cfg(feature = "server")]
pub use server::router;
