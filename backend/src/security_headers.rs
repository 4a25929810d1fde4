//! Response headers on everything the backend serves — the API, the health checks and, in a
//! one-origin deployment, the built SPA (docs/design.md, rule 10). docs/SECURITY.md explains
//! each directive; Trunk.toml's `[serve.headers]` repeats the policy for `trunk serve`.

use std::sync::Arc;

use axum::{
    extract::{Request, State},
    http::{header, HeaderName, HeaderValue},
    middleware::{self, Next},
    response::Response,
    Router,
};

use crate::{config::ServerConfig, gateway::Gateway};

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

/// Adds the headers to every response of `router`. On Portero's own routes and pages (and an
/// in-process app's, which share its router) they replace any a handler set: the origin's
/// policy is Portero's. An app behind the gateway keeps its own on its prefix, where Portero's
/// fill in what it leaves out; it shares the origin, so what it serves there runs with it
/// (docs/integrate.md, "The app shares Portero's origin").
pub fn apply<S: Clone + Send + Sync + 'static>(
    router: Router<S>,
    server: &ServerConfig,
    gateway: &Gateway,
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
    // In an Arc: the layer's state is cloned for every request.
    let policy = Arc::new(Policy {
        headers: headers
            .into_iter()
            .map(|(name, value)| (name, HeaderValue::from_static(value)))
            .collect(),
        gateway: gateway.clone(),
    });
    router.layer(middleware::from_fn_with_state(policy, add))
}

struct Policy {
    headers: Arc<[(HeaderName, HeaderValue)]>,
    gateway: Gateway,
}

/// One layer for the four headers: each layer costs every request a boxed future.
async fn add(State(policy): State<Arc<Policy>>, request: Request, next: Next) -> Response {
    let upstream = policy.gateway.upstream_of(request.uri().path()).is_some();
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in policy.headers.iter() {
        if !upstream || !headers.contains_key(name) {
            headers.insert(name.clone(), value.clone());
        }
    }
    response
}
