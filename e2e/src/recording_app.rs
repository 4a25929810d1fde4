//! The app behind nginx or Caddy in the tests: it answers every request with a page for members
//! and records the headers each came with, so a test can show what a client's forged identity
//! headers became on the way (docs/design.md, rule 21).

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
};

use anyhow::{bail, ensure, Context, Result};
use axum::{
    extract::{Request, State},
    http::HeaderMap,
    response::Html,
    Router,
};
use portero::assertion::AssertionVerifier;
use tokio::sync::oneshot;

/// What the app answers to every request.
pub const PAGE: &str =
    "<!doctype html><title>Members</title><h1 id=\"members\">For members only</h1>";

/// The identity headers Portero sets, besides the assertion.
const IDENTITY: [&str; 5] = [
    "x-portero-provider",
    "x-portero-subject",
    "x-portero-login",
    "x-portero-email",
    "x-portero-name",
];

/// A client's made-up identity: every `X-Portero-*` header, and the underscore spellings that
/// WSGI and CGI frameworks read as the same header.
pub const FORGED: [(&str, &str); 8] = [
    ("X-Portero-Provider", "forged-provider"),
    ("X-Portero-Subject", "forged-subject"),
    ("X-Portero-Login", "forged-login"),
    ("X-Portero-Email", "forged@corp.example"),
    ("X-Portero-Name", "forged%20name"),
    ("X-Portero-Assertion", "forged.assertion.value"),
    ("X_Portero_Email", "forged@corp.example"),
    ("X_Portero_Login", "forged-login"),
];

/// One request the app received: its path and query, and its headers.
#[derive(Clone, Debug)]
pub struct Received {
    pub target: String,
    pub headers: HeaderMap,
}

type Log = Arc<Mutex<Vec<Received>>>;

pub struct RecordingApp {
    pub addr: SocketAddr,
    received: Log,
    _stop: oneshot::Sender<()>,
}

impl RecordingApp {
    pub async fn start() -> Result<RecordingApp> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let received = Log::default();
        let app = Router::new().fallback(record).with_state(received.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
        });
        Ok(RecordingApp {
            addr,
            received,
            _stop: stop,
        })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request so far, in order.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

async fn record(State(log): State<Log>, request: Request) -> Html<&'static str> {
    log.lock().unwrap().push(Received {
        target: request.uri().to_string(),
        headers: request.headers().clone(),
    });
    Html(PAGE)
}

/// The session cookie `portero_session` of `browser`, which logged in through the SPA.
pub async fn session_cookie(browser: &crate::Browser) -> Result<String> {
    let cookie = browser
        .client
        .get_named_cookie("portero_session")
        .await
        .context("the browser holds a session cookie")?;
    Ok(format!("portero_session={}", cookie.value()))
}

fn client() -> Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?)
}

/// Sends `GET {origin}/app/whoami` through the proxy at `origin`, with the session `cookie` and
/// every [`FORGED`] header, and checks what reached `app`: exactly what Portero says of that
/// session at `GET /api/auth` (a header Portero does not send is not there), an assertion that
/// verifies with Portero's keys for the audience `auth`, and nothing forged. Returns the
/// headers the app received.
pub async fn forged_headers_reach_the_app_as_portero_says(
    origin: &str,
    cookie: &str,
    app: &RecordingApp,
) -> Result<HeaderMap> {
    let http = client()?;
    let truth = http
        .get(format!("{origin}/api/auth"))
        .header("cookie", cookie)
        .header("x-csrf", "1")
        .send()
        .await?;
    ensure!(truth.status() == 200, "Portero's own answer: {truth:?}");
    let truth = truth.headers().clone();

    let before = app.received().len();
    let mut request = http
        .get(format!("{origin}/app/whoami"))
        .header("cookie", cookie);
    for (name, value) in FORGED {
        request = request.header(name, value);
    }
    let answer = request.send().await?;
    ensure!(answer.status() == 200, "through the proxy: {answer:?}");
    let received = app.received();
    let [seen] = &received[before..] else {
        bail!("the app got {} requests, not one", received.len() - before);
    };
    let headers = seen.headers.clone();

    for name in IDENTITY {
        let saw: Vec<_> = headers.get_all(name).iter().collect();
        let said: Vec<_> = truth.get_all(name).iter().collect();
        ensure!(
            saw == said,
            "{name}: the app saw {saw:?}, Portero said {said:?}"
        );
    }
    for (name, value) in headers.iter() {
        let value = String::from_utf8_lossy(value.as_bytes());
        ensure!(
            !FORGED.iter().any(|(_, forged)| value.contains(forged)),
            "a forged value reached the app in {name}: {value}"
        );
        ensure!(
            !name.as_str().starts_with("x_portero_"),
            "{name} reached the app"
        );
    }
    let assertions: Vec<_> = headers.get_all("x-portero-assertion").iter().collect();
    let [assertion] = assertions[..] else {
        bail!("the app got {} assertions, not one", assertions.len());
    };
    let jwks: serde_json::Value = http
        .get(format!("{origin}/.well-known/jwks.json"))
        .send()
        .await?
        .json()
        .await?;
    let claims = AssertionVerifier::from_jwks(&jwks, origin, portero::config::AUTH_AUDIENCE)?
        .verify(assertion.to_str()?)?;
    let said = |name: &str| truth.get(name).map(|v| v.to_str().unwrap_or_default());
    ensure!(
        Some(claims.sub.as_str())
            == said("x-portero-provider")
                .zip(said("x-portero-subject"))
                .map(|(p, s)| format!("{p}:{s}"))
                .as_deref(),
        "the assertion is about {}",
        claims.sub
    );
    Ok(headers)
}

