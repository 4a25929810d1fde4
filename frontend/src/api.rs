//! Calls to Portero's backend and to your own upstreams behind its gateway, typed with serde.
//!
//! Every call goes to a path on this page's origin (`/api/...`) with `x-csrf: 1`, which Portero
//! requires on every `/api` route, and the session cookie (same origin, so the browser sends
//! it). Your upstreams (`[upstreams.*]` in Portero's configuration, reached under their
//! `/api/{prefix}/...`) are called the same way:
//!
//! ```no_run
//! # async fn example() -> Result<(), portero_leptos::api::ApiFailure> {
//! #[derive(serde::Deserialize)]
//! struct Game {
//!     id: u32,
//!     host: String,
//! }
//!
//! let games: Vec<Game> = portero_leptos::api::get("/api/lobby/games").await?;
//! # Ok(())
//! # }
//! ```
//!
//! A call fails with an [`ApiFailure`] when there is no answer, when the answer is an error
//! status, or when its body is not the type asked for (a missing field, a wrong type, not
//! JSON). It never panics.

use gloo_net::http::{Method, RequestBuilder};
use serde::{de::DeserializeOwned, Serialize};
use shared::{ApiError, CSRF_HEADER, CSRF_VALUE};
use web_sys::RequestCache;

/// The code of an [`ApiFailure`] without an answer: the network failed or the server is down.
pub(crate) const NETWORK_ERROR: &str = "network_error";
/// The code of an [`ApiFailure`] whose answer was not the body the caller asked for.
pub(crate) const UNEXPECTED_BODY: &str = "unexpected_body";

/// Why a call did not give the body it asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiFailure {
    status: u16,
    code: String,
    message: String,
    /// The `max_age` of a 401 `reauthentication_required`: what the login asked again wants.
    max_age: Option<u64>,
}

impl ApiFailure {
    /// The HTTP status of the answer, or 0 when there was no answer at all.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// A machine code: the `error` of Portero's (or your upstream's) JSON error body
    /// (`not_logged_in`, `access_denied`…); `http_{status}` for an error status without one;
    /// `network_error` without an answer; `unexpected_body` when a successful answer's body is
    /// not the type asked for.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// A sentence for a person or a log: the server's `message`, or what went wrong.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// For a 401 `reauthentication_required` (a policy of Portero's wants a more recent login):
    /// the `max_age`, in seconds, to log in again with. [`log_in_again`] does that.
    ///
    /// [`log_in_again`]: crate::log_in_again
    pub fn max_age(&self) -> Option<u64> {
        self.max_age
    }

    pub(crate) fn new(status: u16, code: &str, message: String) -> ApiFailure {
        ApiFailure {
            status,
            code: code.to_owned(),
            message,
            max_age: None,
        }
    }

    /// `true` for a 401: no session, or it ended.
    pub(crate) fn is_unauthorized(&self) -> bool {
        self.status == 401
    }
}

impl std::fmt::Display for ApiFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.status, self.message)
    }
}

impl std::error::Error for ApiFailure {}

/// `GET path`, its JSON answer read as `T`.
pub async fn get<T: DeserializeOwned>(path: &str) -> Result<T, ApiFailure> {
    call(Method::GET, path, None).await
}

/// `POST path` with `body` as JSON, its JSON answer read as `T`.
pub async fn post<T: DeserializeOwned, B: Serialize + ?Sized>(
    path: &str,
    body: &B,
) -> Result<T, ApiFailure> {
    call(Method::POST, path, Some(to_json(body)?)).await
}

/// `PUT path` with `body` as JSON, its JSON answer read as `T`.
pub async fn put<T: DeserializeOwned, B: Serialize + ?Sized>(
    path: &str,
    body: &B,
) -> Result<T, ApiFailure> {
    call(Method::PUT, path, Some(to_json(body)?)).await
}

/// `PATCH path` with `body` as JSON, its JSON answer read as `T`.
pub async fn patch<T: DeserializeOwned, B: Serialize + ?Sized>(
    path: &str,
    body: &B,
) -> Result<T, ApiFailure> {
    call(Method::PATCH, path, Some(to_json(body)?)).await
}

/// `DELETE path`, its JSON answer read as `T`; an empty answer (`204 No Content`) reads as
/// `()` or `None`.
pub async fn delete<T: DeserializeOwned>(path: &str) -> Result<T, ApiFailure> {
    call(Method::DELETE, path, None).await
}

fn to_json<B: Serialize + ?Sized>(body: &B) -> Result<String, ApiFailure> {
    serde_json::to_string(body).map_err(|err| {
        ApiFailure::new(
            0,
            UNEXPECTED_BODY,
            format!("The request body could not be written as JSON: {err}."),
        )
    })
}

async fn call<T: DeserializeOwned>(
    method: Method,
    path: &str,
    body: Option<String>,
) -> Result<T, ApiFailure> {
    let shown = format!("{method} {path}");
    let (status, text) = send(method, path, body, &shown).await?;
    read_body(&shown, status, &text)
}

