//! How long a session lives and how its tokens stay fresh: one refresh per session however
//! many requests need it, idle and absolute expiry, and the RP-initiated logout URL.

use std::{sync::Arc, time::Duration};

use serde_json::json;
use shared::{LogoutResponse, MeResponse, ProfileResponse};

use crate::{fake_oidc::FakeOidc, helpers::*, sessions_support::*};

#[tokio::test]
async fn twenty_concurrent_profiles_with_an_expiring_token_make_exactly_one_refresh() {
    // 33 s tokens: after 4 s they are inside the 30 s refresh margin; a refreshed one is not.
    let provider = start_devprovider_with_token_ttl(Duration::from_secs(33)).await;
    let app = spawn_app_with(&config_toml(&provider.issuer())).await;
    let browser = Arc::new(app.browser());
    let user = log_in(&browser, "ada").await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    let before = provider.stats().refresh_grants;

    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let browser = browser.clone();
        calls.spawn(async move { browser.get("/api/profile").await });
    }
    while let Some(reply) = calls.join_next().await {
        let reply = reply.unwrap();
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(reply.json::<ProfileResponse>().user.subject, user.subject);
    }
    assert_eq!(
        provider.stats().refresh_grants - before,
        1,
        "one refresh for twenty requests"
    );
    // The rotated refresh token was kept: devprovider revokes the grant when an old one is
    // replayed, so a later refresh works only with the new one.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(browser.get("/api/profile").await.status, 200);
    assert_eq!(provider.stats().refresh_grants - before, 2);
}

#[tokio::test]
async fn an_active_session_slides_past_its_idle_timeout_and_an_idle_one_ends() {
    let provider = start_devprovider().await;
    let config = config_toml(&provider.issuer()).replace(
        "store = \"memory\"",
        "store = \"memory\"\n        idle_timeout_secs = 3",
    );
    let app = spawn_app_with(&config).await;
    let browser = app.browser();
    log_in(&browser, "ada").await;
    let mut last = 0;
    for _ in 0..5 {
        let me = browser.get("/api/me").await;
        assert_eq!(me.status, 200, "in use, the session lives on: {}", me.body);
        let expires_at = me.json::<MeResponse>().expires_at;
        assert!(expires_at >= last, "the expiry moves forward");
        last = expires_at;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    tokio::time::sleep(Duration::from_secs(4)).await;
    browser
        .get("/api/me")
        .await
        .assert_error(401, "not_logged_in");
}

#[tokio::test]
async fn a_session_older_than_the_absolute_timeout_ends_with_session_expired() {
    let provider = start_devprovider().await;
    let config = config_toml(&provider.issuer()).replace(
        "store = \"memory\"",
        "store = \"memory\"\n        absolute_timeout_secs = 1",
    );
    let app = spawn_app_with(&config).await;
    let browser = app.browser();
    log_in(&browser, "ada").await;
    assert_eq!(browser.get("/api/me").await.status, 200);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    browser
        .get("/api/me")
        .await
        .assert_error(401, "session_expired");
    // Ended, not only refused: the session is gone.
    browser
        .get("/api/profile")
        .await
        .assert_error(401, "not_logged_in");
}

#[tokio::test]
async fn logout_from_an_oidc_provider_with_end_session_endpoint_answers_its_logout_url() {
    let provider = FakeOidc::start().await;
    let issuer = provider.issuer();
    // Discovery with RP-Initiated Logout 1.0.
    provider
        .discovery_says(json!({ "end_session_endpoint": format!("{issuer}/logout?ui=compact") }))
        .await;
    let app = provider.spawn_app().await;
    let browser = app.browser();
    let id_token = provider
        .log_in(
            &browser,
            json!({ "access_token": "at-e5", "token_type": "Bearer" }),
            json!({ "sub": "user-1" }),
        )
        .await;

    let out = browser.post("/api/logout", None).await;
    assert_eq!(out.status, 200, "{}", out.body);
    assert!(
        !out.body.contains(&id_token),
        "rule 8: no id_token in the body"
    );
    let url = url::Url::parse(
        &out.json::<LogoutResponse>()
            .end_session_url
            .expect("an end_session_url"),
    )
    .unwrap();
    assert_eq!(
        url.as_str().split('?').next(),
        Some(format!("{issuer}/logout").as_str())
    );
    let q = query(&url);
    assert_eq!(q["ui"], "compact", "the endpoint's own query is kept");
    assert_eq!(q["client_id"], CLIENT_ID);
    assert_eq!(q["post_logout_redirect_uri"], format!("{ORIGIN}/"));
    browser
        .get("/api/me")
        .await
        .assert_error(401, "not_logged_in");
}
