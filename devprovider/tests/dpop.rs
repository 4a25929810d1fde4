//! DPoP (RFC 9449) at the standard dialect: a token request with a proof gets a token bound to
//! the proof's key (`token_type: DPoP`, `cnf.jkt` at introspection), which userinfo, refresh
//! and revocation then accept only with a fresh proof by that key. Loopback only.

#[path = "common/client_keys.rs"]
mod client_keys;
mod common;
#[path = "common/standard.rs"]
mod standard;
#[path = "common/strict.rs"]
mod strict;

use client_keys::*;
use common::*;
use devprovider::{ClientMetadata, Dpop, Par};
use reqwest::StatusCode;
use serde_json::{json, Value};
use standard::*;
use strict::*;

/// Signs ada in and redeems the code with a proof by `key`: the DPoP-bound tokens.
async fn bound_tokens(app: &TestProvider, key: &ClientKey) -> Value {
    let code = app.code_for(&AuthRequest::default()).await;
    app.redeem_bound(key, &code).await
}

#[tokio::test]
async fn a_token_request_with_a_proof_gets_a_token_bound_to_its_key() {
    let app = spawn_provider().await;
    let doc = app.get_json("/.well-known/openid-configuration").await;
    assert_eq!(
        doc["dpop_signing_alg_values_supported"],
        json!(["ES256", "RS256"])
    );

    for key in [ClientKey::es256(), ClientKey::rs256()] {
        let tokens = bound_tokens(&app, &key).await;
        assert_eq!(tokens["token_type"], "DPoP");
        let access_token = tokens["access_token"].as_str().unwrap();
        let introspection = app.introspect(access_token).await;
        assert_eq!(introspection["active"], true);
        assert_eq!(introspection["token_type"], "DPoP");
        assert_eq!(introspection["cnf"]["jkt"], key.thumbprint());
    }
    let plain = app.tokens_for_ada().await;
    assert_eq!(plain["token_type"], "Bearer");
    let introspection = app
        .introspect(plain["access_token"].as_str().unwrap())
        .await;
    assert_eq!(introspection["token_type"], "Bearer");
    assert!(introspection.get("cnf").is_none());
    assert_eq!(
        app.introspect("not-a-token").await,
        json!({ "active": false })
    );
}

