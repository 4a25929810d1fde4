//! A provider whose every answer the test chooses (wiremock), for what devprovider would never
//! do: forged or mismatched id_tokens, known token values to hunt for, misbehaviour.

use std::sync::OnceLock;

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use hmac::{Hmac, Mac};
use rsa::{
    pkcs1v15::SigningKey,
    signature::{SignatureEncoding, Signer},
    traits::PublicKeyParts,
    RsaPrivateKey,
};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use shared::LoginResponse;
use wiremock::{
    matchers::{body_string_contains, method, path},
    Mock, MockBuilder, MockServer, Request, ResponseTemplate,
};

use crate::helpers::{config_toml, spawn_app_with, Browser, TestApp, PROVIDER};

pub const KID: &str = "test-key";

pub fn key() -> &'static RsaPrivateKey {
    static KEY: OnceLock<RsaPrivateKey> = OnceLock::new();
    KEY.get_or_init(|| RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap())
}

/// Another key, for signatures the provider's JWKS does not vouch for.
pub fn other_key() -> &'static RsaPrivateKey {
    static KEY: OnceLock<RsaPrivateKey> = OnceLock::new();
    KEY.get_or_init(|| RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap())
}

pub struct FakeOidc {
    pub server: MockServer,
}

impl FakeOidc {
    /// Discovery and JWKS; the token and userinfo endpoints are mounted per test.
    pub async fn start() -> Self {
        let server = MockServer::start().await;
        let issuer = server.uri();
        Mock::given(method("GET"))
            .and(path("/.well-known/openid-configuration"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "issuer": issuer,
                "authorization_endpoint": format!("{issuer}/authorize"),
                "token_endpoint": format!("{issuer}/token"),
                "userinfo_endpoint": format!("{issuer}/userinfo"),
                "jwks_uri": format!("{issuer}/jwks"),
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
            })))
            .mount(&server)
            .await;
        let public = key().to_public_key();
        Mock::given(method("GET"))
            .and(path("/jwks"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "keys": [{
                "kty": "RSA", "use": "sig", "alg": "RS256", "kid": KID,
                "n": URL_SAFE_NO_PAD.encode(public.n().to_bytes_be()),
                "e": URL_SAFE_NO_PAD.encode(public.e().to_bytes_be()),
            }]})))
            .mount(&server)
            .await;
        FakeOidc { server }
    }

    pub fn issuer(&self) -> String {
        self.server.uri()
    }

    /// The backend with this provider as `dev`.
    pub async fn spawn_app(&self) -> TestApp {
        spawn_app_with(&config_toml(&self.issuer())).await
    }

    /// A whole login in `browser`: the token endpoint answers `tokens` and a valid id_token
    /// for the attempt, userinfo answers `userinfo`, and `POST /api/session` succeeds. Returns
    /// the id_token.
    pub async fn log_in(&self, browser: &Browser, mut tokens: Value, userinfo: Value) -> String {
        let login = browser.start_login(PROVIDER, None).await;
        let id_token = sign(key(), &self.claims(&login.params["nonce"]));
        tokens["id_token"] = json!(id_token);
        self.token_endpoint_answers(200, tokens).await;
        self.userinfo_answers(userinfo).await;
        let reply = browser.post_session(fake_callback_body(&login)).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        id_token
    }

    /// Standard, valid claims for `nonce`; tests change one of them.
    pub fn claims(&self, nonce: &str) -> Value {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        json!({
            "iss": self.issuer(), "sub": "user-1", "aud": crate::helpers::CLIENT_ID,
            "iat": now, "exp": now + 300, "nonce": nonce,
            "name": "Test Person", "email": "person@example.test",
        })
    }

    /// From now on, discovery says `changes` over what it said: a provider that declares other
    /// algorithms or endpoints. Call it before the backend's first login (it discovers once).
    pub async fn discovery_says(&self, changes: Value) {
        let url = format!("{}/.well-known/openid-configuration", self.issuer());
        let mut document: Value = reqwest::get(url).await.unwrap().json().await.unwrap();
        for (field, value) in changes.as_object().expect("changes are fields") {
            document[field] = value.clone();
        }
        let answer = ResponseTemplate::new(200).set_body_json(document);
        let discovery = Mock::given(method("GET")).and(path("/.well-known/openid-configuration"));
        self.answer(discovery, answer, 1).await;
    }

    /// From now on, the JWKS is `keys`. Call it before the backend's first call (it reads the
    /// keys with discovery).
    pub async fn jwks_says(&self, keys: Value) {
        let jwks = Mock::given(method("GET")).and(path("/jwks"));
        self.answer(jwks, ResponseTemplate::new(200).set_body_json(keys), 1)
            .await;
    }

    pub async fn token_endpoint_answers(&self, status: u16, body: Value) {
        let token = Mock::given(method("POST")).and(path("/token"));
        let answer = ResponseTemplate::new(status).set_body_json(body);
        self.answer(token, answer, 5).await;
    }

    /// The token endpoint's answer to one `grant_type` (`refresh_token`, …); it takes
    /// precedence over `token_endpoint_answers`, which then answers the other grants.
    pub async fn token_endpoint_answers_grant(&self, grant_type: &str, status: u16, body: Value) {
        let grant = Mock::given(method("POST"))
            .and(path("/token"))
            .and(body_string_contains(format!("grant_type={grant_type}")));
        let answer = ResponseTemplate::new(status).set_body_json(body);
        self.answer(grant, answer, 1).await;
    }

    pub async fn userinfo_answers(&self, body: Value) {
        let userinfo = Mock::given(method("GET")).and(path("/userinfo"));
        let answer = ResponseTemplate::new(200).set_body_json(body);
        self.answer(userinfo, answer, 5).await;
    }

    /// Mounts `answer` to what `mock` matches; priority 1 goes before wiremock's default 5.
    async fn answer(&self, mock: MockBuilder, answer: ResponseTemplate, priority: u8) {
        mock.respond_with(answer)
            .with_priority(priority)
            .mount(&self.server)
            .await;
    }

    /// The requests the provider received at `path`, in order.
    pub async fn requests_to(&self, path: &str) -> Vec<Request> {
        let mut requests = self.server.received_requests().await.unwrap_or_default();
        requests.retain(|r| r.url.path() == path);
        requests
    }

    pub async fn token_requests(&self) -> usize {
        self.requests_to("/token").await.len()
    }
}

