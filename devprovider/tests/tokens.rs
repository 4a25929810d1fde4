//! The standard dialect's token, userinfo and revocation endpoints driven as a confidential
//! client would: codes redeemed once, with their verifier, redirect URI and client; client
//! authentication; refresh, revocation and expiry; userinfo's bearer challenge and throttling.
//! Loopback only.

mod common;
#[path = "common/standard.rs"]
mod standard;

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use common::*;
use devprovider::{Client, Config, Stats};
use reqwest::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use reqwest::StatusCode;
use serde_json::Value;
use standard::*;

#[tokio::test]
async fn a_wrong_code_verifier_is_an_invalid_grant() {
    let app = spawn_provider().await;
    let code = app.code_for(&AuthRequest::default()).await;
    let wrong = "x".repeat(43);
    assert_eq!(
        error_of(app.exchange(&code, &wrong).await).await,
        (StatusCode::BAD_REQUEST, "invalid_grant".into())
    );
    assert_eq!(app.provider.stats().authorization_code_grants, 0);
}

#[tokio::test]
async fn a_code_redeemed_with_another_redirect_uri_is_an_invalid_grant() {
    let app = spawn_provider().await;
    let code = app.code_for(&AuthRequest::default()).await;
    let response = app
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT_URI_WITH_QUERY),
            ("code_verifier", VERIFIER),
        ])
        .await;
    assert_eq!(error_of(response).await.1, "invalid_grant");
}

#[tokio::test]
async fn a_reused_code_fails_and_revokes_the_tokens_it_produced() {
    let app = spawn_provider().await;
    let code = app.code_for(&AuthRequest::default()).await;
    let tokens: Value = app.exchange(&code, VERIFIER).await.json().await.unwrap();
    let access_token = tokens["access_token"].as_str().unwrap();
    assert!(app.provider.is_access_token_active(access_token));

    let replay = app.exchange(&code, VERIFIER).await;
    assert_eq!(
        error_of(replay).await,
        (StatusCode::BAD_REQUEST, "invalid_grant".into())
    );
    assert!(!app.provider.is_access_token_active(access_token));
    let refresh = app.refresh(tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!(error_of(refresh).await.1, "invalid_grant");
}

#[tokio::test]
async fn an_expired_code_is_an_invalid_grant() {
    let app = spawn_provider_with(Config {
        clients: vec![portero_client()],
        code_ttl: Duration::from_millis(1),
        ..Config::default()
    })
    .await;
    let code = app.code_for(&AuthRequest::default()).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let response = app.exchange(&code, VERIFIER).await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("expired"));
}

