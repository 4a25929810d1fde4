//! Rule 16: slow or greedy clients cost a bounded amount: a header-read timeout, a request
//! timeout, a cap on connections, and a per-session budget of provider calls.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::{helpers::*, sessions_support::*};

fn with_server(issuer: &str, lines: &str) -> String {
    config_toml(issuer).replace(
        "provider_timeout_secs = 2",
        &format!("provider_timeout_secs = 2\n        {lines}"),
    )
}

/// Reads until the server closes the connection (or 10 s pass); how long that took.
async fn closed_after(stream: &mut TcpStream) -> Duration {
    let started = Instant::now();
    let mut buf = [0u8; 1024];
    let waited = tokio::time::timeout(Duration::from_secs(10), async {
        while stream.read(&mut buf).await.is_ok_and(|n| n > 0) {}
    })
    .await;
    assert!(waited.is_ok(), "the server kept the connection open");
    started.elapsed()
}

#[tokio::test]
async fn a_connection_that_sends_half_a_request_line_is_closed_within_the_timeout() {
    let provider = start_devprovider().await;
    let app = spawn_app_with(&with_server(
        &provider.issuer(),
        "header_read_timeout_secs = 1",
    ))
    .await;
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    stream.write_all(b"GET /heal").await.unwrap();
    let took = closed_after(&mut stream).await;
    assert!(took < Duration::from_secs(5), "closed after {took:?}");
}

#[tokio::test]
async fn a_request_whose_body_never_finishes_is_answered_408_at_the_request_timeout() {
    let provider = start_devprovider().await;
    let app = spawn_app_with(&with_server(&provider.issuer(), "request_timeout_secs = 1")).await;
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    stream
        .write_all(
            format!(
                "POST /api/session HTTP/1.1\r\nhost: x\r\nx-csrf: 1\r\norigin: {ORIGIN}\r\n\
                 content-type: application/json\r\ncontent-length: 100\r\n\r\n{{\"provider\""
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer))
        .await
        .expect("answered in time")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("request_timeout"), "{answer}");
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_until_one_closes() {
    let provider = start_devprovider().await;
    let config = with_server(
        &provider.issuer(),
        "max_connections = 2\n        header_read_timeout_secs = 2",
    );
    let app = spawn_app_with(&config).await;
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut stream = TcpStream::connect(app.addr).await.unwrap();
        stream.write_all(b"GET /hea").await.unwrap();
        held.push(stream);
    }
    // Accepted once a place frees up: not while both are held.
    let health = tokio::spawn(reqwest::get(app.url("/healthz")));
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(
        !health.is_finished(),
        "a third connection was served beside two held ones"
    );
    // The header timeout closes the two; the third is served then.
    let reply = tokio::time::timeout(Duration::from_secs(10), health)
        .await
        .expect("served once a place was free")
        .unwrap()
        .unwrap();
    assert_eq!(reply.status(), 200);
}

#[tokio::test]
async fn a_burst_of_profile_calls_reaches_the_provider_a_bounded_number_of_times() {
    let provider = start_devprovider().await;
    let config = config_toml(&provider.issuer()).replace(
        "provider_calls_burst = 1000",
        "provider_calls_per_minute = 1\n        provider_calls_burst = 3",
    );
    let app = spawn_app_with(&config).await;
    let browser = Arc::new(app.browser());
    log_in(&browser, "ada").await;
    let before = provider.stats().userinfo_requests;
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..12 {
        let browser = browser.clone();
        calls.spawn(async move { browser.get("/api/profile").await });
    }
    let mut answered = 0;
    while let Some(reply) = calls.join_next().await {
        let reply = reply.unwrap();
        if reply.status == 200 {
            answered += 1;
        } else {
            reply.assert_error(429, "rate_limited");
            assert!(reply.headers.contains_key("retry-after"));
        }
    }
    assert_eq!(answered, 3, "the burst");
    assert_eq!(provider.stats().userinfo_requests - before, 3);
    // Another person's session has a budget of its own.
    let other = app.browser();
    log_in(&other, "grace").await;
    assert_eq!(other.get("/api/profile").await.status, 200);
}
