//! `/profile`: the person (`/api/me`), the live profile (`/api/profile`), what an app behind
//! Portero sees (`app_sees`) and the person's sessions (`sessions`).

mod app_sees;
mod sessions;

use leptos::prelude::*;
use shared::{MeResponse, ProfileDetails};
use wasm_bindgen::JsValue;

use crate::{
    api,
    components::{failure_sentence, ErrorNotice, LogoutButton, Skeleton},
    i18n::{fill, tr, use_i18n, I18n, Lang, Texts},
    loader::Loaded,
    plain::decimal,
    router::use_router,
};
use app_sees::AppSeesCard;
use sessions::Sessions;

/// Where a visitor without a session goes: the start page, which brings them back here after
/// the login.
const LOGIN_PATH: &str = "/?return_to=%2Fprofile";

/// `/profile`: protected. The person as the session knows them (`/api/me`) at once, then the
/// provider-specific details fetched live (`/api/profile`).
#[component]
pub fn Profile() -> impl IntoView {
    let me = Loaded::new(api::me);
    let router = use_router();
    Effect::new(move |_| {
        if me
            .get()
            .is_some_and(|result| result.is_err_and(|err| err.is_unauthorized()))
        {
            router.navigate(LOGIN_PATH, true);
        }
    });

    let loading = || {
        view! {
            <section class="card">
                <Skeleton id="loading" lines=4 avatar=true />
            </section>
        }
    };
    move || match me.get() {
        // A 401 is on its way to the start page: keep showing progress rather than an error.
        None => loading().into_any(),
        Some(Err(failure)) if failure.is_unauthorized() => loading().into_any(),
        Some(Err(failure)) => {
            let on_retry = Callback::new(move |()| me.reload());
            view! { <ErrorNotice failure on_retry /> }.into_any()
        }
        Some(Ok(me)) => view! { <ProfileCard me /> }.into_any(),
    }
}

#[component]
fn ProfileCard(me: MeResponse) -> impl IntoView {
    let i18n = use_i18n();
    // Only once `/api/me` said there is a session: no provider call for a visitor without one.
    let live = Loaded::new(api::profile);
    let user = me.user;
    let provider_id = user.provider.clone();
    let provider_name = provider_name(&provider_id);
    let name = user.display_name().to_owned();
    let avatar = user.avatar_url.clone().map(|src| {
        let name = name.clone();
        view! {
            <img
                id="profile-avatar"
                class="avatar"
                src=src
                alt=move || fill(i18n.t().avatar_of, &name)
                width="96"
                height="96"
                referrerpolicy="no-referrer"
            />
        }
    });
    // The provider no longer honours the session's tokens (DESIGN.md, rule 11), or the session
    // was ended elsewhere (another browser's "Log out everywhere"; the sessions list learns it
    // first then): the backend ended the session, so the cards would describe a login that is
    // gone.
    let signed_out = RwSignal::new(false);
    let ended = move || {
        signed_out.get()
            || live
                .get()
                .is_some_and(|answer| answer.is_err_and(|failure| failure.is_unauthorized()))
    };
    let card = view! {
        <section class="card profile" id="profile" aria-labelledby="profile-name">
            <div class="profile-head">
                {avatar}
                <div>
                    <h1 id="profile-name">{name}</h1>
                    <p class="provider-tag">{provider_name}</p>
                </div>
            </div>
            <dl class="facts">
                <dt>{tr(|t| t.profile_login)}</dt>
                <dd id="profile-login">{or_missing(user.login, |t| t.not_shared)}</dd>
                <dt>{tr(|t| t.profile_email)}</dt>
                <dd id="profile-email">{or_missing(user.email, |t| t.not_shared)}</dd>
                <dt>{tr(|t| t.profile_provider)}</dt>
                <dd id="profile-provider">{provider_name}</dd>
                <dt>{tr(|t| t.profile_session_ends)}</dt>
                <dd id="profile-expires">{move || local_time(i18n.lang(), me.expires_at)}</dd>
            </dl>
            <section class="details" aria-labelledby="details-title">
                <h2 id="details-title">{tr(|t| t.details_title)}</h2>
                {move || match live.get() {
                    None => view! { <Skeleton id="profile-details-loading" lines=2 /> }.into_any(),
                    Some(Ok(profile)) => details(i18n, profile.details).into_any(),
                    Some(Err(failure)) => {
                    let code = failure.code().to_owned();
                    view! {
                        <div
                            class="notice error"
                            role="alert"
                            id="profile-error"
                            data-error=code
                        >
                            <p>
                                {tr(|t| t.details_failed)} " "
                                {move || failure_sentence(i18n.t(), &failure, None)}
                            </p>
                            <button type="button" id="profile-retry" class="secondary" on:click=move |_| live.reload()>
                                {tr(|t| t.retry)}
                            </button>
                        </div>
                    }
                    .into_any()
                    }
                }}
            </section>
            <div class="actions">
                <LogoutButton provider=provider_id.clone() />
            </div>
        </section>
    };
    view! {
        <div class="cards" hidden=ended>
            {card}
            <AppSeesCard />
            <Sessions provider=provider_id signed_out />
        </div>
        {move || {
            ended()
                .then(|| {
                    view! {
                        <section class="card notice-card" id="session-expired" role="alert">
                            <h1>{tr(|t| t.err_session_expired)}</h1>
                            <a href="/" id="log-in-again" class="button">
                                {tr(|t| t.log_in_again)}
                            </a>
                        </section>
                    }
                })
        }}
    }
}

