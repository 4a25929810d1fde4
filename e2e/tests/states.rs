//! Every state the SPA can be in is shown in words, each brought about by a
//! real cause: a slow network (Chromium's own network emulation), a login left waiting past
//! `login_timeout_secs`, a provider that is down or has forgotten the grant, no network at all.
//! Few tests with several states each: every Chromium start costs seconds.

use std::time::Duration;

use anyhow::{bail, Context, Result};
use e2e::{Browser, Stack};
use fantoccini::Locator;

const DEV_BUTTON: &str = "button[data-provider='dev']";
/// Each request waits this much more: long enough for a 250 ms poll to see what is shown meanwhile.
const SLOW_MS: u64 = 1000;

async fn summary(browser: &Browser) -> Result<String> {
    browser.text("#callback-error #error-summary").await
}

#[tokio::test]
async fn waits_show_skeletons_and_steps_and_lost_network_or_grant_say_so() -> Result<()> {
    let mut stack = Stack::start().await?;
    let browser = Browser::start().await?;
    browser.goto(&stack.url("/")).await?;
    browser.wait_for(DEV_BUTTON).await?;

    // A slow network: the start page shows a skeleton while /api/me answers.
    browser.network(false, SLOW_MS).await?;
    browser.client.refresh().await?;
    let loading = browser.wait_for("#loading").await?;
    assert_eq!(loading.attr("role").await?.as_deref(), Some("status"));
    assert!(
        browser.client.find(Locator::Css(DEV_BUTTON)).await.is_err(),
        "the skeleton stands in for the buttons"
    );
    browser.wait_for(DEV_BUTTON).await?;

    // The callback names both steps while the backend trades the code.
    browser.click(DEV_BUTTON).await?;
    browser.click("button[data-user='ada']").await?;
    browser.click("#allow").await?;
    let steps = browser.text("#callback-status").await?;
    assert!(
        steps.contains("Checking the answer from Portero Dev…"),
        "{steps:?}"
    );
    assert!(steps.contains("Signing you in…"), "{steps:?}");
    // The profile card is up from /api/me while the live details are still on their way.
    browser.wait_for("#profile-details-loading").await?;
    assert_eq!(browser.text("#profile-name").await?, "Ada Lovelace");
    // Portero Dev (standard OpenID Connect) has nothing beyond the claims, and says so.
    browser.wait_for("#profile-details-none").await?;
    browser.network(false, 0).await?;

    // No network: the start page (reached inside the SPA) says so and offers to retry.
    browser.network(true, 0).await?;
    browser.click("header a.brand").await?;
    let banner = browser.text("#api-error").await?;
    assert!(
        banner.contains("Could not reach Portero — check your connection."),
        "{banner:?}"
    );
    browser.network(false, 0).await?;
    browser.click("#api-error #retry").await?;
    assert_eq!(browser.text("#user-name").await?, "Ada Lovelace");

    // The provider no longer knows the session's tokens (as when the person revokes the app
    // there): /api/profile ends the session and the page says so.
    stack.restart_provider().await?;
    browser.goto(&stack.url("/profile")).await?;
    let ended = browser.text("#session-expired").await?;
    assert!(
        ended.contains("Your session has ended — log in again."),
        "{ended:?}"
    );
    assert!(!browser.wait_for("#profile").await?.is_displayed().await?);
    assert_eq!(browser.api_status("/api/me").await?, 401);
    browser.click("#log-in-again").await?;
    browser.wait_for(DEV_BUTTON).await?;
    browser.close().await
}

#[tokio::test]
async fn a_failed_callback_says_why_in_words_and_offers_to_try_again() -> Result<()> {
    let browser = Browser::start().await?;

    // The person declines at the provider.
    let mut stack = Stack::start().await?;
    browser.goto(&stack.url("/")).await?;
    browser.click(DEV_BUTTON).await?;
    browser.click("button[data-user='grace']").await?;
    browser.click("#deny").await?;
    assert_eq!(
        summary(&browser).await?,
        "You declined to share your account."
    );
    assert_eq!(browser.text("#error-code").await?, "access_denied");
    // "Try again" starts a new login: the provider's sign-in page again.
    browser.click("#try-again").await?;
    browser.click("button[data-user='ada']").await?;

    // The provider goes down between the person's consent and the backend's token request.
    browser.wait_for("#allow").await?;
    let request = browser
        .wait_for("form[action='/authorize/consent'] input[name='request']")
        .await?
        .attr("value")
        .await?
        .context("the consent form names its request")?;
    let callback = allow_without_following(&stack.provider().base_url(), &request).await?;
    stack.stop_provider().await;
    browser.goto(&callback).await?;
    assert_eq!(
        summary(&browser).await?,
        "Portero Dev is not answering properly right now."
    );
    assert_eq!(browser.text("#error-code").await?, "provider_error");
    browser.wait_for("#try-again").await?;
    drop(stack);

    // The person takes longer than login_timeout_secs at the provider.
    browser.client.delete_all_cookies().await?;
    let slow = Stack::bind()
        .await?
        .session("login_timeout_secs = 1")
        .start("")
        .await?;
    browser.goto(&slow.url("/")).await?;
    browser.click(DEV_BUTTON).await?;
    browser.wait_for("button[data-user='ada']").await?;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    browser.click("button[data-user='ada']").await?;
    browser.click("#allow").await?;
    assert_eq!(
        summary(&browser).await?,
        "The login took too long — try again."
    );
    assert_eq!(browser.text("#error-code").await?, "state_expired");
    browser.click("#try-again").await?;
    browser.wait_for("button[data-user='ada']").await?;
    browser.close().await
}

/// Presses "Allow" on devprovider's consent form without a browser, so the browser does not
/// follow the redirect yet: returns the `/callback/…` address it would have gone to.
async fn allow_without_following(provider: &str, request: &str) -> Result<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = provider.strip_prefix("http://").context("http only")?;
    let body = format!("request={}&decision=allow", form_encode(request));
    let mut stream = tokio::net::TcpStream::connect(host).await?;
    stream
        .write_all(
            format!(
                "POST /authorize/consent HTTP/1.1\r\nHost: {host}\r\n\
                 Content-Type: application/x-www-form-urlencoded\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .as_bytes(),
        )
        .await?;
    let mut reply = String::new();
    stream.read_to_string(&mut reply).await?;
    let location = reply
        .lines()
        .take_while(|line| !line.is_empty())
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("location")
                .then(|| value.trim().to_owned())
        });
    match location {
        Some(location) if location.contains("code=") => Ok(location),
        _ => bail!("devprovider did not redirect with a code: {reply}"),
    }
}

fn form_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
