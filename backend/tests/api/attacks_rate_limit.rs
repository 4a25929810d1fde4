//! `POST /api/login/*` and `POST /api/session` are rate limited per client address (the TCP
//! peer, never a header the client writes), `POST /api/backchannel-logout/*` per client address
//! and provider: 429, `Retry-After`, the API's error shape.

use std::net::IpAddr;

use reqwest::Method;
use serde_json::json;

use crate::helpers::*;

const BURST: usize = 3;

/// Bursts of 3, then one request back every 10 s: the test never waits that long.
async fn limited_app() -> TestApp {
    limited_app_with("").await
}

async fn limited_app_with(server_extra: &str) -> TestApp {
    let provider = start_devprovider().await;
    let config = config_toml(&provider.issuer()).replace(
        "rate_limit_burst = 1000",
        &format!("rate_limit_burst = {BURST}\n        rate_limit_per_minute = 6\n{server_extra}"),
    );
    let mut app = spawn_app_with(&config).await;
    app.provider = Some(provider);
    app
}

/// `POST /api/login/dev` from `local` (a loopback address of this machine), with `extra` headers.
async fn login_from(app: &TestApp, local: &str, extra: &[(&str, &str)]) -> reqwest::Response {
    let client = reqwest::Client::builder()
        .local_address(local.parse::<IpAddr>().unwrap())
        .build()
        .unwrap();
    let mut request = client
        .post(app.url("/api/login/dev"))
        .header("x-csrf", "1")
        .header("origin", ORIGIN)
        .json(&json!({}));
    for (name, value) in extra {
        request = request.header(*name, *value);
    }
    request.send().await.expect("the backend answers")
}

#[tokio::test]
async fn the_login_after_the_burst_is_429_with_retry_after_and_the_json_error_shape() {
    let app = limited_app().await;
    let browser = app.browser();
    for n in 0..BURST {
        let reply = browser.post("/api/login/dev", Some(json!({}))).await;
        assert_eq!(
            reply.status, 200,
            "login {n} is within the burst: {}",
            reply.body
        );
    }
    let reply = browser.post("/api/login/dev", Some(json!({}))).await;
    reply.assert_error(429, "rate_limited");
    let retry_after: u64 = reply.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .expect("Retry-After in seconds");
    assert!(
        (1..=11).contains(&retry_after),
        "Retry-After: {retry_after}"
    );

    // One budget for both routes: finishing logins is limited as well.
    browser
        .post_session(json!({ "provider": "dev", "code": "c", "state": "s" }))
        .await
        .assert_error(429, "rate_limited");
    // Nothing reached the provider for the refused calls.
    assert_eq!(app.devprovider().stats().token_requests, 0);
}

#[tokio::test]
async fn other_routes_and_other_addresses_are_not_limited_and_forwarded_headers_change_nothing() {
    let app = limited_app().await;
    for _ in 0..BURST {
        assert_eq!(login_from(&app, "127.0.0.1", &[]).await.status(), 200);
    }
    // A client cannot pick its own budget by claiming another address.
    for header in ["x-forwarded-for", "x-real-ip", "forwarded"] {
        let value = if header == "forwarded" {
            "for=203.0.113.9"
        } else {
            "203.0.113.9"
        };
        let reply = login_from(&app, "127.0.0.1", &[(header, value)]).await;
        assert_eq!(reply.status(), 429, "{header} was trusted");
    }

    // The rest of the API and the health check are not counted.
    let browser = app.browser();
    for _ in 0..2 * BURST {
        assert_eq!(browser.get("/api/providers").await.status, 200);
        browser
            .get("/api/me")
            .await
            .assert_error(401, "not_logged_in");
        let reply = browser.request(Method::GET, "/healthz", None, &[]).await;
        assert_eq!(reply.status, 200);
    }

    // Another client address (127.0.0.2 is loopback too) has a budget of its own.
    assert_eq!(login_from(&app, "127.0.0.2", &[]).await.status(), 200);
}

