//! Rule 8: provider tokens and the client secret never leave the backend — not in a body, a
//! header, a log line or an error message — and the session store holds them sealed only.

use serde_json::json;

use crate::{
    fake_oidc::{key, sign, FakeOidc},
    helpers::*,
    logs,
};

#[tokio::test]
async fn no_response_and_no_log_line_carries_a_token_or_the_client_secret() {
    let provider = FakeOidc::start().await;
    let app = spawn_app_with(&config_toml(&provider.issuer())).await;
    let browser = app.browser();
    let login = browser.start_login(PROVIDER, None).await;
    let id_token = sign(key(), &provider.claims(&login.params["nonce"]));
    let access = "leak-test-access-9d2b7f0e";
    let refresh = "leak-test-refresh-41c8aa3d";
    provider
        .token_endpoint_answers(
            200,
            json!({ "access_token": access, "refresh_token": refresh, "token_type": "Bearer",
                    "expires_in": 60, "id_token": id_token }),
        )
        .await;
    provider
        .userinfo_answers(json!({ "sub": "user-1", "name": "Test Person" }))
        .await;

    let mut replies = vec![];
    let body = json!({ "provider": PROVIDER, "code": "c", "state": login.params["state"] });
    replies.push(browser.post("/api/session", Some(body.clone())).await);
    assert_eq!(replies[0].status, 200, "{}", replies[0].body);
    replies.push(browser.get("/api/me").await);
    replies.push(browser.post("/api/session", Some(body)).await); // a refused replay
    replies.push(browser.post("/api/logout", None).await);

    let secrets = [access, refresh, id_token.as_str(), CLIENT_SECRET];
    let logs = logs::text();
    assert!(
        logs.contains("login succeeded"),
        "the backend logged the login"
    );
    for secret in secrets {
        for reply in &replies {
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
async fn an_error_reply_from_the_token_endpoint_does_not_echo_the_reply_body() {
    let provider = FakeOidc::start().await;
    let app = spawn_app_with(&config_toml(&provider.issuer())).await;
    let browser = app.browser();
    let login = browser.start_login(PROVIDER, None).await;
    // Unparseable as a token response, yet carrying a token-looking value.
    provider
        .token_endpoint_answers(
            200,
            json!({ "access_token": 12, "secret": "echo-me-not-5e1f" }),
        )
        .await;
    let reply = browser
        .post(
            "/api/session",
            Some(json!({ "provider": PROVIDER, "code": "c", "state": login.params["state"] })),
        )
        .await;
    reply.assert_error(502, "provider_error");
    assert!(!reply.body.contains("echo-me-not-5e1f"), "{}", reply.body);
    assert!(!logs::text().contains("echo-me-not-5e1f"));
}
