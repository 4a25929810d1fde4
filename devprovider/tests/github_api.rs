//! The `github` dialect's api.github.com as a GitHub OAuth App client calls it with a token:
//! `/user`, `/user/emails`, organizations and teams, token deletion, rate limits, and no
//! standard endpoints. Loopback only.

mod common;
#[path = "common/github.rs"]
mod github;

use common::*;
use github::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

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