#[tokio::test]
async fn a_limit_of_zero_turns_rate_limiting_off() {
    let provider = start_devprovider().await;
    let config = config_toml(&provider.issuer()).replace(
        "rate_limit_burst = 1000",
        "rate_limit_burst = 1\n        rate_limit_per_minute = 0",
    );
    let app = spawn_app_with(&config).await;
    let browser = app.browser();
    for _ in 0..5 {
        let reply = browser.post("/api/login/dev", Some(json!({}))).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_budget() {
    // 127.0.0.1 plays the proxy; 127.0.0.2 is a client connecting directly.
    let app = limited_app_with("trusted_proxies = [\"127.0.0.1\"]").await;
    let via_proxy = |client: &'static str| [("x-forwarded-for", client)];
    for _ in 0..BURST {
        let reply = login_from(&app, "127.0.0.1", &via_proxy("198.51.100.1")).await;
        assert_eq!(reply.status(), 200);
    }
    let reply = login_from(&app, "127.0.0.1", &via_proxy("198.51.100.1")).await;
    assert_eq!(reply.status(), 429, "198.51.100.1 spent its budget");
    // Another visitor behind the same proxy is not refused with the first.
    let reply = login_from(&app, "127.0.0.1", &via_proxy("198.51.100.2")).await;
    assert_eq!(reply.status(), 200);
    // A visitor cannot escape its budget by prepending addresses: the proxy's own append wins.
    let reply = login_from(
        &app,
        "127.0.0.1",
        &[("x-forwarded-for", "203.0.113.7, 198.51.100.1")],
    )
    .await;
    assert_eq!(reply.status(), 429, "the left part of the header was read");

    // A peer that is not a trusted proxy is counted by its own address, whatever it claims.
    for n in 0..BURST {
        let claimed = ["203.0.113.10", "203.0.113.11", "203.0.113.12"][n];
        let reply = login_from(&app, "127.0.0.2", &[("x-forwarded-for", claimed)]).await;
        assert_eq!(reply.status(), 200);
    }
    let reply = login_from(&app, "127.0.0.2", &[("x-forwarded-for", "203.0.113.13")]).await;
    assert_eq!(
        reply.status(),
        429,
        "an untrusted peer chose its own budget"
    );
}

/// A back-channel logout of `provider` from `local`, with a token that does not verify.
async fn backchannel_logout_from(app: &TestApp, local: &str, provider: &str) -> Reply {
    let client = reqwest::Client::builder()
        .local_address(local.parse::<IpAddr>().unwrap())
        .build()
        .unwrap();
    let reply = client
        .post(app.url(&format!("/api/backchannel-logout/{provider}")))
        .form(&[("logout_token", "not.a.token")])
        .send()
        .await
        .expect("the backend answers");
    Reply::of(reply).await
}

#[tokio::test]
async fn back_channel_logouts_are_limited_per_address_and_provider_with_429_and_retry_after() {
    let provider = start_devprovider().await;
    let config = format!(
        "{}\n[providers.other]\nkind = \"oidc\"\nissuer = \"{}\"\nclient_id = \"o\"\nclient_secret = \"os\"\n",
        config_toml(&provider.issuer()).replace(
            "rate_limit_burst = 1000",
            &format!(
                "rate_limit_burst = 1000\n        backchannel_logouts_burst = {BURST}\n        \
                 backchannel_logouts_per_minute = 6"
            ),
        ),
        provider.issuer()
    );
    let app = spawn_app_with(&config).await;
    for _ in 0..BURST {
        backchannel_logout_from(&app, "127.0.0.1", "dev")
            .await
            .assert_error(400, "invalid_logout_token");
    }
    let reply = backchannel_logout_from(&app, "127.0.0.1", "dev").await;
    reply.assert_error(429, "rate_limited");
    let retry_after: u64 = reply.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=10).contains(&retry_after), "{retry_after}");
    // The same address to another provider, and another address to this one: budgets of their own.
    backchannel_logout_from(&app, "127.0.0.1", "other")
        .await
        .assert_error(400, "invalid_logout_token");
    backchannel_logout_from(&app, "127.0.0.2", "dev")
        .await
        .assert_error(400, "invalid_logout_token");
    // Names no provider has share one budget per address (made-up names add no keys), and are
    // answered 404 within it.
    for name in ["nobody", "nemo", "x"].into_iter().take(BURST) {
        backchannel_logout_from(&app, "127.0.0.1", name)
            .await
            .assert_error(404, "unknown_provider");
    }
    backchannel_logout_from(&app, "127.0.0.1", "someone")
        .await
        .assert_error(429, "rate_limited");
}
