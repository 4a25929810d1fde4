//! A session's lock (backend/src/session/lock.rs): a request never waits for a lock it holds
//! itself, and across replicas a refresh keeps the lock for as long as it takes, so a rotating
//! refresh token is spent once.

use std::time::Duration;

use shared::{MeResponse, ProfileResponse};

use crate::{helpers::*, redis_server::RedisServer, sessions_support::*, upstream::Upstream};

/// No answer below may take this long: a request waiting for itself would.
const AT_ONCE: Duration = Duration::from_secs(5);

async fn at_once(reply: impl std::future::Future<Output = Reply>, what: &str) -> Reply {
    tokio::time::timeout(AT_ONCE, reply)
        .await
        .unwrap_or_else(|_| panic!("{what} did not answer within {AT_ONCE:?}"))
}

/// With a short idle timeout every request moves the expiry, and keeps the session's lock until
/// its answer is saved; a refresh due in the same request runs under that lock. Before it did,
/// `/api/profile` waited for itself until its 30 s request timeout, and a gateway call with the
/// access token for ever.
#[tokio::test]
async fn with_a_short_idle_timeout_a_due_refresh_answers_the_profile_and_the_gateway_at_once() {
    let redis = RedisServer::start("locks-idle").await;
    // 33 s tokens: after 4 s they are inside the 30 s refresh margin.
    let provider = start_devprovider_with_token_ttl(Duration::from_secs(33)).await;
    let upstream = Upstream::start().await;
    for store in ["memory".to_owned(), redis.url()] {
        let config = format!(
            "{}\n        [upstreams.tokens]\n        prefix = \"/api/tokens\"\n        \
             url = \"{}\"\n        access_token = true\n",
            config_with_store(&provider.issuer(), &store).replace(
                &format!("store = \"{store}\""),
                &format!("store = \"{store}\"\n        idle_timeout_secs = 10"),
            ),
            upstream.url()
        );
        let app = spawn_app_with(&config).await;
        let (profile_reader, gateway_caller) = (app.browser(), app.browser());
        let ada = log_in(&profile_reader, "ada").await;
        log_in(&gateway_caller, "grace").await;
        tokio::time::sleep(Duration::from_secs(4)).await;
        let before = provider.stats().refresh_grants;

        let profile = at_once(profile_reader.get("/api/profile"), "/api/profile").await;
        assert_eq!(profile.status, 200, "{store}: {}", profile.body);
        assert_eq!(profile.json::<ProfileResponse>().user.subject, ada.subject);
        let called = at_once(gateway_caller.get("/api/tokens/notes"), "the gateway").await;
        assert_eq!(called.status, 200, "{store}: {}", called.body);
        let received = upstream.received();
        let bearer = received
            .last()
            .expect("the app was called")
            .header("authorization");
        assert!(bearer.starts_with("Bearer "), "{bearer}");
        assert_eq!(
            provider.stats().refresh_grants - before,
            2,
            "{store}: each request refreshed its session's tokens"
        );
        // Nothing of either session is left waiting.
        for browser in [&profile_reader, &gateway_caller] {
            let me = at_once(browser.get("/api/me"), "/api/me").await;
            assert_eq!(me.status, 200, "{store}: {}", me.body);
            me.json::<MeResponse>();
            let out = at_once(browser.post("/api/logout", None), "/api/logout").await;
            assert_eq!(out.status, 200, "{store}: {}", out.body);
        }
    }
}

