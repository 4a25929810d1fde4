use leptos::{prelude::*, task::spawn_local};
use leptos_router::{
    hooks::{use_navigate, use_params_map},
    NavigateOptions,
};
use shared::{ReturnTo, SessionRequest};

use crate::{
    api,
    auth::{parse_callback_query, CallbackQuery},
};

/// What the callback page shows.
#[derive(Clone)]
enum Status {
    /// The code is being exchanged for a session.
    SigningIn,
    /// The provider or the backend said no: a machine code and, when given, a sentence.
    Failed {
        code: String,
        description: Option<String>,
    },
}

/// `/callback/:provider`: where the provider sends the person back (flow steps 4 and 5).
#[component]
pub fn Callback() -> impl IntoView {
    let provider = use_params_map()
        .read_untracked()
        .get("provider")
        .unwrap_or_default();
    let navigate = use_navigate();

    // Read the query straight from the address bar, then take it out of there at once: the
    // code must not linger in the history, be bookmarked or be shared (DESIGN.md, rule 10).
    // This runs in the component body, once per visit — not in an effect that could re-run and
    // spend the single-use code twice — and a remount finds the address bar already clean.
    let query = take_query();

    let status = RwSignal::new(Status::SigningIn);
    match query {
        CallbackQuery::Error { error, description } => status.set(Status::Failed {
            code: error,
            description,
        }),
        CallbackQuery::Incomplete => status.set(Status::Failed {
            code: shared::codes::BAD_REQUEST.to_owned(),
            description: Some("The provider did not send back an authorization code.".into()),
        }),
        CallbackQuery::Code { code, state, iss } => {
            let request = SessionRequest {
                provider,
                code,
                state,
                iss,
            };
            spawn_local(async move {
                match api::session(&request).await {
                    Ok(session) => {
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
                    Err(failure) => status.set(Status::Failed {
                        code: failure.code().to_owned(),
                        description: Some(failure.message().to_owned()),
                    }),
                }
            });
        }
    }

    move || match status.get() {
        Status::SigningIn => view! {
            <p class="status" id="callback-status" aria-live="polite">
                "Signing you in…"
            </p>
        }
        .into_any(),
        Status::Failed { code, description } => view! {
            <section class="card" id="callback-error" role="alert">
                <h1>"Login failed"</h1>
                <p>"Error: " <code id="error-code">{code}</code></p>
                {description.map(|text| view! { <p id="error-description">{text}</p> })}
                <a href="/" id="back-home" class="button">"Back to the start page"</a>
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
