//! Portero's single-page app (DESIGN.md, "The flow"): it lists the providers, starts a login,
//! finishes it on `/callback/{provider}` and shows who is signed in. It never sees a provider
//! token: the backend keeps those and the browser only holds an HttpOnly session cookie.
//!
//! `api` is the only module that talks to the server (`json` reads and writes its bodies); `auth` holds the pure URL helpers the
//! browser tests exercise; `pages` has one component per route and `components` the pieces they
//! share; `router` says which page the address bar shows; `i18n` holds every text, in English
//! and Spanish; `user_agent` names the browser of a session.

pub mod api;
pub mod auth;
mod components;
pub mod i18n;
pub mod json;
mod loader;
mod pages;
mod plain;
pub mod router;
pub mod user_agent;

use leptos::prelude::*;

use crate::{
    components::LangSwitch,
    i18n::{tr, I18n},
    pages::{Callback, Home, NotFound, Profile},
    router::{Page, Router},
};

/// The whole app: a header (with the language switch) and the routed page.
#[component]
pub fn App() -> impl IntoView {
    let i18n = I18n::detect();
    provide_context(i18n);
    let page = Router::start().page();
    view! {
        <header class="site-header">
            <a href="/" class="brand">
                <svg class="logo" viewBox="0 0 24 24" aria-hidden="true" focusable="false">
                    <path fill="currentColor" d="M5 21V5a2 2 0 0 1 2-2h10a2 2 0 0 1 2 2v16h-2V5H7v16zm8-9h2v2h-2z" />
                </svg>
                "Portero"
            </a>
            <nav aria-label=tr(|t| t.language)>
                <LangSwitch />
            </nav>
        </header>
        <main id="content">
            {move || match page.get() {
                Page::Home => view! { <Home /> }.into_any(),
                Page::Callback { provider } => view! { <Callback provider /> }.into_any(),
                Page::Profile => view! { <Profile /> }.into_any(),
                Page::NotFound => view! { <NotFound /> }.into_any(),
            }}
        </main>
    }
}

/// Mounts the app on `<body>`; `main.rs` calls this once the module has loaded.
pub fn start() {
    // Without the hook a panic shows up as an opaque `unreachable` trap in the console. Debug
    // builds only: the release build aborts at once on a panic (`-Cpanic=immediate-abort`, see
    // docs/BENCHMARKS.md), so a hook would never run, and linking std's panic printing for it
    // would cost ~10 KB of WebAssembly.
    #[cfg(debug_assertions)]
    console_error_panic_hook::set_once();
    // A page restored from the back/forward cache shows what was true when it was left: a
    // profile after logging out, disabled login buttons after leaving for the provider. Load it
    // again so it asks the server. The listener lives as long as the page.
    let _ = window_event_listener_untyped("pageshow", |event| {
        use wasm_bindgen::JsCast;
        if event
            .unchecked_into::<web_sys::PageTransitionEvent>()
            .persisted()
        {
            if let Some(window) = web_sys::window() {
                let _ = window.location().reload();
            }
        }
    });
    leptos::mount::mount_to_body(App);
}