/// A refresh that takes 17 s at the provider, longer than the replica lock used to last (a
/// fixed 15 s): the replica that waits for it must not take the lock while the refresh still
/// runs, or it spends the rotated refresh token again and devprovider revokes the grant.
#[tokio::test]
async fn a_refresh_slower_than_fifteen_seconds_on_two_replicas_spends_the_refresh_token_once() {
    let redis = RedisServer::start("locks-slow-refresh").await;
    // 33 s tokens: after 4 s they are inside the 30 s refresh margin. devprovider rotates the
    // refresh token and revokes the whole grant when an old one comes back.
    let provider = start_devprovider_with_token_ttl(Duration::from_secs(33)).await;
    let config = config_with_store(&provider.issuer(), &redis.url())
        .replace("provider_timeout_secs = 2", "provider_timeout_secs = 30");
    let (a, b) = (spawn_app_with(&config).await, spawn_app_with(&config).await);
    let browser = a.browser();
    let user = log_in(&browser, "ada").await;
    let id = browser.session_cookie().expect("a session cookie");
    tokio::time::sleep(Duration::from_secs(4)).await;
    provider.set_refresh_delay(Duration::from_secs(17));
    let before = provider.stats().refresh_grants;

    let profile_on = |app: &TestApp| {
        let (base, id) = (app.url(""), id.clone());
        let http = reqwest::Client::new();
        tokio::spawn(async move {
            let response = http
                .get(format!("{base}/api/profile"))
                .header("x-csrf", "1")
                .header("origin", ORIGIN)
                .header("cookie", format!("portero_session={id}"))
                .send()
                .await
                .unwrap();
            (response.status(), response.text().await.unwrap())
        })
    };
    let refreshing = profile_on(&a);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let waiting = profile_on(&b);
    // Still waiting when the old lock would have lapsed, 15 s into the refresh.
    tokio::time::sleep(Duration::from_secs(12)).await;
    let late = profile_on(&b);
    for call in [refreshing, waiting, late] {
        let (status, body) = call.await.unwrap();
        assert_eq!(status, 200, "{body}");
        assert!(body.contains(&user.subject), "{body}");
    }
    assert_refreshed_once_and_the_rotated_token_kept(&provider, before, || async {
        call_with_cookie(&b, reqwest::Method::GET, "/api/profile", &id)
            .await
            .status
    })
    .await;
}

/// A request that extended its session keeps the session's lock until its answer is saved, here
/// 12 s while an app behind the gateway answers: longer than the lock's lease in Redis (9 s with
/// `provider_timeout_secs = 1`). The lock is renewed while held, so another replica that needs a
/// refresh meanwhile waits for it, rather than refreshing while the first one's copy of the
/// session (with the tokens before the refresh) is still to be saved.
#[tokio::test]
async fn a_lock_held_past_its_lease_is_renewed_and_another_replica_waits_for_it() {
    let redis = RedisServer::start("locks-renewed").await;
    // 33 s tokens: after 4 s they are inside the 30 s refresh margin.
    let provider = start_devprovider_with_token_ttl(Duration::from_secs(33)).await;
    let upstream = Upstream::start().await;
    let config = format!(
        "{}\n        [upstreams.app]\n        prefix = \"/api/app\"\n        url = \"{}\"\n",
        config_with_store(&provider.issuer(), &redis.url())
            .replace("provider_timeout_secs = 2", "provider_timeout_secs = 1")
            .replace(
                &format!("store = \"{}\"", redis.url()),
                &format!(
                    "store = \"{}\"\n        idle_timeout_secs = 30",
                    redis.url()
                ),
            ),
        upstream.url()
    );
    let (a, b) = (spawn_app_with(&config).await, spawn_app_with(&config).await);
    let browser = a.browser();
    log_in(&browser, "ada").await;
    let id = browser.session_cookie().expect("a session cookie");
    tokio::time::sleep(Duration::from_secs(4)).await;
    let before = provider.stats().refresh_grants;

    let holding = tokio::spawn(async move { browser.get("/api/app/twelve-seconds").await });
    tokio::time::sleep(Duration::from_secs(10)).await;
    let profile = call_with_cookie(&b, reqwest::Method::GET, "/api/profile", &id).await;
    assert_eq!(profile.status, 200, "{}", profile.body);
    let held = holding.await.unwrap();
    assert_eq!(held.status, 200, "{}", held.body);
    assert_refreshed_once_and_the_rotated_token_kept(&provider, before, || async {
        call_with_cookie(&a, reqwest::Method::GET, "/api/profile", &id)
            .await
            .status
    })
    .await;
}
