//! How the three pages people see look and read: the start page,
//! a failed callback and the profile, each in light and dark, on a desktop and a 390 px phone.
//! Each of those twelve views must pass axe-core with no "serious" or "critical" violation, and
//! is saved to docs/screenshots/, which README.md shows: the pictures come from this code. The
//! start page must also work by keyboard alone, and the profile in Spanish.

use std::path::PathBuf;

use anyhow::{Context, Result};
use e2e::{axe, Browser, DevLikeStack};
use fantoccini::key::Key;
use serde_json::json;

const THEMES: [&str; 2] = ["light", "dark"];
/// (name, width, height)
const DEVICES: [(&str, u32, u32); 2] = [("desktop", 1280, 800), ("phone", 390, 844)];

/// Emulated `prefers-color-scheme` and screen size, as a phone or desktop browser reports them.
async fn view_as(
    browser: &Browser,
    theme: &str,
    (_, width, height): (&str, u32, u32),
) -> Result<()> {
    browser
        .cdp(
            "Emulation.setEmulatedMedia",
            json!({ "features": [{ "name": "prefers-color-scheme", "value": theme }] }),
        )
        .await?;
    browser
        .cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({
                "width": width,
                "height": height,
                "deviceScaleFactor": 1,
                "mobile": width < 600,
            }),
        )
        .await?;
    // Let the new layout and colours reach the screen before the picture and the audit.
    browser
        .client
        .execute_async(
            "const done = arguments[0];
             requestAnimationFrame(() => requestAnimationFrame(() => done(null)));",
            vec![],
        )
        .await?;
    Ok(())
}

/// Audits and photographs the page now shown, in every theme and on every device.
async fn check_and_photograph(
    browser: &Browser,
    axe: &str,
    page: &str,
    problems: &mut Vec<String>,
) -> Result<()> {
    let docs = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/screenshots");
    std::fs::create_dir_all(&docs)?;
    for theme in THEMES {
        for device in DEVICES {
            view_as(browser, theme, device).await?;
            let name = format!("{page}-{theme}-{}", device.0);
            for violation in axe::serious_violations(browser, axe).await? {
                problems.push(format!("{name}: {violation}"));
            }
            let png = browser.client.screenshot().await?;
            std::fs::write(docs.join(format!("{name}.png")), png)?;
        }
    }
    Ok(())
}

/// Sends `key` to the focused element, as a keyboard would.
async fn press(browser: &Browser, key: Key) -> Result<()> {
    browser
        .client
        .active_element()
        .await?
        .send_keys(&char::from(key).to_string())
        .await?;
    Ok(())
}

/// Presses Tab once; returns the newly focused control (its tag and text or `data-` name) and
/// whether it shows a focus ring: an outline at least 2 px wide, from `:focus-visible`.
async fn tab(browser: &Browser) -> Result<(String, bool)> {
    press(browser, Key::Tab).await?;
    let focused = browser
        .client
        .execute(
            "const e = document.activeElement, s = getComputedStyle(e);
             const name = e.dataset.provider || e.dataset.lang || e.textContent.trim();
             return [e.tagName.toLowerCase() + ' ' + name,
                     e.matches(':focus-visible') && s.outlineStyle !== 'none'
                       && parseFloat(s.outlineWidth) >= 2];",
            vec![],
        )
        .await?;
    serde_json::from_value(focused).context("the focused element")
}

#[tokio::test]
async fn login_callback_error_and_profile_pass_axe_in_both_themes_and_are_photographed(
) -> Result<()> {
    let axe = axe::source()?;
    // The three buttons of `cargo xtask dev`, as a newcomer first sees them.
    let dev = DevLikeStack::start().await?;
    let browser = Browser::start().await?;
    let mut problems = Vec::new();

    browser.goto(&dev.stack.url("/")).await?;
    browser.wait_for("button[data-provider='intra42']").await?;
    check_and_photograph(&browser, &axe, "login", &mut problems).await?;

    // By keyboard alone: every control in reading order, each with a visible focus ring;
    // Enter on a provider button starts its login.
    let mut order = Vec::new();
    for _ in 0..5 {
        let (control, ring) = tab(&browser).await?;
        if !ring {
            problems.push(format!("login: {control} has no visible focus ring"));
        }
        order.push(control);
    }
    assert_eq!(
        order,
        [
            "a Portero",
            "button en",
            "button es",
            "button dev",
            "button github"
        ],
        "the Tab order"
    );
    press(&browser, Key::Enter).await?;
    // A real refusal at the provider, so the page is the one a person would see.
    browser.click("button[data-user='grace']").await?;
    browser.click("#deny").await?;
    browser.wait_for("#callback-error").await?;
    check_and_photograph(&browser, &axe, "callback-error", &mut problems).await?;

    // A 42 student: campus, cursus and level live from the provider.
    browser.click("#back-home").await?;
    browser.click("button[data-provider='intra42']").await?;
    browser.click("button[data-user='alan']").await?;
    browser.click("#allow").await?;
    browser.wait_for("#profile-level").await?;
    check_and_photograph(&browser, &axe, "profile", &mut problems).await?;

    // Spanish from the switch in the header, remembered across a reload, for screen readers too.
    browser.click("button[data-lang='es']").await?;
    assert_eq!(
        browser.text("#details-title").await?,
        "En directo del proveedor"
    );
    browser.client.refresh().await?;
    assert_eq!(browser.text("#profile-level").await?, "3,17");
    let lang = browser
        .client
        .execute("return document.documentElement.lang;", vec![])
        .await?;
    assert_eq!(lang, "es");
    for violation in axe::serious_violations(&browser, &axe).await? {
        problems.push(format!("profile in Spanish: {violation}"));
    }

    browser.close().await?;
    assert!(
        problems.is_empty(),
        "axe-core found serious or critical problems:\n{}",
        problems.join("\n")
    );
    Ok(())
}
