//! The `github` dialect driven as a browser and a GitHub OAuth App client would: the shared
//! forms, then github.com's token endpoint and api.github.com's `/user`, `/user/emails` and
//! token deletion. Loopback only.

mod common;

use std::time::Duration;

use common::*;
use devprovider::form_login::Decision;
use devprovider::{Config, Dialect};
use reqwest::{Response, StatusCode};
use serde_json::{json, Value};

// Never contacted: redirects are not followed, the tests only read the Location header.
const REDIRECT_URI: &str = "http://127.0.0.1:9/callback/github";
const AUTHORIZE: &str = "/login/oauth/authorize";
const ACCESS_TOKEN: &str = "/login/oauth/access_token";
const BAD_CODE_URI: &str = "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#bad-verification-code";

fn config() -> Config {
    config_for(Dialect::Github, REDIRECT_URI)
}

async fn spawn_github() -> TestProvider {
    spawn(config()).await
}

/// The authorization request Portero sends: scopes, state and S256 PKCE.
fn authorize_query(scope: &str) -> Vec<(&'static str, String)> {
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
    async fn github_code(&self, login: &str, scope: &str) -> String {
        let query = authorize_query(scope);
        let callback = self
            .sign_in_and_decide(AUTHORIZE, &query, login, Decision::Allow)
            .await;
        query_param(&callback, "code").expect("a code")
    }

    /// POSTs a form the way GitHub's docs show: credentials and code in the body.
    async fn exchange(&self, form: &[(&str, &str)], json: bool) -> Response {
        let mut request = self.http.post(self.url(ACCESS_TOKEN)).form(form);
        if json {
            request = request.header("accept", "application/json");
        }
        request.send().await.unwrap()
    }

    fn code_form<'a>(code: &'a str, verifier: &'a str) -> Vec<(&'static str, &'a str)> {
        vec![
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("code", code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", verifier),
        ]
    }

    /// Signs `login` in and returns the access token from a JSON token reply.
    async fn token_for(&self, login: &str, scope: &str) -> String {
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
    async fn user_and_emails(&self, login: &str) -> (Value, Value) {
        let token = self.token_for(login, "read:user user:email").await;
        let user = json_200(self.get_with_token("/user", &token).await).await;
        let emails = json_200(self.get_with_token("/user/emails", &token).await).await;
        (user, emails)
    }

    async fn delete_token(&self, secret: Option<&str>, body: Value) -> Response {
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
async fn form_reply(response: Response) -> Vec<(String, String)> {
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

async fn json_200(response: Response) -> Value {
    assert_eq!(response.status(), StatusCode::OK);
    assert!(header(&response, "content-type").starts_with("application/json"));
    response.json().await.unwrap()
}

#[tokio::test]
async fn a_user_signs_in_and_the_client_gets_a_form_encoded_token_and_the_profile() {
    let app = spawn_github().await;
    let base = app.provider.base_url();

    let query = authorize_query("read:user user:email");
    let callback = app
        .sign_in_and_decide(AUTHORIZE, &query, "ada", Decision::Allow)
        .await;
    assert_eq!(
        callback.as_str().split('?').next(),
        Some(REDIRECT_URI),
        "{callback}"
    );
    assert_query(&callback, "state", "state-123");
    // RFC 9207 `iss`, which GitHub sends since 2026.
    assert_eq!(
        query_param(&callback, "iss"),
        Some(format!("{base}/login/oauth"))
    );
    let code = query_param(&callback, "code").expect("a code");

    // No Accept header: GitHub answers form-encoded, fields in this order.
    let reply = form_reply(
        app.exchange(&TestProvider::code_form(&code, VERIFIER), false)
            .await,
    )
    .await;
    let names: Vec<&str> = reply.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["access_token", "scope", "token_type"]);
    let token = &reply[0].1;
    assert!(token.starts_with("gho_") && token.len() == 40, "{token}");
    assert!(token[4..].bytes().all(|b| b.is_ascii_alphanumeric()));
    assert_eq!(reply[1].1, "read:user,user:email");
    assert_eq!(reply[2].1, "bearer");
    assert!(app.provider.is_access_token_active(token));

    let user = app.get_with_token("/user", token).await;
    assert_eq!(header(&user, "x-oauth-scopes"), "read:user, user:email");
    let user = json_200(user).await;
    assert_eq!(user["login"], "ada");
    assert_eq!(user["id"], 1815);
    assert_eq!(user["name"], "Ada Lovelace");
    assert_eq!(user["email"], "ada@example.com");
    assert_eq!(user["avatar_url"], format!("{base}/avatars/ada.svg"));
    assert_eq!(user["html_url"], format!("{base}/ada"));
    assert!(user["node_id"].is_string());
    assert!(user["public_repos"].is_u64() && user["followers"].is_u64());
    assert!(user["created_at"].as_str().unwrap().ends_with('Z'));

    // The avatar and the profile page exist.
    let avatar = app.get("/avatars/ada.svg", &[]).await;
    assert_eq!(header(&avatar, "content-type"), "image/svg+xml");
    let page = app.get("/ada", &[]).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("Ada Lovelace"));

    let stats = app.provider.stats();
    assert_eq!(stats.token_requests, 1);
    assert_eq!(stats.authorization_code_grants, 1);
    assert_eq!(stats.userinfo_requests, 1);
}

#[tokio::test]
async fn the_shared_forms_name_github_and_lead_back_with_a_303() {
    let app = spawn_github().await;
    let query = authorize_query("read:user");
    let page = app.get_url(app.url_with(AUTHORIZE, &query)).await;
    assert!(page
        .text()
        .await
        .unwrap()
        .contains("answers like <strong>GitHub</strong>"));
    let callback = app
        .sign_in_checking_the_forms(AUTHORIZE, &query, "ada", "allow")
        .await;
    assert!(query_param(&callback, "code").is_some(), "{callback}");
}

#[tokio::test]
async fn accept_json_gets_a_json_reply_without_expiry_or_refresh_token() {
    let app = spawn_github().await;
    let code = app.github_code("ada", "read:user").await;

    let reply = json_200(
        app.exchange(&TestProvider::code_form(&code, VERIFIER), true)
            .await,
    )
    .await;
    assert!(reply["access_token"].as_str().unwrap().starts_with("gho_"));
    assert_eq!(reply["token_type"], "bearer");
    assert_eq!(reply["scope"], "read:user");
    // OAuth App tokens never expire and have no refresh token.
    assert!(reply.get("expires_in").is_none(), "{reply}");
    assert!(reply.get("refresh_token").is_none(), "{reply}");
}

#[tokio::test]
async fn a_json_body_and_http_basic_credentials_are_accepted_too() {
    let app = spawn_github().await;
    let code = app.github_code("ada", "").await;
    let response = app
        .http
        .post(app.url(ACCESS_TOKEN))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .header("accept", "application/json")
        .json(&json!({ "code": code, "code_verifier": VERIFIER }))
        .send()
        .await
        .unwrap();
    let reply = json_200(response).await;
    assert!(reply["access_token"].as_str().unwrap().starts_with("gho_"));
    // No scope asked for: public data only, an empty scope.
    assert_eq!(reply["scope"], "");
}

#[tokio::test]
async fn token_errors_come_with_http_200_as_json_or_form() {
    let app = spawn_github().await;

    let json_error = app
        .exchange(&TestProvider::code_form("not-a-code", VERIFIER), true)
        .await;
    assert_eq!(
        json_200(json_error).await,
        json!({
            "error": "bad_verification_code",
            "error_description": "The code passed is incorrect or expired.",
            "error_uri": BAD_CODE_URI,
        })
    );

    let form_error = form_reply(
        app.exchange(&TestProvider::code_form("not-a-code", VERIFIER), false)
            .await,
    )
    .await;
    assert_eq!(
        form_error,
        [
            ("error".to_owned(), "bad_verification_code".to_owned()),
            (
                "error_description".to_owned(),
                "The code passed is incorrect or expired.".to_owned()
            ),
            ("error_uri".to_owned(), BAD_CODE_URI.to_owned()),
        ]
    );

    let code = app.github_code("ada", "read:user").await;
    let wrong_secret = app
        .exchange(
            &[
                ("client_id", CLIENT_ID),
                ("client_secret", "wrong"),
                ("code", &code),
            ],
            true,
        )
        .await;
    let reply = json_200(wrong_secret).await;
    assert_eq!(reply["error"], "incorrect_client_credentials");
    assert_eq!(
        reply["error_description"],
        "The client_id and/or client_secret passed are incorrect."
    );

    let mut form = TestProvider::code_form(&code, VERIFIER);
    form[3] = ("redirect_uri", "http://127.0.0.1:9/elsewhere");
    let reply = json_200(app.exchange(&form, true).await).await;
    assert_eq!(reply["error"], "redirect_uri_mismatch");
    assert_eq!(
        reply["error_description"],
        "The redirect_uri MUST match the registered callback URL for this application."
    );

    // OAuth App tokens have no refresh token to use.
    let refresh = app
        .exchange(
            &[
                ("client_id", CLIENT_ID),
                ("client_secret", CLIENT_SECRET),
                ("grant_type", "refresh_token"),
                ("refresh_token", "anything"),
            ],
            true,
        )
        .await;
    assert_eq!(json_200(refresh).await["error"], "bad_refresh_token");
    assert_eq!(app.provider.stats().token_requests, 5);
    assert_eq!(app.provider.stats().authorization_code_grants, 0);
}

#[tokio::test]
async fn a_code_works_once_and_its_replay_kills_the_token() {
    let app = spawn_github().await;
    let code = app.github_code("ada", "read:user").await;
    let form = TestProvider::code_form(&code, VERIFIER);
    let first = json_200(app.exchange(&form, true).await).await;
    let token = first["access_token"].as_str().unwrap();
    assert!(app.provider.is_access_token_active(token));

    let replay = json_200(app.exchange(&form, true).await).await;
    assert_eq!(replay["error"], "bad_verification_code");
    assert!(!app.provider.is_access_token_active(token));
}

#[tokio::test]
async fn an_expired_code_is_a_bad_verification_code() {
    let app = spawn(Config {
        code_ttl: Duration::from_millis(200),
        ..config()
    })
    .await;
    let code = app.github_code("ada", "read:user").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let reply = json_200(
        app.exchange(&TestProvider::code_form(&code, VERIFIER), true)
            .await,
    )
    .await;
    assert_eq!(reply["error"], "bad_verification_code");
}

#[test]
fn codes_last_ten_minutes_by_default() {
    assert_eq!(config().code_ttl, Duration::from_secs(600));
}

#[tokio::test]
async fn pkce_is_optional_but_checked_when_a_challenge_was_sent() {
    let app = spawn_github().await;

    // Without PKCE: no verifier needed.
    let callback = app
        .sign_in_and_decide(
            AUTHORIZE,
            &[("client_id", CLIENT_ID), ("redirect_uri", REDIRECT_URI)],
            "ada",
            Decision::Allow,
        )
        .await;
    let code = query_param(&callback, "code").unwrap();
    let reply = json_200(
        app.exchange(
            &[
                ("client_id", CLIENT_ID),
                ("client_secret", CLIENT_SECRET),
                ("code", &code),
            ],
            true,
        )
        .await,
    )
    .await;
    assert!(reply["access_token"].is_string(), "{reply}");

    // With a challenge: a wrong or missing verifier fails.
    let code = app.github_code("ada", "read:user").await;
    let other_verifier = "x".repeat(43);
    let reply = json_200(
        app.exchange(&TestProvider::code_form(&code, &other_verifier), true)
            .await,
    )
    .await;
    assert_eq!(reply["error"], "bad_verification_code");
    let code = app.github_code("ada", "read:user").await;
    let mut form = TestProvider::code_form(&code, VERIFIER);
    form.pop();
    let reply = json_200(app.exchange(&form, true).await).await;
    assert_eq!(reply["error"], "bad_verification_code");

    // Only S256 is accepted.
    let plain = app
        .get(
            AUTHORIZE,
            &[
                ("client_id", CLIENT_ID),
                ("redirect_uri", REDIRECT_URI),
                ("code_challenge", VERIFIER),
                ("code_challenge_method", "plain"),
            ],
        )
        .await;
    assert_eq!(plain.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        query_param(&location(&plain), "error").as_deref(),
        Some("invalid_request")
    );
}

#[tokio::test]
async fn denying_sends_access_denied_in_githubs_words() {
    let app = spawn_github().await;
    let query = authorize_query("read:user");
    let callback = app
        .sign_in_and_decide(AUTHORIZE, &query, "ada", Decision::Deny)
        .await;
    assert_query(&callback, "error", "access_denied");
    assert_query(
        &callback,
        "error_description",
        "The user has denied your application access.",
    );
    assert!(query_param(&callback, "error_uri")
        .unwrap()
        .starts_with("https://docs.github.com/"));
    assert_query(&callback, "state", "state-123");
    assert_eq!(query_param(&callback, "code"), None);
}

#[tokio::test]
async fn an_unregistered_redirect_uri_gets_an_error_page_and_a_missing_one_the_callback_url() {
    let app = spawn_github().await;
    let wrong = app
        .get(
            AUTHORIZE,
            &[
                ("client_id", CLIENT_ID),
                ("redirect_uri", "http://127.0.0.1:9/callback/github/"),
            ],
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    assert!(wrong.headers().get("location").is_none());
    assert!(wrong.text().await.unwrap().contains("not registered"));

    let callback = app
        .sign_in_and_decide(
            AUTHORIZE,
            &[("client_id", CLIENT_ID)],
            "ada",
            Decision::Allow,
        )
        .await;
    assert!(callback.as_str().starts_with(REDIRECT_URI), "{callback}");

    let unknown = app.get(AUTHORIZE, &[("client_id", "nobody")]).await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_api_refuses_requests_without_a_user_agent() {
    let app = spawn_github().await;
    let token = app.token_for("ada", "read:user").await;
    let response = app
        .bare
        .get(app.url("/user"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let text = response.text().await.unwrap();
    assert!(
        text.starts_with("Request forbidden by administrative rules. Please make sure your request has a User-Agent header"),
        "{text}"
    );
    // The counter still sees it: it reached the endpoint.
    assert_eq!(app.provider.stats().userinfo_requests, 1);
}

#[tokio::test]
async fn bad_or_missing_credentials_are_a_401_and_the_token_scheme_works() {
    let app = spawn_github().await;
    let bad = app.get_with_token("/user", "gho_notarealtoken").await;
    assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        bad.json::<Value>().await.unwrap(),
        json!({
            "message": "Bad credentials",
            "documentation_url": "https://docs.github.com/rest",
            "status": "401",
        })
    );
    let none = app.get("/user", &[]).await;
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        none.json::<Value>().await.unwrap()["message"],
        "Requires authentication"
    );

    let token = app.token_for("alan", "read:user").await;
    let response = app
        .http
        .get(app.url("/user"))
        .header("authorization", format!("token {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(json_200(response).await["login"], "alan");
}

#[tokio::test]
async fn grace_keeps_her_email_private_so_clients_must_read_user_emails() {
    let app = spawn_github().await;
    let (user, emails) = app.user_and_emails("grace").await;
    assert_eq!(user["login"], "grace");
    assert_eq!(user["email"], Value::Null);

    let emails = emails.as_array().unwrap();
    assert!(emails.len() >= 2, "{emails:?}");
    let primary: Vec<&Value> = emails.iter().filter(|e| e["primary"] == true).collect();
    assert_eq!(primary.len(), 1);
    assert_eq!(primary[0]["email"], "grace@example.com");
    assert_eq!(primary[0]["verified"], true);
    assert!(
        emails
            .iter()
            .any(|e| e["verified"] == false && e["primary"] == false),
        "an unverified address too: {emails:?}"
    );
    for email in emails {
        assert!(email["email"].is_string() && email.get("visibility").is_some());
    }
    assert_eq!(app.provider.stats().userinfo_requests, 2);
}

#[tokio::test]
async fn user_emails_without_the_user_email_scope_is_a_404() {
    let app = spawn_github().await;
    let token = app.token_for("grace", "read:user").await;
    let response = app.get_with_token("/user/emails", &token).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        response.json::<Value>().await.unwrap()["message"],
        "Not Found"
    );

    // The broader `user` scope includes it.
    let token = app.token_for("grace", "user").await;
    let response = app.get_with_token("/user/emails", &token).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn edsgers_unverified_address_is_not_public_and_listed_unverified() {
    let app = spawn_github().await;
    let (user, emails) = app.user_and_emails("edsger").await;
    assert_eq!(user["login"], "edsger");
    assert_eq!(user["email"], Value::Null);
    assert_eq!(
        emails,
        json!([{
            "email": "edsger@example.com",
            "primary": true,
            "verified": false,
            "visibility": "private",
        }])
    );
}

#[tokio::test]
async fn margaret_is_in_an_organization_and_a_team_in_it_and_others_in_none() {
    let app = spawn_github().await;
    for scope in ["read:org", "user", "admin:org"] {
        let token = app.token_for("margaret", scope).await;
        let orgs = json_200(app.get_with_token("/user/orgs", &token).await).await;
        let orgs = orgs.as_array().unwrap();
        assert_eq!(orgs.len(), 1, "{scope}: {orgs:?}");
        assert_eq!(orgs[0]["login"], "apollo-guidance");
        assert!(orgs[0]["id"].is_u64() && orgs[0]["node_id"].is_string());
        let teams = json_200(app.get_with_token("/user/teams", &token).await).await;
        let teams = teams.as_array().unwrap();
        assert_eq!(teams.len(), 1, "{scope}: {teams:?}");
        assert_eq!(teams[0]["slug"], "flight-software");
        assert_eq!(teams[0]["name"], "Flight Software");
        assert_eq!(teams[0]["organization"]["login"], "apollo-guidance");
        assert_eq!(teams[0]["organization"]["id"], orgs[0]["id"]);
    }
    let avatar = app.get("/avatars/apollo-guidance.svg", &[]).await;
    assert_eq!(avatar.status(), StatusCode::OK);

    let token = app.token_for("ada", "read:org").await;
    for path in ["/user/orgs", "/user/teams"] {
        assert_eq!(
            json_200(app.get_with_token(path, &token).await).await,
            json!([]),
            "{path}"
        );
    }
}

#[tokio::test]
async fn orgs_and_teams_answer_403_to_a_narrower_scope() {
    let app = spawn_github().await;
    let token = app.token_for("margaret", "read:user user:email").await;
    let orgs = app.get_with_token("/user/orgs", &token).await;
    assert_eq!(orgs.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        header(&orgs, "x-accepted-oauth-scopes"),
        "admin:org, read:org, user, write:org"
    );
    assert_eq!(
        orgs.json::<Value>().await.unwrap()["message"],
        "You need at least read:org scope or user scope to list your organizations."
    );
    let teams = app.get_with_token("/user/teams", &token).await;
    assert_eq!(teams.status(), StatusCode::FORBIDDEN);
    assert!(teams.json::<Value>().await.unwrap()["message"].is_string());

    // `repo` lists teams, not organizations.
    let token = app.token_for("margaret", "repo").await;
    let orgs = app.get_with_token("/user/orgs", &token).await;
    assert_eq!(orgs.status(), StatusCode::FORBIDDEN);
    let teams = app.get_with_token("/user/teams", &token).await;
    assert_eq!(teams.status(), StatusCode::OK);
    assert_eq!(app.provider.stats().userinfo_requests, 4);
}

#[tokio::test]
async fn deleting_an_app_token_kills_it() {
    let app = spawn_github().await;
    let token = app.token_for("ada", "read:user").await;

    let unauthenticated = app
        .delete_token(None, json!({ "access_token": token }))
        .await;
    assert_eq!(unauthenticated.status(), StatusCode::UNAUTHORIZED);
    let wrong_secret = app
        .delete_token(Some("wrong"), json!({ "access_token": token }))
        .await;
    assert_eq!(wrong_secret.status(), StatusCode::NOT_FOUND);
    assert!(app.provider.is_access_token_active(&token));
    assert_eq!(app.provider.stats().revocations, 0);

    let deleted = app
        .delete_token(Some(CLIENT_SECRET), json!({ "access_token": token }))
        .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert!(!app.provider.is_access_token_active(&token));
    assert_eq!(app.provider.stats().revocations, 1);
    let user = app.get_with_token("/user", &token).await;
    assert_eq!(user.status(), StatusCode::UNAUTHORIZED);

    // Deleting it again: GitHub no longer knows the token.
    let again = app
        .delete_token(Some(CLIENT_SECRET), json!({ "access_token": token }))
        .await;
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
    let missing = app.delete_token(Some(CLIENT_SECRET), json!({})).await;
    assert_eq!(missing.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn a_throttled_call_is_a_429_with_retry_after_then_calls_pass_again() {
    let app = spawn_github().await;
    let token = app.token_for("ada", "read:user").await;
    app.provider.throttle_next(1, 7);

    let limited = app.get_with_token("/user", &token).await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&limited, "retry-after"), "7");
    assert_eq!(header(&limited, "x-ratelimit-remaining"), "0");
    let reset: u64 = header(&limited, "x-ratelimit-reset").parse().unwrap();
    assert!(reset > 1_700_000_000);
    assert_eq!(limited.json::<Value>().await.unwrap()["status"], "429");

    let passes = app.get_with_token("/user", &token).await;
    assert_eq!(passes.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_standard_endpoints_are_not_served() {
    let app = spawn_github().await;
    for path in ["/authorize", "/.well-known/openid-configuration", "/v2/me"] {
        let response = app.get(path, &[]).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let token = app
        .http
        .post(app.url("/token"))
        .form(&[("grant_type", "authorization_code")])
        .send()
        .await
        .unwrap();
    // `/{login}` (profile pages) only answers GET, so a POST is 405 rather than 404.
    assert!(token.status().is_client_error(), "{}", token.status());
}
