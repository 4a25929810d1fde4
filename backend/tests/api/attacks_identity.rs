//! The smaller holes of the second security pass: an `iss` where none is expected (rule 3), a
//! refreshed id_token about someone else (OIDC Core §12.2), a request id a client chose, and a
//! proxy nobody named (each warned about in the log).

use crate::{
    fake_oidc::{fake_callback_body, key, sign, FakeOidc},
    helpers::*,
    logs,
};
use serde_json::json;

#[tokio::test]
async fn a_provider_configured_without_an_issuer_refuses_an_answer_that_names_one() {
    let provider = start_devprovider_with(devprovider::Config {
        clients: vec![devprovider::Client::new(
            CLIENT_ID,
            CLIENT_SECRET,
            format!("{ORIGIN}/callback/plain"),
        )],
        ..Default::default()
    })
    .await;
    let issuer = provider.issuer();
    // The standard dialect puts `iss` on its answers (RFC 9207); this provider says none.
    let config = format!(
        "{}\n        [providers.plain]\n        kind = \"oauth2\"\n        client_id = \"{CLIENT_ID}\"\n        \
         client_secret = \"{CLIENT_SECRET}\"\n        authorize_url = \"{issuer}/authorize\"\n        \
         token_url = \"{issuer}/token\"\n        userinfo_url = \"{issuer}/userinfo\"\n        \
         subject_field = \"sub\"\n",
        config_toml(&issuer)
    );
    let app = spawn_app_with(&config).await;
    let browser = app.browser();
    let login = browser.start_login("plain", None).await;
    let callback = consent(&login, "ada", "allow").await;
    let body = callback_body("plain", &callback);
    assert!(body.get("iss").is_some(), "devprovider sent an iss");
    browser
        .post_session(body)
        .await
        .assert_error(400, "issuer_mismatch");
    assert_eq!(provider.stats().token_requests, 0);
}

#[tokio::test]
async fn a_refreshed_id_token_about_another_person_ends_the_session() {
    let provider = FakeOidc::start().await;
    let app = provider.spawn_app().await;
    let browser = app.browser();
    let login = browser.start_login(PROVIDER, None).await;
    let first = sign(key(), &provider.claims(&login.params["nonce"]));
    let mut someone_else = provider.claims("unused");
    someone_else["sub"] = json!("user-2");
    someone_else.as_object_mut().unwrap().remove("nonce");
    provider
        .token_endpoint_answers_grant(
            "refresh_token",
            200,
            json!({ "access_token": "at-2", "refresh_token": "rt-2", "token_type": "Bearer",
                    "expires_in": 3600, "id_token": sign(key(), &someone_else) }),
        )
        .await;
    provider
        .token_endpoint_answers(
            200,
            json!({ "access_token": "at-1", "refresh_token": "rt-1", "token_type": "Bearer",
                    "expires_in": 5, "id_token": first }),
        )
        .await;
    provider.userinfo_answers(json!({ "sub": "user-1" })).await;
    let body = fake_callback_body(&login);
    assert_eq!(browser.post_session(body).await.status, 200);
    // Within the refresh margin at once: the profile refreshes first.
    browser.assert_session_expired().await;
}

#[tokio::test]
async fn a_request_id_the_client_sends_is_kept_beside_ours_not_as_ours() {
    let app = spawn_app().await;
    let reply = app
        .browser()
        .request(
            reqwest::Method::GET,
            "/api/providers",
            None,
            &[
                ("x-csrf", "1"),
                ("origin", ORIGIN),
                ("x-request-id", "chosen-by-client-7"),
            ],
        )
        .await;
    let ours = reply.headers["x-request-id"].to_str().unwrap().to_owned();
    assert_ne!(ours, "chosen-by-client-7");
    assert!(
        ours.len() == 32 && ours.bytes().all(|b| b.is_ascii_hexdigit()),
        "{ours}"
    );
    let log = logs::text();
    assert!(
        log.lines()
            .any(|l| l.contains(&ours) && l.contains("client_request_id=chosen-by-client-7")),
        "the log keeps theirs beside ours"
    );
}

#[tokio::test]
async fn a_peer_sending_many_forwarded_for_values_while_no_proxy_is_trusted_is_warned_about() {
    let app = spawn_app().await;
    let browser = app.browser();
    for n in 0..20 {
        let forwarded = format!("198.51.100.{n}");
        browser
            .request(
                reqwest::Method::POST,
                &format!("/api/login/{PROVIDER}"),
                None,
                &[
                    ("x-csrf", "1"),
                    ("origin", ORIGIN),
                    ("x-forwarded-for", &forwarded),
                ],
            )
            .await;
    }
    let warnings = logs::text()
        .lines()
        .filter(|l| {
            l.contains("many different X-Forwarded-For values")
                && l.contains(&app.addr.ip().to_string())
        })
        .count();
    assert!(warnings >= 1, "a warning names the peer");
}
