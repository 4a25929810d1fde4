//! Security headers on everything the backend serves: the API (answers and refusals), the
//! health check, and the built SPA when `server.static_dir` is set (docs/SECURITY.md, "CSP");
//! Portero's win on its own routes, an app behind the gateway keeps its own on its prefix.

use std::path::PathBuf;

use reqwest::{header::HeaderMap, Method};

use crate::{helpers::*, upstream::Upstream};

/// The policy of an HTTPS deployment, exactly as docs/SECURITY.md states it.
const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; \
     img-src 'self' https: data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; \
     form-action 'self'; object-src 'none'";
/// The same for an `http://` (development) origin: devprovider's avatars are on loopback.
const CSP_DEV: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
     style-src 'self'; img-src 'self' https: data: http://127.0.0.1:* http://localhost:*; \
     connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; \
     object-src 'none'";

/// A built SPA in a fresh folder: index.html and one asset.
fn fake_dist() -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "portero-headers-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("index.html"), "<!doctype html><title>SPA</title>").unwrap();
    std::fs::write(dir.join("app.js"), "export default 1;").unwrap();
    dir
}

fn assert_headers(what: &str, headers: &HeaderMap, csp: &str) {
    let get = |name: &str| {
        let all: Vec<_> = headers.get_all(name).iter().collect();
        assert_eq!(all.len(), 1, "{what}: one {name} header, got {all:?}");
        all[0].to_str().unwrap().to_owned()
    };
    assert_eq!(get("content-security-policy"), csp, "{what}");
    assert_eq!(get("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(get("referrer-policy"), "no-referrer", "{what}");
    assert_eq!(get("x-frame-options"), "DENY", "{what}");
}

async fn check_everything(public_origin: &str, csp: &str) {
    let provider = start_devprovider().await;
    let dist = fake_dist();
    let config = config_toml(&provider.issuer()).replace(
        &format!("public_origin = \"{ORIGIN}\""),
        &format!(
            "public_origin = \"{public_origin}\"\n        static_dir = \"{}\"",
            dist.display()
        ),
    );
    let app = spawn_app_with(&config).await;
    let browser = app.browser();
    let api = [("x-csrf", "1"), ("origin", public_origin)];
    let cases = [
        (Method::GET, "/api/providers", &api[..], 200),
        (Method::POST, "/api/login/dev", &api[..], 200),
        (Method::GET, "/api/me", &api[..], 401),
        (Method::GET, "/api/no-such-route", &api[..], 404),
        (Method::GET, "/api/providers", &[][..], 403),
        (Method::GET, "/healthz", &[][..], 200),
        (Method::GET, "/", &[][..], 200),
        (Method::GET, "/app.js", &[][..], 200),
        // A client-side route: index.html from the fallback.
        (Method::GET, "/callback/dev?code=c&state=s", &[][..], 200),
    ];
    for (method, path, headers, status) in cases {
        let reply = browser.request(method.clone(), path, None, headers).await;
        assert_eq!(
            reply.status.as_u16(),
            status,
            "{method} {path}: {}",
            reply.body
        );
        assert_headers(&format!("{method} {path}"), &reply.headers, csp);
    }
    let _ = std::fs::remove_dir_all(dist);
}

#[tokio::test]
async fn an_https_deployment_sends_the_policy_and_its_companions_on_every_answer() {
    check_everything("https://app.example", CSP).await;
}

#[tokio::test]
async fn a_development_origin_also_allows_images_from_loopback_and_nothing_else_more() {
    check_everything(ORIGIN, CSP_DEV).await;
}

/// The origin's policy is Portero's: a handler of an in-process app (its routes share Portero's
/// router) that sends a weaker one is overruled; an app behind the gateway keeps its own on its
/// prefix (it shares the origin: docs/integrate.md), and gets Portero's where it sends none.
#[tokio::test]
async fn portero_s_headers_win_on_its_own_routes_and_an_app_behind_keeps_its_own_on_its_prefix() {
    use axum::{http::header, routing::get, Router};
    let upstream = Upstream::start().await;
    let config = upstream.open_config();
    let portero = portero::Portero::build(portero::Config::from_toml(&config, [], None).unwrap())
        .await
        .unwrap();
    let weaker = [
        (header::CONTENT_SECURITY_POLICY, "default-src *"),
        (header::X_FRAME_OPTIONS, "SAMEORIGIN"),
    ];
    let app = Router::new().route("/weaker", get(move || async move { (weaker, "mine") }));
    let router = portero.router_with(app);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { portero.serve(listener, router).await });
    let get = |path: &str| {
        let request = reqwest::Client::new()
            .get(format!("{base}{path}"))
            .header("x-csrf", "1");
        async move { request.send().await.unwrap() }
    };

    let own = get("/api/weaker").await;
    assert_eq!(own.status(), 200);
    assert_headers("an in-process route", own.headers(), CSP_DEV);

    let page = get("/api/app/own-headers").await;
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["content-security-policy"], "default-src *");
    assert_eq!(page.headers()["x-frame-options"], "SAMEORIGIN");
    assert_eq!(page.headers()["x-content-type-options"], "nosniff");
    assert_eq!(page.headers()["referrer-policy"], "no-referrer");
    let echo = get("/api/app/anything").await;
    assert_eq!(echo.status(), 200);
    assert_headers(
        "an app's answer without headers of its own",
        echo.headers(),
        CSP_DEV,
    );
}
