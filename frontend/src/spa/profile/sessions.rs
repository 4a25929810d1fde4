//! The person's sessions (docs/design.md, "Sessions people control"): this browser's and the
//! others, each named from its `User-Agent` and with when it was last used; "End" ends one
//! (`DELETE /api/sessions/{id}`), "Log out everywhere" all of them.

use leptos::{prelude::*, task::spawn_local};
use shared::SessionInfo;

use super::{text, texts};
use crate::{
    api::{self, ApiFailure},
    i18n::{fill, use_i18n, Lang},
    logout::logout_button,
    spa::user_agent::device_name,
    views::{error_notice, Retry, Skeleton},
};

/// This browser's session first, then the most recently used.
async fn load() -> Result<Vec<SessionInfo>, ApiFailure> {
    let mut sessions: Vec<SessionInfo> = api::get("/api/sessions").await?;
    sessions.sort_by_key(|s| (!s.current, std::cmp::Reverse(s.last_seen_at)));
    Ok(sessions)
}

#[component]
pub(super) fn Sessions(
    /// Set when a call answers 401: the session is gone, and the page says so.
    signed_out: RwSignal<bool>,
) -> impl IntoView {
    let i18n = use_i18n();
    let list = RwSignal::new(None::<Result<Vec<SessionInfo>, ApiFailure>>);
    // Asks again; with `clear`, the placeholder shows meanwhile instead of the old list.
    let load = move |clear: bool| {
        if clear {
            list.set(None);
        }
        spawn_local(async move {
            let answer = load().await;
            if answer.as_ref().is_err_and(ApiFailure::is_unauthorized) {
                signed_out.set(true);
            }
            list.set(Some(answer));
        });
    };
    load(true);
    // The session being ended, and why the last attempt failed.
    let ending = RwSignal::new(None::<String>);
    let end_failure = RwSignal::new(None::<ApiFailure>);
    let end = move |id: String| {
        ending.set(Some(id.clone()));
        end_failure.set(None);
        spawn_local(async move {
            let path = format!(
                "/api/sessions/{}",
                String::from(js_sys::encode_uri_component(&id))
            );
            match api::delete::<()>(&path).await {
                Ok(()) => load(false),
                // It ended meanwhile (it expired, or was ended from another browser).
                Err(failure) if failure.status() == 404 => load(false),
                Err(failure) if failure.is_unauthorized() => signed_out.set(true),
                Err(failure) => end_failure.set(Some(failure)),
            }
            ending.set(None);
        });
    };

    // One row, in `lang`: the list is built again when the language changes.
    let row = move |lang: Lang, session: SessionInfo| {
        let SessionInfo {
            id,
            current,
            created_at,
            last_seen_at,
            user_agent,
            ..
        } = session;
        let t = texts(lang);
        let name = if current {
            t.this_browser.to_owned()
        } else {
            device_name(t, user_agent.as_deref())
        };
        // This browser is in use right now: when it signed in says more.
        let (when, moment) = if current {
            (t.signed_in_at, created_at)
        } else {
            (t.last_seen, last_seen_at)
        };
        let when = fill(when, &time_ago(lang, moment, now_seconds()));
        let button = (!current).then(|| {
            let busy_id = id.clone();
            view! {
                <button
                    type="button"
                    class="session-end secondary"
                    aria-label=fill(t.end_session_of, &name)
                    disabled=move || ending.with(Option::is_some)
                    aria-busy=move || {
                        ending.with(|e| e.as_deref() == Some(busy_id.as_str())).to_string()
                    }
                    on:click=move |_| end(id.clone())
                >
                    {t.end_session}
                </button>
            }
        });
        view! {
            <li class="session" data-current=current.to_string()>
                <div>
                    <strong class="session-name">{name}</strong>
                    <span class="session-when">{when}</span>
                </div>
                {button}
            </li>
        }
    };

    view! {
        <section class="card" id="sessions" aria-labelledby="sessions-title">
            <h2 id="sessions-title">{text(|t| t.sessions_title)}</h2>
            {move || match list.get() {
                // A 401 is on its way to the "session ended" card.
                None => view! { <Skeleton id="sessions-loading" lines=2 /> }.into_any(),
                Some(Err(failure)) if failure.is_unauthorized() => {
                    view! { <Skeleton id="sessions-loading" lines=2 /> }.into_any()
                }
                Some(Err(failure)) => error_notice(
                    "sessions-error",
                    Some(Box::new(text(|t| t.sessions_failed))),
                    failure,
                    None,
                    Some(Retry("sessions-retry", Box::new(move || load(true)))),
                )
                .into_any(),
                Some(Ok(sessions)) => {
                    let lang = i18n.lang();
                    let rows = sessions.into_iter().map(|session| row(lang, session));
                    view! { <ul class="sessions">{rows.collect_view()}</ul> }
                }
                .into_any(),
            }}
            {move || {
                end_failure.get().map(|failure| {
                    let lead = Box::new(text(|t| t.end_session_failed));
                    error_notice("session-end-error", Some(lead), failure, None, None)
                })
            }}
            <div class="actions">{logout_button(true)}</div>
        </section>
    }
}

/// "3 minutes ago", "hace 2 horas": how long before `now` the moment `then` was (both in
/// seconds since the Unix epoch), in the reader's language, by the browser's
/// `Intl.RelativeTimeFormat`. Under a minute: "just now".
fn time_ago(lang: Lang, then: i64, now: i64) -> String {
    let seconds = now.saturating_sub(then).max(0);
    let (amount, unit) = match seconds {
        0..=59 => return texts(lang).just_now.to_owned(),
        60..=3599 => (seconds / 60, "minute"),
        3600..=86_399 => (seconds / 3600, "hour"),
        _ => (seconds / 86_400, "day"),
    };
    let locales = js_sys::Array::of1(&lang.tag().into());
    js_sys::Intl::RelativeTimeFormat::new(&locales, &js_sys::Object::new())
        .format(-(amount as f64), unit)
        .into()
}

/// Seconds since the Unix epoch, by the browser's clock.
fn now_seconds() -> i64 {
    (js_sys::Date::now() / 1000.0) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn last_seen_reads_as_a_relative_time_in_both_languages() {
        let now = 1_800_000_000;
        assert_eq!(time_ago(Lang::En, now - 20, now), "just now");
        assert_eq!(time_ago(Lang::Es, now - 20, now), "justo ahora");
        assert_eq!(time_ago(Lang::En, now - 3 * 60 - 10, now), "3 minutes ago");
        assert_eq!(time_ago(Lang::Es, now - 3 * 60, now), "hace 3 minutos");
        assert_eq!(time_ago(Lang::En, now - 3600, now), "1 hour ago");
        assert_eq!(time_ago(Lang::Es, now - 5 * 3600, now), "hace 5 horas");
        assert_eq!(time_ago(Lang::En, now - 2 * 86_400, now), "2 days ago");
        // A clock a little ahead of the server's is not "in 1 minute".
        assert_eq!(time_ago(Lang::En, now + 90, now), "just now");
    }
}
