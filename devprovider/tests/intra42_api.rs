//! The `intra42` dialect's `/oauth/token` and `/v2/me` as a 42 application calls them after
//! sign-in: 42's expiry and refresh, Doorkeeper's token errors, rate limits and scopes, and no
//! standard or GitHub endpoints. Loopback only.

mod common;
#[path = "common/intra42.rs"]
mod intra42;

use std::time::Duration;

use common::*;
use devprovider::form_login::Decision;
use devprovider::{Config, Dialect};
use intra42::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

#[tokio::test]
async fn a_refresh_reply_can_be_held() {
    let app = spawn_intra().await;
    let tokens = app.tokens_for("ada").await;
    app.provider.set_refresh_delay(Duration::from_millis(300));
    let started = std::time::Instant::now();
    let response = app.refresh(tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(app.provider.stats().refresh_grants, 1);
}

#[tokio::test]
async fn an_expired_token_is_a_401_that_says_so() {
    let app = spawn(Config {
        access_token_ttl: Duration::from_secs(1),
        ..config()
    })
    .await;
    let tokens = app.tokens_for("ada").await;
    assert_eq!(tokens["expires_in"], 1);
    let access = tokens["access_token"].as_str().unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(!app.provider.is_access_token_active(access));

    for path in ["/v2/me", "/oauth/token/info"] {
        let response = app.get_with_token(path, access).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(
            header(&response, "www-authenticate"),
            r#"Bearer realm="Doorkeeper", error="invalid_token", error_description="The access token expired""#
        );
        assert_eq!(
            response.json::<Value>().await.unwrap(),
            json!({ "error": "invalid_token", "error_description": "The access token expired" })
        );
    }

    let unknown = app.get_with_token("/v2/me", "0123abcd").await;
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        header(&unknown, "www-authenticate"),
        r#"Bearer realm="Doorkeeper", error="invalid_token", error_description="The access token is invalid""#
    );
    let anonymous = app.get("/v2/me", &[]).await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_refresh_rotates_the_tokens_and_the_old_refresh_token_dies() {
    let app = spawn(Config {
        access_token_ttl: Duration::from_secs(30),
        ..config()
    })
    .await;
    let first = app.tokens_for("alan").await;
    let old_refresh = first["refresh_token"].as_str().unwrap();

    let response = app.refresh(old_refresh).await;
    assert_eq!(response.status(), StatusCode::OK);
    let second: Value = response.json().await.unwrap();
    assert_eq!(second["expires_in"], 30);
    assert_eq!(second["token_type"], "bearer");
    assert_eq!(second["scope"], "public");
    assert!(second["created_at"].is_u64() && second["secret_valid_until"].is_u64());
    let new_refresh = second["refresh_token"].as_str().unwrap();
    assert_ne!(new_refresh, old_refresh);
    let new_access = second["access_token"].as_str().unwrap();
    let me = app.get_with_token("/v2/me", new_access).await;
    assert_eq!(me.json::<Value>().await.unwrap()["login"], "alan");

    let (status, body) = error_of(app.refresh(old_refresh).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({ "error": "invalid_grant", "error_description": INVALID_GRANT })
    );
    let stats = app.provider.stats();
    assert_eq!(stats.refresh_grants, 1);
    assert_eq!(stats.token_requests, 3);
}

#[tokio::test]
async fn token_errors_are_standard_oauth_json_in_doorkeepers_words() {
    let app = spawn_intra().await;
    let code = app.intra_code("ada", "public").await;

    let wrong_secret = app
        .token(&[
            ("grant_type", "authorization_code"),
            ("client_id", CLIENT_ID),
            ("client_secret", "wrong"),
            ("code", &code),
            ("redirect_uri", REDIRECT_URI),
        ])
        .await;
    assert_eq!(wrong_secret.status(), StatusCode::UNAUTHORIZED);
    assert!(header(&wrong_secret, "www-authenticate")
        .starts_with(r#"Bearer realm="Doorkeeper", error="invalid_client""#));
    assert_eq!(error_of(wrong_secret).await.1["error"], "invalid_client");

    let no_redirect = app
        .token(&[
            ("grant_type", "authorization_code"),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("code", &code),
        ])
        .await;
    let (status, body) = error_of(no_redirect).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({
            "error": "invalid_request",
            "error_description": "Missing required parameter: redirect_uri.",
        })
    );

    let (status, body) = error_of(app.exchange("not-a-code").await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(body["error_description"], INVALID_GRANT);

    let (_, body) = error_of(
        app.token(&[
            ("grant_type", "password"),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
        ])
        .await,
    )
    .await;
    assert_eq!(body["error"], "unsupported_grant_type");

    // HTTP Basic works as well as credentials in the body. The code is still good: the
    // requests above failed before they reached it.
    let basic = app
        .http
        .post(app.url("/oauth/token"))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT_URI),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), StatusCode::OK);
    assert_eq!(app.provider.stats().token_requests, 5);
}

