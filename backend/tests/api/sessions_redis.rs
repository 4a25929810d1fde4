//! Sessions in Redis, the store for several replicas: two backends share the sessions, an
//! outage is a 503 `store_unavailable` (never a 500 or a hang) that ends by itself, and the
//! stored values hold no provider token in clear text.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;
use shared::MeResponse;

use crate::{fake_oidc::FakeOidc, helpers::*, redis_server::RedisServer, sessions_support::*};

fn redis_config(issuer: &str, redis: &RedisServer) -> String {
    config_with_store(issuer, &redis.url())
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
    let access = "redis-raw-access-71f0c3aa";
    let refresh = "redis-raw-refresh-2d9be845";
    let id_token = log_in_with_tokens(&provider, &browser, access, refresh).await;

    let values = redis.dump_values().await;
    assert!(
        values.iter().any(|v| v.starts_with("portero:s:")),
        "the logged-in session is among the values: {values:?}"
    );
    // Rule 22: the record is sealed whole, its index keyed hashes: not even who is logged in.
    let person = ["user-1", "Test Person", "person@example.test"];
    assert_not_in_clear_text(&values, &[access, refresh, &id_token, CLIENT_SECRET]);
    assert_not_in_clear_text(&values, &person);
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
        pending.login_cookie().unwrap(),
    ] {
        assert!(
            values.iter().all(|v| !v.contains(&cookie)),
            "{cookie} in {values:?}"
        );
    }
}

/// A `portero` process (the binary, as a replica runs) with `config`; stopped when dropped.
struct Replica {
    child: std::process::Child,
    base: String,
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn replica(config: &str, name: &str) -> Replica {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = temp_dir(name);
    let file = dir.join("portero.toml");
    std::fs::write(
        &file,
        config.replace(
            "bind = \"127.0.0.1:0\"",
            &format!("bind = \"127.0.0.1:{port}\""),
        ),
    )
    .unwrap();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_portero"))
        .arg("--config")
        .arg(&file)
        .current_dir(&dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Owned by a Replica at once so a failed start still kills and reaps the process.
    let replica = Replica {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    for _ in 0..100 {
        if reqwest::get(format!("{}/healthz", replica.base))
            .await
            .is_ok()
        {
            return replica;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{name} did not start");
}

#[tokio::test]
async fn two_replica_processes_refresh_a_rotating_token_once_and_no_one_is_logged_out() {
    let redis = RedisServer::start("two-processes").await;
    // 33 s tokens: after 4 s they are inside the 30 s refresh margin. devprovider rotates the
    // refresh token and revokes the whole grant when an old one comes back.
    let provider = start_devprovider_with_token_ttl(Duration::from_secs(33)).await;
    let config = redis_config(&provider.issuer(), &redis);
    let (a, b) = (
        replica(&config, "replica-a").await,
        replica(&config, "replica-b").await,
    );
    // The login itself, through an in-process backend on the same Redis.
    let app = spawn_app_with(&config).await;
    let browser = app.browser();
    let user = log_in(&browser, "ada").await;
    let cookie = format!("portero_session={}", browser.session_cookie().unwrap());
    tokio::time::sleep(Duration::from_secs(4)).await;
    // Slow enough that the calls on both replicas meet while one refreshes.
    provider.set_refresh_delay(Duration::from_millis(500));
    let before = provider.stats().refresh_grants;
    let http = reqwest::Client::new();
    let mut calls = tokio::task::JoinSet::new();
    for n in 0..16 {
        let url = format!("{}/api/profile", if n % 2 == 0 { &a.base } else { &b.base });
        let request = http
            .get(url)
            .header("x-csrf", "1")
            .header("origin", ORIGIN)
            .header("cookie", &cookie);
        calls.spawn(async move {
            let response = request.send().await.unwrap();
            (response.status(), response.text().await.unwrap())
        });
    }
    while let Some(answer) = calls.join_next().await {
        let (status, body) = answer.unwrap();
        assert_eq!(status, 200, "{body}");
        assert!(body.contains(&user.subject), "{body}");
    }
    // Still logged in, with the rotated refresh token kept: the next refresh works too.
    assert_refreshed_once_and_the_rotated_token_kept(&provider, before, || async {
        let again = http
            .get(format!("{}/api/profile", b.base))
            .header("x-csrf", "1")
            .header("origin", ORIGIN)
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        again.status()
    })
    .await;
}

/// A password in `session.store` is a secret: a replica Redis refuses (a wrong password) says so
/// in its log and answers 503, naming neither password; with the right one, it serves.
#[tokio::test]
async fn the_redis_password_is_in_no_answer_and_no_log_line() {
    let redis =
        RedisServer::start_with("password", &["--requirepass", "right-horse-battery"]).await;
    let provider = start_devprovider().await;
    let with = |password: &str| {
        let url = format!("redis://:{password}@127.0.0.1:{}", redis.port);
        config_with_store(&provider.issuer(), &url)
    };
    let refused = spawn_app_with(&with("wrong-horse-battery")).await;
    let ready = refused.browser().get("/readyz").await;
    assert_eq!(ready.status, 503);
    let login = refused
        .browser()
        .post("/api/login/dev", Some(json!({})))
        .await;
    login.assert_error(503, "store_unavailable");
    let served = spawn_app_with(&with("right-horse-battery")).await;
    log_in(&served.browser(), "ada").await;
    let logs = crate::logs::text();
    assert!(
        logs.contains("session store failed"),
        "the refusal is logged"
    );
    for reply in [&ready, &login] {
        assert!(!reply.body.contains("horse-battery"), "{}", reply.body);
    }
    assert!(!logs.contains("horse-battery"), "a password in the log");
}
