//! Each provider kind against wiremock replaying the reply shapes its documentation shows
//! (docs/providers.md, what each provider really answers), failures included: each ends in the documented status and
//! error code, never a panic or a hang.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use shared::{ProfileResponse, SessionResponse};
use wiremock::{
    matchers::{body_string_contains, header, method, path},
    Mock, MockServer, ResponseTemplate,
};

use crate::helpers::*;

/// The backend with one provider `p` of `kind`, all endpoints on `server`.
pub async fn app_for(kind: &str, server: &MockServer, extra: &str) -> TestApp {
    let base = server.uri();
    spawn_app_with(&format!(
        r#"
        [server]
        bind = "127.0.0.1:0"
        public_origin = "{ORIGIN}"
        provider_timeout_secs = 2
        [session]
        store = "memory"
        secret_key = "{SECRET_KEY}"
        [providers.p]
        kind = "{kind}"
        client_id = "{CLIENT_ID}"
        client_secret = "{CLIENT_SECRET}"
        authorize_url = "{base}/authorize"
        token_url = "{base}/token"
        userinfo_url = "{base}/user"
        {extra}
        "#
    ))
    .await
}

pub async fn mount(server: &MockServer, verb: &str, route: &str, reply: ResponseTemplate) {
    Mock::given(method(verb))
        .and(path(route))
        .respond_with(reply)
        .mount(server)
        .await;
}

pub fn json_reply(status: u16, body: Value) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(body)
}

async fn token_endpoint_answers(server: &MockServer, reply: ResponseTemplate) {
    mount(server, "POST", "/token", reply).await;
}

async fn user_endpoint_answers(server: &MockServer, reply: ResponseTemplate) {
    mount(server, "GET", "/user", reply).await;
}

/// Starts a login and posts a callback with a made-up code: the token endpoint is wiremock's.
async fn log_in(app: &TestApp, browser: &Browser, iss: Option<&str>) -> Reply {
    let login = browser.start_login("p", None).await;
    let mut body = json!({ "provider": "p", "code": "the-code", "state": login.params["state"] });
    if let Some(iss) = iss {
        body["iss"] = json!(iss);
    }
    let _ = app;
    browser.post_session(body).await
}

fn github_user(email: Value) -> Value {
    json!({ "login": "octocat", "id": 583231, "avatar_url": "https://avatars.example/u/583231",
            "html_url": "https://github.com/octocat", "name": "The Octocat", "email": email,
            "public_repos": 8, "followers": 20, "following": 0 })
}

// ---- GitHub ------------------------------------------------------------------------------------