#[tokio::test]
async fn userinfo_takes_a_bound_token_only_with_the_dpop_scheme_and_a_proof_by_its_key() {
    let app = spawn_provider().await;
    let key = ClientKey::es256();
    let tokens = bound_tokens(&app, &key).await;
    let token = tokens["access_token"].as_str().unwrap();
    let url = app.url("/userinfo");
    let challenge = |response: &reqwest::Response| header(response, "www-authenticate").to_owned();

    let user = ok_json(
        app.get_dpop(
            "/userinfo",
            token,
            Some(&key.proof("GET", &url, Some(token), None)),
        )
        .await,
    )
    .await;
    assert_eq!(user["sub"], "user-ada");

    // As a bearer token: refused (RFC 9449 §7.2), naming the DPoP scheme.
    let downgraded = app.userinfo(token).await;
    assert_eq!(downgraded.status(), StatusCode::UNAUTHORIZED);
    assert!(
        challenge(&downgraded).starts_with(r#"DPoP error="invalid_token""#),
        "{}",
        challenge(&downgraded)
    );

    let stranger = ClientKey::es256();
    for (proof, error) in [
        (None, "invalid_dpop_proof"),
        (
            Some(key.proof("GET", &url, None, None)),
            "invalid_dpop_proof",
        ),
        (
            Some(key.proof("GET", &url, Some("another-token"), None)),
            "invalid_dpop_proof",
        ),
        (
            Some(key.proof("POST", &url, Some(token), None)),
            "invalid_dpop_proof",
        ),
        (
            Some(stranger.proof("GET", &url, Some(token), None)),
            "invalid_token",
        ),
    ] {
        let refused = app.get_dpop("/userinfo", token, proof.as_deref()).await;
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
        let challenge = challenge(&refused);
        assert!(
            challenge.starts_with(&format!(r#"DPoP error="{error}""#)),
            "{challenge}"
        );
        assert!(challenge.contains(r#"algs="ES256 RS256""#), "{challenge}");
    }
    // A Bearer token sent with the DPoP scheme is refused too.
    let plain = app.tokens_for_ada().await;
    let plain = plain["access_token"].as_str().unwrap();
    let refused = app
        .get_dpop(
            "/userinfo",
            plain,
            Some(&key.proof("GET", &url, Some(plain), None)),
        )
        .await;
    assert!(challenge(&refused).starts_with(r#"Bearer error="invalid_token""#));
}

#[tokio::test]
async fn a_replayed_misdirected_stale_or_malformed_proof_is_an_invalid_dpop_proof() {
    let app = spawn_provider().await;
    let key = ClientKey::es256();
    let token_url = app.url("/token");
    let replayed = key.proof("POST", &token_url, None, None);
    let code = app.code_for(&AuthRequest::default()).await;
    ok_json(app.redeem(&Auth::Basic, Some(&replayed), &code).await).await;
    let now = unix_now();
    let with_d = {
        let mut jwk = key.public_jwk();
        jwk["d"] = json!("AAAA");
        jwk
    };
    let cases = [
        (replayed, "jti"),
        (key.proof("POST", &app.url("/userinfo"), None, None), "htu"),
        (
            key.proof("POST", "https://elsewhere.example/token", None, None),
            "htu",
        ),
        (key.proof("GET", &token_url, None, None), "htm"),
        (
            key.proof_with("POST", &token_url, json!({}), json!({ "iat": now - 120 })),
            "iat",
        ),
        (
            key.proof_with("POST", &token_url, json!({}), json!({ "iat": now + 120 })),
            "iat",
        ),
        (
            key.proof_with("POST", &token_url, json!({}), json!({ "jti": null })),
            "jti",
        ),
        (
            key.proof_with("POST", &token_url, json!({ "typ": "JWT" }), json!({})),
            "typ",
        ),
        (
            key.proof_with("POST", &token_url, json!({ "jwk": null }), json!({})),
            "jwk",
        ),
        (
            key.proof_with("POST", &token_url, json!({ "jwk": with_d }), json!({})),
            "private",
        ),
        (
            key.proof_with(
                "POST",
                &token_url,
                json!({ "jwk": ClientKey::es256().public_jwk() }),
                json!({}),
            ),
            "signature",
        ),
        (
            key.proof_with("POST", &token_url, json!({ "alg": "HS256" }), json!({})),
            "HS256",
        ),
        ("not.a.jwt".to_owned(), "JWS header"),
    ];
    for (proof, named) in cases {
        let code = app.code_for(&AuthRequest::default()).await;
        let response = app.redeem(&Auth::Basic, Some(&proof), &code).await;
        let description =
            refused_with(response, StatusCode::BAD_REQUEST, "invalid_dpop_proof").await;
        assert!(description.contains(named), "{named}: {description}");
        // A refused proof leaves the code for a good one.
        app.redeem_bound(&key, &code).await;
    }
    // An unsigned proof: alg none.
    let header = json!({ "typ": "dpop+jwt", "alg": "none", "jwk": key.public_jwk() });
    let claims = json!({ "jti": jose_random(), "htm": "POST", "htu": token_url, "iat": now });
    use base64::Engine;
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let unsigned = format!("{}.{}.", b64(&header), b64(&claims));
    let code = app.code_for(&AuthRequest::default()).await;
    let description = refused_with(
        app.redeem(&Auth::Basic, Some(&unsigned), &code).await,
        StatusCode::BAD_REQUEST,
        "invalid_dpop_proof",
    )
    .await;
    assert!(description.contains("none"), "{description}");
    // Two DPoP headers.
    let twice = app
        .http
        .post(app.url("/token"))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .header("DPoP", key.proof("POST", &token_url, None, None))
        .header("DPoP", key.proof("POST", &token_url, None, None))
        .form(&code_form(&code, VERIFIER))
        .send()
        .await
        .unwrap();
    refused_with(twice, StatusCode::BAD_REQUEST, "invalid_dpop_proof").await;
}

#[tokio::test]
async fn a_bound_refresh_token_needs_a_proof_by_the_same_key() {
    let app = spawn_provider().await;
    let key = ClientKey::es256();
    let token_url = app.url("/token");
    let tokens = bound_tokens(&app, &key).await;
    let refresh_token = tokens["refresh_token"].as_str().unwrap();
    let other = ClientKey::es256();
    for proof in [None, Some(other.proof("POST", &token_url, None, None))] {
        let refused = app
            .refresh_as(&Auth::Basic, proof.as_deref(), refresh_token)
            .await;
        let description =
            refused_with(refused, StatusCode::BAD_REQUEST, "invalid_dpop_proof").await;
        assert!(
            description.contains("refresh token is bound"),
            "{description}"
        );
    }
    // The refused attempts did not spend the refresh token.
    let proof = key.proof("POST", &token_url, None, None);
    let refreshed = ok_json(
        app.refresh_as(&Auth::Basic, Some(&proof), refresh_token)
            .await,
    )
    .await;
    assert_eq!(refreshed["token_type"], "DPoP");
    let access_token = refreshed["access_token"].as_str().unwrap();
    assert_eq!(
        app.introspect(access_token).await["cnf"]["jkt"],
        key.thumbprint()
    );
}

#[tokio::test]
async fn revoking_a_bound_token_needs_a_proof_by_its_key_that_hashes_it() {
    let app = spawn_provider().await;
    let key = ClientKey::es256();
    let revoke_url = app.url("/revoke");
    let tokens = bound_tokens(&app, &key).await;
    for name in ["access_token", "refresh_token"] {
        let token = tokens[name].as_str().unwrap();
        for proof in [
            None,
            Some(key.proof("POST", &revoke_url, Some("other"), None)),
        ] {
            let refused = app
                .post_as(
                    "/revoke",
                    &Auth::Basic,
                    proof.as_deref(),
                    &[("token", token)],
                )
                .await;
            refused_with(refused, StatusCode::BAD_REQUEST, "invalid_dpop_proof").await;
        }
        let proof = key.proof("POST", &revoke_url, Some(token), None);
        let revoked = app
            .post_as("/revoke", &Auth::Basic, Some(&proof), &[("token", token)])
            .await;
        assert_eq!(revoked.status(), StatusCode::OK, "{name}");
    }
    let access_token = tokens["access_token"].as_str().unwrap();
    assert!(!app.provider.is_access_token_active(access_token));
}

#[tokio::test]
async fn a_server_that_demands_nonces_answers_use_dpop_nonce_once_then_accepts() {
    let app = spawn_strict(Par::On, Dpop::RequireNonce).await;
    let key = ClientKey::es256();
    let token_url = app.url("/token");
    let code = app.code_for(&AuthRequest::default()).await;
    let asked = app
        .redeem(
            &Auth::Basic,
            Some(&key.proof("POST", &token_url, None, None)),
            &code,
        )
        .await;
    let nonce = header(&asked, "dpop-nonce").to_owned();
    refused_with(asked, StatusCode::BAD_REQUEST, "use_dpop_nonce").await;
    let wrong = key.proof("POST", &token_url, None, Some("made-up"));
    let asked_again = app.redeem(&Auth::Basic, Some(&wrong), &code).await;
    assert_eq!(header(&asked_again, "dpop-nonce"), nonce);
    refused_with(asked_again, StatusCode::BAD_REQUEST, "use_dpop_nonce").await;

    let granted = app
        .redeem(
            &Auth::Basic,
            Some(&key.proof("POST", &token_url, None, Some(&nonce))),
            &code,
        )
        .await;
    assert_eq!(header(&granted, "dpop-nonce"), nonce);
    let tokens = ok_json(granted).await;
    let token = tokens["access_token"].as_str().unwrap();

    // The resource asks the same way, with a 401 (RFC 9449 §9).
    let url = app.url("/userinfo");
    let asked = app
        .get_dpop(
            "/userinfo",
            token,
            Some(&key.proof("GET", &url, Some(token), None)),
        )
        .await;
    assert_eq!(asked.status(), StatusCode::UNAUTHORIZED);
    assert!(header(&asked, "www-authenticate").starts_with(r#"DPoP error="use_dpop_nonce""#));
    assert_eq!(header(&asked, "dpop-nonce"), nonce);
    ok_json(
        app.get_dpop(
            "/userinfo",
            token,
            Some(&key.proof("GET", &url, Some(token), Some(&nonce))),
        )
        .await,
    )
    .await;

    // After a rotation, the old nonce is refused once more and the new one handed out.
    app.provider.rotate_dpop_nonce();
    let refresh_token = tokens["refresh_token"].as_str().unwrap();
    let stale = app
        .refresh_as(
            &Auth::Basic,
            Some(&key.proof("POST", &token_url, None, Some(&nonce))),
            refresh_token,
        )
        .await;
    let fresh = header(&stale, "dpop-nonce").to_owned();
    assert_ne!(fresh, nonce);
    refused_with(stale, StatusCode::BAD_REQUEST, "use_dpop_nonce").await;
    ok_json(
        app.refresh_as(
            &Auth::Basic,
            Some(&key.proof("POST", &token_url, None, Some(&fresh))),
            refresh_token,
        )
        .await,
    )
    .await;
}

#[tokio::test]
async fn a_client_registered_for_dpop_must_send_a_proof_with_every_token_request() {
    let metadata = ClientMetadata {
        dpop_bound_access_tokens: true,
        ..ClientMetadata::default()
    };
    let app = spawn_registered(metadata).await;
    let code = app.code_for(&AuthRequest::default()).await;
    let description = refused_with(
        app.redeem(&Auth::Basic, None, &code).await,
        StatusCode::BAD_REQUEST,
        "invalid_dpop_proof",
    )
    .await;
    assert!(
        description.contains("must send a DPoP proof"),
        "{description}"
    );
    let tokens = bound_tokens(&app, &ClientKey::es256()).await;
    assert_eq!(tokens["token_type"], "DPoP");
}

#[tokio::test]
async fn dpop_jkt_binds_the_code_to_one_key_whether_sent_or_pushed() {
    let app = spawn_provider().await;
    let key = ClientKey::es256();
    let token_url = app.url("/token");
    let thumbprint = key.thumbprint();
    let request = AuthRequest {
        dpop_jkt: Some(thumbprint.clone()),
        ..AuthRequest::default()
    };
    let code = app.code_for(&request).await;
    let other = ClientKey::es256();
    for proof in [None, Some(other.proof("POST", &token_url, None, None))] {
        let refused = app.redeem(&Auth::Basic, proof.as_deref(), &code).await;
        let description =
            refused_with(refused, StatusCode::BAD_REQUEST, "invalid_dpop_proof").await;
        assert!(description.contains("dpop_jkt"), "{description}");
    }
    app.redeem_bound(&key, &code).await;

    // A proof sent with the push binds the code the same way (RFC 9449 §10.1).
    let par_url = app.url("/par");
    let pushed = app
        .push(
            &Auth::Basic,
            Some(&key.proof("POST", &par_url, None, None)),
            &AuthRequest::default(),
        )
        .await;
    let pushed: Value = pushed.json().await.unwrap();
    let callback = app
        .decide_pushed(pushed["request_uri"].as_str().unwrap())
        .await;
    let code = query_param(&callback, "code").unwrap();
    let stranger = other.proof("POST", &token_url, None, None);
    let refused = app.redeem(&Auth::Basic, Some(&stranger), &code).await;
    refused_with(refused, StatusCode::BAD_REQUEST, "invalid_dpop_proof").await;
    app.redeem_bound(&key, &code).await;
    // A pushed dpop_jkt that is not the proof's key is refused at the push.
    let mismatch = AuthRequest {
        dpop_jkt: Some(other.thumbprint()),
        ..AuthRequest::default()
    };
    let proof = key.proof("POST", &par_url, None, None);
    let refused = app.push(&Auth::Basic, Some(&proof), &mismatch).await;
    refused_with(refused, StatusCode::BAD_REQUEST, "invalid_dpop_proof").await;
}

#[tokio::test]
async fn with_dpop_off_proofs_are_ignored_and_tokens_are_bearer() {
    let app = spawn_strict(Par::On, Dpop::Off).await;
    let doc = app.get_json("/.well-known/openid-configuration").await;
    assert!(doc.get("dpop_signing_alg_values_supported").is_none());
    let tokens = bound_tokens(&app, &ClientKey::es256()).await;
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(
        app.userinfo(tokens["access_token"].as_str().unwrap())
            .await
            .status(),
        StatusCode::OK
    );
}
