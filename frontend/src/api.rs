//! Every call the SPA makes to the backend (DESIGN.md, "HTTP contract"). Bodies are the
//! `shared` types, so a field renamed on either side fails the build instead of a login.
//!
//! Requests go through the browser's `fetch` directly: an HTTP client crate would add weight to
//! the WebAssembly bundle for nothing the few calls below need. Bodies are read and written by
//! `json` (the browser's JSON, not serde_json), for the same reason.

use shared::{
    ApiError, AppSees, LoginRequest, LoginResponse, LogoutRequest, LogoutResponse, MeResponse,
    ProfileDetails, ProviderInfo, SessionInfo, SessionRequest, SessionResponse, User, CSRF_HEADER,
    CSRF_VALUE,
};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, Request, RequestCache, RequestInit, Response};

use crate::{
    json::{self, Decode, Encode},
    plain::decimal,
};

/// The code [`ApiFailure::code`] gives when there was no answer at all.
pub const NETWORK_ERROR: &str = "network_error";

/// Why a call did not produce the expected body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApiFailure {
    /// No usable answer: the network failed, the backend is down, or the reply was not the
    /// JSON the contract promises.
    Network(String),
    /// The backend answered with an error status and (normally) an [`ApiError`] body.
    Status { status: u16, error: ApiError },
}

impl ApiFailure {
    /// `true` when there is no session (`GET /api/me` answers 401).
    pub fn is_unauthorized(&self) -> bool {
        matches!(self, ApiFailure::Status { status: 401, .. })
    }

    /// The machine code: the backend's `error`, or `network_error` when there was no answer.
    pub fn code(&self) -> &str {
        match self {
            ApiFailure::Network(_) => NETWORK_ERROR,
            ApiFailure::Status { error, .. } => &error.error,
        }
    }

    /// A sentence to show the person.
    pub fn message(&self) -> &str {
        match self {
            ApiFailure::Network(message) => message,
            ApiFailure::Status { error, .. } => &error.message,
        }
    }
}

/// `GET /api/providers`
pub async fn providers() -> Result<Vec<ProviderInfo>, ApiFailure> {
    send("GET", "/api/providers", None).await
}

/// `POST /api/login/{provider}`: starts a login attempt and answers what the authorize URL needs.
pub async fn login(request: &LoginRequest, provider: &str) -> Result<LoginResponse, ApiFailure> {
    send("POST", &in_path("/api/login/", provider), Some(request)).await
}

/// `POST /api/session`: trades the provider's one-time code for a session cookie.
pub async fn session(request: &SessionRequest) -> Result<SessionResponse, ApiFailure> {
    send("POST", "/api/session", Some(request)).await
}

/// `GET /api/me`: the signed-in person, or a 401 failure.
pub async fn me() -> Result<MeResponse, ApiFailure> {
    send("GET", "/api/me", None).await
}

/// `GET /api/profile`: the live profile, fetched from the provider just now.
pub async fn profile() -> Result<Profile, ApiFailure> {
    send("GET", "/api/profile", None).await
}

/// The part of [`shared::ProfileResponse`] the SPA shows: the same JSON read without its `raw` field
/// (unknown fields are skipped). Holding arbitrary JSON as a `serde_json::Value` would add
/// about 15 KB of WebAssembly for data no page displays.
#[derive(Clone, Debug, PartialEq)]
pub struct Profile {
    pub user: User,
    pub details: ProfileDetails,
}

/// `POST /api/logout`; with `everywhere`, every session of this person ends, not only this one.
pub async fn logout(everywhere: bool) -> Result<LogoutResponse, ApiFailure> {
    let body = LogoutRequest { everywhere };
    send(
        "POST",
        "/api/logout",
        everywhere.then_some(&body as &dyn Encode),
    )
    .await
}

/// `GET /api/sessions`: every session of the signed-in person, this browser's included.
pub async fn sessions() -> Result<Vec<SessionInfo>, ApiFailure> {
    send("GET", "/api/sessions", None).await
}

/// `DELETE /api/sessions/{id}`: ends one of the person's other sessions.
pub async fn end_session(id: &str) -> Result<(), ApiFailure> {
    send_for_text("DELETE", &in_path("/api/sessions/", id), None)
        .await
        .map(drop)
}

