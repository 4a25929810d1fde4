//! docs/design.md, "Security rules", 1, 2, 4, 5 and 7, each attacked through the real HTTP path.

use serde_json::json;
use shared::SessionResponse;

use crate::{
    fake_oidc::{fake_callback_body, FakeOidc},
    helpers::*,
};

// ---- rule 1: state -----------------------------------------------------------------------------

#[tokio::test]
async fn a_wrong_or_missing_state_is_400_and_no_token_request_is_made() {
    let app = spawn_app().await;
    let browser = app.browser();
    let login = browser.start_login(PROVIDER, None).await;
    let callback = consent(&login, "ada", "allow").await;
    let mut body = callback_body(PROVIDER, &callback);

    body["state"] = json!("x".repeat(43));
    browser
        .post_session(body.clone())
        .await
        .assert_error(400, "invalid_state");
    body.as_object_mut().unwrap().remove("state");
    browser
        .post_session(body)
        .await
        .assert_error(400, "bad_request");
    assert_eq!(app.devprovider().stats().token_requests, 0);
}

#[tokio::test]
async fn a_replayed_answer_is_400_and_reaches_the_provider_once() {
    let app = spawn_app().await;
    let browser = app.browser();
    let login = browser.start_login(PROVIDER, None).await;
    let body = callback_body(PROVIDER, &consent(&login, "ada", "allow").await);
    assert_eq!(browser.post_session(body.clone()).await.status, 200);
    browser
        .post_session(body)
        .await
        .assert_error(400, "invalid_state");
    assert_eq!(app.devprovider().stats().token_requests, 1);
}

#[tokio::test]
async fn a_state_is_used_up_by_a_login_that_failed_and_its_retry_reaches_no_token_endpoint() {
    // The test above would pass without removal (a login that succeeds ends every attempt of
    // the browser): here the first use fails, so only removal makes the second one a 400.
    let first_tries = [
        // The token endpoint refuses the code (expired, or already used).
        (None, 502, "provider_error", 1),
        // The mix-up defense refuses the answer, before any token request.
        (Some("https://evil.example"), 400, "issuer_mismatch", 0),
    ];
    for (iss, status, code, requests) in first_tries {
        let provider = FakeOidc::start().await;
        provider
            .token_endpoint_answers(400, json!({ "error": "invalid_grant" }))
            .await;
        let app = provider.spawn_app().await;
        let browser = app.browser();
        let login = browser.start_login(PROVIDER, None).await;
        let mut body = fake_callback_body(&login);
        if let Some(iss) = iss {
            body["iss"] = json!(iss);
        }
        browser
            .post_session(body.clone())
            .await
            .assert_error(status, code);
        body.as_object_mut().unwrap().remove("iss");
        browser
            .post_session(body)
            .await
            .assert_error(400, "invalid_state");
        assert_eq!(provider.token_requests().await, requests, "after {code}");
    }
}

#[tokio::test]
async fn a_state_issued_to_another_browser_is_400() {
    let app = spawn_app().await;
    let victim = app.browser();
    let attacker = app.browser();
    let login = attacker.start_login(PROVIDER, None).await;
    let body = callback_body(PROVIDER, &consent(&login, "alan", "allow").await);
    // Login CSRF: the attacker's answer planted in the victim's browser.
    assert_invalid_state(&victim, body, app.devprovider()).await;
}

#[tokio::test]
async fn a_state_issued_for_another_provider_is_400() {
    let provider = start_devprovider().await;
    let issuer = provider.issuer();
    let config = format!(
        "{}\n[providers.other]\nkind = \"oidc\"\nissuer = \"{issuer}\"\nclient_id = \"{CLIENT_ID}\"\nclient_secret = \"{CLIENT_SECRET}\"\n",
        config_toml(&issuer)
    );
    let app = spawn_app_with(&config).await;
    let browser = app.browser();
    let login = browser.start_login("dev", None).await;
    let mut body = callback_body("dev", &consent(&login, "ada", "allow").await);
    body["provider"] = json!("other");
    assert_invalid_state(&browser, body, &provider).await;
}

#[tokio::test]
async fn a_refused_consent_is_answered_without_a_code_by_the_provider() {
    // devprovider's own behaviour, which the SPA's callback page relies on.
    let app = spawn_app().await;
    let login = app.browser().start_login(PROVIDER, None).await;
    let callback = consent(&login, "ada", "deny").await;
    let q = query(&callback);
    assert_eq!(q["error"], "access_denied");
    assert!(!q.contains_key("code"));
}

// ---- rule 2: PKCE ------------------------------------------------------------------------------

#[tokio::test]
async fn a_code_presented_with_another_attempts_verifier_is_refused_by_the_provider() {
    let app = spawn_app().await;
    let browser = app.browser();
    let stolen = browser.start_login(PROVIDER, None).await;
    let stolen_code = query(&consent(&stolen, "ada", "allow").await)["code"].clone();
    // The attacker's own attempt (own state, own verifier) with the victim's code.
    let own = browser.start_login(PROVIDER, None).await;
    let reply = browser
        .post_session(
            json!({ "provider": PROVIDER, "code": stolen_code, "state": own.params["state"],
                          "iss": app.devprovider().issuer() }),
        )
        .await;
    reply.assert_error(502, "provider_error");
    assert!(reply.body.contains("invalid_grant"), "{}", reply.body);
}

