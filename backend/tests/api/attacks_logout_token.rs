//! Logout tokens an attacker can send without knowing any key (`POST
//! /api/backchannel-logout/{provider}` needs no CSRF header: the signature is its proof):
//! tokens naming keys the provider never published make Portero read the provider's keys again
//! at most once per `jwks_min_refetch_secs`, never hold up logins while it does, and keep the
//! keys in use when the read fails; unsigned (`alg: none`) and HMAC tokens are refused.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use rsa::{
    pkcs1v15::SigningKey,
    signature::{SignatureEncoding, Signer},
};
use serde_json::{json, Value};
use sha2::Sha256;
use wiremock::{
    matchers::{method, path},
    Mock, MockServer, Request, Respond, ResponseTemplate,
};

use crate::{
    fake_oidc::{jwt, key, other_key, sign, FakeOidc, KID},
    helpers::*,
    sessions_support::*,
};

/// devprovider's signing keys, served by wiremock (the backend's `jwks_url`): the test counts
/// the reads, slows them down or breaks them.
struct Keys {
    server: MockServer,
    answer: Arc<Mutex<ResponseTemplate>>,
    /// devprovider's own keys.
    published: Vec<Value>,
}

struct Current(Arc<Mutex<ResponseTemplate>>);

impl Respond for Current {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        self.0.lock().unwrap().clone()
    }
}

impl Keys {
    async fn of(provider: &devprovider::DevProvider) -> Keys {
        let keys: Value = reqwest::get(format!("{}/jwks", provider.issuer()))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let published = keys["keys"].as_array().unwrap().clone();
        let server = MockServer::start().await;
        let answer = Arc::new(Mutex::new(ResponseTemplate::new(200).set_body_json(keys)));
        Mock::given(method("GET"))
            .and(path("/jwks"))
            .respond_with(Current(answer.clone()))
            .mount(&server)
            .await;
        Keys {
            server,
            answer,
            published,
        }
    }

    fn url(&self) -> String {
        format!("{}/jwks", self.server.uri())
    }

    async fn reads(&self) -> usize {
        let requests = self.server.received_requests().await.unwrap_or_default();
        requests.iter().filter(|r| r.url.path() == "/jwks").count()
    }

    fn answer_from_now_on(&self, answer: ResponseTemplate) {
        *self.answer.lock().unwrap() = answer;
    }
}

/// devprovider as `dev`, its keys read from a copy the test watches ([`Keys`]), again at most
/// every `window_secs`; back-channel logouts not rate limited, so only the key rule is at work;
/// 10 s for a provider call, so a read the test slows down to 5 s still succeeds.
async fn app_reading_keys_every(window_secs: u64) -> (TestApp, devprovider::DevProvider, Keys) {
    let provider = start_devprovider().await;
    let keys = Keys::of(&provider).await;
    let config = config_toml(&provider.issuer())
        .replace("provider_timeout_secs = 2", "provider_timeout_secs = 10")
        .replace(
            "provider_calls_burst = 1000",
            "provider_calls_burst = 1000\n        backchannel_logouts_burst = 0",
        )
        .replace(
            &format!("client_secret = \"{CLIENT_SECRET}\""),
            &format!(
                "client_secret = \"{CLIENT_SECRET}\"\n        jwks_url = \"{}\"\n        \
                 jwks_min_refetch_secs = {window_secs}",
                keys.url()
            ),
        );
    (spawn_app_with(&config).await, provider, keys)
}

/// `claims` signed RS256 with `signer`, the header naming `kid`.
fn rs256(signer: &rsa::RsaPrivateKey, kid: &str, claims: &Value) -> String {
    jwt(&json!({ "alg": "RS256", "kid": kid }), claims, |input| {
        SigningKey::<Sha256>::new(signer.clone())
            .sign(input)
            .to_vec()
    })
}

/// `claims` signed HS256 with `secret`, the header naming `kid`.
fn hs256(secret: &[u8], kid: &str, claims: &Value) -> String {
    use hmac::{Hmac, Mac};
    jwt(&json!({ "alg": "HS256", "kid": kid }), claims, |input| {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
        mac.update(input);
        mac.finalize().into_bytes().to_vec()
    })
}

/// The claims of a valid logout token from `issuer` for devprovider's Ada, with `jti`.
fn logout_claims(issuer: &str, subject: &str, jti: &str) -> Value {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    json!({
        "iss": issuer, "aud": CLIENT_ID, "iat": now, "jti": jti, "sub": subject,
        "events": { "http://schemas.openid.net/event/backchannel-logout": {} },
    })
}

/// A logout token from `issuer` about Ada, signed with a key of the test's own named `kid`:
/// one the provider never published.
fn made_up(issuer: &str, kid: &str) -> String {
    rs256(other_key(), kid, &logout_claims(issuer, "user-ada", kid))
}

/// The JWK of `signer`'s public half, named `kid`.
fn public_jwk(signer: &rsa::RsaPrivateKey, kid: &str) -> Value {
    use rsa::traits::PublicKeyParts;
    let public = signer.to_public_key();
    json!({
        "kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
        "n": URL_SAFE_NO_PAD.encode(public.n().to_bytes_be()),
        "e": URL_SAFE_NO_PAD.encode(public.e().to_bytes_be()),
    })
}

async fn post_logout_token(app: &TestApp, provider: &str, jwt: &str) -> Reply {
    let response = reqwest::Client::new()
        .post(app.url(&format!("/api/backchannel-logout/{provider}")))
        .form(&[("logout_token", jwt)])
        .send()
        .await
        .unwrap();
    Reply::of(response).await
}

