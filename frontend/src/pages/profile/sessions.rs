//! The person's sessions (DESIGN.md, "Sessions people control"): this browser's and the
//! others, each named from its `User-Agent` and with when it was last used; "End" ends one
//! (`DELETE /api/sessions/{id}`), "Log out everywhere" all of them.

use leptos::{prelude::*, task::spawn_local};
use shared::SessionInfo;

use crate::{
    api::{self, ApiFailure},
    components::{failure_sentence, LogoutButton, Skeleton},
    i18n::{fill, now_seconds, time_ago, tr, use_i18n},
    loader::Loaded,
    plain::bool_text,
    user_agent::device_name,
};

/// This browser's session first, then the most recently used.
async fn load() -> Result<Vec<SessionInfo>, ApiFailure> {
    let mut sessions = api::sessions().await?;
    // An insertion sort: a person has a handful of sessions, and the standard library's sorts
    // would add ~3 KB of WebAssembly for them.
    let before = |a: &SessionInfo, b: &SessionInfo| {
        (a.current && !b.current) || (a.current == b.current && a.last_seen_at > b.last_seen_at)
    };
    for i in 1..sessions.len() {
        let mut j = i;
        while j > 0 && before(&sessions[j], &sessions[j - 1]) {
            sessions.swap(j, j - 1);
            j -= 1;
        }
    }
    Ok(sessions)
}

#[component]
pub fn Sessions(
    /// The session's provider, for the RP-initiated logout link after "Log out everywhere".
    provider: String,
    /// Set when a call answers 401: the session is gone, and the page says so.
    signed_out: RwSignal<bool>,
) -> impl IntoView {
    let i18n = use_i18n();
    let list = Loaded::new(load);
    Effect::new(move |_| {
        if list
            .get()
            .is_some_and(|answer| answer.is_err_and(|failure| failure.is_unauthorized()))
        {
            signed_out.set(true);
        }
    });
    // The session being ended, and why the last attempt failed.
    let ending = RwSignal::new(None::<String>);
    let end_failure = RwSignal::new(None::<ApiFailure>);
    let end = move |id: String| {
        ending.set(Some(id.clone()));
        end_failure.set(None);
        spawn_local(async move {
            match api::end_session(&id).await {
                // 404: it ended meanwhile (it expired, or was ended from another browser).
                Ok(()) | Err(ApiFailure::Status { status: 404, .. }) => list.refresh(),
                Err(failure) if failure.is_unauthorized() => signed_out.set(true),
                Err(failure) => end_failure.set(Some(failure)),
            }
            ending.set(None);
        });
    };

    let row = move |session: SessionInfo| {
        let SessionInfo {
            id,
            current,
            created_at,
            last_seen_at,
            user_agent,
            ..
        } = session;
        let name = move || {
            let t = i18n.t();
            if current {
                t.this_browser.to_owned()
            } else {
                device_name(t, user_agent.as_deref())
            }
        };
        // This browser is in use right now: when it signed in says more.
        let when = move || {
            let t = i18n.t();
            let (text, moment) = if current {
                (t.signed_in_at, created_at)
            } else {
                (t.last_seen, last_seen_at)
            };
            fill(text, &time_ago(i18n.lang(), moment, now_seconds()))
        };
        let button = (!current).then(|| {
            let label = name.clone();
            let busy_id = id.clone();
            view! {
                <button
                    type="button"
                    class="session-end secondary"
                    aria-label=move || fill(i18n.t().end_session_of, &label())
                    disabled=move || ending.with(Option::is_some)
                    aria-busy=move || {
                        bool_text(ending.with(|e| e.as_deref() == Some(busy_id.as_str())))
                    }
                    on:click=move |_| end(id.clone())
                >
                    {tr(|t| t.end_session)}
                </button>
            }
        });
        view! {
            <li class="session" data-current=bool_text(current)>
                <div>
                    <strong class="session-name">{name}</strong>
                    <span class="session-when">{when}</span>
                </div>
                {button}
            </li>
        }
    };

    let notice = move |id: &'static str,
                       lead: fn(&crate::i18n::Texts) -> &'static str,
                       failure: ApiFailure| {
        let code = failure.code().to_owned();
        view! {
            <div class="notice error" role="alert" id=id data-error=code>
                <p>
                    {tr(lead)} " "
                    {move || failure_sentence(i18n.t(), &failure, None)}
                </p>
            </div>
        }
    };

    view! {
        <section class="card" id="sessions" aria-labelledby="sessions-title">
            <h2 id="sessions-title">{tr(|t| t.sessions_title)}</h2>
            {move || match list.get() {
                // A 401 is on its way to the "session ended" card.
                None | Some(Err(ApiFailure::Status { status: 401, .. })) => {
                    view! { <Skeleton id="sessions-loading" lines=2 /> }.into_any()
                }
                Some(Err(failure)) => view! {
                    {notice("sessions-error", |t| t.sessions_failed, failure)}
                    <button type="button" id="sessions-retry" class="secondary" on:click=move |_| list.reload()>
                        {tr(|t| t.retry)}
                    </button>
                }
                .into_any(),
                Some(Ok(sessions)) => view! {
                    <ul class="sessions">{sessions.into_iter().map(row).collect_view()}</ul>
                }
                .into_any(),
            }}
            {move || end_failure.get().map(|failure| notice("session-end-error", |t| t.end_session_failed, failure))}
            <div class="actions">
                <LogoutButton provider everywhere=true />
            </div>
        </section>
    }
}
