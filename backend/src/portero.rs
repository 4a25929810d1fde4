//! Portero in a Rust app (docs/design.md, "Your app behind Portero", way 3): the app builds Portero
//! from the same configuration, adds its own routes beside Portero's, and its handlers take
//! [`CurrentUser`](crate::CurrentUser).

use axum::Router;
use tokio::net::TcpListener;

use crate::{config::Config, keys, providers::Providers, routes, session::Store, state::AppState};

/// A built Portero: its store opened, its keys loaded, its providers ready.
///
/// ```no_run
/// use axum::{routing::get, Json, Router};
/// use portero::{AppState, Config, CurrentUser, Portero};
///
/// async fn hello(user: CurrentUser) -> Json<String> {
///     Json(format!("hello, {}", user.user().display_name()))
/// }
///
/// # async fn run() -> anyhow::Result<()> {
/// let config = Config::load("portero.toml".as_ref())?;
/// let portero = Portero::build(config).await?;
/// // Served at /api/hello, behind Portero's session layer and CSRF rule.
/// let app: Router<AppState> = Router::new().route("/hello", get(hello));
/// let router = portero.router_with(app);
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
/// portero.serve(listener, router).await?;
/// # Ok(()) }
/// ```
pub struct Portero {
    state: AppState,
}

impl Portero {
    /// Opens the session store (creating an SQLite file), loads or makes the keys, and sets up
    /// the providers. Errors name what is wrong (an unreachable store is not one: it is retried).
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        // Opened first: the development keys live next to the SQLite file (keys.rs). Swept as
        // often as login attempts expire (rule 13), at most every minute.
        let store = Store::open(&config.session.store, config.session.login_timeout).await?;
        let cipher = keys::token_cipher(&config.session)?;
        let signer = keys::assertion_signer(&config)?;
        let providers = Providers::from_config(&config)?;
        providers.check_at_start().await?;
        Ok(Portero {
            state: AppState::new(config, providers, cipher, store, signer),
        })
    }

    /// Portero's own routes (docs/design.md, "HTTP contract"), its gateway, and the built SPA when
    /// `server.static_dir` is set.
    pub fn router(&self) -> Router {
        routes::router(self.state.clone())
    }

    /// [`Portero::router`] with `app`'s routes beside Portero's under `/api` (a route `/notes`
    /// of `app` answers at `/api/notes`): behind the same session layer, CSRF rule (`x-csrf: 1`)
    /// and request timeout, so its handlers can take [`CurrentUser`](crate::CurrentUser) and
    /// `Option<CurrentUser>`, and return [`AppError`](crate::AppError).
    pub fn router_with(&self, app: Router<AppState>) -> Router {
        routes::router_with(self.state.clone(), app)
    }

    /// The state Portero's extractors read: an app with a state of its own implements
    /// `FromRef<its state> for AppState` with this.
    pub fn state(&self) -> AppState {
        self.state.clone()
    }

    /// Serves `router` on `listener` as the `portero` binary does — a header-read timeout, a
    /// cap on connections, WebSockets — until SIGINT or SIGTERM.
    pub async fn serve(&self, listener: TcpListener, router: Router) -> std::io::Result<()> {
        crate::startup::serve(
            listener,
            router,
            &self.state,
            crate::startup::shutdown_signal(),
        )
        .await
    }
}
