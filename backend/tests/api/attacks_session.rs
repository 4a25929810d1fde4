//! Rule 7 beyond security_rules.rs: a session id planted by an attacker before the login is
//! worth nothing after it, and over HTTPS every cookie the backend sets — at login start, at
//! login, at logout — has exactly the `__Host-` attributes.

use reqwest::Method;
use serde_json::{json, Value};

use crate::{
    fake_oidc::{fake_callback_body, key, sign, FakeOidc},
    helpers::*,
};

#[tokio::test]
async fn a_session_id_planted_before_login_does_not_become_the_victims_session() {
    let app = spawn_app().await;
    // The attacker gets a real session of their own (a login under way has none to plant)...
    let attacker = app.browser();
    crate::sessions_support::log_in(&attacker, "grace").await;
    let planted = attacker.session_cookie().expect("the attacker's session");

    // ...and plants its id in the victim's browser (a sibling subdomain, an injected header),
    // then waits for the victim to log in with it.
    let victim = app.browser();
    let reply = victim
        .request(
            Method::POST,
            &format!("/api/login/{PROVIDER}"),
            Some(json!({})),
            &[
                ("x-csrf", "1"),
                ("origin", ORIGIN),
                ("cookie", &format!("portero_session={planted}")),
            ],
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let login: shared::LoginResponse = reply.json();
    let body = callback_body(PROVIDER, &consent(&login, "ada", "allow").await);
    let reply = victim
        .request(
            Method::POST,
            "/api/session",
            Some(body),
            &[
                ("x-csrf", "1"),
                ("origin", ORIGIN),
                ("cookie", &format!("portero_session={planted}")),
            ],
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let logged_in = victim.session_cookie().expect("a session cookie at login");
    assert_ne!(logged_in, planted, "the login moved to a fresh id");

    // The victim is logged in under the new id; the planted one gives the attacker nothing.
    assert_eq!(victim.get("/api/me").await.status, 200);
    attacker
        .get("/api/me")
        .await
        .assert_error(401, "not_logged_in");
}

const HTTPS_ORIGIN: &str = "https://app.example";

async fn https_call(browser: &Browser, method: Method, path: &str, body: Option<Value>) -> Reply {
    browser
        .request(
            method,
            path,
            body,
            &[("x-csrf", "1"), ("origin", HTTPS_ORIGIN)],
        )
        .await
}

/// The attributes of one `Set-Cookie`, names lower-cased, in order.
fn attributes(set_cookie: &str) -> Vec<(String, String)> {
    set_cookie
        .split(';')
        .skip(1)
        .map(|attr| {
            let (name, value) = attr.trim().split_once('=').unwrap_or((attr.trim(), ""));
            (name.to_ascii_lowercase(), value.to_owned())
        })
        .collect()
}

#[tokio::test]
async fn over_https_every_session_cookie_is_host_prefixed_secure_httponly_lax_path_root_without_domain(
) {
    let provider = FakeOidc::start().await;
    let config = config_toml(&provider.issuer()).replace(ORIGIN, HTTPS_ORIGIN);
    let app = spawn_app_with(&config).await;
    let browser = app.browser();

    let reply = https_call(&browser, Method::POST, "/api/login/dev", None).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let login: shared::LoginResponse = reply.json();
    let id_token = sign(key(), &provider.claims(&login.params["nonce"]));
    provider
        .token_endpoint_answers(
            200,
            json!({ "access_token": "a", "token_type": "Bearer", "id_token": id_token }),
        )
        .await;
    provider.userinfo_answers(json!({ "sub": "user-1" })).await;
    let body = fake_callback_body(&login);
    let reply = https_call(&browser, Method::POST, "/api/session", Some(body)).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let me = https_call(&browser, Method::GET, "/api/me", None).await;
    assert_eq!(
        me.status, 200,
        "the __Host- cookie is sent back: {}",
        me.body
    );
    let reply = https_call(&browser, Method::POST, "/api/logout", None).await;
    assert_eq!(reply.status, 200, "{}", reply.body);

    let set_cookies = browser.set_cookie_headers.lock().unwrap().clone();
    assert!(
        set_cookies.len() >= 3,
        "a cookie at login start (the binding), at login (the session, the binding's end) and \
         at logout: {set_cookies:?}"
    );
    for header in &set_cookies {
        assert!(
            header.starts_with("__Host-portero_session=")
                || header.starts_with("__Host-portero_login="),
            "{header}"
        );
        let attrs = attributes(header);
        let named = |name: &str| -> Vec<&str> {
            attrs
                .iter()
                .filter(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
                .collect()
        };
        assert_eq!(named("path"), ["/"], "exactly one Path=/ in {header}");
        assert!(named("domain").is_empty(), "no Domain in {header}");
        assert_eq!(named("secure").len(), 1, "Secure in {header}");
        assert_eq!(named("httponly").len(), 1, "HttpOnly in {header}");
        let same_site = named("samesite");
        assert!(
            matches!(same_site.as_slice(), [v] if v.eq_ignore_ascii_case("lax") || v.eq_ignore_ascii_case("strict")),
            "SameSite=Lax or stricter in {header}"
        );
    }
}
