//! The HTTP surface of docs/design.md, "HTTP contract". Every `/api` route sits behind the CSRF
//! guard and the session layer; health checks and the static SPA do not.

mod app;
pub(crate) mod body;
mod health;
mod login;
mod me;
mod profile;
mod sessions;

use crate::{
    audit,
    error::AppError,
    security_headers,
    session::{self, RequestLock},
    state::AppState,
};
use axum::{
    extract::{DefaultBodyLimit, Request, State},
    http::{header, Method, Uri},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, post},
    Router,
};

pub fn router(state: AppState) -> Router {
    router_with(state, Router::new())
}

/// Portero's routes, with `app`'s (paths relative to `/api`) beside them: behind the same
/// session layer and CSRF rule, so their handlers can take [`crate::session::CurrentUser`].
pub fn router_with(state: AppState, app: Router<AppState>) -> Router {
    // Rule 16: a request (its body included) has `request_timeout` until its answer begins.
    // Not the upstreams': each has its own `timeout_secs`, and may stream for longer.
    let timeout = middleware::from_fn_with_state(state.clone(), request_timeout);
    let login_requests = &state.login_requests;
    let own = Router::new()
        .route("/providers", get(login::providers))
        .route(
            "/login/{provider}",
            login_requests.limit(post(login::login)),
        )
        .route(
            "/session",
            login_requests.limit(post(login::create_session)),
        )
        .route("/me", get(me::me))
        .route("/profile", get(profile::profile))
        .route("/logout", post(login::logout))
        .route("/sessions", get(sessions::list))
        .route("/sessions/{id}", axum::routing::delete(sessions::end))
        .route(
            "/backchannel-logout/{provider}",
            state
                .backchannel_logouts
                .limit(post(sessions::backchannel_logout)),
        )
        .route("/auth", get(app::forward_auth))
        .merge(app)
        // JSON bodies of this API are small; an upstream has its own `max_body_bytes`.
        .layer(DefaultBodyLimit::max(body::MAX_API_BODY))
        .layer(timeout.clone());
    let api = own
        .merge(state.gateway.routes())
        .fallback(|uri: Uri| async move { AppError::NotFound(format!("/api{}", uri.path())) })
        .method_not_allowed_fallback(|| async { AppError::MethodNotAllowed })
        .layer(session::session_layer(
            &state.config,
            state.sessions.clone(),
        ))
        // Outside the session layer: a request without the CSRF header touches no session at
        // all, and the answer is seen with the session layer's cookie and failures. One layer
        // for the three, since each layer costs every /api request a boxed future.
        .layer(middleware::from_fn_with_state(state.clone(), api_edges));

    let mut outside = Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(crate::metrics::metrics))
        .route("/.well-known/jwks.json", get(app::jwks))
        .route(
            "/.well-known/portero-client-jwks/{provider}",
            get(login::client_jwks),
        );
    if let Some(dir) = &state.config.server.static_dir {
        outside = outside.merge(crate::static_files::router(dir));
    }
    let app = Router::new()
        .nest("/api", api)
        .merge(outside.layer(timeout));
    // CSP, Referrer-Policy (rule 10), nosniff, X-Frame-Options: on every answer.
    let app = security_headers::apply(app, &state.config.server, &state.gateway);
    crate::telemetry::layer(app).with_state(state)
}

/// The edges of every `/api` request, around the session layer: the CSRF check before it, and the
/// request's hold on its session's lock, released only once the layer has saved (session/lock.rs,
/// ordering rule 3); after it, the session layer's bare 500 (its own save failed) as a JSON 503,
/// a login's audit event (it names the session, saved only now: `audit::LoggedIn`), and rule 7's
/// attributes on the cookie that ends a session (session/layer.rs).
async fn api_edges(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    if let Err(refused) = csrf_check(&state, &request) {
        return refused.into_response();
    }
    let held = RequestLock::default();
    request.extensions_mut().insert(held.clone());
    let mut response = session::failed_save_as_503(next.run(request).await);
    drop(held);
    let cookie_name = session::session_cookie_name(state.config.server.is_https());
    if let Some(logged_in) = response.extensions_mut().remove::<audit::LoggedIn>() {
        logged_in.write(&response, cookie_name);
    }
    session::complete_cookie_attributes(cookie_name, response)
}

async fn request_timeout(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let limit = state.config.server.request_timeout;
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => AppError::RequestTimeout(limit.as_secs()).into_response(),
    }
}

/// RFC 10017 §6.1.3.3: only the SPA can send the custom header (a cross-site form or image
/// cannot); a cross-site `Origin` is refused as well, for browsers that send one. A WebSocket
/// handshake to an upstream cannot carry the header: it passes with exactly the public origin
/// as its `Origin` (rule 17), which browsers always send on one. Forward auth sends
/// `X-Forwarded-Uri` instead of the header.
fn csrf_check(state: &AppState, request: &Request) -> Result<(), AppError> {
    let headers = request.headers();
    // The provider's back-channel logout: server to server, proved by its signed token.
    if request.uri().path().starts_with("/backchannel-logout/") && request.method() == "POST" {
        return Ok(());
    }
    let to_upstream = || {
        state
            .gateway
            .upstream_of(&format!("/api{}", request.uri().path()))
            .is_some()
    };
    if crate::gateway::is_websocket_upgrade(headers) && to_upstream() {
        let origin = headers.get(header::ORIGIN).map(|o| o.as_bytes());
        return match origin {
            Some(origin) if origin == state.origin.as_bytes() => Ok(()),
            _ => Err(AppError::ForbiddenOrigin(
                "a WebSocket from another origin".into(),
            )),
        };
    }
    // Caddy's forward_auth and Traefik's forwardAuth cannot add `x-csrf`; on `GET /api/auth` the
    // `X-Forwarded-Uri` they add is as far out of a cross-site page's reach (docs/design.md,
    // "Forward auth"). The `Origin` check below holds for both.
    let forward_auth = request.method() == Method::GET
        && request.uri().path() == "/auth"
        && headers.contains_key(app::FORWARDED_URI);
    if !forward_auth
        && headers.get(shared::CSRF_HEADER).map(|v| v.as_bytes())
            != Some(shared::CSRF_VALUE.as_bytes())
    {
        return Err(AppError::CsrfRequired);
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        if origin.as_bytes() != state.origin.as_bytes() {
            let shown = String::from_utf8_lossy(origin.as_bytes())
                .chars()
                .take(100)
                .collect();
            return Err(AppError::ForbiddenOrigin(shown));
        }
    }
    Ok(())
}
