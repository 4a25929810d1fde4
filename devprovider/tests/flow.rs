//! The provider driven over HTTP the way a browser and a confidential client would: a whole
//! login through the HTML forms, discovery, and what the authorize endpoint and the pages
//! accept and refuse (the token, userinfo and revocation endpoints alone: tokens.rs). Loopback
//! only.

mod common;
#[path = "common/standard.rs"]
mod standard;

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::*;
use devprovider::form_login::Decision;
use devprovider::{Client, Config, Stats};
use reqwest::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION, WWW_AUTHENTICATE};
use reqwest::StatusCode;
use serde_json::{json, Value};
use standard::*;
use url::Url;

#[tokio::test]
async fn a_user_signs_in_through_the_forms_and_the_client_gets_verified_tokens() {
    let app = spawn_provider().await;
    let issuer = app.provider.issuer();

    let callback = app
        .decide(&AuthRequest::default(), "ada", Decision::Allow)
        .await;
    assert_eq!(
        callback.origin(),
        Url::parse(REDIRECT_URI).unwrap().origin()
    );
    assert_eq!(callback.path(), "/callback/dev");
    assert_query(&callback, "state", "state-123");
    assert_eq!(query_param(&callback, "iss"), Some(issuer.clone()));
    let code = query_param(&callback, "code").unwrap();

    let response = app.exchange(&code, VERIFIER).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
    let tokens: Value = response.json().await.unwrap();
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 3600);
    assert_eq!(tokens["scope"], "openid profile email");
    let access_token = tokens["access_token"].as_str().unwrap();
    let refresh_token = tokens["refresh_token"].as_str().unwrap();
    assert!(URL_SAFE_NO_PAD.decode(access_token).unwrap().len() >= 32);
    assert!(app.provider.is_access_token_active(access_token));

    let claims = app
        .verified_claims(tokens["id_token"].as_str().unwrap())
        .await;
    assert_eq!(claims["iss"], issuer);
    assert_eq!(claims["aud"], CLIENT_ID);
    assert_eq!(claims["sub"], "user-ada");
    assert_eq!(claims["nonce"], "nonce-456");
    assert_eq!(claims["name"], "Ada Lovelace");
    assert_eq!(claims["preferred_username"], "ada");
    assert_eq!(claims["email"], "ada@example.com");
    assert_eq!(claims["email_verified"], true);
    assert_eq!(claims["picture"], format!("{issuer}/avatars/ada.svg"));
    let iat = claims["iat"].as_u64().unwrap();
    assert_eq!(claims["exp"].as_u64().unwrap(), iat + 3600);
    assert!(claims["auth_time"].as_u64().unwrap() <= iat);

    let userinfo = app.userinfo(access_token).await;
    assert_eq!(userinfo.status(), StatusCode::OK);
    let user: Value = userinfo.json().await.unwrap();
    assert_eq!(user["sub"], "user-ada");
    assert_eq!(user["name"], "Ada Lovelace");
    assert_eq!(user["email"], "ada@example.com");
    assert_eq!(user["email_verified"], true);

    let refreshed: Value = app.refresh(refresh_token).await.json().await.unwrap();
    let new_access = refreshed["access_token"].as_str().unwrap();
    let new_refresh = refreshed["refresh_token"].as_str().unwrap();
    assert_ne!(new_access, access_token);
    assert_ne!(new_refresh, refresh_token);
    assert_eq!(refreshed["scope"], "openid profile email");
    let refreshed_claims = app
        .verified_claims(refreshed["id_token"].as_str().unwrap())
        .await;
    assert_eq!(refreshed_claims["sub"], "user-ada");
    assert!(refreshed_claims.get("nonce").is_none());
    assert_eq!(app.userinfo(new_access).await.status(), StatusCode::OK);

    assert_eq!(app.revoke(new_access).await.status(), StatusCode::OK);
    let rejected = app.userinfo(new_access).await;
    assert_eq!(rejected.status(), StatusCode::UNAUTHORIZED);
    let challenge = rejected.headers()[WWW_AUTHENTICATE].to_str().unwrap();
    assert!(
        challenge.starts_with(r#"Bearer error="invalid_token""#),
        "{challenge}"
    );
    assert!(!app.provider.is_access_token_active(new_access));

    assert_eq!(
        app.provider.stats(),
        Stats {
            token_requests: 2,
            authorization_code_grants: 1,
            refresh_grants: 1,
            userinfo_requests: 3,
            revocations: 1,
            // No client here registered a backchannel_logout_uri, and nobody logged out.
            ..Stats::default()
        }
    );
}

