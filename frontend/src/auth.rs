//! The steps of the login that happen in the browser: starting it (flow steps 2 and 3), building
//! the provider's authorize URL (step 3) and reading what the provider put on
//! `/callback/{provider}` (step 4). The URL steps are pure functions over strings so
//! `tests/web.rs` can check them in a real browser.

use std::collections::BTreeMap;

use shared::{ApiError, LoginRequest};
use web_sys::{Url, UrlSearchParams};

use crate::api::{self, ApiFailure};

/// Where a login lands when nothing asked for another page.
pub const DEFAULT_RETURN_TO: &str = "/profile";

/// Flow steps 2 and 3: asks the backend for a login attempt, then leaves for the provider.
/// Returns only when that failed (on success the browser is already unloading the page).
///
/// `return_to` is kept for this tab, so the callback page can start the login again ("Try
/// again", "Try another account") towards the same page. With `another_account`, the provider
/// is asked to show its account chooser.
pub async fn start_login(provider: &str, return_to: String, another_account: bool) -> ApiFailure {
    if let Some(storage) = session_storage() {
        let _ = storage.set_item(RETURN_TO_KEY, &return_to);
    }
    let request = LoginRequest {
        return_to: Some(return_to),
        another_account,
        ..LoginRequest::default()
    };
    let login = match api::login(&request, provider).await {
        Ok(login) => login,
        Err(failure) => return failure,
    };
    let local = |code: &str, message: String| ApiFailure::Status {
        status: 0,
        error: ApiError {
            error: code.to_owned(),
            message,
        },
    };
    match authorize_url(&login.authorize_endpoint, &login.params) {
        Ok(url) => match web_sys::window().map(|window| window.location().set_href(&url)) {
            Some(Ok(())) => std::future::pending().await,
            _ => local(
                "navigation_refused",
                "The browser refused to open the provider's page.".into(),
            ),
        },
        Err(message) => local("bad_authorize_endpoint", message),
    }
}

const RETURN_TO_KEY: &str = "portero.return_to";

/// This tab's `sessionStorage`, when the browser allows it.
pub fn session_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok().flatten()
}

/// Where the login this tab started last was going: what a new attempt from the callback page
/// aims at too.
pub fn remembered_return_to() -> String {
    session_storage()
        .and_then(|storage| storage.get_item(RETURN_TO_KEY).ok().flatten())
        .unwrap_or_else(|| DEFAULT_RETURN_TO.to_owned())
}

/// The authorize URL: `endpoint` with each of `params` appended to its query, form-urlencoded.
///
/// A query the endpoint already carries is kept (some providers put a tenant or a policy
/// there). Only `http:` and `https:` endpoints are accepted, so a broken or hostile
/// configuration cannot make the SPA navigate to a `javascript:` URL.
pub fn authorize_url(endpoint: &str, params: &BTreeMap<String, String>) -> Result<String, String> {
    let invalid = || {
        [
            "The provider's authorize endpoint is not a valid URL: ",
            endpoint,
        ]
        .concat()
    };
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

/// What the provider sent back to `/callback/{provider}` (RFC 6749 §4.1.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallbackQuery {
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

/// Reads a callback query string (`location.search`, with or without the leading `?`).
///
/// An `error` wins over a `code`: RFC 6749 never sends both, and when something does, refusing
/// is the safe reading. Empty values count as missing.
pub fn parse_callback_query(search: &str) -> CallbackQuery {
    let Ok(query) = UrlSearchParams::new_with_str(search) else {
        return CallbackQuery::Incomplete;
    };
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
