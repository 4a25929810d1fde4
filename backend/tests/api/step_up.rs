//! Step-up (docs/design.md, "Policies per app"): a policy's `max_age_secs` admits a login only
//! while it is that recent; an older one gets 401 `reauthentication_required` with the
//! `max_age` to ask for, from the gateway and from `GET /api/auth?policy=` alike, and the
//! session itself stays. Logging in again with `max_age` replaces the session with the same
//! person's newer login; a login that comes back as someone else is refused and changes
//! nothing. With devprovider (which asks for the persona at every login, and says when in
//! `auth_time`) and, for `auth_time`s devprovider never sends, the fake OpenID Connect server.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};
use wiremock::{
    matchers::{method, path},
    Mock, ResponseTemplate,
};

use crate::{
    fake_oidc::{fake_callback_body, key, sign, FakeOidc},
    helpers::*,
    sessions_support::call_with_cookie,
    strict_support::record_of,
    upstream::Upstream,
};

/// Past a policy of `max_age_secs = 1`: `auth_time` is in whole seconds.
const PAST_ONE_SECOND: Duration = Duration::from_millis(2500);

/// Portero with devprovider as `dev`, a policy `recent` of `max_age_secs` and an upstream
/// `/api/admin` under it.
async fn with_recent_policy(max_age_secs: u64) -> (TestApp, Upstream) {
    let provider = start_devprovider().await;
    let upstream = Upstream::start().await;
    let config = format!(
        "{}\n[policies.recent]\nmax_age_secs = {max_age_secs}\n\n\
         [upstreams.admin]\nprefix = \"/api/admin\"\nurl = \"{}\"\npolicy = \"recent\"\n",
        config_toml(&provider.issuer()),
        upstream.url()
    );
    let mut app = spawn_app_with(&config).await;
    app.provider = Some(provider);
    (app, upstream)
}

/// A whole login at devprovider as `user`, `body` its `POST /api/login/dev` body.
async fn log_in(browser: &Browser, user: &str, body: Value) -> Reply {
    let reply = browser.post("/api/login/dev", Some(body)).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let login: shared::LoginResponse = reply.json();
    let callback = consent(&login, user, "allow").await;
    browser
        .post_session(callback_body(PROVIDER, &callback))
        .await
}

/// The step-up login the SPA starts after a 401 `reauthentication_required`.
fn step_up(max_age: u64) -> Value {
    json!({ "prompt": "login", "max_age": max_age, "return_to": "/admin" })
}

/// 401 `reauthentication_required`, whose body says which `max_age` to ask for.
fn assert_reauthentication_required(reply: &Reply, max_age: u64) {
    reply.assert_error(401, "reauthentication_required");
    let body: Value = reply.json();
    assert_eq!(body["max_age"], max_age, "{}", reply.body);
}

#[tokio::test]
async fn a_login_older_than_the_policys_max_age_must_log_in_again_at_the_gateway_and_at_api_auth() {
    let (app, upstream) = with_recent_policy(1).await;
    let browser = app.browser();
    let reply = log_in(&browser, "ada", json!({})).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(browser.get("/api/admin/users").await.status, 200);
    assert_eq!(browser.get("/api/auth?policy=recent").await.status, 200);

    tokio::time::sleep(PAST_ONE_SECOND).await;
    assert_reauthentication_required(&browser.get("/api/admin/users").await, 1);
    assert_reauthentication_required(&browser.get("/api/auth?policy=recent").await, 1);
    // The app heard only the fresh login's request; the session itself goes on.
    assert_eq!(upstream.received().len(), 1);
    let me = browser.get("/api/me").await;
    assert_eq!(me.status, 200, "{}", me.body);
    // A rule-less policy of a fresh login admits anyone logged in; none without a session.
    app.browser()
        .get("/api/auth?policy=recent")
        .await
        .assert_error(401, "not_logged_in");
}

#[tokio::test]
async fn a_step_up_login_of_the_same_person_replaces_the_session_and_is_admitted_again() {
    let (app, upstream) = with_recent_policy(1).await;
    let browser = app.browser();
    assert_eq!(log_in(&browser, "ada", json!({})).await.status, 200);
    let before = record_of(&app, &browser).await;
    let old_cookie = browser.session_cookie().unwrap();
    tokio::time::sleep(PAST_ONE_SECOND).await;
    assert_reauthentication_required(&browser.get("/api/admin/users").await, 1);

    let reply = browser.post("/api/login/dev", Some(step_up(1))).await;
    let login: shared::LoginResponse = reply.json();
    assert_eq!(login.params["max_age"], "1");
    assert_eq!(login.params["prompt"], "login");
    let callback = consent(&login, "ada", "allow").await;
    let session = browser
        .post_session(callback_body(PROVIDER, &callback))
        .await;
    assert_eq!(session.status, 200, "{}", session.body);
    let session: shared::SessionResponse = session.json();
    assert_eq!(session.user.subject, before.user.subject);
    assert_eq!(session.return_to, "/admin");

    let after = record_of(&app, &browser).await;
    assert!(after.authenticated_at() > before.authenticated_at());
    assert_eq!(browser.get("/api/admin/users").await.status, 200);
    assert_eq!(browser.get("/api/auth?policy=recent").await.status, 200);
    assert_eq!(upstream.received().len(), 1);
    // The new login replaced the old session: its id is gone (rule 7), and one session is left.
    assert_ne!(browser.session_cookie().unwrap(), old_cookie);
    call_with_cookie(&app, Method::GET, "/api/me", &old_cookie)
        .await
        .assert_error(401, "not_logged_in");
    assert_eq!(app.active_sessions().await, Some(1));
}

