//! Rule 21: an app is told only what the provider verified. An address the provider has not
//! verified is never `X-Portero-Email` nor the assertion's `email`, at `GET /api/auth` or
//! through the gateway, so an app that matches accounts by address cannot be handed someone
//! else's account by a person who typed that address at some provider; a verified one is told,
//! with `email_verified: true` in the assertion. The person still sees the address the
//! provider gave for them (`/api/me`).

use devprovider::Dialect;
use portero::assertion::{AssertionClaims, AssertionVerifier};
use serde_json::{json, Value};
use shared::MeResponse;

use crate::{
    helpers::*,
    providers::{app_for, json_reply, mount},
    sessions_support::*,
    upstream::Upstream,
};

/// The claims of `assertion`, for the audience `aud`.
async fn claims_of(app: &TestApp, assertion: &str, aud: &str) -> AssertionClaims {
    AssertionVerifier::from_jwks(&app.jwks().await, ORIGIN, aud)
        .unwrap()
        .verify(assertion)
        .expect("a valid assertion")
}

/// What `GET /api/auth` tells an app about `browser`'s person: `X-Portero-Email`, and the
/// assertion's `email` and `email_verified`.
async fn told_by_auth(app: &TestApp, browser: &Browser) -> [Option<String>; 3] {
    let reply = browser.get("/api/auth").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let header = reply.headers.get("x-portero-email");
    let assertion = reply.headers["x-portero-assertion"].to_str().unwrap();
    let claims = claims_of(app, assertion, portero::config::AUTH_AUDIENCE).await;
    told(header.map(|v| v.to_str().unwrap()), claims)
}

fn told(header: Option<&str>, claims: AssertionClaims) -> [Option<String>; 3] {
    [
        header.map(str::to_owned),
        claims.email,
        claims.email_verified.map(|v| v.to_string()),
    ]
}

fn verified(address: &str) -> [Option<String>; 3] {
    [
        Some(address.into()),
        Some(address.into()),
        Some("true".into()),
    ]
}

const NOTHING: [Option<String>; 3] = [None, None, None];

#[tokio::test]
async fn an_address_the_oidc_provider_has_not_verified_is_never_told_to_an_app() {
    let upstream = Upstream::start().await;
    let gateway = format!(
        "[upstreams.app]\n        prefix = \"/api/app\"\n        url = \"{}\"",
        upstream.url()
    );
    let (app, _provider) = with_dialect(Dialect::Standard, "oidc", &gateway).await;
    let (ada, edsger) = (app.browser(), app.browser());
    for (browser, user) in [(&ada, "ada"), (&edsger, "edsger")] {
        let reply = log_in_at(browser, "p", user).await;
        assert_eq!(reply.status, 200, "{user}: {}", reply.body);
    }
    // devprovider says `email_verified: true` for Ada, `false` for Edsger.
    assert_eq!(told_by_auth(&app, &ada).await, verified("ada@example.com"));
    assert_eq!(told_by_auth(&app, &edsger).await, NOTHING);

    for (browser, expected) in [(&ada, verified("ada@example.com")), (&edsger, NOTHING)] {
        let reply = browser.get("/api/app/whoami").await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        let received = upstream.received().pop().unwrap();
        let header = received.headers.get("x-portero-email");
        let claims = claims_of(&app, &received.header("x-portero-assertion"), "app").await;
        assert_eq!(told(header.map(|v| v.to_str().unwrap()), claims), expected);
    }

    let me: MeResponse = edsger.get("/api/me").await.json();
    assert_eq!(
        me.user.email.as_deref(),
        Some("edsger@example.com"),
        "the person still sees the address the provider gave"
    );
}

/// What an app is told of devprovider's `user` once logged in at `app`.
async fn told_of(app: &TestApp, user: &str) -> [Option<String>; 3] {
    let browser = app.browser();
    let reply = log_in_at(&browser, "p", user).await;
    assert_eq!(reply.status, 200, "{user}: {}", reply.body);
    told_by_auth(app, &browser).await
}

#[tokio::test]
async fn github_and_42_tell_the_addresses_their_apis_vouch_for() {
    let (github, _provider) = with_dialect(Dialect::Github, "github", "").await;
    // Grace keeps her verified address private: it comes from /user/emails.
    assert_eq!(
        told_of(&github, "grace").await,
        verified("grace@example.com")
    );
    // Edsger's is listed unverified there.
    assert_eq!(told_of(&github, "edsger").await, NOTHING);
    // 42 issues the school address itself.
    let (intra, _provider) = with_dialect(Dialect::Intra42, "intra42", "").await;
    assert_eq!(
        told_of(&intra, "ada").await,
        verified("ada@student.42madrid.com")
    );
}

/// GitHub's `/user` shows the address a person made public; it is told only when
/// `/user/emails` says GitHub verified it.
#[tokio::test]
async fn a_public_github_address_is_told_only_when_user_emails_says_it_is_verified() {
    for verified_there in [false, true] {
        let server = wiremock::MockServer::start().await;
        let token = json!({ "access_token": "gho_abc", "token_type": "bearer" });
        mount(&server, "POST", "/token", json_reply(200, token)).await;
        let user = json!({ "login": "octocat", "id": 1, "email": "ceo@corp.example" });
        mount(&server, "GET", "/user", json_reply(200, user)).await;
        let emails = json!([
            { "email": "ceo@corp.example", "primary": true, "verified": verified_there },
        ]);
        mount(&server, "GET", "/user/emails", json_reply(200, emails)).await;
        let app = app_for("github", &server, "").await;
        let browser = app.browser();
        let login = browser.start_login("p", None).await;
        let body = json!({ "provider": "p", "code": "c", "state": login.params["state"],
                           "iss": "https://github.com/login/oauth" });
        assert_eq!(browser.post_session(body).await.status, 200);
        let expected = match verified_there {
            true => verified("ceo@corp.example"),
            false => NOTHING,
        };
        assert_eq!(told_by_auth(&app, &browser).await, expected);
    }
}

/// A generic OAuth 2.0 server: the address counts when `email_verified: true` stands beside it
/// (at the configured `email_field`'s place); a string "true" or no flag is not a verification.
#[tokio::test]
async fn a_generic_oauth2_address_counts_only_with_email_verified_true_beside_it() {
    let cases: [(Value, bool); 3] = [
        (
            json!({ "mail": "neo@example.test", "email_verified": true }),
            true,
        ),
        (
            json!({ "mail": "neo@example.test", "email_verified": "true" }),
            false,
        ),
        (json!({ "mail": "neo@example.test" }), false),
    ];
    for (profile, is_verified) in cases {
        let server = wiremock::MockServer::start().await;
        let token = json!({ "access_token": "t", "token_type": "Bearer" });
        mount(&server, "POST", "/token", json_reply(200, token)).await;
        let userinfo = json!({ "id": 7, "profile": profile.clone() });
        mount(&server, "GET", "/user", json_reply(200, userinfo)).await;
        let fields = "subject_field = \"id\"\n        email_field = \"profile.mail\"";
        let app = app_for("oauth2", &server, fields).await;
        let browser = app.browser();
        let login = browser.start_login("p", None).await;
        let body = json!({ "provider": "p", "code": "c", "state": login.params["state"] });
        assert_eq!(browser.post_session(body).await.status, 200);
        let expected = match is_verified {
            true => verified("neo@example.test"),
            false => NOTHING,
        };
        assert_eq!(told_by_auth(&app, &browser).await, expected, "{profile}");
    }
}
