use leptos::prelude::*;

use crate::api::ApiFailure;

/// A failed API call, told in the backend's own words (its `message`).
#[component]
pub fn ErrorNotice(failure: ApiFailure) -> impl IntoView {
    view! {
        <p class="notice error" role="alert" id="api-error" data-error=failure.code().to_owned()>
            {failure.message().to_owned()}
        </p>
    }
}
