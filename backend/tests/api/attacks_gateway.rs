//! What a client may try through the gateway with the bytes of a request, not a browser's
//! fetch (rules 16, 17): a `Host` of its choosing, an HTTP/2 cleartext (`h2c`) upgrade to smuggle
//! requests past Portero, and WebSocket handshakes without `Origin` (which a page on another
//! site could make a browser send, were it not refused) in numbers beyond the connection cap.

use std::time::Duration;

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::{helpers::*, upstream::Upstream};

/// The backend with an app behind `/api/app` that anyone may reach (`login = "optional"`), and
/// `server` lines added to `[server]`.
async fn open_gateway(server: &str) -> (TestApp, Upstream) {
    let upstream = Upstream::start().await;
    let config = upstream.open_config().replace(
        "provider_calls_burst = 1000",
        &format!("provider_calls_burst = 1000\n        {server}"),
    );
    (spawn_app_with(&config).await, upstream)
}

/// Sends `head` (a request without a body) on a connection of its own; the answer's status
/// line and headers, lowercased. The connection closes after.
async fn send(app: &TestApp, head: &str) -> String {
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
        let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
            .await
            .expect("an answer within 5 s")
            .unwrap();
        if read == 0 {
            break;
        }
        answer.extend_from_slice(&buf[..read]);
    }
    String::from_utf8_lossy(&answer).to_lowercase()
}

#[tokio::test]
async fn the_app_gets_its_own_host_never_the_one_the_client_sent() {
    let (app, upstream) = open_gateway("").await;
    let answer = send(
        &app,
        "GET /api/app/where HTTP/1.1\r\nHost: evil.example\r\nx-csrf: 1\r\n\
         X-Forwarded-Host: evil.example\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(answer.starts_with("http/1.1 200"), "{answer}");
    let received = upstream.received().pop().expect("the app was called");
    assert_eq!(received.header("host"), upstream.addr.to_string());
    assert_eq!(
        received.header("x-forwarded-host"),
        "127.0.0.1:8080",
        "the public origin's host, as the person used it"
    );
}

#[tokio::test]
async fn an_h2c_upgrade_is_not_passed_on_and_the_answer_stays_http_1_1() {
    let (app, upstream) = open_gateway("").await;
    let answer = send(
        &app,
        "GET /api/app/h2c HTTP/1.1\r\nHost: 127.0.0.1\r\nx-csrf: 1\r\n\
         Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n\
         HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n",
    )
    .await;
    assert!(answer.starts_with("http/1.1 200"), "no switch: {answer}");
    assert!(!answer.contains("upgrade:"), "{answer}");
    let received = upstream.received().pop().expect("the app was called");
    for name in ["upgrade", "http2-settings", "connection"] {
        assert!(
            !received.headers.contains_key(name),
            "{name} reached the app: {:?}",
            received.headers
        );
    }
}

/// A handshake without `Origin` is refused before the app (rule 17), however many come: none
/// becomes a spliced socket, which would hold a connection to the app outside the cap of
/// `max_connections` (rule 16). With the public origin, one goes through.
#[tokio::test]
async fn websockets_without_origin_are_refused_before_the_app_however_many_beyond_the_cap() {
    let (app, upstream) = open_gateway("max_connections = 3").await;
    let handshake = |origin: &str| {
        format!(
            "GET /api/app/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\n\
             Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n{origin}\r\n"
        )
    };
    for _ in 0..12 {
        let answer = send(&app, &handshake("")).await;
        assert!(answer.starts_with("http/1.1 403"), "{answer}");
    }
    assert!(
        upstream.received().is_empty(),
        "a handshake without Origin reached the app"
    );
    let accepted = send(&app, &handshake(&format!("Origin: {ORIGIN}\r\n"))).await;
    assert!(accepted.starts_with("http/1.1 101"), "{accepted}");
    assert_eq!(upstream.received().len(), 1);
    let reply = reqwest::get(app.url("/healthz")).await.unwrap();
    assert_eq!(reply.status(), 200, "places are free again");
}
