//! The github dialect's side of the tests: the OAuth App client and its redirect URI, the
//! authorization request Portero sends, github.com's token endpoint and api.github.com calls.
//! Included with `#[path]` by the github dialect's test crates only, as `standard.rs` is.

#![allow(dead_code)] // Each test crate uses its own subset.

use devprovider::form_login::Decision;
use devprovider::{Config, Dialect};
use reqwest::{Response, StatusCode};
use serde_json::Value;

use crate::common::*;

// Never contacted: redirects are not followed, the tests only read the Location header.
pub const REDIRECT_URI: &str = "http://127.0.0.1:9/callback/github";
pub const AUTHORIZE: &str = "/login/oauth/authorize";
pub const ACCESS_TOKEN: &str = "/login/oauth/access_token";
pub const BAD_CODE_URI: &str = "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#bad-verification-code";

pub fn config() -> Config {
    config_for(Dialect::Github, REDIRECT_URI)
}

pub async fn spawn_github() -> TestProvider {
    spawn(config()).await
}

/// The authorization request Portero sends: scopes, state and S256 PKCE.
pub fn authorize_query(scope: &str) -> Vec<(&'static str, String)> {
    vec![
        ("client_id", CLIENT_ID.to_owned()),
        ("redirect_uri", REDIRECT_URI.to_owned()),
        ("scope", scope.to_owned()),
        ("state", "state-123".to_owned()),
        ("code_challenge", challenge(VERIFIER)),
        ("code_challenge_method", "S256".to_owned()),
    ]
}

impl TestProvider {
    pub async fn github_code(&self, login: &str, scope: &str) -> String {
        let query = authorize_query(scope);
        let callback = self
            .sign_in_and_decide(AUTHORIZE, &query, login, Decision::Allow)
            .await;
        query_param(&callback, "code").expect("a code")
    }

    /// POSTs a form the way GitHub's docs show: credentials and code in the body.
    pub async fn exchange(&self, form: &[(&str, &str)], json: bool) -> Response {
        let mut request = self.http.post(self.url(ACCESS_TOKEN)).form(form);
        if json {
            request = request.header("accept", "application/json");
        }
        request.send().await.unwrap()
    }

    pub fn code_form<'a>(code: &'a str, verifier: &'a str) -> Vec<(&'static str, &'a str)> {
        vec![
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("code", code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", verifier),
        ]
    }

    /// Signs `login` in and returns the access token from a JSON token reply.
    pub async fn token_for(&self, login: &str, scope: &str) -> String {
        let code = self.github_code(login, scope).await;
        let reply: Value = self
            .exchange(&Self::code_form(&code, VERIFIER), true)
            .await
            .json()
            .await
            .unwrap();
        reply["access_token"].as_str().expect("a token").to_owned()
    }

    /// `/user` and `/user/emails` for `login`, signed in with `read:user user:email`.
    pub async fn user_and_emails(&self, login: &str) -> (Value, Value) {
        let token = self.token_for(login, "read:user user:email").await;
        let user = json_200(self.get_with_token("/user", &token).await).await;
        let emails = json_200(self.get_with_token("/user/emails", &token).await).await;
        (user, emails)
    }

    pub async fn delete_token(&self, secret: Option<&str>, body: Value) -> Response {
        let mut request = self
            .http
            .delete(self.url(&format!("/applications/{CLIENT_ID}/token")))
            .json(&body);
        if let Some(secret) = secret {
            request = request.basic_auth(CLIENT_ID, Some(secret));
        }
        request.send().await.unwrap()
    }
}

/// Parses a form-encoded token reply.
pub async fn form_reply(response: Response) -> Vec<(String, String)> {
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        header(&response, "content-type"),
        "application/x-www-form-urlencoded; charset=utf-8"
    );
    let body = response.text().await.unwrap();
    url::form_urlencoded::parse(body.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

pub async fn json_200(response: Response) -> Value {
    assert_eq!(response.status(), StatusCode::OK);
    assert!(header(&response, "content-type").starts_with("application/json"));
    response.json().await.unwrap()
}
