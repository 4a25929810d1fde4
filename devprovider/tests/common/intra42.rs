//! The intra42 dialect's side of the tests: the 42 application and its redirect URI, the
//! authorization request, `/oauth/token` and `/v2/me` calls. Included with `#[path]` by the
//! intra42 dialect's test crates only, as `standard.rs` is.

#![allow(dead_code)] // Each test crate uses its own subset.

use devprovider::form_login::Decision;
use devprovider::{Config, Dialect};
use reqwest::{Response, StatusCode};
use serde_json::Value;

use crate::common::*;

// Never contacted: redirects are not followed, the tests only read the Location header.
pub const REDIRECT_URI: &str = "http://127.0.0.1:9/callback/intra42";
pub const AUTHORIZE: &str = "/oauth/authorize";
pub const INVALID_GRANT: &str =
    "The provided authorization grant is invalid, expired, revoked, does \
    not match the redirection URI used in the authorization request, or was issued to another \
    client.";

pub fn config() -> Config {
    config_for(Dialect::Intra42, REDIRECT_URI)
}

pub async fn spawn_intra() -> TestProvider {
    spawn(config()).await
}

pub fn authorize_query(scope: &str) -> Vec<(&'static str, &str)> {
    vec![
        ("client_id", CLIENT_ID),
        ("redirect_uri", REDIRECT_URI),
        ("response_type", "code"),
        ("scope", scope),
        ("state", "state-42"),
    ]
}

impl TestProvider {
    pub async fn intra_code(&self, login: &str, scope: &str) -> String {
        let callback = self
            .sign_in_and_decide(AUTHORIZE, &authorize_query(scope), login, Decision::Allow)
            .await;
        query_param(&callback, "code").expect("a code")
    }

    pub async fn token(&self, form: &[(&str, &str)]) -> Response {
        self.post_form("/oauth/token", form).await
    }

    pub async fn exchange(&self, code: &str) -> Response {
        self.token(&[
            ("grant_type", "authorization_code"),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("code", code),
            ("redirect_uri", REDIRECT_URI),
        ])
        .await
    }

    pub async fn tokens_for(&self, login: &str) -> Value {
        let code = self.intra_code(login, "public").await;
        let response = self.exchange(&code).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    /// `/v2/me` for `login`, signed in with the `public` scope.
    pub async fn me_of(&self, login: &str) -> Value {
        let tokens = self.tokens_for(login).await;
        let access_token = tokens["access_token"].as_str().unwrap();
        let me = self.get_with_token("/v2/me", access_token).await;
        assert_eq!(me.status(), StatusCode::OK);
        me.json().await.unwrap()
    }

    pub async fn refresh(&self, refresh_token: &str) -> Response {
        self.token(&[
            ("grant_type", "refresh_token"),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("refresh_token", refresh_token),
        ])
        .await
    }
}

/// The `campus_users` entries marked primary.
pub fn primary_campus_users(me: &Value) -> Vec<&Value> {
    me["campus_users"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["is_primary"] == true)
        .collect()
}

pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

pub async fn error_of(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    (status, response.json().await.unwrap())
}
