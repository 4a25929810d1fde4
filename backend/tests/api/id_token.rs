//! Rule 6: the id_token is verified (signature from JWKS, iss, aud, exp, nonce, and `at_hash`
//! when it has one). Each forged token — among them the classics: `alg: none`, HS256 keyed with
//! the provider's public key, an audience besides ours — is a 502 naming the id_token, and no
//! session is created.

use rsa::{
    pkcs1::EncodeRsaPublicKey,
    pkcs8::{EncodePublicKey, LineEnding},
    traits::PublicKeyParts,
};
use serde_json::{json, Value};

use crate::{
    fake_oidc::{at_hash, fake_callback_body, jwt, key, other_key, sign, sign_hs256, FakeOidc},
    helpers::*,
};

/// The access token of `answer_with`'s token reply.
const ACCESS_TOKEN: &str = "at-1";

type Forge = fn(&FakeOidc, &str) -> String;

/// The `/api/session` reply when the token endpoint sends the id_token `id_token(provider,
/// nonce)` of this login (after checking that a refused login left no session).
async fn answer_with(id_token: impl FnOnce(&FakeOidc, &str) -> String) -> Reply {
    answer_from(FakeOidc::start().await, id_token).await
}

async fn answer_from(
    provider: FakeOidc,
    id_token: impl FnOnce(&FakeOidc, &str) -> String,
) -> Reply {
    let app = provider.spawn_app().await;
    let browser = app.browser();
    let login = browser.start_login(PROVIDER, None).await;
    let token = id_token(&provider, &login.params["nonce"]);
    provider
        .token_endpoint_answers(
            200,
            json!({ "access_token": ACCESS_TOKEN, "token_type": "Bearer", "expires_in": 60, "id_token": token }),
        )
        .await;
    provider
        .userinfo_answers(json!({ "sub": "user-1", "name": "Test Person" }))
        .await;
    let reply = browser.post_session(fake_callback_body(&login)).await;
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

/// Rule 6's verdict on a forgery: a 502 about the id_token (and, in `answer_with`, no session).
fn assert_refused(what: &str, reply: &Reply) {
    assert_eq!(reply.status, 502, "{what}: {}", reply.body);
    reply.assert_error(502, "provider_error");
    assert!(reply.body.contains("id_token"), "{what}: {}", reply.body);
}

#[tokio::test]
async fn a_valid_id_token_logs_the_person_in() {
    // Also the near relatives of the forgeries below, so that each of those is refused for
    // what it changes and not for its shape.
    let valid: [(&str, Forge); 4] = [
        ("plain", |p, n| sign(key(), &p.claims(n))),
        ("matching at_hash", |p, n| {
            sign(
                key(),
                &with(p.claims(n), "at_hash", json!(at_hash(ACCESS_TOKEN))),
            )
        }),
        ("aud as a list of one", |p, n| {
            sign(key(), &with(p.claims(n), "aud", json!([CLIENT_ID])))
        }),
        ("azp naming this client", |p, n| {
            sign(key(), &with(p.claims(n), "azp", json!(CLIENT_ID)))
        }),
    ];
    for (what, id_token) in valid {
        let reply = answer_with(id_token).await;
        assert_eq!(reply.status, 200, "{what}: {}", reply.body);
    }
}

#[tokio::test]
async fn a_forged_or_mismatched_id_token_is_a_502() {
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
        ("RS256 header, signature removed", |p, n| {
            let token = sign(key(), &p.claims(n));
            let (input, _) = token.rsplit_once('.').unwrap();
            format!("{input}.")
        }),
    ];
    for (what, forge) in forgeries {
        assert_refused(what, &answer_with(forge).await);
    }
}

#[tokio::test]
async fn an_unsigned_id_token_with_alg_none_is_a_502() {
    // RFC 7519 §6's unsecured JWT: header `{"alg":"none"}`, an empty signature.
    let reply = answer_with(|p, n| jwt(&json!({ "alg": "none" }), &p.claims(n), |_| vec![])).await;
    assert_refused("alg none", &reply);
}

