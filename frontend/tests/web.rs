//! Browser tests for the URL steps of the login (`src/auth.rs`) and the relative times of the
//! sessions list: they use the browser's own `URL`, `URLSearchParams` and `Intl`, so they run in
//! headless Chrome, not on the host.
//!
//! `CHROMEDRIVER=/usr/bin/chromedriver cargo test -p portero-frontend --target wasm32-unknown-unknown`
#![cfg(target_arch = "wasm32")]

use std::collections::BTreeMap;

use portero_frontend::{
    auth::{authorize_url, parse_callback_query, CallbackQuery},
    i18n::{time_ago, Lang},
    router::{is_spa_route, Page},
};
use wasm_bindgen_test::*;
use web_sys::Url;

wasm_bindgen_test_configure!(run_in_browser);

fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Reads a built URL back with the browser's parser, as the provider will.
fn query_of(url: &str) -> Vec<(String, String)> {
    let url = Url::new(url).unwrap();
    let entries = js_sys::Array::from(&url.search_params().into());
    entries
        .iter()
        .map(|pair| {
            let pair = js_sys::Array::from(&pair);
            (
                pair.get(0).as_string().unwrap(),
                pair.get(1).as_string().unwrap(),
            )
        })
        .collect()
}

#[wasm_bindgen_test]
fn authorize_url_form_encodes_every_parameter() {
    let url = authorize_url(
        "https://provider.test/oauth/authorize",
        &params(&[
            ("client_id", "abc"),
            ("redirect_uri", "http://127.0.0.1:8080/callback/github"),
            ("scope", "read:user user:email"),
            ("state", "s+t/a=te&x"),
        ]),
    )
    .unwrap();
    assert!(
        url.starts_with("https://provider.test/oauth/authorize?"),
        "{url}"
    );
    // Reserved characters are escaped, so no value can add or end a parameter.
    assert!(
        url.contains("redirect_uri=http%3A%2F%2F127.0.0.1%3A8080%2Fcallback%2Fgithub"),
        "{url}"
    );
    assert!(url.contains("scope=read%3Auser+user%3Aemail"), "{url}");
    assert!(url.contains("state=s%2Bt%2Fa%3Dte%26x"), "{url}");
    assert_eq!(
        query_of(&url),
        vec![
            ("client_id".into(), "abc".into()),
            (
                "redirect_uri".into(),
                "http://127.0.0.1:8080/callback/github".into()
            ),
            ("scope".into(), "read:user user:email".into()),
            ("state".into(), "s+t/a=te&x".into()),
        ]
    );
}

#[wasm_bindgen_test]
fn authorize_url_keeps_the_query_the_endpoint_already_has() {
    let url = authorize_url(
        "https://login.example.test/tenant/authorize?p=B2C_1_signin&prompt=login",
        &params(&[("response_type", "code"), ("state", "xyz")]),
    )
    .unwrap();
    assert_eq!(
        query_of(&url),
        vec![
            ("p".into(), "B2C_1_signin".into()),
            ("prompt".into(), "login".into()),
            ("response_type".into(), "code".into()),
            ("state".into(), "xyz".into()),
        ]
    );
    assert!(url.starts_with("https://login.example.test/tenant/authorize?p=B2C_1_signin&"));
}

#[wasm_bindgen_test]
fn authorize_url_refuses_what_is_not_an_http_url() {
    let none = BTreeMap::new();
    assert!(authorize_url("not a url", &none).is_err());
    assert!(authorize_url("/relative/authorize", &none).is_err());
    assert!(authorize_url("javascript:alert(1)", &none).is_err());
    assert!(authorize_url("data:text/html,hi", &none).is_err());
    assert!(authorize_url("http://127.0.0.1:9000/authorize", &none).is_ok());
}

