//! The "Strict IdP" of `devprovider/config/strict-idp.toml`, read from exactly that file: a
//! whole login as a FAPI 2.0-style client makes it (PAR, private_key_jwt, DPoP with nonces),
//! then userinfo, a refresh and a revocation; and what the provider refuses on the way.
//! Loopback only.

#[path = "common/client_keys.rs"]
mod client_keys;
mod common;

use client_keys::*;
use common::*;
use devprovider::config_file::{self, FileConfig};
use devprovider::form_login::{self, Decision};
use devprovider::{AuthMethod, DevProvider, Dpop, Par};
use reqwest::{RequestBuilder, Response, StatusCode};
use serde_json::Value;

const CLIENT: &str = "portero-dev-strict";
const REDIRECT: &str = "http://127.0.0.1:8080/callback/strict";

/// The committed file, loaded from a copy in a folder of its own beside a JWK Set of `key`,
/// as `cargo xtask dev` would run it.
fn load_strict_idp(key: &ClientKey) -> FileConfig {
    let folder = std::env::temp_dir().join(format!("devprovider-strict-{}", jose_random()));
    std::fs::create_dir_all(&folder).unwrap();
    let committed = concat!(env!("CARGO_MANIFEST_DIR"), "/config/strict-idp.toml");
    let file = folder.join("strict-idp.toml");
    std::fs::copy(committed, &file).unwrap();
    let jwks = key.jwks().to_string();
    std::fs::write(folder.join("strict-client.jwks.json"), jwks).unwrap();
    let loaded = config_file::load(&file);
    std::fs::remove_dir_all(&folder).unwrap();
    loaded.unwrap()
}

struct Strict {
    provider: DevProvider,
    http: reqwest::Client,
    key: ClientKey,
    /// The server's DPoP nonce, as the last reply handed it out.
    nonce: Option<String>,
}

impl Strict {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.provider.issuer())
    }

    /// POSTs `form` to `path` with a fresh assertion and proof, retrying once with the nonce
    /// a `use_dpop_nonce` hands out.
    async fn post(&mut self, path: &str, form: &[(&str, &str)], token: Option<&str>) -> Response {
        let url = self.url(path);
        self.send(|this| {
            let assertion = this.key.assertion(CLIENT, &this.provider.issuer());
            let mut form = form.to_vec();
            form.extend([
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", &assertion),
            ]);
            let proof = this.key.proof("POST", &url, token, this.nonce.as_deref());
            this.http.post(&url).header("DPoP", proof).form(&form)
        })
        .await
    }

    async fn send(&mut self, request: impl Fn(&Self) -> RequestBuilder) -> Response {
        for _ in 0..2 {
            let response = request(self).send().await.unwrap();
            if let Some(nonce) = response.headers().get("dpop-nonce") {
                self.nonce = Some(nonce.to_str().unwrap().to_owned());
            }
            let challenge = response.headers().get("www-authenticate");
            let asked = challenge.is_some_and(|c| c.to_str().unwrap().contains("use_dpop_nonce"));
            if response.status() == StatusCode::BAD_REQUEST || asked {
                let body = response.text().await.unwrap();
                if body.contains("use_dpop_nonce") {
                    continue;
                }
                panic!("refused: {body}");
            }
            return response;
        }
        panic!("asked for a nonce twice");
    }
}

async fn json_of(response: Response) -> Value {
    let status = response.status();
    let body = response.text().await.unwrap();
    assert!(status.is_success(), "{status}: {body}");
    serde_json::from_str(&body).unwrap()
}

