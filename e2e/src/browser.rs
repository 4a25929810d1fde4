//! The browser of the tests: a headless Chromium with a fresh profile, driven over WebDriver
//! by chromedriver, with what the tests ask of a page (wait for an element, a path, a `fetch`
//! from inside it) and the DevTools Protocol commands WebDriver lacks.

use std::{
    net::TcpListener as StdListener,
    path::PathBuf,
    process::{Command, Stdio},
    time::Duration,
};

use anyhow::{bail, Context, Result};
use fantoccini::{elements::Element, Client, ClientBuilder, Locator};

use crate::process::ProcessGroup;

/// A headless Chromium with a fresh profile (so a fresh cookie jar) and its chromedriver.
pub struct Browser {
    pub client: Client,
    driver: ProcessGroup,
    _profile: TempDir,
}

impl Browser {
    pub async fn start() -> Result<Browser> {
        let chromedriver =
            std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
        let port = StdListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let driver = ProcessGroup::spawn(
            Command::new(&chromedriver)
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        )?;
        let profile = TempDir::new("portero-e2e-profile")?;
        let mut caps = serde_json::Map::new();
        let mut chrome = serde_json::json!({
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                // Keep Chromium off the network: this machine has none beyond loopback.
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--disable-quic",
                "--window-size=1280,900",
                format!("--user-data-dir={}", profile.0.display()),
            ]
        });
        if let Ok(binary) = std::env::var("CHROMIUM") {
            chrome["binary"] = binary.into();
        }
        caps.insert("goog:chromeOptions".into(), chrome);
        let url = format!("http://127.0.0.1:{port}");
        let mut last = None;
        for _ in 0..50 {
            match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(client) => {
                    return Ok(Browser {
                        client,
                        driver,
                        _profile: profile,
                    })
                }
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        bail!("chromedriver did not start a session: {last:?}")
    }

    pub async fn goto(&self, url: &str) -> Result<()> {
        Ok(self.client.goto(url).await?)
    }

    /// The element, once it is in the page (the SPA renders after its fetches).
    pub async fn wait_for(&self, css: &str) -> Result<Element> {
        let deadline = std::time::Instant::now() + Duration::from_secs(15);
        let last = loop {
            // Besides "no such element", a page that is navigating away can answer a search
            // with a stale reference or a detached frame: look again until the deadline.
            match self.client.find(Locator::Css(css)).await {
                Ok(element) => return Ok(element),
                Err(e) if std::time::Instant::now() >= deadline => break e,
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        };
        let url = self.client.current_url().await.map(|u| u.to_string());
        let text = match self.client.find(Locator::Css("body")).await {
            Ok(body) => body.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        Err(last).with_context(|| {
            format!("{css} did not appear within 15 s on {url:?}; the page says: {text:?}")
        })
    }

    pub async fn click(&self, css: &str) -> Result<()> {
        self.wait_for(css).await?.click().await?;
        Ok(())
    }

    pub async fn text(&self, css: &str) -> Result<String> {
        Ok(self.wait_for(css).await?.text().await?)
    }

    /// Waits until the address bar's path and query start with `prefix`; returns them.
    pub async fn wait_for_path(&self, prefix: &str) -> Result<String> {
        for _ in 0..150 {
            let url = self.client.current_url().await?;
            let mut path = url.path().to_owned();
            if let Some(query) = url.query() {
                path = format!("{path}?{query}");
            }
            if path.starts_with(prefix) {
                return Ok(path);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!(
            "the page never reached {prefix}; it is at {}",
            self.client.current_url().await?
        )
    }

    /// `fetch` from inside the page, as the SPA does: the answer's HTTP status.
    pub async fn api_status(&self, path: &str) -> Result<u16> {
        let status = self
            .client
            .execute_async(
                "const [path, done] = arguments;
                 fetch(path, { headers: { 'x-csrf': '1' } }).then(r => done(r.status), e => done(0));",
                vec![path.into()],
            )
            .await?;
        status
            .as_u64()
            .and_then(|s| u16::try_from(s).ok())
            .context("fetch gave no status")
    }

    /// Sends a Chrome DevTools Protocol command through chromedriver (`goog/cdp/execute`):
    /// network conditions, emulated media and device metrics, which WebDriver itself lacks.
    pub async fn cdp(&self, cmd: &str, params: serde_json::Value) -> Result<serde_json::Value> {
        self.client
            .issue_cmd(CdpCommand {
                cmd: cmd.to_owned(),
                params,
            })
            .await
            .with_context(|| format!("CDP {cmd}"))
    }

    /// Emulates the network: every request (loopback too) waits `latency_ms` more, or fails
    /// as with no connection at all when `offline`.
    pub async fn network(&self, offline: bool, latency_ms: u64) -> Result<()> {
        self.cdp("Network.enable", serde_json::json!({})).await?;
        self.cdp(
            "Network.emulateNetworkConditions",
            serde_json::json!({
                "offline": offline,
                "latency": latency_ms,
                "downloadThroughput": -1,
                "uploadThroughput": -1,
            }),
        )
        .await?;
        Ok(())
    }

    /// Ends the WebDriver session (Chromium quits), then chromedriver; dropping a `Browser`
    /// without it still stops both, with the process group.
    pub async fn close(mut self) -> Result<()> {
        let _ = self.client.clone().close().await;
        self.driver.stop();
        Ok(())
    }
}

/// chromedriver's extension command `POST /session/{id}/goog/cdp/execute`.
#[derive(Debug)]
struct CdpCommand {
    cmd: String,
    params: serde_json::Value,
}

impl fantoccini::wd::WebDriverCompatibleCommand for CdpCommand {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (http::Method, Option<String>) {
        let body = serde_json::json!({ "cmd": self.cmd, "params": self.params });
        (http::Method::POST, Some(body.to_string()))
    }
}

/// A folder removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(prefix: &str) -> Result<TempDir> {
        let dir = std::env::temp_dir().join(format!(
            "{prefix}-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)?
                .as_nanos()
        ));
        std::fs::create_dir_all(&dir)?;
        Ok(TempDir(dir))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
