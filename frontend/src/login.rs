//! Starting a login (flow steps 1 to 3 of docs/design.md): the provider buttons, the login
//! attempt the backend opens, and the provider's authorize URL the browser leaves for.

use std::collections::BTreeMap;

use leptos::{prelude::*, task::spawn_local};
use leptos_router::hooks::{use_location, use_query_map};
use shared::{LoginRequest, LoginResponse, ProviderInfo};
use web_sys::Url;

use crate::{
    api::{self, ApiFailure},
    brand_mark::BrandMark,
    i18n::{fill, tr, use_i18n},
    views::{error_notice, Retry, Skeleton},
};

/// One "Log in with …" button per provider Portero's backend offers (`GET /api/providers`),
/// each with the provider's mark; a click leaves for that provider's login page.
///
/// After the login the person comes back to `return_to`: a path of this app, such as
/// `"/games"`. Without it, to the `?return_to=` of the address bar (where [`RequireLogin`]
/// sends a visitor without a session), else to this page. Portero accepts only a path of this
/// origin; anything else becomes `/`.
///
/// While the list loads it shows a placeholder, and when the server cannot be reached it says
/// so with a "Retry" button. Place it inside a `leptos_router` `<Router>`.
///
/// [`RequireLogin`]: crate::RequireLogin
///
/// `prompt`, `login_hint` and `max_age` go to the provider with the login (OpenID Connect Core
/// §3.1.2.1; Portero's backend passes allow-listed values on and answers 400 to others):
/// `prompt="login"` asks the person to log in again even when the provider remembers them,
/// `login_hint` fills in who, and `max_age` asks for a login at the provider no older than
/// that many seconds. Providers that do not know a parameter (GitHub, 42) ignore it.
#[component]
pub fn LoginButtons(
    /// Where the person lands after logging in: a path of this app.
    #[prop(optional, into)]
    return_to: Option<String>,
    /// OpenID Connect's `prompt`: `login`, `consent`, `select_account` or `none`,
    /// space-separated (`none` alone).
    #[prop(optional, into)]
    prompt: Option<String>,
    /// Who is expected to log in: an email address or a login, to prefill the provider's form.
    #[prop(optional, into)]
    login_hint: Option<String>,
    /// Seconds: the provider asks the person to log in again when their login there is older.
    #[prop(optional)]
    max_age: Option<u64>,
) -> impl IntoView {
    let query = use_query_map();
    let location = use_location();
    let return_to = StoredValue::new(return_to);
    let asked = StoredValue::new(LoginRequest {
        prompt,
        login_hint,
        max_age,
        ..LoginRequest::default()
    });
    // Read at the click, so a `?return_to=` the address bar gained meanwhile counts.
    let request = move || {
        let target = return_to.get_value().unwrap_or_else(|| {
            query
                .with_untracked(|query| query.get("return_to"))
                .unwrap_or_else(|| location.pathname.get_untracked())
        });
        LoginRequest {
            return_to: Some(target),
            ..asked.get_value()
        }
    };
    let providers = RwSignal::new(None::<Result<Vec<ProviderInfo>, ApiFailure>>);
    let load = move || {
        providers.set(None);
        spawn_local(async move { providers.set(Some(api::get("/api/providers").await)) });
    };
    load();
    move || match providers.get() {
        None => view! { <Skeleton id="providers-loading" lines=2 /> }.into_any(),
        Some(Err(failure)) => error_notice(
            "api-error",
            None,
            failure,
            None,
            Some(Retry("retry", Box::new(load))),
        )
        .into_any(),
        Some(Ok(list)) if list.is_empty() => {
            view! { <p class="notice" id="no-providers">{tr(|t| t.no_providers)}</p> }.into_any()
        }
        Some(Ok(list)) => buttons(list, request).into_any(),
    }
}

