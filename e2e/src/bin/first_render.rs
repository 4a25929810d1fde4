//! `first_render ORIGIN LOADS`: how long the SPA at ORIGIN takes to show its provider buttons
//! in headless Chromium, measured through the browser tests' harness ([`e2e::Browser`], which
//! reads `CHROMEDRIVER`, `CHROMIUM` and `TMPDIR` as the tests do). `cargo xtask bench` runs it
//! against the release backend and writes the figures into docs/BENCHMARKS.md; it lives here so
//! that xtask needs no WebDriver client of its own.
//!
//! Prints one JSON object on stdout, `{"cache_off": [MARKS, …], "cache_on": [MARKS, …]}`: LOADS
//! loads each (after one untimed load), each from `about:blank`, with the HTTP cache disabled (a
//! first visit) and then enabled (a return visit). MARKS is `{"buttons", "observed", "html",
//! "wasm", "providers"}`, milliseconds since navigation start: when the first
//! `button[data-provider]` entered the DOM (`observed` false when the page rendered before the
//! observer ran, and `buttons` is then the moment of the check, an upper bound), and when the
//! HTML, the wasm and `/api/providers` had arrived (`null` when the page lacks that entry).

use std::time::Duration;

use anyhow::{bail, Context, Result};
use e2e::Browser;
use fantoccini::wd::TimeoutConfiguration;
use serde_json::{json, Value};

/// Installed before any script of every page (DevTools
/// `Page.addScriptToEvaluateOnNewDocument`): notes when the first provider button enters the
/// DOM, in the page's own clock (`performance.now()` counts from navigation start).
const OBSERVER: &str = "(() => {
  const observer = new MutationObserver(() => {
    if (window.__porteroButtons === undefined && document.querySelector('button[data-provider]')) {
      window.__porteroButtons = performance.now();
      observer.disconnect();
    }
  });
  observer.observe(document, { childList: true, subtree: true });
})();";

/// Waits for the mark, then reads it with a few Navigation and Resource Timing milestones;
/// `null` when no button appeared within 10 s.
const READ_MARKS: &str = "const done = arguments[arguments.length - 1];
const began = performance.now();
(function poll() {
  const found = document.querySelector('button[data-provider]');
  if (window.__porteroButtons !== undefined || (found && performance.now() - began > 50)) {
    const nav = performance.getEntriesByType('navigation')[0] || {};
    const res = performance.getEntriesByType('resource');
    const end = (test) => { const e = res.find(test); return e ? e.responseEnd : null; };
    done({
      buttons: window.__porteroButtons === undefined ? performance.now() : window.__porteroButtons,
      observed: window.__porteroButtons !== undefined,
      html: nav.responseEnd || null,
      wasm: end((e) => e.name.endsWith('.wasm')),
      providers: end((e) => e.name.includes('/api/providers')),
    });
  } else if (performance.now() - began > 10000) {
    done(null);
  } else {
    setTimeout(poll, 2);
  }
})();";

#[tokio::main]
async fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(origin), Some(loads), None) = (args.next(), args.next(), args.next()) else {
        bail!("usage: first_render ORIGIN LOADS");
    };
    let loads: usize = loads.parse().context("LOADS is a whole number")?;
    let browser = Browser::start().await?;
    let figures = measure(&browser, &origin, loads).await;
    browser.close().await?;
    println!("{}", figures?);
    Ok(())
}

async fn measure(browser: &Browser, origin: &str, loads: usize) -> Result<Value> {
    browser
        .client
        .update_timeouts(TimeoutConfiguration::new(
            Some(Duration::from_secs(15)),
            Some(Duration::from_secs(30)),
            None,
        ))
        .await?;
    browser
        .cdp(
            "Page.addScriptToEvaluateOnNewDocument",
            json!({ "source": OBSERVER }),
        )
        .await?;
    browser.cdp("Network.enable", json!({})).await?;
    let mut figures = serde_json::Map::new();
    for (visit, cache_off) in [("cache_off", true), ("cache_on", false)] {
        browser
            .cdp(
                "Network.setCacheDisabled",
                json!({ "cacheDisabled": cache_off }),
            )
            .await?;
        let mut marks = Vec::new();
        // The first load of each kind is not timed: it fills (or empties) the caches.
        for load in 0..=loads {
            browser.goto("about:blank").await?;
            browser.goto(&format!("{origin}/")).await?;
            let answer = browser.client.execute_async(READ_MARKS, Vec::new()).await?;
            if answer.is_null() {
                bail!("no provider button appeared within 10 s at {origin}/");
            }
            if answer["buttons"].as_f64().is_none() {
                bail!("the page gave no time for the buttons: {answer}");
            }
            if load > 0 {
                marks.push(answer);
            }
        }
        figures.insert(visit.into(), marks.into());
    }
    Ok(figures.into())
}
