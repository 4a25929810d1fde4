use leptos::prelude::*;

use crate::{
    i18n::{tr, use_i18n, Lang},
    plain::bool_text,
};

/// English / Español: the choice is remembered in `localStorage` (see `I18n::set`).
#[component]
pub fn LangSwitch() -> impl IntoView {
    let i18n = use_i18n();
    let buttons = Lang::ALL
        .into_iter()
        .map(|lang| {
            view! {
                <button
                    type="button"
                    lang=lang.tag()
                    data-lang=lang.tag()
                    aria-pressed=move || bool_text(i18n.lang() == lang)
                    on:click=move |_| i18n.set(lang)
                >
                    {lang.name()}
                </button>
            }
        })
        .collect_view();
    view! {
        <div id="lang-switch" class="lang-switch" role="group" aria-label=tr(|t| t.language)>
            {buttons}
        </div>
    }
}
