use leptos::{prelude::*, task::spawn_local};
use shared::{ReturnTo, SessionRequest};

use crate::{
    api::{self, ApiFailure},
    auth::{parse_callback_query, remembered_return_to, start_login, CallbackQuery},
    components::{remembered_name, ErrorNotice},
    i18n::{failure_text, fill, tr, use_i18n},
    loader::Loaded,
    plain::bool_text,
    router::{is_spa_route, use_router},
};

/// What the callback page shows.
#[derive(Clone)]
enum Status {
    /// `POST /api/session` is on its way: the backend checks the state and trades the code
    /// with the provider.
    Checking,
    /// The session exists: on the way to `return_to`.
    SigningIn,
    /// The login worked at the provider, but the backend's access rules (DESIGN.md, "Who may log
    /// in") refuse this person: 403 `access_denied`, with the backend's sentence naming the rule.
    Denied { reason: String },
    /// The provider or the backend said no: a machine code and, when given, the details.
    Failed {
        code: String,
        description: Option<String>,
        /// Set when the backend could not be reached: the same code may be sent once more.
        resend: Option<SessionRequest>,
    },
}

/// `/callback/:provider`: where the provider sends the person back (flow steps 4 and 5).
#[component]
pub fn Callback(
    /// The `{provider}` of the path.
    provider: String,
) -> impl IntoView {
    let i18n = use_i18n();
    // Only for the provider's display name; the exchange below does not wait for it.
    let providers = Loaded::new(api::providers);
    let provider_name = {
        let provider = provider.clone();
        // Meanwhile the name the login button showed, else the id.
        let known = remembered_name(&provider).unwrap_or_else(|| provider.clone());
        Memo::new(move |_| {
            providers
                .get()
                .and_then(Result::ok)
                .and_then(|list| list.into_iter().find(|p| p.id == provider))
                .map_or_else(|| known.clone(), |p| p.name)
        })
    };

    // Read the query straight from the address bar, then take it out of there at once: the
    // code must not linger in the history, be bookmarked or be shared (DESIGN.md, rule 10).
    // This runs in the component body, once per visit — not in an effect that could re-run and
    // spend the single-use code twice — and a remount finds the address bar already clean.
    let query = take_query();

    let status = RwSignal::new(Status::Checking);
    let router = use_router();
    // Sends the code to the backend; kept so "Retry" can send it again after a network error.
    let exchange = StoredValue::new_local(move |request: SessionRequest| {
        status.set(Status::Checking);
        spawn_local(async move {
            match api::session(&request).await {
                Ok(session) => {
                    status.set(Status::SigningIn);
                    // The backend already checked it; checking again costs nothing and keeps
                    // this page from ever being an open redirect on its own.
                    let target = ReturnTo::parse(Some(&session.return_to));
                    if is_spa_route(target.as_str()) {
                        router.navigate(target.as_str(), true);
                    } else if let Some(window) = web_sys::window() {
                        // A page the SPA does not show (the app behind Portero, served by nginx
                        // or an upstream): the browser loads it. `replace`, like the router
                        // above, so Back does not return to a spent callback.
                        let _ = window.location().replace(target.as_str());
                    }
                }
                Err(ApiFailure::Status { status: 403, error })
                    if error.error == shared::codes::ACCESS_DENIED =>
                {
                    status.set(Status::Denied {
                        reason: error.message,
                    })
                }
                Err(failure) => status.set(Status::Failed {
                    code: failure.code().to_owned(),
                    description: match &failure {
                        ApiFailure::Status { error, .. } => Some(error.message.clone()),
                        ApiFailure::Network(_) => None,
                    },
                    resend: matches!(failure, ApiFailure::Network(_)).then_some(request),
                }),
            }
        });
    });
    match query {
        CallbackQuery::Error { error, description } => status.set(Status::Failed {
            code: error,
            description,
            resend: None,
        }),
        CallbackQuery::Incomplete => status.set(Status::Failed {
            code: shared::codes::BAD_REQUEST.to_owned(),
            description: None,
            resend: None,
        }),
        CallbackQuery::Code { code, state, iss } => exchange.with_value(|send| {
            send(SessionRequest {
                provider: provider.clone(),
                code,
                state,
                iss,
            })
        }),
    }

    // "Try again" and "Try another account": a new login with the same provider, towards the
    // page the first one was going to.
    let restarting = RwSignal::new(false);
    let restart_failure = RwSignal::new(None::<ApiFailure>);
    let restart = StoredValue::new_local(move |another_account: bool| {
        let provider = provider.clone();
        restarting.set(true);
        restart_failure.set(None);
        spawn_local(async move {
            let failure = start_login(&provider, remembered_return_to(), another_account).await;
            restart_failure.set(Some(failure));
            restarting.set(false);
        });
    });
    let restart_notice = move || {
        restart_failure.get().map(|failure| {
            view! { <ErrorNotice failure provider=provider_name.get() /> }
        })
    };

    move || match status.get() {
        step @ (Status::Checking | Status::SigningIn) => {
            let signing_in = matches!(step, Status::SigningIn);
            let (first, second) = if signing_in {
                ("done", "active")
            } else {
                ("active", "pending")
            };
            view! {
                <section class="card" id="callback-status" aria-busy="true">
                    <ol class="steps" aria-live="polite">
                        <li class=first aria-current=(!signing_in).then_some("step")>
                            {move || fill(i18n.t().step_checking, &provider_name.get())}
                        </li>
                        <li class=second aria-current=signing_in.then_some("step")>
                            {tr(|t| t.step_signing_in)}
                        </li>
                    </ol>
                </section>
            }
            .into_any()
        }
        Status::Failed {
            code,
            description,
            resend,
        } => {
            let sentence = {
                let code = code.clone();
                move || {
                    let t = i18n.t();
                    let text = failure_text(t, &code).unwrap_or(t.err_unknown);
                    fill(text, &provider_name.get())
                }
            };
            let retry = resend.map(|request| {
                view! {
                    <button
                        type="button"
                        id="retry"
                        class="secondary"
                        on:click=move |_| exchange.with_value(|send| send(request.clone()))
                    >
                        {tr(|t| t.retry)}
                    </button>
                }
            });
            view! {
                <section class="card" id="callback-error" role="alert" aria-labelledby="error-title">
                    <h1 id="error-title">{tr(|t| t.login_failed)}</h1>
                    <p id="error-summary" class="lead">{sentence}</p>
                    <dl class="error-facts">
                        <dt>{tr(|t| t.error_code)}</dt>
                        <dd><code id="error-code">{code}</code></dd>
                        {description.map(|text| view! {
                            <dt>{tr(|t| t.error_details)}</dt>
                            <dd id="error-description">{text}</dd>
                        })}
                    </dl>
                    <div class="actions">
                        {retry}
                        <button
                            type="button"
                            id="try-again"
                            on:click=move |_| restart.with_value(|start| start(false))
                            disabled=restarting
                            aria-busy=move || bool_text(restarting.get())
                        >
                            {tr(|t| t.try_again)}
                        </button>
                        <a href="/" id="back-home" class="button secondary">
                            {tr(|t| t.back_home)}
                        </a>
                    </div>
                    {restart_notice}
                </section>
            }
            .into_any()
        }
        Status::Denied { reason } => view! {
            <section class="card" id="access-denied" role="alert" aria-labelledby="denied-title">
                <h1 id="denied-title">{tr(|t| t.denied_title)}</h1>
                <p class="lead">{move || fill(i18n.t().denied_lead, &provider_name.get())}</p>
                <dl class="error-facts">
                    <dt>{tr(|t| t.error_details)}</dt>
                    <dd id="denied-reason">{reason}</dd>
                </dl>
                <div class="actions">
                    <button
                        type="button"
                        id="try-another-account"
                        on:click=move |_| restart.with_value(|start| start(true))
                        disabled=restarting
                        aria-busy=move || bool_text(restarting.get())
                    >
                        {tr(|t| t.try_another_account)}
                    </button>
                    <a href="/" id="back-home" class="button secondary">
                        {tr(|t| t.back_home)}
                    </a>
                </div>
                {restart_notice}
            </section>
        }
        .into_any(),
    }
}

/// Parses `location.search` and replaces the URL with its bare path (`/callback/{provider}`).
fn take_query() -> CallbackQuery {
    let Some(window) = web_sys::window() else {
        return CallbackQuery::Incomplete;
    };
    let location = window.location();
    let query = parse_callback_query(&location.search().unwrap_or_default());
    if let (Ok(history), Ok(path)) = (window.history(), location.pathname()) {
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&path));
    }
    query
}
