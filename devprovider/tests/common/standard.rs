//! The standard dialect's side of the tests: the client `portero` with two redirect URIs, the
//! authorization request it sends, and its calls to the token, userinfo and revocation
//! endpoints. Included with `#[path]` by the standard dialect's test crates only, since its
//! `TestProvider` methods would clash with the other dialects' (`exchange`, `token`, …).

#![allow(dead_code)] // Each test crate uses its own subset.

use devprovider::form_login::Decision;
use devprovider::{Client, Config};
use reqwest::{Response, StatusCode};
use serde_json::Value;
use url::Url;

use crate::common::*;

// Never contacted: redirects are not followed, the tests only read the Location header.
pub const REDIRECT_URI: &str = "http://127.0.0.1:9/callback/dev";
pub const REDIRECT_URI_WITH_QUERY: &str = "http://127.0.0.1:9/callback/dev?tenant=blue";

pub fn portero_client() -> Client {
    Client {
        redirect_uris: vec![REDIRECT_URI.into(), REDIRECT_URI_WITH_QUERY.into()],
        ..client(REDIRECT_URI)
    }
}

pub async fn spawn_provider() -> TestProvider {
    spawn_provider_with(Config {
        clients: vec![portero_client()],
        ..Config::default()
    })
    .await
}

pub async fn spawn_provider_with(config: Config) -> TestProvider {
    spawn(config).await
}

/// What the client puts in the authorization request; tests change one field at a time.
pub struct AuthRequest {
    pub client_id: &'static str,
    pub redirect_uri: &'static str,
    pub response_type: &'static str,
    pub scope: &'static str,
    pub state: Option<&'static str>,
    pub nonce: Option<&'static str>,
    pub challenge: Option<String>,
    pub challenge_method: Option<&'static str>,
    /// RFC 9449 §10: the thumbprint of the only DPoP key that may redeem the code.
    pub dpop_jkt: Option<String>,
}

impl Default for AuthRequest {
    fn default() -> Self {
        AuthRequest {
            client_id: CLIENT_ID,
            redirect_uri: REDIRECT_URI,
            response_type: "code",
            scope: "openid profile email",
            state: Some("state-123"),
            nonce: Some("nonce-456"),
            challenge: Some(challenge(VERIFIER)),
            challenge_method: Some("S256"),
            dpop_jkt: None,
        }
    }
}

/// The default request with one change.
pub fn changed(change: impl FnOnce(&mut AuthRequest)) -> AuthRequest {
    let mut request = AuthRequest::default();
    change(&mut request);
    request
}

impl AuthRequest {
    pub fn query(&self) -> Vec<(&'static str, String)> {
        let mut query = vec![
            ("client_id", self.client_id.to_owned()),
            ("redirect_uri", self.redirect_uri.to_owned()),
            ("response_type", self.response_type.to_owned()),
            ("scope", self.scope.to_owned()),
        ];
        let optional = [
            ("state", self.state.map(str::to_owned)),
            ("nonce", self.nonce.map(str::to_owned)),
            ("code_challenge", self.challenge.clone()),
            (
                "code_challenge_method",
                self.challenge_method.map(str::to_owned),
            ),
            ("dpop_jkt", self.dpop_jkt.clone()),
        ];
        query.extend(optional.into_iter().filter_map(|(k, v)| Some((k, v?))));
        query
    }
}

impl TestProvider {
    pub async fn authorize(&self, request: &AuthRequest) -> Response {
        self.get_url(self.url_with("/authorize", &request.query()))
            .await
    }

    /// Signs in as `login`, answers the consent page, and returns the redirect target.
    pub async fn decide(&self, request: &AuthRequest, login: &str, decision: Decision) -> Url {
        self.sign_in_and_decide("/authorize", &request.query(), login, decision)
            .await
    }

    /// The happy path up to the code, for tests about the token endpoint.
    pub async fn code_for(&self, request: &AuthRequest) -> String {
        self.code_as(request, "ada").await
    }

    pub async fn code_as(&self, request: &AuthRequest, login: &str) -> String {
        let callback = self.decide(request, login, Decision::Allow).await;
        query_param(&callback, "code").expect("a code")
    }

    pub async fn token(&self, form: &[(&str, &str)]) -> Response {
        self.http
            .post(self.url("/token"))
            .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    pub async fn exchange(&self, code: &str, verifier: &str) -> Response {
        self.token(&code_form(code, verifier)).await
    }

    /// Redeems a code as another registered client.
    pub async fn exchange_as(&self, id: &str, secret: &str, code: &str) -> Response {
        self.http
            .post(self.url("/token"))
            .basic_auth(id, Some(secret))
            .form(&code_form(code, VERIFIER))
            .send()
            .await
            .unwrap()
    }

    pub async fn tokens_for_ada(&self) -> Value {
        self.tokens_for("ada").await
    }

    /// Signs `login` in with the default request and redeems the code.
    pub async fn tokens_for(&self, login: &str) -> Value {
        let code = self.code_as(&AuthRequest::default(), login).await;
        let response = self.exchange(&code, VERIFIER).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    pub async fn refresh(&self, refresh_token: &str) -> Response {
        self.token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ])
        .await
    }

    pub async fn userinfo(&self, access_token: &str) -> Response {
        self.get_with_token("/userinfo", access_token).await
    }

    /// The claims of a 200 userinfo reply.
    pub async fn userinfo_claims(&self, access_token: &str) -> Value {
        let response = self.userinfo(access_token).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    pub async fn revoke(&self, token: &str) -> Response {
        self.http
            .post(self.url("/revoke"))
            .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
            .form(&[("token", token)])
            .send()
            .await
            .unwrap()
    }

    /// Checks the id token's RS256 signature against /jwks and returns its claims.
    pub async fn verified_claims(&self, id_token: &str) -> Value {
        let (header, claims) = self.verified_jwt(id_token).await;
        assert_eq!(header["alg"], "RS256");
        assert_eq!(header["typ"], "JWT");
        claims
    }
}

/// An authorization_code grant's form, credentials aside.
pub fn code_form<'a>(code: &'a str, verifier: &'a str) -> [(&'static str, &'a str); 4] {
    [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT_URI),
        ("code_verifier", verifier),
    ]
}

pub async fn error_of(response: Response) -> (StatusCode, String) {
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    (status, body["error"].as_str().unwrap().to_owned())
}
