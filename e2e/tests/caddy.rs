//! Caddy guarding an app with Portero's forward auth (docs/design.md, "Forward auth"): Debian's
//! caddy runs exactly deploy/Caddyfile, in front of the backend (which serves the SPA) and an
//! app that records what reaches it; a person logs in through it in Chromium.

use anyhow::Result;
use e2e::{
    caddy::Caddy,
    free_port,
    nginx::deploy_dir,
    recording_app::{self, RecordingApp},
    Browser, DevLikeStack, Stack,
};

/// deploy/Caddyfile with only its addresses rewritten: the site, Caddy's admin API, the
/// backend and the app.
fn shipped_caddyfile(port: u16, backend: &str, app: &RecordingApp) -> Result<String> {
    let backend = backend.trim_start_matches("http://");
    Ok(std::fs::read_to_string(deploy_dir().join("Caddyfile"))?
        .replace("app.example.com {", &format!("http://127.0.0.1:{port} {{"))
        .replace("localhost:2019", &format!("127.0.0.1:{}", free_port()?))
        .replace("127.0.0.1:3000", backend)
        .replace("127.0.0.1:9000", &app.addr.to_string()))
}

/// The backend (with the emulated GitHub beside Portero Dev) and the app, behind Caddy.
async fn behind_caddy() -> Result<(Caddy, DevLikeStack, RecordingApp)> {
    let port = free_port()?;
    let builder = Stack::bind_with_origin(&format!("http://127.0.0.1:{port}")).await?;
    let backend = builder.listen_url();
    let stack = DevLikeStack::start_on(builder, "").await?;
    let app = RecordingApp::start().await?;
    let caddy = Caddy::start(port, &shipped_caddyfile(port, &backend, &app)?).await?;
    Ok((caddy, stack, app))
}

/// Logged out on a page of the app: sent to log in, to come back to the page, and the app has
/// seen nothing.
async fn sent_to_log_in(browser: &Browser, app: &RecordingApp, seen_before: usize) -> Result<()> {
    assert_eq!(
        recording_app::sent_to_log_in(browser).await?,
        "/app/page.html?from=caddy"
    );
    assert_eq!(app.received().len(), seen_before, "the app saw nothing");
    Ok(())
}

#[tokio::test]
async fn caddy_sends_a_logged_out_visitor_to_log_in_back_to_the_page_and_again_after_logout(
) -> Result<()> {
    let (caddy, _stack, app) = behind_caddy().await?;
    let page = format!("{}/app/page.html?from=caddy", caddy.origin());
    let browser = Browser::start().await?;
    browser.goto(&page).await?;
    sent_to_log_in(&browser, &app, 0).await?;

    browser.click("button[data-provider='dev']").await?;
    browser.click("button[data-user='ada']").await?;
    browser.click("#allow").await?;
    // Back on the page, with its query, which the app behind Caddy now serves.
    browser.wait_for_path("/app/page.html?from=caddy").await?;
    assert_eq!(browser.text("#members").await?, "For members only");
    let seen = app.received();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].target, "/app/page.html?from=caddy");
    assert_eq!(seen[0].headers["x-portero-login"], "ada");

    browser.goto(&format!("{}/profile", caddy.origin())).await?;
    browser.click("#logout").await?;
    browser.wait_for("button[data-provider='dev']").await?;
    browser.goto(&page).await?;
    sent_to_log_in(&browser, &app, 1).await?;
    browser.close().await
}

#[tokio::test]
async fn forged_identity_headers_through_the_shipped_caddyfile_never_reach_the_app() -> Result<()> {
    let (caddy, _stack, app) = behind_caddy().await?;
    recording_app::forged_identity_never_reaches_the_app(&caddy.origin(), &app).await
}