fn buttons(
    list: Vec<ProviderInfo>,
    request: impl Fn() -> LoginRequest + Copy + 'static,
) -> impl IntoView {
    let i18n = use_i18n();
    // The provider whose login is starting: the buttons stay disabled until the browser has
    // left for the provider, so a second click cannot start a competing attempt.
    let pending = RwSignal::new(None::<String>);
    // What went wrong, and with which provider (for "GitHub is not answering …").
    let failure = RwSignal::new(None::<(ApiFailure, String)>);
    let start = move |id: String, name: String| {
        remember_name(&id, &name);
        pending.set(Some(id.clone()));
        failure.set(None);
        spawn_local(async move {
            let err = start_login(&id, request()).await;
            failure.set(Some((err, name)));
            pending.set(None);
        });
    };
    let buttons = list
        .into_iter()
        .map(|ProviderInfo { id, name, kind }| {
            let busy_id = id.clone();
            let click = (id.clone(), name.clone());
            view! {
                <li>
                    <button
                        type="button"
                        class="provider"
                        data-provider=id
                        disabled=move || pending.with(Option::is_some)
                        aria-busy=move || {
                            pending.with(|p| p.as_deref() == Some(busy_id.as_str())).to_string()
                        }
                        on:click=move |_| start(click.0.clone(), click.1.clone())
                    >
                        <BrandMark kind />
                        <span>{move || fill(i18n.t().log_in_with, &name)}</span>
                    </button>
                </li>
            }
        })
        .collect_view();
    view! {
        <ul class="providers">{buttons}</ul>
        {move || {
            failure
                .get()
                .map(|(failure, provider)| error_notice("api-error", None, failure, Some(provider), None))
        }}
    }
}

const RETURN_TO_KEY: &str = "portero.return_to";

/// This tab's `sessionStorage`, when the browser allows it.
fn session_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok().flatten()
}

fn name_key(id: &str) -> String {
    format!("portero.name.{id}")
}

/// Kept for this tab, so the callback page can name the provider at once instead of showing
/// its id until `/api/providers` answers.
fn remember_name(id: &str, name: &str) {
    if let Some(storage) = session_storage() {
        let _ = storage.set_item(&name_key(id), name);
    }
}

/// The provider's name ("42 Intra", not "intra42"): the one this tab's button showed, else the
/// public provider list's (`GET /api/providers`, asked now); the id until that answers.
pub(crate) fn provider_name(id: &str) -> RwSignal<String> {
    let remembered =
        session_storage().and_then(|storage| storage.get_item(&name_key(id)).ok().flatten());
    let name = RwSignal::new(remembered.clone().unwrap_or_else(|| id.to_owned()));
    if remembered.is_none() {
        let id = id.to_owned();
        spawn_local(async move {
            if let Ok(list) = api::get::<Vec<ProviderInfo>>("/api/providers").await {
                if let Some(found) = list.into_iter().find(|p| p.id == id) {
                    name.set(found.name);
                }
            }
        });
    }
    name
}

/// Where the login this tab started last was going: what a new attempt from the callback page
/// aims at too.
pub(crate) fn remembered_return_to() -> String {
    session_storage()
        .and_then(|storage| storage.get_item(RETURN_TO_KEY).ok().flatten())
        .unwrap_or_else(|| "/".to_owned())
}

/// Flow steps 2 and 3: asks the backend for a login attempt (`request`), then leaves for the
/// provider. Returns only when that failed (on success the browser is already unloading the
/// page).
///
/// The request's `return_to` is kept for this tab, so the callback page can start the login
/// again ("Try again", "Try another account") towards the same page.
pub(crate) async fn start_login(provider: &str, request: LoginRequest) -> ApiFailure {
    if let (Some(storage), Some(return_to)) = (session_storage(), &request.return_to) {
        let _ = storage.set_item(RETURN_TO_KEY, return_to);
    }
    // The id comes from the server, but encoding it keeps a stray `/` or `?` from changing
    // which route is called.
    let path = format!(
        "/api/login/{}",
        String::from(js_sys::encode_uri_component(provider))
    );
    let login: LoginResponse = match api::post(&path, &request).await {
        Ok(login) => login,
        Err(failure) => return failure,
    };
    match authorize_url(&login.authorize_endpoint, &login.params) {
        Ok(url) => match web_sys::window().map(|window| window.location().set_href(&url)) {
            Some(Ok(())) => std::future::pending().await,
            _ => ApiFailure::new(
                0,
                "navigation_refused",
                "The browser refused to open the provider's page.".into(),
            ),
        },
        Err(message) => ApiFailure::new(0, "bad_authorize_endpoint", message),
    }
}

