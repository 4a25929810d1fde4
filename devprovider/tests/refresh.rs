//! Refresh tokens in the standard dialect as race tests need them: rotation with the whole
//! grant revoked when a rotated token comes back, each kind of grant counted apart, and
//! `set_refresh_delay` holding the reply while the test does something else.

mod common;
#[path = "common/standard.rs"]
mod standard;

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;
use standard::*;

#[tokio::test]
async fn a_held_refresh_reply_comes_after_the_delay_with_working_tokens() {
    let app = spawn_provider().await;
    let tokens = app.tokens_for_ada().await;
    app.provider.set_refresh_delay(Duration::from_millis(400));

    let started = Instant::now();
    let response = app.refresh(tokens["refresh_token"].as_str().unwrap()).await;
    assert!(started.elapsed() >= Duration::from_millis(400));
    assert_eq!(response.status(), StatusCode::OK);
    let refreshed: Value = response.json().await.unwrap();
    let access_token = refreshed["access_token"].as_str().unwrap();
    assert!(app.provider.is_access_token_active(access_token));
    assert_ne!(refreshed["refresh_token"], tokens["refresh_token"]);
    assert_eq!(app.userinfo(access_token).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_replay_while_the_first_reply_is_held_revokes_the_whole_grant() {
    let app = spawn_provider().await;
    let tokens = app.tokens_for_ada().await;
    let old = tokens["refresh_token"].as_str().unwrap();
    app.provider.set_refresh_delay(Duration::from_millis(400));

    // Two refreshes with one token, as a client without a lock sends them: the first rotates
    // it at once, so the second is a replay.
    let second = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        app.refresh(old).await
    };
    let (first, second) = tokio::join!(app.refresh(old), second);
    assert_eq!(first.status(), StatusCode::OK);
    let first: Value = first.json().await.unwrap();
    assert_eq!(second.status(), StatusCode::BAD_REQUEST);
    let second: Value = second.json().await.unwrap();
    assert_eq!(second["error"], "invalid_grant");

    // The replay ended the family: the tokens the first reply carried are dead on arrival.
    assert!(!app
        .provider
        .is_access_token_active(first["access_token"].as_str().unwrap()));
    app.provider.set_refresh_delay(Duration::ZERO);
    let successor = app.refresh(first["refresh_token"].as_str().unwrap()).await;
    assert_eq!(successor.status(), StatusCode::BAD_REQUEST);
    let stats = app.provider.stats();
    assert_eq!(stats.refresh_grants, 1);
    assert_eq!(stats.token_requests, 4);
}

#[tokio::test]
async fn only_refresh_grants_are_held_and_a_zero_delay_holds_nothing() {
    let app = spawn_provider().await;
    app.provider.set_refresh_delay(Duration::from_secs(3));
    let started = Instant::now();
    let tokens = app.tokens_for_ada().await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "a code exchange is not held"
    );

    app.provider.set_refresh_delay(Duration::ZERO);
    let started = Instant::now();
    let response = app.refresh(tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn code_and_refresh_grants_are_counted_apart() {
    let app = spawn_provider().await;
    let tokens = app.tokens_for_ada().await;
    let mut refresh_token = tokens["refresh_token"].as_str().unwrap().to_owned();
    for _ in 0..2 {
        let refreshed: Value = app.refresh(&refresh_token).await.json().await.unwrap();
        refresh_token = refreshed["refresh_token"].as_str().unwrap().to_owned();
    }
    app.refresh("never-issued").await;
    let stats = app.provider.stats();
    assert_eq!(stats.authorization_code_grants, 1);
    assert_eq!(stats.refresh_grants, 2);
    assert_eq!(stats.token_requests, 4);
}
