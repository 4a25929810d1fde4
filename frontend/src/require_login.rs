//! Pages only a signed-in person may see.

use leptos::prelude::*;
use leptos_router::{hooks::use_navigate, NavigateOptions};

use crate::{
    portero::{use_portero, Session},
    views::{session_failed, Skeleton},
};

/// Shows its children to a signed-in person only. A visitor without a session goes to `/`,
/// with `?return_to=` this page, so that the [`LoginButtons`] there bring them back after the
/// login.
///
/// While `GET /api/me` answers, a placeholder stands in; when the server cannot be reached, a
/// notice says so with a "Retry" button. Place it inside a `leptos_router` `<Router>`.
///
/// ```ignore
/// <Route path=path!("/games") view=|| view! { <RequireLogin><Games /></RequireLogin> } />
/// ```
///
/// [`LoginButtons`]: crate::LoginButtons
#[component]
pub fn RequireLogin(children: ChildrenFn) -> impl IntoView {
    let portero = use_portero();
    let navigate = use_navigate();
    Effect::new(move |_| {
        if portero.session() == Session::Out {
            navigate(
                &login_path(),
                NavigateOptions {
                    replace: true,
                    ..Default::default()
                },
            );
        }
    });
    move || match portero.session() {
        Session::In(_) => children().into_any(),
        Session::Failed(failure) => session_failed(portero, failure),
        // A visitor without a session is on the way to the start page: progress, not an error.
        Session::Loading | Session::Out => view! {
            <section class="card">
                <Skeleton id="loading" lines=4 avatar=true />
            </section>
        }
        .into_any(),
    }
}

/// `/?return_to=` the page in the address bar, with its query, percent-encoded.
fn login_path() -> String {
    let here = web_sys::window()
        .and_then(|window| {
            let location = window.location();
            Some(location.pathname().ok()? + &location.search().ok()?)
        })
        .unwrap_or_else(|| "/".to_owned());
    format!(
        "/?return_to={}",
        String::from(js_sys::encode_uri_component(&here))
    )
}
