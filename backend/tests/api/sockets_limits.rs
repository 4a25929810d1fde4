//! Rule 19's limits on open WebSockets: an idle timeout of their own
//! (`websocket_idle_timeout_secs`), a place among `max_connections` kept while open (rule 16),
//! and a close (1001) when Portero stops, which does not wait on them.

use std::time::Duration;

use crate::{helpers::*, sessions_support::*, sockets_support::*, upstream::Upstream};

/// The test config with `[upstreams.app]` in front of `upstream` and `server_lines` in
/// `[server]`.
fn config(issuer: &str, upstream: &Upstream, server_lines: &str) -> String {
    format!(
        "{}\n        [upstreams.app]\n        prefix = \"/api/app\"\n        url = \"{}\"\n",
        config_toml(issuer).replace(
            "provider_timeout_secs = 2",
            &format!("provider_timeout_secs = 2\n        {server_lines}"),
        ),
        upstream.url()
    )
}

/// A backend with `server_lines`, and ada's session cookie.
async fn logged_in(server_lines: &str) -> (TestApp, Upstream, String, devprovider::DevProvider) {
    let provider = start_devprovider().await;
    let upstream = Upstream::start().await;
    let app = spawn_app_with(&config(&provider.issuer(), &upstream, server_lines)).await;
    let browser = app.browser();
    log_in(&browser, "ada").await;
    let cookie = browser.session_cookie().unwrap();
    (app, upstream, cookie, provider)
}

#[tokio::test]
async fn a_websocket_quiet_for_its_idle_timeout_is_closed_and_a_busy_one_is_not() {
    let (app, _upstream, ada, _p) = logged_in("websocket_idle_timeout_secs = 2").await;
    let mut quiet = open_socket(&app, "/api/app/ws", &ada).await;
    let mut busy = open_socket(&app, "/api/app/ws", &ada).await;
    assert_echoes(&mut quiet, "open").await;
    let open = |n: usize| format!("portero_websockets_open {n}\n");
    assert!(app.metrics().await.contains(&open(2)));
    let talking = async {
        // Four seconds of talk, twice the timeout.
        for i in 0..8 {
            assert_echoes(&mut busy, &format!("message {i}")).await;
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    };
    let idled = async {
        let took = assert_closed(&mut quiet, 1001, WITHIN, "idle").await;
        assert!(took >= Duration::from_millis(1500), "closed after {took:?}");
    };
    tokio::join!(talking, idled);
    assert_echoes(&mut busy, "still talking").await;
    assert!(app.metrics().await.contains(&open(1)));
}

#[tokio::test]
async fn open_websockets_keep_their_place_among_max_connections() {
    let (app, _upstream, ada, _p) = logged_in("max_connections = 2").await;
    let mut first = open_socket(&app, "/api/app/ws", &ada).await;
    let second = open_socket(&app, "/api/app/ws", &ada).await;
    // Both connections are taken by open sockets: a third is served only once one closes.
    let health = tokio::spawn(reqwest::get(app.url("/healthz")));
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(
        !health.is_finished(),
        "a third connection was served beside two open sockets"
    );
    assert_echoes(&mut first, "the sockets work meanwhile").await;
    drop(second);
    let reply = tokio::time::timeout(Duration::from_secs(5), health)
        .await
        .expect("served once a socket closed")
        .unwrap()
        .unwrap();
    assert_eq!(reply.status(), 200);
}

#[tokio::test]
async fn when_portero_stops_its_websockets_are_closed_with_1001() {
    let (app, _upstream, ada, _p) = logged_in("").await;
    let mut socket = open_socket(&app, "/api/app/ws", &ada).await;
    assert_echoes(&mut socket, "before the stop").await;
    let stopping = tokio::spawn(app.stop());
    assert_closed(&mut socket, 1001, WITHIN, "shutdown").await;
    tokio::time::timeout(Duration::from_secs(5), stopping)
        .await
        .expect("the backend stops without waiting on its sockets")
        .unwrap();
}
