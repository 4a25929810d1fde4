//! Conformance with an independent, OpenID Certified server: npm `oidc-provider` (in `.tools/`,
//! where `cargo xtask test` installs it), started on loopback, logged in through the real SPA in Chromium as a
//! `kind = "oidc"` provider; then `/api/me`, `/api/profile`, and logout with revocation checked
//! at the provider itself; logout at the provider ending the Portero session over OpenID
//! Connect Back-Channel Logout; and an address it has not verified, never told to an app.

use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::Duration,
};

use anyhow::{bail, Context, Result};
use e2e::{Browser, Stack};

const CLIENT_ID: &str = "portero-conformance";

struct OidcProvider {
    child: Child,
    issuer: String,
    tokens_file: PathBuf,
    /// Its stderr: back-channel logout failures are reported there.
    log_file: PathBuf,
}

impl OidcProvider {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log_file).unwrap_or_default()
    }
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `node server.mjs` in a folder of the test's own, whose `node_modules` is `.tools/`'s.
fn start_oidc_provider(origin: &str, secret: &str) -> Result<OidcProvider> {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let modules = e2e::npm_package("oidc-provider")?.join("..");
    let folder = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("oidc-provider");
    std::fs::create_dir_all(&folder)?;
    let link = folder.join("node_modules");
    if std::fs::read_link(&link).ok().as_deref() != Some(modules.as_path()) {
        let _ = std::fs::remove_file(&link);
        let _ = std::fs::remove_dir_all(&link);
        std::os::unix::fs::symlink(&modules, &link)?;
    }
    std::fs::copy(
        here.join("oidc-provider/server.mjs"),
        folder.join("server.mjs"),
    )?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let tokens_file = folder.join(format!("tokens-{port}.txt"));
    std::fs::write(&tokens_file, "")?;
    let log_file = folder.join(format!("stderr-{port}.txt"));
    let child = Command::new("node")
        .arg("server.mjs")
        .current_dir(&folder)
        .env("OP_PORT", port.to_string())
        .env("PUBLIC_ORIGIN", origin)
        .env("CLIENT_ID", CLIENT_ID)
        .env("CLIENT_SECRET", secret)
        .env("TOKENS_FILE", &tokens_file)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_file)?)
        .spawn()
        .context("cannot start node")?;
    Ok(OidcProvider {
        child,
        issuer: format!("http://127.0.0.1:{port}"),
        tokens_file,
        log_file,
    })
}

async fn wait_for_discovery(issuer: &str) -> Result<()> {
    let url = format!("{issuer}/.well-known/openid-configuration");
    for _ in 0..100 {
        if bearer_get(&url, None).await.is_ok_and(|s| s == 200) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    bail!("oidc-provider did not start at {issuer}")
}

/// A bare HTTP/1.1 GET on loopback returning the status (no HTTP client crate needed).
async fn bearer_get(url: &str, token: Option<&str>) -> Result<u16> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").context("http only")?;
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut stream = tokio::net::TcpStream::connect(host).await?;
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let path = if path.is_empty() { "/" } else { path };
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n{auth}Connection: close\r\n\r\n")
                .as_bytes(),
        )
        .await?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).await?;
    std::str::from_utf8(&head[9..12])?
        .parse()
        .context("no status")
}

/// oidc-provider and a Portero stack that knows it as provider `op`.
async fn stack_with_oidc_provider() -> Result<(OidcProvider, Stack)> {
    let builder = Stack::bind().await?;
    let secret = format!("conformance-{}", std::process::id());
    let op = start_oidc_provider(&builder.origin, &secret)?;
    wait_for_discovery(&op.issuer).await?;
    let stack = builder
        .start(&format!(
            r#"
            [providers.op]
            kind = "oidc"
            name = "oidc-provider"
            issuer = "{}"
            client_id = "{CLIENT_ID}"
            client_secret = "{secret}"
            scopes = ["openid", "profile", "email"]
            "#,
            op.issuer
        ))
        .await?;
    Ok((op, stack))
}

/// From the SPA's home page through oidc-provider's own development pages (a login form, then
/// a consent form) back to the profile page.
async fn log_in_as_marie(browser: &Browser, stack: &Stack) -> Result<()> {
    log_in_as(browser, stack, "marie").await
}

/// [`log_in_as_marie`] as anyone: oidc-provider takes any login.
async fn log_in_as(browser: &Browser, stack: &Stack, login: &str) -> Result<()> {
    browser.goto(&stack.url("/")).await?;
    browser.click("button[data-provider='op']").await?;
    browser
        .wait_for("input[name='login']")
        .await?
        .send_keys(login)
        .await?;
    browser
        .wait_for("input[name='password']")
        .await?
        .send_keys("any")
        .await?;
    browser
        .click("form:has(input[name='prompt'][value='login']) button[type='submit']")
        .await?;
    browser
        .click("form:has(input[name='prompt'][value='consent']) button[type='submit']")
        .await?;
    browser.wait_for_path("/profile").await?;
    Ok(())
}

