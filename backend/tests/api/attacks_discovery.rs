//! Rule 15: a hostile issuer cannot aim Portero at other hosts through its discovery document,
//! and what browsers read of a provider's failure names no address.

use serde_json::json;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::{
    fake_oidc::{fake_callback_body, FakeOidc},
    helpers::*,
};

/// Another service on this machine, which must never hear from Portero.
async fn internal_service() -> MockServer {
    let internal = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "keys": [] })))
        .mount(&internal)
        .await;
    internal
}

#[tokio::test]
async fn discovered_endpoints_off_the_issuers_host_are_refused_and_never_called() {
    for field in ["token_endpoint", "userinfo_endpoint", "jwks_uri"] {
        let provider = FakeOidc::start().await;
        let internal = internal_service().await;
        let aimed = format!("{}/admin/{field}", internal.uri());
        provider.discovery_says(json!({ field: aimed })).await;
        let app = provider.spawn_app().await;
        let reply = app
            .browser()
            .post(&format!("/api/login/{PROVIDER}"), None)
            .await;
        reply.assert_error(502, "provider_error");
        assert!(reply.body.contains(field), "{field}: {}", reply.body);
        let port = internal.address().port().to_string();
        assert!(
            !reply.body.contains(&port),
            "{field}: names no address: {}",
            reply.body
        );
        assert!(
            internal.received_requests().await.unwrap().is_empty(),
            "{field}: the other service heard nothing"
        );
    }
}

#[tokio::test]
async fn an_endpoint_configured_explicitly_may_be_elsewhere() {
    let provider = FakeOidc::start().await;
    let elsewhere = MockServer::start().await;
    provider
        .discovery_says(json!({ "userinfo_endpoint": "https://userinfo.invalid/u" }))
        .await;
    let config = config_toml(&provider.issuer()).replace(
        "client_secret = \"",
        &format!(
            "userinfo_url = \"{}/userinfo\"\n        client_secret = \"",
            elsewhere.uri()
        ),
    );
    let app = spawn_app_with(&config).await;
    let reply = app
        .browser()
        .post(&format!("/api/login/{PROVIDER}"), None)
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[tokio::test]
async fn optional_endpoints_off_the_issuers_host_are_left_unused() {
    let provider = FakeOidc::start().await;
    let internal = internal_service().await;
    provider
        .discovery_says(json!({
            "revocation_endpoint": format!("{}/revoke", internal.uri()),
            "end_session_endpoint": format!("{}/logout", internal.uri()),
        }))
        .await;
    let app = provider.spawn_app().await;
    let browser = app.browser();
    provider
        .log_in(
            &browser,
            json!({ "access_token": "at-r15", "refresh_token": "rt-r15", "token_type": "Bearer" }),
            json!({ "sub": "user-1" }),
        )
        .await;
    let out = browser.post("/api/logout", None).await;
    assert_eq!(out.status, 200, "{}", out.body);
    assert!(!out.body.contains("end_session_url"), "{}", out.body);
    assert!(internal.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_failing_provider_is_named_but_not_its_address() {
    let provider = FakeOidc::start().await;
    let app = provider.spawn_app().await;
    let browser = app.browser();
    let login = browser.start_login(PROVIDER, None).await;
    provider.token_endpoint_answers(500, json!({})).await;
    let body = fake_callback_body(&login);
    let reply = browser.post_session(body).await;
    reply.assert_error(502, "provider_error");
    let port = provider.server.address().port().to_string();
    assert!(!reply.body.contains(&port), "{}", reply.body);
    assert!(!reply.body.contains("127.0.0.1"), "{}", reply.body);
}

#[tokio::test]
async fn an_unreachable_provider_is_named_but_not_its_address() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let app = spawn_app_with(&config_toml(&format!("http://{closed}"))).await;
    let reply = app
        .browser()
        .post(&format!("/api/login/{PROVIDER}"), None)
        .await;
    reply.assert_error(502, "provider_error");
    assert!(
        reply.body.contains("could not be reached"),
        "{}",
        reply.body
    );
    assert!(
        !reply.body.contains(&closed.port().to_string()),
        "{}",
        reply.body
    );
    assert!(!reply.body.contains("127.0.0.1"), "{}", reply.body);
}
