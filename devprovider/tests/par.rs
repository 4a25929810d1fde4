//! Pushed authorization requests (RFC 9126) at the standard dialect: `POST /par` answers a
//! one-time `request_uri`, `/authorize` takes it with only `client_id`, and a server or client
//! that requires PAR refuses anything else. Loopback only.

#[path = "common/client_keys.rs"]
mod client_keys;
mod common;
#[path = "common/standard.rs"]
mod standard;
#[path = "common/strict.rs"]
mod strict;

use std::time::Duration;

use common::*;
use devprovider::{ClientMetadata, Config, Dpop, Par};
use reqwest::StatusCode;
use serde_json::Value;
use standard::*;
use strict::*;

async fn error_page(app: &TestProvider, query: &[(&str, &str)]) -> String {
    let response = app.get("/authorize", query).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    response.text().await.unwrap()
}

#[tokio::test]
async fn discovery_names_the_par_endpoint_and_whether_it_is_required() {
    for (par, required) in [(Par::On, false), (Par::Required, true)] {
        let app = spawn_strict(par, Dpop::On).await;
        let doc = app.get_json("/.well-known/openid-configuration").await;
        assert_eq!(
            doc["pushed_authorization_request_endpoint"],
            app.url("/par")
        );
        assert_eq!(doc["require_pushed_authorization_requests"], required);
    }
    let off = spawn_strict(Par::Off, Dpop::On).await;
    let doc = off.get_json("/.well-known/openid-configuration").await;
    assert!(doc.get("pushed_authorization_request_endpoint").is_none());
    let pushed = off.push(&Auth::Basic, None, &AuthRequest::default()).await;
    assert_eq!(pushed.status(), StatusCode::NOT_FOUND);
    // Without PAR, a request_uri is just an unknown parameter.
    let page = off
        .get(
            "/authorize",
            &[("client_id", CLIENT_ID), ("request_uri", "urn:x")],
        )
        .await;
    assert_eq!(page.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_pushed_request_gives_a_request_uri_that_authorize_takes_once() {
    let app = spawn_provider().await;
    let pushed = app.push(&Auth::Basic, None, &AuthRequest::default()).await;
    assert_eq!(pushed.status(), StatusCode::CREATED);
    assert_eq!(header(&pushed, "cache-control"), "no-store");
    let body: Value = pushed.json().await.unwrap();
    let request_uri = body["request_uri"].as_str().unwrap();
    assert!(
        request_uri.starts_with("urn:ietf:params:oauth:request_uri:"),
        "{request_uri}"
    );
    assert_eq!(body["expires_in"], 60);

    let callback = app.decide_pushed(request_uri).await;
    // The pushed parameters apply: the state and redirect URI that were pushed.
    assert!(callback.as_str().starts_with(REDIRECT_URI), "{callback}");
    assert_query(&callback, "state", "state-123");
    assert_query(&callback, "iss", &app.provider.issuer());
    let code = query_param(&callback, "code").unwrap();
    let tokens = ok_json(app.exchange(&code, VERIFIER).await).await;
    let claims = app
        .verified_claims(tokens["id_token"].as_str().unwrap())
        .await;
    assert_eq!(claims["nonce"], "nonce-456");

    let page = error_page(
        &app,
        &[("client_id", CLIENT_ID), ("request_uri", request_uri)],
    )
    .await;
    assert!(page.contains("invalid_request_uri"), "{page}");
}

#[tokio::test]
async fn a_request_uri_expires_and_another_clients_is_refused_but_kept() {
    let app = spawn_provider_with(Config {
        clients: vec![
            portero_client(),
            other_client("other", "other-secret", REDIRECT_URI),
        ],
        par_ttl: Duration::from_secs(1),
        ..Config::default()
    })
    .await;
    let request_uri = app
        .pushed_request_uri(&Auth::Basic, &AuthRequest::default())
        .await;
    let page = error_page(
        &app,
        &[("client_id", "other"), ("request_uri", &request_uri)],
    )
    .await;
    assert!(page.contains("another client"), "{page}");
    let page = error_page(&app, &[("request_uri", &request_uri)]).await;
    assert!(page.contains("no client_id"), "{page}");
    // Still there for its own client.
    let callback = app.decide_pushed(&request_uri).await;
    assert!(query_param(&callback, "code").is_some());

    let late = app
        .pushed_request_uri(&Auth::Basic, &AuthRequest::default())
        .await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let page = error_page(&app, &[("client_id", CLIENT_ID), ("request_uri", &late)]).await;
    assert!(page.contains("invalid_request_uri"), "{page}");
}

#[tokio::test]
async fn a_push_is_authenticated_and_checked_as_an_authorization_request_would_be() {
    let app = spawn_provider().await;
    let request = AuthRequest::default();
    let (error, _) = refusal(
        app.push(&Auth::None, None, &request).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_eq!(error, "invalid_client");
    assert_eq!(
        app.push(&Auth::Post, None, &request).await.status(),
        StatusCode::CREATED
    );

    for (change, error, named) in [
        (changed(|r| r.challenge = None), "invalid_request", "PKCE"),
        (
            changed(|r| r.scope = "openid admin"),
            "invalid_scope",
            "admin",
        ),
        (
            changed(|r| r.response_type = "token"),
            "unsupported_response_type",
            "code",
        ),
        (
            changed(|r| r.redirect_uri = "http://127.0.0.1:9/elsewhere"),
            "invalid_request",
            "not registered",
        ),
    ] {
        let description = refused_with(
            app.push(&Auth::Basic, None, &change).await,
            StatusCode::BAD_REQUEST,
            error,
        )
        .await;
        assert!(description.contains(named), "{error}: {description}");
    }
    let mut form: Vec<(&str, String)> = request.query();
    form.push((
        "request_uri",
        "urn:ietf:params:oauth:request_uri:x".to_owned(),
    ));
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let description = refused_with(
        app.post_as("/par", &Auth::Basic, None, &form).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    )
    .await;
    assert!(description.contains("request_uri"), "{description}");
    let description = refused_with(
        app.post_as(
            "/par",
            &Auth::Basic,
            None,
            &[("scope", "openid"), ("scope", "email")],
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    )
    .await;
    assert!(description.contains("more than once"), "{description}");
}

#[tokio::test]
async fn when_the_server_or_the_client_requires_par_a_plain_request_is_sent_back() {
    let server = spawn_strict(Par::Required, Dpop::On).await;
    let client = spawn_registered(ClientMetadata {
        require_pushed_authorization_requests: true,
        ..ClientMetadata::default()
    })
    .await;
    for app in [&server, &client] {
        let refused = location(&app.authorize(&AuthRequest::default()).await);
        assert_query(&refused, "error", "invalid_request");
        assert!(query_param(&refused, "error_description")
            .unwrap()
            .contains("RFC 9126"));
        assert_query(&refused, "state", "state-123");

        let request_uri = app
            .pushed_request_uri(&Auth::Basic, &AuthRequest::default())
            .await;
        let callback = app.decide_pushed(&request_uri).await;
        assert!(query_param(&callback, "code").is_some(), "{callback}");
    }
    // A client that need not push may still do it, or not, on a server that does not require it.
    let app = spawn_provider().await;
    let request_uri = app
        .pushed_request_uri(&Auth::Basic, &AuthRequest::default())
        .await;
    assert!(query_param(&app.decide_pushed(&request_uri).await, "code").is_some());
    assert!(query_param(
        &app.decide(
            &AuthRequest::default(),
            "ada",
            devprovider::form_login::Decision::Allow
        )
        .await,
        "code"
    )
    .is_some());
}
