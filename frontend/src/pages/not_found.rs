use leptos::prelude::*;

use crate::i18n::tr;

/// Any path no route matches.
#[component]
pub fn NotFound() -> impl IntoView {
    view! {
        <section class="card" id="not-found">
            <h1>{tr(|t| t.not_found_title)}</h1>
            <p>{tr(|t| t.not_found_text)}</p>
            <a href="/" id="back-home" class="button">{tr(|t| t.back_home)}</a>
        </section>
    }
}
