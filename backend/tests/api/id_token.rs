//! Rule 6: the id_token is verified (signature from JWKS, iss, aud, exp, nonce). Each forged
//! token is a 502 naming the problem, and no session is created.

use serde_json::{json, Value};

use crate::{
    fake_oidc::{key, other_key, sign, FakeOidc},
    helpers::*,
};

async fn answer_with(id_token: impl FnOnce(&FakeOidc, &str) -> String) -> Reply {
    let provider = FakeOidc::start().await;
    let app = spawn_app_with(&config_toml(&provider.issuer())).await;
    let browser = app.browser();
    let login = browser.start_login(PROVIDER, None).await;
    let token = id_token(&provider, &login.params["nonce"]);
    provider
        .token_endpoint_answers(
            200,
            json!({ "access_token": "at-1", "token_type": "Bearer", "expires_in": 60, "id_token": token }),
        )
        .await;
    provider
        .userinfo_answers(json!({ "sub": "user-1", "name": "Test Person" }))
        .await;
    let reply = browser
        .post(
            "/api/session",
            Some(json!({ "provider": PROVIDER, "code": "c", "state": login.params["state"] })),
        )
        .await;
    if reply.status != 200 {
        browser
            .get("/api/me")
            .await
            .assert_error(401, "not_logged_in");
    }
    reply
}

fn with(claims: Value, field: &str, value: Value) -> Value {
    let mut claims = claims;
    claims[field] = value;
    claims
}

#[tokio::test]
async fn a_valid_id_token_logs_the_person_in() {
    let reply = answer_with(|p, nonce| sign(key(), &p.claims(nonce))).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[tokio::test]
async fn a_forged_or_mismatched_id_token_is_a_502() {
    type Forge = fn(&FakeOidc, &str) -> String;
    let forgeries: [(&str, Forge); 6] = [
        ("bad signature", |p, n| sign(other_key(), &p.claims(n))),
        ("wrong aud", |p, n| {
            sign(key(), &with(p.claims(n), "aud", json!("someone-else")))
        }),
        ("wrong nonce", |p, _| {
            sign(key(), &p.claims("not-the-nonce"))
        }),
        ("wrong iss", |p, n| {
            sign(
                key(),
                &with(p.claims(n), "iss", json!("https://evil.example")),
            )
        }),
        ("expired", |p, n| {
            sign(key(), &with(p.claims(n), "exp", json!(1_000_000_000)))
        }),
        ("unsigned", |p, n| {
            let token = sign(key(), &p.claims(n));
            let (input, _) = token.rsplit_once('.').unwrap();
            format!("{input}.")
        }),
    ];
    for (what, forge) in forgeries {
        let reply = answer_with(forge).await;
        assert_eq!(reply.status, 502, "{what}: {}", reply.body);
        reply.assert_error(502, "provider_error");
        assert!(reply.body.contains("id_token"), "{what}: {}", reply.body);
    }
}

#[tokio::test]
async fn a_token_reply_without_an_id_token_is_a_502() {
    let provider = FakeOidc::start().await;
    let app = spawn_app_with(&config_toml(&provider.issuer())).await;
    let browser = app.browser();
    let login = browser.start_login(PROVIDER, None).await;
    provider
        .token_endpoint_answers(200, json!({ "access_token": "at", "token_type": "Bearer" }))
        .await;
    let reply = browser
        .post(
            "/api/session",
            Some(json!({ "provider": PROVIDER, "code": "c", "state": login.params["state"] })),
        )
        .await;
    reply.assert_error(502, "provider_error");
    assert_eq!(provider.token_requests().await, 1);
}
