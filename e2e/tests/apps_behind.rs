//! Apps behind Portero, with real servers (docs/design.md, "Your app behind Portero"): a Django
//! app behind the gateway, verifying the assertion with PyJWT and reading the person from its
//! claims, shown on the profile page; and nginx guarding an app and static pages with
//! `auth_request`, where a client's forged identity headers never reach the app.

use std::{net::SocketAddr, path::Path, process::Command, time::Duration};

use anyhow::Result;
use e2e::{
    free_port,
    nginx::{deploy_dir, Nginx},
    process::ProcessGroup,
    python_venv,
    recording_app::{self, RecordingApp},
    wait_for_port, Browser, DevLikeStack, Stack,
};

async fn log_in_as_ada(browser: &Browser) -> Result<()> {
    browser.click("button[data-provider='dev']").await?;
    browser.click("button[data-user='ada']").await?;
    browser.click("#allow").await
}

/// docs/integrate.md's Django app (e2e/django/portero_app.py), run by Django's own server,
/// taking assertions for `audience`.
async fn start_django(portero: &str, port: u16, audience: &str) -> Result<ProcessGroup> {
    let python = python_venv("django")?;
    let app = Path::new(env!("CARGO_MANIFEST_DIR")).join("django/portero_app.py");
    let django = ProcessGroup::spawn(
        Command::new(python)
            .arg(app)
            .args(["runserver", &format!("127.0.0.1:{port}"), "--noreload"])
            .env("PORTERO_URL", portero)
            .env("PORTERO_ORIGIN", portero)
            .env("PORTERO_AUDIENCE", audience)
            .env("PYTHONDONTWRITEBYTECODE", "1"),
    )?;
    wait_for_port(
        SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_secs(60),
    )
    .await?;
    Ok(django)
}

#[tokio::test]
async fn a_django_app_behind_the_gateway_shows_on_the_profile_page_who_logged_in() -> Result<()> {
    let port = free_port()?;
    let builder = Stack::bind().await?;
    let origin = builder.origin.clone();
    let stack = builder
        .start(&format!(
            "[upstreams.demo]\nprefix = \"/api/demo\"\nurl = \"http://127.0.0.1:{port}/demo\"\n"
        ))
        .await?;
    let _django = start_django(&origin, port, "demo").await?;
    let browser = Browser::start().await?;
    browser.goto(&stack.url("/")).await?;
    log_in_as_ada(&browser).await?;
    browser.wait_for_path("/profile").await?;
    // What Django read from the headers and verified with Portero's keys, on the SPA's page.
    assert_eq!(browser.text("#app-sees-subject").await?, "dev:user-ada");
    let card = browser.text("#app-sees").await?;
    assert!(card.contains("django"), "{card}");
    assert!(card.contains("Ada Lovelace"), "{card}");
    browser.wait_for("#app-sees-verified").await?;
    browser.close().await
}

#[tokio::test]
async fn the_django_app_reads_the_person_from_the_assertion_never_from_headers_sent_beside_it(
) -> Result<()> {
    let stack = Stack::start().await?;
    let port = free_port()?;
    let _django = start_django(&stack.origin, port, "auth").await?;
    let browser = Browser::start().await?;
    browser.goto(&stack.url("/")).await?;
    log_in_as_ada(&browser).await?;
    browser.wait_for_path("/profile").await?;
    // Ada's own assertion, as GET /api/auth hands it to any logged-in browser, sent straight to
    // the app beside headers that claim to be someone else.
    let http = reqwest::Client::new();
    let auth = http
        .get(stack.url("/api/auth"))
        .header("cookie", recording_app::session_cookie(&browser).await?)
        .header("x-csrf", "1")
        .send()
        .await?;
    assert_eq!(auth.status(), 200);
    let whoami = format!("http://127.0.0.1:{port}/demo/whoami");
    let mut request = http.get(&whoami).header(
        "x-portero-assertion",
        &auth.headers()["x-portero-assertion"],
    );
    for (name, value) in recording_app::FORGED {
        if name != "X-Portero-Assertion" {
            request = request.header(name, value);
        }
    }
    let seen: serde_json::Value = request.send().await?.json().await?;
    assert_eq!(seen["subject"], "dev:user-ada", "{seen}");
    assert_eq!(seen["login"], "ada", "{seen}");
    assert_eq!(seen["email"], "ada@example.com", "{seen}");
    assert_eq!(seen["name"], "Ada Lovelace", "{seen}");
    // The headers alone, with a made-up assertion: nobody.
    let mut request = http.get(&whoami);
    for (name, value) in recording_app::FORGED {
        request = request.header(name, value);
    }
    assert_eq!(request.send().await?.status(), 401);
    browser.close().await
}

