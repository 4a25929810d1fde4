use leptos::{prelude::*, task::spawn_local};
use shared::ProviderInfo;

use crate::{
    api::ApiFailure,
    auth::{session_storage, start_login, DEFAULT_RETURN_TO},
    components::{BrandMark, ErrorNotice},
    i18n::{fill, use_i18n},
    plain::bool_text,
    router::query_param,
};

fn name_key(id: &str) -> String {
    ["portero.name.", id].concat()
}

/// Kept for this tab in `sessionStorage`, so the callback page can name the provider at once
/// instead of showing its id until `/api/providers` answers.
fn remember_name(id: &str, name: &str) {
    if let Some(storage) = session_storage() {
        let _ = storage.set_item(&name_key(id), name);
    }
}

/// The name of the provider whose button this tab pressed last, if any.
pub fn remembered_name(id: &str) -> Option<String> {
    session_storage().and_then(|storage| storage.get_item(&name_key(id)).ok().flatten())
}

/// One "Log in with …" button per configured provider, each with its brand mark.
#[component]
pub fn ProviderButtons(providers: Vec<ProviderInfo>) -> impl IntoView {
    let i18n = use_i18n();
    // The provider whose login is starting: the buttons stay disabled until the browser has
    // left for the provider, so a second click cannot start a competing attempt.
    let pending = RwSignal::new(None::<String>);
    // What went wrong, and with which provider (for "GitHub is not answering …").
    let failure = RwSignal::new(None::<(ApiFailure, String)>);

    let start = move |id: String, name: String| {
        // The backend re-validates it (DESIGN.md, rule 5): this only says where to go.
        let return_to = query_param("return_to").unwrap_or_else(|| DEFAULT_RETURN_TO.to_owned());
        remember_name(&id, &name);
        pending.set(Some(id.clone()));
        failure.set(None);
        spawn_local(async move {
            let err = start_login(&id, return_to, false).await;
            failure.set(Some((err, name)));
            pending.set(None);
        });
    };

    let buttons = providers
        .into_iter()
        .map(|ProviderInfo { id, name, kind }| {
            let busy_id = id.clone();
            let click = (id.clone(), name.clone());
            view! {
                <li>
                    <button
                        type="button"
                        class="provider"
                        data-provider=id
                        disabled=move || pending.with(Option::is_some)
                        aria-busy=move || {
                            bool_text(pending.with(|p| p.as_deref() == Some(busy_id.as_str())))
                        }
                        on:click=move |_| start(click.0.clone(), click.1.clone())
                    >
                        <BrandMark kind />
                        <span>{move || fill(i18n.t().log_in_with, &name)}</span>
                    </button>
                </li>
            }
        })
        .collect_view();

    view! {
        <ul class="providers">{buttons}</ul>
        {move || {
            failure
                .get()
                .map(|(failure, provider)| view! { <ErrorNotice failure provider /> })
        }}
    }
}
