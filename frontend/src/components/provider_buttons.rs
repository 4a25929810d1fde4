use leptos::{prelude::*, task::spawn_local};
use leptos_router::hooks::use_query_map;
use shared::ProviderInfo;

use crate::{
    api::{self, ApiFailure},
    auth,
    components::ErrorNotice,
};

/// Where a login started from `/` lands when nothing asked for another page.
const DEFAULT_RETURN_TO: &str = "/profile";

/// One "Log in with …" button per configured provider (flow steps 2 and 3).
#[component]
pub fn ProviderButtons(providers: Vec<ProviderInfo>) -> impl IntoView {
    let query = use_query_map();
    // The provider id whose login is starting: the buttons stay disabled until the browser
    // has left for the provider, so a second click cannot start a competing attempt.
    let pending = RwSignal::new(None::<String>);
    let failure = RwSignal::new(None::<ApiFailure>);

    let start_login = move |provider: String| {
        // The backend re-validates it (DESIGN.md, rule 5): this only says where to go.
        let return_to = query
            .read_untracked()
            .get("return_to")
            .unwrap_or_else(|| DEFAULT_RETURN_TO.to_owned());
        pending.set(Some(provider.clone()));
        failure.set(None);
        spawn_local(async move {
            let target = match api::login(&provider, Some(return_to)).await {
                Ok(login) => auth::authorize_url(&login.authorize_endpoint, &login.params)
                    .map_err(ApiFailure::Network),
                Err(err) => Err(err),
            };
            let navigated = target.and_then(|url| {
                web_sys::window()
                    .and_then(|window| window.location().set_href(&url).ok())
                    .ok_or_else(|| ApiFailure::Network("The browser refused to navigate.".into()))
            });
            if let Err(err) = navigated {
                failure.set(Some(err));
                pending.set(None);
            }
        });
    };

    let buttons = providers
        .into_iter()
        .map(|provider| {
            let ProviderInfo { id, name, .. } = provider;
            let busy_id = id.clone();
            let click_id = id.clone();
            view! {
                <li>
                    <button
                        type="button"
                        class="provider"
                        data-provider=id
                        disabled=move || pending.with(Option::is_some)
                        aria-busy=move || {
                            pending.with(|p| p.as_deref() == Some(busy_id.as_str())).to_string()
                        }
                        on:click=move |_| start_login(click_id.clone())
                    >
                        {format!("Log in with {name}")}
                    </button>
                </li>
            }
        })
        .collect_view();

    view! {
        <ul class="providers">{buttons}</ul>
        {move || failure.get().map(|failure| view! { <ErrorNotice failure /> })}
    }
}