#[tokio::test]
async fn throttled_calls_answer_429_with_the_given_retry_after() {
    let app = spawn_intra().await;
    let tokens = app.tokens_for("ada").await;
    let access = tokens["access_token"].as_str().unwrap();
    app.provider.throttle_next(2, 3);

    for path in ["/v2/me", "/oauth/token/info"] {
        let response = app.get_with_token(path, access).await;
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS, "{path}");
        assert_eq!(header(&response, "retry-after"), "3");
        assert_eq!(
            response.json::<Value>().await.unwrap(),
            json!({ "error": "Too Many Requests" })
        );
    }
    let passes = app.get_with_token("/v2/me", access).await;
    assert_eq!(passes.status(), StatusCode::OK);
    assert_eq!(app.provider.stats().userinfo_requests, 2);
}

#[tokio::test]
async fn more_api_calls_per_second_than_the_limit_answer_429_per_application() {
    let other_redirect = "http://127.0.0.1:9/callback/other-app";
    let app = spawn(Config {
        clients: vec![
            client(REDIRECT_URI),
            other_client("other-app", "other-secret", other_redirect),
        ],
        rate_limit_per_sec: Some(2),
        ..Config::for_dialect(Dialect::Intra42)
    })
    .await;
    let tokens = app.tokens_for("ada").await;
    let access = tokens["access_token"].as_str().unwrap();

    // The other application's calls are counted separately.
    let callback = app
        .sign_in_and_decide(
            AUTHORIZE,
            &[
                ("client_id", "other-app"),
                ("redirect_uri", other_redirect),
                ("response_type", "code"),
            ],
            "grace",
            Decision::Allow,
        )
        .await;
    let other: Value = app
        .token(&[
            ("grant_type", "authorization_code"),
            ("client_id", "other-app"),
            ("client_secret", "other-secret"),
            ("code", &query_param(&callback, "code").unwrap()),
            ("redirect_uri", other_redirect),
        ])
        .await
        .json()
        .await
        .unwrap();
    let other_access = other["access_token"].as_str().unwrap();

    let started = std::time::Instant::now();
    assert_eq!(
        app.get_with_token("/v2/me", access).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.get_with_token("/oauth/token/info", access)
            .await
            .status(),
        StatusCode::OK
    );
    let limited = app.get_with_token("/v2/me", access).await;
    let other_call = app.get_with_token("/v2/me", other_access).await;
    // The window is one second: the assertions hold only if the calls were that quick.
    assert!(started.elapsed() < Duration::from_millis(900));
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&limited, "retry-after"), "1");
    assert_eq!(
        limited.json::<Value>().await.unwrap(),
        json!({ "error": "Too Many Requests" })
    );
    assert_eq!(other_call.status(), StatusCode::OK);

    // A client that waits as told gets through.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        app.get_with_token("/v2/me", access).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn v2_me_needs_the_public_scope() {
    let app = spawn_intra().await;
    let code = app.intra_code("ada", "projects").await;
    let tokens: Value = app.exchange(&code).await.json().await.unwrap();
    let response = app
        .get_with_token("/v2/me", tokens["access_token"].as_str().unwrap())
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"],
        "insufficient_scope"
    );
}

#[tokio::test]
async fn the_standard_and_github_endpoints_are_not_served() {
    let app = spawn_intra().await;
    for path in ["/authorize", "/userinfo", "/user", "/login/oauth/authorize"] {
        let response = app.get(path, &[]).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
}
