//! OpenID Connect Back-Channel Logout 1.0: the provider ends a session of its own, and every
//! Portero session of it ends, on every replica; a logout token that is not what §2.6 asks for
//! is 400 `invalid_logout_token` and ends nothing.

use serde_json::{json, Value};

use crate::{
    fake_oidc::{key, other_key, sign, FakeOidc},
    helpers::*,
    redis_server::RedisServer,
    sessions_support::*,
};

/// devprovider telling the backend about its logouts, and the backend on `store`.
async fn with_backchannel(store: &str) -> (TestApp, devprovider::DevProvider) {
    with_backchannel_from(store, devprovider::Config::default()).await
}

/// [`with_backchannel`], devprovider otherwise as `config` says.
async fn with_backchannel_from(
    store: &str,
    config: devprovider::Config,
) -> (TestApp, devprovider::DevProvider) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let backend = listener.local_addr().unwrap();
    let provider = start_devprovider_with(devprovider::Config {
        clients: vec![devprovider::Client {
            backchannel_logout_uri: Some(format!(
                "http://{backend}/api/backchannel-logout/{PROVIDER}"
            )),
            ..dev_client()
        }],
        ..config
    })
    .await;
    let config = config_with_store(&provider.issuer(), store);
    (spawn_app_on(listener, &config).await, provider)
}

#[tokio::test]
async fn a_logout_at_the_provider_ends_that_persons_portero_sessions() {
    let (app, provider) = with_backchannel("memory").await;
    let (laptop, phone, grace) = (app.browser(), app.browser(), app.browser());
    log_in(&laptop, "ada").await;
    log_in(&phone, "ada").await;
    log_in(&grace, "grace").await;
    assert_eq!(
        provider.log_out("ada").await,
        2,
        "ada had two sessions at the provider"
    );
    assert_eq!(provider.stats().backchannel_logout_statuses, [200, 200]);
    laptop
        .get("/api/me")
        .await
        .assert_error(401, "not_logged_in");
    phone
        .get("/api/me")
        .await
        .assert_error(401, "not_logged_in");
    assert_eq!(grace.get("/api/me").await.status, 200, "grace's stays");
}

#[tokio::test]
async fn a_back_channel_logout_reaching_one_replica_ends_the_session_on_the_other() {
    let redis = RedisServer::start("backchannel").await;
    let (a, provider) = with_backchannel(&redis.url()).await;
    let config = config_with_store(&provider.issuer(), &redis.url());
    let b = spawn_app_with(&config).await;
    let browser = b.browser();
    log_in(&browser, "ada").await;
    let id = browser.session_cookie().unwrap();
    // devprovider tells replica A (its registered URI); the session was made on B.
    assert_eq!(provider.log_out("ada").await, 1);
    assert_eq!(provider.stats().backchannel_logout_statuses, [200]);
    call_with_cookie(&b, reqwest::Method::GET, "/api/me", &id)
        .await
        .assert_error(401, "not_logged_in");
    let _ = a;
}

/// The provider ends Ada's session while a refresh of it is under way: the back-channel logout
/// waits for the session's lock, so the refresh finishes first, and then the session ends and
/// stays ended (the refresh's write cannot bring it back).
#[tokio::test]
async fn a_back_channel_logout_racing_a_refresh_leaves_the_session_ended() {
    let redis = RedisServer::start("backchannel-refresh").await;
    for store in ["memory".to_owned(), redis.url()] {
        // 33 s tokens: after 4 s they are inside the 30 s refresh margin.
        let config = devprovider::Config {
            access_token_ttl: std::time::Duration::from_secs(33),
            ..Default::default()
        };
        let (app, provider) = with_backchannel_from(&store, config).await;
        let browser = std::sync::Arc::new(app.browser());
        log_in(&browser, "ada").await;
        let id = browser.session_cookie().expect("a session cookie");
        // Slower than the back-channel logout, within the provider timeout (2 s).
        let refreshing = slow_refresh_under_way(&browser, &provider).await;
        assert_eq!(provider.log_out("ada").await, 1, "{store}");
        assert_eq!(
            provider.stats().backchannel_logout_statuses,
            [200],
            "{store}: answered once the refresh let go of the lock"
        );
        let profile = refreshing.await.unwrap();
        assert_eq!(
            profile.status, 200,
            "{store}: the refresh itself worked: {}",
            profile.body
        );
        provider.set_refresh_delay(std::time::Duration::ZERO);
        for path in ["/api/me", "/api/profile"] {
            call_with_cookie(&app, reqwest::Method::GET, path, &id)
                .await
                .assert_error(401, "not_logged_in");
        }
        assert_eq!(app.active_sessions().await, Some(0), "{store}: gone");
    }
}