/// `GET /api/demo/whoami`, through Portero's gateway: what the demo app behind Portero
/// received and verified. A 404 where no demo app is configured (production).
pub async fn whoami() -> Result<AppSees, ApiFailure> {
    send("GET", "/api/demo/whoami", None).await
}

/// `prefix` and `segment`, percent-encoded: the segment comes from the server, but encoding
/// it keeps a stray `/` or `?` from changing which route is called.
fn in_path(prefix: &str, segment: &str) -> String {
    let mut path = prefix.to_owned();
    path.push_str(&String::from(js_sys::encode_uri_component(segment)));
    path
}

async fn send<T: Decode>(
    method: &str,
    path: &str,
    body: Option<&dyn Encode>,
) -> Result<T, ApiFailure> {
    let text = send_for_text(method, path, body).await?;
    json::from_str(&text).ok_or_else(|| {
        ApiFailure::Network(
            [
                "The server sent an unexpected answer to ",
                method,
                " ",
                path,
                ".",
            ]
            .concat(),
        )
    })
}

/// The body of a successful answer, unread; a failure for an error status.
async fn send_for_text(
    method: &str,
    path: &str,
    body: Option<&dyn Encode>,
) -> Result<String, ApiFailure> {
    let early = if body.is_none() && method == "GET" {
        take_early(path)
    } else {
        None
    };
    let response = match early {
        Some(answer) => JsFuture::from(answer)
            .await
            .and_then(|r| r.dyn_into::<Response>()),
        None => fetch(method, path, body).await,
    };
    let response = response.map_err(|err| {
        web_sys::console::warn_2(&JsValue::from_str("Portero API call failed:"), &err);
        ApiFailure::Network(
            "Could not reach the Portero server. Check your connection and try again.".into(),
        )
    })?;
    let status = response.status();
    let text = read_text(&response).await.unwrap_or_default();
    if response.ok() {
        Ok(text)
    } else {
        // A proxy or a crashed backend may answer without the JSON error body.
        let error = json::from_str::<ApiError>(&text).unwrap_or_else(|| ApiError {
            error: ["http_", &decimal(status.into())].concat(),
            message: [
                "The server answered ",
                &decimal(status.into()),
                " ",
                &response.status_text(),
                ".",
            ]
            .concat(),
        });
        Err(ApiFailure::Status { status, error })
    }
}

async fn fetch(method: &str, path: &str, body: Option<&dyn Encode>) -> Result<Response, JsValue> {
    let headers = Headers::new()?;
    // Without this header the backend refuses the call (DESIGN.md, CSRF defence).
    headers.set(CSRF_HEADER, CSRF_VALUE)?;
    headers.set("Accept", "application/json")?;
    let init = RequestInit::new();
    init.set_method(method);
    // Who is signed in changes with every login and logout: never answer from the HTTP cache.
    init.set_cache(RequestCache::NoStore);
    if let Some(body) = body {
        let json = json::to_string(body).ok_or_else(|| JsValue::from_str("unencodable body"))?;
        headers.set("Content-Type", "application/json")?;
        init.set_body(&JsValue::from_str(&json));
    }
    init.set_headers(&headers);
    // Same origin, so the default `credentials: "same-origin"` sends the session cookie.
    let request = Request::new_with_str_and_init(path, &init)?;
    let window = web_sys::window().ok_or_else(|| JsValue::from_str("no window"))?;
    JsFuture::from(window.fetch_with_request(&request))
        .await?
        .dyn_into::<Response>()
}

/// The answer boot.js already asked for (`window.__porteroEarly[path]`), at most once.
fn take_early(path: &str) -> Option<js_sys::Promise> {
    let window: JsValue = web_sys::window()?.into();
    let early = js_sys::Reflect::get(&window, &"__porteroEarly".into()).ok()?;
    let early = early.dyn_into::<js_sys::Object>().ok()?;
    let answer = js_sys::Reflect::get(&early, &path.into()).ok()?;
    js_sys::Reflect::delete_property(&early, &path.into()).ok()?;
    answer.dyn_into::<js_sys::Promise>().ok()
}

async fn read_text(response: &Response) -> Result<String, JsValue> {
    let text = JsFuture::from(response.text()?).await?;
    Ok(text.as_string().unwrap_or_default())
}