/// Without a session, forged headers (and forward-auth headers a client made up) get the
/// browser sent to log in through the proxy at `origin`, and nothing reaches `app`.
pub async fn forged_headers_without_a_session_reach_nothing(
    origin: &str,
    app: &RecordingApp,
) -> Result<()> {
    let before = app.received().len();
    let mut request = client()?
        .get(format!("{origin}/app/whoami"))
        .header("accept", "text/html")
        .header("x-forwarded-method", "GET")
        .header("x-forwarded-uri", "//evil.example/");
    for (name, value) in FORGED {
        request = request.header(name, value);
    }
    let answer = request.send().await?;
    ensure!(answer.status() == 302, "logged out: {answer:?}");
    let location = answer
        .headers()
        .get("location")
        .context("a 302 says where")?
        .to_str()?;
    ensure!(
        location.ends_with("/?return_to=/app/whoami")
            || location.ends_with("/?return_to=%2Fapp%2Fwhoami"),
        "sent to log in and come back to the page asked for, not elsewhere: {location}"
    );
    ensure!(
        app.received().len() == before,
        "a request without a session reached the app"
    );
    Ok(())
}

/// Once a logged-out `browser` has been sent to log in: it is on Portero's start page; the
/// `return_to` it will come back to.
pub async fn sent_to_log_in(browser: &crate::Browser) -> Result<String> {
    browser.wait_for("button[data-provider='dev']").await?;
    let url = browser.client.current_url().await?;
    ensure!(url.path() == "/", "not on the start page: {url}");
    url.query_pairs()
        .find(|(k, _)| k == "return_to")
        .map(|(_, v)| v.into_owned())
        .with_context(|| format!("no return_to in {url}"))
}

/// In `browser`, from `{origin}/app/page.html` through Portero's start page: `user` logs in at
/// `provider`, back on the page.
pub async fn log_in_from_the_page(
    browser: &crate::Browser,
    origin: &str,
    provider: &str,
    user: &str,
) -> Result<()> {
    browser.goto(&format!("{origin}/app/page.html")).await?;
    browser
        .click(&format!("button[data-provider='{provider}']"))
        .await?;
    browser
        .click(&format!("button[data-user='{user}']"))
        .await?;
    browser.click("#allow").await?;
    browser.wait_for_path("/app/page.html").await?;
    Ok(())
}

/// The whole story for a proxy at `origin` that guards `/app/` in front of `app`, with
/// [`crate::DevLikeStack`]'s providers: forged headers without a session reach nothing; with
/// one, the app gets Portero's values only, for ada at Portero Dev (every fact) and for
/// edsger at GitHub, whose address is not verified, so GitHub gives none and the app gets no
/// `X-Portero-Email` at all.
pub async fn forged_identity_never_reaches_the_app(origin: &str, app: &RecordingApp) -> Result<()> {
    forged_headers_without_a_session_reach_nothing(origin, app).await?;
    let browser = crate::Browser::start().await?;
    log_in_from_the_page(&browser, origin, "dev", "ada").await?;
    let cookie = session_cookie(&browser).await?;
    let seen = forged_headers_reach_the_app_as_portero_says(origin, &cookie, app).await?;
    ensure!(seen["x-portero-login"] == "ada", "{seen:?}");
    ensure!(seen["x-portero-email"] == "ada@example.com", "{seen:?}");

    browser.goto(&format!("{origin}/profile")).await?;
    browser.click("#logout").await?;
    browser.wait_for("button[data-provider='github']").await?;
    log_in_from_the_page(&browser, origin, "github", "edsger").await?;
    let cookie = session_cookie(&browser).await?;
    let seen = forged_headers_reach_the_app_as_portero_says(origin, &cookie, app).await?;
    ensure!(seen["x-portero-provider"] == "github", "{seen:?}");
    ensure!(seen.get("x-portero-email").is_none(), "{seen:?}");
    browser.close().await
}