/// The claims of a valid logout token from FakeOidc, with `changes` over them (`null` removes a
/// claim).
fn token(provider: &FakeOidc, changes: Value) -> Value {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let mut claims = json!({
        "iss": provider.issuer(), "aud": CLIENT_ID, "iat": now, "jti": format!("jti-{now}-{}", rand::random::<u32>()),
        "sub": "user-1", "events": { "http://schemas.openid.net/event/backchannel-logout": {} },
    });
    for (k, v) in changes.as_object().unwrap() {
        if v.is_null() {
            claims.as_object_mut().unwrap().remove(k);
        } else {
            claims[k] = v.clone();
        }
    }
    claims
}

async fn post_logout_token(app: &TestApp, jwt: &str) -> Reply {
    let http = reqwest::Client::new();
    let response = http
        .post(app.url(&format!("/api/backchannel-logout/{PROVIDER}")))
        .form(&[("logout_token", jwt)])
        .send()
        .await
        .unwrap();
    Reply {
        status: response.status(),
        headers: response.headers().clone(),
        body: response.text().await.unwrap(),
    }
}

#[tokio::test]
async fn a_logout_token_is_checked_as_section_2_6_says_and_used_once() {
    let provider = FakeOidc::start().await;
    let app = provider.spawn_app().await;
    let good = sign(key(), &token(&provider, json!({})));
    let reply = post_logout_token(&app, &good).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.headers["cache-control"], "no-store");
    // The same token again: its jti was seen.
    post_logout_token(&app, &good)
        .await
        .assert_error(400, "invalid_logout_token");
    let old = time::OffsetDateTime::now_utc().unix_timestamp() - 3600;
    let forged: [(&str, String); 9] = [
        (
            "another key",
            sign(other_key(), &token(&provider, json!({}))),
        ),
        (
            "another audience",
            sign(key(), &token(&provider, json!({ "aud": "someone-else" }))),
        ),
        (
            "another issuer",
            sign(
                key(),
                &token(&provider, json!({ "iss": "https://evil.example" })),
            ),
        ),
        (
            "an old iat",
            sign(key(), &token(&provider, json!({ "iat": old }))),
        ),
        (
            "no events",
            sign(key(), &token(&provider, json!({ "events": null }))),
        ),
        (
            "a nonce, like an id_token",
            sign(key(), &token(&provider, json!({ "nonce": "n" }))),
        ),
        (
            "neither sub nor sid",
            sign(key(), &token(&provider, json!({ "sub": null }))),
        ),
        (
            "no jti",
            sign(key(), &token(&provider, json!({ "jti": null }))),
        ),
        ("not a JWT", "nonsense".to_owned()),
    ];
    for (what, jwt) in forged {
        let reply = post_logout_token(&app, &jwt).await;
        assert_eq!(reply.status, 400, "{what}: {}", reply.body);
        reply.assert_error(400, "invalid_logout_token");
    }
    // A provider no configuration names.
    let unknown = reqwest::Client::new()
        .post(app.url("/api/backchannel-logout/nobody"))
        .form(&[("logout_token", good.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
}