#[tokio::test]
async fn a_flood_of_tokens_naming_made_up_keys_reads_the_keys_once_per_window_and_logins_go_on() {
    let (app, provider, keys) = app_reading_keys_every(300).await;
    let issuer = provider.issuer();
    log_in(&app.browser(), "ada").await;
    assert_eq!(keys.reads().await, 1, "discovery read the keys");

    let flood: Vec<_> = (0..300)
        .map(|n| {
            let (url, token) = (app.url(""), made_up(&issuer, &format!("made-up-{n}")));
            tokio::spawn(async move {
                let response = reqwest::Client::new()
                    .post(format!("{url}/api/backchannel-logout/{PROVIDER}"))
                    .form(&[("logout_token", token)])
                    .send()
                    .await
                    .unwrap();
                Reply::of(response).await
            })
        })
        .collect();
    // People log in while it lasts.
    for person in ["grace", "alan", "ada"] {
        log_in(&app.browser(), person).await;
    }
    for reply in flood {
        reply
            .await
            .unwrap()
            .assert_error(400, "invalid_logout_token");
    }
    assert_eq!(
        keys.reads().await,
        1,
        "no key was read again within the window of the discovery's read"
    );
}

/// A key the provider rotated in is found once the window has passed; a read that fails
/// leaves the keys in use; and logins do not wait for a slow read.
#[tokio::test]
async fn a_key_rotated_in_is_found_after_the_window_and_a_slow_or_failing_read_holds_up_no_one() {
    let (app, provider, keys) = app_reading_keys_every(1).await;
    let issuer = provider.issuer();
    let ada = app.browser();
    log_in(&ada, "ada").await;
    tokio::time::sleep(Duration::from_millis(1100)).await;

    // The keys cannot be read now: the tokens are refused, and the keys in use stay.
    keys.answer_from_now_on(ResponseTemplate::new(500));
    post_logout_token(&app, PROVIDER, &made_up(&issuer, "rotated-in"))
        .await
        .assert_error(400, "invalid_logout_token");
    assert_eq!(keys.reads().await, 2);
    log_in(&app.browser(), "grace").await;
    assert_eq!(
        keys.reads().await,
        2,
        "a login meanwhile used the keys in use, without reading them again"
    );

    // Read again once the window has passed, slowly: a login goes through meanwhile.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let mut rotated = keys.published.clone();
    rotated.push(public_jwk(other_key(), "rotated-in"));
    let rotated = json!({ "keys": rotated });
    keys.answer_from_now_on(
        ResponseTemplate::new(200)
            .set_body_json(rotated)
            .set_delay(Duration::from_secs(5)),
    );
    let token = made_up(&issuer, "rotated-in");
    let rotation = tokio::spawn({
        let url = app.url(&format!("/api/backchannel-logout/{PROVIDER}"));
        async move {
            let response = reqwest::Client::new()
                .post(url)
                .form(&[("logout_token", token)])
                .send()
                .await
                .unwrap();
            Reply::of(response).await
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    log_in(&app.browser(), "alan").await;
    assert!(
        !rotation.is_finished(),
        "the login did not wait for the keys being read"
    );
    let reply = rotation.await.unwrap();
    assert_eq!(
        reply.status, 200,
        "signed with the key rotated in: {}",
        reply.body
    );
    assert_eq!(keys.reads().await, 3);
    ada.get("/api/me").await.assert_error(401, "not_logged_in");
}

/// What the algorithm rule stops: a token that is not signed at all, and one signed with HMAC
/// under a symmetric key the provider's set happens to hold (or under the client secret, which
/// the provider knows too). A public-key signature from the provider's keys is the only proof.
#[tokio::test]
async fn a_logout_token_with_alg_none_or_hs256_or_an_unknown_key_is_refused() {
    let provider = FakeOidc::start().await;
    let shared_secret = b"a symmetric key published by mistake";
    let symmetric =
        json!({ "kty": "oct", "kid": "hmac", "k": URL_SAFE_NO_PAD.encode(shared_secret) });
    provider
        .jwks_says(json!({ "keys": [public_jwk(key(), KID), symmetric] }))
        .await;
    let app = provider.spawn_app().await;
    let claims = |jti: &str| logout_claims(&provider.issuer(), "user-1", jti);
    let unsigned = |kid: &str| {
        jwt(
            &json!({ "alg": "none", "kid": kid }),
            &claims(&format!("none-{kid}")),
            |_| Vec::new(),
        )
    };
    let forged = [
        ("alg none", unsigned(KID)),
        ("alg none, no kid", unsigned("")),
        (
            "HS256 with the symmetric key in the provider's set",
            hs256(shared_secret, "hmac", &claims("hs256-published")),
        ),
        (
            "HS256 with the client secret",
            hs256(CLIENT_SECRET.as_bytes(), KID, &claims("hs256-secret")),
        ),
        (
            "a key the provider never published",
            rs256(other_key(), "nobodys", &claims("unknown-kid")),
        ),
    ];
    for (what, token) in forged {
        let reply = post_logout_token(&app, PROVIDER, &token).await;
        assert_eq!(reply.status, 400, "{what}: {}", reply.body);
        reply.assert_error(400, "invalid_logout_token");
    }
    let good = sign(key(), &claims("good"));
    assert_eq!(post_logout_token(&app, PROVIDER, &good).await.status, 200);
}