#[wasm_bindgen_test]
fn callback_with_a_code_yields_code_state_and_iss() {
    assert_eq!(
        parse_callback_query("?code=abc%2F123&state=st%2Bate&iss=https%3A%2F%2Fidp.test"),
        CallbackQuery::Code {
            code: "abc/123".into(),
            state: "st+ate".into(),
            iss: Some("https://idp.test".into()),
        }
    );
    // Without the leading `?`, and without `iss` (GitHub sends none).
    assert_eq!(
        parse_callback_query("state=s&code=c"),
        CallbackQuery::Code {
            code: "c".into(),
            state: "s".into(),
            iss: None,
        }
    );
}

#[wasm_bindgen_test]
fn callback_with_an_error_yields_error_and_description() {
    assert_eq!(
        parse_callback_query(
            "?error=access_denied&error_description=The+user+denied+access&state=s"
        ),
        CallbackQuery::Error {
            error: "access_denied".into(),
            description: Some("The user denied access".into()),
        }
    );
    assert_eq!(
        parse_callback_query("?error=server_error"),
        CallbackQuery::Error {
            error: "server_error".into(),
            description: None,
        }
    );
}

#[wasm_bindgen_test]
fn an_error_wins_over_a_code() {
    assert!(matches!(
        parse_callback_query("?code=c&state=s&error=access_denied"),
        CallbackQuery::Error { .. }
    ));
}

#[wasm_bindgen_test]
fn a_callback_without_code_or_state_is_incomplete() {
    for query in [
        "",
        "?",
        "?code=c",
        "?state=s",
        "?code=&state=s",
        "?code=c&state=",
    ] {
        assert_eq!(
            parse_callback_query(query),
            CallbackQuery::Incomplete,
            "{query:?}"
        );
    }
}

#[wasm_bindgen_test]
fn only_the_spa_routes_stay_in_the_router_after_a_login() {
    // Where `/?return_to=…` may lead: the SPA's own pages are shown by its router…
    for path in [
        "/",
        "/profile",
        "/profile?tab=sessions",
        "/profile#sessions",
        "/callback/github",
    ] {
        assert!(is_spa_route(path), "{path}");
    }
    // …anything else is another document the browser must load (an nginx-protected page, an
    // upstream's page), including paths that merely start like an SPA route.
    for path in [
        "/app/page.html",
        "/app/",
        "/profile/",
        "/profiles",
        "/callback/",
        "/callback/github/extra",
        "/api/notes/1",
    ] {
        assert!(!is_spa_route(path), "{path}");
    }
}

#[wasm_bindgen_test]
fn last_seen_reads_as_a_relative_time_in_both_languages() {
    let now = 1_800_000_000;
    assert_eq!(time_ago(Lang::En, now - 20, now), "just now");
    assert_eq!(time_ago(Lang::Es, now - 20, now), "justo ahora");
    assert_eq!(time_ago(Lang::En, now - 3 * 60 - 10, now), "3 minutes ago");
    assert_eq!(time_ago(Lang::Es, now - 3 * 60, now), "hace 3 minutos");
    assert_eq!(time_ago(Lang::En, now - 3600, now), "1 hour ago");
    assert_eq!(time_ago(Lang::Es, now - 5 * 3600, now), "hace 5 horas");
    assert_eq!(time_ago(Lang::En, now - 2 * 86_400, now), "2 days ago");
    // A clock a little ahead of the server's is not "in 1 minute".
    assert_eq!(time_ago(Lang::En, now + 90, now), "just now");
}

#[wasm_bindgen_test]
fn each_path_shows_its_page() {
    assert_eq!(Page::of("/"), Page::Home);
    assert_eq!(Page::of("/?return_to=%2Fapp%2Fpage.html"), Page::Home);
    assert_eq!(Page::of("/profile#sessions"), Page::Profile);
    assert_eq!(
        Page::of("/callback/github?code=c&state=s"),
        Page::Callback {
            provider: "github".into()
        }
    );
    // The parameter is decoded, as leptos_router did.
    assert_eq!(
        Page::of("/callback/my%20idp"),
        Page::Callback {
            provider: "my idp".into()
        }
    );
    assert_eq!(Page::of("/nowhere"), Page::NotFound);
    assert_eq!(Page::of("/callback/"), Page::NotFound);
}
