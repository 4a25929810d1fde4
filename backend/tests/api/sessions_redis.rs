//! Issue 5 with Redis, the store for several replicas: two backends share the sessions, an
//! outage is a 503 `store_unavailable` (never a 500 or a hang) that ends by itself, and the
//! stored values hold no provider token in clear text.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;
use shared::MeResponse;

use crate::{
    fake_oidc::{key, sign, FakeOidc},
    helpers::*,
    redis_server::RedisServer,
    sessions_support::*,
};

fn redis_config(issuer: &str, redis: &RedisServer) -> String {
    config_on(
        issuer,
        &redis.url(),
        &format!("secret_key = \"{SECRET_KEY}\""),
    )
}

#[tokio::test]
async fn two_replicas_on_one_redis_share_sessions_and_a_logout_on_one_ends_it_on_both() {
    let redis = RedisServer::start("replicas").await;
    let provider = start_devprovider().await;
    let config = redis_config(&provider.issuer(), &redis);
    let a = spawn_app_with(&config).await;
    let b = spawn_app_with(&config).await;

    let browser = a.browser();
    let user = log_in(&browser, "ada").await;
    let id = browser.session_cookie().unwrap();

    let me = call_with_cookie(&b, Method::GET, "/api/me", &id).await;
    assert_eq!(me.status, 200, "replica B reads A's session: {}", me.body);
    assert_eq!(me.json::<MeResponse>().user, user);
    let profile = call_with_cookie(&b, Method::GET, "/api/profile", &id).await;
    assert_eq!(
        profile.status, 200,
        "and opens its tokens: {}",
        profile.body
    );

    // Both replicas count the one session they share.
    assert_eq!(a.active_sessions().await, Some(1));
    assert_eq!(b.active_sessions().await, Some(1));

    let out = call_with_cookie(&b, Method::POST, "/api/logout", &id).await;
    assert_eq!(out.status, 200, "{}", out.body);
    assert_eq!(a.active_sessions().await, Some(0));
    browser
        .get("/api/me")
        .await
        .assert_error(401, "not_logged_in");
}

#[tokio::test]
async fn while_redis_is_down_session_routes_and_readyz_answer_503_and_recover_by_themselves() {
    let mut redis = RedisServer::start("outage").await;
    let provider = start_devprovider().await;
    let app = spawn_app_with(&redis_config(&provider.issuer(), &redis)).await;
    let browser = app.browser();
    let user = log_in(&browser, "ada").await;
    assert_eq!(app.browser().get("/readyz").await.status, 200);

    redis.kill();
    let started = Instant::now();
    browser
        .get("/api/me")
        .await
        .assert_error(503, "store_unavailable");
    browser
        .get("/api/profile")
        .await
        .assert_error(503, "store_unavailable");
    // A new visitor's login attempt cannot be kept either.
    app.browser()
        .post("/api/login/dev", Some(json!({})))
        .await
        .assert_error(503, "store_unavailable");
    app.browser()
        .get("/readyz")
        .await
        .assert_error(503, "store_unavailable");
    assert_eq!(
        app.active_sessions().await,
        None,
        "metrics say the store is down"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "503s come quickly, not after a hang: {:?}",
        started.elapsed()
    );

    redis.start_again().await;
    let deadline = Instant::now() + Duration::from_secs(15);
    let me = loop {
        let me = browser.get("/api/me").await;
        if me.status == 200 || Instant::now() > deadline {
            break me;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(me.status, 200, "the session is back: {}", me.body);
    assert_eq!(me.json::<MeResponse>().user, user);
    assert_eq!(app.browser().get("/readyz").await.status, 200);
    assert_eq!(browser.get("/api/profile").await.status, 200);
}

#[tokio::test]
async fn redis_holds_no_provider_token_in_clear_text() {
    let redis = RedisServer::start("raw").await;
    let provider = FakeOidc::start().await;
    let app = spawn_app_with(&redis_config(&provider.issuer(), &redis)).await;
    let browser = app.browser();
    let login = browser.start_login(PROVIDER, None).await;
    let id_token = sign(key(), &provider.claims(&login.params["nonce"]));
    let access = "redis-raw-access-71f0c3aa";
    let refresh = "redis-raw-refresh-2d9be845";
    provider
        .token_endpoint_answers(
            200,
            json!({ "access_token": access, "refresh_token": refresh, "token_type": "Bearer",
                    "expires_in": 3600, "id_token": id_token }),
        )
        .await;
    provider
        .userinfo_answers(json!({ "sub": "user-1", "name": "Test Person" }))
        .await;
    let body = json!({ "provider": PROVIDER, "code": "c", "state": login.params["state"] });
    let reply = browser.post("/api/session", Some(body)).await;
    assert_eq!(reply.status, 200, "{}", reply.body);

    let values = redis.dump_values().await;
    assert!(
        values.iter().any(|v| v.contains("user-1")),
        "the logged-in session is among the values: {values:?}"
    );
    for secret in [access, refresh, id_token.as_str(), CLIENT_SECRET] {
        assert!(
            values.iter().all(|v| !v.contains(secret)),
            "{secret} in clear text"
        );
    }
}

#[tokio::test]
async fn no_key_or_value_in_redis_holds_a_session_cookie_value() {
    let redis = RedisServer::start("no-cookie").await;
    let provider = start_devprovider().await;
    let app = spawn_app_with(&redis_config(&provider.issuer(), &redis)).await;
    let browser = app.browser();
    log_in(&browser, "ada").await;
    let pending = app.browser();
    pending.start_login(PROVIDER, None).await;
    let values = redis.dump_values().await;
    assert!(
        values.iter().any(|v| v.starts_with("portero:s:")),
        "{values:?}"
    );
    for cookie in [
        browser.session_cookie().unwrap(),
        pending.session_cookie().unwrap(),
    ] {
        assert!(
            values.iter().all(|v| !v.contains(&cookie)),
            "{cookie} in {values:?}"
        );
    }
}
