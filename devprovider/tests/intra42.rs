//! The `intra42` dialect driven as a browser and a 42 application would: the shared forms,
//! then `/oauth/token`, `/oauth/token/info` and `/v2/me`, with 42's expiry, refresh and rate
//! limits. Loopback only.

mod common;

use std::time::Duration;

use common::*;
use devprovider::form_login::Decision;
use devprovider::{Config, Dialect};
use reqwest::{Response, StatusCode};
use serde_json::{json, Value};

// Never contacted: redirects are not followed, the tests only read the Location header.
const REDIRECT_URI: &str = "http://127.0.0.1:9/callback/intra42";
const AUTHORIZE: &str = "/oauth/authorize";
const INVALID_GRANT: &str = "The provided authorization grant is invalid, expired, revoked, does \
    not match the redirection URI used in the authorization request, or was issued to another \
    client.";

fn config() -> Config {
    config_for(Dialect::Intra42, REDIRECT_URI)
}

async fn spawn_intra() -> TestProvider {
    spawn(config()).await
}

fn authorize_query(scope: &str) -> Vec<(&'static str, &str)> {
    vec![
        ("client_id", CLIENT_ID),
        ("redirect_uri", REDIRECT_URI),
        ("response_type", "code"),
        ("scope", scope),
        ("state", "state-42"),
    ]
}

impl TestProvider {
    async fn intra_code(&self, login: &str, scope: &str) -> String {
        let callback = self
            .sign_in_and_decide(AUTHORIZE, &authorize_query(scope), login, Decision::Allow)
            .await;
        query_param(&callback, "code").expect("a code")
    }

    async fn token(&self, form: &[(&str, &str)]) -> Response {
        self.post_form("/oauth/token", form).await
    }

    async fn exchange(&self, code: &str) -> Response {
        self.token(&[
            ("grant_type", "authorization_code"),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("code", code),
            ("redirect_uri", REDIRECT_URI),
        ])
        .await
    }

