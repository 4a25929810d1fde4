//! Rule 14: a state is consumed atomically, and an ended session never comes back.

use std::{sync::Arc, time::Duration};

use crate::{helpers::*, sessions_support::*};

async fn two_answers_at_once_with_one_state(store: &str) {
    let provider = start_devprovider().await;
    let config = config_with_store(&provider.issuer(), store);
    let app = spawn_app_with(&config).await;
    let browser = Arc::new(app.browser());
    let login = browser.start_login(PROVIDER, None).await;
    let body = callback_body(PROVIDER, &consent(&login, "ada", "allow").await);
    let before = provider.stats().token_requests;
    let (a, b) = tokio::join!(
        browser.post_session(body.clone()),
        browser.post_session(body),
    );
    let mut statuses = [a.status.as_u16(), b.status.as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 400], "{store}: {} / {}", a.body, b.body);
    let refused = if a.status == 400 { a } else { b };
    refused.assert_error(400, "invalid_state");
    assert_eq!(
        provider.stats().token_requests - before,
        1,
        "{store}: one request reached the token endpoint"
    );
}

#[tokio::test]
async fn of_two_concurrent_answers_with_one_state_exactly_one_reaches_the_token_endpoint() {
    two_answers_at_once_with_one_state("memory").await;
    let db = temp_dir("race").join("sessions.db");
    two_answers_at_once_with_one_state(&format!("sqlite://{}", db.display())).await;
    let redis = crate::redis_server::RedisServer::start("race").await;
    two_answers_at_once_with_one_state(&redis.url()).await;
}

#[tokio::test]
async fn a_logout_during_a_slow_refresh_stays_a_logout() {
    // 33 s tokens: after 4 s they are inside the 30 s refresh margin.
    let provider = start_devprovider_with_token_ttl(Duration::from_secs(33)).await;
    let db = temp_dir("slow-refresh").join("sessions.db");
    let store = format!("sqlite://{}", db.display());
    for store in ["memory", store.as_str()] {
        let config = config_with_store(&provider.issuer(), store);
        let app = spawn_app_with(&config).await;
        let browser = Arc::new(app.browser());
        log_in(&browser, "ada").await;
        let id = browser.session_cookie().expect("a session cookie");
        // Slower than the logout, within the provider timeout (2 s): the refresh succeeds.
        let refreshing = slow_refresh_under_way(&browser, &provider).await;
        let out = browser.post("/api/logout", None).await;
        assert_eq!(out.status, 200, "{store}: {}", out.body);
        // The logout waited for the refresh (the session's lock), so it revoked the new tokens.
        assert!(
            refreshing.is_finished(),
            "{store}: the logout waited for the refresh"
        );
        let profile = refreshing.await.unwrap();
        assert_eq!(
            profile.status, 200,
            "{store}: the refresh itself worked: {}",
            profile.body
        );
        provider.set_refresh_delay(Duration::ZERO);
        // The cookie the browser had: the session it named must not have come back.
        call_with_cookie(&app, reqwest::Method::GET, "/api/me", &id)
            .await
            .assert_error(401, "not_logged_in");
        assert_eq!(
            app.active_sessions().await,
            Some(0),
            "{store}: the session is gone"
        );
    }
}

/// A logged-in browser that starts another login changes its session (the new attempt's
/// binding): under the session's lock, so a refresh in flight, which writes back the record it
/// read, finishes first and cannot drop the binding; the login's answer is accepted.
#[tokio::test]
async fn a_login_started_during_a_slow_refresh_is_kept_and_its_answer_accepted() {
    // 33 s tokens: after 4 s they are inside the 30 s refresh margin.
    let provider = start_devprovider_with_token_ttl(Duration::from_secs(33)).await;
    let db = temp_dir("login-during-refresh").join("sessions.db");
    let store = format!("sqlite://{}", db.display());
    for store in ["memory", store.as_str()] {
        let app = spawn_app_with(&config_with_store(&provider.issuer(), store)).await;
        let browser = Arc::new(app.browser());
        log_in(&browser, "ada").await;
        let refreshing = slow_refresh_under_way(&browser, &provider).await;
        let body = serde_json::json!({ "another_account": true });
        let login = browser.post("/api/login/dev", Some(body)).await;
        assert_eq!(login.status, 200, "{store}: {}", login.body);
        let profile = refreshing.await.unwrap();
        assert_eq!(profile.status, 200, "{store}: {}", profile.body);
        provider.set_refresh_delay(Duration::ZERO);

        let callback = consent(&login.json(), "grace", "allow").await;
        let session = browser
            .post_session(callback_body(PROVIDER, &callback))
            .await;
        assert_eq!(session.status, 200, "{store}: {}", session.body);
        let me = browser.get("/api/me").await;
        assert_eq!(
            me.json::<shared::MeResponse>().user.login.as_deref(),
            Some("grace")
        );
    }
}
