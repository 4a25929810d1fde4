//! Building and running the application: `Application::build(config)` binds (port 0 in tests)
//! and `run_until_stopped` serves until SIGINT/SIGTERM.

use std::{net::SocketAddr, sync::Arc};

use secrecy::ExposeSecret;
use tokio::net::TcpListener;
use tower_sessions::MemoryStore;

use crate::{config::Config, crypto::TokenCipher, providers::Providers, routes};

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub providers: Providers,
    pub cipher: TokenCipher,
    /// `server.public_origin` as browsers send it in `Origin`.
    pub origin: Arc<str>,
    pub metrics: Arc<crate::metrics::Metrics>,
}

pub struct Application {
    listener: TcpListener,
    router: axum::Router,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(config.server.bind)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.server.bind))?;
        Self::with_listener(config, listener)
    }

    /// For tests and tools that bind first (to learn the port) and configure after.
    pub fn with_listener(config: Config, listener: TcpListener) -> anyhow::Result<Self> {
        let cipher = match &config.session.secret_key {
            Some(key) => TokenCipher::new(key)?,
            None => {
                tracing::warn!(
                    "session.secret_key is not set: using a key for this process only \
                     (fine for development; set one for production)"
                );
                TokenCipher::ephemeral()
            }
        };
        debug_assert!(config
            .session
            .secret_key
            .as_ref()
            .is_none_or(|k| !k.expose_secret().is_empty()));
        let state = AppState {
            origin: config.server.origin().into(),
            providers: Providers::from_config(&config)?,
            cipher,
            config: Arc::new(config),
            metrics: Arc::default(),
        };
        let router = routes::router(state, MemoryStore::default());
        Ok(Application { listener, router })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        // With the TCP peer's address: the client address the login rate limit counts.
        axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown_signal())
        .await
    }

    /// Serves until `stop` resolves: tests use this to stop a backend mid-test.
    pub async fn run_until(
        self,
        stop: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(stop)
        .await
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut signal) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            signal.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