/// The `POST /api/session` body for `login` at FakeOidc, which has no login pages: any code,
/// and the attempt's state.
pub fn fake_callback_body(login: &LoginResponse) -> Value {
    json!({ "provider": PROVIDER, "code": "c", "state": login.params["state"] })
}

/// A JWT of `header` and `claims`, its signature made by `signature` from the signing input.
pub fn jwt(header: &Value, claims: &Value, signature: impl FnOnce(&[u8]) -> Vec<u8>) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = signature(input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// RS256 with `key`, as the provider signs (with `key()`).
pub fn sign(key: &RsaPrivateKey, claims: &Value) -> String {
    let header = json!({ "alg": "RS256", "typ": "JWT", "kid": KID });
    jwt(&header, claims, |input| {
        SigningKey::<Sha256>::new(key.clone()).sign(input).to_vec()
    })
}

/// HS256 with `secret` as the HMAC key.
pub fn sign_hs256(secret: &[u8], claims: &Value) -> String {
    let header = json!({ "alg": "HS256", "typ": "JWT", "kid": KID });
    jwt(&header, claims, |input| {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
        mac.update(input);
        mac.finalize().into_bytes().to_vec()
    })
}

/// OpenID Connect Core §3.1.3.6's `at_hash` of an access token, for an RS256 id_token.
pub fn at_hash(access_token: &str) -> String {
    let digest = Sha256::digest(access_token.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest[..digest.len() / 2])
}
