//! Views every component shares: a placeholder while something loads, and a failure in plain
//! words. One view per state, written once, so the renderer is compiled once for each.

use leptos::prelude::*;

use crate::{
    api::ApiFailure,
    i18n::{failure_text, fill, tr, use_i18n, Texts},
    portero::Portero,
};

/// Grey placeholder lines where content is on its way; screen readers hear "Loading…".
#[component]
pub(crate) fn Skeleton(
    id: &'static str,
    /// Placeholder text lines under the title.
    lines: usize,
    /// A round placeholder for an avatar beside the title.
    #[prop(optional)]
    avatar: bool,
) -> impl IntoView {
    view! {
        <div id=id class="skeleton" role="status" aria-busy="true">
            <span class="visually-hidden">{tr(|t| t.loading)}</span>
            <div class="skeleton-head" aria-hidden="true">
                {avatar.then(|| view! { <span class="bone round"></span> })}
                <span class="bone title"></span>
            </div>
            {(0..lines)
                .map(|_| view! { <span class="bone line" aria-hidden="true"></span> })
                .collect_view()}
        </div>
    }
}

/// A "Retry" button under a notice: its id, and what it does.
pub(crate) struct Retry(pub &'static str, pub Box<dyn Fn() + Send + Sync>);

/// A failed call in plain words, in the reader's language, after an optional `lead` ("The live
/// profile could not be loaded."); the machine code stays in `data-error` for tests and bug
/// reports. With `retry`, a "Retry" button.
pub(crate) fn error_notice(
    id: &'static str,
    lead: Option<Box<dyn Fn() -> &'static str + Send + Sync>>,
    failure: ApiFailure,
    provider: Option<String>,
    retry: Option<Retry>,
) -> impl IntoView {
    let i18n = use_i18n();
    let code = failure.code().to_owned();
    let sentence = move || failure_sentence(i18n.t(), &failure, provider.as_deref());
    view! {
        <div class="notice error" role="alert" id=id data-error=code>
            <p>{lead.map(|lead| view! { {lead} " " })} {sentence}</p>
            {retry
                .map(|Retry(retry_id, retry)| {
                    view! {
                        <button type="button" id=retry_id class="secondary" on:click=move |_| retry()>
                            {tr(|t| t.retry)}
                        </button>
                    }
                })}
        </div>
    }
}

/// `GET /api/me` failed: the notice, with a "Retry" that asks again.
pub(crate) fn session_failed(portero: Portero, failure: ApiFailure) -> AnyView {
    let retry = Retry("retry", Box::new(move || portero.refetch()));
    error_notice("api-error", None, failure, None, Some(retry)).into_any()
}

/// The sentence for a failure: the translated one for a known code, else the server's own
/// message after a generic lead.
pub(crate) fn failure_sentence(t: &Texts, failure: &ApiFailure, provider: Option<&str>) -> String {
    match failure_text(t, failure.code()) {
        Some(text) => fill(text, provider.unwrap_or(t.the_provider)),
        None => format!("{} {}", t.err_unknown, failure.message()),
    }
}