/// The authorize URL: `endpoint` with each of `params` appended to its query, form-urlencoded.
///
/// A query the endpoint already carries is kept (some providers put a tenant or a policy
/// there). Only `http:` and `https:` endpoints are accepted, so a broken or hostile
/// configuration cannot make the page navigate to a `javascript:` URL.
pub(crate) fn authorize_url(
    endpoint: &str,
    params: &BTreeMap<String, String>,
) -> Result<String, String> {
    let invalid = || format!("The provider's authorize endpoint is not a valid URL: {endpoint}");
    let url = Url::new(endpoint).map_err(|_| invalid())?;
    if !matches!(url.protocol().as_str(), "https:" | "http:") {
        return Err(invalid());
    }
    let query = url.search_params();
    for (name, value) in params {
        query.append(name, value);
    }
    Ok(url.href())
}

#[cfg(test)]
mod tests {
    use super::*;

    wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

    fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// Reads a built URL back with the browser's parser, as the provider will.
    fn query_of(url: &str) -> Vec<(String, String)> {
        let url = Url::new(url).unwrap();
        let entries = js_sys::Array::from(&url.search_params().into());
        entries
            .iter()
            .map(|pair| {
                let pair = js_sys::Array::from(&pair);
                (
                    pair.get(0).as_string().unwrap(),
                    pair.get(1).as_string().unwrap(),
                )
            })
            .collect()
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn authorize_url_form_encodes_every_parameter() {
        let url = authorize_url(
            "https://provider.test/oauth/authorize",
            &params(&[
                ("client_id", "abc"),
                ("redirect_uri", "http://127.0.0.1:8080/callback/github"),
                ("scope", "read:user user:email"),
                ("state", "s+t/a=te&x"),
            ]),
        )
        .unwrap();
        assert!(
            url.starts_with("https://provider.test/oauth/authorize?"),
            "{url}"
        );
        // Reserved characters are escaped, so no value can add or end a parameter.
        assert!(
            url.contains("redirect_uri=http%3A%2F%2F127.0.0.1%3A8080%2Fcallback%2Fgithub"),
            "{url}"
        );
        assert!(url.contains("scope=read%3Auser+user%3Aemail"), "{url}");
        assert!(url.contains("state=s%2Bt%2Fa%3Dte%26x"), "{url}");
        assert_eq!(
            query_of(&url),
            vec![
                ("client_id".into(), "abc".into()),
                (
                    "redirect_uri".into(),
                    "http://127.0.0.1:8080/callback/github".into()
                ),
                ("scope".into(), "read:user user:email".into()),
                ("state".into(), "s+t/a=te&x".into()),
            ]
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn authorize_url_keeps_the_query_the_endpoint_already_has() {
        let url = authorize_url(
            "https://login.example.test/tenant/authorize?p=B2C_1_signin&prompt=login",
            &params(&[("response_type", "code"), ("state", "xyz")]),
        )
        .unwrap();
        assert_eq!(
            query_of(&url),
            vec![
                ("p".into(), "B2C_1_signin".into()),
                ("prompt".into(), "login".into()),
                ("response_type".into(), "code".into()),
                ("state".into(), "xyz".into()),
            ]
        );
        assert!(url.starts_with("https://login.example.test/tenant/authorize?p=B2C_1_signin&"));
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn authorize_url_refuses_what_is_not_an_http_url() {
        let none = BTreeMap::new();
        assert!(authorize_url("not a url", &none).is_err());
        assert!(authorize_url("/relative/authorize", &none).is_err());
        assert!(authorize_url("javascript:alert(1)", &none).is_err());
        assert!(authorize_url("data:text/html,hi", &none).is_err());
        assert!(authorize_url("http://127.0.0.1:9000/authorize", &none).is_ok());
    }
}
