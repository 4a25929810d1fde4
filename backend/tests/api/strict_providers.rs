//! Stricter providers (docs/design.md, "Stricter providers"), against devprovider as a FAPI
//! 2.0-style provider: pushed authorization requests (RFC 9126), `private_key_jwt` (RFC 7523)
//! with the key Portero publishes, and DPoP-bound tokens (RFC 9449) under server nonces,
//! through a whole login, the profile, a refresh and a logout.

use std::time::Duration;

use devprovider::{Dpop, Par};
use portero::session::TokenType;
use serde_json::Value;

use crate::{helpers::*, logs, sessions_support::log_in, strict_support::*};

/// A refresh is due once the 33 s tokens are inside the 30 s margin.
const UNTIL_REFRESH_IS_DUE: Duration = Duration::from_secs(4);

#[tokio::test]
async fn a_login_pushed_signed_and_bound_works_through_profile_refresh_and_logout() {
    let app = strict_app(
        "all-three",
        Strictness {
            par: Par::Required,
            dpop: Dpop::RequireNonce,
            private_key_jwt: true,
            portero: "dpop = true",
        },
    )
    .await;
    let provider = app.devprovider();
    let browser = app.browser();

    // The SPA gets the authorize endpoint with only client_id and request_uri (RFC 9126 §4).
    let login = browser.start_login(PROVIDER, None).await;
    let names: Vec<&str> = login.params.keys().map(String::as_str).collect();
    assert_eq!(names, ["client_id", "request_uri"]);
    assert_eq!(login.params["client_id"], CLIENT_ID);
    let callback = consent(&login, "ada", "allow").await;
    let session = browser
        .post_session(callback_body(PROVIDER, &callback))
        .await;
    assert_eq!(session.status, 200, "{}", session.body);

    // The session's own key binds its tokens; sent as Bearer, the access token is refused.
    let record = record_of(&app, &browser).await;
    assert_eq!(record.tokens.token_type, TokenType::Dpop);
    let key = record.tokens.dpop_key.as_ref().expect("a key of its own");
    let access_token = record.tokens.access_token.secret().clone();
    let userinfo = reqwest::Client::new()
        .get(format!("{}/userinfo", provider.issuer()))
        .bearer_auth(&access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        userinfo.status(),
        401,
        "a bound token is useless without its key"
    );

    // Portero's own calls prove the key, and retry once with a new nonce the server asks for.
    let profile = browser.get("/api/profile").await;
    assert_eq!(profile.status, 200, "{}", profile.body);
    provider.rotate_dpop_nonce();
    let profile = browser.get("/api/profile").await;
    assert_eq!(profile.status, 200, "{}", profile.body);

    // A refresh, under a nonce the server changed meanwhile, keeps the session's key.
    tokio::time::sleep(UNTIL_REFRESH_IS_DUE).await;
    provider.rotate_dpop_nonce();
    let profile = browser.get("/api/profile").await;
    assert_eq!(profile.status, 200, "{}", profile.body);
    assert_eq!(provider.stats().refresh_grants, 1);
    let refreshed = record_of(&app, &browser).await;
    assert_ne!(refreshed.tokens.access_token.secret(), &access_token);
    assert_eq!(refreshed.tokens.token_type, TokenType::Dpop);
    assert_eq!(
        refreshed.tokens.dpop_key.as_ref().unwrap().thumbprint(),
        key.thumbprint()
    );

    // Logout revokes with the same authentication and a proof by the same key.
    let new_access_token = refreshed.tokens.access_token.secret().clone();
    assert!(provider.is_access_token_active(&new_access_token));
    let logout = browser.post("/api/logout", None).await;
    assert_eq!(logout.status, 200, "{}", logout.body);
    assert_eq!(provider.stats().revocations, 2, "refresh and access token");
    assert!(!provider.is_access_token_active(&new_access_token));
}

