use leptos::prelude::*;
use leptos_router::{hooks::use_navigate, NavigateOptions};
use shared::MeResponse;
use wasm_bindgen::JsValue;

use crate::{
    api,
    components::{ErrorNotice, LogoutButton},
};

/// Where a visitor without a session goes: the start page, which brings them back here after
/// the login.
const LOGIN_PATH: &str = "/?return_to=%2Fprofile";

/// `/profile`: protected, the signed-in person as the backend knows them.
#[component]
pub fn Profile() -> impl IntoView {
    let me = LocalResource::new(api::me);
    let navigate = use_navigate();
    Effect::new(move |_| {
        if me
            .get()
            .is_some_and(|result| result.is_err_and(|err| err.is_unauthorized()))
        {
            navigate(
                LOGIN_PATH,
                NavigateOptions {
                    replace: true,
                    ..Default::default()
                },
            );
        }
    });

    move || match me.get() {
        // A 401 is on its way to the start page: keep showing progress rather than an error.
        None => view! { <p class="status" id="loading">"Loading…"</p> }.into_any(),
        Some(Err(failure)) if failure.is_unauthorized() => {
            view! { <p class="status" id="loading">"Loading…"</p> }.into_any()
        }
        Some(Err(failure)) => view! { <ErrorNotice failure /> }.into_any(),
        Some(Ok(me)) => view! { <ProfileCard me /> }.into_any(),
    }
}

#[component]
fn ProfileCard(me: MeResponse) -> impl IntoView {
    let user = me.user;
    let name = user.display_name().to_owned();
    let avatar = user.avatar_url.clone().map(|src| {
        let alt = format!("Avatar of {name}");
        view! {
            <img
                id="profile-avatar"
                class="avatar"
                src=src
                alt=alt
                width="96"
                height="96"
                referrerpolicy="no-referrer"
            />
        }
    });
    view! {
        <section class="card profile" id="profile">
            <div class="profile-head">
                {avatar}
                <h1 id="profile-name">{name}</h1>
            </div>
            <dl>
                <dt>"Login"</dt>
                <dd id="profile-login">{or_not_shared(user.login)}</dd>
                <dt>"Email"</dt>
                <dd id="profile-email">{or_not_shared(user.email)}</dd>
                <dt>"Provider"</dt>
                <dd id="profile-provider">{user.provider}</dd>
                <dt>"Session ends"</dt>
                <dd id="profile-expires">{local_time(me.expires_at)}</dd>
            </dl>
            <div class="actions">
                <LogoutButton />
            </div>
        </section>
    }
}

/// Providers may withhold a field (a private GitHub email): say so instead of leaving a gap.
fn or_not_shared(value: Option<String>) -> impl IntoView {
    match value {
        Some(value) => view! { {value} }.into_any(),
        None => view! { <span class="missing">"not shared by the provider"</span> }.into_any(),
    }
}

/// Seconds since the Unix epoch, in the reader's locale and time zone.
fn local_time(seconds: i64) -> String {
    let date = js_sys::Date::new(&JsValue::from_f64(seconds as f64 * 1000.0));
    date.to_locale_string("default", &JsValue::UNDEFINED).into()
}