#[tokio::test]
async fn an_hs256_id_token_keyed_with_the_providers_public_key_is_a_502() {
    // Key confusion: the RSA public key anyone can read from the JWKS, used as an HMAC secret,
    // in each form a verifier might take it in. Also against a provider that declares HS256,
    // where the only HMAC key is the client secret (OpenID Connect Core §10.1).
    type Encoding = (&'static str, fn() -> Vec<u8>);
    let encodings: [Encoding; 5] = [
        ("SPKI PEM", || {
            key()
                .to_public_key()
                .to_public_key_pem(LineEnding::LF)
                .unwrap()
                .into_bytes()
        }),
        ("SPKI DER", || {
            key()
                .to_public_key()
                .to_public_key_der()
                .unwrap()
                .into_vec()
        }),
        ("PKCS#1 PEM", || {
            key()
                .to_public_key()
                .to_pkcs1_pem(LineEnding::LF)
                .unwrap()
                .into_bytes()
        }),
        ("PKCS#1 DER", || {
            key().to_public_key().to_pkcs1_der().unwrap().into_vec()
        }),
        ("modulus", || key().to_public_key().n().to_bytes_be()),
    ];
    for algs in [json!(["RS256"]), json!(["RS256", "HS256"])] {
        for (what, secret) in encodings {
            let provider = FakeOidc::start().await;
            let declared = json!({ "id_token_signing_alg_values_supported": algs });
            provider.discovery_says(declared).await;
            let reply = answer_from(provider, |p, n| sign_hs256(&secret(), &p.claims(n))).await;
            assert_refused(
                &format!("HS256 with the {what}, provider declares {algs}"),
                &reply,
            );
        }
    }
}

#[tokio::test]
async fn an_id_token_whose_at_hash_is_another_access_tokens_is_a_502() {
    // OpenID Connect Core §3.1.3.8: an id_token spliced next to an access token it was not
    // issued with.
    let reply = answer_with(|p, n| {
        sign(
            key(),
            &with(
                p.claims(n),
                "at_hash",
                json!(at_hash("another-access-token")),
            ),
        )
    })
    .await;
    assert_refused("at_hash of another access token", &reply);
}

#[tokio::test]
async fn an_id_token_for_several_audiences_is_a_502_with_or_without_azp() {
    // OpenID Connect Core §3.1.3.7 step 3: an audience this client does not trust is a
    // refusal, whatever `azp` says.
    let several: [(&str, Forge); 3] = [
        ("no azp", |p, n| {
            sign(
                key(),
                &with(p.claims(n), "aud", json!([CLIENT_ID, "other"])),
            )
        }),
        ("azp naming this client", |p, n| {
            let claims = with(p.claims(n), "aud", json!([CLIENT_ID, "other"]));
            sign(key(), &with(claims, "azp", json!(CLIENT_ID)))
        }),
        ("azp naming the other", |p, n| {
            let claims = with(p.claims(n), "aud", json!([CLIENT_ID, "other"]));
            sign(key(), &with(claims, "azp", json!("other")))
        }),
    ];
    for (what, forge) in several {
        assert_refused(what, &answer_with(forge).await);
    }
}

#[tokio::test]
async fn an_id_token_without_the_nonce_is_a_502() {
    // The login sent a nonce, so the id_token must carry it (OpenID Connect Core §3.1.3.7
    // step 11): one without could be any id_token of this person for this client.
    let reply = answer_with(|p, n| {
        let mut claims = p.claims(n);
        claims.as_object_mut().unwrap().remove("nonce");
        sign(key(), &claims)
    })
    .await;
    assert_refused("no nonce", &reply);
}

#[tokio::test]
async fn a_token_reply_without_an_id_token_is_a_502() {
    let provider = FakeOidc::start().await;
    let app = provider.spawn_app().await;
    let browser = app.browser();
    let login = browser.start_login(PROVIDER, None).await;
    provider
        .token_endpoint_answers(200, json!({ "access_token": "at", "token_type": "Bearer" }))
        .await;
    let reply = browser.post_session(fake_callback_body(&login)).await;
    reply.assert_error(502, "provider_error");
    assert_eq!(provider.token_requests().await, 1);
}

#[tokio::test]
async fn an_id_token_issued_to_another_client_is_a_502() {
    // OpenID Connect Core §3.1.3.7 step 5: `azp`, when there, is this client.
    let reply = answer_with(|p, n| sign(key(), &with(p.claims(n), "azp", json!("other")))).await;
    assert_refused("azp of another client", &reply);
}

#[tokio::test]
async fn an_hs256_id_token_keyed_with_the_client_secret_is_a_502_even_where_discovery_lists_hs256()
{
    // Rule 6: "signature from JWKS". An HMAC one is made with the client secret, which anyone
    // who ever read it could use to mint any person's id_token.
    let provider = FakeOidc::start().await;
    let declared = json!({ "id_token_signing_alg_values_supported": ["RS256", "HS256"] });
    provider.discovery_says(declared).await;
    let reply = answer_from(provider, |p, n| {
        sign_hs256(CLIENT_SECRET.as_bytes(), &p.claims(n))
    })
    .await;
    assert_refused("HS256 with the client secret", &reply);
}
