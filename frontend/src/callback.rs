//! `/callback/:provider`: where the provider sends the person back (flow steps 4 and 5 of
//! docs/design.md).

use leptos::{prelude::*, task::spawn_local};
use leptos_router::{
    hooks::{use_navigate, use_params_map, use_query_map},
    params::ParamsMap,
    NavigateOptions,
};
use shared::{codes, LoginRequest, ReturnTo, SessionRequest, SessionResponse};

use crate::{
    api::{self, ApiFailure, NETWORK_ERROR},
    i18n::{failure_text, fill, tr, use_i18n},
    login::{provider_name, remembered_return_to, start_login, LoginButtons},
    portero::use_portero,
    views::error_notice,
};

/// Finishes a login: mount it on the path Portero's backend sends providers back to,
/// `/callback/:provider`, in your `<Routes>`:
///
/// ```ignore
/// <Route path=path!("/callback/:provider") view=Callback />
/// ```
///
/// It takes the provider's `code` out of the address bar at once, trades it for a session with
/// the backend (`POST /api/session`), then goes to the page the login started for. Meanwhile it
/// names both steps; when the provider refused, the code was stale, the provider is down or
/// Portero's access rules refuse the person, it says so in words, with "Try again" (or "Try
/// another account"). A provider that answers a `prompt=none` login with `login_required` (or
/// `interaction_required`, `consent_required`, `account_selection_required`) gets the ordinary
/// login buttons instead: nothing failed, the person only needs to log in.
#[component]
pub fn Callback() -> impl IntoView {
    let i18n = use_i18n();
    let portero = use_portero();
    let navigate = use_navigate();
    let provider = use_params_map()
        .with_untracked(|params| params.get("provider"))
        .unwrap_or_default();

    // Read the query once, here in the component's body — never in an effect that could run
    // again and spend the single-use code twice — then take it out of the address bar at once:
    // the code must not linger in the history, be bookmarked or be shared (docs/design.md,
    // rule 10). A remount finds the address bar already clean.
    let query = use_query_map().with_untracked(CallbackQuery::read);
    {
        // Once this render is done (a microtask: before any answer can arrive).
        let navigate = navigate.clone();
        let bare = format!(
            "/callback/{}",
            String::from(js_sys::encode_uri_component(&provider))
        );
        queue_microtask(move || {
            navigate(
                &bare,
                NavigateOptions {
                    replace: true,
                    scroll: false,
                    ..Default::default()
                },
            )
        });
    }

    // Named as the login button named it; the exchange below does not wait for it.
    let provider_name = provider_name(&provider);

    let status = RwSignal::new(Status::Checking);
    // Sends the code to the backend; kept so "Retry" can send it again after a network error.
    let exchange = StoredValue::new_local(move |request: SessionRequest| {
        status.set(Status::Checking);
        let navigate = navigate.clone();
        spawn_local(async move {
            match api::post::<SessionResponse, _>("/api/session", &request).await {
                Ok(session) => {
                    status.set(Status::SigningIn);
                    // Whoever the pages below ask about is signed in from now on.
                    portero.reload().await;
                    // The backend already checked it; checking again costs nothing and keeps
                    // this page from ever being an open redirect on its own.
                    let target = ReturnTo::parse(Some(&session.return_to));
                    navigate(
                        target.as_str(),
                        NavigateOptions {
                            replace: true,
                            ..Default::default()
                        },
                    );
                }
                Err(error) if error.status() == 403 && error.code() == codes::ACCESS_DENIED => {
                    status.set(Status::Denied {
                        reason: error.message().to_owned(),
                    })
                }
                Err(failure) => status.set(Status::Failed {
                    code: failure.code().to_owned(),
                    description: (failure.status() != 0).then(|| failure.message().to_owned()),
                    resend: (failure.code() == NETWORK_ERROR).then_some(request),
                }),
            }
        });
    });
    match query {
        // A silent login (`prompt=none`) the provider could not answer without the person:
        // nothing failed, they only need to log in (OpenID Connect Core §3.1.2.6).
        CallbackQuery::Error { error, .. } if needs_the_person(&error) => status.set(Status::LogIn),
        CallbackQuery::Error { error, description } => status.set(Status::Failed {
            code: error,
            description,
            resend: None,
        }),
        CallbackQuery::Incomplete => status.set(Status::Failed {
            code: codes::BAD_REQUEST.to_owned(),
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
            let request = LoginRequest {
                return_to: Some(remembered_return_to()),
                another_account,
                ..LoginRequest::default()
            };
            let failure = start_login(&provider, request).await;
            restart_failure.set(Some(failure));
            restarting.set(false);
        });
    });
    let restart_button = move |id: &'static str, another_account: bool| {
        view! {
            <button
                type="button"
                id=id
                on:click=move |_| restart.with_value(|start| start(another_account))
                disabled=restarting
                aria-busy=move || restarting.get().to_string()
            >
                {tr(if another_account { |t| t.try_another_account } else { |t| t.try_again })}
            </button>
            <a href="/" id="back-home" class="button secondary">
                {tr(|t| t.back_home)}
            </a>
        }
    };
    let restart_notice = move || {
        restart_failure.get().map(|failure| {
            error_notice("api-error", None, failure, Some(provider_name.get()), None)
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
                    <div class="actions">{retry} {restart_button("try-again", false)}</div>
                    {restart_notice}
                </section>
            }
            .into_any()
        }
        Status::LogIn => view! {
            <section class="card" id="log-in" aria-labelledby="log-in-lead">
                <p class="lead" id="log-in-lead">
                    {move || fill(i18n.t().err_interaction, &provider_name.get())}
                </p>
                <LoginButtons return_to=remembered_return_to() />
            </section>
        }
        .into_any(),
        Status::Denied { reason } => view! {
            <section class="card" id="access-denied" role="alert" aria-labelledby="denied-title">
                <h1 id="denied-title">{tr(|t| t.denied_title)}</h1>
                <p class="lead">{move || fill(i18n.t().denied_lead, &provider_name.get())}</p>
                <dl class="error-facts">
                    <dt>{tr(|t| t.error_details)}</dt>
                    <dd id="denied-reason">{reason}</dd>
                </dl>
                <div class="actions">{restart_button("try-another-account", true)}</div>
                {restart_notice}
            </section>
        }
        .into_any(),
    }
}

