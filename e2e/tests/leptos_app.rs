//! A Leptos app of one's own with Portero's login (examples/leptos-app, the Pong lobby that
//! docs/leptos.md walks through): built with trunk by `cargo xtask test`, served by the real
//! backend, logged in at the emulated 42 Intra through portero-leptos, calling its own API
//! (examples/leptos-app/api) behind Portero's gateway with typed bodies.

use std::path::PathBuf;

use anyhow::{Context, Result};
use e2e::{Browser, DevLikeStack, Stack};

const LOGIN_42: &str = "button[data-provider='intra42']";

/// `app` on a free loopback port; its address.
async fn serve(app: axum::Router) -> Result<std::net::SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(address)
}

/// examples/leptos-app/dist, as `cargo xtask test` built it, served by Portero with the
/// emulated GitHub and 42 Intra and `[upstreams.lobby]` at `lobby`.
async fn lobby_stack(lobby: std::net::SocketAddr) -> Result<DevLikeStack> {
    lobby_stack_with(lobby, "").await
}

/// [`lobby_stack`] with `extra` configuration.
async fn lobby_stack_with(lobby: std::net::SocketAddr, extra: &str) -> Result<DevLikeStack> {
    let dist = PathBuf::from(std::env::var("PORTERO_E2E_LEPTOS_APP_DIST").context(
        "PORTERO_E2E_LEPTOS_APP_DIST is not set: `cargo xtask test` builds examples/leptos-app",
    )?);
    DevLikeStack::start_on(
        Stack::bind().await?.serving(dist),
        &format!("[upstreams.lobby]\nprefix = \"/api/lobby\"\nurl = \"http://{lobby}\"\n{extra}"),
    )
    .await
}

#[tokio::test]
async fn a_player_logs_in_at_42_lands_back_on_games_sees_the_lobby_api_and_logs_out() -> Result<()>
{
    let dev = lobby_stack(serve(pong_lobby_api::router()).await?).await?;
    let browser = Browser::start().await?;

    // Logged out, /games leads to the lobby's start page with Portero's buttons…
    browser.goto(&dev.stack.url("/games")).await?;
    browser.wait_for(LOGIN_42).await?;
    assert_eq!(
        browser.wait_for_path("/?return_to=").await?,
        "/?return_to=%2Fgames"
    );
    // …and the login at 42 lands back on /games.
    browser.click(LOGIN_42).await?;
    browser.click("button[data-user='alan']").await?;
    browser.click("#allow").await?;
    browser.wait_for_path("/games").await?;
    assert_eq!(browser.text("#player").await?, "alan");

    // The lobby's API answers through the gateway: no game yet; then the one alan opens,
    // hosted by the login Portero told the API.
    browser.wait_for("#no-games").await?;
    browser
        .wait_for("#title")
        .await?
        .send_keys("Friday night Pong")
        .await?;
    browser.click("#open-game").await?;
    assert_eq!(
        browser.text("#games li").await?,
        "Friday night Pong — hosted by alan"
    );

    // Logging out ends the session and brings the buttons back.
    browser.click("#logout").await?;
    browser.wait_for(LOGIN_42).await?;
    assert_eq!(browser.api_status("/api/me").await?, 401);
    assert_eq!(browser.api_status("/api/lobby/games").await?, 401);
    browser.close().await
}

#[tokio::test]
async fn a_stray_callback_and_an_api_answer_that_is_not_the_apps_type_are_said_in_words(
) -> Result<()> {
    // An upstream that answers 200 with a web page where the app expects its JSON list.
    let wrong = axum::Router::new().route(
        "/games",
        axum::routing::get(|| async { "<html>Maintenance</html>" }),
    );
    let dev = lobby_stack(serve(wrong).await?).await?;
    let browser = Browser::start().await?;

    // A callback this browser never started (for a provider Portero does not have, too): the
    // same page Portero's own app shows, in words, with a way out.
    browser
        .goto(&dev.stack.url("/callback/nobody?code=c&state=s"))
        .await?;
    assert_eq!(browser.text("#error-code").await?, "invalid_state");
    assert_eq!(
        browser.text("#error-summary").await?,
        "This login was not started in this browser, or was already finished — try again."
    );
    browser.wait_for("#try-again").await?;

    browser.goto(&dev.stack.url("/")).await?;
    browser.click(LOGIN_42).await?;
    browser.click("button[data-user='alan']").await?;
    browser.click("#allow").await?;
    browser.wait_for_path("/games").await?;
    let said = browser.text("#games-error").await?;
    assert!(
        said.starts_with("The answer to GET /api/lobby/games is not what the app expected:")
            && said.contains("expected value"),
        "{said}"
    );
    // The rest of the page is there: not a blank page.
    assert_eq!(browser.text("#player").await?, "alan");
    browser.close().await
}

#[tokio::test]
async fn a_page_wanting_a_recent_login_logs_in_again_at_42_once_the_login_ages_and_comes_back(
) -> Result<()> {
    // `/settings` is `<RequireLogin policy="recent">`; 3 s is the shortest age a test waits out.
    let recent = "[policies.recent]\nmax_age_secs = 3\n";
    let dev = lobby_stack_with(serve(pong_lobby_api::router()).await?, recent).await?;
    let browser = Browser::start().await?;
    browser.goto(&dev.stack.url("/")).await?;
    browser.click(LOGIN_42).await?;
    browser.click("button[data-user='alan']").await?;
    browser.click("#allow").await?;
    browser.wait_for_path("/games").await?;

    // Fresh: the page shows at once.
    browser.goto(&dev.stack.url("/settings?tab=rules")).await?;
    assert_eq!(browser.text("#settings-player").await?, "Alan Turing");

    // Aged: the same page sends alan to 42 again, asking for a login of the last 3 s and
    // naming him; 42 asks who is there, and the new login lands back on the page.
    tokio::time::sleep(std::time::Duration::from_millis(4500)).await;
    browser.goto(&dev.stack.url("/settings?tab=rules")).await?;
    let asked = browser.wait_for_path("/oauth/authorize").await?;
    assert!(asked.contains("max_age=3"), "{asked}");
    assert!(asked.contains("login_hint="), "{asked}");
    browser.click("button[data-user='alan']").await?;
    browser.click("#allow").await?;
    assert_eq!(
        browser.wait_for_path("/settings").await?,
        "/settings?tab=rules"
    );
    assert_eq!(browser.text("#settings-player").await?, "Alan Turing");
    assert_eq!(browser.api_status("/api/auth?policy=recent").await?, 200);
    browser.close().await
}
