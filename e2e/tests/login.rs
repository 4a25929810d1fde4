//! A person logs in end to end in a real browser, with no provider account: the built SPA,
//! the real backend and devprovider, headless Chromium.

use anyhow::Result;
use e2e::{Browser, Stack, PROVIDER};

const DEV_BUTTON: &str = "button[data-provider='dev']";

async fn log_in_as_ada(browser: &Browser) -> Result<()> {
    browser.click(DEV_BUTTON).await?;
    browser.click("button[data-user='ada']").await?;
    browser.click("#allow").await
}

#[tokio::test]
async fn a_person_logs_in_with_a_demo_user_stays_logged_in_and_logs_out() -> Result<()> {
    let stack = Stack::start().await?;
    let browser = Browser::start().await?;
    browser.goto(&stack.url("/")).await?;
    log_in_as_ada(&browser).await?;

    browser.wait_for_path("/profile").await?;
    assert_eq!(browser.text("#profile-name").await?, "Ada Lovelace");
    assert!(browser
        .text("#profile-email")
        .await?
        .contains("ada@example.com"));
    let avatar = browser.wait_for("#profile-avatar").await?;
    assert!(avatar
        .attr("src")
        .await?
        .unwrap_or_default()
        .contains("/avatars/ada"));

    browser.client.refresh().await?;
    assert_eq!(
        browser.text("#profile-name").await?,
        "Ada Lovelace",
        "reload keeps the session"
    );
    assert_eq!(browser.api_status("/api/me").await?, 200);

    browser.click("#logout").await?;
    browser.wait_for(DEV_BUTTON).await?;
    assert_eq!(browser.api_status("/api/me").await?, 401);
    assert!(
        stack.provider().stats().revocations >= 1,
        "logout revoked at the provider"
    );
    browser.close().await
}

#[tokio::test]
async fn deny_on_consent_shows_the_providers_error_and_no_code_stays_in_the_address_bar(
) -> Result<()> {
    let stack = Stack::start().await?;
    let browser = Browser::start().await?;
    browser.goto(&stack.url("/")).await?;
    browser.click(DEV_BUTTON).await?;
    browser.click("button[data-user='grace']").await?;
    browser.click("#deny").await?;

    assert_eq!(browser.text("#error-code").await?, "access_denied");
    assert!(!browser.text("#error-description").await?.is_empty());
    let path = browser
        .wait_for_path(&format!("/callback/{PROVIDER}"))
        .await?;
    assert_eq!(
        path,
        format!("/callback/{PROVIDER}"),
        "the query is gone: {path}"
    );
    assert_eq!(stack.provider().stats().token_requests, 0);
    assert_eq!(browser.api_status("/api/me").await?, 401);
    browser.close().await
}

#[tokio::test]
async fn opening_the_profile_logged_out_leads_to_login_and_back_to_the_profile() -> Result<()> {
    let stack = Stack::start().await?;
    let browser = Browser::start().await?;
    browser.goto(&stack.url("/profile")).await?;
    browser.wait_for(DEV_BUTTON).await?;
    browser.wait_for_path("/?return_to=").await?;

    log_in_as_ada(&browser).await?;
    browser.wait_for_path("/profile").await?;
    assert_eq!(browser.text("#profile-name").await?, "Ada Lovelace");

    browser.goto(&stack.url("/no/such/page")).await?;
    browser.wait_for("#not-found").await?;
    browser.close().await
}

#[tokio::test]
async fn the_callback_page_and_every_backend_answer_refuse_to_leak_the_referrer() -> Result<()> {
    let stack = Stack::start().await?;
    let browser = Browser::start().await?;
    browser
        .goto(&stack.url("/callback/dev?code=abc&state=def"))
        .await?;
    // A state this browser never started: the backend refuses it and the page says so.
    assert_eq!(browser.text("#error-code").await?, "invalid_state");
    let policy = browser
        .client
        .execute_async(
            "const done = arguments[0];
             fetch('/callback/dev').then(r => done(r.headers.get('referrer-policy')));",
            vec![],
        )
        .await?;
    assert_eq!(policy, "no-referrer");
    assert_eq!(stack.provider().stats().token_requests, 0);
    browser.close().await
}
