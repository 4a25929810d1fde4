//! docs/design.md, "The flow",, steps 1, 2, 5, 6 and 8, against devprovider.

use serde_json::json;
use shared::{MeResponse, ProviderInfo, ProviderKind, SessionResponse};

use crate::helpers::*;

#[tokio::test]
async fn providers_lists_id_name_and_kind_and_nothing_else() {
    let app = spawn_app().await;
    let reply = app.browser().get("/api/providers").await;
    assert_eq!(reply.status, 200);
    let listed: Vec<ProviderInfo> = reply.json();
    assert_eq!(
        listed,
        [ProviderInfo {
            id: "dev".into(),
            name: "Portero Dev".into(),
            kind: ProviderKind::Oidc
        }]
    );
    let raw: serde_json::Value = reply.json();
    assert_eq!(
        raw[0].as_object().unwrap().len(),
        3,
        "only public facts: {raw}"
    );
    assert!(!reply.body.contains(CLIENT_SECRET));
}

#[tokio::test]
async fn login_answers_the_authorize_endpoint_and_the_parameters_to_send() {
    let app = spawn_app().await;
    let login = app.browser().start_login(PROVIDER, None).await;
    let issuer = app.devprovider().issuer();
    assert_eq!(login.authorize_endpoint, format!("{issuer}/authorize"));
    let p = &login.params;
    assert_eq!(p["response_type"], "code");
    assert_eq!(p["client_id"], CLIENT_ID);
    assert_eq!(p["redirect_uri"], format!("{ORIGIN}/callback/dev"));
    assert!(p["scope"].split(' ').any(|s| s == "openid"), "{p:?}");
    assert_eq!(p["code_challenge_method"], "S256");
    // S256 of a verifier is 32 bytes: 43 base64url characters.
    assert_eq!(p["code_challenge"].len(), 43);
    // 256 bits of state: 43 base64url characters; rule 1 asks for at least 128 bits.
    assert!(p["state"].len() >= 22, "{p:?}");
    assert!(!p["nonce"].is_empty());
    let two = app.browser().start_login(PROVIDER, None).await;
    assert_ne!(two.params["state"], p["state"]);
    assert_ne!(two.params["code_challenge"], p["code_challenge"]);
    assert_ne!(two.params["nonce"], p["nonce"]);
}

#[tokio::test]
async fn a_person_logs_in_then_me_answers_them_until_they_log_out() {
    let app = spawn_app().await;
    let browser = app.browser();
    let login = browser.start_login(PROVIDER, Some("/profile")).await;
    let callback = consent(&login, "ada", "allow").await;
    assert!(callback
        .as_str()
        .starts_with(&format!("{ORIGIN}/callback/dev?")));

    let reply = browser
        .post_session(callback_body(PROVIDER, &callback))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let session: SessionResponse = reply.json();
    assert_eq!(session.return_to, "/profile");
    assert_eq!(session.user.provider, "dev");
    assert_eq!(session.user.name.as_deref(), Some("Ada Lovelace"));
    assert_eq!(session.user.login.as_deref(), Some("ada"));
    assert_eq!(session.user.email.as_deref(), Some("ada@example.com"));
    assert!(session.user.avatar_url.is_some());

    let me = browser.get("/api/me").await;
    assert_eq!(me.status, 200, "{}", me.body);
    let me: MeResponse = me.json();
    assert_eq!(me.user, session.user);
    assert!(me.expires_at > time::OffsetDateTime::now_utc().unix_timestamp());

    let before = app.devprovider().stats().revocations;
    let out = browser.post("/api/logout", None).await;
    assert_eq!(out.status, 200, "{}", out.body);
    assert_eq!(out.json::<serde_json::Value>(), json!({}));
    assert!(
        app.devprovider().stats().revocations > before,
        "logout revokes at the provider (RFC 7009): {}",
        crate::logs::text()
    );
    browser
        .get("/api/me")
        .await
        .assert_error(401, "not_logged_in");
}

#[tokio::test]
async fn me_without_a_session_is_401() {
    let app = spawn_app().await;
    app.browser()
        .get("/api/me")
        .await
        .assert_error(401, "not_logged_in");
}

#[tokio::test]
async fn an_unknown_provider_is_404() {
    let app = spawn_app().await;
    let reply = app.browser().post("/api/login/nope", Some(json!({}))).await;
    reply.assert_error(404, "unknown_provider");
}

#[tokio::test]
async fn login_accepts_an_empty_body_and_refuses_a_malformed_one() {
    let app = spawn_app().await;
    let browser = app.browser();
    let reply = browser
        .post_login_without_body("dev", &[("x-csrf", "1")])
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let reply = browser
        .post("/api/login/dev", Some(json!({ "return_to": 42 })))
        .await;
    reply.assert_error(400, "bad_request");
}

#[tokio::test]
async fn a_provider_that_cannot_be_reached_is_a_502_naming_it() {
    // A port nothing listens on: bind one, then free it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let app = spawn_app_with(&config_toml(&format!("http://127.0.0.1:{port}"))).await;
    let reply = app.browser().post("/api/login/dev", Some(json!({}))).await;
    reply.assert_error(502, "provider_error");
    assert!(reply.body.contains("discovery"), "{}", reply.body);
}