// ---- rule 4: exact redirect URI ------------------------------------------------------------------

#[tokio::test]
async fn the_redirect_uri_ignores_everything_the_request_says() {
    let app = spawn_app().await;
    let reply = app
        .browser()
        .request(
            reqwest::Method::POST,
            "/api/login/dev",
            Some(json!({ "redirect_uri": "https://evil.example/cb" })),
            &[
                ("x-csrf", "1"),
                ("host", "evil.example"),
                ("x-forwarded-host", "evil.example"),
                ("x-forwarded-proto", "https"),
            ],
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let login: shared::LoginResponse = reply.json();
    assert_eq!(
        login.params["redirect_uri"],
        format!("{ORIGIN}/callback/dev")
    );
}

// ---- rule 5: return_to ---------------------------------------------------------------------------

#[tokio::test]
async fn return_to_keeps_same_origin_paths_and_turns_everything_else_into_root() {
    let app = spawn_app().await;
    let long = format!("/{}", "a".repeat(5000));
    let cases = [
        ("/profile?tab=1", "/profile?tab=1"),
        ("//evil.example", "/"),
        ("/\\evil.example", "/"),
        ("https://evil.example", "/"),
        ("/%2F%2Fevil.example", "/"),
        ("javascript:alert(1)", "/"),
        (long.as_str(), "/"),
    ];
    for (given, expected) in cases {
        let browser = app.browser();
        let login = browser.start_login(PROVIDER, Some(given)).await;
        let body = callback_body(PROVIDER, &consent(&login, "ada", "allow").await);
        let reply = browser.post_session(body).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(
            reply.json::<SessionResponse>().return_to,
            expected,
            "{given:?}"
        );
    }
}

// ---- rule 7: the session cookie ------------------------------------------------------------------

#[tokio::test]
async fn the_session_cookie_is_httponly_secure_lax_host_wide_and_renewed_at_login() {
    let app = spawn_app().await;
    let browser = app.browser();
    crate::sessions_support::log_in(&browser, "ada").await;
    let before = browser.session_cookie().expect("logged in");
    assert_eq!(
        browser.login_cookie(),
        None,
        "the login's binding ends with it"
    );
    // Logging in again in the same browser: another fresh id.
    let login = browser.start_login(PROVIDER, None).await;
    let body = callback_body(PROVIDER, &consent(&login, "ada", "allow").await);
    assert_eq!(browser.post_session(body).await.status, 200);
    let after = browser.session_cookie().expect("logged in");
    assert_ne!(before, after, "a fresh session id at login (no fixation)");

    let headers = browser.set_cookie_headers.lock().unwrap().clone();
    // The login binding's cookie lives as long as its attempt, and the login that succeeds
    // clears it.
    let binding: Vec<&String> = headers
        .iter()
        .filter(|h| h.starts_with("portero_login="))
        .collect();
    let max_age = |h: &str| {
        h.split(';')
            .find_map(|a| a.trim().strip_prefix("Max-Age="))
            .and_then(|v| v.parse::<u64>().ok())
    };
    assert!(
        binding.iter().any(|h| max_age(h).is_some_and(|s| s > 0)),
        "{binding:?}"
    );
    assert!(binding.iter().any(|h| max_age(h) == Some(0)), "{binding:?}");
    for header in &headers {
        let attrs: Vec<String> = header
            .split(';')
            .map(|a| a.trim().to_ascii_lowercase())
            .collect();
        assert!(
            header.starts_with("portero_session=") || header.starts_with("portero_login="),
            "{header}"
        );
        for wanted in ["httponly", "secure", "samesite=lax", "path=/"] {
            assert!(
                attrs.iter().any(|a| a == wanted),
                "{wanted} missing in {header}"
            );
        }
        assert!(!attrs.iter().any(|a| a.starts_with("domain")), "{header}");
    }

    // The id from before the login is dead: planting it in a victim's browser gains nothing.
    let fixated = app.browser();
    let reply = fixated
        .request(
            reqwest::Method::GET,
            "/api/me",
            None,
            &[
                ("x-csrf", "1"),
                ("cookie", &format!("portero_session={before}")),
            ],
        )
        .await;
    reply.assert_error(401, "not_logged_in");
}

#[tokio::test]
async fn over_https_the_cookie_name_carries_the_host_prefix() {
    let provider = start_devprovider().await;
    let config = config_toml(&provider.issuer()).replace(ORIGIN, "https://app.example");
    let app = spawn_app_with(&config).await;
    let browser = app.browser();
    let reply = browser
        .post_login_without_body("dev", &[("x-csrf", "1"), ("origin", "https://app.example")])
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    // The login binding's cookie: the session's own is checked over HTTPS in attacks_session.rs.
    let cookie = reply.headers["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with("__Host-portero_login="), "{cookie}");
    assert!(
        cookie.contains("Secure") && cookie.contains("Path=/"),
        "{cookie}"
    );
}
