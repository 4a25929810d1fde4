//! `/profile`: the person (`/api/me`), the live profile (`/api/profile`), what an app behind
//! Portero sees (`app_sees`) and the person's sessions (`sessions`).

mod app_sees;
mod sessions;

use leptos::{prelude::*, task::spawn_local};
use shared::{ProfileDetails, User};
use wasm_bindgen::JsValue;

use super::texts::{text, texts, SpaTexts};
use crate::{
    api::{self, ApiFailure},
    i18n::{fill, tr, use_i18n, I18n, Lang},
    login::provider_name,
    portero::{use_portero, Session},
    views::{error_notice, Retry, Skeleton},
    LogoutButton,
};
use app_sees::AppSeesCard;
use sessions::Sessions;

/// The part of `shared::ProfileResponse` the page shows: the same JSON read without its `raw`
/// field, the provider's own answer, which no page displays (serde skips unknown fields).
#[derive(serde::Deserialize)]
struct Profile {
    details: ProfileDetails,
}

/// `/profile`, inside `RequireLogin`: the person as the session knows them (`/api/me`) at
/// once, then the provider-specific details fetched live (`/api/profile`).
#[component]
pub(super) fn ProfilePage() -> impl IntoView {
    // `RequireLogin` shows this only once `/api/me` answered with a person.
    match use_portero().session_untracked() {
        Session::In(me) => {
            view! { <ProfileCard user=me.user expires_at=me.expires_at /> }.into_any()
        }
        _ => ().into_any(),
    }
}

#[component]
fn ProfileCard(user: User, expires_at: i64) -> impl IntoView {
    let i18n = use_i18n();
    // Only once `/api/me` said there is a session: no provider call for a visitor without one.
    let live = RwSignal::new(None::<Result<Profile, ApiFailure>>);
    let load = move || {
        live.set(None);
        spawn_local(async move { live.set(Some(api::get("/api/profile").await)) });
    };
    load();
    let provider_id = user.provider.clone();
    let provider_name = provider_name(&provider_id);
    let name = user.display_name().to_owned();
    let avatar_of = text(|t| t.avatar_of);
    let avatar = user.avatar_url.clone().map(|src| {
        let name = name.clone();
        view! {
            <img
                id="profile-avatar"
                class="avatar"
                src=src
                alt=move || fill(avatar_of(), &name)
                width="96"
                height="96"
                referrerpolicy="no-referrer"
            />
        }
    });
    // The provider no longer honours the session's tokens (docs/design.md, rule 11), or the session
    // was ended elsewhere (another browser's "Log out everywhere"; the sessions list learns it
    // first then): the backend ended the session, so the cards would describe a login that is
    // gone.
    let signed_out = RwSignal::new(false);
    let ended = move || {
        signed_out.get()
            || live.with(|answer| {
                answer
                    .as_ref()
                    .is_some_and(|answer| answer.as_ref().is_err_and(ApiFailure::is_unauthorized))
            })
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
            {facts(
                None,
                vec![
                    Fact("profile-login", |t| t.profile_login, or_missing(user.login, |t| t.not_shared)),
                    Fact("profile-email", |t| t.profile_email, or_missing(user.email, |t| t.not_shared)),
                    Fact("profile-provider", |t| t.profile_provider, provider_name.into_any()),
                    Fact(
                        "profile-expires",
                        |t| t.profile_session_ends,
                        (move || local_time(i18n.lang(), expires_at)).into_any(),
                    ),
                ],
            )}
            <section class="details" aria-labelledby="details-title">
                <h2 id="details-title">{text(|t| t.details_title)}</h2>
                {move || live.with(|answer| match answer {
                    None => view! { <Skeleton id="profile-details-loading" lines=2 /> }.into_any(),
                    Some(Ok(profile)) => details(i18n, profile.details.clone()).into_any(),
                    Some(Err(failure)) => error_notice(
                        "profile-error",
                        Some(Box::new(text(|t| t.details_failed))),
                        failure.clone(),
                        None,
                        Some(Retry("profile-retry", Box::new(load))),
                    )
                    .into_any(),
                })}
            </section>
            <div class="actions">
                <LogoutButton />
            </div>
        </section>
    };
    view! {
        <div class="cards" hidden=ended>
            {card}
            <AppSeesCard />
            <Sessions signed_out />
        </div>
        {move || {
            ended()
                .then(|| {
                    view! {
                        <section class="card notice-card" id="session-expired" role="alert">
                            <h1>{tr(|t| t.err_session_expired)}</h1>
                            <a href="/" id="log-in-again" class="button" rel="external">
                                {text(|t| t.log_in_again)}
                            </a>
                        </section>
                    }
                })
        }}
    }
}

