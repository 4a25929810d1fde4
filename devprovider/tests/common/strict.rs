//! A stricter client's side of the standard dialect's tests: requests that authenticate with a
//! secret or a client assertion, carry a DPoP proof or not, push authorization requests, and
//! present DPoP-bound tokens. Included with `#[path]` beside `standard.rs` and
//! `client_keys.rs`, whose names it uses.

#![allow(dead_code)] // Each test crate uses its own subset.

use std::collections::HashMap;

use devprovider::form_login::Decision;
use devprovider::{ClientMetadata, Config, Dpop, Par};
use reqwest::{Response, StatusCode};
use serde_json::Value;
use url::Url;

use crate::client_keys::{ClientKey, JWT_BEARER};
use crate::common::*;
use crate::standard::*;

/// How a request authenticates its client.
pub enum Auth<'a> {
    /// `portero` with HTTP Basic.
    Basic,
    /// `portero` with `client_secret_post`.
    Post,
    /// `portero` with an assertion signed by this key, for this audience.
    Assertion(&'a ClientKey, &'a str),
    /// Exactly this assertion.
    Signed(&'a str),
    None,
}

/// The standard provider with `portero` registered with these metadata.
pub async fn spawn_registered(metadata: ClientMetadata) -> TestProvider {
    let mut client = portero_client();
    if metadata.token_endpoint_auth_method == devprovider::AuthMethod::PrivateKeyJwt {
        client.secret = String::new();
    }
    spawn_provider_with(Config {
        clients: vec![client],
        client_metadata: HashMap::from([(CLIENT_ID.to_owned(), metadata)]),
        ..Config::default()
    })
    .await
}

/// The standard provider with `portero` (no metadata), PAR as `par` and DPoP as `dpop`.
pub async fn spawn_strict(par: Par, dpop: Dpop) -> TestProvider {
    let clients = vec![portero_client()];
    spawn_provider_with(Config {
        clients,
        par,
        dpop,
        ..Config::default()
    })
    .await
}

impl TestProvider {
    /// POSTs `form` to `path`, authenticated by `auth`, with a `DPoP` header when given.
    pub async fn post_as(
        &self,
        path: &str,
        auth: &Auth<'_>,
        dpop: Option<&str>,
        form: &[(&str, &str)],
    ) -> Response {
        let mut form: Vec<(&str, &str)> = form.to_vec();
        let assertion;
        let mut request = self.http.post(self.url(path));
        match auth {
            Auth::Basic => request = request.basic_auth(CLIENT_ID, Some(CLIENT_SECRET)),
            Auth::Post => {
                // A pushed request already names its client_id.
                if !form.iter().any(|(name, _)| *name == "client_id") {
                    form.push(("client_id", CLIENT_ID));
                }
                form.push(("client_secret", CLIENT_SECRET));
            }
            Auth::Assertion(key, aud) => {
                assertion = key.assertion(CLIENT_ID, aud);
                form.extend([
                    ("client_assertion_type", JWT_BEARER),
                    ("client_assertion", &assertion),
                ]);
            }
            Auth::Signed(jwt) => form.extend([
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", *jwt),
            ]),
            Auth::None => {}
        }
        if let Some(proof) = dpop {
            request = request.header("DPoP", proof);
        }
        request.form(&form).send().await.unwrap()
    }

    /// `POST /par` with the authorization request `request`.
    pub async fn push(
        &self,
        auth: &Auth<'_>,
        dpop: Option<&str>,
        request: &AuthRequest,
    ) -> Response {
        let query = request.query();
        let form: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
        self.post_as("/par", auth, dpop, &form).await
    }

    /// Pushes `request` and answers 201: its `request_uri`.
    pub async fn pushed_request_uri(&self, auth: &Auth<'_>, request: &AuthRequest) -> String {
        let response = self.push(auth, None, request).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let body: Value = response.json().await.unwrap();
        body["request_uri"].as_str().unwrap().to_owned()
    }

    /// Signs ada in through `/authorize?client_id&request_uri` and returns the redirect.
    pub async fn decide_pushed(&self, request_uri: &str) -> Url {
        let query = [("client_id", CLIENT_ID), ("request_uri", request_uri)];
        self.sign_in_and_decide("/authorize", &query, "ada", Decision::Allow)
            .await
    }

    /// The token endpoint's reply to an authorization_code grant.
    pub async fn redeem(&self, auth: &Auth<'_>, dpop: Option<&str>, code: &str) -> Response {
        self.post_as("/token", auth, dpop, &code_form(code, VERIFIER))
            .await
    }

    /// Redeems `code` as `portero` (HTTP Basic) with a fresh proof by `key`: the tokens.
    pub async fn redeem_bound(&self, key: &ClientKey, code: &str) -> Value {
        let proof = key.proof("POST", &self.url("/token"), None, None);
        ok_json(self.redeem(&Auth::Basic, Some(&proof), code).await).await
    }

    /// A refresh_token grant.
    pub async fn refresh_as(
        &self,
        auth: &Auth<'_>,
        dpop: Option<&str>,
        refresh_token: &str,
    ) -> Response {
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ];
        self.post_as("/token", auth, dpop, &form).await
    }

    /// `GET path` with `Authorization: DPoP token` and the proof, when given.
    pub async fn get_dpop(&self, path: &str, token: &str, proof: Option<&str>) -> Response {
        let mut request = self
            .http
            .get(self.url(path))
            .header("Authorization", format!("DPoP {token}"));
        if let Some(proof) = proof {
            request = request.header("DPoP", proof);
        }
        request.send().await.unwrap()
    }

    /// `POST /introspect` about `token`, as `portero` with HTTP Basic.
    pub async fn introspect(&self, token: &str) -> Value {
        let response = self
            .post_as("/introspect", &Auth::Basic, None, &[("token", token)])
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }
}

/// The body of an OAuth error reply with this status: its `error` and `error_description`.
pub async fn refusal(response: Response, status: StatusCode) -> (String, String) {
    assert_eq!(response.status(), status);
    let body: Value = response.json().await.unwrap();
    (
        body["error"].as_str().unwrap().to_owned(),
        body["error_description"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

/// Asserts `response` is an OAuth error `error` (400 unless said) and returns its description.
pub async fn refused_with(response: Response, status: StatusCode, error: &str) -> String {
    let (code, description) = refusal(response, status).await;
    assert_eq!(code, error, "{description}");
    description
}

/// The JSON of a 200 reply.
pub async fn ok_json(response: Response) -> Value {
    let status = response.status();
    let body = response.text().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    serde_json::from_str(&body).unwrap()
}
