//! Building and running the application: `Application::build(config)` binds (port 0 in tests)
//! and `run_until_stopped` serves until SIGINT/SIGTERM.
//!
//! Served here rather than with `axum::serve`, which has no header-read timer and no cap on
//! connections (rule 16): hyper's HTTP/1 server with `header_read_timeout`, a semaphore of
//! `server.max_connections` around accepted connections (a new one waits in the kernel's
//! backlog while all are taken), and upgrades (WebSockets) kept.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use axum::extract::{ConnectInfo, Request};
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::{conn::auto, graceful::GracefulShutdown},
    service::TowerToHyperService,
};
use tokio::{
    net::TcpListener,
    sync::{OwnedSemaphorePermit, Semaphore},
};
use tower::ServiceExt;

use crate::{config::Config, AppState, Portero};

/// How long a stop waits for requests in flight before it drops them.
const DRAIN: Duration = Duration::from_secs(10);
/// How long a stop waits for the WebSockets it closes to finish closing.
const DRAIN_SOCKETS: Duration = Duration::from_secs(3);

/// A connection's place among `server.max_connections` (rule 16), in each of its requests:
/// a WebSocket keeps it for as long as it is open, after its connection's HTTP part ended
/// with the upgrade (rule 19).
#[derive(Clone)]
pub(crate) struct ConnectionPermit(#[allow(dead_code)] Arc<OwnedSemaphorePermit>);

/// The `portero` binary's application: Portero's routes on a bound listener.
pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    state: AppState,
}

impl Application {
    /// Binds `server.bind` and builds Portero from `config`.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(config.server.bind)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.server.bind))?;
        Self::with_listener(config, listener).await
    }

    /// For tests and tools that bind first (to learn the port) and configure after.
    pub async fn with_listener(config: Config, listener: TcpListener) -> anyhow::Result<Self> {
        let portero = Portero::build(config).await?;
        Ok(Application {
            listener,
            router: portero.router(),
            state: portero.state(),
        })
    }

    /// The state its routes share: what the tests reach the session store through, as one who
    /// can write the store would.
    #[cfg(feature = "internals")]
    pub fn state(&self) -> AppState {
        self.state.clone()
    }

    /// Where it listens.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Serves until SIGINT or SIGTERM, then lets requests in flight finish.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `stop` resolves, then closes the WebSockets and lets requests in flight
    /// finish (up to `DRAIN`).
    pub async fn run_until(
        self,
        stop: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        serve(self.listener, self.router, &self.state, stop).await
    }
}

/// The server loop: hyper's HTTP/1 with `server.header_read_timeout`, at most
/// `server.max_connections` at once (an open WebSocket counting as its connection), upgrades
/// kept; until `stop`, then a drain: the WebSockets closed (1001), the requests in flight
/// finished.
pub(crate) async fn serve(
    listener: TcpListener,
    router: axum::Router,
    state: &AppState,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let server = &state.config.server;
    let mut builder = auto::Builder::new(TokioExecutor::new()).http1_only();
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(server.header_read_timeout);
    let builder = Arc::new(builder);
    let connections = Arc::new(Semaphore::new(server.max_connections));
    let graceful = GracefulShutdown::new();
    tokio::pin!(stop);
    loop {
        let permit = tokio::select! {
            permit = connections.clone().acquire_owned() => {
                permit.expect("the semaphore is never closed")
            }
            () = &mut stop => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // Out of file descriptors, a reset before accept: the next one may work.
                Err(e) => {
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        // As nginx's `tcp_nodelay on`: an answer written in two parts (the gateway's headers,
        // then the app's body as it streams in) must not wait for the client's delayed ACK
        // (Nagle's algorithm: up to 40 ms on Linux).
        let _ = stream.set_nodelay(true);
        // With the TCP peer's address: the client address the login limits count.
        let permit = ConnectionPermit(Arc::new(permit));
        let held = permit.clone();
        let service = router.clone().map_request(move |mut request: Request<_>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            request.extensions_mut().insert(held.clone());
            request
        });
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(service))
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            // A client that goes away mid-request is its own business, not an error here.
            let _ = connection.await;
            drop(permit);
        });
    }
    tracing::info!(
        websockets = state.gateway.sockets.open(),
        "shutting down: closing WebSockets, finishing requests in flight"
    );
    state.gateway.sockets.drain(DRAIN_SOCKETS).await;
    if tokio::time::timeout(DRAIN, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still in flight after {DRAIN:?} were dropped");
    }
    Ok(())
}

pub(crate) async fn shutdown_signal() {
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
}
