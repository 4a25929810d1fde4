use leptos::prelude::*;

use crate::i18n::tr;

/// Grey placeholder lines where content is on its way; screen readers hear "Loading…".
#[component]
pub fn Skeleton(
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