#[tokio::test]
async fn logs_in_through_oidc_provider_then_me_profile_and_logout_with_revocation() -> Result<()> {
    let (op, stack) = stack_with_oidc_provider().await?;
    let browser = Browser::start().await?;
    log_in_as_marie(&browser, &stack).await?;
    assert_eq!(browser.text("#profile-name").await?, "Conformance marie");
    assert_eq!(
        browser.text("#profile-email").await?,
        "marie@conformance.test"
    );
    assert_eq!(browser.api_status("/api/me").await?, 200);
    assert_eq!(browser.api_status("/api/profile").await?, 200);

    let issued = std::fs::read_to_string(&op.tokens_file)?;
    let access_token = issued
        .lines()
        .last()
        .context("oidc-provider issued no token")?
        .to_owned();
    let userinfo = format!("{}/me", op.issuer);
    assert_eq!(
        bearer_get(&userinfo, Some(&access_token)).await?,
        200,
        "live before logout"
    );

    browser.click("#logout").await?;
    // oidc-provider offers RP-initiated logout: the SPA offers its end_session URL.
    let end_session = browser.wait_for("#end-session").await?;
    let href = end_session.attr("href").await?.unwrap_or_default();
    assert!(
        href.starts_with(&format!("{}/session/end", op.issuer)),
        "{href}"
    );
    // client_id, not id_token_hint: the id_token never leaves the backend (rule 8).
    assert!(href.contains("client_id=portero-conformance"), "{href}");
    assert!(!href.contains("id_token_hint"), "{href}");
    assert_eq!(browser.api_status("/api/me").await?, 401);
    assert_eq!(
        bearer_get(&userinfo, Some(&access_token)).await?,
        401,
        "oidc-provider refuses the access token Portero revoked at logout"
    );
    browser.close().await
}

#[tokio::test]
async fn logging_out_at_oidc_provider_ends_the_portero_session_over_the_back_channel() -> Result<()>
{
    let (op, stack) = stack_with_oidc_provider().await?;
    let browser = Browser::start().await?;
    log_in_as_marie(&browser, &stack).await?;
    assert_eq!(browser.api_status("/api/me").await?, 200);

    // Marie logs out on the provider's own site, not through Portero: oidc-provider then POSTs
    // a logout_token naming her session's sid to /api/backchannel-logout/op.
    browser.goto(&format!("{}/session/end", op.issuer)).await?;
    browser.click("button[name='logout'][value='yes']").await?;
    browser.wait_for_path("/session/end/success").await?;
    assert_eq!(
        browser.text("h1").await?,
        "Sign-out Success",
        "{}",
        op.log()
    );
    assert!(
        !op.log().contains("back-channel logout failed"),
        "{}",
        op.log()
    );

    // The same browser, the same cookie: Portero's session is gone.
    browser.goto(&stack.url("/")).await?;
    browser.wait_for("button[data-provider='op']").await?;
    assert_eq!(browser.api_status("/api/me").await?, 401);
    browser.close().await
}

/// What `GET /api/auth` tells an app about the page's person, fetched from inside the page:
/// `X-Portero-Email`, and the assertion's `email` and `email_verified`.
async fn told_to_an_app(browser: &Browser) -> Result<serde_json::Value> {
    Ok(browser
        .client
        .execute_async(
            "const [done] = arguments;
             fetch('/api/auth', { headers: { 'x-csrf': '1' } }).then(r => {
               const jwt = r.headers.get('x-portero-assertion').split('.')[1];
               const claims = JSON.parse(atob(jwt.replace(/-/g, '+').replace(/_/g, '/')));
               done([r.headers.get('x-portero-email'), claims.email ?? null,
                     claims.email_verified ?? null]);
             }, e => done(String(e)));",
            vec![],
        )
        .await?)
}

/// Rule 21 against an independent server: oidc-provider says `email_verified: false` for
/// `unverified-marie`, and no app is told her address, though she sees it on her profile;
/// Marie's verified one is told, with `email_verified: true` in the assertion.
#[tokio::test]
async fn an_address_oidc_provider_has_not_verified_is_never_told_to_an_app() -> Result<()> {
    let (_op, stack) = stack_with_oidc_provider().await?;
    let browser = Browser::start().await?;
    log_in_as(&browser, &stack, "unverified-marie").await?;
    assert_eq!(
        browser.text("#profile-email").await?,
        "unverified-marie@conformance.test",
        "she sees the address the provider gave"
    );
    assert_eq!(
        told_to_an_app(&browser).await?,
        serde_json::json!([null, null, null])
    );
    browser.close().await?;

    let browser = Browser::start().await?;
    log_in_as_marie(&browser, &stack).await?;
    assert_eq!(
        told_to_an_app(&browser).await?,
        serde_json::json!(["marie@conformance.test", "marie@conformance.test", true])
    );
    browser.close().await
}
