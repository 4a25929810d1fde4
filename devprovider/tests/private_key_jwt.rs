//! `private_key_jwt` client authentication (RFC 7523 §2.2, OpenID Connect Core §9) at the
//! standard dialect: a client with no secret signs an assertion with its own key, which the
//! provider checks against the JWK Set it registered (`jwks`) or publishes (`jwks_uri`), at the
//! token, refresh, revocation, introspection and PAR endpoints. Loopback only.

#[path = "common/client_keys.rs"]
mod client_keys;
mod common;
#[path = "common/standard.rs"]
mod standard;
#[path = "common/strict.rs"]
mod strict;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use client_keys::*;
use common::*;
use devprovider::{AuthMethod, Client, ClientMetadata, Config};
use reqwest::StatusCode;
use serde_json::{json, Value};
use standard::*;
use strict::*;

async fn spawn_for(key: &ClientKey) -> TestProvider {
    spawn_registered(ClientMetadata::private_key_jwt(key.jwks())).await
}

/// Signs ada in and redeems her code with `auth`.
async fn tokens_with(app: &TestProvider, auth: &Auth<'_>) -> Value {
    let code = app.code_for(&AuthRequest::default()).await;
    ok_json(app.redeem(auth, None, &code).await).await
}

#[tokio::test]
async fn an_es256_client_authenticates_at_the_token_refresh_revocation_and_par_endpoints() {
    let key = ClientKey::es256();
    let app = spawn_for(&key).await;
    let token_url = app.url("/token");
    let auth = Auth::Assertion(&key, &token_url);

    let tokens = tokens_with(&app, &auth).await;
    let refreshed = ok_json(
        app.refresh_as(&auth, None, tokens["refresh_token"].as_str().unwrap())
            .await,
    )
    .await;
    let access_token = refreshed["access_token"].as_str().unwrap();
    assert_eq!(app.userinfo(access_token).await.status(), StatusCode::OK);

    // RFC 9126 §2: at the PAR endpoint, its own URL is an audience too.
    let par_url = app.url("/par");
    let request_uri = app
        .pushed_request_uri(&Auth::Assertion(&key, &par_url), &AuthRequest::default())
        .await;
    assert!(query_param(&app.decide_pushed(&request_uri).await, "code").is_some());

    let revoke_url = app.url("/revoke");
    let revoked = app
        .post_as(
            "/revoke",
            &Auth::Assertion(&key, &revoke_url),
            None,
            &[("token", access_token)],
        )
        .await;
    assert_eq!(revoked.status(), StatusCode::OK);
    assert!(!app.provider.is_access_token_active(access_token));
}

#[tokio::test]
async fn an_rs256_assertion_for_the_issuer_is_accepted_and_discovery_says_so() {
    let key = ClientKey::rs256();
    let app = spawn_for(&key).await;
    let issuer = app.provider.issuer();
    tokens_with(&app, &Auth::Assertion(&key, &issuer)).await;

    let doc = app.get_json("/.well-known/openid-configuration").await;
    for (list, expected) in [
        (
            "token_endpoint_auth_methods_supported",
            json!([
                "client_secret_basic",
                "client_secret_post",
                "private_key_jwt"
            ]),
        ),
        (
            "token_endpoint_auth_signing_alg_values_supported",
            json!(["ES256", "RS256"]),
        ),
        (
            "revocation_endpoint_auth_methods_supported",
            json!([
                "client_secret_basic",
                "client_secret_post",
                "private_key_jwt"
            ]),
        ),
    ] {
        assert_eq!(doc[list], expected, "{list}");
    }
}

#[tokio::test]
async fn a_replayed_expired_long_lived_or_misaddressed_assertion_is_an_invalid_client() {
    let key = ClientKey::es256();
    let app = spawn_for(&key).await;
    let token_url = app.url("/token");
    let once = key.assertion(CLIENT_ID, &token_url);
    tokens_with(&app, &Auth::Signed(&once)).await;
    let now = unix_now();
    let cases = [
        (once.clone(), "already used"),
        (
            key.assertion_with(CLIENT_ID, &token_url, json!({ "exp": now - 120 })),
            "expired",
        ),
        (
            key.assertion_with(CLIENT_ID, &token_url, json!({ "exp": now + 7200 })),
            "3600",
        ),
        (
            key.assertion(CLIENT_ID, "https://other.example/token"),
            "aud",
        ),
        (
            key.assertion_with(CLIENT_ID, &token_url, json!({ "iss": "someone-else" })),
            "iss",
        ),
        (
            key.assertion_with(CLIENT_ID, &token_url, json!({ "jti": null })),
            "jti",
        ),
        (
            key.assertion_with(CLIENT_ID, &token_url, json!({ "exp": null })),
            "exp",
        ),
        (
            key.assertion_with(CLIENT_ID, &app.url("/userinfo"), json!({})),
            "aud",
        ),
    ];
    for (assertion, named) in cases {
        let code = app.code_for(&AuthRequest::default()).await;
        let response = app.redeem(&Auth::Signed(&assertion), None, &code).await;
        let description = refused_with(response, StatusCode::UNAUTHORIZED, "invalid_client").await;
        assert!(description.contains(named), "{named}: {description}");
    }
}