#[tokio::test]
async fn the_strict_idp_file_runs_a_whole_login_with_par_private_key_jwt_and_dpop() {
    let key = ClientKey::es256();
    let file = load_strict_idp(&key);
    assert_eq!(file.bind, "127.0.0.1:3904".parse().unwrap());
    let config = &file.config;
    assert_eq!(
        (config.par, config.dpop),
        (Par::Required, Dpop::RequireNonce)
    );
    let metadata = &config.client_metadata[CLIENT];
    assert_eq!(
        metadata.token_endpoint_auth_method,
        AuthMethod::PrivateKeyJwt
    );
    assert!(metadata.require_pushed_authorization_requests && metadata.dpop_bound_access_tokens);
    assert_eq!(metadata.jwks.as_ref(), Some(&key.jwks()));

    let provider = DevProvider::start(file.config).await.unwrap();
    let http = http_client().build().unwrap();
    let mut app = Strict {
        provider,
        http,
        key,
        nonce: None,
    };

    let doc: Value = json_of(
        app.http
            .get(app.url("/.well-known/openid-configuration"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(doc["require_pushed_authorization_requests"], true);
    assert_eq!(
        doc["pushed_authorization_request_endpoint"],
        app.url("/par")
    );
    assert!(doc["dpop_signing_alg_values_supported"].is_array());

    // Only client_id and request_uri travel through the browser.
    let pushed = app
        .post(
            "/par",
            &[
                ("client_id", CLIENT),
                ("redirect_uri", REDIRECT),
                ("response_type", "code"),
                ("scope", "openid profile email offline_access"),
                ("state", "strict-state"),
                ("code_challenge", &challenge(VERIFIER)),
                ("code_challenge_method", "S256"),
            ],
            None,
        )
        .await;
    assert_eq!(pushed.status(), StatusCode::CREATED);
    let pushed = json_of(pushed).await;
    let mut authorize = url::Url::parse(&app.url("/authorize")).unwrap();
    authorize
        .query_pairs_mut()
        .append_pair("client_id", CLIENT)
        .append_pair("request_uri", pushed["request_uri"].as_str().unwrap());
    let callback = form_login::log_in(&form_login::client(), &authorize, "ada", Decision::Allow)
        .await
        .unwrap();
    assert_query(&callback, "state", "strict-state");
    let code = query_param(&callback, "code").unwrap();

    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ];
    let tokens = json_of(app.post("/token", &form, None).await).await;
    assert_eq!(tokens["token_type"], "DPoP");
    assert!(
        app.nonce.is_some(),
        "the first token request was asked for a nonce"
    );

    let access_token = tokens["access_token"].as_str().unwrap().to_owned();
    let userinfo_url = app.url("/userinfo");
    let user = json_of(
        app.send(|this| {
            let proof = this.key.proof(
                "GET",
                &userinfo_url,
                Some(&access_token),
                this.nonce.as_deref(),
            );
            this.http
                .get(&userinfo_url)
                .header("Authorization", format!("DPoP {access_token}"))
                .header("DPoP", proof)
        })
        .await,
    )
    .await;
    assert_eq!(user["sub"], "user-ada");

    let refresh = [
        ("grant_type", "refresh_token"),
        ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
    ];
    let refreshed = json_of(app.post("/token", &refresh, None).await).await;
    let new_access = refreshed["access_token"].as_str().unwrap();
    let revoked = app
        .post("/revoke", &[("token", new_access)], Some(new_access))
        .await;
    assert_eq!(revoked.status(), StatusCode::OK);
    assert!(!app.provider.is_access_token_active(new_access));
}

#[tokio::test]
async fn the_strict_idp_refuses_a_plain_request_a_secret_and_a_token_request_without_dpop() {
    let key = ClientKey::es256();
    let file = load_strict_idp(&key);
    let provider = DevProvider::start(file.config).await.unwrap();
    let http = http_client().build().unwrap();
    let issuer = provider.issuer();

    let plain = http
        .get(format!("{issuer}/authorize"))
        .query(&[
            ("client_id", CLIENT),
            ("redirect_uri", REDIRECT),
            ("response_type", "code"),
            ("code_challenge", &challenge(VERIFIER)),
            ("code_challenge_method", "S256"),
        ])
        .send()
        .await
        .unwrap();
    assert_query(&location(&plain), "error", "invalid_request");

    let secret = http
        .post(format!("{issuer}/token"))
        .basic_auth(CLIENT, Some("guess"))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(secret.status(), StatusCode::UNAUTHORIZED);

    let assertion = key.assertion(CLIENT, &issuer);
    let without_dpop = http
        .post(format!("{issuer}/token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", "x"),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", &assertion),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(without_dpop.status(), StatusCode::BAD_REQUEST);
    let body: Value = without_dpop.json().await.unwrap();
    assert_eq!(body["error"], "invalid_dpop_proof");
}
