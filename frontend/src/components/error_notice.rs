use leptos::prelude::*;

use crate::{
    api::ApiFailure,
    i18n::{failure_text, fill, tr, use_i18n},
};

/// A failed API call in plain words, in the reader's language; the machine code stays in
/// `data-error` for tests and bug reports. With `on_retry`, a "Retry" button (`#retry`).
#[component]
pub fn ErrorNotice(
    failure: ApiFailure,
    /// The provider's name, for sentences such as "GitHub is not answering properly".
    #[prop(optional, into)]
    provider: Option<String>,
    #[prop(optional, into)] on_retry: Option<Callback<()>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let code = failure.code().to_owned();
    let sentence = move || failure_sentence(i18n.t(), &failure, provider.as_deref());
    view! {
        <div class="notice error" role="alert" id="api-error" data-error=code>
            <p>{sentence}</p>
            {on_retry
                .map(|retry| {
                    view! {
                        <button type="button" id="retry" class="secondary" on:click=move |_| retry.run(())>
                            {tr(|t| t.retry)}
                        </button>
                    }
                })}
        </div>
    }
}

/// The sentence for a failure: the translated one for a known code, else the backend's own
/// message after a generic lead.
pub fn failure_sentence(
    t: &crate::i18n::Texts,
    failure: &ApiFailure,
    provider: Option<&str>,
) -> String {
    match failure_text(t, failure.code()) {
        Some(text) => fill(text, provider.unwrap_or(t.the_provider)),
        None => [t.err_unknown, " ", failure.message()].concat(),
    }
}
