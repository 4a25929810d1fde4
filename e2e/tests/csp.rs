//! The built SPA runs under the backend's Content-Security-Policy (docs/SECURITY.md, "CSP"):
//! index.html has no inline script, the app starts (frontend/boot.js, WebAssembly under
//! 'wasm-unsafe-eval'), and a provider's avatar on a loopback address is displayed.

use std::time::Duration;

use anyhow::{bail, Result};
use e2e::{Browser, Stack};

#[tokio::test]
async fn the_spa_starts_and_shows_the_avatar_under_the_content_security_policy() -> Result<()> {
    let stack = Stack::start().await?;
    let browser = Browser::start().await?;
    browser.goto(&stack.url("/")).await?;

    // What the browser was served: a policy without 'unsafe-inline', and a page that needs none.
    let served = browser
        .client
        .execute_async(
            "const done = arguments[0];
             fetch('/').then(async r => done([r.headers.get('content-security-policy'), await r.text()]));",
            vec![],
        )
        .await?;
    let policy = served[0].as_str().unwrap_or_default();
    assert!(
        policy.contains("script-src 'self' 'wasm-unsafe-eval';"),
        "{policy}"
    );
    assert!(!policy.contains("unsafe-inline"), "{policy}");
    let html = served[1].as_str().unwrap_or_default();
    let inline_scripts = html
        .split("<script")
        .skip(1)
        .filter(|tag| !tag.split('>').next().unwrap_or("").contains("src="))
        .count();
    assert_eq!(
        inline_scripts, 0,
        "index.html has an inline script:\n{html}"
    );

    // The app started under that policy: its buttons are there, and a login shows the avatar,
    // which devprovider serves from http://127.0.0.1:<port> (img-src of a development origin).
    browser.click("button[data-provider='dev']").await?;
    browser.click("button[data-user='ada']").await?;
    browser.click("#allow").await?;
    browser.wait_for("#profile-avatar").await?;
    for _ in 0..50 {
        let width = browser
            .client
            .execute(
                "const img = document.querySelector('#profile-avatar');
                 return img && img.complete ? img.naturalWidth : -1;",
                vec![],
            )
            .await?;
        match width.as_i64() {
            Some(w) if w > 0 => return browser.close().await,
            Some(0) => bail!("the avatar was blocked or failed to load"),
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    bail!("the avatar never finished loading")
}
