//! Rule 8: provider tokens and the client secret never leave the backend — not in a body, a
//! header, a log line or an error message — and the session store holds them sealed only.

use base64::{engine::general_purpose::STANDARD, Engine};
use serde_json::{json, Value};
use wiremock::{
    matchers::{method, path},
    Mock, ResponseTemplate,
};

use crate::{
    fake_oidc::{fake_callback_body, key, sign, FakeOidc},
    helpers::*,
    logs,
};

/// Logs `browser` in at `provider`, whose token endpoint answers `tokens` and a valid id_token:
/// the `/api/session` body and its reply, and that id_token.
async fn log_in(provider: &FakeOidc, browser: &Browser, tokens: Value) -> (Value, Reply, String) {
    let login = browser.start_login(PROVIDER, None).await;
    let id_token = sign(key(), &provider.claims(&login.params["nonce"]));
    let mut answer = tokens;
    answer["id_token"] = json!(id_token);
    provider.token_endpoint_answers(200, answer).await;
    provider
        .userinfo_answers(json!({ "sub": "user-1", "name": "Test Person" }))
        .await;
    let body = fake_callback_body(&login);
    let reply = browser.post_session(body.clone()).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    (body, reply, id_token)
}

/// None of `replies` (body or header) and no log line of this test binary carries one of
/// `tokens`, the client secret, or the client secret as it travels to the token endpoint
/// (HTTP Basic).
fn assert_nothing_carries(tokens: &[&str], replies: &[Reply]) {
    let basic = STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"));
    let logs = logs::text();
    for secret in tokens
        .iter()
        .copied()
        .chain([CLIENT_SECRET, basic.as_str()])
    {
        for reply in replies {
            assert!(
                !reply.body.contains(secret),
                "body leaks {secret}: {}",
                reply.body
            );
            for (name, value) in &reply.headers {
                let value = value.to_str().unwrap_or("");
                assert!(!value.contains(secret), "header {name} leaks {secret}");
            }
        }
        assert!(!logs.contains(secret), "a log line carries {secret}");
    }
}

#[tokio::test]
async fn no_response_and_no_log_line_carries_a_token_or_the_client_secret() {
    let provider = FakeOidc::start().await;
    let app = provider.spawn_app().await;
    let browser = app.browser();
    let access = "leak-test-access-9d2b7f0e";
    let refresh = "leak-test-refresh-41c8aa3d";
    let tokens = json!({ "access_token": access, "refresh_token": refresh,
                         "token_type": "Bearer", "expires_in": 60 });
    let (body, login, id_token) = log_in(&provider, &browser, tokens).await;

    let replies = [
        login,
        browser.get("/api/me").await,
        browser.post_session(body).await, // a refused replay
        browser.post("/api/logout", None).await,
    ];
    assert!(
        logs::text().contains("login succeeded"),
        "the backend logged the login"
    );
    assert_nothing_carries(&[access, refresh, &id_token], &replies);
}

#[tokio::test]
async fn no_profile_call_refresh_or_failed_revocation_leaks_a_token_either() {
    let provider = FakeOidc::start().await;
    let revocation = format!("{}/revoke", provider.issuer());
    provider
        .discovery_says(json!({ "revocation_endpoint": revocation }))
        .await;
    let (access, refresh) = ("leak-test-access-3b95e1c2", "leak-test-refresh-a07d44f9");
    let (new_access, new_refresh) = ("leak-test-access-c4e0d8a1", "leak-test-refresh-58f2b3e6");
    // A revocation endpoint that fails, and says so with a token in its reply.
    Mock::given(method("POST"))
        .and(path("/revoke"))
        .respond_with(ResponseTemplate::new(500).set_body_string(format!("{new_refresh}?")))
        .mount(&provider.server)
        .await;
    let app = provider.spawn_app().await;
    let browser = app.browser();
    // Expiring within the 30 s refresh margin: the first `/api/profile` refreshes.
    let tokens = json!({ "access_token": access, "refresh_token": refresh,
                         "token_type": "Bearer", "expires_in": 5 });
    let (_, login, id_token) = log_in(&provider, &browser, tokens).await;
    let new_id_token = sign(key(), &provider.claims("no nonce is checked at a refresh"));
    provider
        .token_endpoint_answers_grant(
            "refresh_token",
            200,
            json!({ "access_token": new_access, "refresh_token": new_refresh,
                    "token_type": "Bearer", "expires_in": 3600, "id_token": new_id_token }),
        )
        .await;

    let replies = [
        login,
        browser.get("/api/profile").await,
        browser.get("/api/profile").await,
        browser.post("/api/logout", None).await,
    ];
    for reply in &replies {
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
    // The paths this test is about were taken: one refresh, the profile fetched with its
    // token, a revocation that failed.
    let refreshes = provider.requests_to("/token").await;
    let refreshes = refreshes
        .iter()
        .filter(|r| String::from_utf8_lossy(&r.body).contains("grant_type=refresh_token"));
    assert_eq!(refreshes.count(), 1);
    let userinfo = provider.requests_to("/userinfo").await;
    assert_eq!(
        userinfo.last().unwrap().headers["authorization"],
        format!("Bearer {new_access}")
    );
    assert!(!provider.requests_to("/revoke").await.is_empty());
    browser
        .get("/api/me")
        .await
        .assert_error(401, "not_logged_in");
    assert_nothing_carries(
        &[
            access,
            refresh,
            &id_token,
            new_access,
            new_refresh,
            &new_id_token,
        ],
        &replies,
    );
}

#[tokio::test]
async fn an_error_reply_from_the_token_endpoint_does_not_echo_the_reply_body() {
    let provider = FakeOidc::start().await;
    let app = provider.spawn_app().await;
    let browser = app.browser();
    let login = browser.start_login(PROVIDER, None).await;
    // Unparseable as a token response, yet carrying a token-looking value.
    provider
        .token_endpoint_answers(
            200,
            json!({ "access_token": 12, "secret": "echo-me-not-5e1f" }),
        )
        .await;
    let reply = browser.post_session(fake_callback_body(&login)).await;
    reply.assert_error(502, "provider_error");
    assert!(!reply.body.contains("echo-me-not-5e1f"), "{}", reply.body);
    assert!(!logs::text().contains("echo-me-not-5e1f"));
}