#[tokio::test]
async fn github_logs_in_with_the_private_email_taken_from_user_emails() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(header("accept", "application/json"))
        .and(body_string_contains("client_secret="))
        .respond_with(json_reply(200, json!({ "access_token": "gho_abc", "token_type": "bearer", "scope": "read:user,user:email" })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/user"))
        .and(header("authorization", "Bearer gho_abc"))
        .respond_with(json_reply(200, github_user(Value::Null)))
        .mount(&server)
        .await;
    mount(&server, "GET", "/user/emails", json_reply(200, json!([
        { "email": "old@example.test", "primary": false, "verified": true, "visibility": null },
        { "email": "unverified@example.test", "primary": true, "verified": false, "visibility": null },
        { "email": "octo@example.test", "primary": true, "verified": true, "visibility": "private" },
    ]))).await;
    let app = app_for("github", &server, "").await;
    let browser = app.browser();
    let reply = log_in(&app, &browser, Some("https://github.com/login/oauth")).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let user = reply.json::<SessionResponse>().user;
    assert_eq!(user.subject, "583231");
    assert_eq!(user.login.as_deref(), Some("octocat"));
    assert_eq!(user.email.as_deref(), Some("octo@example.test"));

    let profile = browser.get("/api/profile").await;
    assert_eq!(profile.status, 200, "{}", profile.body);
    let profile: ProfileResponse = profile.json();
    assert_eq!(profile.details.public_repos, Some(8));
    assert_eq!(profile.details.followers, Some(20));
    assert_eq!(
        profile.details.profile_url.as_deref(),
        Some("https://github.com/octocat")
    );
    assert_eq!(profile.raw["login"], "octocat");
}

#[tokio::test]
async fn github_token_errors_sent_with_http_200_become_a_clear_502() {
    let server = MockServer::start().await;
    token_endpoint_answers(&server, json_reply(200, json!({
        "error": "bad_verification_code",
        "error_description": "The code passed is incorrect or expired.",
        "error_uri": "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#bad-verification-code"
    }))).await;
    let app = app_for("github", &server, "").await;
    let reply = log_in(&app, &app.browser(), None).await;
    reply.assert_error(502, "provider_error");
    assert!(
        reply.body.contains("bad_verification_code"),
        "{}",
        reply.body
    );
    assert!(
        reply.body.contains("incorrect or expired"),
        "{}",
        reply.body
    );
}

#[tokio::test]
async fn github_iss_other_than_github_is_refused_before_any_token_request() {
    let server = MockServer::start().await;
    let app = app_for("github", &server, "").await;
    let reply = log_in(
        &app,
        &app.browser(),
        Some("https://evil.example/login/oauth"),
    )
    .await;
    reply.assert_error(400, "issuer_mismatch");
    let requests = server.received_requests().await.unwrap_or_default();
    assert!(requests.iter().all(|r| r.url.path() != "/token"));
}

#[tokio::test]
async fn github_profile_with_a_revoked_token_ends_the_session() {
    let server = MockServer::start().await;
    token_endpoint_answers(
        &server,
        json_reply(
            200,
            json!({ "access_token": "gho_x", "token_type": "bearer" }),
        ),
    )
    .await;
    // The first /user call (at login) succeeds; later ones say the token is gone.
    Mock::given(method("GET"))
        .and(path("/user"))
        .respond_with(json_reply(200, github_user(json!("o@example.test"))))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    user_endpoint_answers(
        &server,
        json_reply(401, json!({ "message": "Bad credentials" })),
    )
    .await;
    let app = app_for("github", &server, "").await;
    let browser = app.browser();
    assert_eq!(log_in(&app, &browser, None).await.status, 200);
    browser.assert_session_expired().await;
}

// ---- 42 Intra ----------------------------------------------------------------------------------

fn intra_me() -> Value {
    json!({ "id": 12345, "email": "jdoe@student.42madrid.com", "login": "jdoe",
            "displayname": "Jane Doe", "usual_full_name": "Jane Doe",
            "image": { "link": "https://cdn.intra.42.fr/users/jdoe.jpg" },
            "campus": [{ "id": 22, "name": "Madrid" }],
            "campus_users": [{ "campus_id": 22, "is_primary": true }],
            "cursus_users": [{ "level": 7.42, "cursus": { "id": 21, "name": "42cursus", "slug": "42cursus" } }] })
}

#[tokio::test]
async fn intra42_refreshes_an_expired_token_before_fetching_the_profile() {
    let server = MockServer::start().await;
    // The first token is already expired (expires_in 0): /api/profile must refresh first.
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(body_string_contains("grant_type=authorization_code"))
        .respond_with(json_reply(200, json!({ "access_token": "old", "token_type": "bearer", "expires_in": 0,
                                             "refresh_token": "r1", "scope": "public", "created_at": 1700000000 })))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(body_string_contains("grant_type=refresh_token"))
        .and(body_string_contains("refresh_token=r1"))
        .respond_with(json_reply(
            200,
            json!({ "access_token": "new", "token_type": "bearer", "expires_in": 7200,
                                             "refresh_token": "r2", "scope": "public" }),
        ))
        .expect(1)
        .mount(&server)
        .await;
    for token in ["old", "new"] {
        Mock::given(method("GET"))
            .and(path("/user"))
            .and(header("authorization", format!("Bearer {token}").as_str()))
            .respond_with(json_reply(200, intra_me()))
            .mount(&server)
            .await;
    }
    let app = app_for("intra42", &server, "").await;
    let browser = app.browser();
    let reply = log_in(&app, &browser, None).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let user = reply.json::<SessionResponse>().user;
    assert_eq!(
        (user.subject.as_str(), user.name.as_deref()),
        ("12345", Some("Jane Doe"))
    );
    assert_eq!(
        user.avatar_url.as_deref(),
        Some("https://cdn.intra.42.fr/users/jdoe.jpg")
    );

    let profile = browser.get("/api/profile").await;
    assert_eq!(profile.status, 200, "{}", profile.body);
    let profile: ProfileResponse = profile.json();
    assert_eq!(profile.details.campus.as_deref(), Some("Madrid"));
    assert_eq!(profile.details.level, Some(7.42));
    // The refreshed token is kept: a second call needs no refresh (expect(1) above).
    assert_eq!(browser.get("/api/profile").await.status, 200);
}

#[tokio::test]
async fn intra42_refused_refresh_ends_the_session_with_session_expired() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(body_string_contains("grant_type=authorization_code"))
        .respond_with(json_reply(200, json!({ "access_token": "a", "token_type": "bearer", "expires_in": 0, "refresh_token": "r" })))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(body_string_contains("grant_type=refresh_token"))
        .respond_with(json_reply(400, json!({ "error": "invalid_grant", "error_description": "The provided authorization grant is invalid, expired, revoked" })))
        .mount(&server)
        .await;
    user_endpoint_answers(&server, json_reply(200, intra_me())).await;
    let app = app_for("intra42", &server, "").await;
    let browser = app.browser();
    assert_eq!(log_in(&app, &browser, None).await.status, 200);
    browser.assert_session_expired().await;
}

