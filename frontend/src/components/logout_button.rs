use leptos::{prelude::*, task::spawn_local};

use crate::{api, components::ErrorNotice};

/// `POST /api/logout`, then a full load of `/` so every piece of state starts over.
#[component]
pub fn LogoutButton() -> impl IntoView {
    let busy = RwSignal::new(false);
    let failure = RwSignal::new(None);
    let log_out = move |_| {
        busy.set(true);
        failure.set(None);
        spawn_local(async move {
            match api::logout().await {
                // A 401 means the session was already gone: the person is logged out either way.
                Ok(_) => go_home(),
                Err(err) if err.is_unauthorized() => go_home(),
                Err(err) => {
                    failure.set(Some(err));
                    busy.set(false);
                }
            }
        });
    };
    view! {
        <button id="logout" type="button" class="secondary" on:click=log_out disabled=busy>
            "Log out"
        </button>
        {move || failure.get().map(|failure| view! { <ErrorNotice failure /> })}
    }
}

fn go_home() {
    if let Some(window) = web_sys::window() {
        let _ = window.location().assign("/");
    }
}
