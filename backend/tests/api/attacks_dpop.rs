//! Rule 9 with DPoP (RFC 9449): a provider that refuses Portero's proof — made for another URL,
//! damaged on the way, or replayed — gets a 502 with a sentence naming the proof, never a
//! panic; a refused proof never ends a session the way a refused token does; and Portero itself
//! never sends a proof twice, not even when it retries with a nonce.

use std::sync::{Arc, Mutex};

use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
    routing::post,
    Router,
};
use devprovider::{Dpop, Par};
use serde_json::{json, Value};

use crate::{
    fake_oidc::{fake_callback_body, FakeOidc},
    helpers::*,
    sessions_support::log_in_at,
    strict_support::*,
};

/// Portero with `dpop = true` at a devprovider that binds tokens, secret-based, with the lines
/// `more` makes added to its provider table.
async fn dpop_app(name: &str, more: impl FnOnce(&devprovider::DevProvider) -> String) -> TestApp {
    let strictness = Strictness {
        par: Par::On,
        dpop: Dpop::On,
        private_key_jwt: false,
        portero: "dpop = true",
    };
    strict_app_with(name, strictness, more).await
}

/// The provider heard one token request, and issued nothing.
fn assert_no_token_was_issued(app: &TestApp) {
    let stats = app.devprovider().stats();
    assert_eq!(
        (stats.token_requests, stats.authorization_code_grants),
        (1, 0)
    );
}

/// `reply` is the 502 of a refused proof, naming neither a host nor a port.
fn assert_refused_proof(reply: &Reply, port: u16) {
    reply.assert_error(502, "provider_error");
    assert!(reply.body.contains("DPoP proof"), "{}", reply.body);
    assert!(!reply.body.contains(&port.to_string()), "{}", reply.body);
}

/// A login whose calls to the provider's `endpoint` (`token`, `userinfo`) go to it as
/// `localhost`: the provider's host too, but not the URL it says it is at, so the proof's `htu`
/// names a URL the server is not. The app, and the answer of `POST /api/session`.
async fn log_in_with_a_proof_for_another_url(endpoint: &'static str) -> (TestApp, Reply) {
    let app = dpop_app(&format!("wrong-htu-{endpoint}"), |provider| {
        let port = provider.addr().port();
        format!("{endpoint}_url = \"http://localhost:{port}/{endpoint}\"")
    })
    .await;
    let reply = log_in_at(&app.browser(), PROVIDER, "ada").await;
    (app, reply)
}

#[tokio::test]
async fn a_proof_for_another_url_is_refused_at_the_token_endpoint_and_the_login_is_a_502() {
    let (app, reply) = log_in_with_a_proof_for_another_url("token").await;
    assert_refused_proof(&reply, app.devprovider().addr().port());
    assert_no_token_was_issued(&app);
}

#[tokio::test]
async fn a_proof_for_another_url_is_refused_at_userinfo_and_the_login_is_a_502() {
    let (app, reply) = log_in_with_a_proof_for_another_url("userinfo").await;
    assert_refused_proof(&reply, app.devprovider().addr().port());
    assert_eq!(app.devprovider().stats().userinfo_requests, 1);
}

/// A relay in front of a provider's token endpoint that changes one byte of the `DPoP`
/// proof's signature on the way: what a damaged or forged proof looks like to the provider.
#[derive(Clone, Default)]
struct Relay {
    /// The provider's token endpoint, once it is known.
    to: Arc<Mutex<String>>,
}

async fn relay(
    State(relay): State<Relay>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let mut proof = headers["dpop"].to_str().unwrap().to_owned();
    let last = proof.pop().unwrap();
    proof.push(if last == 'A' { 'B' } else { 'A' });
    let to = relay.to.lock().unwrap().clone();
    let mut forwarded = reqwest::Client::new()
        .post(to)
        .body(body)
        .header("dpop", proof);
    for name in ["authorization", "content-type", "accept"] {
        if let Some(value) = headers.get(name) {
            forwarded = forwarded.header(name, value.to_str().unwrap());
        }
    }
    let reply = forwarded.send().await.unwrap();
    (reply.status(), reply.text().await.unwrap())
}

/// The relay on loopback: its URL, and where to say the provider's token endpoint is.
async fn start_relay() -> (String, Arc<Mutex<String>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/token", listener.local_addr().unwrap());
    let state = Relay::default();
    let to = state.to.clone();
    let router = Router::new().route("/token", post(relay)).with_state(state);
    tokio::spawn(async move { axum::serve(listener, router).await });
    (url, to)
}

#[tokio::test]
async fn a_damaged_proof_is_refused_by_the_provider_and_the_login_is_a_502() {
    let (relay, to) = start_relay().await;
    let app = dpop_app("damaged", |provider| {
        *to.lock().unwrap() = format!("{}/token", provider.issuer());
        format!("token_url = \"{relay}\"")
    })
    .await;
    let reply = log_in_at(&app.browser(), PROVIDER, "ada").await;
    assert_refused_proof(&reply, app.devprovider().addr().port());
    assert_no_token_was_issued(&app);
}

