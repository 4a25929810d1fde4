//! The gateway (docs/design.md, "Your app behind Portero"; rule 17) with an app that records what it
//! receives: who is calling, and nothing a browser could forge; bodies and streams intact both
//! ways; the failures of the app as the API's errors; WebSockets.

use std::time::Duration;

use portero::assertion::AssertionVerifier;
use reqwest::Method;
use serde_json::Value;

use crate::{helpers::*, sessions_support::*, upstream::Upstream};

/// The test config with `[upstreams.app]` (login required) and `[upstreams.tokens]`
/// (`access_token = true`) in front of `upstream`, and `extra` lines in `[upstreams.app]`.
fn gateway_config(issuer: &str, upstream: &str, extra: &str) -> String {
    format!(
        "{}\n        [upstreams.app]\n        prefix = \"/api/app\"\n        url = \"{upstream}\"\n        \
         {extra}\n        [upstreams.tokens]\n        prefix = \"/api/tokens\"\n        \
         url = \"{upstream}\"\n        access_token = true\n",
        config_toml(issuer)
    )
}

async fn logged_in_gateway(extra: &str) -> (TestApp, Upstream, Browser, devprovider::DevProvider) {
    let provider = start_devprovider().await;
    let upstream = Upstream::start().await;
    let app = spawn_app_with(&gateway_config(&provider.issuer(), &upstream.url(), extra)).await;
    let browser = app.browser();
    log_in(&browser, "ada").await;
    (app, upstream, browser, provider)
}

#[tokio::test]
async fn the_app_gets_the_path_query_method_and_body_and_the_browser_gets_the_answer() {
    let (_app, upstream, browser, _p) = logged_in_gateway("").await;
    let body: String = "x".repeat(150 * 1024);
    let reply = browser
        .request(
            Method::PUT,
            "/api/app/notes/42?sort=new&q=caf%C3%A9",
            Some(Value::String(body.clone())),
            &[("x-csrf", "1"), ("origin", ORIGIN)],
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.headers["x-app"], "echo");
    assert_eq!(reply.body, format!("\"{body}\""), "150 KB back intact");
    let received = &upstream.received()[0];
    assert_eq!(received.method, Method::PUT);
    assert_eq!(received.target, "/app/notes/42?sort=new&q=caf%C3%A9");
    assert_eq!(received.body.len(), body.len() + 2, "150 KB there intact");
    assert!(
        !reply.headers.contains_key("keep-alive"),
        "hop-by-hop headers stay on their hop"
    );
}

