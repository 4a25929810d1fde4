//! The SPA's routes (DESIGN.md, "SPA routes") and the client-side navigation between them, in
//! place of leptos_router: three fixed paths, one parameter and two navigations do not need a
//! general router, whose matching and nested views were ≈ 20 KB of the gzipped bundle.
//!
//! The address bar is the state: [`Router`] holds its path in a signal, which `history`
//! navigations, Back and Forward (`popstate`) and clicks on the SPA's own links update. A link
//! to any other path (a page of the app behind Portero, a provider) is left to the browser.

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{HtmlAnchorElement, MouseEvent, Url, UrlSearchParams};

/// The pages of the SPA.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Page {
    /// `/`
    Home,
    /// `/callback/{provider}`
    Callback { provider: String },
    /// `/profile`
    Profile,
    /// Any other path.
    NotFound,
}

impl Page {
    /// The page for a path; a query or fragment does not change it.
    pub fn of(path: &str) -> Page {
        let path = path.split(['?', '#']).next().unwrap_or_default();
        match path {
            "/" => Page::Home,
            "/profile" => Page::Profile,
            _ => match path.strip_prefix("/callback/") {
                Some(provider) if !provider.is_empty() && !provider.contains('/') => {
                    Page::Callback {
                        provider: js_sys::decode_uri_component(provider)
                            .map_or_else(|_| provider.to_owned(), String::from),
                    }
                }
                _ => Page::NotFound,
            },
        }
    }
}

/// `true` for a path this SPA shows itself (`/`, `/profile`, `/callback/{provider}`, with any
/// query or fragment). Any other path — a page of the app behind Portero, such as nginx's
/// `/app/page.html` — is another document: the browser must load it.
pub fn is_spa_route(path: &str) -> bool {
    Page::of(path) != Page::NotFound
}

/// The current path, shared through the context by [`App`](crate::App).
#[derive(Clone, Copy)]
pub struct Router {
    path: RwSignal<String>,
}

impl Router {
    /// Follows the address bar from now on: Back and Forward, and clicks on links to the SPA's
    /// own pages, which it shows without loading the document again. The listeners live as
    /// long as the page.
    pub fn start() -> Router {
        let router = Router {
            path: RwSignal::new(current_path()),
        };
        provide_context(router);
        let _ = window_event_listener_untyped("popstate", move |_| {
            router.path.set(current_path());
        });
        let _ = window_event_listener_untyped("click", move |event| {
            if let Some(to) = event.dyn_ref::<MouseEvent>().and_then(own_link) {
                event.prevent_default();
                router.navigate(&to, false);
            }
        });
        router
    }

    /// The page the address bar shows (reactive).
    pub fn page(self) -> Memo<Page> {
        Memo::new(move |_| Page::of(&self.path.get()))
    }

    /// Goes to `to` (a path with an optional query), adding to the history or, with `replace`,
    /// instead of the current entry.
    pub fn navigate(self, to: &str, replace: bool) {
        let Some(window) = web_sys::window() else {
            return;
        };
        if let Ok(history) = window.history() {
            let _ = if replace {
                history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(to))
            } else {
                history.push_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(to))
            };
        }
        if !replace {
            window.scroll_to_with_x_and_y(0.0, 0.0);
        }
        self.path.set(current_path());
    }
}

/// The router of the page being rendered.
pub fn use_router() -> Router {
    expect_context::<Router>()
}

/// A parameter of the address bar's query (`?return_to=…`), decoded.
pub fn query_param(name: &str) -> Option<String> {
    let search = web_sys::window()?.location().search().ok()?;
    UrlSearchParams::new_with_str(&search).ok()?.get(name)
}

fn current_path() -> String {
    web_sys::window()
        .and_then(|window| window.location().pathname().ok())
        .unwrap_or_else(|| "/".to_owned())
}

/// Where a click goes when the SPA should take it: a plain left click, without modifier keys,
/// on a link to one of the SPA's own pages on this origin, with no `target`, `download` or
/// `rel="external"` (as leptos_router decides). The path with its query and fragment.
fn own_link(event: &MouseEvent) -> Option<String> {
    if event.default_prevented()
        || event.button() != 0
        || event.meta_key()
        || event.alt_key()
        || event.ctrl_key()
        || event.shift_key()
    {
        return None;
    }
    let link: HtmlAnchorElement = event
        .target()?
        .dyn_into::<web_sys::Element>()
        .ok()?
        .closest("a[href]")
        .ok()??
        .dyn_into()
        .ok()?;
    let external = link
        .get_attribute("rel")
        .is_some_and(|rel| rel.split_ascii_whitespace().any(|r| r == "external"));
    if !link.target().is_empty() || link.has_attribute("download") || external {
        return None;
    }
    let url = Url::new(&link.href()).ok()?;
    let here = web_sys::window()?.location().origin().ok()?;
    let path = url.pathname();
    (url.origin() == here && is_spa_route(&path)).then(|| path + &url.search() + &url.hash())
}