#[tokio::test]
async fn edsgers_address_is_not_verified_in_the_id_token_or_userinfo() {
    let app = spawn_provider().await;
    let tokens = app.tokens_for("edsger").await;
    let claims = app
        .verified_claims(tokens["id_token"].as_str().unwrap())
        .await;
    assert_eq!(claims["email"], "edsger@example.com");
    assert_eq!(claims["email_verified"], false);
    let access_token = tokens["access_token"].as_str().unwrap();
    let user: Value = app.userinfo(access_token).await.json().await.unwrap();
    assert_eq!(user["email"], "edsger@example.com");
    assert_eq!(user["email_verified"], false);
}

#[tokio::test]
async fn only_barbara_has_a_groups_claim_in_the_id_token_and_userinfo() {
    let app = spawn_provider().await;
    let staff = json!(["staff"]);
    for (login, groups) in [("barbara", Some(&staff)), ("ada", None), ("margaret", None)] {
        let tokens = app.tokens_for(login).await;
        let claims = app
            .verified_claims(tokens["id_token"].as_str().unwrap())
            .await;
        assert_eq!(claims.get("groups"), groups, "{login}'s id token");
        let access_token = tokens["access_token"].as_str().unwrap();
        let user: Value = app.userinfo(access_token).await.json().await.unwrap();
        assert_eq!(user.get("groups"), groups, "{login}'s userinfo");
    }
}