#[tokio::test]
async fn the_app_learns_who_is_calling_and_nothing_the_browser_made_up() {
    let (app, upstream, browser, _p) = logged_in_gateway("").await;
    let cookie = browser.cookie_header();
    let reply = browser
        .request(
            Method::GET,
            "/api/app/whoami",
            None,
            &[
                ("x-csrf", "1"),
                ("origin", ORIGIN),
                ("x-portero-subject", "someone-else"),
                ("x-portero-admin", "yes"),
                ("authorization", "Bearer forged"),
                ("x-forwarded-for", "203.0.113.9"),
                ("forwarded", "for=203.0.113.9"),
                // A login under way in this browser too: its binding is Portero's as well.
                (
                    "cookie",
                    &format!("{cookie}; app_pref=light; portero_login={}", "b".repeat(43)),
                ),
            ],
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let headers = &upstream.received()[0].headers;
    let header = |name: &str| headers.get(name).map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(header("x-portero-provider").as_deref(), Some(PROVIDER));
    assert_eq!(header("x-portero-subject").as_deref(), Some("user-ada"));
    assert_eq!(header("x-portero-login").as_deref(), Some("ada"));
    assert_eq!(header("x-portero-name").as_deref(), Some("Ada%20Lovelace"));
    assert_eq!(
        header("x-portero-admin"),
        None,
        "every X-Portero-* is Portero's"
    );
    assert_eq!(
        header("authorization"),
        None,
        "the client's credentials stay out"
    );
    assert_eq!(header("forwarded"), None);
    assert_eq!(header("x-forwarded-for").as_deref(), Some("127.0.0.1"));
    assert_eq!(header("x-forwarded-proto").as_deref(), Some("http"));
    assert_eq!(
        header("x-forwarded-host").as_deref(),
        Some("127.0.0.1:8080")
    );
    let cookies = header("cookie").unwrap_or_default();
    assert_eq!(
        cookies, "app_pref=light",
        "Portero's cookies stay with Portero"
    );
    // The app's own cookie reaches the browser; those of Portero's names do not.
    let set: Vec<_> = reply
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert!(set.iter().any(|c| c.starts_with("app_pref=")), "{set:?}");
    assert!(
        !set.iter().any(|c| c.starts_with("portero_session=planted")),
        "{set:?}"
    );
    assert!(
        !set.iter().any(|c| c.starts_with("portero_login=planted")),
        "{set:?}"
    );
    assert_eq!(
        browser.get("/api/me").await.status,
        200,
        "the session is untouched"
    );
    let _ = app;
}

#[tokio::test]
async fn the_assertion_verifies_with_the_published_keys_for_its_upstream_only() {
    let (app, upstream, browser, _p) = logged_in_gateway("").await;
    assert_eq!(browser.get("/api/app/x").await.status, 200);
    let assertion = upstream.received()[0].header("x-portero-assertion");
    let jwks = app.jwks().await;
    let claims = AssertionVerifier::from_jwks(&jwks, ORIGIN, "app")
        .unwrap()
        .verify(&assertion)
        .expect("verifies");
    assert_eq!(claims.sub, format!("{PROVIDER}:user-ada"));
    assert_eq!(claims.login.as_deref(), Some("ada"));
    assert!(claims.exp - claims.iat <= 60);
    let other = AssertionVerifier::from_jwks(&jwks, ORIGIN, "tokens").unwrap();
    assert!(
        other.verify(&assertion).is_err(),
        "not for another upstream"
    );
}

#[tokio::test]
async fn after_a_key_rotation_assertions_signed_before_still_verify() {
    let provider = start_devprovider().await;
    let upstream = Upstream::start().await;
    let (old, new) = (
        "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
        "ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=",
    );
    let config = |assertion: &str| {
        format!(
            "{}\n        [assertion]\n        {assertion}\n",
            gateway_config(&provider.issuer(), &upstream.url(), "")
        )
    };
    let before = spawn_app_with(&config(&format!("key = \"{old}\""))).await;
    let browser = before.browser();
    log_in(&browser, "ada").await;
    assert_eq!(browser.get("/api/app/x").await.status, 200);
    let signed_before = upstream.received()[0].header("x-portero-assertion");
    let after = spawn_app_with(&config(&format!(
        "key = \"{new}\"\n        previous_keys = [\"{old}\"]"
    )))
    .await;
    let jwks = after.jwks().await;
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 2, "{jwks}");
    let verifier = AssertionVerifier::from_jwks(&jwks, ORIGIN, "app").unwrap();
    verifier
        .verify(&signed_before)
        .expect("the old key's assertion still verifies");
    let browser = after.browser();
    log_in(&browser, "ada").await;
    assert_eq!(browser.get("/api/app/y").await.status, 200);
    let signed_after = upstream.received()[1].header("x-portero-assertion");
    verifier.verify(&signed_after).expect("the new key's too");
    assert_ne!(
        signed_before.split('.').next(),
        signed_after.split('.').next(),
        "another kid"
    );
}

#[tokio::test]
async fn the_access_token_goes_only_to_upstreams_that_ask_for_it() {
    let (_app, upstream, browser, _p) = logged_in_gateway("").await;
    assert_eq!(browser.get("/api/app/a").await.status, 200);
    assert_eq!(browser.get("/api/tokens/b").await.status, 200);
    let received = upstream.received();
    assert!(!received[0].headers.contains_key("authorization"));
    let bearer = received[1].headers["authorization"].to_str().unwrap();
    assert!(
        bearer.starts_with("Bearer ") && bearer.len() > 20,
        "{bearer}"
    );
}

