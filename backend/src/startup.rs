//! Building and running the application: `Application::build(config)` binds (port 0 in tests)
//! and `run_until_stopped` serves until SIGINT/SIGTERM.

use std::net::SocketAddr;

use tokio::net::TcpListener;

use crate::{
    config::Config, crypto::TokenCipher, keys, providers::Providers, routes, session::Store,
    state::AppState,
};

pub struct Application {
    listener: TcpListener,
    router: axum::Router,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(config.server.bind)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.server.bind))?;
        Self::with_listener(config, listener).await
    }

    /// For tests and tools that bind first (to learn the port) and configure after.
    pub async fn with_listener(config: Config, listener: TcpListener) -> anyhow::Result<Self> {
        // Opened first: the development key lives next to the SQLite file (keys.rs).
        let store = Store::open(&config.session.store).await?;
        let cipher: TokenCipher = keys::token_cipher(&config.session)?;
        let providers = Providers::from_config(&config)?;
        let router = routes::router(AppState::new(config, providers, cipher, store));
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