/// The provider's name ("42 Intra", not "intra42"): the one this tab's button remembered, else
/// from the public provider list; the id until that answers.
fn provider_name(id: &str) -> RwSignal<String> {
    let remembered = crate::components::remembered_name(id);
    let name = RwSignal::new(remembered.clone().unwrap_or_else(|| id.to_owned()));
    if remembered.is_none() {
        let id = id.to_owned();
        leptos::task::spawn_local(async move {
            if let Some(found) = api::providers()
                .await
                .ok()
                .and_then(|list| list.into_iter().find(|p| p.id == id))
            {
                name.set(found.name);
            }
        });
    }
    name
}

/// The provider-specific facts: 42's campus, cursus and level; GitHub's repositories,
/// followers and page. Each shows only when the provider gave it.
fn details(i18n: I18n, details: ProfileDetails) -> impl IntoView {
    let ProfileDetails {
        profile_url,
        campus,
        cursus,
        level,
        public_repos,
        followers,
    } = details;
    let empty = [&profile_url, &campus, &cursus].iter().all(|v| v.is_none())
        && level.is_none()
        && public_repos.is_none()
        && followers.is_none();
    if empty {
        return view! { <p class="missing" id="profile-details-none">{tr(|t| t.details_none)}</p> }
            .into_any();
    }
    let row = move |id: &'static str,
                    label: fn(&crate::i18n::Texts) -> &'static str,
                    value: Option<String>| {
        value.map(|value| {
            view! {
                <dt>{move || label(i18n.t())}</dt>
                <dd id=id>{value}</dd>
            }
        })
    };
    // Only web addresses become links: the value comes from the provider.
    let link = profile_url.map(|url| {
        let shown = url
            .trim_start_matches("https://")
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let value = if url.starts_with("https://") || url.starts_with("http://") {
            view! {
                <a id="profile-url" href=url rel="noopener noreferrer" target="_blank">{shown}</a>
            }
            .into_any()
        } else {
            view! { <span id="profile-url">{shown}</span> }.into_any()
        };
        view! {
            <dt>{tr(|t| t.profile_page)}</dt>
            <dd>{value}</dd>
        }
    });
    view! {
        <dl class="facts" id="profile-details">
            {row("profile-campus", |t| t.campus, campus)}
            {row("profile-cursus", |t| t.cursus, cursus)}
            {move || row("profile-level", |t| t.level, level.map(|l| format_level(i18n.lang(), l)))}
            {row("profile-repos", |t| t.public_repos, public_repos.map(decimal))}
            {row("profile-followers", |t| t.followers, followers.map(decimal))}
            {link}
        </dl>
    }
    .into_any()
}

/// 42 levels have two decimals (`7.42`); Spanish writes the comma. Done with integers: the
/// standard library's float formatting would add about 10 KB to the WebAssembly, and
/// `core::fmt` some more.
fn format_level(lang: Lang, level: f64) -> String {
    let hundredths = (level.abs() * 100.0).round() as u64;
    let sign = if level < 0.0 { "-" } else { "" };
    let point = match lang {
        Lang::Es => ',',
        Lang::En => '.',
    };
    let cents = hundredths % 100;
    let mut text = String::from(sign);
    text.push_str(&decimal(hundredths / 100));
    text.push(point);
    if cents < 10 {
        text.push('0');
    }
    text.push_str(&decimal(cents));
    text
}

/// Providers may withhold a field (a private GitHub email), and Portero sends no header for a
/// missing value: say so (`missing`) instead of leaving a gap.
fn or_missing(value: Option<String>, missing: fn(&Texts) -> &'static str) -> impl IntoView {
    match value {
        Some(value) => view! { {value} }.into_any(),
        None => view! { <span class="missing">{tr(missing)}</span> }.into_any(),
    }
}

/// Seconds since the Unix epoch, in the reader's language and time zone.
fn local_time(lang: Lang, seconds: i64) -> String {
    let date = js_sys::Date::new(&JsValue::from_f64(seconds as f64 * 1000.0));
    date.to_locale_string(lang.tag(), &JsValue::UNDEFINED)
        .into()
}