#[tokio::test]
async fn discovery_names_this_issuer_and_its_endpoints() {
    let app = spawn_provider().await;
    let issuer = app.provider.issuer();
    assert_eq!(issuer, format!("http://{}", app.provider.addr()));
    let doc = app.get_json("/.well-known/openid-configuration").await;
    assert_eq!(doc["issuer"], issuer);
    assert_eq!(doc["authorization_endpoint"], format!("{issuer}/authorize"));
    assert_eq!(doc["token_endpoint"], format!("{issuer}/token"));
    assert_eq!(doc["userinfo_endpoint"], format!("{issuer}/userinfo"));
    assert_eq!(doc["jwks_uri"], format!("{issuer}/jwks"));
    assert_eq!(doc["revocation_endpoint"], format!("{issuer}/revoke"));
    assert_eq!(
        doc["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(doc["authorization_response_iss_parameter_supported"], true);
}

#[tokio::test]
async fn the_login_page_offers_every_demo_user_as_a_clickable_form() {
    let app = spawn_provider().await;
    let html = app
        .authorize(&AuthRequest::default())
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("local"),
        "the page says it is a local emulator"
    );
    for (login, name) in [
        ("ada", "Ada Lovelace"),
        ("grace", "Grace Hopper"),
        ("alan", "Alan Turing"),
        ("edsger", "Edsger Dijkstra"),
        ("margaret", "Margaret Hamilton"),
        ("barbara", "Barbara Liskov"),
    ] {
        assert!(html.contains(&format!(r#"data-user="{login}""#)), "{login}");
        assert!(html.contains(&format!("{name} ({login})")), "{name}");
    }
    assert_eq!(html.matches(r#"action="/authorize/login""#).count(), 6);
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no external resource"
    );
}

#[tokio::test]
async fn the_consent_page_carries_the_login_pages_request_and_answers_with_a_303() {
    let app = spawn_provider().await;
    let callback = app
        .sign_in_checking_the_forms(
            "/authorize",
            &AuthRequest::default().query(),
            "ada",
            "allow",
        )
        .await;
    assert!(query_param(&callback, "code").is_some(), "{callback}");
}

#[tokio::test]
async fn an_unregistered_redirect_uri_gets_an_error_page_and_no_redirect() {
    let app = spawn_provider().await;
    for redirect_uri in [
        "http://127.0.0.1:9/callback/evil",
        "http://127.0.0.1:9/callback/dev/",
    ] {
        let response = app
            .authorize(&changed(|r| r.redirect_uri = redirect_uri))
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert!(response.headers().get(LOCATION).is_none());
        let html = response.text().await.unwrap();
        assert!(html.contains("redirect_uri"), "{html}");
    }
}

#[tokio::test]
async fn an_unknown_client_gets_an_error_page_and_no_redirect() {
    let app = spawn_provider().await;
    let response = app.authorize(&changed(|r| r.client_id = "stranger")).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get(LOCATION).is_none());
    assert!(response.text().await.unwrap().contains("Unknown client_id"));
}

#[tokio::test]
async fn a_request_without_pkce_is_sent_back_with_invalid_request() {
    let app = spawn_provider().await;
    let requests = [
        AuthRequest {
            challenge: None,
            challenge_method: None,
            ..AuthRequest::default()
        },
        AuthRequest {
            challenge_method: Some("plain"),
            ..AuthRequest::default()
        },
    ];
    for request in &requests {
        let response = app.authorize(request).await;
        assert!(response.status().is_redirection());
        let callback = location(&response);
        assert_query(&callback, "error", "invalid_request");
        assert_query(&callback, "error_description", "PKCE with S256 is required");
        assert_query(&callback, "state", "state-123");
        assert_eq!(query_param(&callback, "iss"), Some(app.provider.issuer()));
    }
}

#[tokio::test]
async fn a_response_type_other_than_code_is_sent_back_as_unsupported() {
    let app = spawn_provider().await;
    let response = app.authorize(&changed(|r| r.response_type = "token")).await;
    let callback = location(&response);
    assert_query(&callback, "error", "unsupported_response_type");
}

#[tokio::test]
async fn denying_consent_sends_access_denied_back_to_the_client() {
    let app = spawn_provider().await;
    let callback = app
        .decide(&AuthRequest::default(), "grace", Decision::Deny)
        .await;
    assert_query(&callback, "error", "access_denied");
    assert_query(
        &callback,
        "error_description",
        "The user denied the request",
    );
    assert_query(&callback, "state", "state-123");
    assert_eq!(query_param(&callback, "iss"), Some(app.provider.issuer()));
    assert!(query_param(&callback, "code").is_none());
}

#[tokio::test]
async fn the_redirect_keeps_the_query_the_client_registered_and_omits_an_absent_state() {
    let app = spawn_provider().await;
    let callback = app
        .decide(
            &AuthRequest {
                redirect_uri: REDIRECT_URI_WITH_QUERY,
                state: None,
                ..AuthRequest::default()
            },
            "alan",
            Decision::Allow,
        )
        .await;
    assert_query(&callback, "tenant", "blue");
    assert!(query_param(&callback, "code").is_some());
    assert!(query_param(&callback, "state").is_none());
}

#[tokio::test]
async fn a_consent_request_can_be_answered_only_once() {
    let app = spawn_provider().await;
    let request_id = app
        .login_page("/authorize", &AuthRequest::default().query())
        .await;
    app.post_form(
        "/authorize/login",
        &[("request", &request_id), ("user", "ada")],
    )
    .await;
    let consent = [("request", request_id.as_str()), ("decision", "allow")];
    let first = app.post_form("/authorize/consent", &consent).await;
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    let second = app.post_form("/authorize/consent", &consent).await;
    assert_eq!(second.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn an_unknown_user_or_request_on_the_login_form_gets_an_error_page() {
    let app = spawn_provider().await;
    let request_id = app
        .login_page("/authorize", &AuthRequest::default().query())
        .await;
    let unknown_user = app
        .post_form(
            "/authorize/login",
            &[("request", &request_id), ("user", "mallory")],
        )
        .await;
    assert_eq!(unknown_user.status(), StatusCode::BAD_REQUEST);
    let unknown_request = app
        .post_form("/authorize/login", &[("request", "nope"), ("user", "ada")])
        .await;
    assert_eq!(unknown_request.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn values_shown_on_the_pages_are_html_escaped() {
    let app = spawn_provider_with(Config {
        clients: vec![Client {
            id: "<b>evil</b>".into(),
            ..portero_client()
        }],
        ..Config::default()
    })
    .await;
    let html = app
        .authorize(&changed(|r| r.client_id = "<b>evil</b>"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("&lt;b&gt;evil&lt;/b&gt;"));
    assert!(!html.contains("<b>evil"));
}

#[tokio::test]
async fn avatars_are_svg_and_unknown_paths_are_404() {
    let app = spawn_provider().await;
    let avatar = app
        .http
        .get(app.url("/avatars/ada.svg"))
        .send()
        .await
        .unwrap();
    assert_eq!(avatar.status(), StatusCode::OK);
    assert_eq!(avatar.headers()[CONTENT_TYPE], "image/svg+xml");
    assert!(avatar.text().await.unwrap().contains(">AL</text>"));
    for path in [
        "/avatars/nobody.svg",
        "/nothing-here",
        "/authorize/elsewhere",
    ] {
        let response = app.http.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
}

#[tokio::test]
async fn a_shut_down_or_dropped_provider_stops_listening() {
    let app = spawn_provider().await;
    let jwks = app.url("/jwks");
    assert!(app.http.get(&jwks).send().await.is_ok());
    app.provider.shutdown().await;
    assert!(app.http.get(&jwks).send().await.is_err());

    let dropped = spawn_provider().await;
    let addr = dropped.provider.addr();
    drop(dropped);
    // The server task notices the drop on its next poll; give it a moment.
    let mut refused = false;
    for _ in 0..50 {
        if tokio::net::TcpStream::connect(addr).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(refused, "the dropped provider still accepts connections");
}