#[tokio::test]
async fn par_with_the_client_secret_hands_the_spa_only_a_request_uri() {
    for portero in ["par = \"auto\"", "par = \"always\"", ""] {
        let app = strict_app(
            "par-secret",
            Strictness {
                // `Required` makes devprovider say so in discovery: the default pushes then.
                par: if portero.is_empty() {
                    Par::Required
                } else {
                    Par::On
                },
                dpop: Dpop::Off,
                private_key_jwt: false,
                portero,
            },
        )
        .await;
        let browser = app.browser();
        let login = browser.start_login(PROVIDER, None).await;
        assert_eq!(login.params.len(), 2, "{portero}: {:?}", login.params);
        assert!(login.params["request_uri"].starts_with("urn:ietf:params:oauth:request_uri:"));
        log_in(&browser, "grace").await;
        assert_eq!(browser.get("/api/profile").await.status, 200, "{portero}");
        let record = record_of(&app, &browser).await;
        assert_eq!(record.tokens.token_type, TokenType::Bearer, "{portero}");
        assert!(record.tokens.dpop_key.is_none());
    }
}

#[tokio::test]
async fn without_par_asked_or_required_the_spa_builds_the_whole_authorize_url() {
    for (par, portero) in [(Par::On, ""), (Par::Required, "par = \"never\"")] {
        let app = strict_app(
            "no-par",
            Strictness {
                par,
                dpop: Dpop::Off,
                private_key_jwt: false,
                portero,
            },
        )
        .await;
        let login = app.browser().start_login(PROVIDER, None).await;
        for name in ["state", "code_challenge", "redirect_uri", "nonce"] {
            assert!(login.params.contains_key(name), "{portero}: {name}");
        }
    }
}

#[tokio::test]
async fn private_key_jwt_without_par_signs_every_call_with_the_published_key() {
    let app = strict_app(
        "jwt-only",
        Strictness {
            par: Par::On,
            dpop: Dpop::Off,
            private_key_jwt: true,
            portero: "client_assertion_audience = \"issuer\"",
        },
    )
    .await;
    let browser = app.browser();
    assert!(browser
        .start_login(PROVIDER, None)
        .await
        .params
        .contains_key("state"));
    log_in(&browser, "ada").await;
    tokio::time::sleep(UNTIL_REFRESH_IS_DUE).await;
    assert_eq!(browser.get("/api/profile").await.status, 200);
    let provider = app.devprovider();
    assert_eq!(provider.stats().refresh_grants, 1);
    assert_eq!(browser.post("/api/logout", None).await.status, 200);
    assert_eq!(provider.stats().revocations, 2);

    // What devprovider fetched: the public key alone.
    let jwks: Value = reqwest::get(app.url("/.well-known/portero-client-jwks/dev"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = &jwks["keys"][0];
    assert_eq!(
        (key["kty"].as_str(), key["alg"].as_str()),
        (Some("EC"), Some("ES256"))
    );
    assert!(key["kid"].is_string() && key.get("d").is_none(), "{jwks}");
}

#[tokio::test]
async fn a_provider_whose_client_has_a_secret_publishes_no_client_key() {
    let app = spawn_app().await;
    for (path, code) in [
        ("/.well-known/portero-client-jwks/dev", "not_found"),
        ("/.well-known/portero-client-jwks/nope", "unknown_provider"),
    ] {
        let reply = Reply::of(reqwest::get(app.url(path)).await.unwrap()).await;
        reply.assert_error(404, code);
    }
}

#[tokio::test]
async fn a_server_that_ignores_dpop_gives_bearer_tokens_which_work_and_are_logged_once() {
    let app = strict_app(
        "ignores-dpop",
        Strictness {
            par: Par::On,
            dpop: Dpop::Off,
            private_key_jwt: false,
            portero: "dpop = true",
        },
    )
    .await;
    // Start-up read its discovery, which lists no DPoP algorithm.
    let issuer = app.devprovider().issuer();
    let count = |text: &str| logs::text().lines().filter(|l| l.contains(text)).count();
    let warned = logs::text()
        .lines()
        .filter(|l| l.contains("lists no dpop_signing_alg_values_supported"))
        .filter(|l| l.contains(&format!("issuer={issuer}")))
        .count();
    assert_eq!(warned, 1, "start-up warns");
    for person in ["ada", "grace"] {
        let browser = app.browser();
        log_in(&browser, person).await;
        assert_eq!(browser.get("/api/profile").await.status, 200);
        let record = record_of(&app, &browser).await;
        assert_eq!(record.tokens.token_type, TokenType::Bearer);
    }
    assert_eq!(
        count("answered a Bearer token"),
        1,
        "two logins, logged once"
    );
}
