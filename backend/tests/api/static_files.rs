//! One-origin deployment: the backend serves the built SPA with the caching a CDN would use.

use crate::helpers::*;

fn dist() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("portero-dist-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("index.html"),
        "<!doctype html><title>Portero</title>",
    )
    .unwrap();
    std::fs::write(dir.join("app-0123456789abcdef_bg.wasm"), b"\0asm raw").unwrap();
    std::fs::write(
        dir.join("app-0123456789abcdef_bg.wasm.gz"),
        b"gzipped bytes",
    )
    .unwrap();
    std::fs::write(dir.join("boot.js"), "import('x')").unwrap();
    dir
}

async fn get(app: &TestApp, path: &str, accept_encoding: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(app.url(path))
        .header("accept-encoding", accept_encoding)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn hashed_assets_are_immutable_and_everything_else_is_revalidated() {
    let dir = dist();
    let provider = start_devprovider().await;
    let config = config_toml(&provider.issuer()).replace(
        "provider_timeout_secs = 2",
        &format!(
            "provider_timeout_secs = 2\nstatic_dir = {:?}",
            dir.display().to_string()
        ),
    );
    let app = spawn_app_with(&config).await;

    let wasm = get(&app, "/app-0123456789abcdef_bg.wasm", "identity").await;
    assert_eq!(wasm.status(), 200);
    assert_eq!(
        wasm.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(wasm.bytes().await.unwrap().as_ref(), b"\0asm raw");

    let gz = get(&app, "/app-0123456789abcdef_bg.wasm", "gzip").await;
    assert_eq!(gz.headers()["content-encoding"], "gzip");
    assert_eq!(gz.bytes().await.unwrap().as_ref(), b"gzipped bytes");

    for path in ["/", "/boot.js", "/profile", "/callback/dev?code=x&state=y"] {
        let reply = get(&app, path, "identity").await;
        assert_eq!(reply.status(), 200, "{path}");
        assert_eq!(reply.headers()["cache-control"], "no-cache", "{path}");
        assert!(
            reply.headers().contains_key("content-security-policy"),
            "{path}"
        );
        assert_eq!(reply.headers()["referrer-policy"], "no-referrer", "{path}");
    }
    let spa = get(&app, "/callback/dev?code=x&state=y", "identity").await;
    assert!(spa.text().await.unwrap().contains("<title>Portero</title>"));
    // The API keeps its own answers: JSON errors, not index.html.
    let api = get(&app, "/api/nothing", "identity").await;
    assert_eq!(api.status(), 403, "no x-csrf");
    let _ = std::fs::remove_dir_all(dir);
}
