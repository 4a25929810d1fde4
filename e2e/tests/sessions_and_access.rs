//! What the sessions and access-rules issue shows people, in Chromium: the profile's list of
//! the places a person is logged in (ending one, then all), and the page a person the access
//! rules refuse lands on. Both pass axe-core, since both appear only in these states.

use std::time::Duration;

use anyhow::{bail, Result};
use e2e::{axe, Browser, Stack};
use serde_json::json;

const DEV_BUTTON: &str = "button[data-provider='dev']";
/// The other device: what Firefox on a Linux laptop sends.
const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";

async fn log_in_as(browser: &Browser, user: &str) -> Result<()> {
    browser.click(DEV_BUTTON).await?;
    browser
        .click(&format!("button[data-user='{user}']"))
        .await?;
    browser.click("#allow").await
}

/// The profile's session list once it has `count` rows: (name, is this browser) each.
async fn sessions(browser: &Browser, count: usize) -> Result<Vec<(String, bool)>> {
    let mut last = Vec::new();
    for _ in 0..150 {
        let rows = browser
            .client
            .execute(
                "return [...document.querySelectorAll('#sessions li.session')].map(li =>
                   [li.querySelector('.session-name').textContent, li.dataset.current === 'true']);",
                vec![],
            )
            .await?;
        last = serde_json::from_value(rows)?;
        if last.len() == count {
            return Ok(last);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("the session list never had {count} rows; it shows {last:?}")
}

fn assert_no_violations(page: &str, found: Vec<String>) {
    assert!(
        found.is_empty(),
        "axe-core found serious or critical problems on {page}:\n{}",
        found.join("\n")
    );
}

#[tokio::test]
async fn a_person_sees_where_they_are_logged_in_ends_one_place_and_then_every_place() -> Result<()>
{
    let stack = Stack::start().await?;
    let axe = axe::source()?;
    let laptop = Browser::start().await?;
    laptop
        .cdp(
            "Network.setUserAgentOverride",
            json!({ "userAgent": FIREFOX }),
        )
        .await?;
    let here = Browser::start().await?;
    for browser in [&laptop, &here] {
        browser.goto(&stack.url("/")).await?;
        log_in_as(browser, "ada").await?;
        browser.wait_for_path("/profile").await?;
    }

    // This browser first, the laptop named from its User-Agent.
    let rows = sessions(&here, 2).await?;
    assert_eq!(
        rows,
        [
            ("This browser".to_owned(), true),
            ("Firefox on Linux".to_owned(), false)
        ]
    );
    assert!(
        here.text("#sessions li.session[data-current='false'] .session-when")
            .await?
            .starts_with("Last seen"),
        "the other session says when it was last used"
    );
    assert_no_violations(
        "the session list",
        axe::serious_violations(&here, &axe).await?,
    );

    // Ending the laptop's session logs the laptop out and leaves this one.
    here.click("#sessions li.session[data-current='false'] .session-end")
        .await?;
    sessions(&here, 1).await?;
    assert_eq!(
        laptop.api_status("/api/me").await?,
        401,
        "the laptop is out"
    );
    assert_eq!(here.api_status("/api/me").await?, 200, "this browser stays");

    // "Log out everywhere" ends both.
    laptop.goto(&stack.url("/")).await?;
    log_in_as(&laptop, "ada").await?;
    laptop.wait_for_path("/profile").await?;
    here.client.refresh().await?;
    sessions(&here, 2).await?;
    here.click("#logout-everywhere").await?;
    here.wait_for(DEV_BUTTON).await?;
    assert_eq!(here.api_status("/api/me").await?, 401);
    assert_eq!(laptop.api_status("/api/me").await?, 401);

    laptop.close().await?;
    here.close().await
}

#[tokio::test]
async fn a_person_the_access_rules_refuse_is_told_why_and_can_try_another_account() -> Result<()> {
    let stack = Stack::bind()
        .await?
        .start(
            r#"
            [providers.dev.allow]
            emails = ["ada@example.com"]
            "#,
        )
        .await?;
    let axe = axe::source()?;
    let browser = Browser::start().await?;
    browser.goto(&stack.url("/")).await?;
    log_in_as(&browser, "grace").await?;

    browser.wait_for("#access-denied").await?;
    assert_eq!(
        browser.text("#denied-title").await?,
        "You can't log in with this account"
    );
    let reason = browser.text("#denied-reason").await?;
    assert!(
        reason.contains("email"),
        "the reason names the rule: {reason}"
    );
    assert_eq!(browser.api_status("/api/me").await?, 401, "no session");
    assert_no_violations(
        "the access-denied page",
        axe::serious_violations(&browser, &axe).await?,
    );
    browser.click("button[data-lang='es']").await?;
    assert_eq!(
        browser.text("#denied-title").await?,
        "No puedes iniciar sesión con esta cuenta"
    );
    assert_no_violations(
        "the access-denied page in Spanish",
        axe::serious_violations(&browser, &axe).await?,
    );

    // The provider is asked to let her choose another account; Ada may come in.
    browser.click("#try-another-account").await?;
    browser.wait_for("button[data-user='ada']").await?;
    let at_provider = browser.client.current_url().await?;
    assert!(
        at_provider
            .query()
            .unwrap_or_default()
            .contains("prompt=select_account"),
        "the provider is asked for its account chooser: {at_provider}"
    );
    browser.click("button[data-user='ada']").await?;
    browser.click("#allow").await?;
    browser.wait_for_path("/profile").await?;
    assert_eq!(browser.text("#profile-name").await?, "Ada Lovelace");
    browser.close().await
}
