//! The three buttons of `cargo xtask dev` — Portero Dev (OpenID Connect), GitHub and 42 Intra,
//! the last two emulated by devprovider's dialects — each log a person in through the SPA.

use anyhow::Result;
use devprovider::{Client, Config, DevProvider, Dialect};
use e2e::{Browser, Stack};

const SECRET: &str = "e2e-emulated-secret";

async fn emulator(dialect: Dialect, origin: &str, provider: &str) -> Result<DevProvider> {
    DevProvider::start(Config {
        clients: vec![Client {
            id: format!("portero-{provider}"),
            secret: SECRET.into(),
            redirect_uris: vec![format!("{origin}/callback/{provider}")],
        }],
        ..Config::for_dialect(dialect)
    })
    .await
}

#[tokio::test]
async fn github_and_42_intra_emulations_each_log_a_person_in() -> Result<()> {
    let builder = Stack::bind().await?;
    let github = emulator(Dialect::Github, &builder.origin, "github").await?;
    let intra = emulator(Dialect::Intra42, &builder.origin, "intra42").await?;
    let (gh, ft) = (github.base_url(), intra.base_url());
    let stack = builder
        .start(&format!(
            r#"
            [providers.github]
            kind = "github"
            name = "GitHub (emulated)"
            client_id = "portero-github"
            client_secret = "{SECRET}"
            authorize_url = "{gh}/login/oauth/authorize"
            token_url = "{gh}/login/oauth/access_token"
            userinfo_url = "{gh}/user"
            issuer = "{gh}/login/oauth"

            [providers.intra42]
            kind = "intra42"
            name = "42 Intra (emulated)"
            client_id = "portero-intra42"
            client_secret = "{SECRET}"
            authorize_url = "{ft}/oauth/authorize"
            token_url = "{ft}/oauth/token"
            userinfo_url = "{ft}/v2/me"
            "#
        ))
        .await?;

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
    browser.close().await
}
