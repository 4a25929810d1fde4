//! Rule 20: no path climbs out of an upstream's base. The paths are sent raw, as an attacker's
//! client sends them (an HTTP library would tidy `..` away first): every spelling of a dot
//! segment is 400 `bad_path`, and the app hears nothing — logged in or not, with any method,
//! and for a WebSocket handshake too.

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::{helpers::*, sessions_support::*, upstream::Upstream};

/// The ways to climb the issue measured (raw, `%2e`, `%2f`, `%5c`, any case, double-encoded)
/// and more.
const CLIMBING: [&str; 16] = [
    "/api/pub/../priv/notes",
    "/api/pub/./../priv",
    "/api/pub/%2e%2e/priv",
    "/api/pub/%2E%2E/priv",
    "/api/pub/.%2e/priv",
    "/api/pub/%2e./priv",
    "/api/pub/x%2f..%2fpriv",
    "/api/pub/x%2F..%2F..%2Fpriv",
    "/api/pub/..%5cpriv",
    "/api/pub/..%5Cpriv",
    "/api/pub/%252e%252e/priv",
    "/api/pub/%252E%252E%252Fpriv",
    "/api/pub/..%252fpriv",
    "/api/pub/..;/priv",
    "/api/pub/%2e%2e;x=1/priv",
    "/api/pub/notes/..",
];

/// `request` (a request line and headers, without the final blank line) sent raw to `app`:
/// the answer's status and body.
async fn raw(app: &TestApp, request: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    let request = format!(
        "{request}\r\nHost: 127.0.0.1\r\nx-csrf: 1\r\nOrigin: {ORIGIN}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not HTTP: {answer}"));
    let body = answer
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    (status, body)
}

#[tokio::test]
async fn every_spelling_of_a_dot_segment_is_400_bad_path_and_never_reaches_the_app() {
    let provider = start_devprovider().await;
    let upstream = Upstream::start().await;
    let config = format!(
        "{}
        [upstreams.pub]
        prefix = \"/api/pub\"
        url = \"{url}\"
        login = \"optional\"

        [upstreams.priv]
        prefix = \"/api/priv\"
        url = \"{url}\"
        ",
        config_toml(&provider.issuer()),
        url = upstream.url()
    );
    let app = spawn_app_with(&config).await;
    let browser = app.browser();
    log_in(&browser, "ada").await;
    let cookie = browser.cookie_header();
    for path in CLIMBING {
        for (method, extra) in [
            ("GET", String::new()),
            ("DELETE", format!("\r\nCookie: {cookie}")),
            (
                "GET",
                format!(
                    "\r\nCookie: {cookie}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
                     Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="
                ),
            ),
        ] {
            let (status, body) = raw(&app, &format!("{method} {path} HTTP/1.1{extra}")).await;
            assert_eq!(status, 400, "{method} {path}: {body}");
            let error: shared::ApiError = serde_json::from_str(&body)
                .unwrap_or_else(|e| panic!("{method} {path}: {e}: {body}"));
            assert_eq!(error.error, "bad_path", "{method} {path}");
        }
    }
    assert!(
        upstream.received().is_empty(),
        "the app heard: {:?}",
        upstream.received()
    );
    // A raw backslash is no way around it either: refused, and not forwarded.
    let (status, _) = raw(&app, "GET /api/pub/..\\priv HTTP/1.1").await;
    assert_eq!(status, 400);
    // Paths that only look alike still pass.
    for path in [
        "/api/pub/v1.2/a..b",
        "/api/pub/...",
        "/api/pub/group%2Fproject",
    ] {
        let (status, body) = raw(&app, &format!("GET {path} HTTP/1.1")).await;
        assert_eq!(status, 200, "{path}: {body}");
    }
    assert_eq!(upstream.received().len(), 3);
    assert!(upstream
        .received()
        .iter()
        .all(|r| !r.target.contains("priv")));
}