/// deploy/nginx-auth-request.conf with only its listen, root, alias and proxy_pass lines
/// pointed at this test's port, folders, backend and app.
fn auth_request_server(
    port: u16,
    backend: &str,
    dist: &Path,
    app: &str,
    pages: &Path,
) -> Result<String> {
    let deploy = deploy_dir();
    Ok(
        std::fs::read_to_string(deploy.join("nginx-auth-request.conf"))?
            .replace("listen 80;", &format!("listen 127.0.0.1:{port};"))
            .replace("/srv/portero/dist", &dist.display().to_string())
            .replace(
                "alias /srv/members/;",
                &format!("alias {}/;", pages.display()),
            )
            .replace("http://127.0.0.1:3000", backend)
            .replace("http://127.0.0.1:9000", app)
            .replace(
                "/etc/nginx/portero-headers.conf",
                &deploy.join("portero-headers.conf").display().to_string(),
            ),
    )
}

/// nginx with the shipped auth_request block in front of the backend (with the emulated GitHub
/// beside Portero Dev), the recording app and a folder of static pages (`/members/page.html`,
/// removed on drop).
struct GuardedByNginx {
    nginx: Nginx,
    pages: std::path::PathBuf,
}

impl GuardedByNginx {
    async fn start() -> Result<(GuardedByNginx, DevLikeStack, RecordingApp)> {
        let dist = std::path::PathBuf::from(std::env::var("PORTERO_E2E_DIST")?);
        let port = Nginx::free_port()?;
        let builder = Stack::bind_with_origin(&format!("http://127.0.0.1:{port}")).await?;
        let backend = builder.listen_url();
        let stack = DevLikeStack::start_on(builder, "").await?;
        let app = RecordingApp::start().await?;
        let pages = std::env::temp_dir().join(format!("portero-pages-{port}"));
        std::fs::create_dir_all(&pages)?;
        std::fs::write(
            pages.join("page.html"),
            "<!doctype html><title>Static</title><h1 id=\"static\">A static page</h1>",
        )?;
        let server = auth_request_server(port, &backend, &dist, &app.url(), &pages)?;
        let nginx = GuardedByNginx {
            nginx: Nginx::start(port, &server).await?,
            pages,
        };
        Ok((nginx, stack, app))
    }

    fn origin(&self) -> String {
        self.nginx.origin()
    }
}

impl Drop for GuardedByNginx {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.pages);
    }
}

#[tokio::test]
async fn nginx_auth_request_sends_a_logged_out_visitor_to_log_in_and_back_to_the_page() -> Result<()>
{
    let (nginx, _stack, app) = GuardedByNginx::start().await?;
    let origin = nginx.origin();

    let browser = Browser::start().await?;
    browser.goto(&format!("{origin}/app/page.html")).await?;
    // Logged out: on Portero's start page, with where to come back.
    assert_eq!(
        recording_app::sent_to_log_in(&browser).await?,
        "/app/page.html"
    );
    assert!(app.received().is_empty(), "the app saw nothing");
    log_in_as_ada(&browser).await?;
    // Back on the page, which the app behind nginx now serves.
    browser.wait_for_path("/app/page.html").await?;
    assert_eq!(browser.text("#members").await?, "For members only");
    // The static folder, guarded the same way.
    browser.goto(&format!("{origin}/members/page.html")).await?;
    assert_eq!(browser.text("#static").await?, "A static page");
    browser.close().await
}

#[tokio::test]
async fn forged_identity_headers_through_the_shipped_nginx_block_never_reach_the_app() -> Result<()>
{
    let (nginx, _stack, app) = GuardedByNginx::start().await?;
    recording_app::forged_identity_never_reaches_the_app(&nginx.origin(), &app).await
}
