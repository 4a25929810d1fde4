//! Response headers on everything the backend serves — the API, the health checks and, in a
//! one-origin deployment, the built SPA (issue 4; DESIGN.md rule 10). docs/SECURITY.md explains
//! each directive; Trunk.toml's `[serve.headers]` repeats the policy for `trunk serve`.

use axum::{
    http::{header, HeaderName, HeaderValue},
    Router,
};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::config::ServerConfig;

/// The Content-Security-Policy of a deployment served over HTTPS.
///
/// - `script-src 'self' 'wasm-unsafe-eval'`: the SPA's own JavaScript and WebAssembly and nothing
///   else; no inline script (frontend/boot.js loads the app, so the page needs none).
/// - `img-src … https: data:`: avatars come from the providers' hosts, which no list can know.
/// - `connect-src 'self'`: the SPA only ever calls its own `/api`.
/// - `frame-ancestors 'none'`, `base-uri 'none'`, `form-action 'self'`, `object-src 'none'`: no
///   framing (click-jacking), no `<base>` hijack, no form posting elsewhere, no plugins.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; \
     script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' https: data:; \
     connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; \
     object-src 'none'";

/// The same policy for a development origin (`http://`): images may also come from a provider
/// emulator on this machine (devprovider serves its demo avatars from `http://127.0.0.1:3900`).
/// Never sent when `server.public_origin` is HTTPS.
pub const CONTENT_SECURITY_POLICY_DEV: &str = "default-src 'self'; \
     script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; \
     img-src 'self' https: data: http://127.0.0.1:* http://localhost:*; \
     connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; \
     object-src 'none'";

/// The policy this deployment sends.
pub fn content_security_policy(server: &ServerConfig) -> &'static str {
    if server.is_https() {
        CONTENT_SECURITY_POLICY
    } else {
        CONTENT_SECURITY_POLICY_DEV
    }
}

/// Adds the headers to every response of `router` that does not set them itself.
pub fn apply<S: Clone + Send + Sync + 'static>(
    router: Router<S>,
    server: &ServerConfig,
) -> Router<S> {
    let headers: [(HeaderName, &'static str); 4] = [
        (
            header::CONTENT_SECURITY_POLICY,
            content_security_policy(server),
        ),
        // Rule 10: the callback page's URL (with its code) never leaks through Referer.
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        // `frame-ancestors 'none'` for browsers too old to know CSP level 2.
        (header::X_FRAME_OPTIONS, "DENY"),
    ];
    headers.into_iter().fold(router, |router, (name, value)| {
        router.layer(SetResponseHeaderLayer::if_not_present(
            name,
            HeaderValue::from_static(value),
        ))
    })
}
