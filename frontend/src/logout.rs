//! Logging out (flow step 8 of docs/design.md).

use leptos::{prelude::*, task::spawn_local};
use shared::{LogoutRequest, LogoutResponse};

use crate::{
    api::{self, ApiFailure},
    i18n::{fill, tr, use_i18n},
    login::provider_name,
    portero::use_portero,
    views::error_notice,
};

/// A "Log out" button: `POST /api/logout` ends the session (Portero revokes the provider's
/// tokens where the provider allows it), then the app starts over on `/`, loaded afresh so
/// nothing of the person stays in memory.
///
/// When the provider offers to end its own session too (OpenID Connect RP-initiated logout),
/// the button gives way to a link there ("Also log out of …") and one back to `/`.
#[component]
pub fn LogoutButton() -> impl IntoView {
    logout_button(false)
}

/// The button; with `everywhere`, "Log out everywhere" (`#logout-everywhere`): every session of
/// this person ends, on every device.
pub(crate) fn logout_button(everywhere: bool) -> impl IntoView {
    let i18n = use_i18n();
    let portero = use_portero();
    let busy = RwSignal::new(false);
    let failure = RwSignal::new(None::<ApiFailure>);
    // The provider's end_session_url, once logged out.
    let ended = RwSignal::new(None::<String>);
    let log_out = move |_| {
        busy.set(true);
        failure.set(None);
        spawn_local(async move {
            let request = LogoutRequest { everywhere };
            match api::post::<LogoutResponse, _>("/api/logout", &request).await {
                Ok(LogoutResponse {
                    end_session_url: Some(url),
                }) => ended.set(Some(url)),
                // A 401 means the session was already gone: the person is logged out either way.
                Ok(_) => start_over(),
                Err(err) if err.is_unauthorized() => start_over(),
                Err(err) => {
                    failure.set(Some(err));
                    busy.set(false);
                }
            }
        });
    };
    move || {
        match ended.get() {
        Some(url) => {
            // Named by the public provider list (no session needed), for the link.
            let name = portero.user().map(|user| provider_name(&user.provider));
            view! {
                <p class="notice" id="logged-out">
                    {tr(|t| t.logged_out)} " "
                    <a id="end-session" href=url rel="external">
                        {move || {
                            let t = i18n.t();
                            let name = name.map(|name| name.get());
                            fill(t.also_log_out_of, name.as_deref().unwrap_or(t.the_provider))
                        }}
                    </a>
                    " · "
                    <a href="/" rel="external">{tr(|t| t.back_home)}</a>
                </p>
            }
            .into_any()
        }
        None => view! {
            <button
                id=if everywhere { "logout-everywhere" } else { "logout" }
                type="button"
                class="secondary"
                on:click=log_out
                disabled=busy
            >
                {tr(if everywhere { |t| t.log_out_everywhere } else { |t| t.log_out })}
            </button>
            {move || failure.get().map(|failure| error_notice("api-error", None, failure, None, None))}
        }
        .into_any(),
    }
    }
}

/// A full load of `/`, so every piece of the person's state starts over.
fn start_over() {
    if let Some(window) = web_sys::window() {
        let _ = window.location().assign("/");
    }
}