#[tokio::test]
async fn without_a_session_a_required_upstream_is_401_and_hears_nothing_and_an_optional_one_gets_no_identity(
) {
    let provider = start_devprovider().await;
    let upstream = Upstream::start().await;
    let config = format!(
        "{}\n        [upstreams.open]\n        prefix = \"/api/open\"\n        url = \"{}\"\n        login = \"optional\"\n",
        gateway_config(&provider.issuer(), &upstream.url(), ""),
        upstream.url()
    );
    let app = spawn_app_with(&config).await;
    let anonymous = app.browser();
    anonymous
        .get("/api/app/x")
        .await
        .assert_error(401, "not_logged_in");
    anonymous
        .get("/api/tokens/x")
        .await
        .assert_error(401, "not_logged_in");
    assert!(upstream.received().is_empty(), "the app heard nothing");
    let reply = anonymous
        .request(
            Method::GET,
            "/api/open/x",
            None,
            &[
                ("x-csrf", "1"),
                ("origin", ORIGIN),
                ("x-portero-subject", "forged"),
            ],
        )
        .await;
    assert_eq!(reply.status, 200);
    let headers = &upstream.received()[0].headers;
    assert!(
        headers
            .keys()
            .all(|k| !k.as_str().starts_with("x-portero-")),
        "{headers:?}"
    );
}

#[tokio::test]
async fn without_the_csrf_header_the_gateway_is_403_like_every_api_route() {
    let (_app, upstream, browser, _p) = logged_in_gateway("").await;
    browser
        .request(Method::POST, "/api/app/x", None, &[("origin", ORIGIN)])
        .await
        .assert_error(403, "csrf_required");
    assert!(upstream.received().is_empty());
}

#[tokio::test]
async fn an_app_that_is_down_is_502_one_too_slow_504_and_a_body_too_large_413() {
    let provider = start_devprovider().await;
    let upstream = Upstream::start().await;
    let down = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let config = format!(
        "{}\n        [upstreams.down]\n        prefix = \"/api/down\"\n        url = \"http://{down}/x\"\n",
        gateway_config(&provider.issuer(), &upstream.url(), "timeout_secs = 1\n        max_body_bytes = 1000")
    );
    let app = spawn_app_with(&config).await;
    let browser = app.browser();
    log_in(&browser, "ada").await;
    browser
        .get("/api/down/x")
        .await
        .assert_error(502, "upstream_unavailable");
    browser
        .get("/api/app/slow")
        .await
        .assert_error(504, "upstream_timeout");
    browser
        .post("/api/app/big", Some(Value::String("y".repeat(2000))))
        .await
        .assert_error(413, "payload_too_large");
    let metrics = app.metrics().await;
    for line in [
        "portero_upstream_requests_total{upstream=\"down\",status=\"502\"} 1",
        "portero_upstream_requests_total{upstream=\"app\",status=\"504\"} 1",
    ] {
        assert!(metrics.contains(line), "{line} in\n{metrics}");
    }
    assert!(
        metrics.contains("portero_upstream_seconds_bucket{"),
        "{metrics}"
    );
}

/// What Portero does before it forwards (the session, its lock, a refresh) has
/// `request_timeout_secs`, as Portero's own routes have for their answer: a refresh stuck at the
/// provider is a 408 `request_timeout`, not a call that hangs, and the app hears nothing. The
/// refresh itself goes on and lands; the session's other calls do not wait for it. Also with a
/// short idle timeout, where the request that gives up holds the session's lock until its own
/// copy of the session is saved: neither that save nor the refresh's undoes the other.
#[tokio::test]
async fn a_stuck_refresh_before_forwarding_is_a_408_not_a_hang_and_still_lands() {
    // 33 s tokens: after 4 s they are inside the 30 s refresh margin.
    let provider = start_devprovider_with_token_ttl(Duration::from_secs(33)).await;
    let upstream = Upstream::start().await;
    for idle in ["", "idle_timeout_secs = 10"] {
        let config = gateway_config(&provider.issuer(), &upstream.url(), "")
            .replace(
                "provider_timeout_secs = 2",
                "provider_timeout_secs = 10\n        request_timeout_secs = 2",
            )
            .replace(
                "store = \"memory\"",
                &format!("store = \"memory\"\n        {idle}"),
            );
        let app = spawn_app_with(&config).await;
        let browser = app.browser();
        log_in(&browser, "ada").await;
        tokio::time::sleep(Duration::from_secs(4)).await;
        provider.set_refresh_delay(Duration::from_secs(6));
        let (before, heard) = (provider.stats().refresh_grants, upstream.received().len());

        let stuck = tokio::time::timeout(Duration::from_secs(5), browser.get("/api/tokens/notes"))
            .await
            .expect("an answer, not a hang");
        stuck.assert_error(408, "request_timeout");
        let received = upstream.received().len();
        assert_eq!(received, heard, "{idle}: the app heard nothing");
        // The same session's calls that need no refresh go on meanwhile.
        let other = tokio::time::timeout(Duration::from_secs(2), browser.get("/api/app/notes"))
            .await
            .expect("an answer at once");
        assert_eq!(other.status, 200, "{idle}: {}", other.body);

        // The refresh finished on its own: its tokens are the session's, not spent again.
        tokio::time::sleep(Duration::from_secs(5)).await;
        provider.set_refresh_delay(Duration::ZERO);
        let later = browser.get("/api/tokens/notes").await;
        assert_eq!(later.status, 200, "{idle}: {}", later.body);
        assert_eq!(provider.stats().refresh_grants - before, 1, "{idle}");
    }
}

