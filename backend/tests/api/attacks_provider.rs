//! Rule 9: a provider that hangs, floods, redirects or talks nonsense costs a 502 with a clear
//! message within `server.provider_timeout_secs` (2 s in `config_toml`) — never a panic, a hang
//! or a request somewhere the configuration did not name. id_token forgeries are id_token.rs.

use std::time::{Duration, Instant};

use serde_json::json;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    task::JoinHandle,
};
use wiremock::{
    matchers::{method, path},
    Mock, MockServer, ResponseTemplate,
};

use crate::{
    fake_oidc::{fake_callback_body, FakeOidc},
    helpers::*,
};

/// A login attempt against `provider`, and the `/api/session` call that makes the backend
/// call the token endpoint: its reply and how long it took.
async fn finish_login(provider: &FakeOidc) -> (TestApp, Reply, Duration) {
    finish_login_with(&config_toml(&provider.issuer())).await
}

async fn finish_login_with(config: &str) -> (TestApp, Reply, Duration) {
    let app = spawn_app_with(config).await;
    let browser = app.browser();
    let login = browser.start_login(PROVIDER, None).await;
    let body = fake_callback_body(&login);
    let started = Instant::now();
    let reply = browser.post_session(body).await;
    let took = started.elapsed();
    (app, reply, took)
}

async fn token_endpoint(provider: &FakeOidc, answer: ResponseTemplate) {
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(answer)
        .mount(&provider.server)
        .await;
}

/// The backend still answers after the provider misbehaved (no panic took it down).
async fn still_serving(app: &TestApp) {
    let health = reqwest::get(app.url("/healthz")).await.unwrap();
    assert_eq!(health.status(), 200);
}

fn message(reply: &Reply) -> String {
    reply.json::<shared::ApiError>().message
}

/// A 502 `provider_error` whose message says `words`.
fn assert_502_saying(reply: &Reply, words: &str) {
    reply.assert_error(502, "provider_error");
    assert!(
        message(reply).contains(words),
        "the message says {words:?}: {}",
        reply.body
    );
}

#[tokio::test]
async fn a_token_endpoint_that_hangs_is_a_502_once_the_timeout_has_passed() {
    let provider = FakeOidc::start().await;
    token_endpoint(
        &provider,
        ResponseTemplate::new(200)
            .set_body_json(json!({ "access_token": "a", "token_type": "Bearer" }))
            .set_delay(Duration::from_secs(30)),
    )
    .await;
    let (app, reply, took) = finish_login(&provider).await;
    assert_502_saying(&reply, "within 2s");
    assert!(
        took >= Duration::from_millis(1900) && took < Duration::from_secs(5),
        "answered after {took:?}, not within about the 2 s timeout"
    );
    still_serving(&app).await;
}

#[tokio::test]
async fn an_oversized_token_reply_is_a_502_and_is_not_read_to_the_end() {
    let provider = FakeOidc::start().await;
    // MAX_REPLY_BYTES (1 MiB) and one byte more.
    let huge = format!(
        "{{\"access_token\":\"{}\",\"token_type\":\"Bearer\"}}",
        "a".repeat(portero::http_client::MAX_REPLY_BYTES)
    );
    token_endpoint(
        &provider,
        ResponseTemplate::new(200).set_body_raw(huge, "application/json"),
    )
    .await;
    let (app, reply, _) = finish_login(&provider).await;
    assert_502_saying(&reply, "larger than");
    still_serving(&app).await;
}

/// How much the endless endpoint below sends at most, so that a reader without a limit sees
/// an end: 16 times the limit.
const ENDLESS_BYTES: usize = 16 * portero::http_client::MAX_REPLY_BYTES;

/// A token endpoint that wiremock cannot play: 200 with a body in `Transfer-Encoding: chunked`
/// and no Content-Length, 64 KiB chunks of one JSON string, until the reader hangs up (or
/// ENDLESS_BYTES). Its URL, and a task that ends with how much it sent before the hang-up, or
/// None when the reader took it all.
async fn endless_chunked_token_endpoint() -> (String, JoinHandle<Option<usize>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/token", listener.local_addr().unwrap());
    let endpoint = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        read_request(&mut socket).await;
        let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                    transfer-encoding: chunked\r\n\r\n";
        let filler = vec![b'a'; 64 * 1024];
        let chunks = std::iter::once(&b"{\"access_token\":\""[..])
            .chain(std::iter::repeat_n(
                &filler[..],
                ENDLESS_BYTES / filler.len(),
            ))
            .chain([&b"\",\"token_type\":\"Bearer\"}"[..], b""]);
        let mut sent = 0;
        socket.write_all(head.as_bytes()).await.ok()?;
        for chunk in chunks {
            let frame = [format!("{:x}\r\n", chunk.len()).as_bytes(), chunk, b"\r\n"].concat();
            if socket.write_all(&frame).await.is_err() {
                return Some(sent);
            }
            sent += chunk.len();
        }
        None
    });
    (url, endpoint)
}

