//! The session layer (tower-sessions) as every `/api` route sees it: the cookie and its
//! attributes (rule 7), its records sealed whole (`sealed.rs`), and the layer's own failed save
//! as a JSON 503.

use axum::{
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use tower_sessions::SessionManagerLayer;

use super::sealed::SealedStore;
use crate::{config::Config, error::AppError};

pub fn session_cookie_name(https: bool) -> &'static str {
    if https {
        "__Host-portero_session"
    } else {
        "portero_session"
    }
}

/// Rule 7: `HttpOnly; Secure; SameSite=Lax; Path=/`, no `Domain`, `__Host-` over HTTPS.
pub fn session_layer(config: &Config, store: SealedStore) -> SessionManagerLayer<SealedStore> {
    SessionManagerLayer::new(store)
        .with_name(session_cookie_name(config.server.is_https()))
        .with_http_only(true)
        // Chromium and Firefox keep Secure cookies on http://localhost and 127.0.0.1 too, so
        // development runs with the production attributes.
        .with_secure(true)
        .with_same_site(tower_sessions::cookie::SameSite::Lax)
        .with_path("/")
        .with_expiry(tower_sessions::Expiry::OnInactivity(
            time::Duration::try_from(config.session.idle_timeout).unwrap_or(time::Duration::DAY),
        ))
}

/// The session layer's own save (after the handler, when the session changed) answers a bare
/// `500` with an empty body when the store fails; every other 500 of this API is JSON. Turned
/// into docs/design.md's 503 `store_unavailable`. Handlers that change a session save it themselves
/// first (their failure is already a 503), so this is only the store failing in between.
pub fn failed_save_as_503(response: Response) -> Response {
    let bare = response.status() == StatusCode::INTERNAL_SERVER_ERROR
        && !response.headers().contains_key(header::CONTENT_TYPE);
    if bare {
        return AppError::StoreUnavailable("saving the session after the request failed".into())
            .into_response();
    }
    response
}

/// The attributes every session cookie carries (`session_layer`).
const REQUIRED: [(&str, &str); 3] = [
    ("secure", "Secure"),
    ("httponly", "HttpOnly"),
    ("samesite", "SameSite=Lax"),
];

/// Rule 7 for the cookie that ends a session. tower-sessions 0.14 removes a session (logout,
/// `flush`) with `Set-Cookie: NAME=; Path=/; Max-Age=0` and none of the other attributes, and
/// browsers refuse a `__Host-` cookie without `Secure`: over HTTPS the removal would be ignored
/// and the browser would keep the dead id. This adds whatever of `Secure; HttpOnly;
/// SameSite=Lax` a `Set-Cookie` of the session cookie `name` lacks; other cookies and complete
/// session cookies pass unchanged.
pub fn complete_cookie_attributes(name: &str, mut response: Response) -> Response {
    let headers = response.headers_mut();
    let cookies: Vec<HeaderValue> = headers
        .get_all(header::SET_COOKIE)
        .iter()
        .cloned()
        .collect();
    if cookies.is_empty() {
        return response;
    }
    headers.remove(header::SET_COOKIE);
    for cookie in cookies {
        let fixed = cookie
            .to_str()
            .ok()
            .filter(|text| text.split_once('=').is_some_and(|(n, _)| n.trim() == name))
            .map(complete)
            .and_then(|text| HeaderValue::from_str(&text).ok())
            .unwrap_or(cookie);
        headers.append(header::SET_COOKIE, fixed);
    }
    response
}

fn complete(cookie: &str) -> String {
    let present: Vec<String> = cookie
        .split(';')
        .skip(1)
        .map(|attr| {
            let name = attr.split_once('=').map_or(attr, |(n, _)| n);
            name.trim().to_ascii_lowercase()
        })
        .collect();
    let mut out = cookie.to_owned();
    for (name, attr) in REQUIRED {
        if !present.iter().any(|p| p == name) {
            out.push_str("; ");
            out.push_str(attr);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_removal_cookie_gets_the_attributes_and_a_complete_one_is_left_alone() {
        assert_eq!(
            complete("__Host-s=; Path=/; Max-Age=0"),
            "__Host-s=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Lax"
        );
        let full = "__Host-s=v; HttpOnly; SameSite=Lax; Secure; Path=/";
        assert_eq!(complete(full), full);
    }

    #[tokio::test]
    async fn only_the_session_layers_bare_500_becomes_a_json_503() {
        let mut bare = Response::default();
        *bare.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        let answered = failed_save_as_503(bare);
        assert_eq!(answered.status(), StatusCode::SERVICE_UNAVAILABLE);
        let body = axum::body::to_bytes(answered.into_body(), 4096)
            .await
            .unwrap();
        let error: shared::ApiError = serde_json::from_slice(&body).unwrap();
        assert_eq!(error.error, "store_unavailable");

        let json_500 = AppError::Internal(anyhow::anyhow!("x")).into_response();
        let kept = failed_save_as_503(json_500);
        assert_eq!(kept.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let fine = failed_save_as_503(Response::default());
        assert_eq!(fine.status(), StatusCode::OK);
    }
}
