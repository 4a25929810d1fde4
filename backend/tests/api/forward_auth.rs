//! `GET /api/auth` as the forward-auth endpoint of Caddy's `forward_auth` and Traefik's
//! `forwardAuth` (docs/design.md, "Forward auth"): `X-Forwarded-Uri` stands in for `x-csrf`, a
//! logged-out browser navigation is sent to log in and come back, anything else logged out is
//! a 401, and a forged `X-Forwarded-Uri` from another site gets no identity.

use reqwest::Method;
use url::Url;

use crate::{helpers::*, sessions_support::*};

const PAGE: &str = "/app/page.html?sort=new&q=caf%C3%A9";

/// What Caddy and Traefik send for a browser's navigation to `uri`: the browser's own headers
/// (its cookie, its `Accept`), the original method and URI, no `x-csrf`.
const fn navigation(uri: &str) -> [(&str, &str); 3] {
    [
        ("x-forwarded-method", "GET"),
        ("x-forwarded-uri", uri),
        (
            "accept",
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        ),
    ]
}

async fn forward_auth(browser: &Browser, headers: &[(&str, &str)]) -> Reply {
    browser
        .request(Method::GET, "/api/auth", None, headers)
        .await
}

/// The `return_to` of a 302 to the start page, checked to be on the public origin.
fn return_to_of(reply: &Reply) -> String {
    assert_eq!(reply.status, 302, "{}", reply.body);
    let location = Url::parse(reply.headers["location"].to_str().unwrap()).unwrap();
    assert_eq!(location.origin().ascii_serialization(), ORIGIN);
    assert_eq!(location.path(), "/");
    assert_eq!(reply.headers["cache-control"], "no-store");
    query(&location)
        .remove("return_to")
        .expect("a return_to in the redirect")
}

fn assert_no_identity(reply: &Reply) {
    for (name, _) in reply.headers.iter() {
        assert!(
            !name.as_str().starts_with("x-portero-"),
            "{name} answered without a session"
        );
    }
}

#[tokio::test]
async fn forward_auth_with_x_forwarded_uri_and_no_x_csrf_answers_the_identity_headers() {
    let app = spawn_app().await;
    let browser = app.browser();
    log_in(&browser, "ada").await;
    let reply = forward_auth(&browser, &navigation(PAGE)).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.headers["x-portero-login"], "ada");
    assert_eq!(reply.headers["x-portero-subject"], "user-ada");
    assert_eq!(reply.headers["cache-control"], "no-store");
    let assertion = reply.headers["x-portero-assertion"].to_str().unwrap();
    portero::assertion::AssertionVerifier::from_jwks(
        &app.jwks().await,
        ORIGIN,
        portero::config::AUTH_AUDIENCE,
    )
    .unwrap()
    .verify(assertion)
    .expect("an assertion for `auth`");
    // Neither header: the x-csrf rule as on every /api route.
    forward_auth(&browser, &[("accept", "text/html")])
        .await
        .assert_error(403, "csrf_required");
    // X-Forwarded-Uri stands in for x-csrf on GET /api/auth only.
    browser
        .request(Method::GET, "/api/me", None, &navigation(PAGE))
        .await
        .assert_error(403, "csrf_required");
}

#[tokio::test]
async fn a_logged_out_navigation_is_sent_to_the_start_page_and_back_to_where_it_was_going() {
    let app = spawn_app().await;
    let browser = app.browser();
    let reply = forward_auth(&browser, &navigation(PAGE)).await;
    assert_eq!(return_to_of(&reply), PAGE, "the path and its whole query");
    assert_no_identity(&reply);

    // Logged in: the page; logged out again: the start page again.
    log_in(&browser, "ada").await;
    assert_eq!(forward_auth(&browser, &navigation(PAGE)).await.status, 200);
    assert_eq!(browser.post("/api/logout", None).await.status, 200);
    let reply = forward_auth(&browser, &navigation("/app/")).await;
    assert_eq!(return_to_of(&reply), "/app/");
}

#[tokio::test]
async fn a_hostile_x_forwarded_uri_comes_back_as_the_root_never_another_site() {
    let app = spawn_app().await;
    let browser = app.browser();
    for hostile in [
        "//evil.example/app",
        "https://evil.example/",
        "/\\evil.example",
        "/%2F%2Fevil.example",
        "javascript:alert(1)",
        "app/page.html",
        "",
    ] {
        let reply = forward_auth(&browser, &navigation(hostile)).await;
        assert_eq!(return_to_of(&reply), "/", "X-Forwarded-Uri {hostile:?}");
    }
}

#[tokio::test]
async fn a_logged_out_request_that_is_not_a_browser_navigation_gets_401() {
    let app = spawn_app().await;
    let browser = app.browser();
    let [method, uri, _] = navigation(PAGE);
    // The page's own XHR, asking for JSON.
    forward_auth(&browser, &[method, uri, ("accept", "application/json")])
        .await
        .assert_error(401, "not_logged_in");
    // A form's POST: not a navigation to come back to.
    forward_auth(
        &browser,
        &[("x-forwarded-method", "POST"), uri, ("accept", "text/html")],
    )
    .await
    .assert_error(401, "not_logged_in");
    // nginx's auth_request (x-csrf, no X-Forwarded-Uri) understands only 200 and 401.
    forward_auth(
        &browser,
        &[("x-csrf", "1"), method, ("accept", "text/html")],
    )
    .await
    .assert_error(401, "not_logged_in");
}

#[tokio::test]
async fn a_forged_x_forwarded_uri_from_another_site_gets_no_identity() {
    let app = spawn_app().await;
    let browser = app.browser();
    log_in(&browser, "ada").await;
    // A page elsewhere that got the browser to send the header (it would need a CORS
    // preflight, which Portero never grants) along with its cookie.
    let [method, uri, accept] = navigation(PAGE);
    let cross_site = [method, uri, accept, ("origin", "https://evil.example")];
    let reply = forward_auth(&browser, &cross_site).await;
    reply.assert_error(403, "forbidden_origin");
    assert_no_identity(&reply);
    // Without a session, the header is no way around the session check either.
    let stranger = app.browser();
    let reply = forward_auth(&stranger, &cross_site).await;
    reply.assert_error(403, "forbidden_origin");
    assert_no_identity(&reply);
    for headers in [&[uri][..], &[method, uri, ("accept", "application/json")]] {
        let reply = forward_auth(&stranger, headers).await;
        reply.assert_error(401, "not_logged_in");
        assert_no_identity(&reply);
    }
}
