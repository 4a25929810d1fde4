//! The `intra42` dialect driven as a browser and a 42 application would: the shared forms, the
//! authorize endpoint, the first token and `/v2/me`'s campuses (42's expiry, refresh, token
//! errors and rate limits: intra42_api.rs). Loopback only.

mod common;
#[path = "common/intra42.rs"]
mod intra42;

use std::time::Duration;

use common::*;
use devprovider::form_login::Decision;
use devprovider::{Config, Dialect};
use intra42::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

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

#[test]
fn access_tokens_last_two_hours_and_codes_ten_minutes_by_default() {
    let config = Config::for_dialect(Dialect::Intra42);
    assert_eq!(config.access_token_ttl, Duration::from_secs(7200));
    assert_eq!(config.code_ttl, Duration::from_secs(600));
    assert_eq!(config.rate_limit_per_sec, None);
}