#[tokio::test]
async fn a_replayed_proof_is_refused_and_portero_never_sends_one_twice() {
    // FakeOidc asks for a nonce first, then says it saw the proof's jti before, as oidc-provider
    // says it ("DPoP proof JWT Replay detected").
    let provider = FakeOidc::start().await;
    provider
        .discovery_says(json!({ "dpop_signing_alg_values_supported": ["ES256"] }))
        .await;
    let app = spawn_app_with(&format!(
        "{}\ndpop = true\n",
        config_toml(&provider.issuer())
    ))
    .await;
    let browser = app.browser();
    let login = browser.start_login(PROVIDER, None).await;
    use wiremock::{matchers, Mock, ResponseTemplate};
    let nonce = ResponseTemplate::new(400)
        .insert_header("DPoP-Nonce", "n-1")
        .set_body_json(json!({ "error": "use_dpop_nonce", "error_description": "nonce" }));
    Mock::given(matchers::path("/token"))
        .respond_with(nonce)
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&provider.server)
        .await;
    let replayed = ResponseTemplate::new(400).set_body_json(json!({
        "error": "invalid_dpop_proof", "error_description": "DPoP proof JWT Replay detected"
    }));
    Mock::given(matchers::path("/token"))
        .respond_with(replayed)
        .with_priority(2)
        .mount(&provider.server)
        .await;
    let reply = browser.post_session(fake_callback_body(&login)).await;
    assert_refused_proof(&reply, provider.server.address().port());

    let proofs: Vec<Value> = provider
        .requests_to("/token")
        .await
        .iter()
        .map(|r| claims(r.headers.get("dpop").unwrap().to_str().unwrap()))
        .collect();
    assert_eq!(proofs.len(), 2, "one try with the nonce asked for, no more");
    assert_ne!(proofs[0]["jti"], proofs[1]["jti"]);
    assert_eq!(proofs[1]["nonce"], "n-1");
    assert_eq!(proofs[1]["htu"], format!("{}/token", provider.issuer()));
}

#[tokio::test]
async fn a_refused_proof_at_refresh_or_userinfo_keeps_the_session() {
    let provider = FakeOidc::start().await;
    let app = spawn_app_with(&format!(
        "{}\ndpop = true\n",
        config_toml(&provider.issuer())
    ))
    .await;
    let browser = app.browser();
    // A bound token, due for a refresh at once.
    provider
        .log_in(
            &browser,
            json!({ "access_token": "at-1", "refresh_token": "rt-1", "token_type": "DPoP",
                    "expires_in": 10 }),
            json!({ "sub": "user-1" }),
        )
        .await;
    provider
        .token_endpoint_answers_grant(
            "refresh_token",
            400,
            json!({ "error": "invalid_dpop_proof", "error_description": "bad proof" }),
        )
        .await;
    let reply = browser.get("/api/profile").await;
    assert_refused_proof(&reply, provider.server.address().port());
    assert_eq!(browser.get("/api/me").await.status, 200, "still logged in");

    // At userinfo, a 401 that names the proof is not a refused token either.
    let fresh = FakeOidc::start().await;
    let app = spawn_app_with(&format!("{}\ndpop = true\n", config_toml(&fresh.issuer()))).await;
    let browser = app.browser();
    fresh
        .log_in(
            &browser,
            json!({ "access_token": "at-2", "token_type": "DPoP", "expires_in": 3600 }),
            json!({ "sub": "user-1" }),
        )
        .await;
    use wiremock::{matchers, Mock, ResponseTemplate};
    let challenge = ResponseTemplate::new(401).insert_header(
        "WWW-Authenticate",
        r#"DPoP error="invalid_dpop_proof", algs="ES256""#,
    );
    Mock::given(matchers::path("/userinfo"))
        .respond_with(challenge)
        .with_priority(1)
        .mount(&fresh.server)
        .await;
    let reply = browser.get("/api/profile").await;
    assert_refused_proof(&reply, fresh.server.address().port());
    assert_eq!(browser.get("/api/me").await.status, 200, "still logged in");
    let sent = fresh.requests_to("/userinfo").await;
    let last = sent.last().unwrap();
    assert!(last.headers["authorization"]
        .to_str()
        .unwrap()
        .starts_with("DPoP "));
    let proof = claims(last.headers["dpop"].to_str().unwrap());
    assert_eq!(
        (proof["htm"].as_str(), proof["ath"].is_string()),
        (Some("GET"), true)
    );
}

/// The claims of a JWT, unverified.
fn claims(jwt: &str) -> Value {
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}
