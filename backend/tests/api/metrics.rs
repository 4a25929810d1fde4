//! `/metrics` counts what operators watch: logins by provider and outcome, and latencies.

use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn a_login_and_a_refused_callback_are_counted_by_provider_and_outcome() {
    let app = spawn_app().await;
    let browser = app.browser();
    let login = browser.start_login(PROVIDER, None).await;
    let body = callback_body(PROVIDER, &consent(&login, "ada", "allow").await);
    assert_eq!(browser.post_session(body.clone()).await.status, 200);
    assert_eq!(browser.get("/api/profile").await.status, 200);
    browser
        .post_session(body)
        .await
        .assert_error(400, "invalid_state");
    let forged = json!({ "provider": "no-such-provider", "code": "c", "state": "s" });
    assert_eq!(browser.post_session(forged).await.status, 400);

    let reply = reqwest::get(app.url("/metrics")).await.unwrap();
    assert_eq!(reply.status(), 200);
    assert!(reply.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/openmetrics-text"));
    let text = reply.text().await.unwrap();
    for line in [
        r#"portero_logins_started_total{provider="dev"} 1"#,
        r#"portero_logins_finished_total{provider="dev",outcome="ok"} 1"#,
        r#"portero_logins_finished_total{provider="dev",outcome="invalid_state"} 1"#,
        r#"portero_logins_finished_total{provider="unknown",outcome="invalid_state"} 1"#,
        r#"portero_token_exchange_seconds_count{provider="dev"} 1"#,
        r#"portero_provider_call_seconds_count{provider="dev"} 1"#,
        "portero_sessions_active 1",
        "portero_session_store_up 1",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line} in:\n{text}"
        );
    }
    assert!(
        !text.contains("no-such-provider"),
        "request input never becomes a label"
    );
}

/// The active-sessions gauge follows logins, logouts and abandoned login attempts.
#[tokio::test]
async fn active_sessions_are_counted_at_each_scrape() {
    let app = spawn_app().await;
    assert_eq!(app.active_sessions().await, Some(0));
    let mut people = Vec::new();
    for user in ["ada", "grace"] {
        let browser = app.browser();
        let login = browser.start_login(PROVIDER, None).await;
        let body = callback_body(PROVIDER, &consent(&login, user, "allow").await);
        assert_eq!(browser.post_session(body).await.status, 200);
        people.push(browser);
    }
    // A login started and never finished holds no session: its binding is the browser's cookie.
    app.browser().start_login(PROVIDER, None).await;
    assert_eq!(app.active_sessions().await, Some(2));
    let logout = people[0].post("/api/logout", None).await;
    assert!(logout.status.is_success(), "{}", logout.body);
    assert_eq!(app.active_sessions().await, Some(1));
}