#[tokio::test]
async fn a_code_issued_to_one_client_cannot_be_redeemed_by_another() {
    let other = other_client("other", "other-secret", REDIRECT_URI);
    let app = spawn_provider_with(Config {
        clients: vec![portero_client(), other],
        ..Config::default()
    })
    .await;
    let code = app.code_for(&AuthRequest::default()).await;
    let stolen = app.exchange_as("other", "other-secret", &code).await;
    assert_eq!(error_of(stolen).await.1, "invalid_grant");
    // The rightful client can still redeem it.
    assert_eq!(app.exchange(&code, VERIFIER).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_wrong_or_missing_client_secret_is_a_401_invalid_client() {
    let app = spawn_provider().await;
    let code = app.code_for(&AuthRequest::default()).await;
    let form = code_form(&code, VERIFIER);
    let wrong_secret = app
        .http
        .post(app.url("/token"))
        .basic_auth(CLIENT_ID, Some("not-the-secret"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(
        wrong_secret.headers()[WWW_AUTHENTICATE]
            .to_str()
            .unwrap()
            .split(' ')
            .next(),
        Some("Basic")
    );
    assert_eq!(
        error_of(wrong_secret).await,
        (StatusCode::UNAUTHORIZED, "invalid_client".into())
    );
    let anonymous = app
        .http
        .post(app.url("/token"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_of(anonymous).await,
        (StatusCode::UNAUTHORIZED, "invalid_client".into())
    );
    assert_eq!(app.provider.stats().authorization_code_grants, 0);
}

#[tokio::test]
async fn client_secret_post_and_form_urlencoded_basic_credentials_both_authenticate() {
    let secret = "s3cr:t+/%é";
    let app = spawn_provider_with(Config {
        clients: vec![Client {
            secret: secret.into(),
            ..portero_client()
        }],
        ..Config::default()
    })
    .await;

    let code = app.code_for(&AuthRequest::default()).await;
    let post = app
        .post_form(
            "/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT_URI),
                ("code_verifier", VERIFIER),
                ("client_id", CLIENT_ID),
                ("client_secret", secret),
            ],
        )
        .await;
    assert_eq!(post.status(), StatusCode::OK);

    // RFC 6749 §2.3.1: form-urlencode id and secret, then base64 "id:secret".
    let encoded: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    let basic = STANDARD.encode(format!("{CLIENT_ID}:{encoded}"));
    let code = app.code_for(&AuthRequest::default()).await;
    let basic = app
        .http
        .post(app.url("/token"))
        .header(AUTHORIZATION, format!("Basic {basic}"))
        .form(&code_form(&code, VERIFIER))
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_unknown_grant_type_is_unsupported() {
    let app = spawn_provider().await;
    let response = app
        .token(&[("grant_type", "password"), ("username", "ada")])
        .await;
    assert_eq!(
        error_of(response).await,
        (StatusCode::BAD_REQUEST, "unsupported_grant_type".into())
    );
}

#[tokio::test]
async fn the_token_request_counter_counts_every_request_even_invalid_ones() {
    let app = spawn_provider().await;
    assert_eq!(app.provider.stats(), Stats::default());
    app.http
        .post(app.url("/token"))
        .body("garbage")
        .send()
        .await
        .unwrap();
    app.token(&[("grant_type", "authorization_code"), ("code", "made-up")])
        .await;
    app.tokens_for_ada().await;
    let stats = app.provider.stats();
    assert_eq!(stats.token_requests, 3);
    assert_eq!(stats.authorization_code_grants, 1);
}

#[tokio::test]
async fn a_refresh_token_works_once_and_its_replay_revokes_the_grant() {
    let app = spawn_provider().await;
    let tokens = app.tokens_for_ada().await;
    let first_refresh = tokens["refresh_token"].as_str().unwrap();
    let rotated: Value = app.refresh(first_refresh).await.json().await.unwrap();
    let new_access = rotated["access_token"].as_str().unwrap();
    assert!(app.provider.is_access_token_active(new_access));

    let replay = app.refresh(first_refresh).await;
    assert_eq!(error_of(replay).await.1, "invalid_grant");
    assert!(!app.provider.is_access_token_active(new_access));
    let successor = app
        .refresh(rotated["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(error_of(successor).await.1, "invalid_grant");
}

#[tokio::test]
async fn revoking_a_refresh_token_also_ends_its_access_token() {
    let app = spawn_provider().await;
    let tokens = app.tokens_for_ada().await;
    let access_token = tokens["access_token"].as_str().unwrap();
    let refresh_token = tokens["refresh_token"].as_str().unwrap();

    assert_eq!(app.revoke(refresh_token).await.status(), StatusCode::OK);
    assert!(!app.provider.is_access_token_active(access_token));
    assert_eq!(
        app.userinfo(access_token).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        error_of(app.refresh(refresh_token).await).await.1,
        "invalid_grant"
    );
    // Unknown tokens are answered 200 too (RFC 7009 §2.2).
    assert_eq!(app.revoke("never-issued").await.status(), StatusCode::OK);
    assert_eq!(app.provider.stats().revocations, 2);
}

#[tokio::test]
async fn revocation_needs_client_authentication() {
    let app = spawn_provider().await;
    let tokens = app.tokens_for_ada().await;
    let access_token = tokens["access_token"].as_str().unwrap();
    let response = app
        .http
        .post(app.url("/revoke"))
        .basic_auth(CLIENT_ID, Some("wrong"))
        .form(&[("token", access_token)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(app.provider.is_access_token_active(access_token));
    assert_eq!(app.provider.stats().revocations, 0);
}

#[tokio::test]
async fn an_access_token_stops_working_when_it_expires() {
    let app = spawn_provider_with(Config {
        clients: vec![portero_client()],
        // Long enough that a loaded machine still uses the token before it expires.
        access_token_ttl: Duration::from_secs(1),
        ..Config::default()
    })
    .await;
    let tokens = app.tokens_for_ada().await;
    let access_token = tokens["access_token"].as_str().unwrap();
    assert_eq!(app.userinfo(access_token).await.status(), StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(!app.provider.is_access_token_active(access_token));
    let expired = app.userinfo(access_token).await;
    assert_eq!(expired.status(), StatusCode::UNAUTHORIZED);
    assert!(expired.headers()[WWW_AUTHENTICATE]
        .to_str()
        .unwrap()
        .contains("invalid_token"));
}

#[tokio::test]
async fn userinfo_without_a_bearer_token_is_a_401_challenge() {
    let app = spawn_provider().await;
    let response = app.http.get(app.url("/userinfo")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.headers()[WWW_AUTHENTICATE]
        .to_str()
        .unwrap()
        .starts_with("Bearer"));
}

#[tokio::test]
async fn throttled_or_rate_limited_userinfo_calls_answer_429_with_retry_after() {
    let app = spawn_provider_with(Config {
        clients: vec![portero_client()],
        rate_limit_per_sec: Some(1),
        ..Config::default()
    })
    .await;
    let tokens = app.tokens_for_ada().await;
    let access_token = tokens["access_token"].as_str().unwrap();

    app.provider.throttle_next(1, 5);
    let throttled = app.userinfo(access_token).await;
    assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(throttled.headers()["retry-after"], "5");

    assert_eq!(app.userinfo(access_token).await.status(), StatusCode::OK);
    let limited = app.userinfo(access_token).await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited.headers()["retry-after"], "1");
    assert_eq!(app.provider.stats().userinfo_requests, 3);
}