#[tokio::test]
async fn intra42_rate_limits_are_waited_out_when_short_and_answered_429_when_long() {
    let server = MockServer::start().await;
    token_endpoint_answers(&server, json_reply(200, json!({ "access_token": "a", "token_type": "bearer", "expires_in": 7200, "refresh_token": "r" }))).await;
    Mock::given(method("GET"))
        .and(path("/user"))
        .respond_with(
            json_reply(429, json!({ "error": "Too Many Requests" }))
                .insert_header("retry-after", "1"),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/user"))
        .respond_with(json_reply(200, intra_me()))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    user_endpoint_answers(
        &server,
        json_reply(429, json!({ "error": "Too Many Requests" })).insert_header("retry-after", "30"),
    )
    .await;
    let app = app_for("intra42", &server, "").await;
    let browser = app.browser();
    let started = Instant::now();
    let reply = log_in(&app, &browser, None).await;
    assert_eq!(reply.status, 200, "waited 1 s and retried: {}", reply.body);
    assert!(started.elapsed() >= Duration::from_secs(1));

    let reply = browser.get("/api/profile").await;
    reply.assert_error(429, "rate_limited");
    assert_eq!(reply.headers["retry-after"], "30");
}

#[tokio::test]
async fn invalid_grant_at_the_token_endpoint_is_a_502_naming_it() {
    let server = MockServer::start().await;
    token_endpoint_answers(&server, json_reply(400, json!({ "error": "invalid_grant", "error_description": "The provided authorization grant is invalid" }))).await;
    let app = app_for("intra42", &server, "").await;
    let reply = log_in(&app, &app.browser(), None).await;
    reply.assert_error(502, "provider_error");
    assert!(reply.body.contains("invalid_grant"), "{}", reply.body);
}

// ---- generic OAuth 2.0 -------------------------------------------------------------------------

#[tokio::test]
async fn oauth2_maps_userinfo_fields_from_configuration() {
    let server = MockServer::start().await;
    token_endpoint_answers(
        &server,
        json_reply(200, json!({ "access_token": "t", "token_type": "Bearer" })),
    )
    .await;
    user_endpoint_answers(
        &server,
        json_reply(
            200,
            json!({
                "data": { "uid": 7, "handle": "neo", "full": "Thomas Anderson" },
                "mail": "neo@example.test", "pic": { "url": "https://img.example/neo.png" }
            }),
        ),
    )
    .await;
    let fields = r#"subject_field = "data.uid"
        login_field = "data.handle"
        name_field = "data.full"
        email_field = "mail"
        avatar_field = "pic.url""#;
    let app = app_for("oauth2", &server, fields).await;
    let reply = log_in(&app, &app.browser(), None).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let user = reply.json::<SessionResponse>().user;
    assert_eq!(user.subject, "7");
    assert_eq!(user.login.as_deref(), Some("neo"));
    assert_eq!(user.name.as_deref(), Some("Thomas Anderson"));
    assert_eq!(user.email.as_deref(), Some("neo@example.test"));
    assert_eq!(
        user.avatar_url.as_deref(),
        Some("https://img.example/neo.png")
    );
    // client_secret_basic is the RFC 6749 §2.3.1 default for a generic server.
    let token_call = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.url.path() == "/token")
        .unwrap();
    assert!(token_call
        .headers
        .get("authorization")
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("Basic "));
}

#[tokio::test]
async fn misbehaving_user_endpoints_end_in_a_502_never_a_panic_or_a_hang() {
    let big = "x".repeat(2 * 1024 * 1024);
    let cases: Vec<(&str, ResponseTemplate)> = vec![
        ("a 5xx", ResponseTemplate::new(503)),
        (
            "malformed JSON",
            ResponseTemplate::new(200).set_body_string("{not json"),
        ),
        (
            "a body over the size limit",
            ResponseTemplate::new(200).set_body_string(big),
        ),
        (
            "a reply slower than the timeout",
            json_reply(200, intra_me()).set_delay(Duration::from_secs(5)),
        ),
        (
            "a redirect",
            ResponseTemplate::new(302).insert_header("location", "http://127.0.0.1:9/internal"),
        ),
    ];
    for (what, reply) in cases {
        let server = MockServer::start().await;
        token_endpoint_answers(
            &server,
            json_reply(
                200,
                json!({ "access_token": "a", "token_type": "bearer", "expires_in": 7200 }),
            ),
        )
        .await;
        user_endpoint_answers(&server, reply).await;
        let app = app_for("intra42", &server, "").await;
        let started = Instant::now();
        let answer = log_in(&app, &app.browser(), None).await;
        assert_eq!(answer.status, 502, "{what}: {}", answer.body);
        answer.assert_error(502, "provider_error");
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "{what} took {:?}",
            started.elapsed()
        );
    }
}
