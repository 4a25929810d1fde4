//! The `github` dialect driven as a browser and a GitHub OAuth App client would: the shared
//! forms, then github.com's token endpoint (api.github.com's `/user`, `/user/emails` and token
//! deletion: github_api.rs). Loopback only.

mod common;
#[path = "common/github.rs"]
mod github;

use std::time::Duration;

use common::*;
use devprovider::form_login::Decision;
use devprovider::Config;
use github::*;
use reqwest::StatusCode;
use serde_json::json;

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
