//! Rule 13: a flood of `POST /api/login` from many addresses cannot fill the store. Attempts
//! live `login_timeout_secs` (and their records a little longer, to tell a late answer it is
//! late), a browser that only started logins has no session record at all, and attempts under
//! way are capped per address and in all.

use std::{net::IpAddr, time::Duration};

use crate::{helpers::*, sessions_support::*};

fn address(n: u32) -> IpAddr {
    IpAddr::from([127, 0, (n / 250) as u8, (n % 250 + 2) as u8])
}

fn flood_config(issuer: &str, db: &std::path::Path, extra: &str) -> String {
    config_on(
        issuer,
        &format!("sqlite://{}", db.display()),
        &format!("secret_key = \"{SECRET_KEY}\"\n        login_timeout_secs = 1\n        {extra}"),
    )
}

#[tokio::test]
async fn hundreds_of_attempts_from_many_addresses_leave_nothing_once_they_expire() {
    let provider = start_devprovider().await;
    let db = temp_dir("flood").join("sessions.db");
    let app = spawn_app_with(&flood_config(&provider.issuer(), &db, "")).await;
    let mut started = tokio::task::JoinSet::new();
    for n in 0..300 {
        let browser = app.browser_at(address(n % 60));
        started.spawn(async move { browser.post(&format!("/api/login/{PROVIDER}"), None).await });
    }
    while let Some(reply) = started.join_next().await {
        let reply = reply.unwrap();
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
    assert_eq!(app.pending_attempts().await, Some(300));
    assert_eq!(
        app.active_sessions().await,
        Some(0),
        "no session record: each browser's binding is a cookie of its own"
    );

    // 1 s to live, 4 s more to tell a late answer it is late, and a sweep.
    tokio::time::sleep(Duration::from_secs(7)).await;
    assert_eq!(app.active_sessions().await, Some(0));
    assert_eq!(app.pending_attempts().await, Some(0));
    let rows = sqlite_rows(&db).await;
    assert!(
        !rows.iter().any(|row| row.starts_with("portero_attempts:")),
        "no attempt record is left: {rows:?}"
    );
    assert!(
        !rows.iter().any(|row| row.starts_with("portero_sessions:")),
        "no session record is left: {rows:?}"
    );
}

#[tokio::test]
async fn attempts_under_way_are_capped_per_address_and_in_all_until_they_expire() {
    let provider = start_devprovider().await;
    let db = temp_dir("caps").join("sessions.db");
    let config = flood_config(
        &provider.issuer(),
        &db,
        "max_pending_logins_per_address = 2\n        max_pending_logins = 3",
    );
    let app = spawn_app_with(&config).await;
    let login = |n: u32| {
        let browser = app.browser_at(address(n));
        async move { browser.post(&format!("/api/login/{PROVIDER}"), None).await }
    };
    assert_eq!(login(1).await.status, 200);
    assert_eq!(login(1).await.status, 200);
    let third = login(1).await;
    third.assert_error(429, "rate_limited");
    assert!(third.headers.contains_key("retry-after"));
    assert_eq!(
        login(2).await.status,
        200,
        "another address has its own places"
    );
    login(3).await.assert_error(429, "rate_limited");

    assert_eq!(app.pending_attempts().await, Some(3));
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(
        login(3).await.status,
        200,
        "expired attempts free their places"
    );
}

#[tokio::test]
async fn a_login_that_finishes_frees_its_place_at_once() {
    let provider = start_devprovider().await;
    let db = temp_dir("free").join("sessions.db");
    let config = flood_config(&provider.issuer(), &db, "max_pending_logins = 1")
        .replace("login_timeout_secs = 1", "login_timeout_secs = 600");
    let app = spawn_app_with(&config).await;
    let first = app.browser_at(address(1));
    log_in(&first, "ada").await;
    let second = app.browser_at(address(2));
    log_in(&second, "grace").await;
    assert_eq!(app.active_sessions().await, Some(2));
    assert_eq!(app.pending_attempts().await, Some(0));
}
