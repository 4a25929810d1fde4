//! Step-up: when a policy of Portero's wants a more recent login than the session's (401
//! `reauthentication_required`, with the `max_age` to ask for), the person logs in again at
//! the same provider and comes back to the page they were on (docs/design.md, "Policies per
//! app").

use leptos::task::spawn_local;
use shared::{codes, LoginRequest, MeResponse};

use crate::{
    api::{self, ApiFailure},
    login::start_login,
};

/// Call it when one of your app's own API calls failed: for a 401 `reauthentication_required`
/// (an upstream or `/api/auth?policy=` whose policy has `max_age_secs`), it starts a new login
/// at the provider the person is logged in with, asking for a login no older than the
/// failure's `max_age` and naming the person (`login_hint`), and returns `true`: the browser
/// is about to leave for the provider, and comes back to this page (path and query) once
/// logged in. For any other failure it returns `false` and does nothing: handle it as before.
///
/// ```no_run
/// # async fn example() {
/// # #[derive(serde::Deserialize)] struct Report;
/// match portero_leptos::api::get::<Report>("/api/admin/report").await {
///     Ok(report) => { /* show it */ }
///     Err(failure) if portero_leptos::log_in_again(&failure) => {}
///     Err(failure) => { /* say what went wrong */ }
/// }
/// # }
/// ```
///
/// The same person must come back: a login as someone else is refused by Portero (403
/// `another_person`, shown on the callback page) and the session stays as it was.
pub fn log_in_again(failure: &ApiFailure) -> bool {
    let Some(max_age) = wanted_max_age(failure) else {
        return false;
    };
    spawn_local(async move {
        let failure = reauthenticate(max_age, current_page()).await;
        web_sys::console::warn_1(&format!("logging in again failed: {failure}").into());
    });
    true
}

/// The `max_age` a failure asks to log in again with, when it is a policy's
/// `reauthentication_required`.
pub(crate) fn wanted_max_age(failure: &ApiFailure) -> Option<u64> {
    (failure.status() == 401 && failure.code() == codes::REAUTHENTICATION_REQUIRED)
        .then(|| failure.max_age())
        .flatten()
}

/// Logs in again at the session's provider with `max_age`, back to `return_to`, for a caller
/// that does not hold the session (it is asked). Returns only when that could not start.
async fn reauthenticate(max_age: u64, return_to: String) -> ApiFailure {
    match api::get::<MeResponse>("/api/me").await {
        Ok(me) => reauthenticate_as(&me, max_age, return_to).await,
        Err(failure) => failure,
    }
}

/// [`reauthenticate`] for the session `me` already known.
pub(crate) async fn reauthenticate_as(
    me: &MeResponse,
    max_age: u64,
    return_to: String,
) -> ApiFailure {
    start_login(&me.user.provider, step_up_request(me, max_age, return_to)).await
}

/// The login a step-up asks for: `max_age`, and who, so the provider can fill it in.
pub(crate) fn step_up_request(me: &MeResponse, max_age: u64, return_to: String) -> LoginRequest {
    let user = &me.user;
    LoginRequest {
        return_to: Some(return_to),
        max_age: Some(max_age),
        login_hint: user.email.clone().or_else(|| user.login.clone()),
        ..LoginRequest::default()
    }
}

/// The page in the address bar: its path and query.
pub(crate) fn current_page() -> String {
    web_sys::window()
        .and_then(|window| {
            let location = window.location();
            Some(location.pathname().ok()? + &location.search().ok()?)
        })
        .unwrap_or_else(|| "/".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::failure_of;

    wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn only_a_reauthentication_required_with_a_max_age_logs_in_again() {
        let body = r#"{"error":"reauthentication_required","message":"m","max_age":300}"#;
        assert_eq!(wanted_max_age(&failure_of(401, "", body)), Some(300));
        for (status, body) in [
            (401, r#"{"error":"not_logged_in","message":"m"}"#),
            (403, r#"{"error":"access_denied","message":"m"}"#),
            (
                401,
                r#"{"error":"reauthentication_required","message":"m"}"#,
            ),
            (502, "<html>proxy</html>"),
        ] {
            let failure = failure_of(status, "", body);
            assert_eq!(wanted_max_age(&failure), None, "{body}");
            assert!(!log_in_again(&failure), "{body}");
        }
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn a_step_up_names_the_person_and_asks_for_the_max_age() {
        let me: MeResponse = serde_json::from_str(
            r#"{"user":{"provider":"corp","subject":"7","login":"ada","name":null,
                "email":"ada@example.com","avatar_url":null},"expires_at":1800000000}"#,
        )
        .unwrap();
        let request = step_up_request(&me, 300, "/admin?tab=2".into());
        assert_eq!(request.max_age, Some(300));
        assert_eq!(request.login_hint.as_deref(), Some("ada@example.com"));
        assert_eq!(request.return_to.as_deref(), Some("/admin?tab=2"));
        assert_eq!(request.prompt, None);
        let mut no_email = me.clone();
        no_email.user.email = None;
        let request = step_up_request(&no_email, 300, "/".into());
        assert_eq!(request.login_hint.as_deref(), Some("ada"));
    }
}
