//! What every handler reads, behind one `Arc`: axum clones the state for each extractor and
//! layer that takes it, so a clone must be a reference count, not a dozen fields. Handlers that
//! need one part take just that part (`State<Providers>`, `State<Store>`), through `FromRef`.

use std::sync::Arc;

use axum::extract::FromRef;

use crate::{
    config::Config,
    crypto::TokenCipher,
    metrics::Metrics,
    providers::Providers,
    session::{SessionLocks, Store},
};

#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

pub struct Shared {
    pub config: Arc<Config>,
    pub providers: Providers,
    pub cipher: TokenCipher,
    /// `server.public_origin` as browsers send it in `Origin`.
    pub origin: Arc<str>,
    pub metrics: Arc<Metrics>,
    /// The session store of `session.store`, for readiness and re-reads.
    pub store: Store,
    /// Per-session locks: one token refresh at a time per session (session/mod.rs).
    pub session_locks: SessionLocks,
}

impl AppState {
    pub fn new(config: Config, providers: Providers, cipher: TokenCipher, store: Store) -> Self {
        AppState(Arc::new(Shared {
            origin: config.server.origin().into(),
            providers,
            cipher,
            config: Arc::new(config),
            metrics: Arc::default(),
            store,
            session_locks: SessionLocks::default(),
        }))
    }
}

impl FromRef<AppState> for Providers {
    fn from_ref(state: &AppState) -> Self {
        state.providers.clone()
    }
}

impl FromRef<AppState> for Store {
    fn from_ref(state: &AppState) -> Self {
        state.store.clone()
    }
}
