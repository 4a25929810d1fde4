//! Sessions people control (docs/design.md): the person's list of sessions, ending one of them, and
//! logging out everywhere — the same on every store.

use reqwest::Method;
use shared::SessionInfo;

use crate::{helpers::*, redis_server::RedisServer, sessions_support::*};

const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
const PHONE: &str = "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/131.0 Mobile";

async fn end(browser: &Browser, handle: &str) -> Reply {
    let path = format!("/api/sessions/{handle}");
    let headers = [("x-csrf", "1"), ("origin", ORIGIN)];
    browser.request(Method::DELETE, &path, None, &headers).await
}

async fn sessions(browser: &Browser) -> Vec<SessionInfo> {
    let reply = browser.get("/api/sessions").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()
}

async fn a_person_sees_their_sessions_ends_one_and_then_all(store: &str) {
    let provider = start_devprovider().await;
    let config = config_with_store(&provider.issuer(), store)
        .replace("store = ", "idle_timeout_secs = 40\n        store = ");
    let app = spawn_app_with(&config).await;
    let (laptop, phone, other) = (
        app.browser_named(FIREFOX),
        app.browser_named(PHONE),
        app.browser(),
    );
    log_in(&laptop, "ada").await;
    log_in(&phone, "ada").await;
    log_in(&other, "grace").await;

    let listed = sessions(&laptop).await;
    assert_eq!(
        listed.len(),
        2,
        "{store}: ada's two, not grace's: {listed:?}"
    );
    assert!(listed[0].current, "this browser's first");
    assert_eq!(listed[0].user_agent.as_deref(), Some(FIREFOX));
    assert_eq!(listed[1].user_agent.as_deref(), Some(PHONE));
    for session in &listed {
        assert_eq!(session.provider, PROVIDER);
        assert!(session.last_seen_at >= session.created_at);
        let cookies = [
            laptop.session_cookie().unwrap(),
            phone.session_cookie().unwrap(),
        ];
        assert!(
            !cookies.contains(&session.id),
            "{store}: a handle is not a cookie value"
        );
    }
    // Seen again after the minute's grain (2 s with this idle timeout): the list says so.
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(phone.get("/api/me").await.status, 200);
    let seen = sessions(&laptop).await;
    assert!(
        seen[1].last_seen_at > seen[1].created_at,
        "{store}: {seen:?}"
    );

    // Ending the phone's session from the laptop.
    let phone_handle = listed[1].id.clone();
    let grace_handle = sessions(&other).await[0].id.clone();
    end(&laptop, &grace_handle)
        .await
        .assert_error(404, "not_found");
    end(&laptop, "0123456789abcdef0123456789abcdef")
        .await
        .assert_error(404, "not_found");
    assert_eq!(end(&laptop, &phone_handle).await.status, 204);
    phone
        .get("/api/me")
        .await
        .assert_error(401, "not_logged_in");
    assert_eq!(sessions(&laptop).await.len(), 1);
    assert_eq!(
        other.get("/api/me").await.status,
        200,
        "grace's session is hers"
    );

    // Everywhere: the laptop and a new phone session end, grace's does not.
    let again = app.browser_named(PHONE);
    log_in(&again, "ada").await;
    let revoked_before = provider.stats().revocations;
    let out = laptop
        .post(
            "/api/logout",
            Some(serde_json::json!({ "everywhere": true })),
        )
        .await;
    assert_eq!(out.status, 200, "{store}: {}", out.body);
    laptop
        .get("/api/me")
        .await
        .assert_error(401, "not_logged_in");
    again
        .get("/api/me")
        .await
        .assert_error(401, "not_logged_in");
    assert_eq!(other.get("/api/me").await.status, 200);
    assert!(
        provider.stats().revocations >= revoked_before + 2,
        "both sessions' tokens revoked"
    );
    assert_eq!(
        app.active_sessions().await,
        Some(1),
        "{store}: grace's alone"
    );
}

#[tokio::test]
async fn a_person_sees_their_sessions_ends_one_and_then_all_on_every_store() {
    a_person_sees_their_sessions_ends_one_and_then_all("memory").await;
    let db = temp_dir("control").join("sessions.db");
    a_person_sees_their_sessions_ends_one_and_then_all(&format!("sqlite://{}", db.display())).await;
    let redis = RedisServer::start("control").await;
    a_person_sees_their_sessions_ends_one_and_then_all(&redis.url()).await;
}

#[tokio::test]
async fn without_a_session_the_list_is_401() {
    let app = spawn_app().await;
    app.browser()
        .get("/api/sessions")
        .await
        .assert_error(401, "not_logged_in");
}