/// Reads one HTTP/1.1 request: the head, then Content-Length bytes of body.
async fn read_request(socket: &mut TcpStream) {
    let mut request = Vec::new();
    let mut buf = [0; 4096];
    while let Ok(n @ 1..) = socket.read(&mut buf).await {
        request.extend_from_slice(&buf[..n]);
        let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&request[..end]).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        if request.len() >= end + 4 + length {
            return;
        }
    }
}

#[tokio::test]
async fn a_chunked_token_reply_without_content_length_is_cut_off_at_the_limit_and_is_a_502() {
    // The test above is refused on its Content-Length alone; this reply announces no length,
    // so only counting the bytes as they stream in can stop it.
    let provider = FakeOidc::start().await;
    let (token_url, endpoint) = endless_chunked_token_endpoint().await;
    let config = format!(
        "{}token_url = \"{token_url}\"\n",
        config_toml(&provider.issuer())
    );
    let (app, reply, took) = finish_login_with(&config).await;
    assert_502_saying(&reply, "larger than");
    assert!(
        took < Duration::from_secs(2),
        "answered after {took:?}: the limit, not the 2 s timeout, must end the call"
    );
    let sent = tokio::time::timeout(Duration::from_secs(5), endpoint)
        .await
        .expect("the backend hung up on the endpoint")
        .unwrap();
    assert!(
        sent.is_some_and(|sent| sent < ENDLESS_BYTES),
        "the reply was read to its end"
    );
    still_serving(&app).await;
}

#[tokio::test]
async fn a_token_endpoint_that_redirects_is_a_502_and_the_target_is_never_requested() {
    let provider = FakeOidc::start().await;
    // Where a hostile or compromised provider would bounce the backend (SSRF): an internal
    // service, played by a second mock server that records every request.
    let internal = MockServer::start().await;
    let target = format!("{}/admin/secrets", internal.uri());
    token_endpoint(
        &provider,
        ResponseTemplate::new(302).insert_header("location", target.as_str()),
    )
    .await;
    let (app, reply, _) = finish_login(&provider).await;
    let reached = internal.received_requests().await.unwrap();
    assert!(reached.is_empty(), "the redirect was followed: {reached:?}");
    assert_502_saying(&reply, "redirect");
    still_serving(&app).await;
}

#[tokio::test]
async fn a_token_reply_that_is_not_json_is_a_502() {
    for (body, content_type) in [
        (
            "{\"access_token\": \"a\", \"token_type\":",
            "application/json",
        ),
        ("<html><body>Service unavailable</body></html>", "text/html"),
        ("", "application/json"),
        ("\u{0}\u{1}\u{2}\u{ff}", "application/json"),
    ] {
        let provider = FakeOidc::start().await;
        token_endpoint(
            &provider,
            ResponseTemplate::new(200).set_body_raw(body, content_type),
        )
        .await;
        let (app, reply, _) = finish_login(&provider).await;
        reply.assert_error(502, "provider_error");
        let text = message(&reply);
        assert!(
            ["JSON", "json", "empty"].iter().any(|w| text.contains(w)),
            "{body:?} → says the reply was not JSON: {}",
            reply.body
        );
        still_serving(&app).await;
    }
}

#[tokio::test]
async fn a_userinfo_endpoint_that_hangs_is_a_502_too() {
    // The second call of a login: the same limits hold for every call to a provider.
    let provider = FakeOidc::start().await;
    let app = provider.spawn_app().await;
    let browser = app.browser();
    let login = browser.start_login(PROVIDER, None).await;
    let id_token = crate::fake_oidc::sign(
        crate::fake_oidc::key(),
        &provider.claims(&login.params["nonce"]),
    );
    provider
        .token_endpoint_answers(
            200,
            json!({ "access_token": "a", "token_type": "Bearer", "id_token": id_token }),
        )
        .await;
    Mock::given(method("GET"))
        .and(path("/userinfo"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "sub": "user-1" }))
                .set_delay(Duration::from_secs(30)),
        )
        .mount(&provider.server)
        .await;
    let started = Instant::now();
    let reply = browser.post_session(fake_callback_body(&login)).await;
    reply.assert_error(502, "provider_error");
    assert!(started.elapsed() < Duration::from_secs(5));
    browser
        .get("/api/me")
        .await
        .assert_error(401, "not_logged_in");
}