#[tokio::test]
async fn an_assertion_by_another_key_or_client_or_alongside_a_secret_is_refused() {
    let key = ClientKey::es256();
    let app = spawn_provider_with(Config {
        clients: vec![
            Client {
                secret: String::new(),
                ..portero_client()
            },
            other_client("other", "other-secret", REDIRECT_URI),
        ],
        client_metadata: [(
            CLIENT_ID.to_owned(),
            ClientMetadata::private_key_jwt(key.jwks()),
        )]
        .into(),
        ..Config::default()
    })
    .await;
    let token_url = app.url("/token");
    let stranger = ClientKey::es256();
    let code = app.code_for(&AuthRequest::default()).await;
    for (auth, named) in [
        (Auth::Assertion(&stranger, &token_url), "kid"),
        // A secret client can't switch to assertions, nor an assertion client to a secret.
        (
            Auth::Signed(&key.assertion("other", &token_url)),
            "client_secret_basic or client_secret_post",
        ),
        (Auth::Basic, "private_key_jwt"),
    ] {
        let description = refused_with(
            app.redeem(&auth, None, &code).await,
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        )
        .await;
        assert!(description.contains(named), "{named}: {description}");
    }
    // An unsigned ("alg": "none") or HMAC-signed assertion never passes.
    let body = json!({ "iss": CLIENT_ID, "sub": CLIENT_ID, "aud": token_url, "exp": unix_now() + 60, "jti": jose_random() });
    for alg in ["none", "HS256"] {
        let header = base64_json(&json!({ "alg": alg, "kid": key.kid() }));
        let forged = format!("{header}.{}.", base64_json(&body));
        let description = refused_with(
            app.redeem(&Auth::Signed(&forged), None, &code).await,
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        )
        .await;
        assert!(description.contains(alg), "{alg}: {description}");
    }
    // One method per request (RFC 6749 §2.3).
    let both = key.assertion(CLIENT_ID, &token_url);
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT_URI),
        ("code_verifier", VERIFIER),
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", both.as_str()),
        ("client_secret", "x"),
    ];
    refused_with(
        app.post_as("/token", &Auth::None, None, &form).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    )
    .await;
    let wrong_type = [
        ("grant_type", "refresh_token"),
        ("refresh_token", "x"),
        ("client_assertion_type", "urn:x"),
        ("client_assertion", both.as_str()),
    ];
    refused_with(
        app.post_as("/token", &Auth::None, None, &wrong_type).await,
        StatusCode::UNAUTHORIZED,
        "invalid_client",
    )
    .await;
    // After all that, the code is still good for its client.
    let tokens = ok_json(
        app.redeem(&Auth::Assertion(&key, &token_url), None, &code)
            .await,
    )
    .await;
    assert!(tokens["access_token"].is_string());
}

#[tokio::test]
async fn a_secret_client_registered_for_one_method_may_not_use_the_other() {
    for (method, allowed, refused) in [
        (AuthMethod::ClientSecretBasic, Auth::Basic, Auth::Post),
        (AuthMethod::ClientSecretPost, Auth::Post, Auth::Basic),
    ] {
        let app = spawn_registered(ClientMetadata {
            token_endpoint_auth_method: method,
            ..ClientMetadata::default()
        })
        .await;
        tokens_with(&app, &allowed).await;
        let code = app.code_for(&AuthRequest::default()).await;
        refused_with(
            app.redeem(&refused, None, &code).await,
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        )
        .await;
    }
}

/// A client's published key set, which the test can rotate, and how often it was fetched.
#[derive(Clone)]
struct Published {
    jwks: Arc<Mutex<Value>>,
    fetches: Arc<AtomicUsize>,
}

async fn publish(jwks: Value) -> (Published, String) {
    let published = Published {
        jwks: Arc::new(Mutex::new(jwks)),
        fetches: Arc::default(),
    };
    let served = published.clone();
    let app = axum::Router::new().route(
        "/jwks.json",
        axum::routing::get(move || {
            let served = served.clone();
            async move {
                served.fetches.fetch_add(1, Ordering::SeqCst);
                axum::Json(served.jwks.lock().unwrap().clone())
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (published, url)
}

#[tokio::test]
async fn keys_come_from_the_jwks_uri_once_and_again_when_an_assertion_names_a_new_one() {
    let first = ClientKey::es256();
    let (published, jwks_uri) = publish(first.jwks()).await;
    let metadata = ClientMetadata {
        token_endpoint_auth_method: AuthMethod::PrivateKeyJwt,
        jwks_uri: Some(jwks_uri),
        ..ClientMetadata::default()
    };
    let app = spawn_registered(metadata).await;
    let token_url = app.url("/token");
    tokens_with(&app, &Auth::Assertion(&first, &token_url)).await;
    tokens_with(&app, &Auth::Assertion(&first, &token_url)).await;
    assert_eq!(published.fetches.load(Ordering::SeqCst), 1);

    // The client rotates to a new key: the unknown kid makes the provider look again.
    let second = ClientKey::rs256();
    *published.jwks.lock().unwrap() = second.jwks();
    tokens_with(&app, &Auth::Assertion(&second, &token_url)).await;
    assert_eq!(published.fetches.load(Ordering::SeqCst), 2);
    // A flood of unknown keys fetches at most once per ten seconds.
    for _ in 0..3 {
        let code = app.code_for(&AuthRequest::default()).await;
        let stranger = ClientKey::es256();
        refused_with(
            app.redeem(&Auth::Assertion(&stranger, &token_url), None, &code)
                .await,
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        )
        .await;
    }
    assert_eq!(published.fetches.load(Ordering::SeqCst), 2);
}

fn base64_json(value: &Value) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string())
}
