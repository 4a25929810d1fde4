//! WebSockets through the gateway (rule 17): the handshake goes to the app like any request
//! (the `Origin` checked instead of `x-csrf`, which a browser's WebSocket cannot send); once the
//! app answers 101, the two upgraded connections are joined byte for byte until either closes.

use axum::http::{header, HeaderMap};
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;

/// A WebSocket opening handshake (RFC 6455 §4.1): `Upgrade: websocket` with `Connection` naming
/// `upgrade`.
pub fn is_upgrade(headers: &HeaderMap) -> bool {
    let upgrade = headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    let connection = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|token| token.trim().eq_ignore_ascii_case("upgrade"));
    upgrade && connection
}

/// Joins the browser's upgraded connection and the app's, in a task of their own.
pub fn splice(upstream: String, client: OnUpgrade, app: OnUpgrade) {
    tokio::spawn(async move {
        let (client, app) = match tokio::try_join!(client, app) {
            Ok(both) => both,
            Err(e) => {
                tracing::info!(%upstream, error = %e, "WebSocket upgrade did not complete");
                return;
            }
        };
        let (mut client, mut app) = (TokioIo::new(client), TokioIo::new(app));
        if let Err(e) = tokio::io::copy_bidirectional(&mut client, &mut app).await {
            tracing::debug!(%upstream, error = %e, "WebSocket closed");
        }
    });
}
