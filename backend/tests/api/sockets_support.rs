//! What the WebSocket tests share: a browser's socket through the gateway (its `Origin` and its
//! session cookie), an echo that must come back, a close that must come within a bound, and
//! the app behind with its echo socket.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::{
    tungstenite::{client::IntoClientRequest, Message},
    MaybeTlsStream, WebSocketStream,
};

use crate::helpers::*;

pub type Socket = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

/// Rule 19's bound: a socket closes within this long of its session's end.
pub const WITHIN: Duration = Duration::from_secs(5);

/// A WebSocket to `path` on `app`, as the browser whose session cookie is `cookie` opens it.
pub async fn open_socket(app: &TestApp, path: &str, cookie: &str) -> Socket {
    let mut request = format!("ws://{}{path}", app.addr)
        .into_client_request()
        .unwrap();
    let headers = request.headers_mut();
    headers.insert("origin", ORIGIN.parse().unwrap());
    headers.insert(
        "cookie",
        format!("portero_session={cookie}").parse().unwrap(),
    );
    let (socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .unwrap_or_else(|e| panic!("the handshake to {path} passes: {e}"));
    socket
}

/// `socket` is open: what it sends comes back.
pub async fn assert_echoes(socket: &mut Socket, what: &str) {
    socket.send(Message::text(what)).await.unwrap_or_else(|e| {
        panic!("{what}: the socket takes a message: {e}");
    });
    let echo = tokio::time::timeout(Duration::from_secs(5), socket.next())
        .await
        .unwrap_or_else(|_| panic!("{what}: no echo within 5 s"));
    match echo {
        Some(Ok(message)) => assert_eq!(message, Message::text(what), "{what}"),
        other => panic!("{what}: the socket was closed ({other:?})"),
    }
}

/// `socket` is closed by Portero within `within` with a close frame of `code`; how long it took.
pub async fn assert_closed(
    socket: &mut Socket,
    code: u16,
    within: Duration,
    what: &str,
) -> Duration {
    let started = Instant::now();
    let frame = tokio::time::timeout(within, async {
        loop {
            match socket.next().await {
                Some(Ok(Message::Close(frame))) => return frame,
                // An echo still on its way, or the app's own ping.
                Some(Ok(_)) => continue,
                other => panic!("{what}: the socket ended without a close frame ({other:?})"),
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{what}: still open after {within:?}"));
    let frame = frame.unwrap_or_else(|| panic!("{what}: a close frame without a code"));
    assert_eq!(u16::from(frame.code), code, "{what}: {frame:?}");
    started.elapsed()
}
