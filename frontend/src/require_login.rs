//! Pages only a signed-in person may see.

use leptos::prelude::*;
use leptos_router::{hooks::use_navigate, NavigateOptions};

use crate::{
    api::ApiFailure,
    portero::use_portero,
    views::{error_notice, Retry, Skeleton},
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
    // What to show, changing only when that does: a new answer of `/api/me` for the same
    // person keeps the children as they are.
    let state = Memo::new(move |_| match portero.me() {
        Some(Ok(_)) => Access::Granted,
        None => Access::Waiting,
        Some(Err(failure)) if failure.is_unauthorized() => Access::LoggedOut,
        Some(Err(failure)) => Access::Failed(failure),
    });
    Effect::new(move |_| {
        if state.get() == Access::LoggedOut {
            navigate(
                &login_path(),
                NavigateOptions {
                    replace: true,
                    ..Default::default()
                },
            );
        }
    });
    move || match state.get() {
        // A visitor without a session is on the way to the start page: progress, not an error.
        Access::Waiting | Access::LoggedOut => view! {
            <section class="card">
                <Skeleton id="loading" lines=4 avatar=true />
            </section>
        }
        .into_any(),
        Access::Failed(failure) => {
            let retry = Box::new(move || portero.refetch());
            error_notice(
                "api-error",
                None,
                failure,
                None,
                Some(Retry("retry", retry)),
            )
            .into_any()
        }
        Access::Granted => children().into_any(),
    }
}

#[derive(Clone, PartialEq)]
enum Access {
    Waiting,
    LoggedOut,
    Granted,
    Failed(ApiFailure),
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