/// The provider-specific facts: 42's campus, cursus and level; GitHub's repositories,
/// followers and page. Each shows only when the provider gave it.
fn details(i18n: I18n, details: ProfileDetails) -> AnyView {
    let ProfileDetails {
        profile_url,
        campus,
        cursus,
        level,
        public_repos,
        followers,
    } = details;
    let mut rows = Vec::new();
    let mut row = |id, label, value: Option<String>| {
        if let Some(value) = value {
            rows.push(Fact(id, label, value.into_any()));
        }
    };
    row("profile-campus", |t| t.campus, campus);
    row("profile-cursus", |t| t.cursus, cursus);
    if let Some(level) = level {
        rows.push(Fact(
            "profile-level",
            |t| t.level,
            (move || format_level(i18n.lang(), level)).into_any(),
        ));
    }
    let mut row = |id, label, value: Option<u64>| {
        if let Some(value) = value {
            rows.push(Fact(id, label, value.to_string().into_any()));
        }
    };
    row("profile-repos", |t| t.public_repos, public_repos);
    row("profile-followers", |t| t.followers, followers);
    // Only web addresses become links: the value comes from the provider.
    if let Some(url) = profile_url {
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
        rows.push(Fact("", |t| t.profile_page, value));
    }
    if rows.is_empty() {
        return view! { <p class="missing" id="profile-details-none">{text(|t| t.details_none)}</p> }
            .into_any();
    }
    facts(Some("profile-details"), rows)
}

/// One row of a list of facts: the id of its value, its label, and the value.
struct Fact(&'static str, fn(&SpaTexts) -> &'static str, AnyView);

/// A `<dl class="facts">`: every list of facts on the page shares this one view.
fn facts(id: Option<&'static str>, rows: Vec<Fact>) -> AnyView {
    let rows = rows
        .into_iter()
        .map(|Fact(id, label, value)| {
            let id = (!id.is_empty()).then_some(id);
            view! {
                <dt>{text(label)}</dt>
                <dd id=id>{value}</dd>
            }
        })
        .collect_view();
    view! { <dl class="facts" id=id>{rows}</dl> }.into_any()
}

/// 42 levels have two decimals (`7.42`); Spanish writes the comma. The browser's
/// `Intl.NumberFormat` writes it in the reader's language, as dates are.
fn format_level(lang: Lang, level: f64) -> String {
    let options = js_sys::Object::new();
    for key in ["minimumFractionDigits", "maximumFractionDigits"] {
        let _ = js_sys::Reflect::set(&options, &key.into(), &2.into());
    }
    let locales = js_sys::Array::of1(&lang.tag().into());
    js_sys::Intl::NumberFormat::new(&locales, &options)
        .format()
        .call1(&JsValue::UNDEFINED, &level.into())
        .ok()
        .and_then(|text| text.as_string())
        .unwrap_or_default()
}

/// Providers may withhold a field (a private GitHub email), and Portero sends no header for a
/// missing value: say so (`missing`) instead of leaving a gap.
fn or_missing(value: Option<String>, missing: fn(&SpaTexts) -> &'static str) -> AnyView {
    match value {
        Some(value) => view! { {value} }.into_any(),
        None => view! { <span class="missing">{text(missing)}</span> }.into_any(),
    }
}

/// Seconds since the Unix epoch, in the reader's language and time zone.
fn local_time(lang: Lang, seconds: i64) -> String {
    let date = js_sys::Date::new(&JsValue::from_f64(seconds as f64 * 1000.0));
    date.to_locale_string(lang.tag(), &JsValue::UNDEFINED)
        .into()
}
