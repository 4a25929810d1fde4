//! A short name for the browser behind a session ("Firefox on Linux"), read from the
//! `User-Agent` it sent at login. A few substring checks, in the order that tells the common
//! browsers apart: almost every `User-Agent` claims to be Mozilla, Safari and often Chrome too,
//! so the more specific tokens come first. Good enough to recognise one's own devices; no more
//! is claimed.

use super::texts::SpaTexts;
use crate::i18n::fill;

/// (token in the `User-Agent`, browser name), most specific first: Edge and Opera also send
/// `Chrome/`, Chrome also sends `Safari/`, Chrome and Firefox on iOS send their own tokens.
const BROWSERS: [(&str, &str); 11] = [
    ("Edg/", "Edge"),
    ("EdgA/", "Edge"),
    ("EdgiOS/", "Edge"),
    ("OPR/", "Opera"),
    ("SamsungBrowser/", "Samsung Internet"),
    ("Firefox/", "Firefox"),
    ("FxiOS/", "Firefox"),
    ("CriOS/", "Chrome"),
    ("Chromium/", "Chromium"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
];

/// (token, system), most specific first: Android sends `Linux`, iPhones and iPads send
/// `like Mac OS X`.
const SYSTEMS: [(&str, &str); 8] = [
    ("Android", "Android"),
    ("iPhone", "iOS"),
    ("iPad", "iPadOS"),
    ("CrOS", "ChromeOS"),
    ("Windows", "Windows"),
    ("Macintosh", "macOS"),
    ("Mac OS X", "macOS"),
    ("Linux", "Linux"),
];

/// The browser and the operating system a `User-Agent` names, each when recognised.
fn browser_and_system(user_agent: &str) -> (Option<&'static str>, Option<&'static str>) {
    let find = |table: &[(&str, &'static str)]| {
        table
            .iter()
            .find(|(token, _)| user_agent.contains(token))
            .map(|(_, name)| *name)
    };
    (find(&BROWSERS), find(&SYSTEMS))
}

/// "Firefox on Linux", "Chrome", "Unknown browser on Android", or "Unknown browser".
pub(crate) fn device_name(t: &SpaTexts, user_agent: Option<&str>) -> String {
    let (browser, system) = user_agent.map_or((None, None), browser_and_system);
    let browser = browser.unwrap_or(t.unknown_browser);
    match system {
        Some(system) => fill(&fill(t.browser_on_os, browser), system),
        None => browser.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{i18n::Lang, spa::texts::texts};

    wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn common_browsers_are_named() {
        for (user_agent, expected) in [
            (
                "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
                "Firefox on Linux",
            ),
            (
                "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) \
                 Chrome/131.0.0.0 Mobile Safari/537.36",
                "Chrome on Android",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) \
                 Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
                "Edge on Windows",
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, \
                 like Gecko) Version/18.1 Safari/605.1.15",
                "Safari on macOS",
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 \
                 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1",
                "Chrome on iOS",
            ),
            (
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) \
                 HeadlessChrome/156.0.0.0 Safari/537.36",
                "Chrome on Linux",
            ),
            (
                "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like \
                 Gecko) Chrome/131.0.0.0 Safari/537.36 OPR/115.0.0.0",
                "Opera on ChromeOS",
            ),
            ("curl/8.5.0", "Unknown browser"),
        ] {
            assert_eq!(
                device_name(texts(Lang::En), Some(user_agent)),
                expected,
                "{user_agent}"
            );
        }
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn names_follow_the_language_and_survive_a_missing_agent() {
        let firefox = "Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0";
        assert_eq!(
            device_name(texts(Lang::Es), Some(firefox)),
            "Firefox en Android"
        );
        assert_eq!(device_name(texts(Lang::Es), None), "Navegador desconocido");
        assert_eq!(
            device_name(texts(Lang::En), Some("SomeBot (Windows)")),
            "Unknown browser on Windows"
        );
    }
}
