//! The static-host deployment: Debian's nginx serves dist/ with deploy/nginx.conf and forwards
//! /api to the backend; a person logs in through it in Chromium.

use std::path::PathBuf;

use anyhow::{Context, Result};
use e2e::{
    nginx::{deploy_dir, Nginx},
    Browser, Stack,
};

/// deploy/nginx.conf with only its listen, root, proxy_pass and include lines pointed at this
/// test's port and folders.
fn deploy_server(port: u16, backend: &str, dist: &std::path::Path) -> Result<String> {
    let deploy = deploy_dir();
    Ok(std::fs::read_to_string(deploy.join("nginx.conf"))?
        .replace("listen 80;", &format!("listen 127.0.0.1:{port};"))
        .replace("/srv/portero/dist", &dist.display().to_string())
        .replace("http://127.0.0.1:3000", backend)
        .replace(
            "/etc/nginx/portero-headers.conf",
            &deploy.join("portero-headers.conf").display().to_string(),
        ))
}

#[tokio::test]
async fn a_person_logs_in_through_nginx_serving_dist_and_forwarding_the_api() -> Result<()> {
    let dist =
        PathBuf::from(std::env::var("PORTERO_E2E_DIST").context("run with cargo xtask test")?);
    let port = Nginx::free_port()?;
    let origin = format!("http://127.0.0.1:{port}");
    // The backend knows nginx's origin as its public origin; it listens on its own port.
    let builder = Stack::bind_with_origin(&origin).await?;
    let backend = builder.listen_url();
    let stack = builder.start("").await?;
    let _nginx = Nginx::start(port, &deploy_server(port, &backend, &dist)?).await?;

    let browser = Browser::start().await?;
    browser.goto(&format!("{origin}/")).await?;
    browser.click("button[data-provider='dev']").await?;
    browser.click("button[data-user='ada']").await?;
    browser.click("#allow").await?;
    browser.wait_for_path("/profile").await?;
    assert_eq!(browser.text("#profile-name").await?, "Ada Lovelace");
    assert_eq!(browser.api_status("/api/me").await?, 200);
    // Reload on a client-side route: nginx answers index.html, the session holds.
    browser.goto(&format!("{origin}/profile")).await?;
    assert_eq!(browser.text("#profile-name").await?, "Ada Lovelace");
    drop(stack);
    browser.close().await?;
    Ok(())
}
