//! The one way a test or a tool logs in on devprovider's pages without a browser: it walks the
//! login page (one button per demo user) and the consent page as a person would, and hands back
//! where devprovider sends the browser (the client's callback, with `code` and `state` or with
//! `error`). Behind the `form-login` feature, so the emulator itself does not pull in an HTTP
//! client.

use anyhow::{bail, Context, Result};
use url::Url;

/// The person's answer on the consent page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Allow,
    Deny,
}

impl Decision {
    fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::Deny => "deny",
        }
    }
}

/// Opens `authorize_url` (the URL the SPA would navigate to), picks the demo user `user` and
/// answers consent with `decision`; returns the redirect's target. `http` must not follow
/// redirects (the callback is the answer, not a page to fetch).
pub async fn log_in(
    http: &reqwest::Client,
    authorize_url: &Url,
    user: &str,
    decision: Decision,
) -> Result<Url> {
    let origin = authorize_url.origin().ascii_serialization();
    let page = fetch_page(http.get(authorize_url.clone()), "devprovider's login page").await?;
    let login_form = http
        .post(format!("{origin}/authorize/login"))
        .form(&[("request", request_id(&page)?.as_str()), ("user", user)]);
    let page = fetch_page(login_form, "devprovider's login form").await?;
    let answer = http
        .post(format!("{origin}/authorize/consent"))
        .form(&[
            ("request", request_id(&page)?.as_str()),
            ("decision", decision.as_str()),
        ])
        .send()
        .await?;
    if !answer.status().is_redirection() {
        bail!(
            "devprovider's consent answered {} instead of a redirect",
            answer.status()
        );
    }
    let location = answer
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|l| l.to_str().ok())
        .context("devprovider's consent redirect has no Location")?;
    Ok(Url::parse(location)?)
}

/// The HTML of a page that must answer 2xx.
async fn fetch_page(request: reqwest::RequestBuilder, what: &'static str) -> Result<String> {
    let response = request.send().await.context(what)?;
    Ok(response.error_for_status().context(what)?.text().await?)
}

/// A client that does not follow redirects, as [`log_in`] needs.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client without TLS configuration builds")
}

/// The hidden `request` field both forms carry (the pending authorization request).
pub fn request_id(html: &str) -> Result<String> {
    let marker = r#"name="request" value=""#;
    let start = html
        .find(marker)
        .context("devprovider's page has no request field")?
        + marker.len();
    let end = html[start..]
        .find('"')
        .context("an unterminated request field")?;
    Ok(html[start..start + end].to_owned())
}
