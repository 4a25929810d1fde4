//! The three buttons of `cargo xtask dev` — Portero Dev (OpenID Connect), GitHub and 42 Intra,
//! the last two emulated by devprovider's dialects — each log a person in through the SPA.

use anyhow::Result;
use e2e::{Browser, DevLikeStack};

#[tokio::test]
async fn github_and_42_intra_emulations_each_log_a_person_in() -> Result<()> {
    let DevLikeStack {
        stack,
        github,
        intra42: _intra42,
    } = DevLikeStack::start().await?;

    let browser = Browser::start().await?;
    browser.goto(&stack.url("/")).await?;
    // GitHub, with grace, whose address is private: it comes from /user/emails.
    browser.click("button[data-provider='github']").await?;
    browser.click("button[data-user='grace']").await?;
    browser.click("#allow").await?;
    browser.wait_for_path("/profile").await?;
    assert_eq!(browser.text("#profile-name").await?, "Grace Hopper");
    assert!(browser
        .text("#profile-email")
        .await?
        .contains("grace@example.com"));
    // The live profile from /api/profile: GitHub's own figures.
    browser.wait_for("#profile-repos").await?;
    browser.wait_for("#profile-followers").await?;
    browser.click("#logout").await?;
    assert!(
        github.stats().revocations >= 1,
        "GitHub's DELETE revocation was called"
    );

    // 42 Intra, with alan.
    browser.click("button[data-provider='intra42']").await?;
    browser.click("button[data-user='alan']").await?;
    browser.click("#allow").await?;
    browser.wait_for_path("/profile").await?;
    assert_eq!(browser.text("#profile-name").await?, "Alan Turing");
    // 42's campus and cursus level, from /v2/me through /api/profile.
    assert!(browser.text("#profile-campus").await?.contains("Málaga"));
    assert!(browser.text("#profile-level").await?.contains("3.17"));
    // The provider by its name, as remembered from the button this tab pressed…
    assert_eq!(
        browser.text("#profile-provider").await?,
        "42 Intra (emulated)"
    );
    // …and, in a tab that never pressed it, from the public provider list.
    browser
        .client
        .execute("sessionStorage.clear()", vec![])
        .await?;
    browser.client.refresh().await?;
    browser.wait_for("#profile-campus").await?;
    assert_eq!(
        browser.text("#profile-provider").await?,
        "42 Intra (emulated)"
    );
    browser.close().await
}