/// What the callback page shows.
#[derive(Clone)]
enum Status {
    /// `POST /api/session` is on its way: the backend checks the state and trades the code
    /// with the provider.
    Checking,
    /// The session exists: on the way to `return_to`.
    SigningIn,
    /// The login worked at the provider, but the backend's access rules refuse this person:
    /// 403 `access_denied`, with the backend's sentence naming the rule.
    Denied { reason: String },
    /// The provider answered a `prompt=none` login that the person must log in themselves:
    /// the ordinary login buttons.
    LogIn,
    /// The provider or the backend said no: a machine code and, when given, the details.
    Failed {
        code: String,
        description: Option<String>,
        /// Set when the backend could not be reached: the same code may be sent once more.
        resend: Option<SessionRequest>,
    },
}

/// The errors a provider answers a `prompt=none` login with when it needs the person (OpenID
/// Connect Core §3.1.2.6): no failure, a login to offer.
fn needs_the_person(error: &str) -> bool {
    matches!(
        error,
        "login_required"
            | "interaction_required"
            | "consent_required"
            | "account_selection_required"
    )
}

/// What the provider sent back to `/callback/{provider}` (RFC 6749 §4.1.2).
#[derive(Clone, Debug, PartialEq, Eq)]
enum CallbackQuery {
    /// The person agreed: exchange `code` (with `state`, and `iss` when the provider sends it,
    /// RFC 9207) for a session.
    Code {
        code: String,
        state: String,
        iss: Option<String>,
    },
    /// The provider refused or the person cancelled (RFC 6749 §4.1.2.1).
    Error {
        error: String,
        description: Option<String>,
    },
    /// Neither a complete answer nor an error: nothing to send to the backend.
    Incomplete,
}

impl CallbackQuery {
    /// Reads the callback's query. An `error` wins over a `code`: RFC 6749 never sends both,
    /// and when something does, refusing is the safe reading. Empty values count as missing.
    fn read(query: &ParamsMap) -> CallbackQuery {
        let get = |name: &str| query.get(name).filter(|value| !value.is_empty());
        if let Some(error) = get("error") {
            return CallbackQuery::Error {
                error,
                description: get("error_description"),
            };
        }
        match (get("code"), get("state")) {
            (Some(code), Some(state)) => CallbackQuery::Code {
                code,
                state,
                iss: get("iss"),
            },
            _ => CallbackQuery::Incomplete,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

    /// The query as leptos_router reads it from the address bar: the browser's own parser.
    fn read(search: &str) -> CallbackQuery {
        let params = web_sys::UrlSearchParams::new_with_str(search).unwrap();
        let mut query = ParamsMap::new();
        for pair in js_sys::try_iter(&params).unwrap().unwrap() {
            let pair = js_sys::Array::from(&pair.unwrap());
            query.insert(
                pair.get(0).as_string().unwrap(),
                pair.get(1).as_string().unwrap(),
            );
        }
        CallbackQuery::read(&query)
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn callback_with_a_code_yields_code_state_and_iss() {
        assert_eq!(
            read("?code=abc%2F123&state=st%2Bate&iss=https%3A%2F%2Fidp.test"),
            CallbackQuery::Code {
                code: "abc/123".into(),
                state: "st+ate".into(),
                iss: Some("https://idp.test".into()),
            }
        );
        // Without `iss` (GitHub sends none).
        assert_eq!(
            read("state=s&code=c"),
            CallbackQuery::Code {
                code: "c".into(),
                state: "s".into(),
                iss: None,
            }
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn callback_with_an_error_yields_error_and_description() {
        assert_eq!(
            read("?error=access_denied&error_description=The+user+denied+access&state=s"),
            CallbackQuery::Error {
                error: "access_denied".into(),
                description: Some("The user denied access".into()),
            }
        );
        assert_eq!(
            read("?error=server_error"),
            CallbackQuery::Error {
                error: "server_error".into(),
                description: None,
            }
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn a_silent_login_the_person_must_answer_offers_the_login_buttons_and_other_errors_do_not() {
        for error in [
            "login_required",
            "interaction_required",
            "consent_required",
            "account_selection_required",
        ] {
            let CallbackQuery::Error { error, .. } = read(&format!("?error={error}&state=s"))
            else {
                panic!("{error}: an error")
            };
            assert!(needs_the_person(&error), "{error}");
        }
        for error in ["access_denied", "server_error", "invalid_request", ""] {
            assert!(!needs_the_person(error), "{error}");
        }
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn an_error_wins_over_a_code() {
        assert!(matches!(
            read("?code=c&state=s&error=access_denied"),
            CallbackQuery::Error { .. }
        ));
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn a_callback_without_code_or_state_is_incomplete() {
        for query in [
            "",
            "?",
            "?code=c",
            "?state=s",
            "?code=&state=s",
            "?code=c&state=",
        ] {
            assert_eq!(read(query), CallbackQuery::Incomplete, "{query:?}");
        }
    }
}
