use leptos::{prelude::*, task::spawn_local};

use crate::{
    api,
    components::ErrorNotice,
    i18n::{fill, tr, use_i18n},
};

/// `POST /api/logout`, then a full load of `/` so every piece of state starts over. When the
/// provider offers RP-initiated logout (`end_session_url`), the button gives way to a link that
/// ends the session at the provider too, and one back to the start page.
#[component]
pub fn LogoutButton(
    /// The id of the session's provider, to name it in the RP-initiated logout link.
    #[prop(optional, into)]
    provider: Option<String>,
    /// "Log out everywhere" (`#logout-everywhere`): every session of this person ends.
    #[prop(optional)]
    everywhere: bool,
) -> impl IntoView {
    let i18n = use_i18n();
    let busy = RwSignal::new(false);
    let failure = RwSignal::new(None);
    // (end_session_url, the provider's name) once logged out.
    let ended = RwSignal::new(None::<(String, Option<String>)>);
    let log_out = move |_| {
        busy.set(true);
        failure.set(None);
        let provider = provider.clone();
        spawn_local(async move {
            match api::logout(everywhere).await {
                Ok(shared::LogoutResponse {
                    end_session_url: Some(url),
                }) => {
                    // Public list, no session needed: the provider's name for the link.
                    let name = match (provider, api::providers().await) {
                        (Some(id), Ok(list)) => {
                            list.into_iter().find(|p| p.id == id).map(|p| p.name)
                        }
                        _ => None,
                    };
                    ended.set(Some((url, name)));
                }
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
    move || match ended.get() {
        Some((url, name)) => view! {
            <p class="notice" id="logged-out">
                {tr(|t| t.logged_out)} " "
                <a id="end-session" href=url>
                    {move || {
                        let t = i18n.t();
                        fill(t.also_log_out_of, name.as_deref().unwrap_or(t.the_provider))
                    }}
                </a>
                " · "
                <a href="/">{tr(|t| t.back_home)}</a>
            </p>
        }
        .into_any(),
        None => view! {
            <button
                id=if everywhere { "logout-everywhere" } else { "logout" }
                type="button"
                class="secondary"
                on:click=log_out.clone()
                disabled=busy
            >
                {tr(if everywhere { |t| t.log_out_everywhere } else { |t| t.log_out })}
            </button>
            {move || failure.get().map(|failure| view! { <ErrorNotice failure /> })}
        }
        .into_any(),
    }
}

fn go_home() {
    if let Some(window) = web_sys::window() {
        let _ = window.location().assign("/");
    }
}
