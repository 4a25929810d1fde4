//! The HTTP surface of DESIGN.md, "HTTP contract". Every `/api` route sits behind the CSRF
//! guard and the session layer; health checks and the static SPA do not.

mod auth;
mod health;
mod me;
mod profile;

use axum::{
    extract::{DefaultBodyLimit, Request, State},
    http::{header, Uri},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, post},
    Router,
};
use tower_sessions::SessionManagerLayer;

use crate::{
    error::AppError, rate_limit::RateLimit, security_headers, startup::AppState, store::Store,
};

/// JSON bodies of this API are a few hundred bytes; refuse anything far larger early.
const MAX_API_BODY: usize = 16 * 1024;

pub fn router(state: AppState, store: Store) -> Router {
    let rate_limit = RateLimit::from_config(&state.config.server);
    let api = Router::new()
        .route("/providers", get(auth::providers))
        .route("/login/{provider}", rate_limit.limit(post(auth::login)))
        .route("/session", rate_limit.limit(post(auth::create_session)))
        .route("/me", get(me::me))
        .route("/profile", get(profile::profile))
        .route("/logout", post(auth::logout))
        .fallback(|uri: Uri| async move { AppError::NotFound(format!("/api{}", uri.path())) })
        .method_not_allowed_fallback(|| async { AppError::MethodNotAllowed })
        .layer(session_layer(&state, store))
        // Outside the session layer: a request without the CSRF header touches no session at
        // all, and the answer is seen with the session layer's cookie and failures. One layer
        // for the three, since each layer costs every /api request a boxed future.
        .layer(middleware::from_fn_with_state(state.clone(), api_edges))
        .layer(DefaultBodyLimit::max(MAX_API_BODY));

    let mut app = Router::new()
        .nest("/api", api)
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(crate::metrics::metrics));
    if let Some(dir) = &state.config.server.static_dir {
        app = app.merge(crate::static_files::router(dir));
    }
    // CSP, Referrer-Policy (rule 10), nosniff, X-Frame-Options: on every answer.
    let app = security_headers::apply(app, &state.config.server);
    crate::telemetry::layer(app).with_state(state)
}

/// Rule 7: `HttpOnly; Secure; SameSite=Lax; Path=/`, no `Domain`, `__Host-` over HTTPS.
fn session_layer(state: &AppState, store: Store) -> SessionManagerLayer<Store> {
    let server = &state.config.server;
    SessionManagerLayer::new(store)
        .with_name(session_cookie_name(server.is_https()))
        .with_http_only(true)
        // Chromium and Firefox keep Secure cookies on http://localhost and 127.0.0.1 too, so
        // development runs with the production attributes.
        .with_secure(true)
        .with_same_site(tower_sessions::cookie::SameSite::Lax)
        .with_path("/")
        .with_expiry(tower_sessions::Expiry::OnInactivity(
            time::Duration::try_from(state.config.session.idle_timeout)
                .unwrap_or(time::Duration::DAY),
        ))
}

pub fn session_cookie_name(https: bool) -> &'static str {
    if https {
        "__Host-portero_session"
    } else {
        "portero_session"
    }
}

/// The edges of every `/api` request, around the session layer: the CSRF check before it; after
/// it, the session layer's bare 500 (its own save failed) as a JSON 503 (store.rs), and rule 7's
/// attributes on the cookie that ends a session (session_cookie.rs).
async fn api_edges(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if let Err(refused) = csrf_check(&state, &request) {
        return refused.into_response();
    }
    let response = crate::store::failed_save_as_503(next.run(request).await);
    crate::session_cookie::complete_attributes(
        session_cookie_name(state.config.server.is_https()),
        response,
    )
}

/// RFC 10017 §6.1.3.3: only the SPA can send the custom header (a cross-site form or image
/// cannot); a cross-site `Origin` is refused as well, for browsers that send one.
fn csrf_check(state: &AppState, request: &Request) -> Result<(), AppError> {
    let headers = request.headers();
    if headers.get(shared::CSRF_HEADER).map(|v| v.as_bytes()) != Some(shared::CSRF_VALUE.as_bytes())
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
