//! Conformance with an independent, OpenID Certified server: npm `oidc-provider` (in `.tools/`,
//! where `cargo xtask test` installs it), started on loopback, logged in through the real SPA in Chromium as a
//! `kind = "oidc"` provider; then `/api/me`, `/api/profile`, and logout with revocation checked
//! at the provider itself; logout at the provider ending the Portero session over OpenID
//! Connect Back-Channel Logout; and an address it has not verified, never told to an app.
//!
//! Stricter providers (docs/design.md, "Stricter providers") against the same server with PAR,
//! `private_key_jwt` and DPoP on: the whole login, `/api/profile`, a refresh, revocation and
//! logout through PAR with the client secret, `private_key_jwt` (RS256) without PAR, and all
//! three together (ES256), each driven over HTTP as the SPA and a person would; and the last
//! once more in Chromium.

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
    /// What happened to the stricter clients' requests and tokens, a line each.
    events_file: PathBuf,
}

impl OidcProvider {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log_file).unwrap_or_default()
    }

    /// How many lines of the events file are `line`.
    fn events(&self, line: &str) -> usize {
        let events = std::fs::read_to_string(&self.events_file).unwrap_or_default();
        events.lines().filter(|l| *l == line).count()
    }
}

/// The stricter clients' public keys (`server.mjs`), and how long their tokens live.
struct StrictClients {
    jwt_jwks: String,
    strict_jwks: String,
    access_token_ttl: Duration,
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `node server.mjs` in a folder of the test's own, whose `node_modules` is `.tools/`'s; with
/// `strict`, its stricter clients too.
fn start_oidc_provider(
    origin: &str,
    secret: &str,
    strict: Option<&StrictClients>,
) -> Result<OidcProvider> {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let modules = e2e::npm_package("oidc-provider")?.join("..");
    let folder = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("oidc-provider");
    std::fs::create_dir_all(&folder)?;
    let link = folder.join("node_modules");
    if std::fs::read_link(&link).ok().as_deref() != Some(modules.as_path()) {
        let _ = std::fs::remove_file(&link);
        let _ = std::fs::remove_dir_all(&link);
        // Another test of this binary may have made it meanwhile.
        match std::os::unix::fs::symlink(&modules, &link) {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => return Err(e.into()),
            _ => {}
        }
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    // A copy per server: tests run at once, and node must never read a copy being written.
    let script = format!("server-{port}.mjs");
    std::fs::copy(here.join("oidc-provider/server.mjs"), folder.join(&script))?;
    let tokens_file = folder.join(format!("tokens-{port}.txt"));
    std::fs::write(&tokens_file, "")?;
    let log_file = folder.join(format!("stderr-{port}.txt"));
    let events_file = folder.join(format!("events-{port}.txt"));
    std::fs::write(&events_file, "")?;
    let mut node = Command::new("node");
    node.arg(&script)
        .current_dir(&folder)
        .env("OP_PORT", port.to_string())
        .env("PUBLIC_ORIGIN", origin)
        .env("CLIENT_ID", CLIENT_ID)
        .env("CLIENT_SECRET", secret)
        .env("TOKENS_FILE", &tokens_file)
        .env("EVENTS_FILE", &events_file);
    if let Some(strict) = strict {
        node.env("JWT_CLIENT_JWKS", &strict.jwt_jwks)
            .env("STRICT_CLIENT_JWKS", &strict.strict_jwks)
            .env(
                "ACCESS_TOKEN_TTL",
                strict.access_token_ttl.as_secs().to_string(),
            );
    }
    let child = node
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_file)?)
        .spawn()
        .context("cannot start node")?;
    Ok(OidcProvider {
        child,
        issuer: format!("http://127.0.0.1:{port}"),
        tokens_file,
        log_file,
        events_file,
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
    let op = start_oidc_provider(&builder.origin, &secret, None)?;
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
    log_in_as(browser, stack, "op", "marie").await
}

/// [`log_in_as_marie`] at Portero's provider `provider`, as anyone: oidc-provider takes any
/// login.
async fn log_in_as(browser: &Browser, stack: &Stack, provider: &str, login: &str) -> Result<()> {
    browser.goto(&stack.url("/")).await?;
    browser
        .click(&format!("button[data-provider='{provider}']"))
        .await?;
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

/// Tokens of the stricter clients live this long: after [`UNTIL_REFRESH_IS_DUE`] they are
/// inside Portero's 30 s refresh margin, and a refreshed one is not.
const STRICT_TOKEN_TTL: Duration = Duration::from_secs(34);
const UNTIL_REFRESH_IS_DUE: Duration = Duration::from_secs(5);

/// Portero's keys for the stricter clients, in a folder of the test's own: RSA 2048 (RS256) for
/// `jwt`, EC P-256 (ES256) for `strict`; the provider registers their public keys.
fn client_keys(name: &str) -> Result<(PathBuf, StrictClients)> {
    use rsa::pkcs8::{EncodePrivateKey, LineEnding};
    let folder = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("strict-keys-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&folder)?;
    let rsa = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048)?;
    let rsa_pem = rsa.to_pkcs8_pem(LineEnding::LF)?.to_string();
    std::fs::write(folder.join("jwt.pem"), &rsa_pem)?;
    let jwt = portero::ClientKey::from_pem(&rsa_pem).map_err(anyhow::Error::msg)?;
    let (ec_pem, strict) = portero::ClientKey::generate();
    std::fs::write(folder.join("strict.pem"), ec_pem)?;
    let clients = StrictClients {
        jwt_jwks: jwt.jwks().to_string(),
        strict_jwks: strict.jwks().to_string(),
        access_token_ttl: STRICT_TOKEN_TTL,
    };
    Ok((folder, clients))
}

/// Portero's three stricter providers of oidc-provider at `issuer`, as TOML.
fn strict_providers(issuer: &str, secret: &str, keys: &std::path::Path) -> String {
    let key = |name: &str| keys.join(name).display().to_string();
    format!(
        r#"
        [providers.par]
        kind = "oidc"
        issuer = "{issuer}"
        client_id = "portero-par"
        client_secret = "{secret}"
        par = "always"

        [providers.jwt]
        kind = "oidc"
        issuer = "{issuer}"
        client_id = "portero-jwt"
        client_auth = "private_key_jwt"
        client_key_file = "{jwt}"
        par = "never"

        [providers.strict]
        kind = "oidc"
        name = "Strict oidc-provider"
        issuer = "{issuer}"
        client_id = "portero-strict"
        client_auth = "private_key_jwt"
        client_key_file = "{strict}"
        par = "always"
        dpop = true
        "#,
        jwt = key("jwt.pem"),
        strict = key("strict.pem"),
    )
}

/// oidc-provider with its stricter clients, and Portero (its API only) as their client.
struct StrictStack {
    op: OidcProvider,
    origin: String,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn strict_stack(name: &str) -> Result<StrictStack> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let origin = format!("http://{}", listener.local_addr()?);
    let secret = format!("conformance-{name}-{}", std::process::id());
    let (keys, clients) = client_keys(name)?;
    let op = start_oidc_provider(&origin, &secret, Some(&clients))?;
    wait_for_discovery(&op.issuer).await?;
    let toml = format!(
        "[server]\npublic_origin = \"{origin}\"\n[session]\nstore = \"memory\"\n{}",
        strict_providers(&op.issuer, &secret, &keys)
    );
    let config = portero::config::Config::from_toml(&toml, std::iter::empty(), None)?;
    let app = portero::startup::Application::with_listener(config, listener).await?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    Ok(StrictStack {
        op,
        origin,
        _stop: stop,
    })
}

/// What a browser holds: cookies (Portero's and the provider's), no redirect followed.
fn browser_over_http() -> Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()?)
}

/// An `/api` call as the SPA makes it; the status and the JSON answer.
async fn api(
    http: &reqwest::Client,
    stack: &StrictStack,
    method: reqwest::Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> Result<(u16, serde_json::Value)> {
    let mut request = http
        .request(method, format!("{}{path}", stack.origin))
        .header("x-csrf", "1")
        .header("origin", &stack.origin);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let reply = request.send().await?;
    let status = reply.status().as_u16();
    let text = reply.text().await?;
    Ok((
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
    ))
}

/// Steps 2 to 5 of the flow for `provider`, with marie at oidc-provider's development pages
/// (a login form, then a consent form): the `POST /api/login` answer's parameters, and the
/// `POST /api/session` answer.
async fn log_in_over_http(
    http: &reqwest::Client,
    stack: &StrictStack,
    provider: &str,
) -> Result<(
    serde_json::Map<String, serde_json::Value>,
    serde_json::Value,
)> {
    let (status, login) = api(
        http,
        stack,
        reqwest::Method::POST,
        &format!("/api/login/{provider}"),
        Some(serde_json::json!({})),
    )
    .await?;
    anyhow::ensure!(
        status == 200,
        "POST /api/login/{provider}: {status} {login}"
    );
    let params = login["params"].as_object().context("params")?.clone();
    let mut url = url::Url::parse(login["authorize_endpoint"].as_str().context("endpoint")?)?;
    for (name, value) in &params {
        url.query_pairs_mut()
            .append_pair(name, value.as_str().unwrap_or_default());
    }
    let callback = format!("{}/callback/{provider}", stack.origin);
    let mut at = url.to_string();
    for _ in 0..10 {
        if at.starts_with(&callback) {
            break;
        }
        let reply = if at.contains("/interaction/") {
            let page = http.get(&at).send().await?.text().await?;
            let form: &[(&str, &str)] = if page.contains(r#"value="login""#) {
                &[("prompt", "login"), ("login", "marie"), ("password", "any")]
            } else {
                &[("prompt", "consent")]
            };
            http.post(&at).form(form).send().await?
        } else {
            http.get(&at).send().await?
        };
        let location = reply
            .headers()
            .get("location")
            .with_context(|| format!("{at}: {} without a redirect", reply.status()))?
            .to_str()?
            .to_owned();
        at = url::Url::parse(&at)?.join(&location)?.to_string();
    }
    let answer = url::Url::parse(&at)?;
    let query: std::collections::HashMap<_, _> = answer.query_pairs().into_owned().collect();
    let code = query
        .get("code")
        .with_context(|| format!("no code in {at}"))?;
    let mut body =
        serde_json::json!({ "provider": provider, "code": code, "state": query["state"] });
    if let Some(iss) = query.get("iss") {
        body["iss"] = serde_json::json!(iss);
    }
    let (status, session) = api(
        http,
        stack,
        reqwest::Method::POST,
        "/api/session",
        Some(body),
    )
    .await?;
    anyhow::ensure!(status == 200, "POST /api/session: {status} {session}");
    Ok((params, session))
}

/// The whole life of a session at a stricter provider: login (pushed or not), profile, a
/// refresh, logout with revocation; with the provider's own record of each step.
async fn a_whole_session_at(provider: &str, pushed: bool, bound: bool) -> Result<()> {
    let stack = strict_stack(provider).await?;
    let client = format!("portero-{provider}");
    let http = browser_over_http()?;
    let (params, session) = log_in_over_http(&http, &stack, provider).await?;
    let names: Vec<&str> = params.keys().map(String::as_str).collect();
    if pushed {
        assert_eq!(names, ["client_id", "request_uri"]);
    } else {
        assert!(
            names.contains(&"state") && names.contains(&"code_challenge"),
            "{names:?}"
        );
    }
    assert_eq!(session["user"]["email"], "marie@conformance.test");
    let op = &stack.op;
    assert_eq!(op.events(&format!("pushed {client}")), usize::from(pushed));
    assert_eq!(
        op.events(&format!("grant {client} authorization_code")),
        1,
        "{}",
        op.log()
    );
    let kind = if bound { "dpop" } else { "bearer" };
    assert_eq!(op.events(&format!("access_token {client} {kind}")), 1);

    let get = |path: &'static str| api(&http, &stack, reqwest::Method::GET, path, None);
    let (status, profile) = get("/api/profile").await?;
    assert_eq!(status, 200, "{profile} {}", op.log());
    assert_eq!(profile["user"]["name"], "Conformance marie");

    tokio::time::sleep(UNTIL_REFRESH_IS_DUE).await;
    let (status, profile) = get("/api/profile").await?;
    assert_eq!(status, 200, "{profile} {}", op.log());
    assert_eq!(
        op.events(&format!("grant {client} refresh_token")),
        1,
        "{}",
        op.log()
    );
    assert_eq!(op.events(&format!("access_token {client} {kind}")), 2);

    // The provider's own userinfo takes the latest access token as Bearer until logout, unless
    // it is bound to Portero's DPoP key.
    let issued = std::fs::read_to_string(&op.tokens_file)?;
    let access_token = issued.lines().last().context("no token")?.to_owned();
    let userinfo = format!("{}/me", op.issuer);
    let live = if bound { 401 } else { 200 };
    assert_eq!(bearer_get(&userinfo, Some(&access_token)).await?, live);

    let (status, _) = api(&http, &stack, reqwest::Method::POST, "/api/logout", None).await?;
    assert_eq!(status, 200);
    assert_eq!(
        op.events(&format!("revoked refresh_token {client}")),
        1,
        "{}",
        op.log()
    );
    assert_eq!(
        op.events(&format!("revoked grant {client}")),
        1,
        "{}",
        op.log()
    );
    assert_eq!(bearer_get(&userinfo, Some(&access_token)).await?, 401);
    assert_eq!(get("/api/me").await?.0, 401);
    Ok(())
}

#[tokio::test]
async fn par_with_the_client_secret_works_through_login_profile_refresh_and_logout() -> Result<()> {
    a_whole_session_at("par", true, false).await
}

#[tokio::test]
async fn private_key_jwt_without_par_works_through_login_profile_refresh_and_logout() -> Result<()>
{
    a_whole_session_at("jwt", false, false).await
}

#[tokio::test]
async fn par_private_key_jwt_and_dpop_together_work_through_login_profile_refresh_and_logout(
) -> Result<()> {
    a_whole_session_at("strict", true, true).await
}

#[tokio::test]
async fn logs_in_through_the_strict_provider_in_the_browser() -> Result<()> {
    let builder = Stack::bind().await?;
    let secret = format!("conformance-browser-{}", std::process::id());
    let (keys, clients) = client_keys("browser")?;
    let op = start_oidc_provider(&builder.origin, &secret, Some(&clients))?;
    wait_for_discovery(&op.issuer).await?;
    let stack = builder
        .start(&strict_providers(&op.issuer, &secret, &keys))
        .await?;
    let browser = Browser::start().await?;
    log_in_as(&browser, &stack, "strict", "marie").await?;
    assert_eq!(browser.text("#profile-name").await?, "Conformance marie");
    assert_eq!(browser.api_status("/api/profile").await?, 200);
    assert_eq!(op.events("pushed portero-strict"), 1);
    assert_eq!(op.events("access_token portero-strict dpop"), 1);
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
    log_in_as(&browser, &stack, "op", "unverified-marie").await?;
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
