//! The `x-csrf: 1` rule, the Origin check, and docs/design.md's JSON error shape everywhere.

use reqwest::Method;
use serde_json::json;

use crate::helpers::*;

const API_ROUTES: [(&str, &str); 6] = [
    ("GET", "/api/providers"),
    ("POST", "/api/login/dev"),
    ("POST", "/api/session"),
    ("GET", "/api/me"),
    ("POST", "/api/logout"),
    ("GET", "/api/no-such-route"),
];

#[tokio::test]
async fn every_api_route_without_the_csrf_header_is_403() {
    let app = spawn_app().await;
    let browser = app.browser();
    for (method, path) in API_ROUTES {
        for headers in [vec![], vec![("x-csrf", "0")], vec![("origin", ORIGIN)]] {
            let reply = browser
                .request(method.parse().unwrap(), path, Some(json!({})), &headers)
                .await;
            reply.assert_error(403, "csrf_required");
        }
    }
    assert!(
        browser.session_cookie().is_none(),
        "refused before any session exists"
    );
}

#[tokio::test]
async fn a_cross_site_origin_is_403_even_with_the_header() {
    let app = spawn_app().await;
    let browser = app.browser();
    for (method, path) in API_ROUTES {
        for origin in ["https://evil.example", "null", "http://127.0.0.1:8081"] {
            let reply = browser
                .request(
                    method.parse().unwrap(),
                    path,
                    Some(json!({})),
                    &[("x-csrf", "1"), ("origin", origin)],
                )
                .await;
            reply.assert_error(403, "forbidden_origin");
        }
    }
}

#[tokio::test]
async fn bad_bodies_unknown_routes_and_wrong_methods_answer_the_json_error_shape() {
    let app = spawn_app().await;
    let browser = app.browser();
    let reply = browser
        .request(Method::POST, "/api/session", None, &[("x-csrf", "1")])
        .await;
    reply.assert_error(400, "bad_request");
    browser
        .post_session(json!({ "provider": "dev", "code": "c" }))
        .await
        .assert_error(400, "bad_request");
    browser
        .post_session(json!({ "provider": "dev", "code": "", "state": "s" }))
        .await
        .assert_error(400, "bad_request");
    let huge = json!({ "provider": "dev", "code": "c".repeat(20_000), "state": "s" });
    let reply = browser.post_session(huge).await;
    assert!(reply.status.is_client_error(), "{}", reply.status);
    browser
        .get("/api/nothing/here")
        .await
        .assert_error(404, "not_found");
    browser
        .get("/api/session")
        .await
        .assert_error(405, "method_not_allowed");
}

#[tokio::test]
async fn health_answers_without_csrf_or_session() {
    let app = spawn_app().await;
    let reply = reqwest::get(app.url("/healthz")).await.unwrap();
    assert_eq!(reply.status(), 200);
    assert!(reply.headers().get("set-cookie").is_none());
    assert_eq!(reply.headers()["referrer-policy"], "no-referrer");
}

#[tokio::test]
async fn a_bad_or_oversized_body_is_a_json_400_or_413_on_every_route_that_reads_one() {
    let app = spawn_app().await;
    let send = |path: &str, body: &str| {
        let request = reqwest::Client::new()
            .post(app.url(path))
            .header("x-csrf", "1")
            .header("content-type", "application/json")
            .body(body.to_owned());
        async move { Reply::of(request.send().await.expect("the backend answers")).await }
    };
    let too_big = format!(r#"{{"return_to": "/{}"}}"#, "x".repeat(20 * 1024));
    for path in ["/api/login/dev", "/api/logout", "/api/session"] {
        for bad in [
            "{not json",
            "[1, 2]",
            r#"{"everywhere": "yes", "return_to": 7}"#,
        ] {
            send(path, bad).await.assert_error(400, "bad_request");
        }
        let reply = send(path, &too_big).await;
        reply.assert_error(413, "payload_too_large");
        assert!(reply.body.contains("16384 bytes"), "{path}: {}", reply.body);
    }
    // Where the body is optional, only whitespace is the empty request, as no body is
    // (login_flow::login_accepts_an_empty_body_and_refuses_a_malformed_one).
    for path in ["/api/login/dev", "/api/logout"] {
        let reply = send(path, " \n").await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.body);
    }
}