#[tokio::test]
async fn a_step_up_login_that_comes_back_as_another_person_is_refused_and_the_session_stays() {
    let (app, _upstream) = with_recent_policy(60).await;
    let browser = app.browser();
    assert_eq!(log_in(&browser, "ada", json!({})).await.status, 200);
    let cookie = browser.session_cookie().unwrap();
    let revocations = app.devprovider().stats().revocations;

    let reply = log_in(&browser, "grace", step_up(60)).await;
    reply.assert_error(403, "another_person");
    assert!(reply.body.contains("ada"), "{}", reply.body);
    // Grace's tokens, just issued, are revoked (access and refresh); Ada's session is as it was.
    assert_eq!(app.devprovider().stats().revocations, revocations + 2);
    assert_eq!(browser.session_cookie().unwrap(), cookie);
    let me: shared::MeResponse = browser.get("/api/me").await.json();
    assert_eq!(me.user.login.as_deref(), Some("ada"));
    assert_eq!(browser.get("/api/admin/users").await.status, 200);
    assert_eq!(app.active_sessions().await, Some(1));
}

#[tokio::test]
async fn a_provider_auth_time_older_than_the_policy_is_what_counts_and_a_step_up_must_be_newer() {
    let fake = FakeOidc::start().await;
    let app = spawn_app_with(&format!(
        "{}\n[policies.recent]\nmax_age_secs = 600\n",
        config_toml(&fake.issuer())
    ))
    .await;
    fake.userinfo_answers(json!({ "sub": "user-1" })).await;
    let browser = app.browser();
    let an_hour_ago = time::OffsetDateTime::now_utc().unix_timestamp() - 3600;
    // The provider's own sign-in was an hour ago: the login is that old for the policy.
    let login = browser.start_login(PROVIDER, None).await;
    answer_with_auth_time(&fake, &login, an_hour_ago).await;
    let reply = browser.post_session(fake_callback_body(&login)).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(record_of(&app, &browser).await.auth_time, Some(an_hour_ago));
    assert_reauthentication_required(&browser.get("/api/auth?policy=recent").await, 600);

    // A step-up answered with the same old sign-in did not do what it asked: a 502 naming
    // auth_time, and the session stays as it was.
    let cookie = browser.session_cookie().unwrap();
    let reply = browser.post("/api/login/dev", Some(step_up(600))).await;
    let login: shared::LoginResponse = reply.json();
    answer_with_auth_time(&fake, &login, an_hour_ago).await;
    let reply = browser.post_session(fake_callback_body(&login)).await;
    reply.assert_error(502, "provider_error");
    assert!(reply.body.contains("auth_time"), "{}", reply.body);
    assert_eq!(browser.session_cookie().unwrap(), cookie);
    assert_eq!(browser.get("/api/me").await.status, 200);

    // Answered with a sign-in of a minute ago, it replaces the session and passes.
    let reply = browser.post("/api/login/dev", Some(step_up(600))).await;
    let login: shared::LoginResponse = reply.json();
    let a_minute_ago = time::OffsetDateTime::now_utc().unix_timestamp() - 60;
    answer_with_auth_time(&fake, &login, a_minute_ago).await;
    let reply = browser.post_session(fake_callback_body(&login)).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(browser.get("/api/auth?policy=recent").await.status, 200);
}

/// The fake provider's token endpoint answers `login`'s code, once, with an id_token saying the
/// person signed in at `auth_time`.
async fn answer_with_auth_time(fake: &FakeOidc, login: &shared::LoginResponse, auth_time: i64) {
    let mut claims = fake.claims(&login.params["nonce"]);
    claims["auth_time"] = json!(auth_time);
    let tokens = json!({
        "access_token": "at", "token_type": "Bearer", "expires_in": 3600,
        "id_token": sign(key(), &claims),
    });
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(tokens))
        .up_to_n_times(1)
        .mount(&fake.server)
        .await;
}

#[tokio::test]
async fn prompt_none_at_devprovider_comes_back_with_login_required_and_the_state() {
    let app = spawn_app().await;
    let browser = app.browser();
    let reply = browser
        .post("/api/login/dev", Some(json!({ "prompt": "none" })))
        .await;
    let login: shared::LoginResponse = reply.json();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let answer = http.get(authorize_url(&login)).send().await.unwrap();
    assert_eq!(answer.status(), 303, "no page: straight back to Portero");
    let location = answer.headers()["location"].to_str().unwrap();
    let callback = reqwest::Url::parse(location).unwrap();
    let query = query(&callback);
    assert_eq!(query["error"], "login_required");
    assert_eq!(query["state"], login.params["state"]);
}