    async fn tokens_for(&self, login: &str) -> Value {
        let code = self.intra_code(login, "public").await;
        let response = self.exchange(&code).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    /// `/v2/me` for `login`, signed in with the `public` scope.
    async fn me_of(&self, login: &str) -> Value {
        let tokens = self.tokens_for(login).await;
        let access_token = tokens["access_token"].as_str().unwrap();
        let me = self.get_with_token("/v2/me", access_token).await;
        assert_eq!(me.status(), StatusCode::OK);
        me.json().await.unwrap()
    }

    async fn refresh(&self, refresh_token: &str) -> Response {
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
fn primary_campus_users(me: &Value) -> Vec<&Value> {
    me["campus_users"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["is_primary"] == true)
        .collect()
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

async fn error_of(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn a_student_signs_in_and_the_client_reads_the_token_and_v2_me() {
    let app = spawn_intra().await;
    let base = app.provider.base_url();

    let callback = app
        .sign_in_and_decide(
            AUTHORIZE,
            &authorize_query("public"),
            "ada",
            Decision::Allow,
        )
        .await;
    assert!(callback.as_str().starts_with(REDIRECT_URI), "{callback}");
    assert_query(&callback, "state", "state-42");
    // 42 does not send RFC 9207's `iss`.
    assert_eq!(query_param(&callback, "iss"), None);
    let code = query_param(&callback, "code").expect("a code");

    let response = app.exchange(&code).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, "cache-control"), "no-store");
    let tokens: Value = response.json().await.unwrap();
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(access.len(), 64, "Doorkeeper's hex tokens");
    assert!(access.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(tokens["token_type"], "bearer");
    assert_eq!(tokens["expires_in"], 7200);
    assert!(tokens["refresh_token"].is_string());
    assert_eq!(tokens["scope"], "public");
    let created_at = tokens["created_at"].as_u64().unwrap();
    assert!(created_at.abs_diff(unix_now()) < 5);
    assert!(tokens["secret_valid_until"].as_u64().unwrap() > created_at);

    let me = app.get_with_token("/v2/me", access).await;
    assert_eq!(me.status(), StatusCode::OK);
    let me: Value = me.json().await.unwrap();
    assert_eq!(me["id"], 98765);
    assert_eq!(me["login"], "ada");
    assert_eq!(me["email"], "ada@student.42madrid.com");
    assert_eq!(me["first_name"], "Ada");
    assert_eq!(me["last_name"], "Lovelace");
    assert_eq!(me["usual_full_name"], "Ada Lovelace");
    assert_eq!(me["displayname"], "Ada Lovelace");
    let avatar = format!("{base}/avatars/ada.svg");
    assert_eq!(me["image"]["link"], avatar);
    for size in ["large", "medium", "small", "micro"] {
        assert_eq!(me["image"]["versions"][size], avatar);
    }
    assert!(me["correction_point"].is_u64() && me["wallet"].is_u64());
    assert_eq!(me["pool_month"], "september");
    assert_eq!(me["pool_year"], "2023");
    assert_eq!(me["location"], "c1r2s3");
    assert_eq!(
        me["campus"][0],
        json!({
            "id": 22, "name": "Madrid", "time_zone": "Europe/Madrid", "country": "Spain",
            "city": "Madrid", "email_extension": "42madrid.com", "active": true, "public": true,
        })
    );
    assert_eq!(me["campus_users"][0]["campus_id"], 22);
    assert_eq!(me["campus_users"][0]["is_primary"], true);
    let main_cursus = me["cursus_users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["cursus"]["slug"] == "42cursus")
        .expect("enrolled in 42cursus");
    assert_eq!(main_cursus["level"].as_f64(), Some(7.42));
    assert_eq!(main_cursus["grade"], "Member");
    assert_eq!(main_cursus["cursus"]["id"], 21);

    let info = app.get_with_token("/oauth/token/info", access).await;
    assert_eq!(info.status(), StatusCode::OK);
    let info: Value = info.json().await.unwrap();
    assert_eq!(info["resource_owner_id"], 98765);
    assert_eq!(info["scopes"], json!(["public"]));
    let left = info["expires_in_seconds"].as_u64().unwrap();
    assert!((7190..=7200).contains(&left), "{left}");
    assert_eq!(info["application"]["uid"], CLIENT_ID);
    assert_eq!(info["created_at"], created_at);

    let stats = app.provider.stats();
    assert_eq!(stats.token_requests, 1);
    assert_eq!(stats.authorization_code_grants, 1);
    assert_eq!(
        stats.userinfo_requests, 1,
        "/oauth/token/info is not userinfo"
    );
    assert!(app.provider.is_access_token_active(access));
}

#[tokio::test]
async fn the_shared_forms_name_42_intra_and_lead_back_with_a_303() {
    let app = spawn_intra().await;
    let page = app.get(AUTHORIZE, &authorize_query("public")).await;
    assert!(page
        .text()
        .await
        .unwrap()
        .contains("answers like <strong>42 Intra</strong>"));
    let callback = app
        .sign_in_checking_the_forms(AUTHORIZE, &authorize_query("public"), "ada", "allow")
        .await;
    assert!(query_param(&callback, "code").is_some(), "{callback}");
}

#[tokio::test]
async fn a_student_who_moved_campus_has_one_primary_campus() {
    let app = spawn_intra().await;
    let me = app.me_of("grace").await;
    assert_eq!(me["campus"].as_array().unwrap().len(), 2);
    let primary = primary_campus_users(&me);
    assert_eq!(primary.len(), 1);
    assert_eq!(me["email"], "grace@student.42urduliz.com");
    assert_eq!(me["location"], Value::Null);
}

#[tokio::test]
async fn students_are_at_different_campuses_so_a_campus_rule_can_tell_them_apart() {
    let app = spawn_intra().await;
    for (login, campus_id, campus_name) in [
        ("ada", 22, "Madrid"),
        ("alan", 37, "Málaga"),
        ("grace", 40, "Urduliz"),
        ("edsger", 22, "Madrid"),
        ("margaret", 22, "Madrid"),
        ("barbara", 22, "Madrid"),
    ] {
        let me = app.me_of(login).await;
        let primary = primary_campus_users(&me);
        assert_eq!(primary.len(), 1, "{login}");
        assert_eq!(primary[0]["campus_id"], campus_id, "{login}");
        let campus = me["campus"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == campus_id)
            .expect("the primary campus is listed");
        assert_eq!(campus["name"], campus_name, "{login}");
    }
}

#[tokio::test]
async fn a_refresh_reply_can_be_held() {
    let app = spawn_intra().await;
    let tokens = app.tokens_for("ada").await;
    app.provider.set_refresh_delay(Duration::from_millis(300));
    let started = std::time::Instant::now();
    let response = app.refresh(tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(app.provider.stats().refresh_grants, 1);
}

#[tokio::test]
async fn an_expired_token_is_a_401_that_says_so() {
    let app = spawn(Config {
        access_token_ttl: Duration::from_secs(1),
        ..config()
    })
    .await;
    let tokens = app.tokens_for("ada").await;
    assert_eq!(tokens["expires_in"], 1);
    let access = tokens["access_token"].as_str().unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(!app.provider.is_access_token_active(access));

    for path in ["/v2/me", "/oauth/token/info"] {
        let response = app.get_with_token(path, access).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(
            header(&response, "www-authenticate"),
            r#"Bearer realm="Doorkeeper", error="invalid_token", error_description="The access token expired""#
        );
        assert_eq!(
            response.json::<Value>().await.unwrap(),
            json!({ "error": "invalid_token", "error_description": "The access token expired" })
        );
    }

    let unknown = app.get_with_token("/v2/me", "0123abcd").await;
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        header(&unknown, "www-authenticate"),
        r#"Bearer realm="Doorkeeper", error="invalid_token", error_description="The access token is invalid""#
    );
    let anonymous = app.get("/v2/me", &[]).await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_refresh_rotates_the_tokens_and_the_old_refresh_token_dies() {
    let app = spawn(Config {
        access_token_ttl: Duration::from_secs(30),
        ..config()
    })
    .await;
    let first = app.tokens_for("alan").await;
    let old_refresh = first["refresh_token"].as_str().unwrap();

    let response = app.refresh(old_refresh).await;
    assert_eq!(response.status(), StatusCode::OK);
    let second: Value = response.json().await.unwrap();
    assert_eq!(second["expires_in"], 30);
    assert_eq!(second["token_type"], "bearer");
    assert_eq!(second["scope"], "public");
    assert!(second["created_at"].is_u64() && second["secret_valid_until"].is_u64());
    let new_refresh = second["refresh_token"].as_str().unwrap();
    assert_ne!(new_refresh, old_refresh);
    let new_access = second["access_token"].as_str().unwrap();
    let me = app.get_with_token("/v2/me", new_access).await;
    assert_eq!(me.json::<Value>().await.unwrap()["login"], "alan");

    let (status, body) = error_of(app.refresh(old_refresh).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({ "error": "invalid_grant", "error_description": INVALID_GRANT })
    );
    let stats = app.provider.stats();
    assert_eq!(stats.refresh_grants, 1);
    assert_eq!(stats.token_requests, 3);
}

#[tokio::test]
async fn token_errors_are_standard_oauth_json_in_doorkeepers_words() {
    let app = spawn_intra().await;
    let code = app.intra_code("ada", "public").await;

    let wrong_secret = app
        .token(&[
            ("grant_type", "authorization_code"),
            ("client_id", CLIENT_ID),
            ("client_secret", "wrong"),
            ("code", &code),
            ("redirect_uri", REDIRECT_URI),
        ])
        .await;
    assert_eq!(wrong_secret.status(), StatusCode::UNAUTHORIZED);
    assert!(header(&wrong_secret, "www-authenticate")
        .starts_with(r#"Bearer realm="Doorkeeper", error="invalid_client""#));
    assert_eq!(error_of(wrong_secret).await.1["error"], "invalid_client");

    let no_redirect = app
        .token(&[
            ("grant_type", "authorization_code"),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("code", &code),
        ])
        .await;
    let (status, body) = error_of(no_redirect).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({
            "error": "invalid_request",
            "error_description": "Missing required parameter: redirect_uri.",
        })
    );

    let (status, body) = error_of(app.exchange("not-a-code").await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(body["error_description"], INVALID_GRANT);

    let (_, body) = error_of(
        app.token(&[
            ("grant_type", "password"),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
        ])
        .await,
    )
    .await;
    assert_eq!(body["error"], "unsupported_grant_type");

    // HTTP Basic works as well as credentials in the body. The code is still good: the
    // requests above failed before they reached it.
    let basic = app
        .http
        .post(app.url("/oauth/token"))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT_URI),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), StatusCode::OK);
    assert_eq!(app.provider.stats().token_requests, 5);
}

#[tokio::test]
async fn the_authorize_endpoint_checks_redirect_uri_response_type_and_scopes() {
    let app = spawn_intra().await;

    let missing = app
        .get(
            AUTHORIZE,
            &[("client_id", CLIENT_ID), ("response_type", "code")],
        )
        .await;
    assert_eq!(missing.status(), StatusCode::BAD_REQUEST);
    assert!(missing.headers().get("location").is_none());

    let unregistered = app
        .get(
            AUTHORIZE,
            &[
                ("client_id", CLIENT_ID),
                ("redirect_uri", "http://127.0.0.1:9/callback/other"),
                ("response_type", "code"),
            ],
        )
        .await;
    assert_eq!(unregistered.status(), StatusCode::BAD_REQUEST);
    assert!(unregistered.headers().get("location").is_none());

    let bad_scope = app.get(AUTHORIZE, &authorize_query("public admin")).await;
    assert_eq!(bad_scope.status(), StatusCode::SEE_OTHER);
    let url = location(&bad_scope);
    assert_query(&url, "error", "invalid_scope");
    assert_query(&url, "state", "state-42");

    let mut token_flow = authorize_query("public");
    token_flow[2] = ("response_type", "token");
    let unsupported = app.get(AUTHORIZE, &token_flow).await;
    assert_eq!(
        query_param(&location(&unsupported), "error").as_deref(),
        Some("unsupported_response_type")
    );

    // Every documented scope is accepted, and no scope means `public`.
    app.login_page(
        AUTHORIZE,
        &authorize_query("public projects profile elearning tig forum"),
    )
    .await;
    let callback = app
        .sign_in_and_decide(
            AUTHORIZE,
            &[
                ("client_id", CLIENT_ID),
                ("redirect_uri", REDIRECT_URI),
                ("response_type", "code"),
            ],
            "ada",
            Decision::Allow,
        )
        .await;
    let code = query_param(&callback, "code").unwrap();
    let tokens: Value = app.exchange(&code).await.json().await.unwrap();
    assert_eq!(tokens["scope"], "public");
}

#[tokio::test]
async fn denying_sends_access_denied_without_iss() {
    let app = spawn_intra().await;
    let callback = app
        .sign_in_and_decide(AUTHORIZE, &authorize_query("public"), "ada", Decision::Deny)
        .await;
    assert_query(&callback, "error", "access_denied");
    assert!(query_param(&callback, "error_description").is_some());
    assert_query(&callback, "state", "state-42");
    assert_eq!(query_param(&callback, "iss"), None);
}

#[tokio::test]
async fn pkce_is_verified_when_sent() {
    let app = spawn_intra().await;
    let s256 = challenge(VERIFIER);
    let mut query = authorize_query("public");
    query.extend([
        ("code_challenge", s256.as_str()),
        ("code_challenge_method", "S256"),
    ]);

    let exchange_with = |code: String, verifier: Option<&'static str>| {
        let app = &app;
        async move {
            let mut form = vec![
                ("grant_type", "authorization_code"),
                ("client_id", CLIENT_ID),
                ("client_secret", CLIENT_SECRET),
                ("redirect_uri", REDIRECT_URI),
            ];
            form.push(("code", code.as_str()));
            if let Some(verifier) = verifier {
                form.push(("code_verifier", verifier));
            }
            app.token(&form).await.status()
        }
    };

    let callback = app
        .sign_in_and_decide(AUTHORIZE, &query, "ada", Decision::Allow)
        .await;
    let code = query_param(&callback, "code").unwrap();
    assert_eq!(exchange_with(code, Some(VERIFIER)).await, StatusCode::OK);

    let callback = app
        .sign_in_and_decide(AUTHORIZE, &query, "ada", Decision::Allow)
        .await;
    let code = query_param(&callback, "code").unwrap();
    let wrong: &'static str = "wrong-verifier-wrong-verifier-wrong-verifier-1";
    assert_eq!(
        exchange_with(code, Some(wrong)).await,
        StatusCode::BAD_REQUEST
    );

    let callback = app
        .sign_in_and_decide(AUTHORIZE, &query, "ada", Decision::Allow)
        .await;
    let code = query_param(&callback, "code").unwrap();
    assert_eq!(exchange_with(code, None).await, StatusCode::BAD_REQUEST);

    // A verifier for a code requested without a challenge is refused (RFC 9700 §2.1.1).
    let code = app.intra_code("ada", "public").await;
    assert_eq!(
        exchange_with(code, Some(VERIFIER)).await,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn throttled_calls_answer_429_with_the_given_retry_after() {
    let app = spawn_intra().await;
    let tokens = app.tokens_for("ada").await;
    let access = tokens["access_token"].as_str().unwrap();
    app.provider.throttle_next(2, 3);

    for path in ["/v2/me", "/oauth/token/info"] {
        let response = app.get_with_token(path, access).await;
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS, "{path}");
        assert_eq!(header(&response, "retry-after"), "3");
        assert_eq!(
            response.json::<Value>().await.unwrap(),
            json!({ "error": "Too Many Requests" })
        );
    }
    let passes = app.get_with_token("/v2/me", access).await;
    assert_eq!(passes.status(), StatusCode::OK);
    assert_eq!(app.provider.stats().userinfo_requests, 2);
}

#[tokio::test]
async fn more_api_calls_per_second_than_the_limit_answer_429_per_application() {
    let other_redirect = "http://127.0.0.1:9/callback/other-app";
    let app = spawn(Config {
        clients: vec![
            client(REDIRECT_URI),
            other_client("other-app", "other-secret", other_redirect),
        ],
        rate_limit_per_sec: Some(2),
        ..Config::for_dialect(Dialect::Intra42)
    })
    .await;
    let tokens = app.tokens_for("ada").await;
    let access = tokens["access_token"].as_str().unwrap();

    // The other application's calls are counted separately.
    let callback = app
        .sign_in_and_decide(
            AUTHORIZE,
            &[
                ("client_id", "other-app"),
                ("redirect_uri", other_redirect),
                ("response_type", "code"),
            ],
            "grace",
            Decision::Allow,
        )
        .await;
    let other: Value = app
        .token(&[
            ("grant_type", "authorization_code"),
            ("client_id", "other-app"),
            ("client_secret", "other-secret"),
            ("code", &query_param(&callback, "code").unwrap()),
            ("redirect_uri", other_redirect),
        ])
        .await
        .json()
        .await
        .unwrap();
    let other_access = other["access_token"].as_str().unwrap();

    let started = std::time::Instant::now();
    assert_eq!(
        app.get_with_token("/v2/me", access).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.get_with_token("/oauth/token/info", access)
            .await
            .status(),
        StatusCode::OK
    );
    let limited = app.get_with_token("/v2/me", access).await;
    let other_call = app.get_with_token("/v2/me", other_access).await;
    // The window is one second: the assertions hold only if the calls were that quick.
    assert!(started.elapsed() < Duration::from_millis(900));
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&limited, "retry-after"), "1");
    assert_eq!(
        limited.json::<Value>().await.unwrap(),
        json!({ "error": "Too Many Requests" })
    );
    assert_eq!(other_call.status(), StatusCode::OK);

    // A client that waits as told gets through.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        app.get_with_token("/v2/me", access).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn v2_me_needs_the_public_scope() {
    let app = spawn_intra().await;
    let code = app.intra_code("ada", "projects").await;
    let tokens: Value = app.exchange(&code).await.json().await.unwrap();
    let response = app
        .get_with_token("/v2/me", tokens["access_token"].as_str().unwrap())
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"],
        "insufficient_scope"
    );
}

#[test]
fn access_tokens_last_two_hours_and_codes_ten_minutes_by_default() {
    let config = Config::for_dialect(Dialect::Intra42);
    assert_eq!(config.access_token_ttl, Duration::from_secs(7200));
    assert_eq!(config.code_ttl, Duration::from_secs(600));
    assert_eq!(config.rate_limit_per_sec, None);
}

#[tokio::test]
async fn the_standard_and_github_endpoints_are_not_served() {
    let app = spawn_intra().await;
    for path in ["/authorize", "/userinfo", "/user", "/login/oauth/authorize"] {
        let response = app.get(path, &[]).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
}
