use leptos::prelude::*;

/// Any path no route matches.
#[component]
pub fn NotFound() -> impl IntoView {
    view! {
        <section class="card" id="not-found">
            <h1>"Page not found"</h1>
            <p>"There is nothing at this address."</p>
            <a href="/" id="back-home">"Back to the start page"</a>
        </section>
    }
}