#[tokio::test]
async fn a_streamed_answer_reaches_the_browser_chunk_by_chunk() {
    let (app, upstream, browser, _p) = logged_in_gateway("").await;
    let mut response = reqwest::Client::new()
        .get(app.url("/api/app/stream"))
        .header("x-csrf", "1")
        .header("origin", ORIGIN)
        .header("cookie", browser.cookie_header())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let first = tokio::time::timeout(Duration::from_secs(5), response.chunk())
        .await
        .expect("the first chunk arrives before the second is sent")
        .unwrap()
        .unwrap();
    assert_eq!(&first[..], b"first chunk;");
    upstream.recorder.second_chunk.notify_one();
    let second = response.chunk().await.unwrap().unwrap();
    assert_eq!(&second[..], b"second chunk");
}

#[tokio::test]
async fn a_websocket_goes_through_with_the_public_origin_and_is_refused_with_another() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::{client::IntoClientRequest, Message};
    let (app, upstream, browser, _p) = logged_in_gateway("").await;
    let request = |origin: &str| {
        let mut request = format!("ws://{}/api/app/ws", app.addr)
            .into_client_request()
            .unwrap();
        request
            .headers_mut()
            .insert("origin", origin.parse().unwrap());
        request
            .headers_mut()
            .insert("cookie", browser.cookie_header().parse().unwrap());
        request
    };
    let (mut socket, _) = tokio_tungstenite::connect_async(request(ORIGIN))
        .await
        .expect("the handshake passes");
    socket.send(Message::text("ping 1")).await.unwrap();
    let echo = socket.next().await.unwrap().unwrap();
    assert_eq!(echo, Message::text("ping 1"));
    // A message far larger than the relay's first read (1 KiB): its buffers grow as reads fill
    // them, and every byte arrives in order; a small one after it as well.
    let big: String = (0..200_000u32)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    socket.send(Message::text(big.clone())).await.unwrap();
    let echo = socket.next().await.unwrap().unwrap();
    assert_eq!(echo, Message::text(big));
    socket.send(Message::text("ping 2")).await.unwrap();
    let echo = socket.next().await.unwrap().unwrap();
    assert_eq!(echo, Message::text("ping 2"));
    let received = upstream.received();
    assert_eq!(
        received[0].headers["x-portero-login"], "ada",
        "the app knows who opened it"
    );
    assert!(
        received[0].headers.get("cookie").is_none(),
        "Portero's cookie stays with Portero"
    );
    let refused = tokio_tungstenite::connect_async(request("https://evil.example")).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 403)
        }
        other => panic!("refused with 403, got {other:?}"),
    }
    assert_eq!(
        upstream.received().len(),
        1,
        "the refused one never reached the app"
    );
}

#[tokio::test]
async fn get_api_auth_answers_the_identity_headers_or_401_for_nginx() {
    let (app, _upstream, browser, _p) = logged_in_gateway("").await;
    let reply = browser.get("/api/auth").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.headers["x-portero-login"], "ada");
    assert_eq!(reply.headers["x-portero-subject"], "user-ada");
    assert_eq!(reply.headers["cache-control"], "no-store");
    let jwks = app.jwks().await;
    let assertion = reply.headers["x-portero-assertion"].to_str().unwrap();
    AssertionVerifier::from_jwks(&jwks, ORIGIN, portero::config::AUTH_AUDIENCE)
        .unwrap()
        .verify(assertion)
        .expect("an assertion for `auth`");
    app.browser()
        .get("/api/auth")
        .await
        .assert_error(401, "not_logged_in");
}
