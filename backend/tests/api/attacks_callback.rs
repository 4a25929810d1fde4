//! Attacks on the answer a provider sends back (`POST /api/session`) that
//! security_rules.rs does not already make: an expired state, a replayed code, a code sent
//! without the attempt's cookie, and the mix-up defense (`iss`, rule 3, RFC 9207).

use std::time::Duration;

use serde_json::json;

use crate::helpers::*;

// ---- rule 1: an attempt expires --------------------------------------------------------------

#[tokio::test]
async fn an_answer_after_the_login_timeout_is_400_state_expired_and_reaches_no_token_endpoint() {
    let provider = start_devprovider().await;
    let config = config_toml(&provider.issuer()).replace(
        "store = \"memory\"",
        "store = \"memory\"\n        login_timeout_secs = 1",
    );
    let app = spawn_app_with(&config).await;
    let browser = app.browser();
    let login = browser.start_login(PROVIDER, None).await;
    let body = callback_body(PROVIDER, &consent(&login, "ada", "allow").await);
    // Timestamps are whole seconds: 2 s later is always more than 1 s later.
    tokio::time::sleep(Duration::from_secs(2)).await;

    let reply = browser.post_session(body.clone()).await;
    reply.assert_error(400, "state_expired");
    assert_eq!(provider.stats().token_requests, 0);
    // The expired attempt was used up too: it cannot be retried.
    assert_invalid_state(&browser, body, &provider).await;
}

#[tokio::test]
async fn an_answer_within_the_login_timeout_is_accepted() {
    // The other side of the test above: the timeout is not simply "always expired".
    let provider = start_devprovider().await;
    let config = config_toml(&provider.issuer()).replace(
        "store = \"memory\"",
        "store = \"memory\"\n        login_timeout_secs = 30",
    );
    let app = spawn_app_with(&config).await;
    let browser = app.browser();
    let login = browser.start_login(PROVIDER, None).await;
    let body = callback_body(PROVIDER, &consent(&login, "ada", "allow").await);
    let reply = browser.post_session(body).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
}

// ---- codes -------------------------------------------------------------------------------------

#[tokio::test]
async fn a_code_replayed_with_a_fresh_attempt_is_refused_by_the_provider_and_the_first_session_lives_on(
) {
    let app = spawn_app().await;
    let victim = app.browser();
    let login = victim.start_login(PROVIDER, None).await;
    let callback = consent(&login, "ada", "allow").await;
    let used = callback_body(PROVIDER, &callback);
    assert_eq!(victim.post_session(used.clone()).await.status, 200);

    // Someone who saw the code (a log, a Referer, browser history) replays it with an attempt
    // of their own, so state and PKCE pass in their browser: only the provider can say no.
    let attacker = app.browser();
    let own = attacker.start_login(PROVIDER, None).await;
    let mut replay = used.clone();
    replay["state"] = json!(own.params["state"]);
    let reply = attacker.post_session(replay).await;
    reply.assert_error(502, "provider_error");
    assert!(reply.body.contains("invalid_grant"), "{}", reply.body);
    attacker
        .get("/api/me")
        .await
        .assert_error(401, "not_logged_in");

    // The same replay from the victim's own browser fails the same way, and a failed login
    // leaves the session that was already there untouched.
    let fresh = victim.start_login(PROVIDER, None).await;
    let mut replay = used;
    replay["state"] = json!(fresh.params["state"]);
    victim
        .post_session(replay)
        .await
        .assert_error(502, "provider_error");
    let me = victim.get("/api/me").await;
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(me.json::<shared::MeResponse>().user.subject, "user-ada");
    assert_eq!(app.devprovider().stats().authorization_code_grants, 1);
}

#[tokio::test]
async fn a_code_sent_without_the_attempts_cookie_is_400_and_the_attempt_stays_with_its_browser() {
    let app = spawn_app().await;
    let browser = app.browser();
    let login = browser.start_login(PROVIDER, None).await;
    let body = callback_body(PROVIDER, &consent(&login, "ada", "allow").await);

    // The same request, minus the cookie (stripped, blocked, or sent from elsewhere).
    let cookieless = app.browser();
    assert_invalid_state(&cookieless, body.clone(), app.devprovider()).await;

    // The browser that started the login still can finish it.
    let reply = browser.post_session(body).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
}

// ---- rule 3: mix-up defense (RFC 9207) ---------------------------------------------------------

#[tokio::test]
async fn a_missing_iss_from_a_provider_that_declares_it_is_400_and_reaches_no_token_endpoint() {
    let app = spawn_app().await;
    let browser = app.browser();
    let login = browser.start_login(PROVIDER, None).await;
    let callback = consent(&login, "ada", "allow").await;
    // devprovider declares `authorization_response_iss_parameter_supported` and sends `iss`.
    assert_eq!(query(&callback)["iss"], app.devprovider().issuer());
    let mut body = callback_body(PROVIDER, &callback);
    body.as_object_mut().unwrap().remove("iss");
    browser
        .post_session(body)
        .await
        .assert_error(400, "issuer_mismatch");
    assert_eq!(app.devprovider().stats().token_requests, 0);
}

#[tokio::test]
async fn an_iss_other_than_the_configured_issuer_is_400_and_reaches_no_token_endpoint() {
    let app = spawn_app().await;
    let issuer = app.devprovider().issuer();
    let near_misses = [
        "https://evil.example".to_owned(),
        format!("{issuer}/"),
        issuer.to_uppercase(),
        format!("{issuer}.evil.example"),
        String::new(),
    ];
    for iss in near_misses {
        let browser = app.browser();
        let login = browser.start_login(PROVIDER, None).await;
        let mut body = callback_body(PROVIDER, &consent(&login, "ada", "allow").await);
        body["iss"] = json!(iss);
        let reply = browser.post_session(body).await;
        assert_eq!(reply.status, 400, "{iss:?}: {}", reply.body);
        reply.assert_error(400, "issuer_mismatch");
    }
    assert_eq!(app.devprovider().stats().token_requests, 0);
}
