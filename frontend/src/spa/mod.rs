//! Portero's own single-page app (the package's `portero-spa` binary, feature `spa`), built
//! from the crate's components as any app would be: [`LoginButtons`] on `/`, [`Callback`] on
//! `/callback/:provider`, [`RequireLogin`] around `/profile`, plus its own pages — the person's
//! profile, what an app behind Portero sees, their sessions — and a language switch.

mod profile;
mod texts;
mod user_agent;

use leptos::prelude::*;
use leptos_router::{
    components::{FlatRoutes, Route, Router},
    hooks::{use_location, use_query_map},
    path,
};

use crate::{
    i18n::{use_i18n, Lang},
    portero::{provide_portero, use_portero, Session},
    views::{session_failed, Skeleton},
    Callback, LoginButtons, LogoutButton, RequireLogin,
};
use profile::ProfilePage;
use texts::text;

/// Where a login started from the start page lands when nothing asked for another page.
const DEFAULT_RETURN_TO: &str = "/profile";
/// The language the switch in the header chose last, in `localStorage`.
const LANG_KEY: &str = "portero.lang";

/// Mounts Portero's single-page app on `<body>`.
pub fn start() {
    // Without the hook a panic shows up as an opaque `unreachable` trap in the console. Debug
    // builds only: the release build aborts on a panic, and linking std's panic printing for
    // the hook would cost ≈ 10 KB of WebAssembly.
    #[cfg(debug_assertions)]
    console_error_panic_hook::set_once();
    // The language chosen with the switch, else the browser's: the components follow
    // `<html lang>`, which says it to screen readers too.
    let window = web_sys::window();
    let chosen = window
        .as_ref()
        .and_then(|w| w.local_storage().ok().flatten())
        .and_then(|storage| storage.get_item(LANG_KEY).ok().flatten());
    let browser = window.as_ref().and_then(|w| w.navigator().language());
    let lang = [chosen, browser]
        .into_iter()
        .flatten()
        .find_map(|tag| Lang::from_tag(&tag))
        .unwrap_or(Lang::En);
    if let Some(html) = window
        .as_ref()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
    {
        let _ = html.set_attribute("lang", lang.tag());
    }
    // A page restored from the back/forward cache shows what was true when it was left: a
    // profile after logging out, disabled login buttons after leaving for the provider. Load it
    // again so it asks the server. The listener lives as long as the page.
    let _ = window_event_listener(leptos::ev::pageshow, |event| {
        if event.persisted() {
            if let Some(window) = web_sys::window() {
                let _ = window.location().reload();
            }
        }
    });
    let document_path = window
        .and_then(|w| w.location().pathname().ok())
        .unwrap_or_default();
    leptos::mount::mount_to_body(move || {
        provide_context(DocumentPath(document_path));
        view! { <App /> }
    });
}

/// The path the browser loaded this document for (before any navigation inside the app).
#[derive(Clone)]
struct DocumentPath(String);

/// The whole app: a header (with the language switch) and the routed page.
#[component]
fn App() -> impl IntoView {
    provide_portero();
    view! {
        <Router>
            <header class="site-header">
                <a href="/" class="brand">
                    <svg class="logo" viewBox="0 0 24 24" aria-hidden="true" focusable="false">
                        <path fill="currentColor" d="M5 21V5a2 2 0 0 1 2-2h10a2 2 0 0 1 2 2v16h-2V5H7v16zm8-9h2v2h-2z" />
                    </svg>
                    "Portero"
                </a>
                <nav aria-label=text(|t| t.language)>
                    <LangSwitch />
                </nav>
            </header>
            <main id="content">
                <FlatRoutes fallback=NotFound>
                    <Route path=path!("/") view=Home />
                    <Route path=path!("/callback/:provider") view=Callback />
                    <Route
                        path=path!("/profile")
                        view=|| view! { <RequireLogin><ProfilePage /></RequireLogin> }
                    />
                </FlatRoutes>
            </main>
        </Router>
    }
}

/// English / Español: the choice is remembered in `localStorage`.
#[component]
fn LangSwitch() -> impl IntoView {
    let i18n = use_i18n();
    let buttons = [(Lang::En, "English"), (Lang::Es, "Español")]
        .into_iter()
        .map(|(lang, name)| {
            view! {
                <button
                    type="button"
                    lang=lang.tag()
                    data-lang=lang.tag()
                    aria-pressed=move || (i18n.lang() == lang).to_string()
                    on:click=move |_| {
                        i18n.set(lang);
                        if let Some(storage) = web_sys::window()
                            .and_then(|w| w.local_storage().ok().flatten())
                        {
                            let _ = storage.set_item(LANG_KEY, lang.tag());
                        }
                    }
                >
                    {name}
                </button>
            }
        })
        .collect_view();
    view! {
        <div id="lang-switch" class="lang-switch" role="group" aria-label=text(|t| t.language)>
            {buttons}
        </div>
    }
}

/// `/`: the signed-in person, or the ways to sign in.
#[component]
fn Home() -> impl IntoView {
    let portero = use_portero();
    // Every visit asks again: the session may have ended in another tab meanwhile.
    portero.revalidate();
    let return_to = use_query_map()
        .with_untracked(|query| query.get("return_to"))
        .unwrap_or_else(|| DEFAULT_RETURN_TO.to_owned());
    move || match portero.session() {
        Session::Loading => view! {
            <section class="card">
                <Skeleton id="loading" lines=3 />
            </section>
        }
        .into_any(),
        Session::Failed(failure) => session_failed(portero, failure),
        Session::In(me) => view! {
            <section class="card">
                <p class="greeting">
                    {text(|t| t.signed_in_as)} " "
                    <strong id="user-name">{me.user.display_name().to_owned()}</strong>
                </p>
                <div class="actions">
                    <a href="/profile" id="profile-link" class="button">
                        {text(|t| t.your_profile)}
                    </a>
                    <LogoutButton />
                </div>
            </section>
        }
        .into_any(),
        Session::Out => view! {
            <section class="card login" aria-labelledby="login-title">
                <h1 id="login-title">{text(|t| t.log_in_title)}</h1>
                <p class="intro">{text(|t| t.log_in_intro)}</p>
                <LoginButtons return_to=return_to.clone() />
            </section>
        }
        .into_any(),
    }
}

/// Any path no route matches. Reached by a navigation inside the app (a login that returns to
/// a page nginx or an upstream serves, such as `/app/page.html`), it may be a page of the
/// server's: the browser loads it. Loaded as a document, it is indeed missing.
#[component]
fn NotFound() -> impl IntoView {
    let location = use_location();
    let path = location.pathname.get_untracked();
    let loaded = use_context::<DocumentPath>().is_some_and(|loaded| loaded.0 == path);
    if !loaded {
        let mut target = path;
        let search = location.search.get_untracked();
        if !search.is_empty() {
            target = format!("{target}?{search}");
        }
        target.push_str(&location.hash.get_untracked());
        if let Some(window) = web_sys::window() {
            let _ = window.location().replace(&target);
        }
    }
    view! {
        <section class="card" id="not-found">
            <h1>{text(|t| t.not_found_title)}</h1>
            <p>{text(|t| t.not_found_text)}</p>
            <a href="/" id="back-home" class="button">{crate::i18n::tr(|t| t.back_home)}</a>
        </section>
    }
}