/// The status and body of a successful answer; a failure for anything else. Not generic, so
/// it is compiled once for every `T` the app asks for.
async fn send(
    method: Method,
    path: &str,
    body: Option<String>,
    shown: &str,
) -> Result<(u16, String), ApiFailure> {
    let request = RequestBuilder::new(path)
        .method(method)
        // Without this header Portero refuses the call (docs/design.md, the CSRF defence).
        .header(CSRF_HEADER, CSRF_VALUE)
        .header("Accept", "application/json")
        // Who is signed in changes with every login and logout: never answer from the cache.
        .cache(RequestCache::NoStore);
    let request = match body {
        Some(json) => request
            .header("Content-Type", "application/json")
            .body(json),
        None => request.build(),
    };
    let answer = match request {
        Ok(request) => request.send().await,
        Err(err) => Err(err),
    };
    let response = answer.map_err(|err| {
        web_sys::console::warn_1(&format!("{shown} failed: {err}").into());
        ApiFailure::new(
            0,
            NETWORK_ERROR,
            "Could not reach the server. Check your connection and try again.".into(),
        )
    })?;
    let status = response.status();
    // A body that cannot be read is an empty one: the status still says what happened.
    let text = response.text().await.unwrap_or_default();
    if response.ok() {
        Ok((status, text))
    } else {
        Err(failure_of(status, &response.status_text(), &text))
    }
}

/// Portero's error body: `{error, message}`, and `max_age` with `reauthentication_required`.
#[derive(serde::Deserialize)]
struct ErrorBody {
    #[serde(flatten)]
    error: ApiError,
    #[serde(default)]
    max_age: Option<u64>,
}

/// The failure for an error status: the body's `{error, message}` when it is one, else the
/// status itself (a proxy or a crashed server may answer without JSON).
pub(crate) fn failure_of(status: u16, status_text: &str, body: &str) -> ApiFailure {
    match serde_json::from_str::<ErrorBody>(body) {
        Ok(ErrorBody {
            error: ApiError { error, message },
            max_age,
        }) => ApiFailure {
            status,
            code: error,
            message,
            max_age,
        },
        Err(_) => ApiFailure::new(
            status,
            &format!("http_{status}"),
            format!("The server answered {status} {status_text}.").replace(" .", "."),
        ),
    }
}

/// A successful answer's body as `T`; an empty body reads as JSON `null`, so `()` and
/// `Option<_>` accept a `204 No Content`.
pub(crate) fn read_body<T: DeserializeOwned>(
    call: &str,
    status: u16,
    body: &str,
) -> Result<T, ApiFailure> {
    let json = if body.trim().is_empty() { "null" } else { body };
    serde_json::from_str(json).map_err(|err| {
        ApiFailure::new(
            status,
            UNEXPECTED_BODY,
            format!("The answer to {call} is not what the app expected: {err}."),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::{MeResponse, ProviderInfo, ProviderKind};

    wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

    const ME: &str = r#"{"user":{"provider":"github","subject":"583231","login":"octocat",
        "name":"The Octocat","email":null,"avatar_url":null},"expires_at":1800000000}"#;

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn a_body_of_the_shared_type_reads_as_it() {
        let me: MeResponse = read_body("GET /api/me", 200, ME).unwrap();
        assert_eq!(me.user.login.as_deref(), Some("octocat"));
        assert_eq!(me.expires_at, 1_800_000_000);
        let providers: Vec<ProviderInfo> = read_body(
            "GET /api/providers",
            200,
            r#"[{"id":"ft","name":"42","kind":"intra42"}]"#,
        )
        .unwrap();
        assert_eq!(providers[0].kind, ProviderKind::Intra42);
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn an_empty_answer_reads_as_nothing() {
        read_body::<()>("DELETE /api/sessions/x", 204, "").unwrap();
        assert_eq!(read_body::<Option<u8>>("GET /x", 200, " ").unwrap(), None);
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn a_body_that_is_not_the_type_is_a_failure_that_says_what_is_wrong() {
        for (body, says) in [
            (r#"{"expires_at":1}"#, "missing field `user`"),
            (
                r#"{"user":{"provider":"p","subject":7},"expires_at":1}"#,
                "invalid type: integer `7`, expected a string",
            ),
            ("<html>Bad gateway</html>", "expected value"),
            ("", "invalid type: null"),
        ] {
            let failure = read_body::<MeResponse>("GET /api/me", 200, body).unwrap_err();
            assert_eq!(failure.status(), 200, "{body}");
            assert_eq!(failure.code(), UNEXPECTED_BODY, "{body}");
            assert!(
                failure
                    .message()
                    .starts_with("The answer to GET /api/me is not what the app expected: ")
                    && failure.message().contains(says),
                "{body}: {}",
                failure.message()
            );
        }
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn an_error_status_carries_the_servers_code_and_message() {
        let failure = failure_of(
            401,
            "Unauthorized",
            r#"{"error":"not_logged_in","message":"Log in first."}"#,
        );
        assert_eq!(
            (failure.status(), failure.code(), failure.message()),
            (401, "not_logged_in", "Log in first.")
        );
        assert!(failure.is_unauthorized());
        // A proxy's own page instead of Portero's JSON.
        let failure = failure_of(502, "Bad Gateway", "<html>nginx</html>");
        assert_eq!(
            (failure.status(), failure.code(), failure.message()),
            (502, "http_502", "The server answered 502 Bad Gateway.")
        );
        let failure = failure_of(503, "", "");
        assert_eq!(failure.message(), "The server answered 503.");
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn a_policy_wanting_a_newer_login_says_which_max_age_to_ask_for() {
        let failure = failure_of(
            401,
            "Unauthorized",
            r#"{"error":"reauthentication_required","message":"Log in again.","max_age":300}"#,
        );
        assert_eq!(failure.code(), "reauthentication_required");
        assert_eq!(failure.max_age(), Some(300));
        let failure = failure_of(401, "", r#"{"error":"not_logged_in","message":"No."}"#);
        assert_eq!(failure.max_age(), None);
    }
}
